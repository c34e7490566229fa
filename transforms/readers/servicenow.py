"""ServiceNow list export (CSV or Excel-saved CSV) of incident, task or pm_project_task → canonical work items.

"Export > CSV" from a list view writes the field names as headers (number, short_description, opened_at,
assignment_group...) and display values in the cells: priority "1 - Critical" .. "5 - Planning", state
"In Progress", references as names, dates in the instance's display format (default yyyy-MM-dd HH:mm:ss;
dd-MM-yyyy and MM/dd/yyyy hh:mm:ss a are common), durations as "1 Day 2 Hours" or "02:30:00". The Excel
export writes the labels instead (Number, Short description, Opened...) and, saved as CSV, Windows-1252.
A list export stops at 10,000 rows (the contract's row_cap warns about a file of exactly that size).
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage
from transforms.readers.glpi import duration_hours

_PRIORITY_DIGIT = {"1": "critical", "2": "high", "3": "medium", "4": "low", "5": "planning"}
_PRIORITY_NAME = {"critical": "critical", "high": "high", "moderate": "medium", "medium": "medium",
                  "low": "low", "planning": "planning"}  # fmt: skip
# Task type from the number prefix, when the export has no sys_class_name column.
_TYPE_BY_PREFIX = {"INC": "incident", "TASK": "task", "PRJTASK": "pm_project_task", "PRB": "problem",
                   "CHG": "change_request", "CTASK": "change_task", "RITM": "sc_req_item", "SCTASK": "sc_task",
                   "PRJ": "pm_project"}  # fmt: skip
# State display values: incident (New, In Progress, On Hold, Resolved, Closed, Canceled), task and project
# task (Pending, Open, Work in Progress, Closed Complete / Incomplete / Skipped, Cancelled).
_DONE = r"^(resolved|closed|cancel+ed|completed?)\b"
_DOING = r"^(in progress|work in progress|on hold|awaiting|in review)\b"


def status_category(state: pl.Expr) -> pl.Expr:
    """todo/doing/done from a ServiceNow state display value. New, Open, Pending and Draft are work not
    started (todo); On Hold is started work that waits (doing)."""
    name = state.str.strip_chars().str.to_lowercase()
    return (
        pl.when(name.str.contains(_DONE))
        .then(pl.lit("done"))
        .when(name.str.contains(_DOING))
        .then(pl.lit("doing"))
        .when(name.is_not_null())
        .then(pl.lit("todo"))
    )


def priority(value: pl.Expr) -> pl.Expr:
    """critical..planning from "1 - Critical", a bare "1", or a bare name ("Moderate")."""
    low = value.str.strip_chars().str.to_lowercase()
    by_digit = low.str.extract(r"^([1-5])\b", 1).replace_strict(_PRIORITY_DIGIT, default=None)
    by_name = low.str.extract(r"([a-z]+)\s*$", 1).replace_strict(_PRIORITY_NAME, default=None)
    return pl.coalesce(by_digit, by_name)


def work_items(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per record (incident, task or project task) per export. The snapshot date is the
    export's newest sys_updated_on, else its newest opened_at. The project key is the project (top task)
    of a project task, else the assignment group."""
    file = "_source_file"
    snapshot = pl.coalesce(pl.col("sys_updated_on").max().over(file), pl.col("opened_at").max().over(file))
    opened = pl.coalesce(pl.col("opened_at"), pl.col("sys_created_on"))
    resolved_at = pl.coalesce(pl.col("resolved_at"), pl.col("closed_at"), pl.col("work_end"))
    prefix = pl.col("number").str.extract(r"^([A-Za-z]+)", 1).str.to_uppercase()
    spent = pl.coalesce(duration_hours(pl.col("work_effort")), duration_hours(pl.col("time_worked")))
    return typed.select(
        pl.col("number").alias("item_key"),
        snapshot.dt.date().alias("snapshot_date"),
        pl.lit("servicenow").alias("source_kind"),
        pl.coalesce(pl.col("project"), pl.col("assignment_group")).alias("source_project_key"),
        pl.col("short_description").alias("summary"),
        pl.coalesce(pl.col("sys_class_name"), prefix.replace_strict(_TYPE_BY_PREFIX, default=None)).alias("type"),
        pl.col("state").alias("status"),
        status_category(pl.col("state")).alias("status_category"),
        priority(pl.col("priority")).alias("priority"),
        pl.col("assigned_to").alias("assignee"),
        pl.col("assignment_group").alias("assignment_group"),
        opened.dt.date().alias("created"),
        opened.alias("created_at"),
        resolved_at.dt.date().alias("resolved"),
        resolved_at.alias("resolved_at"),
        # A project task's planned end is its due date when it has none of its own.
        pl.coalesce(pl.col("due_date"), pl.col("end_date")).dt.date().alias("due"),
        pl.col("start_date").dt.date().alias("planned_start"),
        pl.col("sla_due").alias("sla_due_at"),
        (~pl.col("made_sla")).alias("sla_breached"),
        pl.col("reopen_count").alias("reopen_count"),
        duration_hours(pl.col("effort")).alias("original_estimate_h"),
        duration_hours(pl.col("remaining_effort")).alias("remaining_estimate_h"),
        spent.alias("time_spent_h"),
        pl.col("parent").alias("parent_key"),
        pl.col("milestone").alias("is_milestone"),
        *lineage(),
    )


READERS = [Reader("servicenow_tasks", "work_items", work_items)]
