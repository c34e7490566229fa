"""Crash points for the reliability tests (tests/reliability): a run whose environment has PMO_FAULT_AT=<point> kills
itself with SIGKILL when it reaches that point, as `kill -9` or a power cut would, in the middle of a write that is
too short to hit from outside. Unset (always, outside those tests) a crash point does nothing.

Points: `ingest` (staging replaced inside the ingest transaction, not committed), `publish` (the new snapshot's marts
written, its audit and staging tables not yet), `pack` (half of the pack's files written)."""

import os
import signal


def crash_point(point: str) -> None:
    if os.environ.get("PMO_FAULT_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
