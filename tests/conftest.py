"""Shared fixtures: a small demo inbox generated into tmp_path (never into the working directory)."""

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest

from transforms.demo_portfolio import DemoSettings, generate

# The definitions read <PMO_HOME>/pmo.toml once at import; point them at an empty home, never at ./var.
os.environ["PMO_HOME"] = tempfile.mkdtemp(prefix="pmo-test-home-")

SMALL = DemoSettings(seed=7, projects=3, people=8, weeks=10, end=dt.date(2026, 3, 15))


def write_inbox(inbox: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        target = inbox / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return inbox


@pytest.fixture
def small_inbox(tmp_path: Path) -> Path:
    return write_inbox(tmp_path / "inbox", generate(SMALL))
