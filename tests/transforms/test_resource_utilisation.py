"""People's time on hand-computed cases (arithmetic in the comments), and on a real Harvest export.

Weeks end on Sundays: 4 Jan 2026 (Mon 29 Dec .. Sun 4 Jan) and 11 Jan 2026 (Mon 5 .. Sun 11 Jan).
Calendars: "default" has New Year's Day (Thu 1 Jan); "plain" has no holidays; "closed" is shut Mon 29 Dec .. Fri 2 Jan.
"""

import csv
import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from tests.staging_helpers import REALDATA, realdata, stage_realdata
from transforms import resolve
from transforms.canonical import empty
from transforms.capacity import weekly_capacity
from transforms.resource_utilisation import (
    PERSON_COLUMNS,
    PROJECT_SPLIT_COLUMNS,
    TEAM_COLUMNS,
    resource_utilisation,
    team_utilisation,
    utilisation_by_project,
)

D = dt.date
W1, W2 = D(2026, 1, 4), D(2026, 1, 11)
WEEKS = [W1, W2]
HOLIDAYS = pl.DataFrame(
    {
        "calendar_id": ["default"] + ["closed"] * 5,
        "date": [D(2026, 1, 1)] + [D(2025, 12, 29) + dt.timedelta(days=i) for i in range(5)],
    }
)
PEOPLE = pl.DataFrame(
    {
        "person_id": ["p1", "p2", "p3"],
        "team": ["apps", "apps", None],
        "contracted_hours_week": [Decimal("40"), Decimal("20"), None],
        "calendar_id": ["default", "plain", "closed"],
    },
    schema_overrides={"contracted_hours_week": pl.Decimal(18, 4)},
)
WORK_ITEMS = pl.DataFrame(
    {
        "item_key": ["J-1", "INC1", "G-1", "INC1"],
        "source_kind": ["jira", "servicenow", "glpi", "servicenow"],  # INC1 in two snapshots
        "snapshot_date": [W1, W1, W1, W2],
    }
)


def _worklogs():
    rows = [
        # p1, week of 4 Jan: 8 + 8 + 8 + 6 + 6 = 36 h on 4 projects
        ("p1", D(2025, 12, 29), "8", "P1", None),
        ("p1", D(2025, 12, 30), "8", "P2", None),
        ("p1", D(2025, 12, 31), "8", "P3", None),
        ("p1", D(2026, 1, 2), "6", "P4", None),
        ("p1", D(2026, 1, 3), "6", "P1", None),  # Saturday: weekend work counts in its week
        # p1, week of 11 Jan: project 10 + 2 = 12 on P1; operational 4 (a ServiceNow ticket) + 6 (no project) = 10
        ("p1", D(2026, 1, 5), "10", "P1", None),
        ("p1", D(2026, 1, 6), "4", "P2", "INC1"),  # a service-desk ticket is operational, whatever its project
        ("p1", D(2026, 1, 7), "6", None, None),
        ("p1", D(2026, 1, 11), "2", "P1", None),  # Sunday 11 Jan, the status date itself
        # p2, week of 4 Jan: 5 on a Jira item of P1 (project) + 5 on a GLPI ticket of P1 (operational) = 10
        ("p2", D(2026, 1, 4), "5", "P1", "J-1"),
        ("p2", D(2026, 1, 2), "5", "P1", "G-1"),
        # p3: 3 h on a Saturday of a week the calendar closed (0 h expected)
        ("p3", D(2026, 1, 3), "3", "P9", None),
        ("p1", D(2025, 12, 28), "9", "P1", None),  # Sunday 28 Dec: a week before the first: not counted
        ("p1", D(2026, 1, 12), "9", "P1", None),  # Monday 12 Jan: the week of 18 Jan: not counted
        (None, D(2026, 1, 5), "7", "P1", None),  # nobody known: not anyone's hours
    ]
    return pl.DataFrame(
        rows, schema=["person_id", "work_date", "hours", "project_id", "item_key"], orient="row"
    ).with_columns(pl.col("hours").cast(pl.Decimal(18, 4)))


def _people_weeks(**kwargs):
    return resource_utilisation(weekly_capacity(PEOPLE, HOLIDAYS, WEEKS), _worklogs(), WORK_ITEMS, **kwargs)


def _by_key(frame, *keys):
    return {tuple(r[k] for k in keys): r for r in frame.iter_rows(named=True)}


def test_capacity_with_a_holiday_and_over_allocation():
    out = _people_weeks()
    assert out.columns == list(PERSON_COLUMNS) and out.height == 3 * 2
    assert out.select("person_id", "status_date").rows() == sorted(out.select("person_id", "status_date").rows())
    p1 = _by_key(out, "person_id", "status_date")["p1", W1]
    # 40-h contract, New Year's Day off: 40 × 4 / 5 = 32 h; 36 h logged (the Saturday included): 36 / 32 = 1.125
    assert p1["capacity_hours"] == Decimal("32") and p1["logged_hours"] == Decimal("36")
    assert p1["utilisation"] == pytest.approx(1.125)
    assert p1["over_allocated"] is True


def test_four_projects_in_a_week_is_spread_thin_with_at_most_three():
    rows = _by_key(_people_weeks(), "person_id", "status_date")
    # p1, week of 4 Jan: P1, P2, P3, P4 = 4 projects > 3
    assert (rows["p1", W1]["projects"], rows["p1", W1]["spread_thin"]) == (4, True)
    # week of 11 Jan: only P1 is project work (P2's hours are on a ServiceNow ticket): 1 project
    assert (rows["p1", W2]["projects"], rows["p1", W2]["spread_thin"]) == (1, False)
    # with max_projects=4, 4 projects is not more than 4
    assert _by_key(_people_weeks(max_projects=4), "person_id", "status_date")["p1", W1]["spread_thin"] is False


def test_project_and_operational_split():
    rows = _by_key(_people_weeks(), "person_id", "status_date")
    p1 = rows["p1", W2]
    # project: 10 + 2 = 12 on P1; operational: 4 on ticket INC1 + 6 with no project = 10; logged 22; 22 / 40 = 0.55
    assert (p1["project_hours"], p1["operational_hours"], p1["logged_hours"]) == (
        Decimal("12"),
        Decimal("10"),
        Decimal("22"),
    )
    assert p1["capacity_hours"] == Decimal("40") and p1["utilisation"] == pytest.approx(0.55)
    assert p1["over_allocated"] is False
    p2 = rows["p2", W1]
    # Jira item J-1: project 5; GLPI ticket G-1: operational 5 although it maps to P1; 10 / 20 = 0.5; 1 project
    assert (p2["project_hours"], p2["operational_hours"], p2["projects"]) == (Decimal("5"), Decimal("5"), 1)
    assert p2["utilisation"] == pytest.approx(0.5)
    # p2 logs nothing in the week of 11 Jan: the row stays, 0 / 20 = 0
    assert (rows["p2", W2]["logged_hours"], rows["p2", W2]["utilisation"]) == (Decimal("0"), 0.0)


def test_no_capacity_gives_no_utilisation():
    p3 = _by_key(_people_weeks(), "person_id", "status_date")["p3", W1]
    # the calendar closed the whole week: 40 × 0 / 5 = 0 h expected; 3 h / 0 is undefined, not 0 nor over-allocated
    assert (p3["capacity_hours"], p3["logged_hours"]) == (Decimal("0"), Decimal("3"))
    assert p3["utilisation"] is None and p3["over_allocated"] is None


def test_split_across_projects():
    out = utilisation_by_project(_worklogs(), WEEKS, WORK_ITEMS)
    assert out.columns == list(PROJECT_SPLIT_COLUMNS)
    got = {
        (r["person_id"], r["status_date"], r["project_id"]): (r["hours"], r["share"]) for r in out.iter_rows(named=True)
    }
    assert set(got) == {
        ("p1", W1, "P1"), ("p1", W1, "P2"), ("p1", W1, "P3"), ("p1", W1, "P4"),
        ("p1", W2, "(operational)"), ("p1", W2, "P1"),
        ("p2", W1, "(operational)"), ("p2", W1, "P1"),
        ("p3", W1, "P9"),
    }  # fmt: skip
    # p1, week of 4 Jan: P1 8 + 6 = 14 of 36 = 0.3889; P4 6 / 36 = 0.1667
    assert got["p1", W1, "P1"][0] == Decimal("14") and got["p1", W1, "P1"][1] == pytest.approx(14 / 36)
    assert got["p1", W1, "P4"][1] == pytest.approx(6 / 36)
    # p1, week of 11 Jan: operational 4 + 6 = 10 of 22; P1 12 of 22
    assert got["p1", W2, "(operational)"] == (Decimal("10"), pytest.approx(10 / 22))
    assert got["p1", W2, "P1"] == (Decimal("12"), pytest.approx(12 / 22))
    # p2: 5 on P1 (J-1), 5 operational (G-1): half each
    assert got["p2", W1, "P1"][1] == pytest.approx(0.5) and got["p2", W1, "(operational)"][1] == pytest.approx(0.5)
    # the shares of each person-week add up to 1
    assert out.group_by("person_id", "status_date").agg(pl.col("share").sum())["share"].to_list() == pytest.approx(
        [1.0] * 4
    )


def test_team_is_a_ratio_of_sums():
    out = team_utilisation(_people_weeks())
    assert out.columns == list(TEAM_COLUMNS) and "person_id" not in out.columns
    rows = _by_key(out, "team", "status_date")
    assert set(rows) == {("(none)", W1), ("(none)", W2), ("apps", W1), ("apps", W2)}
    apps = rows["apps", W1]
    # capacity 32 + 20 = 52; logged 36 + 10 = 46; 46 / 52 = 0.8846 (the mean of ratios would be (1.125 + 0.5) / 2)
    assert (apps["people"], apps["capacity_hours"], apps["logged_hours"]) == (2, Decimal("52"), Decimal("46"))
    assert apps["utilisation"] == pytest.approx(46 / 52) and apps["utilisation"] != pytest.approx(0.8125)
    # project 36 + 5 = 41, operational 0 + 5 = 5; over-allocated: p1; spread thin: p1
    assert (apps["project_hours"], apps["operational_hours"]) == (Decimal("41"), Decimal("5"))
    assert (apps["people_over_allocated"], apps["people_spread_thin"]) == (1, 1)
    # week of 11 Jan: 22 / (40 + 20) = 0.3667, nobody flagged
    assert rows["apps", W2]["utilisation"] == pytest.approx(22 / 60)
    assert (rows["apps", W2]["people_over_allocated"], rows["apps", W2]["people_spread_thin"]) == (0, 0)
    # p3 has no team: "(none)"; capacity 0 → utilisation NULL; an undefined utilisation is not over-allocated
    none = rows["(none)", W1]
    assert (none["people"], none["capacity_hours"], none["logged_hours"]) == (1, Decimal("0"), Decimal("3"))
    assert none["utilisation"] is None and none["people_over_allocated"] == 0


HARVEST = "harvest/formidable_sauce_harvest_detailed.csv"


@realdata
def test_harvest_export_against_the_file():
    _, staged = stage_realdata(HARVEST)
    with (REALDATA / HARVEST).open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    # Independently of the pipeline: hours per user and week ending Sunday, from the Date and Hours columns.
    expected: dict[tuple[str, dt.date], Decimal] = {}
    for r in rows:
        day = dt.date.fromisoformat(r["Date"])
        week = day + dt.timedelta(days=6 - day.weekday())
        key = (f"{r['First Name']} {r['Last Name']}", week)
        expected[key] = expected.get(key, Decimal(0)) + Decimal(r["Hours"])
    names = sorted({name for name, _ in expected})
    weeks = sorted({w for _, w in expected})
    people = pl.concat(
        [empty("people"), pl.DataFrame({"person_id": names, "display_name": names, "team": ["sauce"] * len(names)})],
        how="diagonal_relaxed",
    )  # every user on a fixed 40-h week, no holidays
    project_map = pl.DataFrame({"source_kind": ["harvest"], "source_key": ["SAUCE"], "project_id": ["SAUCE"]})
    items = empty("work_items").with_columns(pl.lit(None, pl.String).alias("project_id"))
    logs = resolve.worklogs(staged.tables["worklogs"], items, project_map, people, empty("person_aliases"))
    cap = weekly_capacity(people, pl.DataFrame(schema={"calendar_id": pl.String, "date": pl.Date}), weeks)
    out = resource_utilisation(cap, logs, items)
    assert out.height == len(names) * len(weeks)
    logged = {
        (r["person_id"], r["status_date"]): r for r in out.filter(pl.col("logged_hours") != 0).iter_rows(named=True)
    }
    assert {k: v["logged_hours"] for k, v in logged.items()} == expected
    # Every entry is on the SAUCE project: all project hours, one project, utilisation = hours / 40
    assert all(v["project_hours"] == v["logged_hours"] and v["projects"] == 1 for v in logged.values())
    assert all(v["utilisation"] == pytest.approx(float(expected[k]) / 40) for k, v in logged.items())
    # By hand from the file: Tegan Churchill logged 4 entries, 8 h in all, 20..26 Aug 2018: 8 / 40 = 0.2
    tegan = logged["Tegan Churchill", D(2018, 8, 26)]
    assert tegan["logged_hours"] == Decimal("8") and tegan["utilisation"] == pytest.approx(0.2)
    team = team_utilisation(out)
    # the team's hours are every hour of the file
    assert team["logged_hours"].sum() == sum((Decimal(r["Hours"]) for r in rows), Decimal(0))
