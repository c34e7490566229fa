"""What every reader shares: the Reader record and small expressions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Reader:
    """One export kind (a contract in data_contracts/) read into one canonical table (transforms/canonical.py).

    `read` takes the contract-typed rows that passed every rule (contract column names, plus `_source_file`
    and `_line`) and returns canonical rows with `_source_file` and `_line`. A *primary* reader gives one
    row per input row: its rows decide each file's loaded/duplicate counts. A secondary reader (Jira's Log
    Work cells → worklogs) may give any number. `skip` marks rows that are not data (a totals row): from
    the raw text columns, an expression that is the reason to skip the row, or NULL to keep it.
    A `fallback` reader's rows give way to any non-fallback row of the same table on the same item_key.
    """

    kind: str
    table: str
    read: Callable[[pl.DataFrame], pl.DataFrame]
    primary: bool = True
    skip: Callable[[pl.DataFrame], pl.Expr] | None = None
    fallback: bool = False


def lineage() -> list[pl.Expr]:
    """The columns that trace a staging row back to its file and line."""
    return [pl.col("_source_file"), pl.col("_line")]


def col(frame: pl.DataFrame, name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """A contract column, or NULL of its type when the file did not have it."""
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)


def repeated(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A list of the non-empty values of a repeated column (name, name__2, ...), in file order."""
    cols = [c for c in frame.columns if c == name or c.startswith(name + "__")]
    if not cols:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(cols).list.drop_nulls()


def row_hash(*exprs: pl.Expr) -> pl.Expr:
    """A stable id for a row that has none in its tool: its fields, plus its rank among identical rows of
    the same file, hashed. Identical rows in two overlapping exports get the same ids and deduplicate."""
    fields = pl.concat_str([e.cast(pl.String).fill_null("") for e in exprs], separator="\x1f")
    rank = pl.int_range(pl.len()).over("_source_file", fields)
    return pl.lit("h") + pl.concat_str(fields, rank.cast(pl.String), separator="\x1f").hash(seed=0).cast(pl.String)


def id_or_row_hash(frame: pl.DataFrame, ids: list[str], *fields: pl.Expr) -> pl.Expr:
    """The first of the id columns `ids` that is set, else the row's hash (`row_hash` of `fields`). The hash, a
    window over every row of its file, is computed only when some row of `frame` has no id: for 10 million
    worklogs with ids it would cost 15 s for nothing."""
    given = pl.coalesce([pl.col(c) for c in ids])
    if frame.select(given.is_null().any()).item():
        return pl.coalesce(given, row_hash(*fields))
    return given
