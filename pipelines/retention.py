"""[retention]: how long a run keeps what it has already loaded. Applied by every ingest (pipelines/ingest.py), after
staging is rebuilt, so it sees which raw rows staging still uses; each removal is a row in audit.retention.

- `raw_days`: the raw rows of an export that newer exports have replaced entirely (no row of it loaded: each one a
  duplicate, skipped or rejected) are deleted once the export was loaded that many days ago, in the ingest's own
  transaction. Staging and the figures do not change, since no staging row came from them; the export keeps its row
  in audit.files with its accounting (rows in file = loaded + duplicate + skipped + rejected), its rejects and its
  skipped rows as they were.
- `inbox_days`: a file in the run's inbox is deleted once it was loaded that many days ago. Its rows stay in raw.*,
  so staging does not change, and a copy dropped again is known by its SHA-256 and not loaded twice.

No Dagster import here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from pipelines import warehouse
from pipelines.home import RetentionSettings
from transforms.ingest import display_name, recorded_path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def prune_raw(conn: duckdb.DuckDBPyConnection, settings: RetentionSettings) -> list[str]:
    """Delete the raw rows of replaced exports loaded `raw_days` ago or earlier; one line per export."""
    if settings.raw_days is None:
        return []
    now = _now()
    cutoff = now - dt.timedelta(days=settings.raw_days)
    files = conn.sql(
        "SELECT file_id, path, source_kind FROM audit.files WHERE status = 'parsed' AND source_kind IS NOT NULL"
        " AND rows_loaded = 0 AND rows_duplicate > 0 AND loaded_at <= ? ORDER BY file_id",
        params=[cutoff],
    ).fetchall()
    done = []
    for file_id, path, kind in files:  # one per export file, not per row
        if not warehouse.table_exists(conn, "raw", kind):
            continue
        rows = conn.sql(f"SELECT count(*) FROM raw.{kind} WHERE _source_file = ?", params=[file_id]).fetchall()[0][0]
        if not rows:
            continue
        used = sum(
            conn.sql(f"SELECT count(*) FROM staging.{table} WHERE _source_file = ?", params=[file_id]).fetchall()[0][0]
            for table in _tables(conn, "staging")
        )
        if used:  # the accounting said otherwise: keep them (never lose a row staging reads)
            continue
        conn.sql(f"DELETE FROM raw.{kind} WHERE _source_file = ?", params=[file_id])
        for table in _tables(conn, "conformed"):  # its candidate rows, none of them kept by the merge
            conn.sql(f"DELETE FROM conformed.{table} WHERE _source_file = ?", params=[file_id])
        conn.sql("DELETE FROM audit.staged_files WHERE file_id = ?", params=[file_id])
        conn.sql(
            "INSERT INTO audit.retention VALUES (?, 'raw rows removed', ?, ?, ?)", params=[now, file_id, path, rows]
        )
        done.append(f"retention: {rows} raw row(s) of {path} removed (a newer export holds them all)")
    return done


def _tables(conn: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [r[0] for r in conn.sql(
        "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ?"
        " AND column_name = '_source_file' ORDER BY ALL", params=[schema]
    ).fetchall()]  # fmt: skip


def delete_inbox_files(conn: duckdb.DuckDBPyConnection, inbox: Path, settings: RetentionSettings) -> list[str]:
    """Delete the inbox files loaded `inbox_days` ago or earlier (the same content, by SHA-256); one line each."""
    if settings.inbox_days is None or not inbox.is_dir():
        return []
    from pipelines.ingest import inbox_files

    now = _now()
    cutoff = now - dt.timedelta(days=settings.inbox_days)
    loaded = dict(conn.sql(
        "SELECT sha256, file_id FROM audit.files WHERE loaded_at <= ?", params=[cutoff]
    ).fetchall())  # fmt: skip
    done = []
    for path in inbox_files(inbox):  # files, not rows
        file_id = loaded.get(hashlib.sha256(path.read_bytes()).hexdigest())
        if file_id is None:
            continue
        relative = recorded_path(path.relative_to(inbox).as_posix())  # a non-UTF-8 name as \xNN text
        path.unlink()
        conn.sql(
            "INSERT INTO audit.retention VALUES (?, 'inbox file deleted', ?, ?, 0)", params=[now, file_id, relative]
        )
        done.append(
            f"retention: inbox file {display_name(relative)} deleted (loaded before {cutoff:%Y-%m-%d %H:%M}; "
            "its rows are kept)"
        )
    return done
