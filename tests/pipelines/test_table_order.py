"""A mart written from a frame is in natural-key order (pipelines/warehouse.replace_table), whether the frame came in
that order (written as it is) or not (sorted by DuckDB): the same rows in the same order as DuckDB's ORDER BY."""

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines import warehouse

# Keys whose order a sort by characters instead of bytes, by case, or with NULLs first would change.
PROJECTS = ["", "A", "B", "a", "ab", "b", "Z-9", "Ärger", "É", "é", "z", "日本", "😀"]
DAYS = [dt.date(2025, 12, 28), dt.date(2026, 1, 4)]


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "project_id": [p for p in PROJECTS for _ in DAYS],
            "status_date": DAYS * len(PROJECTS),
            "n": range(2 * len(PROJECTS)),
        }
    ).sort("project_id", "status_date")


def _written(tmp_path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        rows = warehouse.replace_table(conn, "marts.t", frame, ["project_id", "status_date"])
        assert rows == frame.height
        assert warehouse.in_order(conn, "marts.t", ["project_id", "status_date"])
        stored = conn.sql("SELECT * FROM marts.t").pl()  # in the table's own order
        duckdb_order = conn.sql("SELECT * FROM marts.t ORDER BY project_id, status_date").pl()
    keys = ["project_id", "status_date"]  # ties (equal keys) may come in any order
    assert stored.select(keys).equals(duckdb_order.select(keys))
    return stored


def test_a_frame_in_key_order_is_written_as_it_is_and_in_duckdbs_order(tmp_path: Path):
    frame = _frame()
    assert warehouse.in_key_order(frame, ["project_id", "status_date"])
    # polars and DuckDB order text alike (by its bytes): the table is the frame, row for row
    assert _written(tmp_path, frame).equals(frame)


def test_a_frame_out_of_order_is_sorted(tmp_path: Path):
    frame = _frame()
    for shuffled in (frame.reverse(), frame.sample(fraction=1.0, shuffle=True, seed=7)):
        assert not warehouse.in_key_order(shuffled, ["project_id", "status_date"])
        assert _written(tmp_path, shuffled).equals(frame)
    # in order by its first key, not by its second (the second key decides within a project)
    swapped = frame.with_columns(pl.col("status_date").reverse().over("project_id"))
    assert not warehouse.in_key_order(swapped, ["project_id", "status_date"])
    assert _written(tmp_path, swapped).equals(swapped.sort("project_id", "status_date"))


def test_a_key_with_nulls_or_floats_is_always_sorted(tmp_path: Path):
    frame = _frame()
    # polars sorts NULLs first, DuckDB last: a frame with a NULL key is never taken as in order
    nulls = pl.concat([frame.head(1).with_columns(project_id=pl.lit(None, pl.String)), frame])
    assert not warehouse.in_key_order(nulls, ["project_id", "status_date"])
    written = _written(tmp_path, nulls)
    assert written.get_column("project_id").to_list()[-1] is None
    floats = pl.DataFrame({"x": [1.0, 2.0, float("nan")]})
    assert not warehouse.in_key_order(floats, ["x"])


def test_a_large_frame_in_many_chunks_keeps_its_order(tmp_path: Path):
    # DuckDB scans a frame of many chunks in parallel; written without ORDER BY, the table must still be the frame
    # row for row (preserve_insertion_order), or a mart would silently lose its key order.
    n = 600_000
    frame = pl.concat(
        [
            pl.DataFrame({"project_id": pl.int_range(start, start + 50_000, eager=True) // 500, "n": range(50_000)})
            .with_columns(project_id=pl.format("P{}", pl.col("project_id").cast(pl.String).str.zfill(5)))
            .with_columns(status_date=pl.lit(DAYS[0]))
            for start in range(0, n, 50_000)
        ],
        rechunk=False,
    )
    assert frame.n_chunks() > 1
    assert warehouse.in_key_order(frame, ["project_id", "status_date"])
    assert _written(tmp_path, frame).equals(frame)
