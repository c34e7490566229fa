"""Numbering string keys by their sorted position (transforms/numbering.py)."""

import polars as pl

from transforms.numbering import number, sorted_keys


def test_keys_are_the_distinct_values_sorted_without_nulls():
    keys = sorted_keys(pl.Series(["b", None, "a"]), pl.Series(["c", "a"]))
    assert keys.to_list() == ["a", "b", "c"]


def test_a_value_is_numbered_by_its_position_and_a_value_not_among_the_keys_is_null():
    keys = sorted_keys(pl.Series(["pear", "apple", "fig"]))  # apple 0, fig 1, pear 2
    frame = pl.DataFrame({"k": ["pear", "kiwi", None, "apple", "zz", "fig", "a"]})
    assert frame.select(number(keys, "k")).to_series().to_list() == [2, None, None, 0, None, 1, None]
    # numbers sort as their keys do
    numbered = frame.filter(pl.col("k").is_in(keys.to_list())).with_columns(n=number(keys, "k"))
    assert numbered.sort("n")["k"].to_list() == numbered.sort("k")["k"].to_list()


def test_no_keys_numbers_every_row_null():
    frame = pl.DataFrame({"k": ["a", "b"]})
    out = frame.with_columns(n=number(pl.Series([], dtype=pl.String), "k"))
    assert out["n"].to_list() == [None, None]
    assert out["n"].dtype == pl.UInt32
