"""Run one DuckDB query over polars frames: the SQL half of the pure transforms."""

from __future__ import annotations

import datetime as dt
import os
import threading

import duckdb
import polars as pl

from transforms.calendar import isodow

_memory: tuple[int, duckdb.DuckDBPyConnection] | None = None  # the process's id, and its in-memory database
_queries = threading.Lock()  # guards _memory and _running
_running = 0  # queries running in the in-memory database (in threads)


def _in_memory() -> duckdb.DuckDBPyConnection:
    """This process's in-memory database, opened once: `query` runs in a cursor of its own (a connection with its
    own temporary objects and registered frames), where opening a database for each query and closing it took
    10-20 ms, and more after a large query. A forked child opens its own, as DuckDB's threads do not survive a fork."""
    global _memory
    if _memory is None or _memory[0] != os.getpid():
        _memory = (os.getpid(), duckdb.connect())
    return _memory[1]


def release_cache(conn: duckdb.DuckDBPyConnection, memory_limit: str = "") -> None:
    """Hand back to the system the blocks DuckDB's buffer pool keeps cached after the queries that read them, up
    to the memory limit (1 GiB unless pmo.toml says otherwise): DuckDB evicts down to a lower limit when one is set,
    then the configured limit (`memory_limit`; empty: DuckDB's default) applies again. Blocks of the database file
    are only dropped, but temporary data of a connection still open would be spilled to disk: call it when none is.
    What cannot be evicted stays, which only hands back less."""
    try:
        conn.sql("SET memory_limit = '32MiB'")
    except duckdb.OutOfMemoryException:
        pass
    finally:
        conn.sql(f"SET memory_limit = '{memory_limit}'" if memory_limit else "RESET memory_limit")


def _hand_back(database: duckdb.DuckDBPyConnection) -> None:
    """Hand back what the in-memory database keeps cached after a query, as closing it did (`release_cache`), only
    while no query runs in it. Without it, earned value's step of the bench's week peaked ~80 MB higher than with a
    database per query; with it, within ~30 MB (1,257-1,312 MB against 1,253-1,279 MB)."""
    with database.cursor() as own:
        release_cache(own)


def query(
    sql: str,
    frames: dict[str, pl.DataFrame | str],
    *,
    week_ends_on: str = "sunday",
    params=None,
    conn: duckdb.DuckDBPyConnection | None = None,
) -> pl.DataFrame:
    """`sql` over the frames registered under their names, in a private in-memory connection, or in `conn` when given.

    In `conn` a frame may instead be the text of a query over its tables (without parameters): a temporary view of
    that name, so that DuckDB reads a large table where it is stored rather than a copy converted from polars. The
    names come from code, not input; the frames and views are dropped after the query.

    The macro `week_end(d)` gives the status date of the week holding day d (the first week end on or after it).
    """
    if conn is None:
        if any(isinstance(frame, str) for frame in frames.values()):
            raise ValueError("a frame given as a query needs the connection of its tables")
        global _running
        with _queries:
            database = _in_memory()
            _running += 1
        try:
            with database.cursor() as own:
                return query(sql, frames, week_ends_on=week_ends_on, params=params, conn=own)
        finally:
            with _queries:  # the last query out hands back, while no other can start
                _running -= 1
                if _running == 0:
                    _hand_back(database)
    end = isodow(week_ends_on)
    conn.sql(
        f"CREATE OR REPLACE TEMP MACRO week_end(d) AS CAST(d + CAST((({end} - isodow(d)) + 7) % 7 AS INTEGER) AS DATE)"
    )
    try:
        for name, frame in frames.items():
            if isinstance(frame, str):
                conn.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {frame}")
            else:
                conn.register(name, frame)
        return conn.sql(sql, params=params).pl()
    finally:
        for name, frame in frames.items():
            if isinstance(frame, str):
                conn.sql(f"DROP VIEW IF EXISTS temp.main.{name}")
            else:
                conn.unregister(name)


def on_days(column: str, days: list[dt.date] | None) -> str:
    """A condition to AND onto a WHERE clause: `column` is one of `days`, or '' for every day (None). The column's
    name comes from code, not input; the days are dates."""
    return "" if days is None else f" AND {column} IN ({', '.join(f'DATE {day.isoformat()!r}' for day in days)})"


def text(value: str) -> str:
    """A SQL string literal of a value."""
    return "'" + value.replace("'", "''") + "'"


# duckdb 2.0.0 loses rows when, inside a transaction, the first write to a table adds none (an INSERT of no rows, or
# CREATE TABLE AS of an empty query) and a later INSERT adds more than a row group (122,880 rows) from a table or a
# registered frame: count(*) counts them, no scan reads them, and COMMIT drops them. Writing no rows is never needed,
# so the warehouse writes go through these two.


def insert(conn: duckdb.DuckDBPyConnection, table: str, query: str, *, by_name: bool = False) -> bool:
    """`INSERT INTO table query` when the query has rows (see above); whether it had any."""
    if not conn.sql(f"SELECT EXISTS ({query})").fetchall()[0][0]:
        return False
    conn.sql(f"INSERT INTO {table} {'BY NAME ' if by_name else ''}{query}")
    return True


# Rows per INSERT of a frame: DuckDB converts what one INSERT scans at once (a 10M-row export's candidates, 857 MB
# in polars: the ingest's peak 4,091 → 3,662 MB in slices of a million).
INSERT_SLICE = 1_000_000


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """`INSERT INTO table BY NAME` the rows of a polars frame; a frame of no rows writes nothing (see above). Read
    by DuckDB's replacement scan of the local `rows`, not `conn.register`: inside a transaction a registered frame,
    unregistered or not, stays in memory until COMMIT, outside memory_limit (10 frames of 700,000 rows held 340 MB),
    so the load's single transaction would hold every file's rows. A large frame goes in slices of INSERT_SLICE rows,
    in order."""
    for rows in frame.iter_slices(INSERT_SLICE):  # noqa: B007 -- `rows` is the name the query reads
        conn.sql(f"INSERT INTO {table} BY NAME SELECT * FROM rows")


def create_from(conn: duckdb.DuckDBPyConnection, name: str, queries: list[str], *, temp: bool = False) -> None:
    """`CREATE OR REPLACE [TEMP] TABLE name` with the rows of `queries` one after another, created from the first
    that has rows (see above). Not `q1 UNION ALL q2`: with duckdb 2.0.0 that gave no rows at all when q1 (a NOT IN
    subquery) had none and q2 (a window query) had two. The first query runs once: the table is created from it and
    then asked whether it has rows (an EXISTS of a query of DISTINCT or joins costs what the query costs)."""
    create = f"CREATE OR REPLACE {'TEMP ' if temp else ''}TABLE {name} AS"
    first, *rest = queries
    conn.sql(f"{create} {first}")
    filled = conn.sql(f"SELECT EXISTS (FROM {name})").fetchall()[0][0]
    for query in rest:
        if filled:
            insert(conn, name, query)
        elif conn.sql(f"SELECT EXISTS ({query})").fetchall()[0][0]:  # created again: its first write adds rows
            conn.sql(f"{create} {query}")
            filled = True
