"""Run one DuckDB query over polars frames: the SQL half of the pure transforms."""

from __future__ import annotations

import duckdb
import polars as pl

from transforms.calendar import isodow


def query(sql: str, frames: dict[str, pl.DataFrame], *, week_ends_on: str = "sunday", params=None) -> pl.DataFrame:
    """`sql` over the frames registered under their names, in a private in-memory connection.

    The macro `week_end(d)` gives the status date of the week holding day d (the first week end on or after it).
    """
    with duckdb.connect() as conn:
        end = isodow(week_ends_on)
        conn.sql(f"CREATE MACRO week_end(d) AS CAST(d + CAST((({end} - isodow(d)) + 7) % 7 AS INTEGER) AS DATE)")
        for name, frame in frames.items():
            conn.register(name, frame)
        return conn.sql(sql, params=params).pl()
