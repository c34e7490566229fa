"""Expressions every reader shares."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.readers.common import id_or_row_hash, row_hash


def _frame(ids: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ids,
            "item": ["A-1", "A-1", "A-2"],
            "_source_file": [1, 1, 1],
            "_line": [2, 3, 4],
        }
    )


def test_an_id_in_every_row_is_taken_without_hashing():
    frame = _frame(["7", "8", "9"])
    # The hash's fields name a column the frame lacks: computing the hash would raise.
    got = frame.select(id_or_row_hash(frame, ["id"], pl.col("item"), pl.col("no such column")).alias("id"))
    assert got.get_column("id").to_list() == ["7", "8", "9"]


def test_a_row_without_an_id_gets_the_hash_ranked_among_every_identical_row_of_its_file():
    frame = _frame(["7", None, None])
    got = frame.select(id_or_row_hash(frame, ["id"], pl.col("item")).alias("id")).get_column("id").to_list()
    hashed = frame.select(row_hash(pl.col("item")).alias("h")).get_column("h").to_list()
    # Lines 2 and 3 are the same item: line 3 is rank 1 of its two identical rows, whether or not line 2 had an id.
    assert got == ["7", hashed[1], hashed[2]]
    assert hashed[1].startswith("h") and len(set(hashed)) == 3
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        frame.select(id_or_row_hash(frame, ["id"], pl.col("no such column")))
