"""The weekly partitions: one partition per status date, keyed by the status date itself (the week's last day).

Dagster's stock weekly partitions are keyed by the first day of the week. A TimeWindowPartitionsDefinition keys
each window by its start, so the windows here start at 00:00 on the week-end day ([pipeline] week_ends_on): the
window of key S is [S, S + 7 days) in the UI, but the key, and the data the partition stands for, is the week
that *ends* on S. `end_offset=1` adds the window that starts on the latest week end, so the week whose last day
is today (or has just passed) has its partition at once, as the Monday schedule needs.

The first key is [schedule] first_status_date (a week end). Which weekday weeks end on is read once, when the
definitions load: changing week_ends_on needs the Dagster process restarted (as the schedule does).
"""

import datetime as dt
import os
import warnings
from pathlib import Path

import dagster as dg

from pipelines.home import Home, Settings
from transforms.calendar import isodow

FMT = "%Y-%m-%d"


def first_status_date(settings: Settings) -> dt.date:
    """[schedule] first_status_date, else the first week end in 2020."""
    if settings.schedule.first_status_date:
        return dt.date.fromisoformat(settings.schedule.first_status_date)
    day = dt.date(2020, 1, 1)
    return day + dt.timedelta(days=(isodow(settings.pipeline.week_ends_on) - day.isoweekday()) % 7)


def last_status_date(settings: Settings, now: dt.datetime | None = None) -> dt.date:
    """The newest partition key at `now` (default: the clock, in [schedule] timezone): the latest week end on or
    before today, whose window [S, S + 7) holds now (end_offset=1)."""
    from zoneinfo import ZoneInfo

    today = (now or dt.datetime.now(ZoneInfo(settings.schedule.timezone))).date()
    return today - dt.timedelta(days=(today.isoweekday() - isodow(settings.pipeline.week_ends_on)) % 7)


def weekly_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    """Weekly windows starting 00:00 on each week end, keyed "YYYY-MM-DD" by that week end (the status date)."""
    start = first_status_date(settings)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=f"0 0 * * {isodow(settings.pipeline.week_ends_on) % 7}",
        start=start.strftime(FMT),
        fmt=FMT,
        timezone=settings.schedule.timezone,
        end_offset=1,
    )


# BackfillPolicy is "beta" in Dagster 1.13; the warning would reach every `pmo` user's terminal.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

# Read once at import, like the schedule in definitions.py: the assets take their partitions at decoration.
WEEKLY = weekly_partitions(Home(Path(os.environ.get("PMO_HOME", "var"))).settings())
SINGLE_RUN = dg.BackfillPolicy.single_run()  # a 104-week backfill is one run, one process
WEEKLY_ASSET = {"partitions_def": WEEKLY, "backfill_policy": SINGLE_RUN}  # decorator arguments of partitioned assets


def status_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The status dates this run builds: its partition key, or every key of its range (a backfill), oldest first;
    [] for a run without a partition (the status date is then the last complete week in the data)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return []
    return sorted(dt.date.fromisoformat(key) for key in context.partition_keys)
