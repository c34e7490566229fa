"""Time-phased earned value status file (evm_status) → canonical evm_status: defaults and every rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl

from tests.staging_helpers import file_counts, stage_exports
from transforms.ingest import parse_export
from transforms.staging import stage_all

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "evm_status"
GOOD = (FIXTURES / "good.csv").read_bytes()
BAD = (FIXTURES / "bad.csv").read_bytes()
HEADER = b"project_id,status_date,pv,ev,ac,bac,baseline_start,baseline_finish,baseline_version\n"


def test_good_file_loads_every_row_with_defaults():
    parsed, staged = stage_exports({"pmo/evm_status.csv": GOOD})
    assert parsed[0].kind == "evm_status"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (19, 19, 0)
    assert counts["covers"] == "evm_status 2026-01-11..2026-04-05"
    evm = staged.tables["evm_status"]
    # Line 11: PRJ-001,2026-03-15,60000.00,55900.00,63800.00,,2026-01-05,2026-04-03, (no bac, no version)
    week = evm.filter((pl.col("project_id") == "PRJ-001") & (pl.col("status_date") == pl.date(2026, 3, 15)))
    assert week.select("pv", "ev", "ac").row(0) == (Decimal("60000"), Decimal("55900"), Decimal("63800"))
    # bac defaults to the project's last pv (line 14: 2026-04-05, 74400.00); version to "1".
    prj1 = evm.filter(pl.col("project_id") == "PRJ-001")
    assert prj1.get_column("bac").unique().to_list() == [Decimal("74400")]
    assert prj1.get_column("baseline_version").unique().to_list() == ["1"]
    # Lines 12-14 carry pv only: ev and ac stay empty.
    future = prj1.filter(pl.col("status_date") > pl.date(2026, 3, 15))
    assert (
        future.height == 3 and future.get_column("ev").null_count() == 3 and future.get_column("ac").null_count() == 3
    )
    # Lines 15-20: PRJ-002 states bac 120000.00 and baseline_version 2 on every row.
    prj2 = evm.filter(pl.col("project_id") == "PRJ-002")
    assert prj2.select(pl.col("bac").unique(), pl.col("baseline_version").unique()).rows() == [(Decimal("120000"), "2")]
    assert (str(prj2.get_column("baseline_start")[0]), str(prj2.get_column("baseline_finish")[0])) == (
        "2026-02-02",
        "2026-05-29",
    )


def test_bad_file_rejects_each_rule_and_defaults_bac_from_the_rows_kept():
    _, staged = stage_exports({"pmo/evm_bad.csv": BAD})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (8, 2, 6)
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "status_date", "week_end:sunday", "2026-03-04"),  # a Wednesday
        (4, "pv", "min:0", "-100.00"),
        (5, "ev", "type:decimal", "n/a"),
        (6, "baseline_finish", "same_within:project_id", "2026-05-29"),  # PRJ-004 states two finishes
        (7, "baseline_finish", "same_within:project_id", "2026-06-05"),
        (8, "baseline_start", "required", None),
    ]
    # PRJ-003 keeps lines 2 (2026-03-01, pv 1000.00) and 9 (2026-03-22, pv 4000.00, no ev/ac): bac = 4000.
    kept = staged.tables["evm_status"].select("status_date", "pv", "bac", "_line").rows()
    assert [(str(d), pv, bac, line) for d, pv, bac, line in kept] == [
        ("2026-03-01", Decimal("1000"), Decimal("4000"), 2),
        ("2026-03-22", Decimal("4000"), Decimal("4000"), 9),
    ]


def test_week_end_follows_the_settings():
    rows = (
        HEADER
        + b"PRJ-009,2026-03-14,100,90,95,,2026-03-02,2026-04-24,\nPRJ-009,2026-03-15,200,,,,2026-03-02,2026-04-24,\n"
    )
    parsed = parse_export("pmo/evm.csv", rows)
    raw = parsed.rows.with_columns(pl.lit(1, pl.Int64).alias("_source_file"))
    staged = stage_all({"evm_status": raw}, week_ends_on="saturday")
    # 2026-03-14 is a Saturday (kept); 2026-03-15 a Sunday, off a Saturday grid (line 3).
    assert staged.rejects.select("line", "column", "rule").rows() == [(3, "status_date", "week_end:saturday")]
    assert staged.tables["evm_status"].get_column("status_date").to_list() == [dt.date(2026, 3, 14)]


def test_same_within_compares_every_file_of_a_project_and_a_newer_file_replaces_a_week():
    first = HEADER + b"PRJ-010,2026-03-01,100,100,90,,2026-02-23,2026-04-24,\n"
    second = (
        HEADER
        + b"PRJ-010,2026-03-01,110,100,95,,2026-02-23,2026-04-24,\nPRJ-010,2026-03-08,200,,,,2026-02-23,2026-04-24,\n"
    )
    _, staged = stage_exports({"pmo/a.csv": first, "pmo/b.csv": second})
    assert staged.rejects.height == 0
    assert file_counts(staged, 1)["rows_duplicate"] == 1 and file_counts(staged, 2)["rows_loaded"] == 2
    evm = staged.tables["evm_status"]
    assert evm.select("status_date", "pv", "_source_file").rows()[0][1:] == (Decimal("110"), 2)
    assert evm.get_column("bac").unique().to_list() == [Decimal("200")]
    moved = HEADER + b"PRJ-010,2026-03-15,300,,,,2026-02-23,2026-05-01,\n"
    _, staged = stage_exports({"pmo/a.csv": first, "pmo/c.csv": moved})
    assert staged.rejects.select("_source_file", "column", "rule").rows() == [
        (1, "baseline_finish", "same_within:project_id"),
        (2, "baseline_finish", "same_within:project_id"),
    ]
