"""EAC back-test (transforms/backtest.py) on hand-made closed projects; the arithmetic is in the comments."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.backtest import BACKTEST_COLUMNS, SUMMARY_COLUMNS, backtest_summary, eac_backtest

D = dt.date
MONEY = pl.Decimal(18, 4)
SUNDAYS = [D(2025, 1, 5) + dt.timedelta(days=7 * k) for k in range(7)]
METHOD_COLUMNS = ["eac_cpi", "eac_budget_rate", "eac_cpi_spi", "eac_composite", "eac_bottom_up"]


def _evm(pid, ev, ac, bac, eacs):
    """Rows of one project: ev, ac per week; eacs maps an eac_<method> column to its weekly values."""
    n = len(ev)
    frame = pl.DataFrame(
        {
            "project_id": [pid] * n,
            "status_date": SUNDAYS[:n],
            "bac": [bac] * n,
            "ev": ev,
            "ac": ac,
            "pct_complete": [e / bac for e in ev],
            **{c: eacs.get(c, [None] * n) for c in METHOD_COLUMNS},
        },
        schema_overrides={c: pl.Float64 for c in METHOD_COLUMNS},
    )
    return frame.with_columns(pl.col("bac", "ev", "ac", *METHOD_COLUMNS).cast(MONEY))


# Project X, BAC 1000, closed on Sunday 9 Feb (week 6); a late timesheet of 10 lands in week 7 (16 Feb).
# pct_complete: 0.10, 0.30, 0.50, 0.70, 0.80, 1.00, 1.00 → checkpoints 25 % at week 2, 50 % at week 3, 75 % at week 5.
# Final cost = AC at the last status date (week 7) = 1250.
X = _evm(
    "X",
    ev=[100, 300, 500, 700, 800, 1000, 1000],
    ac=[150, 360, 625, 875, 1000, 1240, 1250],
    bac=1000,
    eacs={
        # BAC × AC / EV: 1000×150/100 = 1500, 1200, 1250, 1250, 1250, 1240, 1250.
        "eac_cpi": [1500, 1200, 1250, 1250, 1250, 1240, 1250],
        # AC + (BAC − EV): 150+900 = 1050, 360+700 = 1060, 625+500 = 1125, 875+300 = 1175, 1200, 1240, 1250.
        "eac_budget_rate": [1050, 1060, 1125, 1175, 1200, 1240, 1250],
        "eac_cpi_spi": [1000, 1300, 1400, 1300, 1260, 1250, 1250],
        "eac_composite": [1250, 1250, 1250, 1250, None, 1250, 1250],
        "eac_bottom_up": [1400] * 7,
    },
)
# Project Y, BAC 100: 20 %, 30 %, 60 %, closed without reaching 75 %. Final cost = 80 (week 3).
Y = _evm(
    "Y",
    ev=[20, 30, 60],
    ac=[20, 40, 80],
    bac=100,
    eacs={
        "eac_cpi": [88, 88, 88],
        "eac_budget_rate": [80, 80, 80],
        "eac_cpi_spi": [72, 72, 72],
        "eac_composite": [100, 100, 100],
        "eac_bottom_up": [80, 80, 80],
    },
)
# Project Z is still active: never back-tested.
Z = _evm("Z", ev=[500], ac=[500], bac=1000, eacs={"eac_cpi": [1000]})
PROJECTS = pl.DataFrame(
    {
        "project_id": ["X", "Y", "Z"],
        "status": ["closed", "closed", "active"],
        "closed_on": [D(2025, 2, 9), D(2025, 1, 19), None],
    }
)


def _bt():
    return eac_backtest(pl.concat([X, Y, Z]), PROJECTS)


def _get(frame, pid, method, checkpoint):
    return frame.filter(
        (pl.col("project_id") == pid) & (pl.col("eac_method") == method) & (pl.col("checkpoint") == checkpoint)
    ).row(0, named=True)


def test_grain_and_order():
    bt = _bt()
    assert bt.columns == BACKTEST_COLUMNS
    # 2 closed projects × 5 methods × 3 checkpoints; Z (active) is absent.
    assert bt.height == 30 and set(bt.get_column("project_id")) == {"X", "Y"}
    assert bt.equals(bt.sort("project_id", "eac_method", "checkpoint"))
    assert bt.select("project_id", "eac_method", "checkpoint").is_duplicated().sum() == 0


def test_final_cost_is_ac_at_the_last_status_date_late_costs_included():
    x = _get(_bt(), "X", "cpi", 0.5)
    # Week 7's AC 1250 (week 6's 1240 + a late timesheet of 10 after closure on 9 Feb).
    assert (x["final_status_date"], x["final_cost"]) == (D(2025, 2, 16), Decimal("1250"))


def test_errors_at_each_checkpoint_by_hand():
    bt = _bt()
    expected = {
        # (method, checkpoint): (date, eac, error, pct_error)
        # 25 % → week 2 (30 %): CPI 1200 − 1250 = −50, −50/1250 = −0.04; budget rate 1060 − 1250 = −190, −0.152.
        ("cpi", 0.25): (SUNDAYS[1], 1200, -50, -0.04),
        ("budget_rate", 0.25): (SUNDAYS[1], 1060, -190, -0.152),
        ("cpi_spi", 0.25): (SUNDAYS[1], 1300, 50, 0.04),
        ("composite", 0.25): (SUNDAYS[1], 1250, 0, 0.0),
        ("bottom_up", 0.25): (SUNDAYS[1], 1400, 150, 0.12),
        # 50 % → week 3 (exactly 50 %): CPI 1250 − 1250 = 0; budget rate 1125 − 1250 = −125, −0.1.
        ("cpi", 0.5): (SUNDAYS[2], 1250, 0, 0.0),
        ("budget_rate", 0.5): (SUNDAYS[2], 1125, -125, -0.1),
        ("cpi_spi", 0.5): (SUNDAYS[2], 1400, 150, 0.12),
        # 75 % → week 5 (80 %): budget rate 1200 − 1250 = −50, −0.04; cpi_spi 1260 − 1250 = 10, 0.008.
        ("cpi", 0.75): (SUNDAYS[4], 1250, 0, 0.0),
        ("budget_rate", 0.75): (SUNDAYS[4], 1200, -50, -0.04),
        ("cpi_spi", 0.75): (SUNDAYS[4], 1260, 10, 0.008),
    }
    for (method, cp), (day, eac, error, pct) in expected.items():
        r = _get(bt, "X", method, cp)
        assert (r["checkpoint_date"], r["eac"], r["error"]) == (day, Decimal(eac), Decimal(error)), (method, cp)
        assert r["pct_error"] == pytest.approx(pct) and r["abs_pct_error"] == pytest.approx(abs(pct)), (method, cp)
    # The composite EAC is NULL at week 5: the 75 % row has a date and NULL errors.
    c = _get(bt, "X", "composite", 0.75)
    assert c["checkpoint_date"] == SUNDAYS[4] and c["eac"] is None and c["error"] is None and c["pct_error"] is None


def test_within_10pct_from():
    bt = _bt()
    got = {m: _get(bt, "X", m, 0.25)["within_10pct_from"] for m in ("cpi", "budget_rate", "cpi_spi", "composite")}
    # ±10 % of 1250 = ±125. CPI: 1500 is out (250), 1200 in from week 2 (30 %) to the end.
    # Budget rate: 1050 (−200), 1060 (−190) out; 1125 is exactly −125, in (the boundary counts), so from 50 %.
    # cpi_spi: 1300 in at week 2, 1400 out at week 3 (150), in again from week 4 (70 %).
    # Composite: in every week but week 5, where it is NULL: the last run starts at week 6 (100 %).
    assert got == {"cpi": 0.3, "budget_rate": 0.5, "cpi_spi": 0.7, "composite": 1.0}
    # Bottom-up: 1400 is 150 over at the end: never settled.
    assert _get(bt, "X", "bottom_up", 0.25)["within_10pct_from"] is None
    # Repeated on each checkpoint row of the project and method.
    assert {_get(bt, "X", "cpi", cp)["within_10pct_from"] for cp in (0.25, 0.5, 0.75)} == {0.3}


def test_project_that_never_reaches_75_percent_keeps_a_null_row():
    bt = _bt()
    y50, y75 = _get(bt, "Y", "cpi", 0.5), _get(bt, "Y", "cpi", 0.75)
    # 50 % → week 3 (60 %): CPI EAC 88 − final 80 = 8, 8/80 = 0.1.
    assert (y50["checkpoint_date"], y50["error"], y50["pct_error"]) == (SUNDAYS[2], Decimal("8"), pytest.approx(0.1))
    # 75 %: never reached (60 % at most): the row is there, every figure NULL but the final cost.
    assert y75["checkpoint_date"] is None and y75["pct_complete"] is None and y75["eac"] is None
    assert y75["error"] is None and y75["abs_pct_error"] is None and y75["final_cost"] == Decimal("80")


def test_zero_final_cost_gives_null_percent_error():
    w = _evm("W", ev=[300, 600, 900], ac=[0, 0, 0], bac=1000, eacs={"eac_budget_rate": [700, 400, 100]})
    projects = pl.DataFrame({"project_id": ["W"], "status": ["closed"], "closed_on": [D(2025, 1, 19)]})
    r = _get(eac_backtest(w, projects), "W", "budget_rate", 0.25)
    # Final cost 0: error = 700 − 0 = 700; 700 / 0 is undefined → NULL, never 0; never "within 10 %" either.
    assert r["error"] == Decimal("700") and r["pct_error"] is None and r["within_10pct_from"] is None


def test_summary_ranks_methods_by_mean_absolute_percent_error():
    summary = backtest_summary(_bt())
    assert summary.columns == SUMMARY_COLUMNS and summary.height == 15  # 3 checkpoints × 5 methods
    at25 = {r["eac_method"]: r for r in summary.filter(pl.col("checkpoint") == 0.25).iter_rows(named=True)}
    # |pct error| at 25 % (X at week 2, Y at week 2; Y's final cost 80):
    # bottom_up: X 0.12, Y |80 − 80|/80 = 0 → mean 0.06        → rank 1
    # cpi:       X 0.04, Y |88 − 80|/80 = 0.1 → mean 0.07       → rank 2 (tie)
    # cpi_spi:   X 0.04, Y |72 − 80|/80 = 0.1 → mean 0.07       → rank 2 (tie)
    # budget:    X 0.152, Y 0 → mean 0.076                      → rank 4
    # composite: X 0, Y |100 − 80|/80 = 0.25 → mean 0.125       → rank 5
    means = {m: r["mean_abs_pct_error"] for m, r in at25.items()}
    assert means == pytest.approx(
        {"bottom_up": 0.06, "cpi": 0.07, "cpi_spi": 0.07, "budget_rate": 0.076, "composite": 0.125}
    )
    assert {m: r["rank"] for m, r in at25.items()} == {
        "bottom_up": 1, "cpi": 2, "cpi_spi": 2, "budget_rate": 4, "composite": 5,
    }  # fmt: skip
    assert all(r["projects"] == 2 for r in at25.values())
    # Signed mean (bias): cpi (−0.04 + 0.1) / 2 = 0.03; cpi_spi (0.04 − 0.1) / 2 = −0.03.
    # The median of two values is their mean: budget rate (0.152 + 0) / 2 = 0.076.
    assert at25["cpi"]["mean_pct_error"] == pytest.approx(0.03)
    assert at25["cpi_spi"]["mean_pct_error"] == pytest.approx(-0.03)
    assert at25["budget_rate"]["median_abs_pct_error"] == pytest.approx(0.076)
    at75 = {r["eac_method"]: r for r in summary.filter(pl.col("checkpoint") == 0.75).iter_rows(named=True)}
    # 75 %: only X got there (Y did not), and X's composite EAC was NULL: composite has no project and no rank.
    assert at75["cpi"]["projects"] == 1 and at75["composite"]["projects"] == 0 and at75["composite"]["rank"] is None
    # Ranks at 75 % among X's errors: cpi 0, cpi_spi 0.008, budget 0.04, bottom_up 0.12.
    assert [at75[m]["rank"] for m in ("cpi", "cpi_spi", "budget_rate", "bottom_up")] == [1, 2, 3, 4]
