"""Jira issue export (CSV) → canonical work items, one row per issue per export snapshot."""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage, repeated

_DONE = ["done", "closed", "resolved", "complete", "completed", "cancelled"]
_DOING = ["in progress", "in review", "review", "testing", "in test", "blocked"]
_PRIORITY = {
    "blocker": "critical",
    "highest": "critical",
    "critical": "critical",
    "high": "high",
    "major": "high",
    "medium": "medium",
    "minor": "low",
    "low": "low",
    "lowest": "low",
    "trivial": "low",
}


def status_category(status_category_col: pl.Expr, status: pl.Expr) -> pl.Expr:
    """todo/doing/done: Jira's own Status Category when exported, else the status name's usual meaning."""
    cat = status_category_col.str.to_lowercase()
    name = status.str.to_lowercase()
    return (
        pl.when(cat == "done")
        .then(pl.lit("done"))
        .when(cat == "in progress")
        .then(pl.lit("doing"))
        .when(cat.is_in(["to do", "new"]))
        .then(pl.lit("todo"))
        .when(name.is_in(_DONE))
        .then(pl.lit("done"))
        .when(name.is_in(_DOING))
        .then(pl.lit("doing"))
        .otherwise(pl.lit("todo"))
    )


def work_items(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per issue per export; the snapshot date is the export's latest Updated date."""
    hours = 1 / 3600
    snapshot = pl.coalesce(pl.col("Updated"), pl.col("Created")).max().over("_source_file").dt.date()
    return typed.select(
        pl.col("Issue key").alias("item_key"),
        snapshot.alias("snapshot_date"),
        pl.coalesce(pl.col("Project key"), pl.col("Issue key").str.extract(r"^([A-Za-z0-9_]+)-", 1)).alias(
            "source_project_key"
        ),
        pl.lit("jira").alias("source_kind"),
        pl.col("Summary").alias("summary"),
        pl.col("Issue Type").alias("type"),
        pl.col("Status").alias("status"),
        status_category(pl.col("Status Category"), pl.col("Status")).alias("status_category"),
        pl.col("Priority").str.to_lowercase().replace_strict(_PRIORITY, default=None).alias("priority"),
        pl.col("Assignee").alias("assignee"),
        pl.col("Assignee Id").alias("assignee_account_id"),
        pl.col("Created").dt.date().alias("created"),
        pl.col("Resolved").dt.date().alias("resolved"),
        pl.col("Due date").dt.date().alias("due"),
        pl.col("Start date").dt.date().alias("planned_start"),
        (pl.col("Original estimate") * hours).alias("original_estimate_h"),
        (pl.col("Remaining Estimate") * hours).alias("remaining_estimate_h"),
        (pl.col("Time Spent") * hours).alias("time_spent_h"),
        pl.col("Story Points").cast(pl.Float64).alias("story_points"),
        repeated(typed, "Sprint").list.last().alias("sprint"),
        repeated(typed, "Labels").alias("labels"),
        pl.col("Epic Link").alias("epic_key"),
        pl.col("Parent").alias("parent_key"),
        *lineage(),
    )


READERS = [Reader("jira_issues", "work_items", work_items)]
