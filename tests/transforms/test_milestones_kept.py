"""Milestone rows kept from one run to the next (transforms/milestones.py `kept_projects`, `Kept`): a project whose
inputs and dates allow it is carried forward from its earlier rows, and what comes out is what computing it again
gives, row for row. The digests come from `digests_sql` run by DuckDB over the same frames."""

import datetime as dt
import random

import duckdb
import polars as pl
import pytest

from transforms.calendar import working_day_index
from transforms.milestones import READS, STATE_COLUMNS, Kept, digests_sql, kept_projects, milestone_variance

D = dt.date
HOLIDAYS = pl.DataFrame({"calendar_id": ["default"], "date": [D(2026, 1, 6)], "holiday": ["Epiphany"]})
CAL = working_day_index(HOLIDAYS, ["default", "plain"], D(2025, 12, 1), D(2026, 6, 30))
SUNDAYS = [D(2026, 1, 4) + dt.timedelta(weeks=w) for w in range(16)]
ELEMENT_COLUMNS = ["project_id", "baseline_version", "effective_from", "element_key", "planned_finish", "is_milestone"]
# The inputs hold only the columns the digests are of (READS), as the pipeline reads them: a column milestones read
# and READS lacks fails here.
ITEM_COLUMNS = ["item_key", "snapshot_date", "project_id", "status_category", "resolved", "due", "is_milestone",
                "summary"]  # fmt: skip


def test_the_inputs_here_are_the_columns_the_digests_are_of():
    assert ["project_id", *READS["elements"]] == ELEMENT_COLUMNS and READS["work_items"] == ITEM_COLUMNS


def _portfolio(seed: int) -> dict:
    """Four projects on two calendars, two baseline versions each, forty items with one to three exports; items
    move between projects, some milestones have no ticket and some tickets no due date."""
    rnd = random.Random(seed)
    # exports, resolutions and versions in the first ten weeks, planned and due dates over sixteen
    day = lambda weeks=16: D(2026, 1, 1) + dt.timedelta(days=rnd.randrange(7 * weeks))  # noqa: E731
    projects = ["P0", "P1", "P2", "P3"]
    elements, items = [], []
    for p in projects:
        second = day(10)
        for _ in range(6):
            key = f"I{rnd.randrange(40):02d}"
            finish, milestone = day(), rnd.choice([True, True, False, None])
            for version, start in ((1, D(2026, 1, 1)), (2, second)):
                moved = day() if version == 2 and rnd.random() < 0.3 else finish
                elements.append((p, version, start, key, moved, milestone))
    for n in range(40):
        project, due = rnd.choice(projects), (day() if rnd.random() < 0.8 else None)
        for snapshot in sorted({day(10) for _ in range(rnd.randint(1, 3))}):
            category = rnd.choice(["todo", "doing", "done", "done"])
            resolved = day(10) if category == "done" and rnd.random() < 0.9 else None
            if rnd.random() < 0.15:
                project = rnd.choice(projects)
            if rnd.random() < 0.3:
                due = day()
            items.append((f"I{n:02d}", snapshot, project, category, resolved, due, rnd.choice([None, True]), f"s{n}"))
    firsts = {p: rnd.choice(SUNDAYS[:3]) for p in projects}
    return {
        "elements": pl.DataFrame(elements, schema=ELEMENT_COLUMNS, orient="row").unique(
            ["project_id", "baseline_version", "element_key"], keep="first", maintain_order=True
        ),
        "work_items": pl.DataFrame(
            items, schema=ITEM_COLUMNS, orient="row", schema_overrides={"is_milestone": pl.Boolean}
        ),  # fmt: skip
        "projects": pl.DataFrame({"project_id": projects, "calendar_id": ["default", "plain", None, "default"]}),
        "grid": pl.DataFrame(
            [(p, s) for p in projects for s in SUNDAYS if s >= firsts[p]],
            schema=["project_id", "status_date"],
            orient="row",
        ),  # fmt: skip
    }


def _digests(inputs: dict, as_of: dt.date) -> pl.DataFrame:
    elements = inputs["elements"]
    versions = elements.group_by("project_id", "baseline_version").agg(pl.col("effective_from").min())
    with duckdb.connect() as conn:
        for name, frame in {"baselines": elements, "frozen": elements.clear(), "versions": versions,
                            "projects": inputs["projects"], "work_items": inputs["work_items"]}.items():  # fmt: skip
            conn.register(name, frame)
        sql = digests_sql(baselines="baselines", frozen_elements="frozen", versions="versions", projects="projects",
                          work_items="work_items", shared="code")  # fmt: skip
        return conn.sql(sql, params={"as_of": as_of}).pl()


def _run(inputs: dict, as_of: dt.date, kept: Kept | None = None):
    return milestone_variance(**inputs, cal=CAL, as_of=as_of, kept=kept)


def _carry(inputs: dict, before: dt.date, after: dt.date):
    """The run at `after` keeping what `kept_projects` allows of the run at `before` (inputs unchanged), the kept
    projects, and the run at `after` computing every project."""
    earlier = _run(inputs, before)
    state = _digests(inputs, before).select("project_id", pl.lit(before).alias("as_of"), "digest")
    state = state.select([pl.col(c).cast(t) for c, t in STATE_COLUMNS.items()])
    ids = kept_projects(_digests(inputs, after), state, earlier[1], inputs["grid"], after)
    of = lambda frame: frame.filter(pl.col("project_id").is_in(ids.implode()))  # noqa: E731
    kept = Kept(state=of(state), variance=of(earlier[0]), slips=of(earlier[1]), history=of(earlier[2]),
                grid=of(inputs["grid"]))  # fmt: skip
    return _run(inputs, after, kept), ids, _run(inputs, after)


@pytest.mark.parametrize("seed", range(40))
def test_carried_forward_rows_are_those_computed_again(seed):
    inputs = _portfolio(seed)
    rnd = random.Random(seed)
    before = rnd.choice(SUNDAYS[4:13])
    after = before + dt.timedelta(weeks=rnd.choice([0, 1, 1, 2]))
    carried, ids, again = _carry(inputs, before, after)
    for got, want in zip(carried, again, strict=True):
        assert got.equals(want), (ids.to_list(), got, want)


def test_the_random_cases_keep_projects_and_move_them_across_weeks():
    # The cases above must exercise what they test: over them, projects kept while weeks passed (not only reruns of
    # the same week), with items that fall overdue in between, and projects not kept.
    kept = moved = dropped = 0
    for seed in range(40):
        rnd = random.Random(seed)
        before = rnd.choice(SUNDAYS[4:13])
        after = before + dt.timedelta(weeks=rnd.choice([0, 1, 1, 2]))
        inputs = _portfolio(seed)
        carried, ids, _ = _carry(inputs, before, after)
        earlier = _run(inputs, before)[0].filter(pl.col("project_id").is_in(ids.implode()))
        now = carried[0].filter(pl.col("project_id").is_in(ids.implode()))
        kept += ids.len() * (after > before)
        moved += (
            earlier.join(now, on=["project_id", "item_key"])
            .filter((pl.col("state") != "overdue") & (pl.col("state_right") == "overdue"))
            .height
        )
        dropped += 4 - ids.len()
    assert kept >= 30 and moved >= 10 and dropped >= 30, (kept, moved, dropped)


def _fixture():
    """tests/transforms/test_milestones.py's project P (exports on 7 and 21 January, v2 from 18 January), its grid
    running to 8 February."""
    from tests.transforms.test_milestones import _elements, _work_items

    return {
        "elements": _elements(), "work_items": _work_items(),
        "projects": pl.DataFrame({"project_id": ["P"], "calendar_id": ["default"]}),
        "grid": pl.DataFrame({"project_id": ["P"] * 6, "status_date": SUNDAYS[:6]}),
    }  # fmt: skip


def test_a_project_with_an_export_since_is_computed_again():
    # The export of Wed 21 Jan falls after 18 Jan and on or before 25 Jan: not kept. From 25 Jan to 8 Feb nothing
    # happens (the latest date is 28 Jan's planned finish, not an event): kept, and 1 and 8 Feb come out as computed.
    inputs = _fixture()
    assert _carry(inputs, SUNDAYS[2], SUNDAYS[3])[1].to_list() == []
    carried, ids, again = _carry(inputs, SUNDAYS[3], SUNDAYS[5])
    assert ids.to_list() == ["P"]
    for got, want in zip(carried, again, strict=True):
        assert got.equals(want)
    # M4 (forecast Wed 28 Jan, on track on 25 Jan) is overdue on 1 Feb: wd(1 Feb) = wd(Fri 30 Jan) 21 − 19 = 2;
    # M3 (overdue since 9 Jan) slips on: wd(8 Feb) = wd(Fri 6 Feb) 26 − wd(9 Jan) 6 = 20.
    history = carried[2].filter(pl.col("status_date") >= SUNDAYS[4])
    rows = {
        (r["item_key"], r["status_date"]): (r["state"], r["slip_working_days"]) for r in history.iter_rows(named=True)
    }
    assert rows[("M4", SUNDAYS[4])] == ("overdue", 2)
    assert rows[("M3", SUNDAYS[5])] == ("overdue", 20)


def test_changed_inputs_or_weeks_are_not_kept():
    inputs = _fixture()
    earlier = _run(inputs, SUNDAYS[3])
    state = _digests(inputs, SUNDAYS[3]).with_columns(as_of=pl.lit(SUNDAYS[3]))
    state = state.select([pl.col(c).cast(t) for c, t in STATE_COLUMNS.items()])
    assert kept_projects(_digests(inputs, SUNDAYS[4]), state, earlier[1], inputs["grid"], SUNDAYS[4]).len() == 1
    # a due date edited in an export
    m3 = pl.col("item_key") == "M3"
    edited = inputs | {
        "work_items": inputs["work_items"].with_columns(
            due=pl.when(m3).then(pl.col("due") + pl.duration(days=1)).otherwise("due")
        )
    }
    assert kept_projects(_digests(edited, SUNDAYS[4]), state, earlier[1], inputs["grid"], SUNDAYS[4]).len() == 0
    # a status date gone from the weeks the rows were computed for
    fewer = inputs["grid"].filter(pl.col("status_date") != SUNDAYS[1])
    assert kept_projects(_digests(inputs, SUNDAYS[4]), state, earlier[1], fewer, SUNDAYS[4]).len() == 0
    # an earlier as-of date than the rows'
    assert kept_projects(_digests(inputs, SUNDAYS[2]), state, earlier[1], inputs["grid"], SUNDAYS[2]).len() == 0
    # a resolution dated after the rows' as-of date, in an export they already had
    fri = SUNDAYS[4] - dt.timedelta(days=2)
    late = inputs | {
        "work_items": inputs["work_items"].with_columns(resolved=pl.when(m3).then(fri).otherwise("resolved"))
    }
    state_late = _digests(late, SUNDAYS[3]).with_columns(as_of=pl.lit(SUNDAYS[3])).select(list(STATE_COLUMNS))
    assert kept_projects(_digests(late, SUNDAYS[4]), state_late, earlier[1], inputs["grid"], SUNDAYS[4]).len() == 0
