"""Earned value by technique and progress over time (../shared/EVM.md "Earned value techniques" and "Progress over
time"), hand-computed. Exports are work item snapshots; the weeks end on Sundays W1 = 12 Jan .. W4 = 2 Feb 2025."""

import polars as pl

from tests.transforms.evm_frames import W1, W2, W3, W4, D, calendar, element, item, money, project, rows, worklog
from transforms.planned_value import planned_value
from transforms.progress import earned_value, progress

WEEKS = [W1, W2, W3, W4]
NO_LOE = pl.DataFrame(
    schema={"project_id": pl.String, "baseline_version": pl.Int64, "status_date": pl.Date, "pv": pl.Decimal(18, 4)}
)


def _ev(elements, items, worklogs=(), *, technique="0/100", projects=None, sprints=(), loe_pv=NO_LOE,
        techniques=None, bac=None, weeks=WEEKS):  # fmt: skip
    elements = rows("baselines", *elements)
    projects = projects if projects is not None else rows("projects", project("P", ev_technique=technique))
    total = bac if bac is not None else sum(elements.get_column("budget").to_list())
    grid = pl.DataFrame(
        {"project_id": "P", "status_date": weeks, "baseline_version": 1, "bac": money(total)},
        schema={"project_id": pl.String, "status_date": pl.Date, "baseline_version": pl.Int64,
                "bac": pl.Decimal(18, 4)},
    )  # fmt: skip
    state = progress(elements=elements, projects=projects, work_items=rows("work_items", *items),
                     worklogs=rows("worklogs", *worklogs), techniques=techniques)  # fmt: skip
    return earned_value(grid=grid, progress=state, projects=projects, sprints=rows("sprints", *sprints), loe_pv=loe_pv)


def _by_week(out, name="ev"):
    return dict(zip(out.get_column("status_date").to_list(), out.get_column(name).to_list(), strict=True))


A = element("A", 1000, D(2025, 1, 6), D(2025, 1, 17))
B = element("B", 500, D(2025, 1, 13), D(2025, 1, 24))
C = element("C", 200, D(2025, 1, 20), D(2025, 1, 31))


# ---------------------------------------------------------------------------------------------------- 0/100


def test_zero_hundred_earns_at_the_week_of_resolution_rebuilt_before_the_first_export():
    # One export, Sun 19 Jan: A done (resolved Fri 10 Jan), B in progress.
    items = [item("A", W2, "done", resolved=D(2025, 1, 10)), item("B", W2, "doing")]
    out = _ev([A, B], items)
    # 12 Jan is before the first export: rebuilt from A's resolution date (10 Jan, that week) = 1000.
    # B is never done: 0. EV 1000 every week; every week is reconstructable (0/100 is dated).
    assert _by_week(out) == {w: money(1000) for w in WEEKS}
    assert out.get_column("reconstructable").to_list() == [True] * 4
    assert out.schema["ev"] == pl.Decimal(18, 4)


def test_zero_hundred_item_reopened_in_a_later_export_loses_its_ev_from_that_week():
    items = [
        item("A", W2, "done", resolved=D(2025, 1, 14)),  # export of 19 Jan: done on Tue 14 Jan
        item("A", D(2025, 1, 29), "doing"),  # export of Wed 29 Jan (week of 2 Feb): reopened
    ]
    out = _ev([A], items)
    # 12 Jan: not yet resolved (14 Jan is in the next week): 0. 19 Jan and 26 Jan: 1000 (the 19 Jan export is in
    # force; the 29 Jan one is not yet). 2 Feb: the reopening export is in force: 0.
    assert _by_week(out) == {W1: money(0), W2: money(1000), W3: money(1000), W4: money(0)}


def test_a_week_between_two_exports_uses_the_older_one():
    items = [
        item("B", W1, "doing"),  # export of 12 Jan
        item("B", W4, "done", resolved=D(2025, 1, 22)),  # export of 2 Feb: done on Wed 22 Jan (week of 26 Jan)
    ]
    out = _ev([B], items)
    # 26 Jan is computed from the export true then (12 Jan: doing), not rebuilt from a later resolution: 0.
    # 2 Feb: done, 500.
    assert _by_week(out) == {W1: money(0), W2: money(0), W3: money(0), W4: money(500)}


def test_an_item_first_exported_later_does_not_change_a_week_already_covered_by_an_export():
    items = [
        *[item("A", w, "doing") for w in WEEKS],  # the project is exported every week from 12 Jan
        item("B", W4, "done", resolved=D(2025, 1, 22)),  # B first appears in the 2 Feb export, resolved 22 Jan
    ]
    out = _ev([A, B], items)
    # 26 Jan: the export in force (26 Jan) does not hold B, so B has earned nothing yet: EV 0.
    # 2 Feb: B done: 500. (Rebuilding 26 Jan from the later export would change a week already measured.)
    assert _by_week(out) == {W1: money(0), W2: money(0), W3: money(0), W4: money(500)}


def test_the_latest_export_within_a_week_is_the_one_in_force():
    items = [
        item("A", D(2025, 1, 14), "done", resolved=D(2025, 1, 14)),  # Tue: done
        item("A", D(2025, 1, 16), "doing"),  # Thu, same week: reopened
    ]
    out = _ev([A], items, weeks=[W1, W2])
    # The week of 19 Jan is measured on Thursday's export (doing): 0.
    assert _by_week(out) == {W1: money(0), W2: money(0)}


def test_done_without_a_resolution_date_counts_from_its_export():
    out = _ev([A], [item("A", W3, "done")])
    # No resolution date: done as of its export (26 Jan), never guessed earlier.
    assert _by_week(out) == {W1: money(0), W2: money(0), W3: money(1000), W4: money(1000)}


# ---------------------------------------------------------------------------------------------------- 50/50


def test_fifty_fifty_half_at_first_worklog_or_doing_half_at_done():
    items = [
        item("A", W2, "done", resolved=D(2025, 1, 16)),  # first worklog Tue 7 Jan, done Thu 16 Jan
        item("B", W2, "doing"),  # in progress in the export, no worklog
        item("C", W2, "todo"),  # not started
    ]
    logs = [worklog("w1", "A", D(2025, 1, 7), 8)]
    out = _ev([A, B, C], items, logs, technique="50/50")
    # 12 Jan (before the export): A started by its worklog: 1000 × 0.5 = 500; B's status is not dated: 0.
    # 19 Jan: A done 1000 + B doing 500 × 0.5 = 250 + C 0 = 1250.
    assert _by_week(out) == {W1: money(500), W2: money(1250), W3: money(1250), W4: money(1250)}
    assert out.get_column("reconstructable").to_list() == [True] * 4


# --------------------------------------------------------------------------------------------- % complete


def test_percent_complete_from_spent_and_remaining_and_null_before_the_first_export():
    items = [
        # Export of 19 Jan.
        item("A", W2, "doing", time_spent_h=30, remaining_estimate_h=10),
        item("B", W2, "doing", time_spent_h=0, remaining_estimate_h=0),
        item("C", W2, "done", time_spent_h=0, remaining_estimate_h=0, resolved=D(2025, 1, 17)),
        # Export of 2 Feb: A re-estimated, B fully spent.
        item("A", W4, "doing", time_spent_h=40, remaining_estimate_h=40),
        item("B", W4, "doing", time_spent_h=10, remaining_estimate_h=0),
        item("C", W4, "done", time_spent_h=0, remaining_estimate_h=0, resolved=D(2025, 1, 17)),
    ]
    out = _ev([A, B, C], items, technique="percent_complete")
    # 12 Jan: before the project's first export: not reconstructable, EV NULL (never today's value).
    # 19 Jan: A 1000 × (1 − 10/40) = 750; B both 0 and not done: 0; C both 0 and done: 200. EV 950.
    # 26 Jan: the 19 Jan export: 950. 2 Feb: A 1000 × (1 − 40/80) = 500; B 500 × (1 − 0/10) = 500; C 200 = 1200.
    assert _by_week(out) == {W1: None, W2: money(950), W3: money(950), W4: money(1200)}
    assert _by_week(out, "reconstructable") == {W1: False, W2: True, W3: True, W4: True}


def test_percent_complete_is_capped_to_zero_and_one():
    items = [
        item("A", W1, "doing", time_spent_h=-5, remaining_estimate_h=10),  # 1 − 10/5 = −1 → 0
        item("B", W1, "doing", time_spent_h=10, remaining_estimate_h=-5),  # 1 − (−5)/5 = 2 → 1
    ]
    out = _ev([A, B], items, technique="percent_complete", weeks=[W1])
    # A 1000 × 0 + B 500 × 1 = 500.
    assert _by_week(out) == {W1: money(500)}


# --------------------------------------------------------------------------------------- weighted milestones


def test_weighted_milestones_earn_the_parent_budget_by_weight_share():
    elements = [
        element("WP", 1000, D(2025, 1, 6), D(2025, 1, 31), ev_technique="weighted_milestones"),
        element("M1", 0, D(2025, 1, 17), D(2025, 1, 17), parent_key="WP", weight=2.0, is_milestone=True),
        element("M2", 0, D(2025, 1, 31), D(2025, 1, 31), parent_key="WP", weight=3.0, is_milestone=True),
    ]
    items = [
        item("M1", W2, "done", resolved=D(2025, 1, 14), type="Milestone"),
        item("M2", W2, "todo", type="Milestone"),
        item("M2", W4, "done", resolved=D(2025, 1, 30), type="Milestone"),
    ]
    out = _ev(elements, items, bac=1000)
    # Weights 2 and 3: shares 2/5 and 3/5 of the work package's 1000.
    # 12 Jan: no milestone reached: 0. 19 Jan: M1 reached (14 Jan): 400. 26 Jan: 400. 2 Feb: + M2 600 = 1000.
    assert _by_week(out) == {W1: money(0), W2: money(400), W3: money(400), W4: money(1000)}


# ------------------------------------------------------------------------------------------ level of effort


def test_level_of_effort_earns_its_planned_value():
    loe = element("L", 500, D(2025, 1, 6), D(2025, 1, 17), ev_technique="level_of_effort")
    loe_pv = planned_value(rows("baselines", loe), rows("projects", project("P")), calendar())
    items = [item("L", W2, "todo"), item("A", W2, "done", resolved=D(2025, 1, 15))]
    out = _ev([A, loe], items, loe_pv=loe_pv)
    # L: 10 working days, 50 a day: 250 by 12 Jan, 500 from 19 Jan, whatever its status (EV = PV).
    # A (0/100) done on 15 Jan: + 1000 from 19 Jan.
    assert _by_week(out) == {W1: money(250), W2: money(1500), W3: money(1500), W4: money(1500)}


# -------------------------------------------------------------------------------------------------- AgileEVM


def test_agile_ev_is_points_done_over_points_planned_times_bac():
    sprints = [
        {"project_id": "P", "sprint": "S1", "start": D(2025, 1, 6), "finish": D(2025, 1, 17), "planned_points": 20},
        {"project_id": "P", "sprint": "S2", "start": D(2025, 1, 20), "finish": D(2025, 1, 31), "planned_points": 30},
    ]
    stories = [
        element("X", 0, D(2025, 1, 6), D(2025, 1, 17)),
        element("Y", 0, D(2025, 1, 20), D(2025, 1, 31)),
        element("Z", 0, D(2025, 1, 20), D(2025, 1, 31)),
    ]
    items = [
        item("X", W2, "done", resolved=D(2025, 1, 16), story_points=8),
        item("Y", W2, "doing", story_points=12),
        item("Z", W2, "todo", story_points=10),
        item("X", W4, "done", resolved=D(2025, 1, 16), story_points=8),
        item("Y", W4, "done", resolved=D(2025, 1, 29), story_points=12),
        item("Z", W4, "doing", story_points=10),
    ]
    out = _ev(stories, items, technique="agile", sprints=sprints, bac=10000)
    # Points planned 20 + 30 = 50; BAC 10000.
    # 12 Jan: before the first export (19 Jan): not reconstructable, NULL.
    # 19 Jan and 26 Jan: X 8 done: 8/50 × 10000 = 1600. 2 Feb: X + Y = 20/50 × 10000 = 4000.
    assert _by_week(out) == {W1: None, W2: money(1600), W3: money(1600), W4: money(4000)}
    assert _by_week(out, "reconstructable") == {W1: False, W2: True, W3: True, W4: True}


# ------------------------------------------------------------------------------------ choosing a technique


def test_technique_by_item_type_and_element_overriding_both():
    elements = [
        element("BUG", 1000, D(2025, 1, 6), D(2025, 1, 17)),  # a Bug: 50/50 by its type
        element("TASK", 600, D(2025, 1, 6), D(2025, 1, 17)),  # a Task: the project's 0/100
        element("OWN", 400, D(2025, 1, 6), D(2025, 1, 17), ev_technique="50/50"),  # its own 50/50 over Task's
        element("PIN", 800, D(2025, 1, 6), D(2025, 1, 17), ev_technique="0/100"),  # its own 0/100 over Bug's
    ]
    items = [
        item("BUG", W2, "doing", type="Bug"),
        item("TASK", W2, "doing", type="Task"),
        item("OWN", W2, "doing", type="Task"),
        item("PIN", W2, "doing", type="Bug"),
    ]
    out = _ev(elements, items, techniques={"Bug": "50/50"}, weeks=[W2])
    # BUG 1000 × 0.5 = 500; TASK 0; OWN 400 × 0.5 = 200; PIN 0. EV 700.
    assert _by_week(out) == {W2: money(700)}


def test_project_technique_applies_without_type_or_element_technique():
    items = [item("A", W2, "doing"), item("B", W2, "doing")]
    # 50/50 project: both started (doing): 1000 × 0.5 + 500 × 0.5 = 750. 0/100 project: nothing done: 0.
    assert _by_week(_ev([A, B], items, technique="50/50", weeks=[W2])) == {W2: money(750)}
    assert _by_week(_ev([A, B], items, technique="0/100", weeks=[W2])) == {W2: money(0)}


def test_one_row_per_grid_row_sorted():
    out = _ev([A], [item("A", W2, "doing")])
    assert out.columns == ["project_id", "status_date", "baseline_version", "ev", "reconstructable"]
    assert out.get_column("status_date").to_list() == WEEKS


# ------------------------------------------------------------------------------ kept from one run to the next


def _state(elements, items, digests, prior=None):
    """The progress of projects P and Q (0/100) with the given digests, and their EV at W1..W4."""
    elements = rows("baselines", *elements)
    projects = rows("projects", project("P"), project("Q"))
    digests = pl.DataFrame({"project_id": list(digests), "digest": list(digests.values())},
                           schema={"project_id": pl.String, "digest": pl.String})  # fmt: skip
    state = progress(elements=elements, projects=projects, work_items=rows("work_items", *items),
                     worklogs=rows("worklogs"), digests=digests, prior=prior)  # fmt: skip
    grid = pl.DataFrame(
        {"project_id": ["P"] * 4 + ["Q"] * 4, "status_date": WEEKS * 2, "baseline_version": 1, "bac": money(0)},
        schema={"project_id": pl.String, "status_date": pl.Date, "baseline_version": pl.Int64,
                "bac": pl.Decimal(18, 4)},
    )  # fmt: skip
    ev = earned_value(grid=grid, progress=state, projects=projects, sprints=rows("sprints"), loe_pv=NO_LOE)
    by_project = {p: _by_week(ev.filter(pl.col("project_id") == p)) for p in ("P", "Q")}
    return state, by_project


def test_a_project_whose_digest_is_unchanged_keeps_its_progress_and_the_others_are_computed_again():
    elements = [A, element("Q1", 300, D(2025, 1, 6), D(2025, 1, 17), project_id="Q")]
    items = [item("A", W2, "done", resolved=D(2025, 1, 15)), item("Q1", W2, "doing")]
    state, ev = _state(elements, items, {"P": "p1", "Q": "q1"})
    # P: A (1000) resolved 15 Jan, week of 19 Jan. Q: Q1 (300) in progress, nothing earned (0/100).
    assert ev == {"P": {W1: 0, W2: 1000, W3: 1000, W4: 1000}, "Q": {W1: 0, W2: 0, W3: 0, W4: 0}}
    assert state.filter(pl.col("part") == "inputs").select("project_id", "digest").rows() == [("P", "p1"), ("Q", "q1")]
    # Q1's export changes nothing Q earns: a change of 0.
    assert state.filter(pl.col("part") == "ev").select("project_id", "wk", "ev").rows() == [
        ("P", W2, money(1000)), ("Q", W2, money(0))
    ]  # fmt: skip

    # The prior's P rows altered: P's digest is unchanged, so they are what its EV reads (not computed again).
    altered = state.with_columns(
        ev=pl.when((pl.col("project_id") == "P") & (pl.col("part") == "ev")).then(money(7)).otherwise("ev")
    )
    # Q1 done in the week of 2 Feb; Q's digest changes with it: Q is computed again from its new exports.
    later = [*items, item("A", W4, "done", resolved=D(2025, 1, 15)), item("Q1", W4, "done", resolved=D(2025, 1, 29))]
    kept, ev = _state(elements, later, {"P": "p1", "Q": "q2"}, prior=altered)
    assert ev == {"P": {W1: 0, W2: 7, W3: 7, W4: 7}, "Q": {W1: 0, W2: 0, W3: 0, W4: 300}}

    # Every digest new: both computed again, as from nothing (P's A is resolved in the week of 19 Jan again).
    fresh, ev = _state(elements, later, {"P": "p2", "Q": "q2"}, prior=altered)
    assert ev == {"P": {W1: 0, W2: 1000, W3: 1000, W4: 1000}, "Q": {W1: 0, W2: 0, W3: 0, W4: 300}}
    assert fresh.equals(_state(elements, later, {"P": "p2", "Q": "q2"})[0])
    assert kept.filter(pl.col("project_id") == "Q").equals(fresh.filter(pl.col("project_id") == "Q"))


def test_a_prior_without_digests_or_of_a_project_gone_is_not_kept():
    elements = [A, element("Q1", 300, D(2025, 1, 6), D(2025, 1, 17), project_id="Q")]
    items = [item("A", W2, "done", resolved=D(2025, 1, 15)), item("Q1", W3, "done", resolved=D(2025, 1, 22))]
    state, _ = _state(elements, items, {"P": None, "Q": "q1"})
    altered = state.with_columns(ev=pl.lit(money(7)))
    # P had no digest: computed again though its digest is still none; Q's is unchanged: kept (7).
    _, ev = _state(elements, items, {"P": None, "Q": "q1"}, prior=altered)
    assert ev == {"P": {W1: 0, W2: 1000, W3: 1000, W4: 1000}, "Q": {W1: 0, W2: 0, W3: 7, W4: 7}}
    # A project no longer measured (not in `projects`) leaves no rows behind.
    only_p = progress(elements=rows("baselines", A), projects=rows("projects", project("P")),
                      work_items=rows("work_items", *items), worklogs=rows("worklogs"),
                      digests=pl.DataFrame({"project_id": ["P"], "digest": ["p1"]}), prior=state)  # fmt: skip
    assert set(only_p.get_column("project_id")) == {"P"}


def test_progress_reads_only_the_columns_its_digests_are_of():
    from transforms.progress import READS

    def only(table, records, keep):
        return rows(table, *records).select("project_id", *keep)

    # every other column dropped: a column read and not in READS would fail here (and escape the digests)
    elements = [A, element("M", 0, D(2025, 1, 6), D(2025, 1, 17), parent_key="A", ev_technique="0/100")]
    items = [item("A", W2, "done", resolved=D(2025, 1, 15), story_points=3), item("M", W2, "doing")]
    full = progress(elements=rows("baselines", *elements), projects=rows("projects", project("P")),
                    work_items=rows("work_items", *items), worklogs=rows("worklogs"))  # fmt: skip
    narrow = progress(
        elements=only("baselines", elements, READS["elements"]),
        projects=only("projects", [project("P")], READS["projects"]),
        work_items=rows("work_items", *items).select(READS["work_items"]),
        worklogs=rows("worklogs").select(READS["worklogs"]),
    )  # fmt: skip
    assert narrow.equals(full) and narrow.filter(pl.col("part") == "ev").height > 0
