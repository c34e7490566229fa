"""Project closure: final figures, how early each EAC method was right, variance drivers and lessons learned."""

import polars as pl
import pytest

from tests.transforms.evm_frames import (
    W1,
    W2,
    W3,
    D,
    element,
    empty_versions,
    item,
    money,
    person,
    project,
    rate,
    rows,
    run,
    worklog,
)
from transforms.actual_cost import cost_worklogs
from transforms.backtest import eac_backtest
from transforms.baselines import assemble
from transforms.project_closure import closure_drivers, project_closure

PEOPLE = rows("people", person("u1", team="Platform", jira_account_id="acc1"),
              person("u2", team="Data", jira_account_id="acc2"))  # fmt: skip
RATES = rows("rates", rate(50))


@pytest.fixture(scope="module")
def closed():
    projects = rows(
        "projects",
        project("P", status="closed", closed_on=W2, lessons_learned="Start testing earlier"),
        project("Q"),
    )
    baselines = rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 10)),
        element("B", 500, D(2025, 1, 13), D(2025, 1, 17)),
        element("C", 800, D(2025, 1, 6), D(2025, 1, 17), project_id="Q"),
    )
    work_items = rows(
        "work_items",
        item("A", W3, "done", type="Story", resolved=D(2025, 1, 10), assignee_account_id="acc1"),
        item("B", W3, "done", type="Bug", resolved=D(2025, 1, 17), assignee_account_id="acc2"),
        item("C", W3, "doing", project_id="Q"),
    )
    worklogs = rows(
        "worklogs",
        worklog("w1", "A", D(2025, 1, 8), 24),  # u1: 24 h × 50 = 1200
        worklog("w2", "B", D(2025, 1, 15), 8, person_id="u2"),  # u2: 8 h × 50 = 400
        worklog("w3", "C", D(2025, 1, 15), 8, project_id="Q"),
    )
    result = run(W3, projects=projects, baselines=baselines, work_items=work_items, worklogs=worklogs,
                 people=PEOPLE, rates=RATES)  # fmt: skip
    backtest = eac_backtest(result.evm, projects)
    closure = project_closure(result.evm, projects, backtest)
    _, elements = assemble(baselines, empty_versions(), rows("baselines"))
    costed = cost_worklogs(worklogs, PEOPLE, RATES)
    drivers = closure_drivers(closure, elements, costed, result.costs, work_items, PEOPLE)
    return closure, drivers, backtest, (elements, costed, result.costs, work_items)


def test_one_row_per_closed_project_with_its_final_figures_and_lessons(closed):
    closure, *_ = closed
    assert closure["project_id"].to_list() == ["P"]  # Q is active
    r = closure.row(0, named=True)
    # Final week W3 (carried forward from W2, when B was done): BAC 1000 + 500 = 1500, EV 1500, AC 1200 + 400 = 1600.
    assert (r["bac"], r["ev"], r["final_cost"]) == (money(1500), money(1500), money(1600))
    assert r["final_cpi"] == pytest.approx(1500 / 1600)  # 0.9375
    assert r["final_spi"] == pytest.approx(1.0)
    assert r["cv_at_completion"] == money(-100)  # 1500 − 1600
    assert r["vac"] == money(-100)  # BAC 1500 − final cost 1600
    assert r["final_status_date"] == W3 and r["closed_on"] == W2
    assert r["lessons_learned"] == "Start testing earlier"


def test_each_eac_method_says_from_which_percent_complete_it_stayed_within_ten_percent(closed):
    closure, _, backtest, _ = closed
    r = closure.row(0, named=True)
    for method in ("cpi", "budget_rate", "cpi_spi", "composite", "bottom_up"):
        expected = backtest.filter(pl.col("eac_method") == method)["within_10pct_from"].first()
        assert r[f"within_10pct_from_{method}"] == expected, method
    # W1: EV 1000 of BAC 1500, AC 1200: CPI 1000/1200, EAC 1500 / 0.8333 = 1800, 12.5 % over the final 1600:
    # not within; W2: EAC = 1600 exactly: within from 100 % complete.
    assert r["within_10pct_from_cpi"] == pytest.approx(1.0)
    # Budget rate at W1: 1200 + (1500 − 1000) = 1700, 6.25 % over 1600: within from 1000/1500 complete.
    assert r["within_10pct_from_budget_rate"] == pytest.approx(1000 / 1500)


def test_variance_drivers_by_work_type_team_and_cost_category_ranked_by_size(closed):
    _, drivers, *_ = closed
    got = {(d, k): (b, a, v, rank) for _, d, k, b, a, v, rank in drivers.iter_rows()}
    # Story (A): budget 1000, actual 1200 → −200, the largest; Bug (B): 500 vs 400 → +100.
    assert got[("work_type", "Story")] == (money(1000), money(1200), money(-200), 1)
    assert got[("work_type", "Bug")] == (money(500), money(400), money(100), 2)
    # Teams: A is assigned to u1 (Platform) who logged its hours; B to u2 (Data).
    assert got[("team", "Platform")] == (money(1000), money(1200), money(-200), 1)
    assert got[("team", "Data")] == (money(500), money(400), money(100), 2)
    assert got[("cost_category", "labour")] == (money(1500), money(1600), money(-100), 1)
    assert set(drivers["project_id"]) == {"P"}


def test_work_on_a_ticket_no_element_budgets_is_a_driver_by_its_own_type_and_team(closed):
    # Beside the fixture: 10 h at 50 on ticket X of P, a Task assigned to u2 (Data), which no element budgets, and
    # an export of X in project Q two weeks earlier (a ticket counts by its latest export). Its cost, 500, is a driver
    # with budget 0: work type Task −500, rank 1 (above Story's −200); team Data 500 − 400 = +100 becomes −400.
    closure, _, _, (elements, costed, costs, work_items) = closed
    extra = rows("work_items", item("X", W1, "doing", project_id="Q", type="Story", assignee_account_id="acc1"),
                 item("X", W3, "done", type="Task", resolved=D(2025, 1, 14), assignee_account_id="acc2"))  # fmt: skip
    logged = cost_worklogs(rows("worklogs", worklog("w9", "X", D(2025, 1, 14), 10, person_id="u2")), PEOPLE, RATES)
    drivers = closure_drivers(closure, elements, pl.concat([costed, logged]), costs,
                              pl.concat([work_items, extra]), PEOPLE)  # fmt: skip
    got = {(d, k): (b, a, v, rank) for _, d, k, b, a, v, rank in drivers.iter_rows()}
    assert got[("work_type", "Task")] == (money(0), money(500), money(-500), 1)
    assert got[("work_type", "Story")] == (money(1000), money(1200), money(-200), 2)
    assert got[("team", "Data")] == (money(500), money(900), money(-400), 1)
