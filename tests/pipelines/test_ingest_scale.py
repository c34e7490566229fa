"""Ingestion past one DuckDB row group (122,880 rows), where duckdb 2.0.0 once read a new table back empty."""

import polars as pl

from pipelines import warehouse
from pipelines.ingest import ingest


def test_an_export_larger_than_a_row_group_loads_every_row(tmp_path):
    n = 130_000
    inbox = tmp_path / "inbox" / "tempo"
    inbox.mkdir(parents=True)
    pl.DataFrame(
        {
            "Worklog Id": pl.int_range(1, n + 1, eager=True),
            "Issue Key": "A-1",
            "Hours": 0.25,
            "Work date": "2026-03-02",
            "Full name": "Ana",
            "Project Key": "A",
        }
    ).write_csv(inbox / "big.csv")
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        summary = ingest(conn, tmp_path / "inbox")
        loaded = conn.sql("SELECT rows_in_file, rows_loaded FROM audit.files").fetchall()
        hours = conn.sql("SELECT sum(hours) FROM staging.worklogs").fetchall()[0][0]
    assert summary.staging_rows["worklogs"] == n and loaded == [(n, n)]
    assert float(hours) == n * 0.25  # 130,000 × 0.25 h = 32,500 h
