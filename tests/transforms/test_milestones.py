"""Milestone and due-date variance on a hand-computed project (arithmetic in the comments).

Calendar "default": Monday to Friday, Tuesday 6 January 2026 a holiday. Working days counted from 1 Jan (wd):
Thu 1 → 1, Fri 2 → 2, Mon 5 → 3, (Tue 6 holiday) Wed 7 → 4, Thu 8 → 5, Fri 9 → 6, Mon 12 → 7, Wed 14 → 9,
Fri 16 → 11, Tue 20 → 13, Fri 23 → 16, Tue 27 → 18, Wed 28 → 19, Fri 30 → 21; a weekend day has its Friday's count.
Status dates: Sundays 4 (wd 2), 11 (wd 6), 18 (wd 11), 25 (wd 16) January. Exports on Wednesdays 7 and 21 January.
Baseline v1 in force from 1 Jan; v2 from Sunday 18 Jan moves M4 from Fri 9 to Wed 28 Jan.
"""

import datetime as dt

import polars as pl
import pytest

from transforms.calendar import working_day_index
from transforms.milestones import HISTORY_COLUMNS, SLIPS_COLUMNS, VARIANCE_COLUMNS, milestone_variance

D = dt.date
SUNDAYS = [D(2026, 1, 4), D(2026, 1, 11), D(2026, 1, 18), D(2026, 1, 25)]
W1, W2 = D(2026, 1, 7), D(2026, 1, 21)

HOLIDAYS = pl.DataFrame({"calendar_id": ["default"], "date": [D(2026, 1, 6)], "holiday": ["Epiphany"]})
CAL = working_day_index(HOLIDAYS, ["default", "plain"], D(2026, 1, 1), D(2026, 3, 31))

# element: (planned finish in v1, in v2, is_milestone)
ELEMENTS = {
    "M1": (D(2026, 1, 2), D(2026, 1, 2), True),
    "M2": (D(2026, 1, 16), D(2026, 1, 16), True),
    "M3": (D(2026, 1, 9), D(2026, 1, 9), True),
    "M4": (D(2026, 1, 9), D(2026, 1, 28), True),  # rebaselined
    "M6": (D(2026, 1, 30), D(2026, 1, 30), True),  # no work item at all
    "X1": (D(2026, 1, 16), D(2026, 1, 16), False),  # not a milestone, no due date: not tracked
    "X3": (D(2026, 1, 16), D(2026, 1, 16), False),  # not a milestone but due-dated: tracked, baseline = element
}
# work item: [(snapshot, status_category, resolved, due)]
ITEMS = {
    "M1": [(W1, "done", D(2026, 1, 7), D(2026, 1, 2)), (W2, "done", D(2026, 1, 7), D(2026, 1, 2))],
    "M2": [(W1, "doing", None, D(2026, 1, 16)), (W2, "done", D(2026, 1, 14), D(2026, 1, 16))],
    "M3": [(W1, "doing", None, D(2026, 1, 9)), (W2, "doing", None, D(2026, 1, 9))],
    "M4": [(W1, "doing", None, D(2026, 1, 28)), (W2, "doing", None, D(2026, 1, 28))],
    "M5": [(W1, "todo", None, D(2026, 1, 14)), (W2, "doing", None, D(2026, 1, 27))],  # not in the baseline
    "X1": [(W1, "doing", None, None)],
    "X2": [(W1, "doing", None, None)],  # neither in the baseline nor due-dated
    "X3": [(W1, "doing", None, D(2026, 1, 20)), (W2, "doing", None, D(2026, 1, 20))],
}


def _elements(project="P"):
    rows = [
        (project, version, start, key, finish[version - 1], milestone)
        for key, (*finish, milestone) in ELEMENTS.items()
        for version, start in ((1, D(2026, 1, 1)), (2, D(2026, 1, 18)))
    ]
    cols = ["project_id", "baseline_version", "effective_from", "element_key", "planned_finish", "is_milestone"]
    return pl.DataFrame(rows, schema=cols, orient="row")


def _work_items(project="P"):
    rows = [
        (key, snap, project, category, resolved, due, None, f"summary {key}")
        for key, snaps in ITEMS.items()
        for snap, category, resolved, due in snaps
    ]
    cols = ["item_key", "snapshot_date", "project_id", "status_category", "resolved", "due", "is_milestone", "summary"]
    return pl.DataFrame(rows, schema=cols, orient="row", schema_overrides={"is_milestone": pl.Boolean})


def _run(as_of, calendar="default"):
    return milestone_variance(
        elements=_elements(),
        work_items=_work_items(),
        cal=CAL,
        projects=pl.DataFrame({"project_id": ["P"], "calendar_id": [calendar]}),
        grid=pl.DataFrame({"project_id": ["P"] * 4, "status_date": SUNDAYS}),
        as_of=as_of,
    )


def _by_item(frame):
    cols = ["baseline_version", "baseline_date", "forecast_date", "actual_date", "slip_working_days", "state"]
    return {r["item_key"]: tuple(r[c] for c in cols) for r in frame.iter_rows(named=True)}


def test_variance_at_the_as_of_date():
    variance, _, _ = _run(D(2026, 1, 25))  # v2 in force, the 21 Jan export in force
    assert variance.columns == list(VARIANCE_COLUMNS)
    assert _by_item(variance) == {
        # done Wed 7 Jan against Fri 2 Jan: across the weekend and the holiday, wd 4 − 2 = 2 (Mon 5, Wed 7)
        "M1": (2, D(2026, 1, 2), D(2026, 1, 2), D(2026, 1, 7), 2, "done_late"),
        # done Wed 14 Jan against Fri 16 Jan: wd 9 − 11 = −2 (early)
        "M2": (2, D(2026, 1, 16), D(2026, 1, 16), D(2026, 1, 14), -2, "done_on_time"),
        # not done, due Fri 9 Jan: overdue, slip to the status date wd(25 Jan) 16 − wd(9 Jan) 6 = 10
        "M3": (2, D(2026, 1, 9), D(2026, 1, 9), None, 10, "overdue"),
        # rebaselined to 28 Jan (v2), forecast 28 Jan: wd 19 − 19 = 0, on track
        "M4": (2, D(2026, 1, 28), D(2026, 1, 28), None, 0, "on_track"),
        # not in the baseline: baseline = the first export's due date 14 Jan; forecast 27 Jan: wd 18 − 9 = 9
        "M5": (None, D(2026, 1, 14), D(2026, 1, 27), None, 9, "slipped"),
        # no work item: no forecast, not yet due (30 Jan): no slip known
        "M6": (2, D(2026, 1, 30), None, None, None, "on_track"),
        # in the baseline (16 Jan), forecast 20 Jan passed: overdue, wd(25 Jan) 16 − wd(16 Jan) 11 = 5
        "X3": (2, D(2026, 1, 16), D(2026, 1, 20), None, 5, "overdue"),
    }
    flags = dict(variance.select("item_key", "is_milestone").rows())
    assert flags == {"M1": True, "M2": True, "M3": True, "M4": True, "M5": False, "M6": True, "X3": False}
    assert variance["in_baseline"].to_list() == [True, True, True, True, False, True, True]


def test_rebaselined_milestone_takes_the_baseline_date_of_the_version_in_force():
    before, _, _ = _run(D(2026, 1, 11))  # v1 in force: M4 due 9 Jan in the baseline, forecast 28 Jan
    after, _, _ = _run(D(2026, 1, 25))  # v2 in force: M4 due 28 Jan
    # v1: wd(28 Jan) 19 − wd(9 Jan) 6 = 13 working days slipped; v2: 19 − 19 = 0
    assert _by_item(before)["M4"] == (1, D(2026, 1, 9), D(2026, 1, 28), None, 13, "slipped")
    assert _by_item(after)["M4"] == (2, D(2026, 1, 28), D(2026, 1, 28), None, 0, "on_track")


def test_overdue_across_a_weekend_has_no_working_day_slip_yet():
    variance, _, _ = _run(D(2026, 1, 11))
    # M3 due Fri 9 Jan, open on Sun 11 Jan: overdue, but wd(11 Jan) 6 − wd(9 Jan) 6 = 0 working days
    assert _by_item(variance)["M3"] == (1, D(2026, 1, 9), D(2026, 1, 9), None, 0, "overdue")


def test_slip_uses_the_projects_calendar():
    variance, _, _ = _run(D(2026, 1, 25), calendar="plain")  # no holiday on 6 Jan
    # M1: Fri 2 → Wed 7 is Mon 5, Tue 6, Wed 7 = 3 working days without the holiday (2 with it)
    assert _by_item(variance)["M1"][4] == 3


def test_weekly_slips():
    _, slips, _ = _run(D(2026, 1, 25))
    assert slips.columns == list(SLIPS_COLUMNS)
    rows = slips.select("status_date", "items", "items_due", "slipped", "overdue", "done_late", "slipped_change").rows()
    assert rows == [
        # 4 Jan, before any export: only the baseline milestones M1 M2 M3 M4 M6 (5); M1 due 2 Jan, not resolved
        # until 7 Jan, so due and overdue; no forecasts yet, nothing slipped
        (D(2026, 1, 4), 5, 1, 0, 1, 0, None),
        # 11 Jan (v1, 7 Jan export): + M5, X3 = 7; due M1 M3 M4(9 Jan) = 3; slipped M1 (late), M4 (28 > 9),
        # X3 (20 > 16) = 3; overdue M3 = 1; done late M1; change 3 − 0 = 3
        (D(2026, 1, 11), 7, 3, 3, 1, 1, 3),
        # 18 Jan (v2 from today, 7 Jan export still in force): due M1 M2 M3 M5 X3 = 5 (M4 now 28 Jan);
        # slipped M1, X3 = 2; overdue M2 (16), M3 (9), M5 (14) = 3 (M2's 14 Jan resolution is only exported
        # on 21 Jan); change 2 − 3 = −1
        (D(2026, 1, 18), 7, 5, 2, 3, 1, -1),
        # 25 Jan (21 Jan export): slipped M1, M5 (27 > 14), X3 = 3; overdue M3, X3 (20) = 2; change +1
        (D(2026, 1, 25), 7, 5, 3, 2, 1, 1),
    ]
    means = slips["mean_slip_working_days"].to_list()
    # 4 Jan: M1 overdue wd(4 Jan) 2 − wd(2 Jan) 2 = 0, the only known slip → 0 / 1
    # 11 Jan: M1 2, M2 0, M3 0, M4 13, M5 0, X3 2 (M6 unknown) → 17 / 6
    # 18 Jan: M1 2, M2 11 − 11 = 0, M3 11 − 6 = 5, M4 0, M5 11 − 9 = 2, X3 13 − 11 = 2 → 11 / 6
    # 25 Jan: M1 2, M2 −2, M3 10, M4 0, M5 9, X3 5 → 24 / 6 = 4
    assert means == pytest.approx([0.0, 17 / 6, 11 / 6, 4.0])


def test_weekly_slips_agree_with_the_variance_evaluated_at_each_week():
    _, slips, _ = _run(D(2026, 1, 25))
    for week in SUNDAYS:
        variance, _, _ = _run(week)
        by_state = variance["state"].value_counts()
        counts = dict(by_state.rows())
        row = slips.filter(pl.col("status_date") == week).row(0, named=True)
        assert row["items"] == variance.height
        assert row["items_due"] == variance.filter(pl.col("baseline_date") <= week).height
        assert row["overdue"] == counts.get("overdue", 0)
        assert row["done_late"] == counts.get("done_late", 0)
        slipped = variance.filter(
            pl.coalesce(pl.col("actual_date"), pl.col("forecast_date")) > pl.col("baseline_date")
        ).height
        assert row["slipped"] == slipped
        assert row["mean_slip_working_days"] == pytest.approx(variance["slip_working_days"].mean())


def test_milestone_history_is_the_trend_of_each_milestone_week_by_week():
    *_, history = _run(D(2026, 1, 25))
    assert history.columns == list(HISTORY_COLUMNS)
    # The milestones only: M5 and X3 are due-dated items, not milestones (they stay in milestone_variance).
    assert sorted(set(history["item_key"])) == ["M1", "M2", "M3", "M4", "M6"]
    cols = ["status_date", "baseline_version", "baseline_date", "forecast_date", "slip_working_days", "state"]
    trend = {k: history.filter(pl.col("item_key") == k).select(cols).rows() for k in ("M1", "M3", "M4")}
    assert trend["M4"] == [
        # 4 Jan, before its first export: no forecast yet, due 9 Jan (v1) not passed: on track, no slip known
        (D(2026, 1, 4), 1, D(2026, 1, 9), None, None, "on_track"),
        # 11 Jan: the 7 Jan export forecasts 28 Jan against v1's 9 Jan: wd 19 − 6 = 13 working days slipped
        (D(2026, 1, 11), 1, D(2026, 1, 9), D(2026, 1, 28), 13, "slipped"),
        # 18 Jan: v2 (from 18 Jan) moves the baseline to 28 Jan: wd 19 − 19 = 0
        (D(2026, 1, 18), 2, D(2026, 1, 28), D(2026, 1, 28), 0, "on_track"),
        (D(2026, 1, 25), 2, D(2026, 1, 28), D(2026, 1, 28), 0, "on_track"),
    ]
    # M3 due Fri 9 Jan, never done: overdue from 11 Jan, its slip growing with the status date:
    # wd(11 Jan) 6 − 6 = 0, wd(18 Jan) 11 − 6 = 5, wd(25 Jan) 16 − 6 = 10
    assert [(r[0], r[4], r[5]) for r in trend["M3"]] == [
        (D(2026, 1, 4), None, "on_track"), (D(2026, 1, 11), 0, "overdue"), (D(2026, 1, 18), 5, "overdue"),
        (D(2026, 1, 25), 10, "overdue"),
    ]  # fmt: skip
    # M1 due Fri 2 Jan, resolved Wed 7 Jan: overdue on 4 Jan (wd 2 − 2 = 0), then done late, wd 4 − 2 = 2
    assert [(r[0], r[4], r[5]) for r in trend["M1"]] == [
        (D(2026, 1, 4), 0, "overdue"), (D(2026, 1, 11), 2, "done_late"), (D(2026, 1, 18), 2, "done_late"),
        (D(2026, 1, 25), 2, "done_late"),
    ]  # fmt: skip


def test_milestone_history_of_a_week_is_the_variance_of_that_week():
    *_, history = _run(D(2026, 1, 25))
    shared = [c for c in HISTORY_COLUMNS if c != "status_date"]
    for week in SUNDAYS:
        variance, _, _ = _run(week)
        expected = variance.filter(pl.col("is_milestone")).select(shared)
        assert history.filter(pl.col("status_date") == week).select(shared).equals(expected), week


def test_milestone_history_stops_at_the_as_of_date():
    *_, history = _run(D(2026, 1, 18))
    assert sorted(set(history["status_date"])) == SUNDAYS[:3]


def test_no_slip_known_gives_a_null_mean_not_zero():
    _, slips, _ = milestone_variance(
        elements=_elements().filter(pl.col("element_key") == "M6"),
        work_items=_work_items().clear(),
        cal=CAL,
        projects=pl.DataFrame(
            {"project_id": ["P"], "calendar_id": [None]}, schema_overrides={"calendar_id": pl.String}
        ),
        grid=pl.DataFrame({"project_id": ["P"] * 2, "status_date": SUNDAYS[:2]}),
        as_of=SUNDAYS[1],
    )
    # M6 is due 30 Jan and has no forecast: tracked, not due, no slip → mean NULL
    assert slips.select("items", "items_due", "mean_slip_working_days").rows() == [(1, 0, None), (1, 0, None)]


def test_dates_before_the_first_export_and_a_target_on_the_status_date():
    # M8: due Sun 18 Jan, exported on 7 and 21 Jan, open. M9: due Fri 9 Jan, first exported on 21 Jan as done,
    # resolved Mon 12 Jan: the weeks before that export are rebuilt from its resolution date.
    elements = pl.DataFrame(
        {
            "project_id": ["P", "P"], "baseline_version": [1, 1], "effective_from": [D(2026, 1, 1)] * 2,
            "element_key": ["M8", "M9"], "planned_finish": [D(2026, 1, 18), D(2026, 1, 9)], "is_milestone": [True] * 2,
        }
    )  # fmt: skip
    items = pl.DataFrame(
        [
            ("M8", W1, "P", "doing", None, D(2026, 1, 18), None, "m8"),
            ("M8", W2, "P", "doing", None, D(2026, 1, 18), None, "m8"),
            ("M9", W2, "P", "done", D(2026, 1, 12), D(2026, 1, 9), None, "m9"),
        ],
        schema=list(_work_items().columns),
        orient="row",
        schema_overrides={"is_milestone": pl.Boolean},
    )
    kwargs = {
        "elements": elements, "work_items": items, "cal": CAL,
        "projects": pl.DataFrame({"project_id": ["P"], "calendar_id": ["default"]}),
        "grid": pl.DataFrame({"project_id": ["P"] * 4, "status_date": SUNDAYS}),
    }  # fmt: skip
    variance, _, _ = milestone_variance(**kwargs, as_of=SUNDAYS[2])
    assert _by_item(variance) == {
        # due on the status date itself and open at its end: not past it yet; wd 11 − 11 = 0
        "M8": (1, D(2026, 1, 18), D(2026, 1, 18), None, 0, "on_track"),
        # rebuilt: done Mon 12 Jan (before its first export), no forecast known then; wd 7 − wd(9 Jan) 6 = 1
        "M9": (1, D(2026, 1, 9), None, D(2026, 1, 12), 1, "done_late"),
    }
    _, slips, _ = milestone_variance(**kwargs, as_of=SUNDAYS[3])
    assert slips.select("status_date", "items_due", "slipped", "overdue", "done_late").rows() == [
        (D(2026, 1, 4), 0, 0, 0, 0),
        (D(2026, 1, 11), 1, 0, 1, 0),  # M9 past 9 Jan, not resolved until 12 Jan: overdue
        (D(2026, 1, 18), 2, 1, 0, 1),  # M9 done late (12 > 9); M8 due today, not overdue yet
        (D(2026, 1, 25), 2, 1, 1, 1),  # M8 overdue from the week after its due date
    ]
    # 4 Jan: no slip known → NULL; 11 Jan: M8 forecast 0, M9 overdue wd(11) 6 − 6 = 0 → 0 / 2;
    # 18 Jan: M8 0, M9 1 → 1 / 2; 25 Jan: M8 overdue wd(25) 16 − wd(18) 11 = 5, M9 1 → 6 / 2 = 3
    assert slips["mean_slip_working_days"].to_list() == [None, 0.0, 0.5, 3.0]


def test_items_come_out_in_project_and_item_order_whatever_the_order_they_came_in():
    # Two projects given in reverse (Q before P), their rows reversed; Q's keys prefixed "A" so that they sort before
    # P's. The rows come out in (project_id, item_key) order, the mart's key, as numbered, without a sort of strings.
    renamed = {"element_key": pl.lit("A") + pl.col("element_key")}
    elements = pl.concat([_elements("Q").with_columns(**renamed), _elements("P")]).reverse()
    items = pl.concat([_work_items("Q").with_columns(item_key=pl.lit("A") + pl.col("item_key")), _work_items("P")])
    variance, slips, _ = milestone_variance(
        elements=elements,
        work_items=items.reverse(),
        cal=CAL,
        projects=pl.DataFrame({"project_id": ["Q", "P"], "calendar_id": ["default", "default"]}),
        grid=pl.DataFrame({"project_id": ["Q"] * 4 + ["P"] * 4, "status_date": SUNDAYS[::-1] * 2}),
        as_of=D(2026, 1, 25),
    )
    keys = variance.select("project_id", "item_key").rows()
    assert keys == sorted(keys)
    assert len(keys) == 14  # 7 tracked items each
    assert variance.filter(pl.col("project_id") == "Q")["item_key"].to_list()[0] == "AM1"
    assert slips.select("project_id", "status_date").rows() == sorted(slips.select("project_id", "status_date").rows())
