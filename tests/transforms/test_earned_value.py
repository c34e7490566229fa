"""Earned value on hand-computed cases (arithmetic in the comments)."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.earned_value import cost_worklogs, evm_weekly, indicators, portfolio_weekly

D = dt.date


def _projects(technique="0/100"):
    return pl.DataFrame(
        {
            "project_id": ["P"],
            "portfolio": ["Apps"],
            "programme": [None],
            "ev_technique": [technique],
            "eac_method": ["cpi"],
            "calendar_id": ["default"],
        }
    )


def _baselines():
    # A: 1000 over Mon 6 Jan .. Fri 17 Jan 2025 (10 working days); B: 500 over 13..17 Jan (5 working days).
    return pl.DataFrame(
        {
            "project_id": ["P", "P"],
            "baseline_version": [1, 1],
            "effective_from": [D(2025, 1, 6)] * 2,
            "element_key": ["P-1", "P-2"],
            "cost_category": ["labour"] * 2,
            "budget": [Decimal("1000"), Decimal("500")],
            "planned_start": [D(2025, 1, 6), D(2025, 1, 13)],
            "planned_finish": [D(2025, 1, 17), D(2025, 1, 17)],
        }
    ).with_columns(pl.col("budget").cast(pl.Decimal(18, 4)))


def _work_items():
    # One export on 19 Jan: P-1 done on Fri 10 Jan, P-2 in progress.
    return pl.DataFrame(
        {
            "item_key": ["P-1", "P-2"],
            "snapshot_date": [D(2025, 1, 19)] * 2,
            "status_category": ["done", "doing"],
            "resolved": [D(2025, 1, 10), None],
        }
    )


def _worklogs(person="u1", item_known=(True, True)):
    return pl.DataFrame(
        {
            "worklog_id": ["w1", "w2"],
            "source_kind": ["tempo", "tempo"],
            "item_known": list(item_known),
            "project_id": ["P", "P"],
            "person_id": [person, person],
            "person_name": ["U One", "U One"],
            "source_project_key": ["P", "P"],
            "item_key": ["P-1", "P-2"],
            "work_date": [D(2025, 1, 7), D(2025, 1, 14)],
            "hours": [Decimal("8"), Decimal("10")],
            "_source_file": [1, 1],
            "_line": [2, 3],
        }
    ).with_columns(pl.col("hours").cast(pl.Decimal(18, 4)))


PEOPLE = pl.DataFrame({"person_id": ["u1"], "role": ["dev"]})
RATES = pl.DataFrame(
    {
        "person_id": [None],
        "role": ["dev"],
        "hourly_rate": [Decimal("50")],
        "valid_from": [D(2024, 1, 1)],
        "valid_to": [None],
    },
    schema_overrides={"person_id": pl.String, "valid_to": pl.Date, "hourly_rate": pl.Decimal(18, 4)},
)
NO_HOLIDAYS = pl.DataFrame(schema={"calendar_id": pl.String, "date": pl.Date})


def _evm(holidays=NO_HOLIDAYS, technique="0/100", worklogs=None):
    costed = cost_worklogs(_worklogs() if worklogs is None else worklogs, PEOPLE, RATES)
    return evm_weekly(
        projects=_projects(technique),
        baselines=_baselines(),
        work_items=_work_items(),
        costed=costed,
        holidays=holidays,
        as_of=D(2025, 1, 19),
    )


def _row(frame, day):
    return frame.filter(pl.col("status_date") == day).to_dicts()[0]


def test_weekly_pv_ev_ac_and_ratios():
    evm = _evm()
    assert evm.get_column("status_date").to_list() == [D(2025, 1, 12), D(2025, 1, 19)]
    w1, w2 = _row(evm, D(2025, 1, 12)), _row(evm, D(2025, 1, 19))
    # Week 1: PV = 1000 x 5/10 + 0 = 500; EV = 1000 (P-1 done 10 Jan); AC = 8 h x 50 = 400.
    assert (w1["pv"], w1["ev"], w1["ac"]) == (Decimal("500"), Decimal("1000"), Decimal("400"))
    # CPI = 1000/400 = 2.5; SPI = 1000/500 = 2; EAC = BAC/CPI = 1500/2.5 = 600; CV = 600; SV = 500.
    assert w1["cpi"] == pytest.approx(2.5) and w1["spi"] == pytest.approx(2.0)
    assert (w1["eac"], w1["cv"], w1["sv"]) == (Decimal("600"), Decimal("600"), Decimal("500"))
    # Week 2: PV = 1500; EV = 1000; AC = 400 + 10 h x 50 = 900; CPI = 1000/900; EAC = 1500 x 0.9 = 1350.
    assert (w2["pv"], w2["ev"], w2["ac"]) == (Decimal("1500"), Decimal("1000"), Decimal("900"))
    assert w2["cpi"] == pytest.approx(1000 / 900) and w2["spi"] == pytest.approx(1000 / 1500)
    assert w2["eac"] == Decimal("1350")
    # VAC = 1500 - 1350 = 150; TCPI(BAC) = (1500-1000)/(1500-900) = 0.8333; % complete = 1000/1500.
    assert w2["vac"] == Decimal("150")
    assert w2["tcpi_bac"] == pytest.approx(500 / 600)
    assert w2["pct_complete"] == pytest.approx(1000 / 1500)


def test_planned_value_skips_holidays():
    holidays = pl.DataFrame({"calendar_id": ["default"], "date": [D(2025, 1, 8)]})
    w1 = _row(_evm(holidays=holidays), D(2025, 1, 12))
    # A has 9 working days once Wed 8 Jan is a holiday; 4 of them by 12 Jan: 1000 x 4/9 = 444.4444.
    assert w1["pv"] == Decimal("444.4444")


def test_fifty_fifty_earns_half_at_start():
    w2 = _row(_evm(technique="50/50"), D(2025, 1, 19))
    # P-1 done: 1000; P-2 started (worklog on 14 Jan) but not done: 500 x 0.5 = 250. EV = 1250.
    assert w2["ev"] == Decimal("1250")


def test_no_actuals_gives_null_cpi_and_eac_not_zero():
    costed = cost_worklogs(_worklogs(person="stranger"), PEOPLE, RATES)
    assert costed.get_column("exception").to_list() == ["no rate in force on the work date"] * 2
    evm = evm_weekly(
        projects=_projects(),
        baselines=_baselines(),
        work_items=_work_items(),
        costed=costed,
        holidays=NO_HOLIDAYS,
        as_of=D(2025, 1, 19),
    )
    w1 = _row(evm, D(2025, 1, 12))
    assert w1["ac"] == Decimal("0")
    assert w1["cpi"] is None and w1["eac"] is None and w1["csi"] is None and w1["cv_pct"] == pytest.approx(1.0)


def test_worklog_on_a_ticket_no_export_knows_is_costed_and_reported():
    costed = cost_worklogs(_worklogs(item_known=(True, False)), PEOPLE, RATES)
    # w2: 10 h x 50/h = 500, in AC, and listed so someone can find the missing ticket export.
    w2 = costed.filter(pl.col("worklog_id") == "w2").row(0, named=True)
    assert (w2["cost"], w2["in_ac"], w2["exception"]) == (Decimal("500"), True, "ticket in no ticket export (costed)")
    assert costed.filter(pl.col("worklog_id") == "w1").row(0, named=True)["exception"] is None


def test_zero_planned_value_gives_null_spi():
    frame = pl.DataFrame(
        {"bac": [100], "pv": [0], "ev": [0], "ac": [0], "eac_method": ["cpi"]},
    ).with_columns(pl.col("bac", "pv", "ev", "ac").cast(pl.Decimal(18, 4)))
    row = indicators(frame).to_dicts()[0]
    assert row["spi"] is None and row["cpi"] is None and row["sv_pct"] is None and row["cv_pct"] is None


def test_portfolio_is_a_ratio_of_sums():
    evm = pl.DataFrame(
        {
            "project_id": ["A", "B"],
            "status_date": [D(2025, 1, 12)] * 2,
            "bac": [1000, 1000],
            "pv": [100, 900],
            "ev": [200, 450],
            "ac": [100, 900],
            "eac": [500, 2000],
        }
    ).with_columns(pl.col("bac", "pv", "ev", "ac", "eac").cast(pl.Decimal(18, 4)))
    projects = pl.DataFrame({"project_id": ["A", "B"], "portfolio": ["X", "X"], "programme": [None, None]})
    total = portfolio_weekly(evm, projects).filter(pl.col("group_level") == "total").to_dicts()[0]
    # CPI = (200+450)/(100+900) = 0.65, not the mean of 2.0 and 0.5 (1.25).
    assert total["cpi"] == pytest.approx(0.65)
    # SPI = 650/1000 = 0.65; EAC = 2000/0.65 = 3076.9231; eac_sum = 500 + 2000.
    assert total["spi"] == pytest.approx(0.65)
    assert total["eac"] == Decimal("3076.9231") and total["eac_sum"] == Decimal("2500")
