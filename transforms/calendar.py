"""The reporting week grid: status dates are week ends (Sunday by default); time is measured in weeks."""

from __future__ import annotations

import datetime as dt

import polars as pl

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def isodow(weekday: str) -> int:
    """ISO day number (Monday 1 .. Sunday 7) of a weekday name."""
    return WEEKDAYS.index(weekday.lower()) + 1


def week_end(day: dt.date, week_ends_on: str = "sunday") -> dt.date:
    """The status date of the week that holds `day`: the first week-end day on or after it."""
    return day + dt.timedelta(days=(isodow(week_ends_on) - day.isoweekday()) % 7)


def last_complete_week_end(latest: dt.date, week_ends_on: str = "sunday") -> dt.date:
    """The last status date whose working week lies on or before `latest` (the newest date in the data): data up
    to a Friday completes a week that ends on the Sunday after it, since only weekend days remain."""
    end = week_end(latest, week_ends_on)
    remaining = [latest + dt.timedelta(days=i) for i in range(1, (end - latest).days + 1)]
    return end if all(day.isoweekday() >= 6 for day in remaining) else end - dt.timedelta(days=7)


def is_week_end(day: dt.date, week_ends_on: str = "sunday") -> bool:
    return day.isoweekday() == isodow(week_ends_on)


def working_day_index(holidays: pl.DataFrame, calendars: list[str], first: dt.date, last: dt.date) -> pl.DataFrame:
    """Grain: one row per calendar and day from `first` to `last`; `working` says whether the day is worked
    (Monday to Friday, less the calendar's holidays) and `wd` counts the working days up to and including it."""
    days = pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
    grid = pl.DataFrame({"calendar_id": calendars}).join(days, how="cross")
    off = holidays.select("calendar_id", pl.col("date").alias("day"), pl.lit(True).alias("_holiday"))
    return (
        grid.join(off.unique(["calendar_id", "day"]), on=["calendar_id", "day"], how="left")
        .with_columns(working=(pl.col("day").dt.weekday() <= 5) & pl.col("_holiday").is_null())
        .sort("calendar_id", "day")
        .with_columns(wd=pl.col("working").cast(pl.Int64).cum_sum().over("calendar_id"))
        .select("calendar_id", "day", "working", "wd")
    )


def status_dates(first: dt.date, last: dt.date, week_ends_on: str = "sunday") -> list[dt.date]:
    """The status dates (week ends) of the weeks from the one holding `first` to the one holding `last`."""
    start, stop = week_end(first, week_ends_on), week_end(last, week_ends_on)
    return [start + dt.timedelta(weeks=i) for i in range((stop - start).days // 7 + 1)]


def in_weeks(frame: pl.DataFrame, weeks, *, day: str = "work_date") -> pl.DataFrame:
    """The rows with `status_date`, the reporting week (of `weeks`) holding their `day`: the first status date on
    or after it, less than 7 days after it. Rows outside every week (or with no day) are dropped."""
    week_frame = pl.DataFrame({"status_date": pl.Series(list(weeks), dtype=pl.Date)}).unique().sort("status_date")
    return (
        frame.filter(pl.col(day).is_not_null())
        .sort(day)
        .join_asof(
            week_frame.with_columns(_week=pl.col("status_date")), left_on=day, right_on="_week", strategy="forward"
        )  # fmt: skip
        .filter((pl.col("status_date") - pl.col(day)) < pl.duration(days=7))
        .drop("_week")
    )
