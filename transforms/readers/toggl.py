"""Toggl Track detailed report (CSV) → canonical worklogs.

Header: `User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,
Duration,Tags,Amount (USD)` (newer exports say `Member` for User; the amount column is named after the
workspace currency and is not read). Often written with a UTF-8 BOM; tags are comma-joined inside quotes
("Meeting, Team Meeting"); Billable is Yes/No.

- hours: Duration `HH:MM:SS` (or `H:MM`, or decimal hours); a row whose duration is unreadable, zero or
  over 24 hours is skipped with its reason (the contract cannot type a clock duration).
- started_at: Start date + Start time, the user's local time; work_date is the start date, also for an
  entry that runs past midnight.
- item_key: the first Jira key written in the description, upper case as Jira writes keys ("Decision
  Making DEV-50" → DEV-50; a lower-case "dev-51" is not taken for a key).
- person: User (name) and Email; the CSV has no user id, so the e-mail stands for it.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage, row_hash
from transforms.readers.timesheets import clock_hours, hours_problem, jira_key, raw_col, scope, time_of_day, yes_no


def skip(raw: pl.DataFrame) -> pl.Expr:
    """A row whose Duration is unreadable, zero, or over 24 hours."""
    duration = raw_col(raw, "Duration")
    return hours_problem("Duration", duration, clock_hours(duration))


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per Toggl time entry. Without an id in the export, its id hashes the user, start,
    duration, project, task and description, plus its rank among identical entries of the file."""
    hours = clock_hours(pl.col("Duration"))
    person = pl.coalesce(pl.col("Email"), pl.col("User"))
    return typed.select(
        row_hash(
            pl.lit("toggl"),
            person,
            pl.col("Start date"),
            pl.col("Start time"),
            pl.col("Duration"),
            pl.col("Project"),
            pl.col("Task"),
            pl.col("Description"),
        ).alias("worklog_id"),
        pl.lit("toggl").alias("source_kind"),
        person.alias("person_source_id"),
        pl.col("User").alias("person_name"),
        pl.col("Email").alias("person_email"),
        jira_key(pl.col("Description")).alias("item_key"),
        pl.col("Project").alias("source_project_key"),
        pl.col("Start date").alias("work_date"),
        pl.col("Start date").dt.combine(time_of_day(pl.col("Start time"))).alias("started_at"),
        hours.alias("hours"),
        yes_no(pl.col("Billable")).alias("billable"),
        pl.col("Description").alias("description"),
        scope("toggl", pl.col("Project")).alias("_scope"),
        *lineage(),
    )


READERS = [Reader("toggl_time", "worklogs", worklogs, skip=skip)]
