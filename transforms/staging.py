"""Raw rows of every export kind → typed, checked, deduplicated canonical tables, every row accounted for.

Pure: frames in, frames out. Per file: rows in file = loaded + duplicate + skipped + rejected, where
- skipped rows are not data (a totals row), each with its reason;
- rejected rows broke a contract rule (one reject per rule broken);
- duplicate rows say again what a newer file says: the same natural key (issue key and snapshot, worklog id,
  asset tag...), or a worklog inside the dates a corrected re-export of the same scope covers.
A row of a table in REGISTERED that names a project the register does not have is rejected (`unknown_project`),
once there is a register: without one the run stops before the marts anyway, on a check that says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from data_contracts.contract import REJECT_SCHEMA, all_contracts, conform
from transforms import canonical
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
# Tables whose rows only mean something for a project of the register (table → its project column): a row about
# any other project is rejected, so its author sees it on the data-quality page instead of the pack dropping it.
REGISTERED = {"status_reports": "project_id"}
UNKNOWN_PROJECT = "unknown_project"
MAX_DAY_HOURS = 24  # one person's hours on one day in one tool; more is flagged on every worklog of the day
assert all(TABLES.index("projects") < TABLES.index(t) for t in REGISTERED)  # the register is staged first

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
class _KindResult:
    outputs: list[tuple[Reader, pl.DataFrame]]
    rejects: pl.DataFrame
    skipped: pl.DataFrame
    formats: pl.DataFrame
    quarantined: pl.DataFrame  # _source_file, reason


def _stage_kind(kind: str, raw: pl.DataFrame, week_ends_on: str, loaded: dict[int, dt.date] | None) -> _KindResult:
    readers = [r for r in READERS if r.kind == kind]
    reasons = [r.skip(raw) for r in readers if r.skip is not None]
    if reasons:
        marked = raw.with_columns(pl.coalesce(reasons).alias("_skip"))
        skipped = marked.filter(pl.col("_skip").is_not_null()).select(
            "_source_file", pl.col("_line").alias("line"), pl.col("_skip").alias("reason")
        )
        raw = marked.filter(pl.col("_skip").is_null()).drop("_skip")
    else:
        skipped = pl.DataFrame(schema=SKIP_SCHEMA)
    result = conform(raw, all_contracts()[kind], week_ends_on, loaded)
    rejects = result.rejects.select(list(REJECTS_EMPTY.columns)).cast(REJECTS_EMPTY.schema)
    quarantined, rejects = _quarantine(raw, rejects)
    valid = result.typed.filter(
        pl.col("_valid") & ~pl.col("_source_file").is_in(quarantined.get_column("_source_file").implode())
    ).drop("_valid")
    outputs = [(r, canonical.conform_table(r.table, r.read(valid))) for r in readers]
    skipped = skipped.select(list(SKIP_SCHEMA)).cast(SKIP_SCHEMA)
    return _KindResult(outputs, rejects, skipped, result.formats, quarantined)


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


def _superseded(rows: pl.DataFrame, date_col: str) -> pl.DataFrame:
    """The (_scope, date, file) keys that a newer file of the same `_scope` covers: its first..last date
    includes the date. A corrected re-export (a Tempo export of March, re-run after late timesheets) replaces
    what the earlier export said about those dates, deleted worklogs included, instead of adding to it."""
    with duckdb.connect() as conn:
        conn.register("r", rows.select("_scope", pl.col(date_col).alias("d"), "_source_file"))
        return conn.sql(
            """
            WITH spans AS (
                SELECT _scope, _source_file, min(d) AS first_day, max(d) AS last_day
                FROM r WHERE _scope IS NOT NULL GROUP BY ALL
            ),
            keys AS (SELECT DISTINCT _scope, d, _source_file FROM r WHERE _scope IS NOT NULL)
            SELECT DISTINCT k._scope, k.d, k._source_file, true AS _superseded
            FROM keys k JOIN spans s
              ON s._scope = k._scope AND s._source_file > k._source_file AND k.d BETWEEN s.first_day AND s.last_day
            """
        ).pl()


def _dedup_table(table: str, parts: list[tuple[Reader, pl.DataFrame]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per natural key, from the newest file (highest file id), last line first.

    Returns the kept rows and the dropped rows of primary readers (_source_file, reason) for the counts.
    """
    key = list(canonical.KEYS[table])
    frames = [
        frame.with_columns(pl.lit(r.primary).alias("_primary"), pl.lit(r.fallback).alias("_fallback"))
        for r, frame in parts
    ]
    rows = pl.concat(frames, how="diagonal_relaxed") if frames else canonical.empty(table)
    if "_primary" not in rows.columns:
        rows = rows.with_columns(_primary=pl.lit(True), _fallback=pl.lit(False))
    drop_reason = pl.lit(None, pl.String)
    if rows.height and rows.get_column("_fallback").any():
        # Jira's Log Work cells repeat what a timesheet export (Tempo, the worklog report) says in full.
        covered = rows.filter(~pl.col("_fallback")).get_column("item_key").drop_nulls().unique()
        drop_reason = (
            pl.when(pl.col("_fallback") & pl.col("item_key").is_in(covered.implode()))
            .then(pl.lit("a timesheet export carries this item's worklogs"))
            .otherwise(drop_reason)
        )
    date_col = canonical.COVERS.get(table)
    if date_col and "_scope" in rows.columns:
        gone = _superseded(rows, date_col).rename({"d": date_col})
        rows = rows.join(gone, on=["_scope", date_col, "_source_file"], how="left", nulls_equal=False)
        drop_reason = (
            pl.when(drop_reason.is_null() & pl.col("_superseded").fill_null(False))
            .then(pl.lit("replaced by a newer export covering the same dates"))
            .otherwise(drop_reason)
        )
    rows = rows.with_columns(_drop=drop_reason)
    ranked = rows.filter(pl.col("_drop").is_null()).with_columns(
        _rank=pl.int_range(pl.len()).over(key, order_by=["_source_file", "_line"], descending=True)
    )
    kept = ranked.filter(pl.col("_rank") == 0)
    dropped = pl.concat(
        [
            rows.filter(pl.col("_drop").is_not_null() & pl.col("_primary")).select("_source_file", "_drop"),
            ranked.filter((pl.col("_rank") > 0) & pl.col("_primary")).select(
                "_source_file", pl.lit("duplicate key").alias("_drop")
            ),
        ]
    )
    out = kept.select(list(canonical.schema(table))).sort(key, nulls_last=True)
    return out, dropped


def _registered_only(
    parts: list[tuple[Reader, pl.DataFrame]], projects: pl.DataFrame, column: str
) -> tuple[list[tuple[Reader, pl.DataFrame]], pl.DataFrame]:
    """The rows that name a project of the register, and a reject for every other row."""
    known = projects.get_column("project_id").implode()
    kept, rejects = [], [REJECTS_EMPTY]
    for reader, frame in parts:
        unknown = ~pl.col(column).is_in(known)
        kept.append((reader, frame.filter(~unknown)))
        rejects.append(
            frame.filter(unknown).select(
                "_source_file", pl.col("_line").alias("line"), pl.lit(column).alias("column"),
                pl.lit(UNKNOWN_PROJECT).alias("rule"), pl.col(column).alias("raw_value"),
                pl.lit("error").alias("severity"),
            ).cast(REJECTS_EMPTY.schema)
        )  # fmt: skip
    return kept, pl.concat(rejects)


def _covers(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per file, the dates its rows cover, e.g. "worklogs 2026-03-01..2026-03-31"."""
    parts = [
        tables[table]
        .group_by("_source_file")
        .agg(pl.format("{} {}..{}", pl.lit(table), pl.col(day).min(), pl.col(day).max()).alias("covers"))
        for table, day in canonical.COVERS.items()
        if tables[table].height
    ]
    if not parts:
        return pl.DataFrame(schema={"_source_file": pl.Int64, "covers": pl.String})
    return pl.concat(parts).group_by("_source_file").agg(pl.col("covers").sort().str.join("; "))


def _formats(results: dict[str, _KindResult]) -> pl.DataFrame:
    """Per file, what was detected: "Work date: %d/%m/%Y; Hours: decimal comma"."""
    frames = [r.formats for r in results.values() if r.formats.height]
    if not frames:
        return pl.DataFrame(schema={"_source_file": pl.Int64, "formats": pl.String})
    return (
        pl.concat(frames)
        .group_by("_source_file")
        .agg(pl.format("{}: {}", "column", "format").sort().str.join("; ").alias("formats"))
    )


def _warnings(raws: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """A file with exactly as many rows as its tool's export cap (ServiceNow: 10,000) was probably cut."""
    parts = []
    for kind, raw in raws.items():
        cap = all_contracts()[kind].row_cap
        if cap:
            parts.append(
                raw.group_by("_source_file")
                .agg(n=pl.len())
                .filter(pl.col("n") == cap)
                .select(
                    "_source_file",
                    pl.lit(
                        f"exactly {cap:,} rows, the export limit of {all_contracts()[kind].title}: "
                        "the export is probably truncated; export in smaller date ranges"
                    ).alias("warning"),
                )
            )
    if not parts:
        return pl.DataFrame(schema={"_source_file": pl.Int64, "warning": pl.String})
    return pl.concat(parts)


def _day_totals(worklogs: pl.DataFrame) -> pl.DataFrame:
    """A warning on every worklog of a person-day that adds up to more than 24 hours in one tool: no one works
    25 hours in a day, but which of the day's worklogs is wrong is not known, so they load and are shown."""
    person = pl.coalesce("person_source_id", "person_email", "person_name")
    total = pl.col("hours").sum().over("source_kind", person, "work_date")
    return (
        worklogs.filter(person.is_not_null() & pl.col("work_date").is_not_null() & (total > MAX_DAY_HOURS))
        .select(
            "_source_file", pl.col("_line").alias("line"), pl.lit("hours").alias("column"),
            pl.lit(f"max_day_total:{MAX_DAY_HOURS}").alias("rule"),
            pl.format("{} h of {} h on {}", pl.col("hours").cast(pl.Float64).round(2),
                      total.cast(pl.Float64).round(2), "work_date").alias("raw_value"),
            pl.lit("warning").alias("severity"),
        )
        .cast(REJECTS_EMPTY.schema)
    )  # fmt: skip


def stage_all(
    raws: dict[str, pl.DataFrame], week_ends_on: str = "sunday", loaded: dict[int, dt.date] | None = None
) -> Staged:
    """Stage every kind's raw rows (kind → frame of strings with `_source_file`, `_line`) into the
    canonical tables and account for every row of every file. `loaded`: the day each file was loaded (a date
    that has happened, such as a work date, may not be later; see `contract.conform`)."""
    raws = {k: v.cast({"_source_file": pl.Int64}) for k, v in raws.items() if k in KINDS}
    results = {kind: _stage_kind(kind, raws[kind], week_ends_on, loaded) for kind in KINDS if kind in raws}
    by_table: dict[str, list[tuple[Reader, pl.DataFrame]]] = {t: [] for t in TABLES}
    for result in results.values():
        for reader, frame in result.outputs:
            by_table[reader.table].append((reader, frame))
    tables: dict[str, pl.DataFrame] = {}
    dropped = [pl.DataFrame(schema={"_source_file": pl.Int64, "_drop": pl.String})]
    unregistered = [REJECTS_EMPTY]
    for table in TABLES:
        parts = by_table[table]
        if table in REGISTERED and tables["projects"].height:
            parts, unknown = _registered_only(parts, tables["projects"], REGISTERED[table])
            unregistered.append(unknown)
        tables[table], gone = _dedup_table(table, parts)
        dropped.append(gone)
    rejects = pl.concat([REJECTS_EMPTY, *(r.rejects for r in results.values()), *unregistered,
                         _day_totals(tables["worklogs"])], how="vertical_relaxed")  # fmt: skip
    skipped = pl.concat([pl.DataFrame(schema=SKIP_SCHEMA), *(r.skipped for r in results.values())])
    in_file = pl.concat(
        [pl.DataFrame(schema={"_source_file": pl.Int64, "rows_in_file": pl.UInt32})]
        + [raw.group_by("_source_file").agg(rows_in_file=pl.len()) for raw in raws.values()]
    )
    files = (
        in_file.join(rejects.filter(pl.col("severity") != "warning").group_by("_source_file")
                     .agg(rows_rejected=pl.col("line").n_unique()), on="_source_file", how="left")
        .join(skipped.group_by("_source_file").agg(rows_skipped=pl.len()), on="_source_file", how="left")
        .join(pl.concat(dropped).group_by("_source_file").agg(rows_duplicate=pl.len()), on="_source_file",
              how="left")
        .with_columns(pl.col("rows_rejected", "rows_skipped", "rows_duplicate").fill_null(0))
        .with_columns(rows_loaded=pl.col("rows_in_file") - pl.col("rows_rejected") - pl.col("rows_skipped")
                      - pl.col("rows_duplicate"))
        .join(_covers(tables), on="_source_file", how="left")
        .join(_formats(results), on="_source_file", how="left")
        .join(_warnings(raws), on="_source_file", how="left")
    )  # fmt: skip
    return Staged(
        tables=tables,
        rejects=rejects.sort("_source_file", "line", "column", "rule"),
        skipped=skipped.sort("_source_file", "line"),
        files=files.select(list(FILE_SCHEMA)).cast(FILE_SCHEMA).sort("_source_file"),
        quarantined=pl.concat(
            [pl.DataFrame(schema={"_source_file": pl.Int64, "reason": pl.String})]
            + [r.quarantined for r in results.values()]
        ),
    )
