"""Actual cost (../shared/EVM.md "Actual cost"), hand-computed: worklog hours × the rate in force on the work date,
direct costs at purchase or amortised straight-line, AC by category and CPI over the budgeted categories only."""

import datetime as dt

import polars as pl
import pytest

from tests.transforms.evm_frames import (
    PEOPLE,
    RATES,
    W1,
    W2,
    W3,
    D,
    element,
    item,
    money,
    person,
    project,
    rate,
    row,
    rows,
    run,
    worklog,
)
from transforms.actual_cost import actual_cost_weekly, cost_worklogs, direct_costs


def _cost(worklogs, people=PEOPLE, rates=RATES, **kw):
    out = cost_worklogs(rows("worklogs", *worklogs), people, rates, **kw)
    return {r["worklog_id"]: r for r in out.iter_rows(named=True)}


def _grid(*weeks, project_id="P"):
    return pl.DataFrame({"project_id": project_id, "status_date": list(weeks)})


def _weekly(costed=None, direct=None, weeks=(W1, W2, W3), **kw):
    costed = costed if costed is not None else cost_worklogs(rows("worklogs"), PEOPLE, RATES)
    direct = direct if direct is not None else direct_costs(rows("assets"), rows("licences"))
    out = actual_cost_weekly(_grid(*weeks), costed, direct, **kw)
    return {(r["status_date"], r["cost_category"]): r["ac"] for r in out.iter_rows(named=True)}


# --------------------------------------------------------------------------------------------------- worklogs


def test_rate_in_force_on_the_work_date_when_the_rate_changes_mid_project():
    rates = rows(
        "rates",
        rate(50, valid_from=D(2024, 1, 1), valid_to=D(2025, 1, 14)),
        rate(60, valid_from=D(2025, 1, 15)),
    )
    out = _cost([worklog("w1", "A", D(2025, 1, 14), 8), worklog("w2", "A", D(2025, 1, 15), 8)], rates=rates)
    # 14 Jan: 8 h × 50 = 400 (the old rate's last day); 15 Jan: 8 h × 60 = 480.
    assert (out["w1"]["hourly_rate"], out["w1"]["cost"]) == (money(50), money(400))
    assert (out["w2"]["hourly_rate"], out["w2"]["cost"]) == (money(60), money(480))


def test_an_open_ended_old_rate_gives_way_to_the_newer_one():
    rates = rows("rates", rate(50, valid_from=D(2024, 1, 1)), rate(60, valid_from=D(2025, 1, 15)))
    out = _cost([worklog("w1", "A", D(2025, 1, 14), 2), worklog("w2", "A", D(2025, 1, 15), 2)], rates=rates)
    # Both rows are open-ended; the latest valid_from on or before the work date wins: 2 × 50 = 100, 2 × 60 = 120.
    assert (out["w1"]["cost"], out["w2"]["cost"]) == (money(100), money(120))


def test_the_persons_own_rate_comes_before_the_role_rate():
    rates = rows("rates", rate(50), rate(70, person_id="u1", role=None, valid_from=D(2025, 1, 15)))
    out = _cost([worklog("w1", "A", D(2025, 1, 14), 8), worklog("w2", "A", D(2025, 1, 15), 8)], rates=rates)
    # 14 Jan: u1 has no own rate yet: the dev role's 8 × 50 = 400. 15 Jan: u1's own 8 × 70 = 560.
    assert (out["w1"]["cost"], out["w2"]["cost"]) == (money(400), money(560))


def test_unapproved_hours_count_by_default_and_not_when_the_setting_says_so():
    logs = [
        worklog("w1", "A", D(2025, 1, 7), 8, approved=True),
        worklog("w2", "A", D(2025, 1, 8), 4, approved=False),
        worklog("w3", "A", D(2025, 1, 9), 2),  # a tool without approvals: NULL
    ]
    counted = _cost(logs)
    # Default: every one is in AC: 8 × 50 + 4 × 50 + 2 × 50 = 700.
    assert [counted[w]["in_ac"] for w in ("w1", "w2", "w3")] == [True, True, True]
    assert sum(counted[w]["cost"] for w in counted) == money(700)
    strict = _cost(logs, count_unapproved=False)
    # Not counted: w2's 4 h are out of AC and reported with the reason; w3 (no approval status) still counts.
    assert [strict[w]["in_ac"] for w in ("w1", "w2", "w3")] == [True, False, True]
    assert strict["w2"]["exception"] == "unapproved hours (not counted)"
    assert sum(strict[w]["cost"] for w in strict if strict[w]["in_ac"]) == money(500)  # 8 × 50 + 2 × 50


def test_hours_that_cannot_be_costed_are_kept_with_their_reason():
    logs = [
        worklog("ok", "A", D(2025, 1, 7), 1),
        worklog("np", "A", D(2025, 1, 7), 2, project_id=None),
        worklog("nobody", "A", D(2025, 1, 7), 3, person_id=None),
        worklog("norate", "A", D(2025, 1, 7), 4, person_id="u9"),  # u9 is in no rate card and no role
        worklog("early", "A", D(2023, 12, 31), 5),  # before the dev rate's valid_from 1 Jan 2024
    ]
    out = _cost(logs)
    assert len(out) == 5  # never dropped
    assert {w: (r["in_ac"], r["exception"]) for w, r in out.items()} == {
        "ok": (True, None),
        "np": (False, "unknown project"),
        "nobody": (False, "unmatched person"),
        "norate": (False, "no rate in force on the work date"),
        "early": (False, "no rate in force on the work date"),
    }


def test_a_worklog_on_a_ticket_no_export_knows_is_costed_and_reported():
    out = _cost([worklog("w1", "A", D(2025, 1, 7), 8), worklog("w2", "Z-9", D(2025, 1, 14), 10, item_known=False)])
    # w2: 10 h × 50 = 500, in AC, and listed so someone can find the missing ticket export.
    assert (out["w2"]["cost"], out["w2"]["in_ac"]) == (money(500), True)
    assert out["w2"]["exception"] == "ticket in no ticket export (costed)"
    assert out["w1"]["exception"] is None


# ----------------------------------------------------------------------------------------------- direct costs


ASSET = {"asset_tag": "AS-1", "project_id": "P", "purchase_cost": 3650, "purchase_date": D(2025, 1, 6),
         "eol_date": D(2026, 1, 5)}  # fmt: skip


def test_an_asset_amortised_straight_line_to_its_end_of_life():
    direct = direct_costs(rows("assets", ASSET), rows("licences"))
    weeks = (W1, D(2025, 3, 16), D(2026, 1, 11))
    out = _weekly(direct=direct, weeks=weeks)
    # 3650 over 6 Jan 2025 .. 5 Jan 2026 = 365 days = 10 a day.
    # 12 Jan: 7 days = 70. Sun 16 Mar: 6 Jan + 69 days, 70 days = 700. 11 Jan 2026: past its end of life: 3650.
    assert out == {(W1, "assets"): money(70), (weeks[1], "assets"): money(700), (weeks[2], "assets"): money(3650)}


def test_an_asset_without_end_of_life_amortises_over_the_configured_life():
    asset = ASSET | {"purchase_date": D(2025, 1, 1), "eol_date": None}
    direct = direct_costs(rows("assets", asset), rows("licences"), asset_life_months=12)
    assert direct.row(0, named=True)["last_day"] == D(2025, 12, 31)
    # 1 Jan .. 31 Dec 2025: 365 days, 10 a day; Sun 5 Jan: 5 days = 50.
    assert _weekly(direct=direct, weeks=(D(2025, 1, 5),)) == {(D(2025, 1, 5), "assets"): money(50)}


def test_an_asset_charged_at_purchase():
    direct = direct_costs(rows("assets", ASSET), rows("licences"), mode="purchase")
    # The whole 3650 in the week of its purchase (6 Jan, week of 12 Jan).
    assert _weekly(direct=direct, weeks=(D(2025, 1, 5), W1, W2)) == {
        (D(2025, 1, 5), "assets"): money(0),
        (W1, "assets"): money(3650),
        (W2, "assets"): money(3650),
    }


def test_licences_amortised_to_their_expiry_else_charged_at_purchase():
    licences = rows(
        "licences",
        {"licence_id": "L1", "project_id": "P", "cost": 730, "purchase_date": D(2025, 1, 1), "expiry": D(2025, 12, 31)},
        {"licence_id": "L2", "project_id": "P", "cost": 120, "purchase_date": D(2025, 1, 8)},
        {"licence_id": "L3", "cost_centre": "CC-9", "cost": 999, "purchase_date": D(2025, 1, 8)},  # no project
    )
    direct = direct_costs(rows("assets"), licences)
    assert direct.get_column("item_key").to_list() == ["L1", "L2"]
    # L1: 730 over 365 days = 2 a day; 12 Jan: 12 days = 24, plus L2 120 at purchase (8 Jan) = 144.
    # 19 Jan: 19 days = 38 + 120 = 158.
    assert _weekly(direct=direct, weeks=(W1, W2)) == {(W1, "licences"): money(144), (W2, "licences"): money(158)}


def test_ac_by_category_cumulative_and_earlier_costs_in_the_first_week():
    logs = [
        worklog("w0", "A", D(2024, 12, 30), 2),  # before the grid's first week: counts in it
        worklog("w1", "A", D(2025, 1, 7), 8),
        worklog("w2", "A", D(2025, 1, 14), 10),
        worklog("wx", "A", D(2025, 1, 15), 99, person_id=None),  # not costed: not in AC
    ]
    costed = cost_worklogs(rows("worklogs", *logs), PEOPLE, RATES)
    direct = direct_costs(rows("assets", ASSET), rows("licences"), mode="purchase")
    out = _weekly(costed=costed, direct=direct)
    # Labour: 12 Jan: (2 + 8) × 50 = 500; 19 Jan and 26 Jan: 500 + 10 × 50 = 1000. Assets: 3650 from 12 Jan.
    assert out == {
        (W1, "assets"): money(3650), (W1, "labour"): money(500),
        (W2, "assets"): money(3650), (W2, "labour"): money(1000),
        (W3, "assets"): money(3650), (W3, "labour"): money(1000),
    }  # fmt: skip


# ------------------------------------------------------------------------------- CPI over budgeted categories


def _labour_only_project(**kw):
    frames = {
        "projects": rows("projects", project("P")),
        "baselines": rows("baselines", element("A", 1000, D(2025, 1, 6), D(2025, 1, 17))),
        "work_items": rows("work_items", item("A", W2, "done", resolved=D(2025, 1, 15))),
        "worklogs": rows("worklogs", worklog("w1", "A", D(2025, 1, 7), 8), worklog("w2", "A", D(2025, 1, 14), 8)),
    }
    return run(W2, **(frames | kw))


def test_cpi_uses_only_the_categories_the_baseline_budgets():
    assets = rows("assets", ASSET | {"purchase_date": D(2025, 1, 6)})
    result = _labour_only_project(assets=assets, options={"direct_costs": "purchase"})
    r = row(result.evm, W2)
    # The baseline budgets labour only. Labour AC = 16 h × 50 = 800; the asset's 3650 is shown beside, not inside.
    assert (r["ac"], r["unbudgeted_ac"]) == (money(800), money(3650))
    # EV 1000 (A done 15 Jan): CPI = 1000 / 800 = 1.25, not 1000 / 4450.
    assert r["cpi"] == pytest.approx(1.25)
    costs = result.costs.filter(pl.col("status_date") == W2)
    assert costs.select("cost_category", "ac", "budgeted").rows() == [
        ("assets", money(3650), False),
        ("labour", money(800), True),
    ]


def test_a_budgeted_asset_category_is_in_ac():
    baselines = rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)),
        element("HW", 4000, D(2025, 1, 6), D(2025, 1, 6), cost_category="assets"),
    )
    assets = rows("assets", ASSET)
    result = _labour_only_project(baselines=baselines, assets=assets, options={"direct_costs": "purchase"})
    r = row(result.evm, W2)
    # Assets are budgeted now: AC = 800 + 3650 = 4450, nothing unbudgeted.
    assert (r["ac"], r["unbudgeted_ac"]) == (money(4450), money(0))
    # EV: A 1000 + HW (0/100, no export holds it: never done) 0 = 1000; CPI = 1000 / 4450.
    assert r["cpi"] == pytest.approx(1000 / 4450)


def test_worklog_people_rates_roles():
    # A person whose role has no rate but who has an own rate, and a second role.
    people = rows("people", person("u1", "dev"), person("u2", "pm"))
    rates = rows("rates", rate(50, role="dev"), rate(90, role="pm"))
    out = _cost([worklog("w1", "A", D(2025, 1, 7), 1), worklog("w2", "A", D(2025, 1, 7), 1, person_id="u2")],
                people=people, rates=rates)  # fmt: skip
    # u1 dev 1 × 50; u2 pm 1 × 90.
    assert (out["w1"]["cost"], out["w2"]["cost"]) == (money(50), money(90))


def test_days_are_whole_in_the_amortisation():
    # A licence of 70 over one week (Mon 6 .. Sun 12 Jan): 10 a day; by Sunday 12 Jan all 7 days: 70.
    licences = rows(
        "licences", {"licence_id": "L", "project_id": "P", "cost": 70, "purchase_date": D(2025, 1, 6),
                     "expiry": D(2025, 1, 12)},
    )  # fmt: skip
    direct = direct_costs(rows("assets"), licences)
    assert _weekly(direct=direct, weeks=(W1,)) == {(W1, "licences"): money(70)}
    assert (direct.row(0, named=True)["last_day"] - direct.row(0, named=True)["first_day"]) == dt.timedelta(days=6)


def test_hours_with_no_project_on_a_service_desk_ticket_are_operational_work_not_an_unknown_project():
    logs = [
        worklog("desk", "INC0001", D(2025, 1, 7), 2, project_id=None),
        worklog("lost", "X-1", D(2025, 1, 7), 3, project_id=None),
        worklog("mapped", "INC0002", D(2025, 1, 7), 1),  # a desk ticket mapped to a project is project work
    ]
    out = _cost(logs, operational_items=pl.Series(["INC0001", "INC0002"]))
    assert (out["desk"]["in_ac"], out["desk"]["exception"]) == (False, "operational work (no project)")
    assert (out["lost"]["in_ac"], out["lost"]["exception"]) == (False, "unknown project")
    # 1 h × 50 = 50, in AC: mapped to a project.
    assert (out["mapped"]["in_ac"], out["mapped"]["exception"], out["mapped"]["cost"]) == (True, None, money(50))
