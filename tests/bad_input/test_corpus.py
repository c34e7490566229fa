"""The bad-input corpus through the real ingestion (pipelines.ingest on a DuckDB file): every case is named with
its file, line, column and rule, every row is accounted for, and the good files beside it load as they would alone.

The cases sit in one inbox beside the SMALL demo's exports (tests/bad_input/conftest.py); corpus.py says how each
one is made, and keeps them apart from each other and from the demo's worklogs.
"""

import datetime as dt
import os
import subprocess
import sys

import polars as pl
import pytest

from data_contracts.contract import all_contracts, conform
from tests.bad_input import corpus
from tests.bad_input.conftest import read_only
from transforms.ingest import parse_export

TRUNCATED_ROW = "truncated: the file ends after field 5 of 13, with no line end (an interrupted download or export?)"
TRUNCATED_QUOTE = "truncated: the file ends inside this quoted field (an interrupted download or export?)"
MIXED = "encoding: not UTF-8 like the rest of the file; read as Windows-1252"
SEMICOLONS = "delimiter: the row is split by semicolon, the header by comma"

# path: (status, rows_in_file, loaded, duplicate, skipped, rejected). rows_in_file is NULL where no row could be read.
ACCOUNTS = {
    "tempo/empty.csv": ("unreadable", None, 0, 0, 0, 0),
    "tempo/header_only.csv": ("parsed", 0, 0, 0, 0, 0),
    # 6 whole rows and the cut 7th: the cut one breaks a critical rule, so the file is quarantined, all 7 rejected
    "tempo/truncated_mid_row.csv": ("rejected", 7, 0, 0, 0, 7),
    "tempo/truncated_mid_quote.csv": ("rejected", 7, 0, 0, 0, 7),
    "exports/worklogs.csv": ("unreadable", None, 0, 0, 0, 0),
    "exports/noise.csv": ("unreadable", None, 0, 0, 0, 0),
    "exports/wrong_delimiter.csv": ("parsed", 5, 0, 0, 0, 5),  # every row is split by the other delimiter
    "exports/extra_fields.csv": ("parsed", 4, 3, 0, 0, 1),  # the row with a 14th field
    "exports/mixed_encodings.csv": ("parsed", 8, 8, 0, 0, 0),  # 2 warnings; the rows load, decoded right
    "exports/duplicate_column.csv": ("parsed", 6, 5, 0, 0, 1),  # 1 row with two different Hours
    "exports/missing_project_key.csv": ("rejected", 6, 0, 0, 0, 6),
    "exports/huge_field.csv": ("parsed", 5, 4, 0, 0, 1),
    "exports/implausible_dates.csv": ("parsed", 6, 3, 0, 0, 3),  # 2062, 1989, 1899 out; 3 July 2023 days in
    "exports/absurd_hours.csv": ("parsed", 6, 4, 0, 0, 2),  # -2 h and 25 h out; 13 + 12 h load, flagged
    # a: 29 worklogs on days 1-10, of which the 17 on days 7-10 are in b too; b is newer: 29 - 17 = 12 load from a
    "tempo/lab_export_a.csv": ("parsed", 29, 12, 17, 0, 0),
    "tempo/lab_export_b.csv": ("parsed", 48, 48, 0, 0, 0),
    "servicenow/incident_at_cap.csv": ("parsed", 10_000, 10_000, 0, 0, 0),
    "servicenow/incident_below_cap.csv": ("parsed", 9_999, 9_999, 0, 0, 0),
    "exports/merged_header.xlsx": ("parsed", 6, 6, 0, 0, 0),
}
CASE_PATHS = [path for files in corpus.cases().values() for path in files]


def audit_files(conn) -> dict[str, dict]:
    return {row["path"]: row for row in conn.sql("SELECT * FROM audit.files").pl().iter_rows(named=True)}


def rejects_of(conn, path: str) -> list[tuple]:
    return conn.sql(
        'SELECT line, "column", rule, severity FROM audit.rejects JOIN audit.files USING (file_id)'
        ' WHERE path = ? ORDER BY line, "column", rule',
        params=[path],
    ).fetchall()


def test_the_corpus_covers_every_case_once():
    assert sorted(CASE_PATHS) == sorted(ACCOUNTS)


def test_every_row_of_every_file_is_accounted_for(combined):
    with read_only(combined) as conn:
        files = audit_files(conn)
        # Loaded rows counted independently of the manifest: the staging rows each file gave.
        staged = dict(conn.sql(
            "SELECT _source_file, count(*) FROM (SELECT _source_file FROM staging.worklogs"
            " UNION ALL SELECT _source_file FROM staging.work_items) GROUP BY 1"
        ).fetchall())  # fmt: skip
    for path, (status, rows, loaded, duplicate, skipped, rejected) in ACCOUNTS.items():
        f = files[path]
        got = (f["status"], f["rows_in_file"], f["rows_loaded"], f["rows_duplicate"], f["rows_skipped"],
               f["rows_rejected"])  # fmt: skip
        assert got == (status, rows, loaded, duplicate, skipped, rejected), path
        assert staged.get(f["file_id"], 0) == loaded, path
        if rows is not None:
            assert rows == loaded + duplicate + skipped + rejected, path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tempo/empty.csv", "tempo/empty.csv: the file is empty"),
        ("exports/worklogs.csv", "exports/worklogs.csv: the file holds binary data (NUL bytes), not delimited text"),
        ("exports/noise.csv", "exports/noise.csv: not a delimited file: its quotes and line ends make no rows"),
        ("exports/missing_project_key.csv",
         "exports/missing_project_key.csv: missing required column(s) Project Key for Tempo Timesheets worklog export"),
        ("tempo/truncated_mid_row.csv", f"critical rule {TRUNCATED_ROW} broken on line 8, column Username"),
        ("tempo/truncated_mid_quote.csv", f"critical rule {TRUNCATED_QUOTE} broken on line 8, column Work Description"),
        ("tempo/header_only.csv", "a header but no data rows (an export of an empty filter?); "
                                  "columns not in the contract, kept out of raw: Project Name"),
        ("exports/merged_header.xlsx", "header on row 3, under 2 title row(s); "
                                       "columns not in the contract, kept out of raw: Project Name"),
        ("servicenow/incident_at_cap.csv", "exactly 10,000 rows, the export limit of ServiceNow incident / task / "
         "project task list export: the export is probably truncated; export in smaller date ranges"),
        ("servicenow/incident_below_cap.csv", ""),
    ],
)  # fmt: skip
def test_a_file_level_problem_is_a_message_naming_the_file(combined, path, message):
    with read_only(combined) as conn:
        assert audit_files(conn)[path]["message"] == message


def test_a_truncated_file_is_quarantined_whole_naming_the_cut_line_and_field(combined):
    with read_only(combined) as conn:
        for path, column, rule in [("tempo/truncated_mid_row.csv", "Username", TRUNCATED_ROW),
                                   ("tempo/truncated_mid_quote.csv", "Work Description", TRUNCATED_QUOTE)]:  # fmt: skip
            found = rejects_of(conn, path)
            assert (8, column, rule, "critical") in found
            # lines 2-7 are whole, but the file is cut: each is rejected naming the rule that stopped the file
            quarantined = [r for r in found if r[2].startswith("file quarantined: critical rule truncated:")]
            assert [r[0] for r in quarantined] == [2, 3, 4, 5, 6, 7]
        raw = conn.sql(
            "SELECT raw_value FROM audit.rejects JOIN audit.files USING (file_id)"
            " WHERE path = 'tempo/truncated_mid_quote.csv' AND severity = 'critical' AND line = 8"
        ).fetchall()
    assert raw == [('Cut-over rehearsal, "dry run"\nsecond',)]  # the field as far as the file goes


def test_rows_split_by_the_wrong_delimiter_are_each_rejected_saying_so(combined):
    with read_only(combined) as conn:
        found = rejects_of(conn, "exports/wrong_delimiter.csv")
    assert [r for r in found if r[2] == SEMICOLONS] == [
        (line, "Issue Key", SEMICOLONS, "error") for line in range(2, 7)
    ]


def test_a_row_with_more_fields_than_the_header_is_rejected_not_cut(combined):
    with read_only(combined) as conn:
        found = conn.sql(
            'SELECT line, "column", rule, raw_value FROM audit.rejects JOIN audit.files USING (file_id)'
            " WHERE path = 'exports/extra_fields.csv'"
        ).fetchall()
    rule = "fields: more fields than the header's 13 (a delimiter inside an unquoted value?)"
    assert found == [(3, "Billed Hours", rule, "shifted")]


def test_lines_in_another_encoding_load_decoded_and_are_flagged(combined):
    with read_only(combined) as conn:
        assert rejects_of(conn, "exports/mixed_encodings.csv") == [
            (4, "Work Description", MIXED, "warning"),  # row 3 was written in Windows-1252
            (7, "Work Description", MIXED, "warning"),  # row 6 too
        ]
        f = audit_files(conn)["exports/mixed_encodings.csv"]
        notes = conn.sql(
            "SELECT description FROM staging.worklogs WHERE _source_file = ? ORDER BY _line", params=[f["file_id"]]
        ).fetchall()
    assert f["encoding"] == "utf-8+cp1252"
    # The UTF-8 lines are not mojibake (Migração, not MigraÃ§Ã£o) and the Windows-1252 ones read right.
    assert [n for (n,) in notes] == ["Migração concluída", "Réunion équipe", "Reunião de revisão", "Análise",
                                     "Só testes", "Ação 2", "Configuração", "Pequeña mejora"]  # fmt: skip


def test_a_column_twice_with_different_values_rejects_that_row_only(combined):
    with read_only(combined) as conn:
        found = conn.sql(
            'SELECT line, "column", raw_value FROM audit.rejects JOIN audit.files USING (file_id)'
            " WHERE path = 'exports/duplicate_column.csv'"
        ).fetchall()
        hours = conn.sql(
            "SELECT sum(hours) FROM staging.worklogs w JOIN audit.files f ON f.file_id = w._source_file"
            " WHERE f.path = 'exports/duplicate_column.csv'"
        ).fetchall()[0][0]
    # Row 3 (line 4) logs 2.00 h in the first Hours and 9.50 in the second: which is right is not known.
    assert found == [(4, "Hours", "2.00 | 9.50")]
    # The other 5 rows agree: 2.00 + 2.00 + 1.75 + 2.00 + 1.00 (the demo's first six good Tempo rows but the 3rd)
    hours_of = corpus.tempo_frame().head(6).get_column("Hours").cast(pl.Float64).to_list()
    assert hours_of == [2.0, 1.75, 2.0, 1.0, 2.0, 2.0]
    assert float(hours) == 2.0 + 1.75 + 1.0 + 2.0 + 2.0


def test_a_10_mb_field_rejects_its_row_and_quotes_only_its_start(combined):
    with read_only(combined) as conn:
        found = conn.sql(
            'SELECT line, "column", rule, length(raw_value) FROM audit.rejects JOIN audit.files USING (file_id)'
            " WHERE path = 'exports/huge_field.csv'"
        ).fetchall()
        longest = conn.sql("SELECT max(length(description)) FROM staging.worklogs").fetchall()[0][0]
    rule = "field_length: over 100,000 characters (an unclosed quote, or not an export?)"
    assert found == [(3, "Work Description", rule, 201)]  # 200 characters and an ellipsis
    assert longest is None or longest < 100_000


def test_a_10_mb_field_is_parsed_in_bounded_memory():
    """Parsing the 10 MB field (a 10.2 MB file) in a fresh interpreter peaks far below what a copy per row,
    per column or per check would take (each would add 10 MB × 13 columns or more)."""
    probe = (
        "import resource; from tests.bad_input import corpus; from transforms.ingest import parse_export;"
        "data = corpus.huge_field(); base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "p = parse_export('exports/huge_field.csv', data); assert p.rows.height == 5, p.message;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          cwd=os.getcwd())  # fmt: skip
    assert done.returncode == 0, done.stderr
    grown_mb = int(done.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux
    assert grown_mb < 150, f"parsing a 10 MB file grew the peak memory by {grown_mb:.0f} MB"


def test_dates_before_1990_and_after_the_load_day_are_rejected(combined):
    with read_only(combined) as conn:
        assert rejects_of(conn, "exports/implausible_dates.csv") == [
            (3, "Work date", "max_date:loaded+1d", "error"),  # 2062-03-04
            (5, "Work date", "min_date:1990-01-01", "error"),  # 1989-12-31
            (6, "Work date", "min_date:1990-01-01", "error"),  # 1899-12-30, Excel's day zero
        ]


def test_a_future_date_is_measured_from_the_day_its_file_was_loaded():
    """The same rows give the same answer on every later run: the reference is the load day, not today."""
    frame = pl.DataFrame({
        "Issue Key": ["A-1"] * 3, "Hours": ["1"] * 3, "Full name": ["Ana"] * 3, "Project Key": ["A"] * 3,
        "Work date": ["2026-03-16", "2026-03-17", "2026-03-18"], "_line": [2, 3, 4], "_source_file": [5, 5, 5],
    })  # fmt: skip
    contract = all_contracts()["tempo_worklogs"]
    checked = conform(frame, contract, loaded={5: dt.date(2026, 3, 16)})
    # loaded on 2026-03-16, one day of grace: the 16th and 17th are fine, the 18th is 2 days after the load
    assert checked.rejects.select("line", "rule").rows() == [(4, "max_date:loaded+1d")]
    assert conform(frame, contract, loaded={5: dt.date(2026, 3, 20)}).rejects.height == 0


def test_negative_hours_25_hours_and_a_25_hour_day(combined):
    with read_only(combined) as conn:
        assert rejects_of(conn, "exports/absurd_hours.csv") == [
            (2, "Hours", "min:0", "error"),  # -2.00 h
            (3, "Hours", "max:24", "error"),  # 25.00 h in one worklog
            (4, "hours", "max_day_total:24", "warning"),  # 13.00 h ...
            (5, "hours", "max_day_total:24", "warning"),  # ... + 12.00 h = 25 h on 2023-08-08: both load, flagged
        ]  # lines 6-7: 4 + 3 = 7 h on 2023-08-09, nothing to say
        raw = conn.sql(
            "SELECT raw_value FROM audit.rejects JOIN audit.files USING (file_id)"
            " WHERE path = 'exports/absurd_hours.csv' AND severity = 'warning' ORDER BY line"
        ).fetchall()
    assert raw == [("13.0 h of 25.0 h on 2023-08-08",), ("12.0 h of 25.0 h on 2023-08-08",)]


def test_the_same_worklogs_in_two_overlapping_exports_load_once(combined):
    with read_only(combined) as conn:
        loaded = conn.sql(
            "SELECT item_key, CAST(work_date AS VARCHAR), CAST(hours AS DOUBLE) FROM staging.worklogs"
            " WHERE source_project_key = 'LAB10'"
        ).pl()
    source = corpus.lab_rows(60, 10).select(
        "Issue Key", pl.col("Work date").str.slice(0, 10), pl.col("Hours").cast(pl.Float64)
    )
    # 29 + 48 rows in the two files, 17 of them in both: the 60 worklogs of the source, each once
    assert loaded.height == 60
    assert sorted(loaded.rows()) == sorted(source.rows())


def test_a_workbook_with_merged_title_and_group_rows_loads_from_its_real_header(combined):
    with read_only(combined) as conn:
        lines = conn.sql(
            "SELECT _line FROM staging.worklogs w JOIN audit.files f ON f.file_id = w._source_file"
            " WHERE f.path = 'exports/merged_header.xlsx' ORDER BY _line"
        ).fetchall()
    assert [line for (line,) in lines] == [4, 5, 6, 7, 8, 9]  # sheet rows under the header on row 3


def test_the_good_files_load_exactly_as_they_would_alone(baseline, combined):
    def good(path) -> dict[str, pl.DataFrame]:
        with read_only(path) as conn:
            names = conn.sql("SELECT file_id AS _source_file, path FROM audit.files").pl()
            listed = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
            tables = [t for (t,) in conn.sql(listed).fetchall()]
            out = {
                t: conn.sql(f"SELECT * FROM staging.{t}").pl().join(names, on="_source_file").drop("_source_file")
                .filter(~pl.col("path").is_in(CASE_PATHS)).sort(pl.all())
                for t in tables
            }  # fmt: skip
            out["audit.files"] = (
                conn.sql(
                    "SELECT path, sha256, status, rows_in_file, rows_loaded, rows_duplicate, rows_skipped,"
                    " rows_rejected, covers, formats, message FROM audit.files"
                )
                .pl()
                .filter(~pl.col("path").is_in(CASE_PATHS))
                .sort("path")
            )
            out["audit.rejects"] = (
                conn.sql(
                    'SELECT path, line, "column", rule, raw_value, severity, stage FROM audit.rejects'
                    " JOIN audit.files USING (file_id)"
                )
                .pl()
                .filter(~pl.col("path").is_in(CASE_PATHS))
                .sort(pl.all())
            )
            return out

    alone, beside = good(baseline), good(combined)
    assert sorted(alone) == sorted(beside)
    assert alone["audit.files"].height == len(corpus.demo())
    for name, frame in alone.items():
        assert frame.equals(beside[name]), name
    assert alone["worklogs"].height > 100  # the comparison has something to compare


def test_every_case_parses_without_an_exception():
    """parse_export is total: whatever the bytes, a ParsedFile with a status, never an exception."""
    for path in CASE_PATHS:
        data = next(files[path] for files in corpus.cases().values() if path in files)
        assert parse_export(path, data).status in ("parsed", "rejected", "unreadable", "unrecognised")
