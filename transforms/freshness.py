"""How fresh each source is at a status date: the newest day its data covers, read from the data, never from
file times, so the same warehouse gives the same answer on every run.

A kind whose rows are dated (DATED) is as fresh as its newest dated row still in staging: the last day a worklog was
logged, the last Jira or ServiceNow snapshot, the last week a scheduling tool reported actuals. A kind whose rows
carry no date (asset and licence lists, the register files) is as fresh as the date its file name carries
(`assets_2026-06-28.csv`, Snipe-IT's `assets-2026-06-28-101500.csv`); without one its date is unknown, and a
source with a maximum age and an unknown date is stale. Reference data (REFERENCE_KINDS: the register, the
mapping, baselines and plans, rates, people, aliases, holidays, sprints, the risk register) has no maximum age
unless the settings give it one: it is right until someone changes it, however old the file.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.staging import READERS

# Staging table → (its date column, which rows count: None = every row). The scheduling tool's rows after its last
# status date with actuals carry the plan only: they say nothing about how fresh the actuals are.
DATED: dict[str, tuple[str, pl.Expr | None]] = {
    "work_items": ("snapshot_date", None),
    "worklogs": ("work_date", None),
    "evm_status": ("status_date", pl.col("ev").is_not_null() | pl.col("ac").is_not_null()),
    "risks": ("review_date", None),
    "status_reports": ("status_date", None),
}
# The staging columns `file_dates` reads, besides `_source_file`.
DATED_COLUMNS: dict[str, list[str]] = {
    t: [c, *(["ev", "ac"] if t == "evm_status" else [])] for t, (c, _) in DATED.items()
}
REFERENCE_KINDS = frozenset(
    {"project_register", "project_map", "baseline", "mspdi_tasks", "rate_card", "people", "person_aliases",
     "holidays", "sprints", "risk_register"}
)  # fmt: skip
FILE_NAME = "file name"
COLUMNS = {
    "status_date": pl.Date, "source_kind": pl.String, "files": pl.Int64, "latest_export_file": pl.String,
    "data_through": pl.Date, "age_days": pl.Int64, "max_age_days": pl.Int64, "stale": pl.Boolean,
    "dated_by": pl.String,
}  # fmt: skip


def dated_by() -> dict[str, str]:
    """Export kind → what dates it: the staging columns of its dated tables ("worklogs.work_date")."""
    out: dict[str, list[str]] = {}
    for reader in READERS:
        if reader.table in DATED:
            out.setdefault(reader.kind, []).append(f"{reader.table}.{DATED[reader.table][0]}")
    return {kind: ", ".join(sorted(set(tables))) for kind, tables in out.items()}


def file_dates(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Grain: one row per file with dated rows in staging: file_id, day (the newest date its rows cover).

    tables: the DATED staging tables, each with `_source_file` and DATED_COLUMNS."""
    parts = []
    for table, (column, keep) in DATED.items():
        rows = tables.get(table)
        if rows is None or rows.height == 0:
            continue
        rows = rows if keep is None else rows.filter(keep)
        parts.append(rows.select(pl.col("_source_file").cast(pl.Int64).alias("file_id"), pl.col(column).alias("day")))
    frames = [p for p in parts if p.height]
    if not frames:
        return pl.DataFrame(schema={"file_id": pl.Int64, "day": pl.Date})
    return pl.concat(frames).drop_nulls("day").group_by("file_id").agg(pl.col("day").max()).sort("file_id")


def source_freshness(
    files: pl.DataFrame,
    tables: dict[str, pl.DataFrame],
    status_date: dt.date,
    *,
    max_age_days: int = 14,
    per_source: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Grain: one row per export kind with at least one loaded file (marts.source_freshness): COLUMNS.

    files: audit.files (file_id, path, source_kind, status); only files that loaded (status 'parsed') count.
    data_through is the newest day the kind's data covers; age_days = status_date − data_through, 0 when the data
    runs past the status date; stale when age_days > max_age_days, or when the date is unknown and a maximum
    applies. max_age_days: per_source's value for the kind, else none for reference data, else `max_age_days`.
    """
    per_source = per_source or {}
    by_kind = dated_by()
    loaded = files.filter((pl.col("status") == "parsed") & pl.col("source_kind").is_not_null())
    from_name = (
        pl.col("path").str.split("/").list.last().str.extract_all(r"\d{4}-\d{2}-\d{2}").list.last()
        .str.to_date("%Y-%m-%d", strict=False)
    )  # fmt: skip
    dated_kind = pl.col("source_kind").is_in(list(by_kind))
    per_file = (
        loaded.select("file_id", "path", "source_kind")
        .join(file_dates(tables), on="file_id", how="left")
        .with_columns(day=pl.when(dated_kind).then(pl.col("day")).otherwise(from_name))
    )
    limit = (
        pl.col("source_kind")
        .replace_strict(per_source, default=None, return_dtype=pl.Int64)
        .fill_null(pl.when(pl.col("source_kind").is_in(list(REFERENCE_KINDS))).then(None).otherwise(max_age_days))
    )
    age = (pl.lit(status_date) - pl.col("data_through")).dt.total_days()
    out = (
        per_file.group_by("source_kind")
        .agg(
            files=pl.len(),
            latest_export_file=pl.col("path").sort_by("day", "file_id", nulls_last=False).last(),
            data_through=pl.col("day").max(),
        )
        .with_columns(
            status_date=pl.lit(status_date),
            age_days=age.clip(lower_bound=0),
            max_age_days=limit,
            dated_by=pl.col("source_kind").replace_strict(by_kind, default=FILE_NAME, return_dtype=pl.String),
        )
        .with_columns(
            stale=pl.when(pl.col("max_age_days").is_null())
            .then(False)
            .otherwise((pl.col("age_days") > pl.col("max_age_days")).fill_null(True))
        )
    )
    return out.select([pl.col(c).cast(t) for c, t in COLUMNS.items()]).sort("source_kind")
