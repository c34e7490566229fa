"""Restatements (../shared/EVM.md "Progress over time"): a week whose pack was sent is frozen; a later correction shows
as a restatement beside the figures as sent, never as a silent change."""

import datetime as dt

import polars as pl
import pytest

from tests.transforms.evm_frames import W1, W2, D, element, item, money, project, rows, run, worklog
from transforms.restatements import MEASURES, restatements

SENT_AT = dt.datetime(2025, 1, 13, 8, 30)
SCHEMA = {"project_id": pl.String, "status_date": pl.Date, "bac": pl.Decimal(18, 4), "pv": pl.Decimal(18, 4),
          "ev": pl.Decimal(18, 4), "ac": pl.Decimal(18, 4), "eac": pl.Decimal(18, 4), "cpi": pl.Float64,
          "spi": pl.Float64, "spi_t": pl.Float64, "baseline_version": pl.Int64, "forecast_finish": pl.Date}  # fmt: skip


def _week(status_date, **changes):
    """P's figures as computed: BAC 1500, PV 500, EV 1000, AC 400, EAC 600, CPI 2.5, SPI 2, SPI(t) 1.25, v1."""
    values = {"project_id": "P", "status_date": status_date, "bac": money(1500), "pv": money(500),
              "ev": money(1000), "ac": money(400), "eac": money(600), "cpi": 2.5, "spi": 2.0, "spi_t": 1.25,
              "baseline_version": 1, "forecast_finish": D(2025, 1, 14)}  # fmt: skip
    return values | {k: money(v) if k in ("bac", "pv", "ev", "ac", "eac") else v for k, v in changes.items()}


def _evm(*weeks):
    return pl.DataFrame(list(weeks), schema=SCHEMA)


def _sent(*weeks):
    return _evm(*weeks).with_columns(sent_at=pl.lit(SENT_AT))


def test_an_unchanged_week_shows_nothing():
    out = restatements(_sent(_week(W1)), _evm(_week(W1), _week(W2)))
    assert out.is_empty()
    assert out.columns == ["project_id", "status_date", "measure", "as_sent", "restated", "difference", "sent_at"]


def test_a_late_timesheet_restates_ac_and_what_derives_from_it():
    # Sent: AC 400, CPI 2.5, EAC 600. A late timesheet of 100 arrives: AC 500, CPI 1000/500 = 2, EAC 1500/2 = 750.
    now = _week(W1, ac=500, cpi=2.0, eac=750)
    out = restatements(_sent(_week(W1)), _evm(now, _week(W2)))
    got = {r["measure"]: (r["as_sent"], r["restated"], r["difference"]) for r in out.iter_rows(named=True)}
    assert got == {
        "ac": ("400.0000", "500.0000", pytest.approx(100.0)),  # 500 − 400
        "cpi": ("2.5", "2.0", pytest.approx(-0.5)),  # 2.0 − 2.5
        "eac": ("600.0000", "750.0000", pytest.approx(150.0)),  # 750 − 600
    }
    assert out.get_column("sent_at").to_list() == [SENT_AT] * 3
    assert out.select("project_id", "status_date", "measure").rows() == [
        ("P", W1, "ac"), ("P", W1, "cpi"), ("P", W1, "eac"),
    ]  # fmt: skip


def test_only_sent_weeks_are_restated():
    # 19 Jan was never sent: its change is no restatement.
    out = restatements(_sent(_week(W1)), _evm(_week(W1), _week(W2, ac=999)))
    assert out.is_empty()


def test_a_forecast_finish_moved_by_a_week_and_a_rebaseline():
    now = _week(W1, forecast_finish=D(2025, 1, 21), baseline_version=2)
    out = restatements(_sent(_week(W1)), _evm(now))
    got = {r["measure"]: (r["as_sent"], r["restated"], r["difference"]) for r in out.iter_rows(named=True)}
    assert got == {
        "forecast_finish": ("2025-01-14", "2025-01-21", pytest.approx(7.0)),  # 7 days later
        "baseline_version": ("1", "2", pytest.approx(1.0)),
    }


def test_a_figure_that_becomes_undefined_or_defined_is_restated():
    # CPI was NULL when sent (no AC yet); a late timesheet makes it 2.5. SPI(t) becomes NULL.
    sent = _sent(_week(W1, cpi=None))
    out = restatements(sent, _evm(_week(W1, spi_t=None)))
    got = {r["measure"]: (r["as_sent"], r["restated"], r["difference"]) for r in out.iter_rows(named=True)}
    assert got == {"cpi": (None, "2.5", None), "spi_t": ("1.25", None, None)}


def test_every_measure_is_compared():
    assert set(MEASURES) == set(SCHEMA) - {"project_id", "status_date"}


def test_end_to_end_a_late_timesheet_after_sending():
    projects = rows("projects", project("P"))
    baselines = rows("baselines", element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)))
    items = rows("work_items", item("A", W2, "done", resolved=D(2025, 1, 10)))
    logs = [worklog("w1", "A", D(2025, 1, 7), 8)]
    first = run(W2, projects=projects, baselines=baselines, work_items=items, worklogs=rows("worklogs", *logs)).evm
    sent = first.filter(pl.col("status_date") == W1).select("project_id", "status_date", *MEASURES)
    sent = sent.with_columns(sent_at=pl.lit(SENT_AT))
    # A 2 h worklog dated 9 Jan arrives after the 12 Jan pack was sent.
    late = [*logs, worklog("w2", "A", D(2025, 1, 9), 2)]
    again = run(W2, projects=projects, baselines=baselines, work_items=items, worklogs=rows("worklogs", *late)).evm
    out = restatements(sent, again)
    got = {r["measure"]: (r["as_sent"], r["restated"], r["difference"]) for r in out.iter_rows(named=True)}
    # AC 8 × 50 = 400 → 10 × 50 = 500; CPI 1000/400 = 2.5 → 1000/500 = 2; EAC 1000/2.5 = 400 → 1000/2 = 500.
    assert got == {
        "ac": ("400.0000", "500.0000", pytest.approx(100.0)),
        "cpi": ("2.5", "2.0", pytest.approx(-0.5)),
        "eac": ("400.0000", "500.0000", pytest.approx(100.0)),
    }
    # Recomputing without the late timesheet restates nothing.
    assert restatements(sent, first).is_empty()
