"""The reporting week grid: status dates are week ends (Sunday by default); time is measured in weeks."""

from __future__ import annotations

import datetime as dt

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def isodow(weekday: str) -> int:
    """ISO day number (Monday 1 .. Sunday 7) of a weekday name."""
    return WEEKDAYS.index(weekday.lower()) + 1


def week_end(day: dt.date, week_ends_on: str = "sunday") -> dt.date:
    """The status date of the week that holds `day`: the first week-end day on or after it."""
    return day + dt.timedelta(days=(isodow(week_ends_on) - day.isoweekday()) % 7)


def last_complete_week_end(latest: dt.date, week_ends_on: str = "sunday") -> dt.date:
    """The last status date whose whole week lies on or before `latest` (the newest date in the data)."""
    end = week_end(latest, week_ends_on)
    return end if end == latest else end - dt.timedelta(days=7)


def is_week_end(day: dt.date, week_ends_on: str = "sunday") -> bool:
    return day.isoweekday() == isodow(week_ends_on)
