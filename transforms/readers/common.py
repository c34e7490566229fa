"""Small expressions every reader shares."""

from __future__ import annotations

import polars as pl


def lineage() -> list[pl.Expr]:
    """The columns that trace a staging row back to its file and line."""
    return [pl.col("_source_file"), pl.col("_line")]


def repeated(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A list of the non-empty values of a repeated column (name, name__2, ...), in file order."""
    cols = [c for c in frame.columns if c == name or c.startswith(name + "__")]
    if not cols:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(cols).list.drop_nulls()
