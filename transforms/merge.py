"""Candidate rows of every file → one row per natural key, in DuckDB SQL (so 10 million worklogs never sit in memory).

The candidates of each canonical table (`canonical.candidate_schema`: its columns, lineage, `_scope`, and the reader's
`_primary`/`_fallback` flags) are in `<source>.<table>`: the warehouse keeps them per file in `conformed.*`, and
`staging.stage_all` puts them in an in-memory database. `merge` leaves the kept rows in temporary tables
(`kept(table)`) for the caller to write, and returns what the files' accounting needs:

- a row of a table in REGISTERED naming a project the register does not have is rejected (`unknown_project`), once
  there is a register;
- a fallback row (Jira's Log Work cells) gives way to any other row of its table on the same item_key;
- a row of a `_scope` whose date a newer file of the same scope covers (first..last date) is replaced by it: a
  corrected re-export replaces what an earlier export said about those dates, deleted worklogs included;
- of the rows left, the newest file's (highest file id), last line first, is kept for each natural key: the others
  are duplicates;
- every worklog of a person-day over MAX_DAY_HOURS in one tool gets a warning.

Identifiers here come from code (canonical table and column names), never from input.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from data_contracts import contract
from transforms import canonical, duck

REGISTERED = {"status_reports": "project_id"}  # table → its project column
UNKNOWN_PROJECT = "unknown_project"
MAX_DAY_HOURS = 24  # one person's hours on one day in one tool; more is flagged on every worklog of the day
FALLBACK_DROP = "a timesheet export carries this item's worklogs"
SUPERSEDED_DROP = "replaced by a newer export covering the same dates"
REJECT_SCHEMA = {"_source_file": pl.Int64} | contract.REJECT_SCHEMA
assert all(list(canonical.TABLES).index("projects") < list(canonical.TABLES).index(t) for t in REGISTERED)


def audit_rejects(rejects: pl.DataFrame, stage: str) -> pl.DataFrame:
    """Rejects of REJECT_SCHEMA as rows of audit.rejects, found at `stage` ('row' or 'merge')."""
    return rejects.select(pl.col("_source_file").alias("file_id"), *contract.REJECT_SCHEMA, stage=pl.lit(stage))


@dataclass(frozen=True)
class Merged:
    rejects: pl.DataFrame  # _source_file, line, column, rule, raw_value, severity: unknown projects, day totals
    duplicates: pl.DataFrame  # _source_file, rows_duplicate: rows of primary readers another row replaced
    covers: pl.DataFrame  # _source_file, covers: "worklogs 2026-03-01..2026-03-31" for the rows kept


def kept(table: str) -> str:
    """The temporary table `merge` leaves a canonical table's kept rows in (canonical columns and lineage)."""
    return f"temp.main._kept_{table}"


def _q(name: str) -> str:
    return f'"{name}"'


def create_candidates(conn: duckdb.DuckDBPyConnection, schema: str) -> None:
    """`<schema>.<table>` for every canonical table, with explicit DDL (see warehouse.append_raw for why)."""
    conn.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in canonical.TABLES:
        columns = ", ".join(f"{_q(c)} {canonical.sql_type(t)}" for c, t in canonical.candidate_schema(table).items())
        conn.sql(f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({columns})")


def append_candidates(conn: duckdb.DuckDBPyConnection, schema: str, rows: dict[str, pl.DataFrame]) -> None:
    for table, frame in rows.items():
        duck.insert_frame(conn, f"{schema}.{table}", frame)


def merge(conn: duckdb.DuckDBPyConnection, schema: str) -> Merged:
    """Merge every table's candidates in `<schema>` into `kept(table)`, in canonical.TABLES order."""
    rejects: list[str] = []
    for table in canonical.TABLES:
        source = f"{schema}.{table}"
        registered = REGISTERED.get(table)
        if registered and conn.sql(f"SELECT count(*) FROM {kept('projects')}").fetchall()[0][0]:
            unknown = f"{_q(registered)} IS NULL OR {_q(registered)} NOT IN (SELECT project_id FROM {kept('projects')})"
            rejects.append(
                f"SELECT _source_file, _line AS line, '{registered}' AS \"column\", '{UNKNOWN_PROJECT}' AS rule,"
                f" {_q(registered)} AS raw_value, 'error' AS severity FROM {source} WHERE {unknown}"
            )
            source = f"(SELECT * FROM {source} WHERE NOT ({unknown}))"
        _dedup(conn, table, source)
    rejects.append(_day_totals_sql())
    # One query each: with duckdb 2.0.0, `q1 UNION ALL q2` gave no rows at all when q1 had none and q2 had two.
    found = pl.concat([conn.sql(query).pl().cast(REJECT_SCHEMA) for query in rejects])
    duplicates = pl.concat(
        [conn.sql(f"SELECT _source_file, n FROM temp.main._dropped_{t}").pl() for t in canonical.TABLES]
    )
    duplicates = duplicates.group_by("_source_file").agg(rows_duplicate=pl.col("n").sum().cast(pl.Int64))
    return Merged(found, duplicates, _covers(conn))


def _dedup(conn: duckdb.DuckDBPyConnection, table: str, source: str) -> None:
    """kept(table): the rows left; temp _dropped_<table>: per file, the primary rows another row replaced (a file
    may appear twice: the caller sums)."""
    key = ", ".join(_q(c) for c in canonical.KEYS[table])
    columns = ", ".join(_q(c) for c in canonical.schema(table))
    # Which rules can drop a row here: a fallback reader's rows, a scope with a newer export (checked first, so the
    # millions of rows of a table that has neither are not joined to be marked).
    any_fallback, any_scope = conn.sql(
        f"SELECT bool_or(_fallback), bool_or(_scope IS NOT NULL) FROM {source}"
    ).fetchall()[0]
    day = canonical.COVERS.get(table) if any_scope else None
    fallback = any_fallback and "item_key" in canonical.TABLES[table]
    # What drops rows is small (the items a primary row carries; per scope, the days a newer file covers), so it is
    # kept in a table and the candidates are marked by a view that joins it: they are never copied.
    if fallback:
        conn.sql(
            f"CREATE OR REPLACE TEMP TABLE _primary_items AS SELECT DISTINCT item_key FROM {source}"
            " WHERE NOT _fallback AND item_key IS NOT NULL"
        )
    if day:
        conn.sql(
            f"""CREATE OR REPLACE TEMP TABLE _superseded AS
            SELECT DISTINCT k._scope, k.d, k._source_file
            FROM (SELECT DISTINCT _scope, {_q(day)} AS d, _source_file FROM {source} WHERE _scope IS NOT NULL) k
            JOIN (SELECT _scope, _source_file, min({_q(day)}) AS first_day, max({_q(day)}) AS last_day
                  FROM {source} WHERE _scope IS NOT NULL GROUP BY ALL) s
              ON s._scope = k._scope AND s._source_file > k._source_file AND k.d BETWEEN s.first_day AND s.last_day"""
        )  # a newer file of the same scope covers the row's date
    cases = (
        f"WHEN c._fallback AND c.item_key IN (SELECT item_key FROM _primary_items) THEN {duck.text(FALLBACK_DROP)} "
        if fallback
        else ""
    ) + (f"WHEN s._scope IS NOT NULL THEN {duck.text(SUPERSEDED_DROP)}" if day else "")
    newer = (
        f"LEFT JOIN _superseded s ON s._scope = c._scope AND s.d = c.{_q(day)} AND s._source_file = c._source_file"
        if day
        else ""
    )
    drop = f"CASE {cases} END" if cases else "NULL::VARCHAR"
    same = " AND ".join(f"s.{_q(c)} IS NOT DISTINCT FROM m.{_q(c)}" for c in canonical.KEYS[table])
    conn.sql(f"CREATE OR REPLACE TEMP VIEW _marked AS SELECT c.*, {drop} AS _drop FROM {source} c {newer}")
    # Most keys have one row standing: only the keys several rows share are ranked (a window over millions of rows
    # costs what the merge costs); one statement each, see `merge` for why not UNION ALL.
    conn.sql(
        f"CREATE OR REPLACE TEMP TABLE _shared AS SELECT {key} FROM _marked WHERE _drop IS NULL GROUP BY ALL"
        " HAVING count(*) > 1"
    )
    conn.sql(
        f"CREATE OR REPLACE TEMP TABLE _ranked AS SELECT m.*, row_number() OVER (PARTITION BY {key}"
        f" ORDER BY _source_file DESC, _line DESC) AS _rank FROM _marked m SEMI JOIN _shared s ON {same}"
        " WHERE m._drop IS NULL"
    )
    duck.create_from(conn, f"_kept_{table}", [
        f"SELECT {columns} FROM _marked m ANTI JOIN _shared s ON {same} WHERE m._drop IS NULL",
        f"SELECT {columns} FROM _ranked WHERE _rank = 1",
    ], temp=True)  # fmt: skip
    duck.create_from(conn, f"_dropped_{table}", [
        "SELECT _source_file, count(*) AS n FROM _marked WHERE _primary AND _drop IS NOT NULL GROUP BY ALL",
        "SELECT _source_file, count(*) AS n FROM _ranked WHERE _primary AND _rank > 1 GROUP BY ALL",
    ], temp=True)  # fmt: skip
    conn.sql("DROP VIEW _marked")
    for name in ("_shared", "_ranked", "_primary_items", "_superseded"):
        conn.sql(f"DROP TABLE IF EXISTS {name}")


def _day_totals_sql() -> str:
    """A warning on every worklog of a person-day that adds up to more than MAX_DAY_HOURS in one tool: no one works
    25 hours in a day, but which of the day's worklogs is wrong is not known, so they load and are shown."""
    return f"""
        SELECT _source_file, _line AS line, 'hours' AS "column", 'max_day_total:{MAX_DAY_HOURS}' AS rule,
            format('{{}} h of {{}} h on {{}}', round(hours::DOUBLE, 2), round(total::DOUBLE, 2), work_date)
                AS raw_value,
            'warning' AS severity
        FROM (
            SELECT *, CAST(sum(hours) OVER (PARTITION BY source_kind, person, work_date) AS DECIMAL(18, 4)) AS total
            FROM (SELECT *, coalesce(person_source_id, person_email, person_name) AS person FROM {kept("worklogs")})
            WHERE person IS NOT NULL AND work_date IS NOT NULL
        ) WHERE total > CAST({MAX_DAY_HOURS} AS DECIMAL(18, 4))
    """


def _covers(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per file, the dates its kept rows cover, e.g. "worklogs 2026-03-01..2026-03-31"."""
    parts = [
        conn.sql(
            f"SELECT _source_file::BIGINT AS _source_file, format('{{}} {{}}..{{}}', '{table}', min({_q(day)}),"
            f" max({_q(day)})) AS covers FROM {kept(table)} GROUP BY _source_file HAVING min({_q(day)}) IS NOT NULL"
        ).pl()
        for table, day in canonical.COVERS.items()
    ]
    return pl.concat(parts).group_by("_source_file").agg(pl.col("covers").sort().str.join("; ")).sort("_source_file")
