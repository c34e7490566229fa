"""Weekly capacity and timesheet completeness on hand-computed cases (arithmetic in the comments).

Weeks end on Sundays: 4 Jan 2026 (Mon 29 Dec .. Sun 4 Jan), 11, 18, 25 Jan and 1 Feb.
Calendars: "default" has New Year's Day (Thu 1 Jan) and Sat 10 Jan (a weekend holiday changes nothing);
"xmas" is closed Mon 29 Dec .. Fri 2 Jan; "plain" has no holidays.
"""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.capacity import CAPACITY_COLUMNS, weekly_capacity
from transforms.timesheet_completeness import (
    PERSON_COLUMNS,
    PROJECT_COLUMNS,
    project_timesheet_completeness,
    timesheet_completeness,
)

D = dt.date
WEEKS = [D(2026, 1, 4), D(2026, 1, 11), D(2026, 1, 18), D(2026, 1, 25), D(2026, 2, 1)]
HOLIDAYS = pl.DataFrame(
    {
        "calendar_id": ["default", "default"] + ["xmas"] * 5,
        "date": [D(2026, 1, 1), D(2026, 1, 10)] + [D(2025, 12, 29) + dt.timedelta(days=i) for i in range(5)],
    }
)
PEOPLE = pl.DataFrame(
    {
        "person_id": ["u1", "u2", "u3", "u4"],
        "team": ["apps", "apps", "data", "ops"],
        "contracted_hours_week": [Decimal("32"), None, Decimal("20"), Decimal("40")],
        "calendar_id": ["default", None, "plain", "xmas"],
    },
    schema_overrides={"contracted_hours_week": pl.Decimal(18, 4)},
)


def _worklogs():
    rows = [
        ("u1", D(2025, 12, 29), "8", "A"),  # Mon, week of 4 Jan
        ("u1", D(2026, 1, 2), "8.6", "A"),  # Fri
        ("u1", D(2026, 1, 3), "8", "A"),  # Sat: weekend work counts in its week → 24.6 in the week of 4 Jan
        ("u1", D(2026, 1, 5), "16", "B"),  # Mon, week of 11 Jan
        ("u1", D(2026, 1, 11), "20", "B"),  # Sun 11 Jan, the status date itself → 36 in the week of 11 Jan
        ("u3", D(2025, 12, 28), "3", "A"),  # Sun 28 Dec: a week outside the capacity: not counted
        ("u3", D(2026, 1, 1), "10", "A"),  # week of 4 Jan (a holiday on u1's calendar, not on u3's "plain")
        ("u3", D(2026, 2, 2), "5", "A"),  # week of 8 Feb: outside
        ("u4", D(2026, 1, 3), "2", "C"),  # Sat, week of 4 Jan, in which u4 was expected to work 0 hours
        (None, D(2026, 1, 5), "7", "A"),  # nobody known: not anyone's hours
    ]
    return pl.DataFrame(rows, schema=["person_id", "work_date", "hours", "project_id"], orient="row").with_columns(
        pl.col("hours").cast(pl.Decimal(18, 4))
    )


def _capacity():
    return weekly_capacity(PEOPLE, HOLIDAYS, WEEKS)


def test_capacity_with_holidays_contract_and_defaults():
    cap = _capacity()
    assert cap.columns == list(CAPACITY_COLUMNS) and cap.height == 4 * 5
    got = {
        (r["person_id"], r["status_date"]): (r["working_days"], r["expected_hours"]) for r in cap.iter_rows(named=True)
    }
    # u1: 32-h contract, New Year's Day in the week of 4 Jan: 4 working days, 32 × 4 / 5 = 25.6
    assert got["u1", D(2026, 1, 4)] == (4, Decimal("25.6"))
    # week of 11 Jan: the Saturday holiday removes no working day: 32 × 5 / 5 = 32
    assert got["u1", D(2026, 1, 11)] == (5, Decimal("32"))
    # u2: no contracted hours → 40, no calendar → "default": 40 × 4 / 5 = 32, then 40
    assert got["u2", D(2026, 1, 4)] == (4, Decimal("32"))
    assert got["u2", D(2026, 1, 18)] == (5, Decimal("40"))
    # u3: "plain", no holiday on 1 Jan: 20 × 5 / 5 = 20
    assert got["u3", D(2026, 1, 4)] == (5, Decimal("20"))
    # u4: "xmas" closed the whole week: 40 × 0 / 5 = 0
    assert got["u4", D(2026, 1, 4)] == (0, Decimal("0"))
    assert cap.filter(pl.col("person_id") == "u2")["calendar_id"].unique().to_list() == ["default"]
    assert cap.schema["expected_hours"] == pl.Decimal(18, 4)


def test_capacity_default_hours_is_a_parameter_and_weeks_must_be_week_ends():
    cap = weekly_capacity(PEOPLE.filter(pl.col("person_id") == "u2"), HOLIDAYS, WEEKS[:1], default_hours_week=37.5)
    assert cap["expected_hours"].to_list() == [Decimal("30")]  # 37.5 × 4 / 5 = 30
    with pytest.raises(ValueError, match="sundays"):
        weekly_capacity(PEOPLE, HOLIDAYS, [D(2026, 1, 9)])  # a Friday
    saturday = weekly_capacity(PEOPLE, HOLIDAYS, [D(2026, 1, 10)], week_ends_on="saturday")
    # The 7 days Sun 4 .. Sat 10 Jan for u1 hold Mon 5 .. Fri 9: 5 working days, 32
    assert saturday.filter(pl.col("person_id") == "u1")["expected_hours"].to_list() == [Decimal("32")]


def _people_rows():
    out = timesheet_completeness(_capacity(), _worklogs(), PEOPLE)
    cols = ["expected_hours", "logged_hours", "missing_hours", "completeness", "complete"]
    return out, {(r["person_id"], r["status_date"]): tuple(r[c] for c in cols) for r in out.iter_rows(named=True)}


def test_person_completeness():
    out, got = _people_rows()
    assert out.columns == list(PERSON_COLUMNS)
    assert out.height == 20  # every person every week, with or without worklogs
    # u1 week of 4 Jan: 8 + 8.6 + 8 (Saturday) = 24.6 of 25.6: missing 1.0, 24.6 / 25.6 = 0.9609375 ≥ 0.95
    assert got["u1", D(2026, 1, 4)] == (Decimal("25.6"), Decimal("24.6"), Decimal("1"), 0.9609375, True)
    # u1 week of 11 Jan: 16 + 20 (Sunday) = 36 of 32: nothing missing (never negative), 36 / 32 = 1.125
    assert got["u1", D(2026, 1, 11)] == (Decimal("32"), Decimal("36"), Decimal("0"), 1.125, True)
    # u2 logged nothing at all: still a row each week, 0 of 32 → completeness 0.0, not NULL
    assert got["u2", D(2026, 1, 4)] == (Decimal("32"), Decimal("0"), Decimal("32"), 0.0, False)
    # u3: 10 of 20 (28 Dec and 2 Feb fall outside the weeks) → 0.5
    assert got["u3", D(2026, 1, 4)] == (Decimal("20"), Decimal("10"), Decimal("10"), 0.5, False)
    # u4: 0 hours expected (office closed), 2 logged: completeness 2 / 0 is NULL, not 0 or 1
    assert got["u4", D(2026, 1, 4)] == (Decimal("0"), Decimal("2"), Decimal("0"), None, None)
    assert dict(out.filter(pl.col("status_date") == WEEKS[0]).select("person_id", "team").rows())["u3"] == "data"


def test_complete_at_is_a_parameter():
    out = timesheet_completeness(_capacity(), _worklogs(), PEOPLE, complete_at=0.97)
    # u1 week of 4 Jan: 0.9609375 < 0.97 → not complete
    row = out.filter(pl.col("person_id") == "u1", pl.col("status_date") == WEEKS[0])
    assert row["complete"].to_list() == [False]


def test_project_completeness_over_the_people_of_the_last_four_weeks():
    people, _ = _people_rows()
    out = project_timesheet_completeness(people, _worklogs())
    assert out.columns == list(PROJECT_COLUMNS)
    rows = {(r["project_id"], r["status_date"]): r for r in out.iter_rows(named=True)}
    # A, week of 4 Jan: u1 and u3 logged on A: (24.6 + 10) / (25.6 + 20) = 34.6 / 45.6
    a1 = rows["A", D(2026, 1, 4)]
    assert (a1["people"], a1["expected_hours"], a1["logged_hours"]) == (2, Decimal("45.6"), Decimal("34.6"))
    assert a1["completeness"] == pytest.approx(34.6 / 45.6)
    # A, week of 11 Jan: both still on A (logged on it 1 week before); all their hours on any project count:
    # u1 36 (on B) + u3 0 = 36 of 32 + 20 = 52 → 36 / 52, a ratio of sums (the mean of 1.125 and 0 would be 0.5625)
    a2 = rows["A", D(2026, 1, 11)]
    assert (a2["people"], a2["logged_hours"], a2["completeness"]) == (2, Decimal("36"), pytest.approx(36 / 52))
    # A is dropped after the third week following the last week anyone logged on it (4 Jan → 25 Jan)
    assert sorted(d for p, d in rows if p == "A") == WEEKS[:4]
    # B: u1 from the week of 11 Jan (36 / 32 = 1.125) through 1 Feb (0 / 32 = 0.0)
    assert [rows["B", d]["completeness"] for d in WEEKS[1:]] == [1.125, 0.0, 0.0, 0.0]
    # C: u4 alone, 0 hours expected in the week of 4 Jan → NULL; then 0 of 40 → 0.0
    assert rows["C", D(2026, 1, 4)]["completeness"] is None
    assert rows["C", D(2026, 1, 11)]["completeness"] == 0.0
    assert out.equals(out.sort("project_id", "status_date"))
