"""The e-mails' PNG charts are drawn in worker processes (reports.charts.PngRenderer; vl-convert holds the GIL, so a
thread would stall the packs being rendered beside it) and are the bytes drawing them here gives; a chart whose
worker is gone is drawn here instead."""

import datetime as dt
import os
import signal
from pathlib import Path

import polars as pl
import pytest

from reports import charts
from reports.email import _s_curve_rows


def _chart(weeks: int) -> dict:
    days = [dt.date(2026, 1, 4) + dt.timedelta(weeks=i) for i in range(weeks)]
    rows = pl.DataFrame({"status_date": days, "pv": [1000.0 * i for i in range(weeks)],
                         "ac": [900.0 * i for i in range(weeks)], "ev": [950.0 * i for i in range(weeks)]})  # fmt: skip
    return charts.spec("s_curve", _s_curve_rows(rows), "S-curve (EUR)")


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (the forkserver's workers are its children, not ours)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_charts_are_drawn_in_another_process_as_here_and_here_once_the_worker_is_gone():
    first, second = _chart(20), _chart(30)
    renderer = charts.PngRenderer(workers=1)
    try:
        before = _descendants(os.getpid())
        drawn = renderer.submit(first)()
        workers = _descendants(os.getpid()) - before
        assert workers  # a process drew it
        assert drawn == charts.to_png(first) and drawn.startswith(b"\x89PNG")
        for pid in workers:  # the worker and its server die: the pool is broken
            os.kill(pid, signal.SIGKILL)
        assert renderer.submit(second)() == charts.to_png(second)  # drawn here instead
    finally:
        renderer.close()
    assert renderer.submit(first)() == drawn  # after close too
