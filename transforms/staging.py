"""Raw rows of every export kind → typed, checked, deduplicated canonical tables, every row accounted for.

Two steps. `stage_kind` types and checks one kind's files on their own (the pipeline does it once per file, as
it is loaded, and keeps the candidate rows in conformed.*); transforms/merge.py merges every file's candidates
into one row per natural key, in SQL. Per file: rows in file = loaded + duplicate + skipped + rejected, where
- skipped rows are not data (a totals row), each with its reason;
- rejected rows broke a contract rule (one reject per rule broken), or name a project the register does not have;
- duplicate rows say again what a newer file says: the same natural key (issue key and snapshot, worklog id,
  asset tag...), or a worklog inside the dates a corrected re-export of the same scope covers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from data_contracts.contract import REJECT_SCHEMA, all_contracts, conform
from transforms import canonical, merge
from transforms.readers import (
    clockify,
    evm_status,
    glpi,
    harvest,
    itam,
    jira,
    jira_worklog_report,
    mspdi,
    pmo_inputs,
    servicenow,
    snipeit,
    tempo,
    toggl,
)
from transforms.readers.common import Reader

READERS: list[Reader] = [
    *jira.READERS,
    *servicenow.READERS,
    *glpi.READERS,
    *tempo.READERS,
    *jira_worklog_report.READERS,
    *harvest.READERS,
    *clockify.READERS,
    *toggl.READERS,
    *snipeit.READERS,
    *itam.READERS,
    *mspdi.READERS,
    *evm_status.READERS,
    *pmo_inputs.READERS,
]
KINDS: list[str] = list(dict.fromkeys(r.kind for r in READERS))
TABLES: list[str] = list(canonical.TABLES)

FILE_SCHEMA = {
    "_source_file": pl.Int64,
    "rows_in_file": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_duplicate": pl.Int64,
    "rows_skipped": pl.Int64,
    "rows_rejected": pl.Int64,
    "covers": pl.String,
    "formats": pl.String,
    "warning": pl.String,
}
SKIP_SCHEMA = {"_source_file": pl.Int64, "line": pl.Int64, "reason": pl.String}
REJECTS_EMPTY = pl.DataFrame(schema={"_source_file": pl.Int64} | REJECT_SCHEMA)


@dataclass(frozen=True)
class Staged:
    tables: dict[str, pl.DataFrame]  # canonical table → rows, one per natural key, sorted by it
    rejects: pl.DataFrame  # _source_file, line, column, rule, raw_value
    skipped: pl.DataFrame  # SKIP_SCHEMA
    files: pl.DataFrame  # FILE_SCHEMA: one row per file with rows
    quarantined: pl.DataFrame  # _source_file, reason: files a critical rule stopped


@dataclass(frozen=True)
class KindStage:
    """What staging makes of the files of one kind on their own, before they meet the other files of the table
    (transforms/merge.py): typed candidate rows per canonical table, and each file's rejects, skipped rows,
    formats and warnings. The pipeline keeps it per file (conformed.*), so a file is typed once."""

    rows: dict[str, pl.DataFrame]  # canonical table → candidate rows (canonical.candidate_schema)
    rejects: pl.DataFrame  # REJECTS_EMPTY
    skipped: pl.DataFrame  # SKIP_SCHEMA
    notes: pl.DataFrame  # NOTE_SCHEMA: per file with rows, the formats detected and a warning
    quarantined: pl.DataFrame  # _source_file, reason


NOTE_SCHEMA = {"_source_file": pl.Int64, "rows_in_file": pl.Int64, "formats": pl.String, "warning": pl.String}
# Kinds whose contract compares values across files (`same_within`): their files are staged together, every time.
CROSS_FILE_KINDS = frozenset(k for k, c in all_contracts().items() if any(col.same_within for col in c.columns))


def stage_kind(kind: str, raw: pl.DataFrame, week_ends_on: str, loaded: dict[int, dt.date] | None) -> KindStage:
    """Skip, type and check the raw rows of one kind's files (`_source_file`, `_line`, contract text columns),
    quarantine a file that broke a critical rule, and read the valid rows into candidate canonical rows."""
    raw = raw.cast({"_source_file": pl.Int64})
    readers = [r for r in READERS if r.kind == kind]
    reasons = [r.skip(raw) for r in readers if r.skip is not None]
    in_file = raw.group_by("_source_file").agg(rows_in_file=pl.len().cast(pl.Int64))
    if reasons:
        marked = raw.with_columns(pl.coalesce(reasons).alias("_skip"))
        skipped = marked.filter(pl.col("_skip").is_not_null()).select(
            "_source_file", pl.col("_line").alias("line"), pl.col("_skip").alias("reason")
        )
        raw = marked.filter(pl.col("_skip").is_null()).drop("_skip")
    else:
        skipped = pl.DataFrame(schema=SKIP_SCHEMA)
    result = conform(raw, all_contracts()[kind], week_ends_on, loaded)
    typed, formats = result.typed, result.formats
    rejects = result.rejects.select(list(REJECTS_EMPTY.columns)).cast(REJECTS_EMPTY.schema)
    del result
    quarantined, rejects = _quarantine(raw, rejects)
    keep = pl.col("_valid") & ~pl.col("_source_file").is_in(quarantined.get_column("_source_file").implode())
    # Filtered only when a row goes: a filter copies every column (a million issues' typed rows, beside them at the
    # first load's peak memory), dropping _valid does not.
    valid = (typed if typed.select(keep.fill_null(False).all()).item() else typed.filter(keep)).drop("_valid")
    del typed
    by_table: dict[str, list[pl.DataFrame]] = {}
    for r in readers:
        frame = canonical.conform_table(r.table, r.read(valid))
        flags = frame.with_columns(_primary=pl.lit(r.primary), _fallback=pl.lit(r.fallback))
        by_table.setdefault(r.table, []).append(flags)
    rows = {
        table: canonical.as_candidates(table, pl.concat(frames, how="diagonal_relaxed"))
        for table, frames in by_table.items()
    }
    notes = (
        in_file.join(_formats(formats), on="_source_file", how="left")
        .join(_warnings(kind, in_file), on="_source_file", how="left")
        .select(list(NOTE_SCHEMA))
        .cast(NOTE_SCHEMA)
        .sort("_source_file")
    )
    skipped = skipped.select(list(SKIP_SCHEMA)).cast(SKIP_SCHEMA)
    return KindStage(rows, rejects, skipped, notes, quarantined)


def _quarantine(raw: pl.DataFrame, rejects: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Files that break a critical rule are quarantined before they are merged: none of their rows load,
    and every row without a reject of its own gets one naming the rule that stopped the file."""
    first = (
        rejects.filter(pl.col("severity") == "critical")
        .sort("_source_file", "line")
        .group_by("_source_file", maintain_order=True)
        .first()
        .select(
            "_source_file",
            pl.format("critical rule {} broken on line {}, column {}", "rule", "line", "column").alias("reason"),
        )
    )
    if first.height == 0:
        return first, rejects
    own = rejects.filter(pl.col("severity") != "warning").select("_source_file", pl.col("line").alias("_line"))
    rest = (
        raw.select("_source_file", "_line")
        .join(first, on="_source_file")
        .join(own, on=["_source_file", "_line"], how="anti")
        .select(
            "_source_file",
            pl.col("_line").alias("line"),
            pl.lit(None, pl.String).alias("column"),
            pl.format("file quarantined: {}", "reason").alias("rule"),
            pl.lit(None, pl.String).alias("raw_value"),
            pl.lit("critical").alias("severity"),
        )
    )
    return first, pl.concat([rejects, rest.cast(REJECTS_EMPTY.schema)])


def _formats(formats: pl.DataFrame) -> pl.DataFrame:
    """Per file, what was detected: "Work date: %d/%m/%Y; Hours: decimal comma"."""
    return formats.group_by("_source_file").agg(
        pl.format("{}: {}", "column", "format").sort().str.join("; ").alias("formats")
    )


def _warnings(kind: str, in_file: pl.DataFrame) -> pl.DataFrame:
    """A file with exactly as many rows as its tool's export cap (ServiceNow: 10,000) was probably cut."""
    contract = all_contracts()[kind]
    if not contract.row_cap:
        return pl.DataFrame(schema={"_source_file": pl.Int64, "warning": pl.String})
    warning = (
        f"exactly {contract.row_cap:,} rows, the export limit of {contract.title}: "
        "the export is probably truncated; export in smaller date ranges"
    )
    return in_file.filter(pl.col("rows_in_file") == contract.row_cap).select(
        "_source_file", pl.lit(warning).alias("warning")
    )


def accounting(
    in_file: pl.DataFrame, rejected: pl.DataFrame, skipped: pl.DataFrame, duplicates: pl.DataFrame
) -> pl.DataFrame:
    """Per file (`in_file`: _source_file, rows_in_file), rows in file = loaded + duplicate + skipped + rejected:
    `rejected` (_source_file, rows_rejected: lines with an error or critical reject), `skipped` (_source_file,
    rows_skipped), `duplicates` (_source_file, rows_duplicate)."""
    counts = ["rows_rejected", "rows_skipped", "rows_duplicate"]
    out = in_file.select("_source_file", "rows_in_file")
    for frame in (rejected, skipped, duplicates):
        out = out.join(frame, on="_source_file", how="left")
    out = out.with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
    return out.with_columns(rows_loaded=pl.col("rows_in_file") - pl.sum_horizontal(counts))


def rejected_lines(rejects: pl.DataFrame) -> pl.DataFrame:
    """Per file, the lines an error or critical reject stopped (a warning leaves its row loaded)."""
    return (
        rejects.filter(pl.col("severity") != "warning")
        .group_by("_source_file")
        .agg(rows_rejected=pl.col("line").n_unique())
    )


def stage_all(
    raws: dict[str, pl.DataFrame], week_ends_on: str = "sunday", loaded: dict[int, dt.date] | None = None
) -> Staged:
    """Stage every kind's raw rows (kind → frame of strings with `_source_file`, `_line`) into the
    canonical tables and account for every row of every file, in memory: what the pipeline does per file and
    in the warehouse (pipelines/ingest.py), for tests and tools. `loaded`: the day each file was loaded (a date
    that has happened, such as a work date, may not be later; see `contract.conform`)."""
    stages = [stage_kind(kind, raws[kind], week_ends_on, loaded) for kind in KINDS if kind in raws]
    with duckdb.connect() as conn:
        merge.create_candidates(conn, "conformed")
        for stage in stages:
            merge.append_candidates(conn, "conformed", stage.rows)
        merged = merge.merge(conn, "conformed")
        tables = {
            table: conn.sql(f"SELECT * FROM {merge.kept(table)} ORDER BY {', '.join(canonical.KEYS[table])}")
            .pl()
            .cast(canonical.schema(table))
            for table in TABLES
        }
    rejects = pl.concat(
        [REJECTS_EMPTY, *(s.rejects for s in stages), merged.rejects.cast(REJECTS_EMPTY.schema)],
        how="vertical_relaxed",
    )
    skipped = pl.concat([pl.DataFrame(schema=SKIP_SCHEMA), *(s.skipped for s in stages)])
    notes = pl.concat([pl.DataFrame(schema=NOTE_SCHEMA), *(s.notes for s in stages)])
    files = (
        accounting(
            notes,
            rejected_lines(rejects),
            skipped.group_by("_source_file").agg(rows_skipped=pl.len()),
            merged.duplicates,
        )
        .join(merged.covers, on="_source_file", how="left")
        .join(notes.select("_source_file", "formats", "warning"), on="_source_file", how="left")
    )
    return Staged(
        tables=tables,
        rejects=rejects.sort("_source_file", "line", "column", "rule"),
        skipped=skipped.sort("_source_file", "line"),
        files=files.select(list(FILE_SCHEMA)).cast(FILE_SCHEMA).sort("_source_file"),
        quarantined=pl.concat(
            [pl.DataFrame(schema={"_source_file": pl.Int64, "reason": pl.String})] + [s.quarantined for s in stages]
        ),
    )
