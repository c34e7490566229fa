"""What staging changed since a mart was last brought up to date, so that a mart built row for row from a staging
table in load order (marts.worklog_costs from staging.worklogs) is patched, not written whole, when a week adds a
few rows to millions.

The staging write records each change of a table (`record`) in audit.staging_changes: the lineage of the rows it
deleted, set again in place or appended, or one row without lineage when it wrote the table whole. A mart asks for
the lineage changed since its mark (`pending`): None tells it to write itself whole, because it never was written,
what else it reads (its `inputs`, a fingerprint) changed, or its table was written whole since. After writing it
moves its mark (`mark`), in the same transaction, and the changes every mark has passed are deleted.

Names and queries come from code, not input.
"""

from __future__ import annotations

import duckdb

from transforms import duck


def _last(conn: duckdb.DuckDBPyConnection) -> int:
    """The newest change recorded or marked (both only grow, so it never goes back when changes are deleted)."""
    return conn.sql(
        "SELECT greatest(coalesce((SELECT max(change) FROM audit.staging_changes), 0),"
        " coalesce((SELECT max(change) FROM audit.mart_marks), 0))"
    ).fetchall()[0][0]


def record(conn: duckdb.DuckDBPyConnection, table: str, lineage: str | None) -> None:
    """Record a change of `table` (staging.worklogs): the rows of `lineage`, a query of _source_file and _line, or,
    None, the table written whole."""
    change = _last(conn) + 1
    if lineage is None:  # what any earlier change said is moot: a mart behind it is written whole
        conn.sql("DELETE FROM audit.staging_changes WHERE table_name = ?", params=[table])
        conn.sql("INSERT INTO audit.staging_changes VALUES (?, ?, NULL, NULL)", params=[change, table])
    else:
        duck.insert(conn, "audit.staging_changes",
                    f"SELECT DISTINCT {change}, {duck.text(table)}, _source_file, _line FROM ({lineage})")  # fmt: skip


def pending(conn: duckdb.DuckDBPyConnection, mart: str, table: str, inputs: str) -> str | None:
    """A query of the lineage (_source_file, _line) of the rows of `table` changed since `mart` was last brought up
    to date from the same `inputs`, or None when it must be written whole."""
    marked = conn.sql("SELECT change, inputs FROM audit.mart_marks WHERE mart = ?", params=[mart]).fetchall()
    if not marked or marked[0][1] != inputs:
        return None
    since = f"FROM audit.staging_changes WHERE table_name = {duck.text(table)} AND change > {int(marked[0][0])}"
    if conn.sql(f"SELECT EXISTS (SELECT 1 {since} AND _source_file IS NULL)").fetchall()[0][0]:
        return None
    return f"SELECT DISTINCT _source_file, _line {since}"


def mark(conn: duckdb.DuckDBPyConnection, mart: str, inputs: str) -> None:
    """`mart` now holds every change recorded, from `inputs`; delete the changes every mart holds."""
    conn.sql("INSERT OR REPLACE INTO audit.mart_marks VALUES (?, ?, ?)", params=[mart, _last(conn), inputs])
    conn.sql("DELETE FROM audit.staging_changes WHERE change <= (SELECT min(change) FROM audit.mart_marks)")


def fingerprint(conn: duckdb.DuckDBPyConnection, text: str, *relations: str) -> str:
    """An md5 of `text` (the mart's query, which holds its settings) and of every row of each relation."""
    parts = [f"(SELECT md5(coalesce(string_agg(CAST(r AS VARCHAR), chr(10) ORDER BY CAST(r AS VARCHAR)), ''))"
             f" FROM {relation} r)" for relation in relations]  # fmt: skip
    return conn.sql(f"SELECT md5(concat_ws('|', {', '.join(['?', *parts])}))", params=[text]).fetchall()[0][0]
