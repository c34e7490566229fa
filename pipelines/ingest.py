"""Inbox → raw → staging, in one transaction: every row of every file is loaded or accounted for.

Raw tables are append-only and keyed by the file's SHA-256, so the same file twice loads once; staging is
rebuilt from all raw rows each run, so a run is idempotent and a corrected re-export replaces what an
earlier export said for the same natural keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.contract import all_contracts
from pipelines import warehouse
from pipelines.faults import crash_point
from pipelines.home import RetentionSettings
from pipelines.retention import delete_inbox_files, prune_raw
from transforms import resolve
from transforms.canonical import KEYS
from transforms.erasure import apply_erasure_list
from transforms.ingest import display_name, parse_export, recorded_path
from transforms.staging import KINDS, stage_all


@dataclass
class IngestSummary:
    new_files: int = 0
    skipped_known: int = 0
    problems: list[str] = field(default_factory=list)
    staging_rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # "load" (files → raw) and "staging", wall time
    retention: list[str] = field(default_factory=list)  # what [retention] removed, one line each


def inbox_files(inbox: Path) -> list[Path]:
    """Every regular file under the inbox, in path order; hidden files and symlinks are not exports."""
    return sorted(
        p
        for p in inbox.rglob("*")
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    )


def _read_regular(path: Path) -> bytes:
    """A file's bytes, refusing a symbolic link even if one replaced the file after the listing."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read()


def load_new_files(conn: duckdb.DuckDBPyConnection, inbox: Path, summary: IngestSummary) -> None:
    known = {r[0] for r in conn.sql("SELECT sha256 FROM audit.files").fetchall()}
    next_id = conn.sql("SELECT coalesce(max(file_id), 0) + 1 FROM audit.files").fetchall()[0][0]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    for path in inbox_files(inbox):
        relative = recorded_path(path.relative_to(inbox).as_posix())
        try:
            data = _read_regular(path)
        except OSError as exc:  # gone, or swapped for a symbolic link, since the listing: the next run sees it
            summary.problems.append(f"{display_name(relative)}: not read ({exc.strerror or exc})")
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in known:
            summary.skipped_known += 1
            continue
        known.add(sha)
        parsed = parse_export(relative, data)
        file_id, next_id = next_id, next_id + 1
        rows = None if parsed.rows is None else parsed.rows.height
        conn.execute(
            "INSERT INTO audit.files (file_id, path, sha256, size, source_kind, encoding, delimiter, rows_in_file,"
            " rows_loaded, rows_duplicate, rows_skipped, rows_rejected, status, message, loaded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?)",
            [file_id, relative, sha, len(data), parsed.kind, parsed.encoding, parsed.delimiter, rows,
             rows if parsed.status == "rejected" else 0, parsed.status, parsed.message, now],
        )  # fmt: skip
        summary.new_files += 1
        if parsed.status in ("unreadable", "unrecognised"):
            summary.problems.append(parsed.message)
        elif parsed.status == "rejected":
            summary.problems.append(parsed.message)
            quarantined = parsed.rows.select(
                pl.lit(file_id).alias("file_id"),
                pl.col("_line").alias("line"),
                pl.lit(None, pl.String).alias("column"),
                pl.lit("file quarantined: " + parsed.reason).alias("rule"),
                pl.lit(None, pl.String).alias("raw_value"),
                pl.lit("critical").alias("severity"),
                pl.lit("file").alias("stage"),
            )
            conn.register("_q", quarantined)
            conn.sql("INSERT INTO audit.rejects SELECT * FROM _q")
            conn.unregister("_q")
        else:
            raw = parsed.rows.with_columns(pl.lit(file_id, pl.Int64).alias("_source_file"))
            warehouse.append_raw(conn, f"raw.{parsed.kind}", raw)
            erased = apply_erasure_list(conn, f"raw.{parsed.kind}", file_id)
            if erased:  # an old export re-dropped after `pmo forget`: the person does not come back
                summary.problems.append(
                    f"{display_name(relative)}: {erased} row(s) name a person erased by `pmo forget`; they were "
                    "pseudonymised as they were loaded (delete the file from the inbox)"
                )


def _raw(conn: duckdb.DuckDBPyConnection, kind: str) -> pl.DataFrame:
    if warehouse.table_exists(conn, "raw", kind):
        return warehouse.read(conn, f"raw.{kind}")
    contract = all_contracts()[kind]
    schema = {c.name: pl.String for c in contract.columns} | {"_line": pl.Int64, "_source_file": pl.Int64}
    return pl.DataFrame(schema=schema)


def _check_raw_complete(conn: duckdb.DuckDBPyConnection, raws: dict[str, pl.DataFrame]) -> None:
    """Every raw row the warehouse counts is in the frames staging reads, or the run stops (and rolls back)
    instead of losing rows silently: a guard against engine faults, such as the one `append_raw` avoids."""
    for kind, frame in raws.items():
        if warehouse.table_exists(conn, "raw", kind):
            stored = conn.sql(f"SELECT count(*) FROM raw.{kind}").fetchall()[0][0]
            if stored != frame.height:
                raise RuntimeError(f"raw.{kind} holds {stored} rows but {frame.height} were read back; nothing saved")


def rebuild_staging(conn: duckdb.DuckDBPyConnection, summary: IngestSummary, week_ends_on: str) -> None:
    """Stage every raw row again (so a run is idempotent) and write the per-file accounting."""
    raws = {kind: _raw(conn, kind) for kind in KINDS}
    _check_raw_complete(conn, raws)
    loaded = dict(conn.sql("SELECT file_id, CAST(loaded_at AS DATE) FROM audit.files").fetchall())
    staged = stage_all(raws, week_ends_on, loaded)
    tables = dict(staged.tables)
    tables["work_items"] = resolve.work_items(tables["work_items"], tables["project_map"])
    tables["worklogs"] = resolve.worklogs(
        tables["worklogs"], tables["work_items"], tables["project_map"], tables["people"], tables["person_aliases"]
    )
    tables["assets"] = resolve.assets(tables["assets"], tables["project_map"])
    tables["licences"] = resolve.assets(tables["licences"], tables["project_map"])
    for table, frame in tables.items():
        summary.staging_rows[table] = warehouse.replace_table(conn, f"staging.{table}", frame, list(KEYS[table]))
    crash_point("ingest")  # tests/reliability: killed with staging replaced and the transaction not committed
    # An export whose raw rows [retention] removed keeps its rejects and skipped rows (and its accounting in
    # audit.files, which only files with raw rows get again), as it was when they were removed.
    pruned = "SELECT file_id FROM audit.retention WHERE action = 'raw rows removed'"
    conn.sql(f"DELETE FROM audit.rejects WHERE stage = 'row' AND file_id NOT IN ({pruned})")
    conn.register("_r", staged.rejects)
    conn.sql(
        "INSERT INTO audit.rejects SELECT _source_file, line, \"column\", rule, raw_value, severity, 'row' FROM _r"
    )
    conn.sql(
        'CREATE OR REPLACE TABLE audit.rejects AS SELECT * FROM audit.rejects ORDER BY file_id, line, "column", rule'
    )
    conn.register("_s", staged.skipped)
    conn.sql(
        "CREATE OR REPLACE TABLE audit.skipped AS SELECT * FROM (SELECT _source_file AS file_id, line, reason FROM _s"
        f" UNION ALL SELECT * FROM audit.skipped WHERE file_id IN ({pruned})) ORDER BY ALL"
    )
    conn.register("_c", staged.files)
    conn.sql(
        """
        UPDATE audit.files f SET rows_in_file = c.rows_in_file, rows_loaded = c.rows_loaded,
            rows_duplicate = c.rows_duplicate, rows_skipped = c.rows_skipped, rows_rejected = c.rows_rejected,
            covers = c.covers, formats = c.formats,
            message = CASE WHEN c.warning IS NULL OR f.message LIKE '%' || c.warning || '%' THEN f.message
                           ELSE concat_ws('; ', nullif(f.message, ''), c.warning) END
        FROM _c c WHERE f.file_id = c._source_file
        """
    )
    conn.register("_q", staged.quarantined)
    conn.sql(
        "UPDATE audit.files f SET status = 'rejected', message = q.reason FROM _q q WHERE f.file_id = q._source_file"
    )
    for name in ("_r", "_s", "_c", "_q"):
        conn.unregister(name)
    paths = conn.sql("SELECT file_id AS _source_file, path FROM audit.files").pl()
    notes = pl.concat(
        [
            staged.quarantined.select("_source_file", pl.format("quarantined: {}", "reason").alias("note")),
            staged.files.filter(pl.col("warning").is_not_null()).select(
                "_source_file", pl.col("warning").alias("note")
            ),
        ]
    )
    noted = notes.join(paths, on="_source_file").select("path", "note").rows()
    summary.problems.extend(f"{display_name(path)}: {note}" for path, note in noted)


def ingest(
    conn: duckdb.DuckDBPyConnection,
    inbox: Path,
    week_ends_on: str = "sunday",
    retention: RetentionSettings | None = None,
) -> IngestSummary:
    """Load the inbox's new files and rebuild staging, all or nothing; then apply [retention] (pipelines/retention.py):
    raw rows nothing uses any more go in the same transaction, inbox files after it."""
    summary = IngestSummary()
    conn.sql("BEGIN TRANSACTION")
    try:
        started = time.perf_counter()
        load_new_files(conn, inbox, summary)
        loaded = time.perf_counter()
        rebuild_staging(conn, summary, week_ends_on)
        if retention is not None:
            summary.retention.extend(prune_raw(conn, retention))
        conn.sql("COMMIT")
        summary.seconds = {"load": round(loaded - started, 3), "staging": round(time.perf_counter() - loaded, 3)}
    except BaseException:
        conn.sql("ROLLBACK")
        raise
    if retention is not None:
        summary.retention.extend(delete_inbox_files(conn, inbox, retention))
    return summary
