"""Portfolio, programme and total roll-ups on hand-computed cases (arithmetic in the comments)."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.indicators import INDICATOR_COLUMNS, MONEY
from transforms.portfolio import PORTFOLIO_COLUMNS, portfolio_weekly

D = dt.date
MONEY_IN = ("bac", "pv", "ev", "ac", "eac", "eac_bottom_up", "risk_exposure_cost")


def _evm(rows):
    """rows: dicts with project_id, status_date and the amounts (as numbers or None); the rest defaults."""
    base = {
        "baseline_start": D(2025, 1, 6),
        "baseline_finish": D(2025, 3, 2),
        "eac_bottom_up": None,
        "risk_exposure_cost": None,
        "risk_exposure_days": None,
    }
    full = [base | r for r in rows]
    data = {k: [r[k] for r in full] for k in full[0]}
    for k in MONEY_IN:
        data[k] = [None if v is None else Decimal(str(v)) for v in data[k]]
    schema = {k: MONEY for k in MONEY_IN} | {"risk_exposure_days": pl.Float64}
    return pl.DataFrame(data, schema_overrides=schema)


def _plan(points):
    """points: {project_id: [(status_date, pv), ...]}."""
    rows = [(p, d, Decimal(str(v))) for p, pts in points.items() for d, v in pts]
    return pl.DataFrame(rows, schema={"project_id": pl.String, "status_date": pl.Date, "pv": MONEY}, orient="row")


PROJECTS = pl.DataFrame(
    {"project_id": ["A", "B"], "portfolio": ["Apps", "Apps"], "programme": [None, "ERP"]},
)
SD = D(2025, 1, 12)


def _two_projects(ev_b=30, eac_b=5000, bottom_up_b=2000):
    evm = _evm(
        [
            {"project_id": "A", "status_date": SD, "bac": 1000, "pv": 100, "ev": 100, "ac": 50, "eac": 500,
             "eac_bottom_up": 900, "risk_exposure_cost": 10, "risk_exposure_days": 1.5},
            {"project_id": "B", "status_date": SD, "bac": 1000, "pv": 200, "ev": ev_b, "ac": 150, "eac": eac_b,
             "eac_bottom_up": bottom_up_b},
        ]
    )  # fmt: skip
    plan = _plan({"A": [(SD, 100), (D(2025, 3, 2), 1000)], "B": [(SD, 200), (D(2025, 3, 2), 1000)]})
    return portfolio_weekly(evm, PROJECTS, plan)


def _row(out, level, key):
    return out.filter((pl.col("group_level") == level) & (pl.col("group_key") == key)).row(0, named=True)


def test_groups_are_total_portfolio_and_programme_one_row_per_status_date():
    out = _two_projects()
    assert out.select("group_level", "group_key", "status_date", "projects").rows() == [
        ("portfolio", "Apps", SD, 2),
        ("programme", "(none)", SD, 1),  # A has no programme
        ("programme", "ERP", SD, 1),
        ("total", "all", SD, 2),
    ]
    assert out.columns == PORTFOLIO_COLUMNS
    assert set(INDICATOR_COLUMNS) <= set(out.columns)


def test_ratios_are_ratios_of_sums_never_averages():
    total = _row(_two_projects(), "total", "all")
    # Σ: BAC 1000 + 1000 = 2000, PV 100 + 200 = 300, EV 100 + 30 = 130, AC 50 + 150 = 200.
    assert (total["bac"], total["pv"], total["ev"], total["ac"]) == (
        Decimal("2000"),
        Decimal("300"),
        Decimal("130"),
        Decimal("200"),
    )
    # CPI = 130 / 200 = 0.65, not the mean of A's 2.0 and B's 0.2 (= 1.1).
    assert total["cpi"] == pytest.approx(0.65)
    # SPI = 130 / 300 = 0.4333, not the mean of 1.0 and 0.15 (= 0.575).
    assert total["spi"] == pytest.approx(130 / 300)
    assert total["cv"] == Decimal("-70")  # 130 − 200
    assert total["eac_cpi"] == Decimal("3076.9231")  # 2000 / 0.65 = 3076.923…
    assert total["eac"] == total["eac_cpi"]  # groups use the cpi method
    assert total["eac_method"] == "cpi"
    assert total["pct_complete"] == pytest.approx(0.065)  # 130 / 2000


def test_eac_sum_reconciles_each_projects_own_eac():
    total = _row(_two_projects(), "total", "all")
    assert total["eac_sum"] == Decimal("5500")  # A 500 + B 5000, each by its own method
    assert total["eac_bottom_up"] == Decimal("2900")  # 900 + 2000
    assert total["risk_exposure_cost"] == Decimal("10")  # 10 + (B: no open risk = 0)
    assert total["risk_exposure_days"] == pytest.approx(1.5)  # 1.5 + 0


def test_a_null_ev_makes_the_groups_ev_null_never_a_partial_sum():
    out = _two_projects(ev_b=None, eac_b=None, bottom_up_b=None)
    total = _row(out, "total", "all")
    # B's week is not reconstructable: Σ EV would be 100 + ? → NULL, and so is everything built on EV.
    for column in ("ev", "cv", "cpi", "spi", "eac", "pct_complete", "es_weeks", "spi_t", "eac_sum", "eac_bottom_up"):
        assert total[column] is None, column
    assert total["ac"] == Decimal("200")  # AC is still known: 50 + 150
    # A alone in programme "(none)" is unaffected: CPI 100 / 50 = 2.0.
    assert _row(out, "programme", "(none)")["cpi"] == pytest.approx(2.0)


def test_earned_schedule_on_the_summed_pv_curve():
    # A: Mon 6 Jan .. Sun 26 Jan 2025, BAC 300, plans 100 a week. B: Mon 13 Jan .. Sun 9 Feb, BAC 400, 100 a week.
    # Group time runs from the earliest start (6 Jan); PD = t(9 Feb) = (34 + 1) / 7 = 5.0 weeks.
    # Summed curve: t1 (12 Jan) 100; t2 (19 Jan) 200 + 100 = 300; t3 (26 Jan) 300 + 200 = 500;
    # t4 (2 Feb) 300 (A finished, carried) + 300 = 600; t5 (9 Feb) 700 = Σ BAC.
    a = {"project_id": "A", "baseline_start": D(2025, 1, 6), "baseline_finish": D(2025, 1, 26), "bac": 300}
    b = {"project_id": "B", "baseline_start": D(2025, 1, 13), "baseline_finish": D(2025, 2, 9), "bac": 400}
    weeks = [D(2025, 1, 12), D(2025, 1, 19), D(2025, 1, 26), D(2025, 2, 2)]
    a_ev, a_pv = [50, 200, 250, 300], [100, 200, 300, 300]  # A's row carries forward after it finishes
    b_ev, b_pv = [250, 150, 350], [100, 200, 300]  # B's rows start in its first week
    rows = [
        a | {"status_date": d, "pv": p, "ev": e, "ac": e, "eac": 300} for d, p, e in zip(weeks, a_pv, a_ev, strict=True)
    ] + [
        b | {"status_date": d, "pv": p, "ev": e, "ac": e, "eac": 400}
        for d, p, e in zip(weeks[1:], b_pv, b_ev, strict=True)
    ]
    # The plan is known up to each baseline finish, beyond the as-of date (2 Feb) for B.
    plan = _plan(
        {
            "A": [(D(2025, 1, 12), 100), (D(2025, 1, 19), 200), (D(2025, 1, 26), 300)],
            "B": [(D(2025, 1, 19), 100), (D(2025, 1, 26), 200), (D(2025, 2, 2), 300), (D(2025, 2, 9), 400)],
        }
    )
    projects = pl.DataFrame({"project_id": ["A", "B"], "portfolio": ["Apps", "Apps"], "programme": [None, None]})
    total = portfolio_weekly(_evm(rows), projects, plan).filter(pl.col("group_level") == "total")

    assert total.get_column("at_weeks").to_list() == pytest.approx([1.0, 2.0, 3.0, 4.0])  # t(12 Jan) = 7/7 …
    assert total.get_column("pd_weeks").to_list() == pytest.approx([5.0] * 4)
    assert total.get_column("baseline_start").unique().to_list() == [D(2025, 1, 6)]
    assert total.get_column("baseline_finish").unique().to_list() == [D(2025, 2, 9)]
    assert total.get_column("projects").to_list() == [1, 2, 2, 2]
    # 12 Jan: EV 50 (A only) → 0 + 50 / 100 = 0.5
    # 19 Jan: EV 200 + 250 = 450 → C = t2 (300) → 2 + 150 / 200 = 2.75 — ahead of AT 2, read off the plan's future
    # 26 Jan: EV 250 + 150 = 400 → 2 + 100 / 200 = 2.5
    # 2 Feb: EV 300 + 350 = 650 → C = t4 (600, with A's 300 carried) → 4 + 50 / 100 = 4.5
    assert total.get_column("es_weeks").to_list() == pytest.approx([0.5, 2.75, 2.5, 4.5])
    # 26 Jan: SPI(t) = 2.5 / 3 = 0.8333, SV(t) = −0.5, TSPI = (5 − 2.5) / (5 − 3) = 1.25, IEAC(t) = 5 / 0.8333 = 6.0
    # → forecast finish 6 Jan + 7 × 6 − 1 = 6 Jan + 41 days = Sun 16 Feb.
    r = total.row(2, named=True)
    assert (r["spi_t"], r["sv_t_weeks"], r["tspi"], r["ieac_t_weeks"]) == pytest.approx((2.5 / 3, -0.5, 1.25, 6.0))
    assert r["forecast_finish"] == D(2025, 2, 16)
    assert r["spi"] == pytest.approx(400 / 500)  # EV 400 / PV (300 + 200)


def test_rows_sorted_by_group_level_key_and_status_date():
    evm = _evm(
        [
            {"project_id": p, "status_date": d, "bac": 100, "pv": 10, "ev": 10, "ac": 10, "eac": 100}
            for d in (D(2025, 1, 19), D(2025, 1, 12))
            for p in ("B", "A")
        ]
    )
    plan = _plan({"A": [(D(2025, 1, 12), 10)], "B": [(D(2025, 1, 12), 10)]})
    out = portfolio_weekly(evm, PROJECTS, plan)
    keys = out.select("group_level", "group_key", "status_date").rows()
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys)) == 4 * 2  # 4 groups × 2 status dates
    assert out.equals(portfolio_weekly(evm.reverse(), PROJECTS, plan.reverse()))  # same inputs, same rows
