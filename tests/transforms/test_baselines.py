"""Baselines (../shared/EVM.md "Baseline"), hand-computed: versions in force, ticket-derived budgets, freezing and
rebaselining."""

import datetime as dt

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
    empty_versions,
    item,
    money,
    person,
    project,
    rate,
    row,
    rows,
    run,
)
from transforms.baselines import VERSION_SCHEMA, assemble, derive_from_tickets, freeze, in_force

FROZEN_AT = dt.datetime(2025, 1, 5, 9, 0)


def _versions(*records):
    return pl.DataFrame([[r.get(c) for c in VERSION_SCHEMA] for r in records], schema=VERSION_SCHEMA, orient="row")


# -------------------------------------------------------------------------------------------------- in force


def test_the_version_in_force_is_the_latest_effective_on_or_before_the_status_date():
    versions = _versions(
        {"project_id": "P", "baseline_version": 1, "effective_from": W1},
        {"project_id": "P", "baseline_version": 2, "effective_from": W3},
        {"project_id": "Q", "baseline_version": 5, "effective_from": W2},
    )
    grid = pl.DataFrame({"project_id": ["P"] * 4 + ["Q"] * 2, "status_date": [D(2025, 1, 5), W1, W2, W3, W1, W2]})
    out = in_force(grid, versions)
    # P: 5 Jan is before v1's date: the first version; 12, 19 Jan: v1; 26 Jan: v2 (effective that day).
    # Q: 12 Jan before its only version (5): v5; 19 Jan: v5.
    assert out.select("project_id", "status_date", "baseline_version").rows() == [
        ("P", D(2025, 1, 5), 1), ("P", W1, 1), ("P", W2, 1), ("P", W3, 2), ("Q", W1, 5), ("Q", W2, 5),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------- derived from tickets


PEOPLE = rows(
    "people",
    person("u1", "dev", jira_account_id="acc-1"),
    person("u2", "dev", display_name="Uma Two"),
)
RATES = rows(
    "rates",
    rate(60, role="dev"),
    rate(70, person_id="u1", role=None, valid_from=D(2024, 1, 1), valid_to=D(2024, 12, 31)),
    rate(80, person_id="u1", role=None, valid_from=D(2025, 1, 1)),
)
TICKET_PROJECTS = rows("projects", project("P", planned_rate=50), project("Q"))


def _ticket(key, estimate, start, due, *, project_id="P", snapshot=W1, **kw):
    return item(key, snapshot, "todo", project_id=project_id, original_estimate_h=estimate, planned_start=start,
                due=due, summary=f"{key} summary", **kw)  # fmt: skip


def test_a_baseline_derived_from_tickets_prices_each_items_own_estimate():
    items = rows(
        "work_items",
        # A: u1 by account id; u1's own rate on the planned start (6 Jan 2025) is 80: 10 h × 80 = 800.
        _ticket("A", 10, D(2025, 1, 6), D(2025, 1, 17), assignee_account_id="acc-1"),
        # A's earlier export (estimate 5) is superseded; a later one after as_of (estimate 99) is not seen yet.
        _ticket("A", 5, D(2025, 1, 6), D(2025, 1, 17), snapshot=D(2025, 1, 5), assignee_account_id="acc-1"),
        _ticket("A", 99, D(2025, 1, 6), D(2025, 1, 17), snapshot=W3, assignee_account_id="acc-1"),
        # B: u2 by display name (any case), no own rate: the dev role's 60 × 20 h = 1200.
        _ticket("B", 20, D(2025, 1, 13), D(2025, 1, 24), assignee="uma two"),
        # C: nobody assigned: the project's planned rate 50 × 4 h = 200.
        _ticket("C", 4, D(2025, 1, 13), D(2025, 1, 14)),
        # PARENT and SUB: each its own estimate (8 h and 4 h), never the parent's Σ of 12 h: 400 and 200.
        _ticket("PARENT", 8, D(2025, 1, 6), D(2025, 1, 10)),
        _ticket("SUB", 4, D(2025, 1, 6), D(2025, 1, 10), parent_key="PARENT"),
    )
    elements, undated = derive_from_tickets(items, PEOPLE, RATES, TICKET_PROJECTS, as_of=W2)
    budgets = dict(zip(elements.get_column("element_key"), elements.get_column("budget"), strict=True))
    assert budgets == {"A": money(800), "B": money(1200), "C": money(200), "PARENT": money(400), "SUB": money(200)}
    a = elements.filter(pl.col("element_key") == "A").row(0, named=True)
    assert (a["planned_start"], a["planned_finish"], a["cost_category"], a["source_kind"]) == (
        D(2025, 1, 6), D(2025, 1, 17), "labour", "tickets",
    )  # fmt: skip
    assert undated.is_empty()
    assert elements.columns == list(rows("baselines").drop("_source_file", "_line").columns)


def test_items_without_estimate_dates_or_rate_are_flagged_never_guessed():
    items = rows(
        "work_items",
        _ticket("OK", 1, D(2025, 1, 6), D(2025, 1, 6)),
        _ticket("NOEST", None, D(2025, 1, 6), D(2025, 1, 10)),
        _ticket("NOSTART", 8, None, D(2025, 1, 10)),
        _ticket("NODUE", 8, D(2025, 1, 6), None),
        _ticket("BACKWARDS", 8, D(2025, 1, 10), D(2025, 1, 6)),
        _ticket("NORATE", 8, D(2025, 1, 6), D(2025, 1, 10), project_id="Q"),  # Q has no planned rate
    )
    elements, undated = derive_from_tickets(items, PEOPLE, RATES, TICKET_PROJECTS, as_of=W2)
    assert elements.get_column("element_key").to_list() == ["OK"]
    assert undated.rows() == [
        ("P", "BACKWARDS", "due date before the planned start"),
        ("P", "NODUE", "no planned start or due date"),
        ("P", "NOEST", "no original estimate"),
        ("P", "NOSTART", "no planned start or due date"),
        ("Q", "NORATE", "no rate for the assignee and no planned rate for the project"),
    ]


def test_only_the_given_projects_are_derived():
    items = rows("work_items", _ticket("A", 1, D(2025, 1, 6), D(2025, 1, 6)),
                 _ticket("X", 1, D(2025, 1, 6), D(2025, 1, 6), project_id="OTHER"))  # fmt: skip
    elements, _ = derive_from_tickets(items, PEOPLE, RATES, TICKET_PROJECTS, as_of=W2)
    assert elements.get_column("element_key").to_list() == ["A"]


# ---------------------------------------------------------------------------------------------------- freeze


def _derived():
    items = rows("work_items", _ticket("A", 10, D(2025, 1, 6), D(2025, 1, 17)),
                 _ticket("B", 2, D(2025, 1, 6), D(2025, 1, 10), project_id="Q"))  # fmt: skip
    projects = rows("projects", project("P", planned_rate=50), project("Q", planned_rate=50))
    return derive_from_tickets(items, PEOPLE, RATES, projects, as_of=W2)[0]


def test_freeze_numbers_the_next_version_after_every_existing_one():
    existing = _versions(
        {"project_id": "P", "baseline_version": 1, "source": "baseline"},
        {"project_id": "P", "baseline_version": 3, "source": "tickets"},
        {"project_id": "Q", "baseline_version": 7, "source": "tickets"},  # another project's: not counted
    )
    version, frozen = freeze(_derived(), existing, project_id="P", reason="rebaseline: scope", effective_from=W3,
                             frozen_at=FROZEN_AT)  # fmt: skip
    # P has versions 1 and 3: the freeze is version 4, only P's elements, in force from 26 Jan.
    assert version.rows(named=True) == [
        {"project_id": "P", "baseline_version": 4, "effective_from": W3, "reason": "rebaseline: scope",
         "source": "tickets", "frozen_at": FROZEN_AT, "management_reserve": None, "contingency": None},
    ]  # fmt: skip
    got = frozen.select("project_id", "baseline_version", "element_key", "effective_from", "reason", "budget")
    assert got.rows() == [
        ("P", 4, "A", W3, "rebaseline: scope", money(500)),  # 10 h × planned rate 50
    ]  # fmt: skip


def test_a_first_freeze_is_version_one():
    version, frozen = freeze(_derived(), empty_versions(), project_id="Q", reason="first", effective_from=W1,
                             frozen_at=FROZEN_AT)  # fmt: skip
    assert version.get_column("baseline_version").to_list() == [1]
    assert frozen.get_column("budget").to_list() == [money(100)]  # 2 h × 50


def test_freezing_nothing_is_an_error():
    with pytest.raises(ValueError, match="nothing to freeze"):
        freeze(_derived(), empty_versions(), project_id="NONE", reason="x", effective_from=W1, frozen_at=FROZEN_AT)


# -------------------------------------------------------------------------------------------------- assemble


def test_assemble_keeps_every_version_with_bac_and_reserves_beside_it():
    files = rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17), reason="initial plan", management_reserve=300,
                contingency=100),
        element("B", 500, D(2025, 1, 13), D(2025, 1, 24), reason="initial plan", management_reserve=300,
                contingency=100),
    )  # fmt: skip
    version, frozen = freeze(_derived(), _versions({"project_id": "P", "baseline_version": 1}), project_id="P",
                             reason="re-estimated", effective_from=W3, frozen_at=FROZEN_AT)  # fmt: skip
    versions, elements = assemble(files, version, frozen)
    got = versions.select(
        "project_id", "baseline_version", "effective_from", "source", "bac", "management_reserve", "contingency",
        "baseline_start", "baseline_finish", "elements",
    ).rows()  # fmt: skip
    # v1 from the file: BAC 1000 + 500 = 1500 (the reserves 300 and 100 beside it, not inside); 6..24 Jan.
    # v2 frozen from tickets: A 10 h × 50 = 500, 6..17 Jan.
    assert got == [
        ("P", 1, D(2025, 1, 6), "baseline", money(1500), money(300), money(100), D(2025, 1, 6), D(2025, 1, 24), 2),
        ("P", 2, W3, "tickets", money(500), None, None, D(2025, 1, 6), D(2025, 1, 17), 1),
    ]
    assert elements.select("baseline_version", "element_key").rows() == [(1, "A"), (1, "B"), (2, "A")]


def test_assemble_orders_the_elements_by_project_version_and_key_whatever_order_they_come_in():
    # Out of order on each key (and a NULL key, first as polars sorts); the warehouse's elements come in order and
    # are kept without a copy, which must not keep any other order.
    shuffled = [
        element("B", 1, D(2025, 1, 6), D(2025, 1, 10), project_id="Q", version=1),
        element("A", 1, D(2025, 1, 6), D(2025, 1, 10), project_id="Q", version=2),
        element("C", 1, D(2025, 1, 6), D(2025, 1, 10), project_id="P", version=1),
        element("A", 1, D(2025, 1, 6), D(2025, 1, 10), project_id="Q", version=1),
        element(None, 1, D(2025, 1, 6), D(2025, 1, 10), project_id="P", version=1),
    ]
    want = [("P", 1, None), ("P", 1, "C"), ("Q", 1, "A"), ("Q", 1, "B"), ("Q", 2, "A")]
    _, elements = assemble(rows("baselines", *shuffled), empty_versions(), rows("baselines"))
    assert elements.select("project_id", "baseline_version", "element_key").rows() == want
    _, again = assemble(elements, empty_versions(), rows("baselines"))
    assert again.select("project_id", "baseline_version", "element_key").rows() == want


# ------------------------------------------------------------------------------------- rebaselining, end to end


def test_a_rebaseline_changes_bac_and_pv_from_its_date_and_keeps_the_old_version():
    baselines = rows(
        "baselines",
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17), effective_from=W1),
        # v2, in force from Sun 26 Jan: A as before, and C 800 over 20..31 Jan (10 working days, 80 a day).
        element("A", 1000, D(2025, 1, 6), D(2025, 1, 17), version=2, effective_from=W3, reason="scope added"),
        element("C", 800, D(2025, 1, 20), D(2025, 1, 31), version=2, effective_from=W3, reason="scope added"),
    )
    items = rows("work_items", item("A", W2, "done", resolved=D(2025, 1, 15)), item("C", W4, "doing"))
    result = run(W5, projects=rows("projects", project("P")), baselines=baselines, work_items=items)
    evm = result.evm
    # 12 Jan v1: BAC 1000, PV 500. 19 Jan v1: PV 1000.
    # 26 Jan v2: BAC 1800, PV 1000 + C 5 days × 80 = 1400. 2 Feb and 9 Feb v2: PV 1800.
    assert column(evm, "baseline_version") == [1, 1, 2, 2, 2]
    assert column(evm, "bac") == [money(1000)] * 2 + [money(1800)] * 3
    assert column(evm, "pv") == [money(500), money(1000), money(1400), money(1800), money(1800)]
    # EV: A done 15 Jan: 1000 from 19 Jan under both versions; C never done.
    assert column(evm, "ev") == [money(0)] + [money(1000)] * 4
    # The old version is kept and listed beside the new one.
    assert result.versions.select("baseline_version", "bac", "reason").rows() == [
        (1, money(1000), None), (2, money(1800), "scope added"),
    ]  # fmt: skip
    # 26 Jan: SPI = EV 1000 / PV 1400; % complete = 1000 / 1800.
    assert row(evm, W3)["spi"] == pytest.approx(1000 / 1400)
    assert row(evm, W3)["pct_complete"] == pytest.approx(1000 / 1800)


def test_a_frozen_version_is_measured_like_a_file_version():
    version, frozen = freeze(_derived(), empty_versions(), project_id="P", reason="first", effective_from=W1,
                             frozen_at=FROZEN_AT)  # fmt: skip
    result = run(W2, projects=rows("projects", project("P", planned_rate=50)), frozen_versions=version,
                 frozen_elements=frozen)  # fmt: skip
    # The frozen A: 500 over 6..17 Jan (10 working days): PV 250 then 500; the rows name version 1.
    assert column(result.evm, "pv") == [money(250), money(500)]
    assert column(result.evm, "baseline_version") == [1, 1]
    assert result.versions.get_column("source").to_list() == ["tickets"]
    assert column(result.evm, "status_date") == [W1, W2]
    assert W4 not in column(result.evm, "status_date")
