"""A date column's format is decided per file on a sample of its values, then every row is parsed in that format."""

import datetime as dt

import polars as pl
import pytest

from data_contracts.contract import SAMPLE, Contract, all_contracts, conform, load, parse_column

DAY_FIRST, MONTH_FIRST = "%d/%m/%Y", "%m/%d/%Y"


@pytest.fixture
def contract(tmp_path) -> Contract:
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "kind: k\ntitle: K\nsource: s\nsignature: [d]\ncolumns:\n"
        f"  - {{name: d, type: date, formats: ['{DAY_FIRST}', '{MONTH_FIRST}']}}\n",
        encoding="utf-8",
    )
    return load(spec)


def _two(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.zfill(2)


def _dates(n: int, *, day_first: pl.Expr, month_first: pl.Expr) -> pl.DataFrame:
    """One file of n rows (line i + 2 for row i). Where neither mask holds the value is ambiguous, a/b/2025 with
    a = i % 12 + 1 and b = (i // 12) % 12 + 1 (both at most 12); where a mask holds it only reads one way, the day
    13 + i % 16 after or before the month i % 12 + 1."""
    i = pl.int_range(pl.len())
    a, b, day = _two(i % 12 + 1), _two((i // 12) % 12 + 1), _two(13 + i % 16)
    value = (
        pl.when(day_first)
        .then(pl.concat_str(day, a, pl.lit("2025"), separator="/"))
        .when(month_first)
        .then(pl.concat_str(a, day, pl.lit("2025"), separator="/"))
        .otherwise(pl.concat_str(a, b, pl.lit("2025"), separator="/"))
    )
    return pl.DataFrame({"_line": pl.int_range(2, n + 2, eager=True)}).with_columns(
        d=value, _source_file=pl.lit(1, pl.Int64)
    )


def test_a_big_file_is_decided_by_a_sample_spread_through_it(contract):
    # 25,000 values: k = ceil(25,000 / 10,000) = 3, so values 0, 3, ..., 24,999 are counted: 8,334 of them.
    # Month-first tell-tales (04/25/2025) sit on every 7th row from row 10,000 on: none among the first 10,000,
    # so a sample of the file's head would tie and take the contract's first, day-first. In the spread sample,
    # rows divisible by 21 from 10,017 to 24,990: 1,190 - 477 + 1 = 714 tell-tales; month-first parses 8,334
    # values, day-first 8,334 - 714 = 7,620.
    assert SAMPLE == 10_000
    i = pl.int_range(pl.len())
    raw = _dates(25_000, day_first=pl.lit(False), month_first=(i >= 10_000) & (i % 7 == 0))
    assert raw.get_column("d")[38] == "03/04/2025"  # row 38: a = 38 % 12 + 1 = 3, b = (38 // 12) % 12 + 1 = 4
    result = conform(raw, contract)
    assert result.formats.rows() == [(1, "d", MONTH_FIRST)]
    assert result.typed.get_column("d")[38] == dt.date(2025, 3, 4)  # month first: 4 March, not 3 April
    assert result.typed.get_column("d")[10_003] == dt.date(2025, 8, 16)  # 10,003 % 12 + 1 = 8; 13 + 10,003 % 16 = 16
    assert result.rejects.height == 0  # all 2,143 tell-tales (7 x 1,429 .. 7 x 3,571) read month-first too


def test_the_sample_decides_for_a_big_file_even_against_the_whole_file(contract):
    # 30,000 values: k = 3, the sample is rows 0, 3, ..., 29,997 (10,000 values). 1,000 day-first tell-tales sit
    # on rows i % 3 == 1 below 3,000 (never sampled); 1,000 month-first ones on rows i % 30 == 0 (all sampled).
    # Counting every value would tie (29,000 each) and take the first, day-first; the sample reads month-first
    # 10,000 and day-first 10,000 - 1,000 = 9,000, so the file is month-first and its 1,000 day-first tell-tales
    # do not parse.
    i = pl.int_range(pl.len())
    raw = _dates(30_000, day_first=(i % 3 == 1) & (i < 3_000), month_first=i % 30 == 0)
    result = conform(raw, contract)
    assert result.formats.rows() == [(1, "d", MONTH_FIRST)]
    assert raw.get_column("d")[1] == "14/02/2025"  # row 1: day 13 + 1 = 14, month 1 + 1 = 2
    assert result.typed.get_column("d")[1] is None
    assert result.rejects.height == 1_000
    assert set(result.rejects.get_column("rule")) == {"type:date"}
    whole_file = raw.select(parse_column(contract.columns[0], pl.col("d"))[1].first()).item()
    assert whole_file == DAY_FIRST  # what counting every value decides: the sample is what changed it


def test_files_in_one_frame_each_parse_by_their_own_format(contract):
    raw = pl.DataFrame(
        {
            # Rows of the files interleave: the format goes by file, not by position.
            "d": ["03/04/2025", "03/04/2025", "25/12/2025", "12/25/2025", "01/02/2025", "13/01/2025", " ", None],
            "_line": [2, 2, 3, 3, 2, 3, 2, 3],
            "_source_file": [1, 2, 1, 2, 3, 3, 4, 4],
        }
    )
    result = conform(raw, contract)
    # Files 1 and 3 have a day above 12 first (25/12, 13/01): day-first, 2 values against 1. File 2 has 12/25:
    # month-first. File 4 holds only blanks: no format.
    assert result.formats.rows() == [(1, "d", DAY_FIRST), (2, "d", MONTH_FIRST), (3, "d", DAY_FIRST)]
    assert result.typed.get_column("d").to_list() == [
        dt.date(2025, 4, 3),  # file 1: 3 April
        dt.date(2025, 3, 4),  # file 2: 4 March
        dt.date(2025, 12, 25),
        dt.date(2025, 12, 25),
        dt.date(2025, 2, 1),  # file 3: 1 February
        dt.date(2025, 1, 13),
        None,
        None,
    ]
    assert result.rejects.height == 0


def test_jira_files_with_and_without_offsets_each_parse_by_their_own_format():
    raw = pl.DataFrame(
        {
            "Created": ["03/Apr/25 10:15 AM", "2025-04-03T10:15:00.000+0200", "04/Apr/25 1:05 PM"],
            "_line": [2, 2, 3],
            "_source_file": [1, 2, 1],
        }
    )
    result = conform(raw, all_contracts()["jira_issues"])
    assert result.formats.filter(pl.col("column") == "Created").rows() == [
        (1, "Created", "%d/%b/%y %I:%M %p"),
        (2, "Created", "%Y-%m-%dT%H:%M:%S%.f%z"),
    ]
    assert result.typed.get_column("Created").to_list() == [
        dt.datetime(2025, 4, 3, 10, 15),
        dt.datetime(2025, 4, 3, 8, 15),  # 10:15 at +02:00 is 08:15 UTC
        dt.datetime(2025, 4, 4, 13, 5),
    ]


def test_small_files_keep_the_tie_and_the_nothing_parses_rules(contract):
    raw = pl.DataFrame(
        {
            "d": ["03/04/2025", "05/06/2025", "soon", "n/a", "2025-07-08"],
            "_line": [2, 3, 2, 3, 2],
            "_source_file": [1, 1, 2, 2, 3],
        }
    )
    result = conform(raw, contract)
    # File 1: both formats parse both values, a tie: the contract's first, day-first (3 April, 5 June).
    # File 2: no format parses anything: no format, both values NULL and rejected as not a date.
    # File 3: only the ISO format every date column accepts after its own parses.
    assert result.formats.rows() == [(1, "d", DAY_FIRST), (3, "d", "%Y-%m-%d")]
    days = [dt.date(2025, 4, 3), dt.date(2025, 6, 5), None, None, dt.date(2025, 7, 8)]
    assert result.typed.get_column("d").to_list() == days
    assert result.rejects.select("_source_file", "line", "rule").rows() == [(2, 2, "type:date"), (2, 3, "type:date")]
    # Up to SAMPLE values a file decides as parse_column does, counting every value.
    value, found = parse_column(contract.columns[0], pl.col("d"))
    whole = raw.select("_source_file", value.alias("d"), found.alias("format"))
    assert whole.get_column("d").to_list() == days
    per_file = whole.select("_source_file", "format").unique(maintain_order=True).drop_nulls("format")
    assert per_file.rows() == [(f, fmt) for f, _, fmt in result.formats.rows()]


def test_a_file_whose_sample_parses_nothing_reads_as_null_beside_a_file_that_chose(contract):
    # File 2 has 30,000 values: k = 3, and every sampled row (i % 3 == 0) is "n/a", so no format is chosen and
    # none of its rows parses, not even the 20,000 unsampled dates, which file 1's day-first would read.
    i = pl.int_range(pl.len())
    big = _dates(30_000, day_first=pl.lit(True), month_first=pl.lit(False)).with_columns(
        d=pl.when(i % 3 == 0).then(pl.lit("n/a")).otherwise("d"), _source_file=pl.lit(2, pl.Int64)
    )
    small = pl.DataFrame({"_line": [2, 3], "d": ["03/04/2025", "25/12/2025"], "_source_file": [1, 1]})
    result = conform(pl.concat([small, big], how="vertical_relaxed"), contract)
    assert result.formats.rows() == [(1, "d", DAY_FIRST)]
    assert result.typed.get_column("d").head(3).to_list() == [dt.date(2025, 4, 3), dt.date(2025, 12, 25), None]
    assert big.get_column("d")[1] == "14/02/2025"  # row 1 of file 2: a date day-first, unsampled
    assert result.typed.get_column("d").null_count() == 30_000
    assert result.rejects.height == 30_000  # 10,000 "n/a" + 20,000 dates of a file with no format


def test_a_single_format_column_reports_its_format_only_for_the_files_that_write_it(tmp_path):
    spec = tmp_path / "one.yaml"
    spec.write_text(
        "kind: k\ntitle: K\nsource: s\nsignature: [d]\ncolumns:\n"
        "  - {name: d, type: date, formats: ['%Y-%m-%d']}\n  - {name: e, type: date, formats: ['%Y-%m-%d']}\n",
        encoding="utf-8",
    )
    raw = pl.DataFrame(
        {
            "d": ["2025-01-06", " ", "", None, "2025-01-07", "not a date"],
            "e": [None, None, None, None, None, "  "],
            "_line": [2, 3, 2, 3, 2, 3],
            "_source_file": [1, 1, 2, 2, 3, 3],
        }
    )
    result = conform(raw, load(spec))
    # File 1 writes a date in d; file 2 only blanks (" ", "", NULL): nothing to report; file 3 writes one date and
    # one value that is not a date, which is a reject, but the file still reads d in the format. e is blank in all.
    assert result.formats.rows() == [(1, "d", "%Y-%m-%d"), (3, "d", "%Y-%m-%d")]
    assert result.rejects.select("_source_file", "line", "rule").rows() == [(3, 3, "type:date")]
