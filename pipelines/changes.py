"""What staging changed since a mart was last brought up to date, so that a mart built row for row from a staging
table in load order (marts.worklog_costs from staging.worklogs) is patched, not written whole, when a week adds a
few rows to millions.

The staging write records each change of a table (`record`) in audit.staging_changes: the lineage of the rows it
deleted, set again in place or appended, or one row without lineage when it wrote the table whole. A mart asks for
the lineage changed since its mark (`pending`): None tells it to write itself whole, because it never was written,
what else it reads (its `inputs`, a fingerprint) changed, or its table was written whole since. After writing it
moves its mark (`mark`), in the same transaction, and the changes every mark has passed are deleted. A mart of
sums per day asks instead for the days changed (`pending_days`), and sums those days again.

A mart with rows per status date, each week's computed from the rows dated in it or in the few weeks before (the
timesheet and utilisation marts from staging.worklogs), asks instead from which week on it must be computed again
(`stale_from`): each change records its row's date, as it was for a row deleted, and the mark holds the weeks. The
service desk asks the same of staging.work_items, whose changes record the first day their ticket's facts can
differ from (pipelines/ingest.py `_work_items_lineage`).

A mart with rows per status date computed from another mart's rows up to that date (marts.evm_forecast from
marts.evm_weekly, which is written whole) keeps instead a digest of each week's input rows in its mark, and is computed
again from the first week whose digest differs (`changed_from`).
marts.risk_exposure, computed from both (its grid rows from marts.evm_weekly, its ticket risks from
staging.work_items), asks both and takes the earlier week.

Names and queries come from code, not input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from transforms import duck


def _last(conn: duckdb.DuckDBPyConnection) -> int:
    """The newest change recorded or marked (both only grow, so it never goes back when changes are deleted)."""
    return conn.sql(
        "SELECT greatest(coalesce((SELECT max(change) FROM audit.staging_changes), 0),"
        " coalesce((SELECT max(change) FROM audit.mart_marks), 0))"
    ).fetchall()[0][0]


def record(conn: duckdb.DuckDBPyConnection, table: str, lineage: str | None) -> None:
    """Record a change of `table` (staging.worklogs, staging.work_items): the rows of `lineage`, a query of
    _source_file, _line and day (the first date the row changes: a worklog's date, as it was for a row deleted; NULL
    for none), or, None, the table written whole."""
    change = _last(conn) + 1
    if lineage is None:  # what any earlier change said is moot: a mart behind it is written whole
        conn.sql("DELETE FROM audit.staging_changes WHERE table_name = ?", params=[table])
        conn.sql("INSERT INTO audit.staging_changes (change, table_name) VALUES (?, ?)", params=[change, table])
    else:
        rows = f"SELECT DISTINCT {change}, {duck.text(table)}, _source_file, _line, day FROM ({lineage})"
        duck.insert(conn, "audit.staging_changes (change, table_name, _source_file, _line, day)", rows)


def _since(conn: duckdb.DuckDBPyConnection, mart: str, table: str, inputs: str) -> tuple[str, list[dt.date]] | None:
    """The FROM clause of the changes of `table` since `mart`'s mark and the weeks it holds, or None when it must be
    written whole: it has no mark, its `inputs` changed, or `table` was written whole since."""
    marked = conn.sql("SELECT change, inputs, weeks FROM audit.mart_marks WHERE mart = ?", params=[mart]).fetchall()
    if not marked or marked[0][1] != inputs:
        return None
    since = f"FROM audit.staging_changes WHERE table_name = {duck.text(table)} AND change > {int(marked[0][0])}"
    if conn.sql(f"SELECT EXISTS (SELECT 1 {since} AND _source_file IS NULL)").fetchall()[0][0]:
        return None
    return since, marked[0][2] or []


def pending(conn: duckdb.DuckDBPyConnection, mart: str, table: str, inputs: str) -> str | None:
    """A query of the lineage (_source_file, _line) of the rows of `table` changed since `mart` was last brought up
    to date from the same `inputs`, or None when it must be written whole."""
    since = _since(conn, mart, table, inputs)
    return None if since is None else f"SELECT DISTINCT _source_file, _line {since[0]}"


def pending_days(conn: duckdb.DuckDBPyConnection, mart: str, table: str, inputs: str) -> list[dt.date] | None:
    """The days (`record`'s) of the rows of `table` changed since `mart` was last brought up to date from the same
    `inputs`, sorted, NULL left out; None when it must be written whole."""
    since = _since(conn, mart, table, inputs)
    if since is None:
        return None
    return [day for (day,) in conn.sql(f"SELECT DISTINCT day {since[0]} AND day IS NOT NULL ORDER BY 1").fetchall()]


def caught_up(conn: duckdb.DuckDBPyConnection, mart: str, table: str) -> bool:
    """Whether `mart` holds every change of `table` recorded: it has a mark, and no change came after it."""
    marked = conn.sql("SELECT change FROM audit.mart_marks WHERE mart = ?", params=[mart]).fetchall()
    if not marked:
        return False
    later = "SELECT EXISTS (FROM audit.staging_changes WHERE table_name = ? AND change > ?)"
    return not conn.sql(later, params=[table, marked[0][0]]).fetchall()[0][0]


def stale_from(conn: duckdb.DuckDBPyConnection, mart: str, table: str, inputs: str,
               weeks: list[dt.date]) -> dt.date | None:  # fmt: skip
    """For a mart with rows per status date of `weeks` (sorted week ends, 7 days or more apart), each computed from
    the rows of `table` dated in its week or the weeks before it: the status date from which its rows must be
    deleted and computed again, the earlier of
    - the first week where `weeks` and the weeks it holds differ (a week added at the end, or weeks gone), and
    - the week that holds the earliest date of a row of `table` changed since its mark;
    dt.date.min when it must be written whole (see `pending`), None when no week changed."""
    since = _since(conn, mart, table, inputs)
    if since is None:
        return dt.date.min
    clause, held = since
    # the first index where they differ, or where one of them ends: the week there in either one
    at = next((i for i, (old, new) in enumerate(zip(held, weeks, strict=False)) if old != new),
              min(len(held), len(weeks)))  # fmt: skip
    ends = [w[at] for w in (held, weeks) if at < len(w)]
    first = min(ends) if ends else None
    day = conn.sql(f"SELECT min(day) {clause}").fetchall()[0][0]
    holding = next((w for w in weeks if day is not None and w >= day), None)
    found = [d for d in (first, holding) if d is not None]
    return min(found) if found else None


# A digest of a set of rows in any order: their count and the 128-bit sum of their hashes. A sum, not an XOR, so two
# equal rows do not cancel out; no sort and no text, so it costs a scan (0.01 s for 100,000 assets, where an md5 of
# the rows as sorted text took 0.22 s). DuckDB's hash belongs to its release: after an upgrade of DuckDB the digests
# differ once and the marts behind them are written whole.
_ROWS_DIGEST = "concat(count(*), ':', coalesce(sum(hash(r)), 0))"


def week_digests(conn: duckdb.DuckDBPyConnection, query: str) -> tuple[list[dt.date], list[str]]:
    """The status dates of a query's rows, sorted, and for each a digest of its rows there (`changed_from`)."""
    rows = conn.sql(
        f"SELECT status_date, {_ROWS_DIGEST} FROM ({query}) r GROUP BY status_date ORDER BY status_date"
    ).fetchall()
    return [day for day, _ in rows], [digest for _, digest in rows]


def changed_from(conn: duckdb.DuckDBPyConnection, mart: str, inputs: str, weeks: list[dt.date],
                 digests: list[str]) -> dt.date | None:  # fmt: skip
    """For a mart whose rows of a status date are computed from the rows of another table dated then or before (a
    project's forecast bands from its earned value to date): the first status date whose rows there differ from
    those the mart was computed from (`week_digests`, against its mark's: a week added, gone or changed);
    dt.date.min when it has no mark or its `inputs` changed; None when no week differs."""
    marked = conn.sql("SELECT inputs, weeks, digests FROM audit.mart_marks WHERE mart = ?", params=[mart]).fetchall()
    if not marked or marked[0][0] != inputs or marked[0][2] is None:
        return dt.date.min
    held, now = dict(zip(marked[0][1], marked[0][2], strict=True)), dict(zip(weeks, digests, strict=True))
    return min((week for week in held.keys() | now.keys() if held.get(week) != now.get(week)), default=None)


def mark(conn: duckdb.DuckDBPyConnection, mart: str, inputs: str, weeks: list[dt.date] | None = None,
         digests: list[str] | None = None) -> None:  # fmt: skip
    """`mart` now holds every change recorded, from `inputs` (and, with rows per status date, the status dates
    `weeks`, with their `week_digests`); delete the changes every mart holds."""
    conn.sql("INSERT OR REPLACE INTO audit.mart_marks (mart, change, inputs, weeks, digests) VALUES (?, ?, ?, ?, ?)",
             params=[mart, _last(conn), inputs, weeks, digests])  # fmt: skip
    conn.sql("DELETE FROM audit.staging_changes WHERE change <= (SELECT min(change) FROM audit.mart_marks)")


def fingerprint(conn: duckdb.DuckDBPyConnection, text: str, *relations: str) -> str:
    """An md5 of `text` (the mart's query, which holds its settings) and of the digest of each relation's rows."""
    parts = [f"(SELECT {_ROWS_DIGEST} FROM {relation} r)" for relation in relations]
    return conn.sql(f"SELECT md5(concat_ws('|', {', '.join(['?', *parts])}))", params=[text]).fetchall()[0][0]


def source_digest(*paths: str) -> str:
    """A digest of the source files of the code a mart is computed by (`module.__file__`): code that changed in an
    upgrade makes a mart's fingerprint differ, so it is written whole."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()
