"""(to be written)"""

from __future__ import annotations

from transforms.readers.common import Reader

READERS: list[Reader] = []
