"""Reading and writing the DuckDB warehouse: tables are replaced whole, in natural-key order."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from pipelines.dictionary import comment_statements
from transforms import duck

SCHEMAS = ("raw", "conformed", "staging", "marts", "audit", "plans", "history")

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit.files (
    file_id BIGINT PRIMARY KEY,
    path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    source_kind VARCHAR,
    encoding VARCHAR,
    delimiter VARCHAR,
    rows_in_file BIGINT,
    rows_loaded BIGINT,
    rows_duplicate BIGINT,
    rows_skipped BIGINT,
    rows_rejected BIGINT,
    covers VARCHAR,  -- what the file's rows cover: "worklogs 2026-03-01..2026-03-31"
    formats VARCHAR,  -- date formats and decimal commas detected in the file, per column
    status VARCHAR NOT NULL,  -- parsed | rejected (quarantined) | unreadable | unrecognised
    message VARCHAR,
    loaded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS audit.rejects (
    file_id BIGINT NOT NULL,
    line BIGINT,
    "column" VARCHAR,
    rule VARCHAR NOT NULL,
    raw_value VARCHAR,
    severity VARCHAR NOT NULL,  -- error: row rejected; warning: row loaded, finding kept; critical: file stopped
    stage VARCHAR NOT NULL  -- 'file': the whole file was quarantined; 'row': a row rule in staging
);
-- Frozen baselines: written by `pmo baseline freeze` (and the first run for a project planned only in tickets),
-- never rebuilt from the exports.
CREATE TABLE IF NOT EXISTS plans.baseline_versions (
    project_id VARCHAR NOT NULL,
    baseline_version BIGINT NOT NULL,
    effective_from DATE NOT NULL,
    reason VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    frozen_at TIMESTAMP NOT NULL,
    management_reserve DECIMAL(18, 4),
    contingency DECIMAL(18, 4),
    PRIMARY KEY (project_id, baseline_version)
);
CREATE TABLE IF NOT EXISTS plans.baselines (
    project_id VARCHAR NOT NULL, baseline_version BIGINT NOT NULL, effective_from DATE, reason VARCHAR,
    element_key VARCHAR NOT NULL, element_name VARCHAR, cost_category VARCHAR, budget DECIMAL(18, 4),
    planned_start DATE, planned_finish DATE, is_milestone BOOLEAN, source_kind VARCHAR, ev_technique VARCHAR,
    weight DOUBLE, parent_key VARCHAR, management_reserve DECIMAL(18, 4), contingency DECIMAL(18, 4),
    PRIMARY KEY (project_id, baseline_version, element_key)
);
-- The figures as sent: a week whose pack was e-mailed is frozen; later corrections show as restatements.
CREATE TABLE IF NOT EXISTS history.evm_sent (
    project_id VARCHAR NOT NULL,
    status_date DATE NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    baseline_version BIGINT, bac DECIMAL(18, 4), pv DECIMAL(18, 4), ev DECIMAL(18, 4), ac DECIMAL(18, 4),
    eac DECIMAL(18, 4), cpi DOUBLE, spi DOUBLE, spi_t DOUBLE, forecast_finish DATE,
    PRIMARY KEY (project_id, status_date)
);
-- The e-mail ledger: at most one delivery per (status date, audience, recipient) and transport. 'sending' is
-- written and committed before the SMTP call and 'sent' after; a 'sending' left behind by a crash is reported,
-- never resent on its own. `pmo send` adds a further attempt on purpose.
CREATE TABLE IF NOT EXISTS history.deliveries (
    status_date DATE NOT NULL,
    audience VARCHAR NOT NULL,  -- leadership | sponsors
    recipient VARCHAR NOT NULL,
    attempt BIGINT NOT NULL,
    state VARCHAR NOT NULL,  -- sending | sent | failed (refused or unreachable: certainly not sent)
    transport VARCHAR NOT NULL,  -- smtp | outbox (the dry run's .eml files)
    message_id VARCHAR,
    subject VARCHAR,
    detail VARCHAR,  -- where it went, or why it failed
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (status_date, audience, recipient, attempt)
);
CREATE TABLE IF NOT EXISTS audit.skipped (
    file_id BIGINT NOT NULL,
    line BIGINT NOT NULL,
    reason VARCHAR NOT NULL  -- why the row is not data, e.g. a totals row
);
-- The files whose raw rows are typed, checked and read into conformed.* (pipelines/ingest.py), by the staging code
-- and settings they were staged with: a file is staged again when its fingerprint is not the current one.
CREATE TABLE IF NOT EXISTS audit.staged_files (
    file_id BIGINT PRIMARY KEY, source_kind VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL
);
-- Per staging table, a digest of what it was last written from (pipelines/ingest.py `_inputs`): the same inputs, the
-- same rows, so it is not written again.
CREATE TABLE IF NOT EXISTS audit.staging_inputs (table_name VARCHAR PRIMARY KEY, inputs VARCHAR);
-- Per staging table and file, the rows of primary readers the merge dropped for another row (the file's
-- rows_duplicate sums its tables'): kept for a table the next merge changes rather than merges again.
CREATE TABLE IF NOT EXISTS audit.merge_drops (
    table_name VARCHAR NOT NULL, file_id BIGINT NOT NULL, rows_duplicate BIGINT NOT NULL,
    PRIMARY KEY (table_name, file_id)
);
-- Each table `replace_table` writes and the natural key its rows are in order of (a test checks the order).
CREATE TABLE IF NOT EXISTS audit.table_order (table_name VARCHAR PRIMARY KEY, order_by VARCHAR[] NOT NULL);
-- The inbox files read, by path: their size and modification time when read, and the SHA-256 of what was read. A file
-- with the same path, size and time (pipelines/ingest.py `load_new_files`) is one already loaded and is not read again.
CREATE TABLE IF NOT EXISTS audit.inbox_seen (
    path VARCHAR PRIMARY KEY, size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, sha256 VARCHAR NOT NULL
);
-- Retention ([retention] in pmo.toml): what a run removed, and when.
CREATE TABLE IF NOT EXISTS audit.retention (
    done_at TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,  -- raw rows removed | inbox file deleted
    file_id BIGINT NOT NULL,
    path VARCHAR NOT NULL,
    rows BIGINT NOT NULL
);
-- `pmo forget`: one row per erasure, where it changed what, the salt of the home's pseudonyms, and salted digests of
-- the erased identifiers (never the values), so an export loaded later is pseudonymised as it is loaded.
CREATE TABLE IF NOT EXISTS audit.erasures (
    erasure_id BIGINT PRIMARY KEY,
    erased_at TIMESTAMP NOT NULL,
    requested_by VARCHAR NOT NULL,  -- the operating-system user who ran `pmo forget`
    reason VARCHAR NOT NULL,
    pseudonym VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS audit.erasure_counts (
    erasure_id BIGINT NOT NULL,
    place VARCHAR NOT NULL,  -- a table, or a folder of files (inbox, reports, outbox, shared)
    items BIGINT NOT NULL,  -- rows changed, or files rewritten or deleted
    action VARCHAR NOT NULL  -- pseudonymised | rebuilt | deleted | rewritten
);
CREATE TABLE IF NOT EXISTS audit.erasure_salt (salt VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS audit.erased_identifiers (
    digest VARCHAR PRIMARY KEY,  -- sha256(salt || lower(trim(value)))
    replacement VARCHAR NOT NULL,
    pseudonym VARCHAR NOT NULL
);
-- Rows of staging tables kept in load order that a staging write deleted, set again or appended (their lineage and
-- date: a worklog's work date, as it was for a row deleted), or one row with no lineage for a table written whole;
-- deleted once every mart built from them has caught up.
CREATE TABLE IF NOT EXISTS audit.staging_changes (
    change BIGINT NOT NULL, table_name VARCHAR NOT NULL, _source_file BIGINT, _line BIGINT
);
ALTER TABLE audit.staging_changes ADD COLUMN IF NOT EXISTS day DATE;
-- Per mart patched from audit.staging_changes: the last change it holds, a fingerprint of its other inputs and, for
-- a mart with rows per status date, the status dates it holds.
CREATE TABLE IF NOT EXISTS audit.mart_marks (mart VARCHAR PRIMARY KEY, change BIGINT NOT NULL, inputs VARCHAR NOT NULL);
ALTER TABLE audit.mart_marks ADD COLUMN IF NOT EXISTS weeks DATE[];
-- For a mart computed by prefix from another weekly table: a digest of its input rows of each of those weeks.
ALTER TABLE audit.mart_marks ADD COLUMN IF NOT EXISTS digests VARCHAR[];
"""


# What the warehouse last ran of the DDL above, in audit.schema_ddl: an open runs it again only when it changed (a
# release that adds a table or a column) or was never run, instead of on every open (6 of a current warehouse's 24 ms
# to open and close; a weekly run opens it about 24 times). The DDL is idempotent, so a run cut short before the
# digest is written only runs it again.
DDL_DIGEST = hashlib.sha256(repr((SCHEMAS, AUDIT_DDL)).encode()).hexdigest()


def connect(path: Path, read_only: bool = False, memory_limit: str = "", threads: int = 0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating its schemas and audit tables (or adding what a release added to them) unless
    the warehouse already ran this release's DDL; `memory_limit` and `threads` are pmo.toml's [pipeline] caps (empty
    and 0: DuckDB's defaults)."""
    conn = duckdb.connect(str(path), read_only=read_only)
    # DuckDB's allocator (jemalloc) keeps what a query freed until its next task; with its background threads it
    # hands it back to the system within a second, so the polars work after a large query does not stack on it.
    conn.sql("SET allocator_background_threads = true")
    if memory_limit:
        conn.sql(f"SET memory_limit = '{memory_limit}'")  # validated by PipelineSettings: digits and a unit
    if threads:
        conn.sql(f"SET threads = {int(threads)}")
    if not read_only and not _ddl_current(conn):
        for schema in SCHEMAS:
            conn.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.sql(AUDIT_DDL)
        conn.sql(f"CREATE OR REPLACE TABLE audit.schema_ddl AS SELECT '{DDL_DIGEST}' AS digest")
    return conn


def _ddl_current(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse ran this release's DDL (audit.schema_ddl holds its digest)."""
    try:
        return conn.sql("SELECT digest FROM audit.schema_ddl").fetchall() == [(DDL_DIGEST,)]
    except duckdb.CatalogException:  # a new warehouse, or one from before the digest was kept
        return False


def replace_table(conn: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, order_by: list[str]) -> int:
    """Replace `schema.table` with the frame, rows in natural-key order. `name` comes from code, not input."""
    conn.register("_frame", frame)
    try:
        return replace_query(conn, name, "SELECT * FROM _frame", order_by, ordered=in_key_order(frame, order_by))
    finally:
        conn.unregister("_frame")


def in_key_order(frame: pl.DataFrame, order_by: list[str]) -> bool:
    """Whether the frame's rows are already in the order DuckDB's ORDER BY `order_by` gives (ties in any order): then
    it is written as it is, DuckDB keeping a scan's order (preserve_insertion_order), instead of sorted again (0.15 s
    of the 950,174 milestone rows' 0.5 s). Only for keys without NULLs and of types both order alike (text by its
    bytes, numbers, dates, times, booleans); any other answers False, and the frame is sorted."""
    comparable = (pl.String, pl.Date, pl.Datetime, pl.Time, pl.Boolean, pl.Decimal)
    if not order_by or frame.height < 2:
        return bool(order_by)
    for column in order_by:
        dtype = frame.schema[column]
        if not (dtype.is_integer() or isinstance(dtype, comparable)) or frame.get_column(column).null_count():
            return False
    later = pl.lit(True)  # each row's key, from the last column back, is not less than the row's before
    for column in reversed(order_by):
        value, before = pl.col(column), pl.col(column).shift(1)
        later = (value > before) | ((value == before) & later)
    return bool(frame.select(later.slice(1).all()).item())


def replace_query(
    conn: duckdb.DuckDBPyConnection, name: str, query: str, order_by: list[str], record: bool = True,
    ordered: bool = False,
) -> int:  # fmt: skip
    """Replace `schema.table` with a query's rows in natural-key order (recorded in audit.table_order unless not
    `record`); returns the row count. `ordered`: the query's rows already are in that order. The query and the names
    come from code, not input. Never INSERT into the table later in the same transaction when it may have come out
    empty (see transforms/duck.insert)."""
    order = ", ".join(f'"{c}"' for c in order_by) if order_by else "ALL"
    sort = "" if ordered else f" ORDER BY {order}"
    conn.sql(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM ({query}){sort}")
    for statement in comment_statements(name):
        conn.sql(statement)
    if record:
        conn.sql("INSERT OR REPLACE INTO audit.table_order VALUES (?, ?)", params=[name, list(order_by)])
    return conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]


LOAD_ORDER = ["_source_file", "_line"]


def in_order(conn: duckdb.DuckDBPyConnection, name: str, order_by: list[str]) -> bool:
    """Whether `schema.table` exists and was written in the order of `order_by` (`replace_query`)."""
    recorded = conn.sql("SELECT order_by FROM audit.table_order WHERE table_name = ?", params=[name]).fetchall()
    schema, table = name.split(".")
    return recorded == [(list(order_by),)] and table_exists(conn, schema, table)


def in_load_order(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `schema.table` exists and was written in load order (`replace_query` with LOAD_ORDER)."""
    return in_order(conn, name, LOAD_ORDER)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of the block's writes or none of them."""
    conn.sql("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.sql("ROLLBACK")
        raise
    conn.sql("COMMIT")


def patch_in_load_order(conn: duckdb.DuckDBPyConnection, name: str, *, gone: str, updates: str, added: str) -> int:
    """Change a table kept in load order (canonical.LOAD_ORDERED, marts.worklog_costs) in place instead of writing it
    again: delete the rows whose lineage `gone` lists, set the other columns of `updates` on the rows of its lineage
    (an UPDATE keeps a row where it is), and append the rows of `added`, which must all come after every row of the
    table (new files: the caller checks it first; checked again here, so the order cannot silently break). Returns
    the row count. Each part is skipped when it has no rows (see transforms/duck.insert). Names and queries come from
    code."""
    if not in_load_order(conn, name):
        raise RuntimeError(f"{name} is not in load order: write it whole with replace_query")
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _patch_gone AS {gone}")
    conn.sql(f"DELETE FROM {name} t USING temp.main._patch_gone g"
             " WHERE t._source_file = g._source_file AND t._line = g._line")  # fmt: skip
    conn.sql("DROP TABLE temp.main._patch_gone")
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _patch_updates AS {updates}")
    columns = [c for (c,) in conn.sql("SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' "
                                      "AND table_name = '_patch_updates' ORDER BY column_index").fetchall()
               if c not in LOAD_ORDER]  # fmt: skip
    if columns and conn.sql("SELECT EXISTS (SELECT 1 FROM temp.main._patch_updates)").fetchall()[0][0]:
        assignments = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        conn.sql(f"UPDATE {name} t SET {assignments} FROM temp.main._patch_updates u"
                 " WHERE t._source_file = u._source_file AND t._line = u._line")  # fmt: skip
    conn.sql("DROP TABLE temp.main._patch_updates")
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _patch_added AS {added}")
    last = conn.sql(f"SELECT _source_file, _line FROM {name} ORDER BY _source_file DESC, _line DESC LIMIT 1").fetchall()
    first = conn.sql("SELECT _source_file, _line FROM temp.main._patch_added ORDER BY ALL LIMIT 1").fetchall()
    if first and last and first[0] <= last[0]:
        raise RuntimeError(f"{name}: rows to append from {first[0]} do not come after its last row {last[0]}")
    duck.insert(conn, name, "SELECT * FROM temp.main._patch_added ORDER BY _source_file, _line", by_name=True)
    conn.sql("DROP TABLE temp.main._patch_added")
    return conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def replace_from(conn: duckdb.DuckDBPyConnection, name: str, rows: str | pl.DataFrame, order_by: list[str],
                 since: dt.date) -> int:  # fmt: skip
    """Replace the rows of a table with rows per status date from status date `since` on, instead of writing it
    again: delete them, then append `rows` (a query or a frame, all from `since` on) in `order_by` order. The table
    must be in that order (`replace_query`) and it must lead with status_date, so the table stays in the order a
    whole write gives. Returns the row count; a count that does not add up raises (the caller's transaction rolls
    back). Names and queries come from code."""
    if order_by[0] != "status_date" or not in_order(conn, name, order_by):
        raise RuntimeError(f"{name} is not in status date order: write it whole with replace_query")
    new = rows  # noqa: F841 -- the name the query reads when `rows` is a frame (see duck.insert_frame)
    source = "new" if isinstance(rows, pl.DataFrame) else f"({rows})"
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _replace_from AS SELECT * FROM {source}")
    early = conn.sql(
        f"SELECT count(*) FROM {name} WHERE status_date IS NULL OR status_date < ?", params=[since]
    ).fetchall()[0][0]
    added, misplaced = conn.sql(
        "SELECT count(*), count(*) FILTER (status_date IS NULL OR status_date < ?) FROM temp.main._replace_from",
        params=[since],
    ).fetchall()[0]
    if misplaced:
        raise RuntimeError(f"{name}: {misplaced} row(s) to add are dated before {since}")
    conn.sql(f"DELETE FROM {name} WHERE status_date >= ?", params=[since])
    order = ", ".join(f'"{c}"' for c in order_by)
    duck.insert(conn, name, f"SELECT * FROM temp.main._replace_from ORDER BY {order}", by_name=True)
    conn.sql("DROP TABLE temp.main._replace_from")
    after = conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    if after != early + added:  # a guard against engine faults (see transforms/duck.insert)
        raise RuntimeError(f"{name} holds {after} rows after replacing those from {since}: expected {early + added}")
    return after


def resort(conn: duckdb.DuckDBPyConnection, name: str, order_by: list[str]) -> None:
    """Put a table's rows in natural-key order, through `replace_query` from a copy, and check that none was lost:
    duckdb 2.0.0 has lost rows written inside a transaction (see transforms/duck.insert); `CREATE OR REPLACE TABLE t
    AS SELECT * FROM t ORDER BY …` emptied audit.rejects of 2.3M day-total warnings at portfolio scale."""
    before = conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _resort AS SELECT * FROM {name}")
    conn.sql(f"DROP TABLE {name}")
    after = replace_query(conn, name, "SELECT * FROM temp.main._resort", order_by, record=False)
    conn.sql("DROP TABLE temp.main._resort")
    if after != before:  # a guard against engine faults: the caller's transaction rolls back, nothing is lost
        raise RuntimeError(f"{name} held {before} rows and {after} after being put in order; nothing saved")


def append_raw(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Append rows to a raw table of strings, adding any column it does not have yet."""
    ensure_raw_table(conn, table, {c: _sql_type(t) for c, t in frame.schema.items()})
    duck.insert_frame(conn, table, frame)


def ensure_raw_table(conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    """Create a raw table with these columns (name → SQL type, in order), or add to it those it lacks (at its end)."""
    # Explicit DDL, not CREATE TABLE AS ... LIMIT 0: that is a first write of no rows (see transforms/duck.insert).
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    conn.sql(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")
    have = {r[0] for r in conn.sql(f"DESCRIBE {table}").fetchall()}
    for col, sql_type in columns.items():
        if col not in have:
            conn.sql(f'ALTER TABLE {table} ADD COLUMN "{col}" {sql_type}')


def _sql_type(dtype: pl.DataType) -> str:
    """Raw tables hold text, plus the integer lineage columns."""
    return "BIGINT" if dtype.is_integer() else "VARCHAR"


def read(conn: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    return conn.sql(f"SELECT * FROM {name}").pl()


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the catalog has `schema.table` (a table or a view): the name is looked up, 0.1 ms, against 1.7 ms for
    a query of information_schema.tables (the weekly ingest alone asks about 70 times)."""
    try:
        conn.table(f'"{schema}"."{table}"')
    except duckdb.CatalogException:
        return False
    return True
