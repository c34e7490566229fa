"""Weekly capacity: the hours each person is expected to work in each reporting week.

Output grain: one row per person and status date (`weekly_capacity`): person_id, team, calendar_id, status_date,
contracted_hours_week, working_days (Monday to Friday less the person's calendar's holidays, within the 7 days
ending on the status date) and expected_hours = contracted_hours_week × working_days / 5. Hours are DECIMAL(18,4),
like worklog hours. Timesheet completeness and resource utilisation both start from this table.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.calendar import is_week_end, working_day_index

HOURS = pl.Decimal(18, 4)
CAPACITY_COLUMNS = {
    "person_id": pl.String, "team": pl.String, "calendar_id": pl.String, "status_date": pl.Date,
    "contracted_hours_week": HOURS, "working_days": pl.Int64, "expected_hours": HOURS,
}  # fmt: skip


def weekly_capacity(
    people: pl.DataFrame,
    holidays: pl.DataFrame,
    weeks: list[dt.date],
    *,
    week_ends_on: str = "sunday",
    default_hours_week: float = 40.0,
) -> pl.DataFrame:
    """Grain: one row per person and status date in `weeks`: CAPACITY_COLUMNS.

    people: person_id, team, contracted_hours_week (NULL: `default_hours_week`), calendar_id (NULL: "default");
    holidays: calendar_id, date. A week that is not a week end (`week_ends_on`) is an input error."""
    off_grid = [w for w in weeks if not is_week_end(w, week_ends_on)]
    if off_grid:
        raise ValueError(f"status dates must be {week_ends_on}s (week ends); not: {sorted(set(off_grid))}")
    staff = people.select(
        "person_id",
        "team",
        pl.col("calendar_id").fill_null("default"),
        pl.col("contracted_hours_week").cast(HOURS).fill_null(pl.lit(default_hours_week).cast(HOURS)),
    )
    if not weeks or staff.is_empty():
        return pl.DataFrame(schema=CAPACITY_COLUMNS)
    calendars = staff.get_column("calendar_id").unique().sort().to_list()
    # working days in the 7 days ending on S = wd(S) − wd(S − 7), on an index that starts a week before.
    index = working_day_index(holidays, calendars, min(weeks) - dt.timedelta(days=7), max(weeks)).select(
        "calendar_id", "day", "wd"
    )
    week_frame = pl.DataFrame({"status_date": sorted(set(weeks))}, schema={"status_date": pl.Date})
    per_calendar = (
        pl.DataFrame({"calendar_id": calendars})
        .join(week_frame, how="cross")
        .with_columns(_before=pl.col("status_date") - pl.duration(days=7))
        .join(index.rename({"day": "status_date", "wd": "_wd_end"}), on=["calendar_id", "status_date"])
        .join(index.rename({"day": "_before", "wd": "_wd_before"}), on=["calendar_id", "_before"])
        .select("calendar_id", "status_date", (pl.col("_wd_end") - pl.col("_wd_before")).alias("working_days"))
    )
    return (
        staff.join(per_calendar, on="calendar_id", how="inner")
        .with_columns(
            expected_hours=(pl.col("contracted_hours_week") * pl.col("working_days") / 5).cast(HOURS),
        )
        .select([pl.col(c).cast(t) for c, t in CAPACITY_COLUMNS.items()])
        .sort("person_id", "status_date")
    )
