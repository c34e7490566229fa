"""marts.evm_weekly end to end (`transforms.earned_value.compute`) on a tiny portfolio, every figure by hand.

Project P (0/100): A 1000 over Mon 6 .. Fri 17 Jan 2025 (10 working days), B 500 over 13..17 Jan (5 days).
BAC 1500; baseline_start 6 Jan, baseline_finish 17 Jan: PD = (17 − 6 + 1) / 7 = 12/7 weeks.
Everyone costs 50/h. Worklogs: 8 h on 7 Jan (400), 10 h on 14 Jan (500), 6 h on 27 Jan (300).
Exports: 19 Jan (A done on 10 Jan; B doing, 4 h remaining) and Wed 29 Jan (B done on 28 Jan, 0 h remaining).
Earned schedule points: (0, 0), (t(12 Jan) = 1, PV 500), (PD = 12/7, BAC 1500).
"""

import polars as pl
import pytest

from tests.transforms.evm_frames import (
    W1,
    W2,
    W3,
    W4,
    W5,
    D,
    column,
    element,
    item,
    money,
    project,
    row,
    rows,
    run,
    worklog,
)
from transforms.earned_value import EVM_COLUMNS, EXTRA_COLUMNS

PD = 12 / 7
ES = 1 + (1000 - 500) / (1500 - 500) * (PD - 1)  # = 1 + 5/14 = 19/14 while EV is 1000


def _baselines(project_id="P"):
    return rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17), project_id=project_id),
        element("B", 500, D(2025, 1, 13), D(2025, 1, 17), project_id=project_id),
    )


def _items():
    return rows(
        "work_items",
        item("A", W2, "done", resolved=D(2025, 1, 10), remaining_estimate_h=0, assignee="U1"),
        item("B", W2, "doing", remaining_estimate_h=4, assignee="U1"),
        item("A", D(2025, 1, 29), "done", resolved=D(2025, 1, 10), remaining_estimate_h=0, assignee="U1"),
        item("B", D(2025, 1, 29), "done", resolved=D(2025, 1, 28), remaining_estimate_h=0, assignee="U1"),
    )


def _worklogs():
    return rows(
        "worklogs",
        worklog("w1", "A", D(2025, 1, 7), 8, line=2),
        worklog("w2", "B", D(2025, 1, 14), 10, line=3),
        worklog("w3", "B", D(2025, 1, 27), 6, line=4),
    )


def _risks():
    return rows(
        "risks",
        {"risk_id": "R1", "project_id": "P", "probability": "0.2", "cost_impact": 1000, "schedule_impact_days": 5,
         "status": "open", "review_date": D(2025, 1, 13)},
        {"risk_id": "R2", "project_id": "P", "probability": "0.5", "cost_impact": 10000, "schedule_impact_days": 9,
         "status": "closed", "review_date": D(2025, 1, 13)},
    )  # fmt: skip


def _portfolio(as_of=W5, project_kw=None, options=None, **frames):
    inputs = {
        "projects": rows("projects", project("P", **({"planned_rate": 50} | (project_kw or {})))),
        "baselines": _baselines(),
        "work_items": _items(),
        "worklogs": _worklogs(),
        "risks": _risks(),
    }
    return run(as_of, options=options, **(inputs | frames))


@pytest.fixture(scope="module")
def evm():
    return _portfolio().evm


def test_a_row_for_every_status_date_from_the_baseline_start_week_to_as_of(evm):
    # Baseline start Mon 6 Jan: first status date Sun 12 Jan; as_of Sun 9 Feb; weekly, carried past the finish.
    assert evm.get_column("status_date").to_list() == [W1, W2, W3, W4, W5]
    assert evm.columns == EVM_COLUMNS + EXTRA_COLUMNS
    assert column(evm, "baseline_version") == [1] * 5
    assert column(evm, "bac") == [money(1500)] * 5


def test_base_figures_each_week(evm):
    # PV: 12 Jan A 5/10 × 1000 = 500; from 19 Jan 1500 (both finished 17 Jan), carried forward.
    assert column(evm, "pv") == [money(500)] + [money(1500)] * 4
    # EV: A done 10 Jan (rebuilt for 12 Jan, before the first export): 1000; B done 28 Jan (29 Jan export): 1500.
    assert column(evm, "ev") == [money(1000)] * 3 + [money(1500)] * 2
    # AC: 400; + 500 = 900; 900; + 300 = 1200 (27 Jan, week of 2 Feb); 1200.
    assert column(evm, "ac") == [money(400), money(900), money(900), money(1200), money(1200)]
    assert column(evm, "unbudgeted_ac") == [money(0)] * 5
    assert column(evm, "reconstructable") == [True] * 5


def test_first_week_every_figure(evm):
    r = row(evm, W1)  # PV 500, EV 1000, AC 400, BAC 1500
    assert (r["cv"], r["sv"]) == (money(600), money(500))  # 1000 − 400; 1000 − 500
    assert r["cv_pct"] == pytest.approx(0.6)  # 600 / 1000
    assert r["sv_pct"] == pytest.approx(1.0)  # 500 / 500
    assert r["cpi"] == pytest.approx(2.5)  # 1000 / 400
    assert r["spi"] == pytest.approx(2.0)  # 1000 / 500
    assert r["csi"] == pytest.approx(5.0)  # 2.5 × 2
    assert r["eac_cpi"] == money(600)  # 1500 / 2.5
    assert r["eac_budget_rate"] == money(900)  # 400 + (1500 − 1000)
    assert r["eac_cpi_spi"] == money(500)  # 400 + 500 / 5
    assert r["eac_composite"] == money("608.3333")  # 400 + 500 / (0.8 × 2.5 + 0.2 × 2) = 400 + 500 / 2.4
    assert r["eac_bottom_up"] is None  # before the project's first export (19 Jan): not reconstructable
    assert (r["eac_method"], r["eac"], r["etc"], r["vac"]) == ("cpi", money(600), money(200), money(900))
    assert r["tcpi_bac"] == pytest.approx(500 / 1100)  # (1500 − 1000) / (1500 − 400)
    assert r["tcpi_eac"] == pytest.approx(2.5)  # 500 / (600 − 400)
    assert r["pct_complete"] == pytest.approx(1000 / 1500)
    # Earned schedule: AT = (12 − 6 + 1) / 7 = 1; EV 1000 lies between (1, 500) and (12/7, 1500): ES = 19/14.
    assert (r["at_weeks"], r["pd_weeks"]) == (pytest.approx(1.0), pytest.approx(PD))
    assert r["es_weeks"] == pytest.approx(19 / 14)
    assert r["sv_t_weeks"] == pytest.approx(5 / 14)  # ES − AT
    assert r["spi_t"] == pytest.approx(19 / 14)  # ES / AT
    assert r["tspi"] == pytest.approx(0.5)  # (PD − ES) / (PD − AT) = (24/14 − 19/14) / (10/14)
    assert r["ieac_t_weeks"] == pytest.approx(24 / 19)  # PD / SPI(t) = (12/7) / (19/14)
    # forecast_finish: 6 Jan + 7 × 24/19 − 1 day = 6 Jan + 7.84 days: the day it falls in is Tue 14 Jan.
    assert r["forecast_finish"] == D(2025, 1, 14)
    # R1 is reviewed on 13 Jan: not yet in force on 12 Jan; R2 is closed.
    assert (r["risk_exposure_cost"], r["risk_exposure_days"]) == (money(0), 0.0)
    assert r["risk_adjusted_eac"] == money(600)
    assert (r["baseline_start"], r["baseline_finish"]) == (D(2025, 1, 6), D(2025, 1, 17))


def test_second_week_every_figure(evm):
    r = row(evm, W2)  # PV 1500, EV 1000, AC 900
    assert r["cpi"] == pytest.approx(1000 / 900)
    assert r["spi"] == pytest.approx(1000 / 1500)
    assert r["eac"] == money(1350)  # 1500 / (10/9)
    assert r["vac"] == money(150)
    # Bottom-up: AC 900 + B's 4 h remaining × u1's rate 50 = 1100.
    assert r["eac_bottom_up"] == money(1100)
    assert r["tcpi_bac"] == pytest.approx(500 / 600)  # (1500 − 1000) / (1500 − 900)
    assert r["tcpi_eac"] == pytest.approx(500 / 450)  # 500 / (1350 − 900)
    # ES still 19/14; AT 2 is past PD: SPI(t) = 19/28, TSPI NULL, IEAC(t) = (12/7) / (19/28) = 48/19.
    assert r["es_weeks"] == pytest.approx(19 / 14)
    assert r["spi_t"] == pytest.approx(19 / 28)
    assert r["tspi"] is None
    assert r["ieac_t_weeks"] == pytest.approx(48 / 19)
    assert r["forecast_finish"] == D(2025, 1, 23)  # 6 Jan + ceil(7 × 48/19 = 17.68) − 1 = 6 Jan + 17 days
    # R1 open: 0.2 × 1000 = 200, 0.2 × 5 days = 1 day; risk-adjusted EAC 1350 + 200.
    assert (r["risk_exposure_cost"], r["risk_exposure_days"]) == (money(200), pytest.approx(1.0))
    assert r["risk_adjusted_eac"] == money(1550)


def test_third_week_uses_the_19_january_export(evm):
    r = row(evm, W3)
    # Nothing new: EV 1000, AC 900 (the 27 Jan worklog is in the next week), bottom-up 900 + 200 = 1100.
    assert (r["ev"], r["ac"], r["eac_bottom_up"]) == (money(1000), money(900), money(1100))
    assert r["spi_t"] == pytest.approx((19 / 14) / 3)  # AT = 21 days / 7 = 3


def test_a_late_project_that_finishes_has_spi_one_but_spi_t_below_one(evm):
    r = row(evm, W4)  # EV = BAC 1500, AC 1200, PV 1500
    assert r["spi"] == pytest.approx(1.0)
    assert r["cpi"] == pytest.approx(1.25)  # 1500 / 1200
    assert r["eac"] == money(1200)  # 1500 / 1.25
    assert r["eac_bottom_up"] == money(1200)  # 1200 + nothing remaining
    # EV = BAC: ES = PD = 12/7; AT = 28/7 = 4: SPI(t) = 3/7; SV(t) = 12/7 − 4 = −16/7.
    assert r["es_weeks"] == pytest.approx(PD)
    assert r["spi_t"] == pytest.approx(3 / 7)
    assert r["sv_t_weeks"] == pytest.approx(-16 / 7)
    assert r["ieac_t_weeks"] == pytest.approx(4.0)  # (12/7) / (3/7)
    assert r["forecast_finish"] == D(2025, 2, 2)  # 6 Jan + 28 − 1 days
    assert r["tcpi_bac"] == pytest.approx(0.0)  # (1500 − 1500) / (1500 − 1200)
    assert r["tcpi_eac"] is None  # (1500 − 1500) / (EAC 1200 − AC 1200): zero denominator
    assert r["pct_complete"] == pytest.approx(1.0)


def test_values_carry_forward_after_the_finish(evm):
    before, after = row(evm, W4), row(evm, W5)
    # Finished (EV = BAC) at W4: the clock stops there, so SPI(t), IEAC(t) and the forecast finish carry forward
    # too instead of worsening every week after completion.
    carried = ("bac", "pv", "ev", "ac", "eac", "eac_bottom_up", "cpi", "spi", "es_weeks", "risk_exposure_cost",
               "at_weeks", "spi_t", "ieac_t_weeks", "forecast_finish")  # fmt: skip
    for name in carried:
        assert after[name] == before[name], name
    assert after["at_weeks"] == pytest.approx(4.0)
    assert after["spi_t"] == pytest.approx(PD / 4)


def test_no_actual_cost_gives_null_cpi_and_eac_never_zero():
    evm = _portfolio(as_of=W2, worklogs=rows("worklogs")).evm
    r = row(evm, W1)  # PV 500, EV 1000, AC 0
    assert r["ac"] == money(0)
    assert r["cpi"] is None and r["csi"] is None and r["eac_cpi"] is None and r["eac_cpi_spi"] is None
    assert r["eac"] is None and r["etc"] is None and r["vac"] is None and r["risk_adjusted_eac"] is None
    assert r["eac_budget_rate"] == money(500)  # 0 + (1500 − 1000)
    assert r["cv_pct"] == pytest.approx(1.0)  # (1000 − 0) / 1000: EV is not zero
    assert r["tcpi_bac"] == pytest.approx(500 / 1500)


def test_zero_planned_value_gives_null_spi():
    # A starts on Saturday 11 Jan: the first status date (12 Jan) has no working day planned: PV 0.
    baselines = rows("baselines", element("A", 1000, D(2025, 1, 11), D(2025, 1, 17)))
    evm = _portfolio(as_of=W2, baselines=baselines, work_items=rows("work_items"), worklogs=rows("worklogs")).evm
    r = row(evm, W1)
    assert (r["pv"], r["ev"]) == (money(0), money(0))
    assert r["spi"] is None and r["sv_pct"] is None and r["cpi"] is None and r["cv_pct"] is None
    assert r["at_weeks"] == pytest.approx(2 / 7)  # Sat 11 .. Sun 12 Jan
    # 19 Jan: PV 1000, EV 0: SPI 0 (a real zero, the denominator is not).
    assert row(evm, W2)["spi"] == pytest.approx(0.0)


def test_eac_method_bottom_up_picks_the_bottom_up_figure():
    evm = _portfolio(project_kw={"eac_method": "bottom_up"}).evm
    assert row(evm, W1)["eac"] is None  # not reconstructable before the first export
    assert row(evm, W2)["eac"] == money(1100)  # AC 900 + 4 h × 50
    assert row(evm, W2)["etc"] == money(200)
    assert row(evm, W2)["tcpi_eac"] == pytest.approx(500 / 200)  # (1500 − 1000) / (1100 − 900)


def test_bottom_up_uses_the_project_planned_rate_for_unassigned_items():
    items = rows(
        "work_items",
        item("A", W2, "done", resolved=D(2025, 1, 10), remaining_estimate_h=0),
        item("B", W2, "doing", remaining_estimate_h=10),  # nobody assigned
    )
    evm = _portfolio(as_of=W2, work_items=items, project_kw={"planned_rate": 40}).evm
    # AC 900 + 10 h × the project's planned rate 40 = 1300.
    assert row(evm, W2)["eac_bottom_up"] == money(1300)


def test_bottom_up_counts_an_item_in_the_project_of_its_latest_export():
    # B is exported under Q on 19 Jan (4 h left) and moved to P by 29 Jan (still doing, 2 h left): it is P's item
    # at every week, as its earned value is.
    items = rows(
        "work_items",
        item("A", W2, "done", resolved=D(2025, 1, 10), remaining_estimate_h=0),
        item("B", W2, "doing", remaining_estimate_h=4, assignee="U1", project_id="Q"),
        item("A", D(2025, 1, 29), "done", resolved=D(2025, 1, 10), remaining_estimate_h=0),
        item("B", D(2025, 1, 29), "doing", remaining_estimate_h=2, assignee="U1"),
    )
    evm = _portfolio(as_of=W4, work_items=items, project_kw={"planned_rate": 50}).evm
    assert row(evm, W2)["eac_bottom_up"] == money(1100)  # AC 900 + B's 4 h × 50 (A done: 0)
    assert row(evm, W4)["eac_bottom_up"] == money(1300)  # AC 900 + 300 (27 Jan) + B's 2 h × 50


def test_bottom_up_is_the_actual_cost_alone_from_a_first_export_with_nothing_priced():
    # P's first export (19 Jan, W2) has only A, done: nothing remains from W2 on, so EAC = AC. B is first exported on
    # Wed 29 Jan (W4) with 4 h left at U1's 50.
    items = rows(
        "work_items",
        item("A", W2, "done", resolved=D(2025, 1, 10), remaining_estimate_h=0, assignee="U1"),
        item("B", D(2025, 1, 29), "doing", remaining_estimate_h=4, assignee="U1"),
    )
    evm = _portfolio(as_of=W4, work_items=items).evm
    # W1 before the first export; AC 900 at W2 and W3; W4: AC 1200 + 4 h × 50.
    assert column(evm, "eac_bottom_up") == [None, money(900), money(900), money(1400)]
    # A exported under Q first and under P by 29 Jan: P's item at every week, so P's first export is still W2's.
    moved = items.with_columns(
        project_id=pl.when(pl.col("snapshot_date") == W2).then(pl.lit("Q")).otherwise("project_id")
    )
    moved = pl.concat([moved, rows("work_items", item("A", D(2025, 1, 29), "done", resolved=D(2025, 1, 10),
                                                      remaining_estimate_h=0, assignee="U1"))])  # fmt: skip
    evm = _portfolio(as_of=W4, work_items=moved).evm
    assert column(evm, "eac_bottom_up") == [None, money(900), money(900), money(1400)]


def test_bottom_up_is_null_when_remaining_work_has_no_rate():
    items = rows(
        "work_items",
        item("A", W2, "done", resolved=D(2025, 1, 10), remaining_estimate_h=0),
        item("B", W2, "doing", remaining_estimate_h=10),  # nobody assigned and the project has no planned rate
    )
    evm = _portfolio(as_of=W2, work_items=items, project_kw={"planned_rate": None}).evm
    # 10 h that cannot be priced: the bottom-up EAC is unknown, never AC + 0.
    assert row(evm, W2)["eac_bottom_up"] is None


def test_item_type_techniques_from_the_options():
    items = rows(
        "work_items",
        item("A", W2, "doing", type="Bug"),  # Bug → 50/50 by the options: 1000 × 0.5
        item("B", W2, "doing", type="Task"),  # Task: the project's 0/100: 0
    )
    evm = _portfolio(as_of=W2, work_items=items, options={"techniques": {"Bug": "50/50"}}).evm
    assert row(evm, W2)["ev"] == money(500)


def test_a_project_from_a_status_file_takes_pv_ev_ac_from_the_file():
    status = rows(
        "evm_status",
        {"project_id": "S", "status_date": W1, "pv": 100, "ev": 80, "ac": 90, "bac": 1000,
         "baseline_start": D(2025, 1, 6), "baseline_finish": D(2025, 2, 28), "baseline_version": "1"},
        {"project_id": "S", "status_date": W2, "pv": 250, "ev": 200, "ac": 260, "bac": 1000,
         "baseline_start": D(2025, 1, 6), "baseline_finish": D(2025, 2, 28), "baseline_version": "1"},
    )  # fmt: skip
    projects = rows("projects", project("P", planned_rate=50), project("S"))
    # S also has a baseline file and worklogs: both are ignored for its figures; the file's come first.
    baselines = pl.concat([_baselines(), _baselines("S")])
    worklogs = pl.concat([_worklogs(), rows("worklogs", worklog("s1", "S-1", D(2025, 1, 7), 100, project_id="S"))])
    evm = _portfolio(as_of=W3, projects=projects, baselines=baselines, worklogs=worklogs, evm_status=status).evm
    s = evm.filter(pl.col("project_id") == "S")
    assert s.get_column("status_date").to_list() == [W1, W2, W3]
    assert column(evm, "pv", "S") == [money(100), money(250), money(250)]  # carried forward to as_of
    assert column(evm, "ev", "S") == [money(80), money(200), money(200)]
    assert column(evm, "ac", "S") == [money(90), money(260), money(260)]
    assert column(evm, "bac", "S") == [money(1000)] * 3
    r = row(evm, W2, "S")
    assert r["cpi"] == pytest.approx(200 / 260)
    assert r["spi"] == pytest.approx(0.8)  # 200 / 250
    # Earned schedule on the file's PV points (0, 0), (1, 100), (2, 250), (PD = 54/7, 1000):
    # EV 200 between (1, 100) and (2, 250): ES = 1 + 100/150 = 5/3; AT = 2: SPI(t) = 5/6.
    assert r["es_weeks"] == pytest.approx(5 / 3)
    assert r["spi_t"] == pytest.approx(5 / 6)
    assert r["pd_weeks"] == pytest.approx(54 / 7)
    # P is unaffected by S.
    assert row(evm, W2)["ac"] == money(900)


def test_agile_pv_steps_at_sprint_ends():
    sprints = rows(
        "sprints",
        {"project_id": "G", "sprint": "S1", "start": D(2025, 1, 6), "finish": D(2025, 1, 17), "planned_points": 20},
        {"project_id": "G", "sprint": "S2", "start": D(2025, 1, 20), "finish": D(2025, 1, 31), "planned_points": 30},
    )
    baselines = rows(
        "baselines",
        element("X", 4000, D(2025, 1, 6), D(2025, 1, 17), project_id="G"),
        element("Y", 6000, D(2025, 1, 20), D(2025, 1, 31), project_id="G"),
    )
    items = rows(
        "work_items",
        item("X", W2, "done", resolved=D(2025, 1, 16), story_points=8, project_id="G"),
        item("Y", W2, "doing", story_points=12, project_id="G"),
    )
    result = run(W4, projects=rows("projects", project("G", ev_technique="agile")), baselines=baselines,
                 work_items=items, sprints=sprints)  # fmt: skip
    evm = result.evm
    # BAC 10000, two sprints. PV: 12 Jan none finished: 0; 19 and 26 Jan: S1 finished (17 Jan): 1/2 × 10000 = 5000;
    # 2 Feb: both (31 Jan): 10000 — steps at sprint ends, not per working day.
    assert column(evm, "pv", "G") == [money(0), money(5000), money(5000), money(10000)]
    # EV: points done / 50 planned × BAC: 12 Jan before the first export: NULL; then X's 8 points: 1600.
    assert column(evm, "ev", "G") == [None, money(1600), money(1600), money(1600)]
    assert column(evm, "reconstructable", "G") == [False, True, True, True]
    r = row(evm, W1, "G")
    assert r["cpi"] is None and r["spi"] is None and r["es_weeks"] is None and r["pct_complete"] is None


def test_level_of_effort_by_item_type_earns_as_planned():
    baselines = rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)),
        element("PM", 500, D(2025, 1, 6), D(2025, 1, 17)),  # a "Management" item: level of effort by its type
    )
    items = rows("work_items", item("A", W2, "doing"), item("PM", W2, "doing", type="Management"))
    result = _portfolio(as_of=W3, baselines=baselines, work_items=items,
                        options={"techniques": {"Management": "level_of_effort"}})  # fmt: skip
    # PM: 50 a day: 250, 500, 500 earned as planned; A (0/100) not done: 0.
    assert column(result.evm, "ev") == [money(250), money(500), money(500)]
    assert column(result.evm, "pv") == [money(750), money(1500), money(1500)]


def test_the_plan_in_force_runs_past_the_as_of_date():
    plan = _portfolio(as_of=W1).plan
    # As of 12 Jan the plan still shows the 19 Jan week: 500 then 1500.
    assert plan.rows() == [("P", W1, money(500)), ("P", W2, money(1500))]


def test_pv_equals_bac_after_the_finish_on_every_row():
    # A baseline file also holds a project that is not in the register (GHOST).
    evm = _portfolio(as_of=W2, baselines=pl.concat([_baselines(), _baselines("GHOST")])).evm
    after = evm.filter(pl.col("status_date") >= pl.col("baseline_finish"))
    # Every project measured is measured whole: once past the planned finish, PV = BAC (here 1500 on 19 Jan),
    # and every row says whether its week is reconstructable.
    assert after.height > 0
    assert (after.get_column("pv") == after.get_column("bac")).all()
    assert evm.get_column("reconstructable").null_count() == 0


def test_rows_sorted_by_project_and_status_date():
    projects = rows("projects", project("Z"), project("P", planned_rate=50))
    baselines = pl.concat([_baselines("Z"), _baselines()])
    evm = _portfolio(as_of=W2, projects=projects, baselines=baselines).evm
    keys = evm.select("project_id", "status_date").rows()
    assert keys == [("P", W1), ("P", W2), ("Z", W1), ("Z", W2)]


def test_weeks_ending_on_friday():
    f1, f2, f3 = D(2025, 1, 10), D(2025, 1, 17), D(2025, 1, 24)
    evm = _portfolio(as_of=f3, options={"week_ends_on": "friday"}).evm
    assert evm.get_column("status_date").to_list() == [f1, f2, f3]
    # PV: Fri 10 Jan A 5/10 = 500; 17 Jan 1500. EV: A done 10 Jan: 1000 (the Sunday 19 Jan export is in force
    # from the week ending Fri 24 Jan; before it, rebuilt from the resolution date). AC: 400, 900, 900.
    assert column(evm, "pv") == [money(500), money(1500), money(1500)]
    assert column(evm, "ev") == [money(1000)] * 3
    assert column(evm, "ac") == [money(400), money(900), money(900)]
    r = row(evm, f1)
    # AT = (10 − 6 + 1) / 7 = 5/7; points (0, 0), (5/7, 500), (12/7, 1500): ES = 5/7 + 500/1000 × 1 = 17/14.
    assert r["at_weeks"] == pytest.approx(5 / 7)
    assert r["es_weeks"] == pytest.approx(17 / 14)
    assert r["spi_t"] == pytest.approx(1.7)  # (17/14) / (5/7)
    # Bottom-up from the week the first export is in force (24 Jan): 900 + 4 h × 50 = 1100.
    assert column(evm, "eac_bottom_up") == [None, None, money(1100)]


def test_bottom_up_prices_only_the_remaining_work_of_items_not_done():
    # One export on 19 Jan (W2); AC 400 + 500 = 900 by then. P's planned rate is 40; U9 is nobody (no rate).
    items = rows(
        "work_items",
        item("A", W2, "done", remaining_estimate_h=8, assignee="U9"),  # done: 0, and its missing rate is no gap
        item("B", W2, "doing", status_category=None, remaining_estimate_h=4, assignee="U1"),  # no category: 4 × 50
        item("C", W2, "doing", remaining_estimate_h=-2, assignee="U1"),  # a negative estimate as given: −2 × 50
        item("E", W2, "todo", remaining_estimate_h=0, assignee="U9"),  # nothing remaining: 0, no gap
        item("F", W2, "todo", assignee="U9"),  # no remaining estimate: 0, no gap
        item("G", W2, "todo", remaining_estimate_h=3, assignee="U9"),  # the project's planned rate: 3 × 40
    )
    # On 26 Jan (W3) G has nothing remaining any more: its 120 goes (AC still 900).
    later = pl.concat([items, rows("work_items", item("G", W3, "todo", remaining_estimate_h=0, assignee="U9"))])
    evm = _portfolio(as_of=W3, project_kw={"planned_rate": 40}, work_items=later).evm
    assert column(evm, "eac_bottom_up") == [None, money(1120), money(1000)]  # 900 + 200 − 100 + 120; then − 120
    # The same item with no planned rate to fall back on: a gap, so the bottom-up EAC is undefined.
    evm = _portfolio(as_of=W2, project_kw={"planned_rate": None}, work_items=items).evm
    assert column(evm, "eac_bottom_up") == [None, None]
    # Without G, no item with remaining work lacks a rate: 900 + 200 − 100.
    evm = _portfolio(as_of=W2, project_kw={"planned_rate": None}, work_items=items.filter(pl.col("item_key") != "G"))
    assert column(evm.evm, "eac_bottom_up") == [None, money(1000)]
