"""Clockify detailed report (CSV) → canonical worklogs.

English header: `Project,Client,Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,
End Date,End Time,Duration (h),Duration (decimal),Billable Rate (USD),Billable Amount (USD)`; exports from a
localised UI name the same columns in that language (pt-BR: `Projeto,Cliente,Descrição,Tarefa,Usuário,
Grupo,Email,Etiqueta,Data de início,Hora de início,Data final,Hora de término,Duração (h),Duração (decimal)`;
Spanish, French and German aliases are in the contract). Every field may be quoted.

- hours: Duration (decimal) (typed and range-checked by the contract; a dot even in pt-BR files), else
  Duration (h) `H:MM` / `HH:MM:SS`.
- started_at: Start Date + Start Time (`7:17`, `16:00:00`, `02:00 PM`), the user's local time; work_date is
  the start date.
- item_key: a Jira key in the description (`DEV-50`), else a GLPI ticket it names ("Ticket 1353 GLPI - ...",
  "GLPI 1415", "1359 - Monitoramento"), as `GLPI-<id>`: teams that log support work in Clockify write the
  ticket number of their GLPI helpdesk in the description.
- person: User (name), Email; Clockify's CSV has no user id, so the e-mail stands for it.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage, row_hash
from transforms.readers.timesheets import (
    clock_hours,
    glpi_key,
    hours_problem,
    jira_key,
    raw_col,
    scope,
    time_of_day,
    yes_no,
)


def skip(raw: pl.DataFrame) -> pl.Expr:
    """Without a Duration (decimal) value, a row whose Duration (h) is unreadable or out of range.
    (Duration (decimal) itself is checked by the contract.)"""
    decimal, clock = raw_col(raw, "Duration (decimal)"), raw_col(raw, "Duration (h)")
    return pl.when(decimal.is_null()).then(hours_problem("Duration (h)", clock, clock_hours(clock)))


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per Clockify time entry. Without an id in the export, its id hashes the user, start,
    duration, project, task and description, plus its rank among identical entries of the file."""
    hours = pl.coalesce(pl.col("Duration (decimal)").cast(pl.Float64), clock_hours(pl.col("Duration (h)")))
    started = pl.col("Start Date").dt.combine(time_of_day(pl.col("Start Time")))
    description = pl.col("Description")
    return typed.select(
        row_hash(
            pl.lit("clockify"),
            pl.coalesce(pl.col("Email"), pl.col("User")),
            pl.col("Start Date"),
            pl.col("Start Time"),
            hours.round(4),
            pl.col("Project"),
            pl.col("Task"),
            description,
        ).alias("worklog_id"),
        pl.lit("clockify").alias("source_kind"),
        pl.coalesce(pl.col("Email"), pl.col("User")).alias("person_source_id"),
        pl.col("User").alias("person_name"),
        pl.col("Email").alias("person_email"),
        pl.coalesce(jira_key(description), glpi_key(description)).alias("item_key"),
        pl.col("Project").alias("source_project_key"),
        pl.col("Start Date").alias("work_date"),
        started.alias("started_at"),
        hours.alias("hours"),
        yes_no(pl.col("Billable")).alias("billable"),
        description.alias("description"),
        scope("clockify", pl.col("Project")).alias("_scope"),
        *lineage(),
    )


READERS = [Reader("clockify_time", "worklogs", worklogs, skip=skip)]
