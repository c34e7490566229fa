"""Jira issue export (CSV, Cloud and Data Center) → canonical work items, and its Log Work cells → worklogs.

"Export CSV (all fields)" writes one row per issue. Repeated headers (Labels, Sprint, Watchers, Log Work,
Comment) arrive as Name, Name__2...; estimates and time spent are seconds; dates follow the instance's
format ("22/Sep/25 9:26 AM", Data Center also "2025-09-22 09:26" or "9/22/25 9:26 AM"). Parent and Epic
Link may hold the linked issue's numeric id instead of its key: the key is looked up among the export's
own issues. A Log Work cell is one worklog, "comment;date;author accountId;seconds", where the comment may
itself hold ";" (so the cell is split from the right).
"""

from __future__ import annotations

import polars as pl

from data_contracts.contract import all_contracts, parse_column
from transforms.readers.common import Reader, lineage, repeated, row_hash

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
_FILE = "_source_file"
# comment;date;author;seconds: the comment is everything before the last three fields (it may hold ";").
_LOG_WORK = r"(?s)^(.*);([^;]*);([^;]*);\s*(\d+)\s*$"


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


def _project_key() -> pl.Expr:
    return pl.coalesce(pl.col("Project key"), pl.col("Issue key").str.extract(r"^([A-Za-z0-9_]+)-", 1))


def _with_linked_keys(typed: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Add, for each link column (Parent, Epic Link), the linked issue's key: the value itself when it is a
    key, else the key of the issue of that numeric id in the same file (NULL when the export lacks it)."""
    links, ids = [], None
    for column, alias in columns.items():
        # Looked up on a frame of the file and the value alone, and added as a column: a join of the whole frame
        # copied every column of a million issues once per link column (the first load's peak memory).
        value = pl.col(column).str.strip_chars()
        link = typed.select(_FILE, value.alias("_value"), _id=value.str.extract(r"^(\d+)$", 1).cast(pl.Int64))
        if link.get_column("_id").null_count() == link.height:  # no numeric id to look up: the values are the keys
            links.append(link.get_column("_value").alias(alias))
            continue
        if ids is None:  # built once, for the first link column that has an id to look up
            ids = typed.select(_FILE, pl.col("Issue id").alias("_id"), pl.col("Issue key").alias("_key")).unique(
                [_FILE, "_id"], keep="last"
            )
        links.append(
            link.join(ids, on=[_FILE, "_id"], how="left", maintain_order="left")  # ids: one row per (file, id)
            .select(pl.when(pl.col("_id").is_null()).then(pl.col("_value")).otherwise(pl.col("_key")).alias(alias))
            .to_series()
        )
    return typed.with_columns(links)


def work_items(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per issue per export; the snapshot date is the export's latest Updated date."""
    hours = 1 / 3600
    snapshot = pl.coalesce(pl.col("Updated"), pl.col("Created")).max().over(_FILE).dt.date()
    linked = _with_linked_keys(typed, {"Parent": "_parent_key", "Epic Link": "_epic_key"})
    return linked.select(
        pl.col("Issue key").alias("item_key"),
        snapshot.alias("snapshot_date"),
        _project_key().alias("source_project_key"),
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
        pl.col("Created").alias("created_at"),
        pl.col("Resolved").alias("resolved_at"),
        (pl.col("Original estimate") * hours).alias("original_estimate_h"),
        (pl.col("Remaining Estimate") * hours).alias("remaining_estimate_h"),
        (pl.col("Time Spent") * hours).alias("time_spent_h"),
        pl.col("Story Points").cast(pl.Float64).alias("story_points"),
        repeated(typed, "Sprint").list.last().alias("sprint"),
        repeated(typed, "Labels").alias("labels"),
        pl.col("_epic_key").alias("epic_key"),
        pl.coalesce(pl.col("Parent key"), pl.col("_parent_key")).alias("parent_key"),
        *lineage(),
    )


def _jira_datetime(text: pl.Expr) -> pl.Expr:
    """A Log Work date, read like the export's Created column: in the format its file is written in."""
    created = next(c for c in all_contracts()["jira_issues"].columns if c.name == "Created")
    return parse_column(created, text)[0]


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per non-empty Log Work cell (one worklog). Jira gives a worklog no id in the CSV: the
    id hashes the issue key, date, author, seconds and comment (plus the rank among identical cells).

    A cell that does not read as comment;date;author;seconds (or whose date or seconds do not parse) is
    still a row, with NULL hours and the whole cell as its description, so that it is seen, not dropped.
    These rows are fallback: a timesheet export (Tempo, the worklog report) of the same issue wins.
    """
    cells = (
        typed.select(
            pl.col("Issue key").alias("item_key"),
            _project_key().alias("source_project_key"),
            repeated(typed, "Log Work").alias("_cell"),
            *lineage(),
        )
        .explode("_cell")
        .filter(pl.col("_cell").is_not_null() & (pl.col("_cell").str.strip_chars() != ""))
    )
    # The cell's parts and its date as columns first: every expression below refers to them, and polars took
    # ~0.1 s to plan the select with the date's parse (a try of each format) written out at each of its uses.
    parts = pl.col("_cell").str.extract_groups(_LOG_WORK)
    cells = cells.with_columns(parts.struct.field(str(i)).alias(f"_{i}") for i in range(1, 5)).with_columns(
        _jira_datetime(pl.col("_2").str.strip_chars()).alias("_started")
    )
    comment, date, author, seconds, started = (pl.col(c) for c in ("_1", "_2", "_3", "_4", "_started"))
    ok = started.is_not_null() & seconds.is_not_null()
    return cells.select(
        row_hash(
            pl.col("item_key"),
            pl.when(ok).then(date),
            pl.when(ok).then(author),
            pl.when(ok).then(seconds),
            pl.when(ok).then(comment).otherwise(pl.col("_cell")),
        ).alias("worklog_id"),
        pl.lit("jira").alias("source_kind"),
        pl.when(ok).then(author.str.strip_chars()).alias("person_source_id"),
        pl.col("item_key"),
        pl.col("source_project_key"),
        started.dt.date().alias("work_date"),
        started.alias("started_at"),
        pl.when(ok).then(seconds.cast(pl.Int64).cast(pl.Decimal(38, 10)) / 3600).alias("hours"),
        pl.when(ok).then(pl.when(comment.str.strip_chars() != "").then(comment)).otherwise(pl.col("_cell"))
        .alias("description"),
        pl.concat_str(pl.lit("jira-logwork|"), pl.col("item_key")).alias("_scope"),
        *lineage(),
    )  # fmt: skip


READERS = [
    Reader("jira_issues", "work_items", work_items),
    Reader("jira_issues", "worklogs", worklogs, primary=False, fallback=True),
]
