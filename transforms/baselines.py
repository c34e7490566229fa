"""Baselines: frozen, versioned plans (../shared/EVM.md "Baseline").

Sources of a version: a baseline file (`baseline`), an MS Project plan (`mspdi`), a freeze of ticket estimates
(`tickets`, kept in the warehouse's `plans` schema, never rebuilt from exports), or the time-phased status file of
a scheduling tool (`evm_status`, whose PV comes ready-made). The version in force for a status date is the latest
with effective_from on or before it (before the first version's date, the first version).

Outputs:
- versions: one row per project and baseline_version: effective_from, reason, source, frozen_at, bac,
  management_reserve, contingency (held beside BAC, not inside it), baseline_start, baseline_finish, elements.
- elements: one row per project, baseline_version and element_key (canonical `baselines` columns).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.canonical import MONEY, TABLES
from transforms.rates import assignee_person, rate_in_force

ELEMENT_COLUMNS = list(TABLES["baselines"])
VERSION_SCHEMA = {
    "project_id": pl.String, "baseline_version": pl.Int64, "effective_from": pl.Date, "reason": pl.String,
    "source": pl.String, "frozen_at": pl.Datetime("us"), "management_reserve": MONEY, "contingency": MONEY,
}  # fmt: skip
UNDATED_SCHEMA = {"project_id": pl.String, "item_key": pl.String, "problem": pl.String}


def derive_from_tickets(
    work_items: pl.DataFrame,
    people: pl.DataFrame,
    rates: pl.DataFrame,
    projects: pl.DataFrame,
    *,
    as_of: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A baseline from ticket estimates, for the given projects: each item's own original estimate (never Jira's
    Σ columns, which double-count sub-tasks) × the planned rate, spread over its planned start..due date.

    The planned rate is the assignee's rate in force on the planned start, else their role's, else the project's
    planned_rate. Items as of the latest export on or before `as_of`. Returns (elements, undated): items without
    an estimate, dates or rate are flagged in `undated` with the reason, never guessed.
    """
    items = (
        work_items.filter(
            pl.col("snapshot_date") <= as_of, pl.col("project_id").is_in(projects["project_id"].implode())
        )
        .sort("snapshot_date")
        .unique("item_key", keep="last")
    )
    items = assignee_person(items, people).join(projects.select("project_id", "planned_rate"), on="project_id")
    priced = rate_in_force(items, people, rates, day="planned_start").with_columns(
        _rate=pl.coalesce(pl.col("hourly_rate").cast(pl.Float64), pl.col("planned_rate").cast(pl.Float64))
    )
    problem = (
        pl.when(pl.col("original_estimate_h").is_null())
        .then(pl.lit("no original estimate"))
        .when(pl.col("planned_start").is_null() | pl.col("due").is_null())
        .then(pl.lit("no planned start or due date"))
        .when(pl.col("due") < pl.col("planned_start"))
        .then(pl.lit("due date before the planned start"))
        .when(pl.col("_rate").is_null())
        .then(pl.lit("no rate for the assignee and no planned rate for the project"))
    )
    priced = priced.with_columns(problem=problem)
    undated = priced.filter(pl.col("problem").is_not_null()).select(list(UNDATED_SCHEMA)).sort("project_id", "item_key")
    elements = priced.filter(pl.col("problem").is_null()).select(
        "project_id",
        pl.col("item_key").alias("element_key"),
        pl.col("summary").alias("element_name"),
        pl.lit("labour").alias("cost_category"),
        (pl.col("original_estimate_h") * pl.col("_rate")).round(4).cast(MONEY).alias("budget"),
        "planned_start",
        pl.col("due").alias("planned_finish"),
        pl.col("is_milestone").fill_null(False),
        pl.lit("tickets").alias("source_kind"),
    )
    return _conform(elements), undated


def freeze(
    elements: pl.DataFrame,
    versions: pl.DataFrame,
    *,
    project_id: str,
    reason: str,
    effective_from: dt.date,
    frozen_at: dt.datetime,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A new baseline version of one project from the given elements: numbered after every existing version of
    the project (whatever its source), in force from `effective_from`. Returns (version row, element rows)."""
    mine = elements.filter(pl.col("project_id") == project_id)
    if mine.is_empty():
        raise ValueError(f"project {project_id}: nothing to freeze (no item with an estimate, dates and a rate)")
    existing = versions.filter(pl.col("project_id") == project_id).get_column("baseline_version")
    number = int(existing.max() or 0) + 1
    version = pl.DataFrame(
        [[project_id, number, effective_from, reason, "tickets", frozen_at, None, None]],
        schema=VERSION_SCHEMA,
        orient="row",
    )
    frozen = mine.with_columns(
        baseline_version=pl.lit(number, pl.Int64),
        effective_from=pl.lit(effective_from),
        reason=pl.lit(reason),
    )
    return version, _conform(frozen)


def assemble(
    file_elements: pl.DataFrame, frozen_versions: pl.DataFrame, frozen_elements: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every version of every project: the baseline files' and MS Project plans' versions (staging.baselines)
    and the frozen ones (plans). Returns (versions, elements)."""
    elements = _in_order(pl.concat([_conform(file_elements), _conform(frozen_elements)], how="vertical"),
                         ["project_id", "baseline_version", "element_key"])  # fmt: skip
    from_files = file_elements.group_by("project_id", "baseline_version").agg(
        pl.col("effective_from").min(),
        pl.col("reason").drop_nulls().first(),
        pl.col("source_kind").drop_nulls().first().fill_null("baseline").alias("source"),
        pl.lit(None, pl.Datetime("us")).alias("frozen_at"),
        pl.col("management_reserve").max(),
        pl.col("contingency").max(),
    )
    listed = pl.concat(
        [from_files.select(list(VERSION_SCHEMA)).cast(VERSION_SCHEMA), frozen_versions.cast(VERSION_SCHEMA)]
    )
    sizes = elements.group_by("project_id", "baseline_version").agg(
        pl.col("budget").sum().cast(MONEY).alias("bac"),
        pl.col("planned_start").min().alias("baseline_start"),
        pl.col("planned_finish").max().alias("baseline_finish"),
        pl.len().alias("elements"),
    )
    versions = listed.join(sizes, on=["project_id", "baseline_version"], how="left").sort(
        "project_id", "baseline_version"
    )
    return versions, elements


def in_force(grid: pl.DataFrame, versions: pl.DataFrame) -> pl.DataFrame:
    """grid (project_id, status_date) with the baseline_version in force: the latest effective on or before the
    status date, else the project's first version."""
    ordered = versions.select("project_id", "baseline_version", "effective_from").sort("effective_from")
    found = grid.sort("status_date").join_asof(
        ordered,
        left_on="status_date",
        right_on="effective_from",
        by="project_id",
        strategy="backward",
        check_sortedness=False,
    )
    first = versions.group_by("project_id").agg(pl.col("baseline_version").min().alias("_first"))
    return (
        found.join(first, on="project_id", how="left")
        .with_columns(baseline_version=pl.coalesce("baseline_version", "_first"))
        .drop("_first", "effective_from")
        .sort("project_id", "status_date")
    )


def _in_order(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """`frame.sort(by)`, without copying a frame already in that order (the warehouse's elements, a million rows at
    portfolio scale, are read in it)."""
    order = frame.select(pl.arg_sort_by(by).alias("i")).get_column("i")
    if order.equals(pl.int_range(frame.height, dtype=order.dtype, eager=True).alias("i")):
        return frame
    return frame[order]


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [(pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in TABLES["baselines"].items()]
    )
