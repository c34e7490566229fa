"""Harvest detailed time report (CSV) → canonical worklogs.

Header of a current export: `Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,
Invoiced?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,Cost Amount,Currency,
External Reference URL`; older exports name the person in `Person` and may add `Approved?`. Dates (ISO,
M/D/YY, MM/DD/YYYY...) and decimal commas are decided per file by the contract; Hours must be more than 0
and at most 24 (the contract rejects other rows). Notes may be multi-line.

The report has no time entry id, so the worklog id hashes the entry's fields (see `row_hash`). The ticket
is the Jira key in External Reference URL (Harvest's Jira integration links the issue there), else the
first Jira key written in Notes.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage, row_hash
from transforms.readers.timesheets import jira_key, scope


def _person_name() -> pl.Expr:
    """First Name + Last Name, else the older exports' Person."""
    joined = pl.concat_str([pl.col("First Name"), pl.col("Last Name")], separator=" ", ignore_nulls=True)
    return pl.coalesce(pl.when(joined != "").then(joined), pl.col("Person"))


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per Harvest time entry. Its id hashes date, client, project, task, notes, hours and
    person (not Billable?/Invoiced?, which change after the fact), plus its rank among identical entries of
    the file, so a re-export of the same entries deduplicates."""
    person = _person_name()
    return typed.select(
        row_hash(
            pl.lit("harvest"),
            pl.col("Date"),
            pl.col("Client"),
            pl.col("Project"),
            pl.col("Task"),
            pl.col("Notes"),
            pl.col("Hours"),
            person,
        ).alias("worklog_id"),
        pl.lit("harvest").alias("source_kind"),
        pl.coalesce(pl.col("Email"), person).alias("person_source_id"),
        person.alias("person_name"),
        pl.col("Email").alias("person_email"),
        pl.coalesce(jira_key(pl.col("External Reference URL")), jira_key(pl.col("Notes"))).alias("item_key"),
        pl.col("Project").alias("source_project_key"),
        pl.col("Date").alias("work_date"),
        pl.col("Hours").alias("hours"),
        pl.col("Billable?").alias("billable"),
        pl.col("Approved?").alias("approved"),
        pl.col("Notes").alias("description"),
        scope("harvest", pl.col("Project")).alias("_scope"),
        *lineage(),
    )


READERS = [Reader("harvest_time", "worklogs", worklogs)]
