"""The bad-input corpus, built from the SMALL demo's real exports (tests/conftest.py), never copied in.

Every case is a dict {inbox-relative path: bytes}. Rows taken from the demo's Tempo export are moved to a
project of their own (LAB<slot>, unknown to the demo's register) and to weeks of their own (a year earlier, then
four weeks further back per slot; whole weeks, so weekdays stay), so that no two cases, and no case and the demo,
share a worklog, a project scope or a person-day: no corrected-re-export replacement, no person-day total over
two files, no Jira Log Work item covered. So every case can sit in one inbox beside the demo's good files, and
what those load must not change.
"""

from __future__ import annotations

import gzip
import io
from functools import cache

import polars as pl

from tests.conftest import SMALL
from transforms.demo_portfolio import generate

TEMPO = "tempo/tempo_worklogs_2026-03-15.csv"
INCIDENTS = "servicenow/incident_2026-03-15.csv"
SERVICENOW_CAP = 10_000  # glide.csv.export.limit's default


@cache
def _demo() -> dict[str, bytes]:
    return generate(SMALL)


def demo() -> dict[str, bytes]:
    """The SMALL demo's exports, a new dict each time: a test adds its files to it (`files |= ...`), and a shared one
    would carry them into the next test of the process."""
    return dict(_demo())


@cache
def tempo_frame() -> pl.DataFrame:
    """The demo's Tempo export as strings, without its two deliberately bad rows (-3.00 h, 31/02/2026)."""
    frame = pl.read_csv(demo()[TEMPO], infer_schema=False)
    return frame.filter(~pl.col("Hours").str.starts_with("-") & pl.col("Work date").str.starts_with("2026-"))


def lab_rows(n: int, slot: int) -> pl.DataFrame:
    """The first n good demo Tempo rows (n <= 60: they span under four weeks), moved to project LAB<slot> and
    364 + 28 × slot days earlier."""
    rows = tempo_frame().head(n)
    key = f"LAB{slot}"
    day = pl.col("Work date").str.slice(0, 10).str.to_date("%Y-%m-%d") - pl.duration(days=364 + 28 * slot)
    return rows.with_columns(
        pl.concat_str(pl.lit(key + "-"), pl.col("Issue Key").str.extract(r"(\d+)$")).alias("Issue Key"),
        pl.lit(key).alias("Project Key"),
        pl.lit("Lab").alias("Project Name"),
        pl.lit(key).alias("Account Key"),
        (day.dt.to_string("%Y-%m-%d") + pl.lit(" 00:00")).alias("Work date"),
    )


def to_csv(frame: pl.DataFrame, separator: str = ",") -> bytes:
    """CSV as Tempo writes it: CRLF line ends, quotes only where needed."""
    return frame.write_csv(separator=separator, line_terminator="\r\n").encode("utf-8")


def header_line() -> bytes:
    return demo()[TEMPO].split(b"\r\n", 1)[0]


# --- the cases -------------------------------------------------------------------------------------------------


def empty() -> bytes:
    return b""


def header_only() -> bytes:
    return header_line() + b"\r\n"


def truncated_mid_row() -> bytes:
    """10 data rows (file lines 2-11) cut inside the 7th (line 8), 10 characters into its 5th field (Username,
    a 24-character id): a download that stopped. The file ends there, with no line end."""
    data = to_csv(lab_rows(10, 1))
    lines = data.split(b"\r\n")
    fifth = [i for i, byte in enumerate(lines[7]) if byte == ord(",")][3] + 1  # no quoted commas in these fields
    cut = b"\r\n".join(lines[:7]) + b"\r\n" + lines[7][: fifth + 10]
    assert not cut.endswith(b"\n") and cut.count(b"\r\n") == 7
    return cut


def truncated_mid_quote() -> bytes:
    """10 data rows; row 7 (line 8) has a quoted, two-line Work Description; the file ends inside that quote."""
    rows = lab_rows(10, 2).with_columns(
        pl.when(pl.int_range(pl.len()) == 6)
        .then(pl.lit('Cut-over rehearsal, "dry run"\nsecond pass on the payroll interface'))
        .otherwise(pl.col("Work Description"))
        .alias("Work Description")
    )
    data = to_csv(rows)
    start = data.index(b'"Cut-over')
    return data[: start + len(b'"Cut-over rehearsal, ""dry run""\nsecond')]


def binary_gzip() -> bytes:
    """The Tempo export gzipped but named .csv (a browser that saved the compressed download)."""
    return gzip.compress(demo()[TEMPO], mtime=0)


def binary_noise() -> bytes:
    """Bytes with no NUL and no structure: a corrupt copy. Deterministic."""
    return bytes((i * 97 + 13) % 255 + 1 for i in range(3000))


def wrong_delimiter() -> bytes:
    """The header written with commas, the 5 data rows with semicolons (pasted from a semicolon locale)."""
    head = header_line() + b"\r\n"
    body = to_csv(lab_rows(5, 3), separator=";").split(b"\r\n", 1)[1]
    return head + body


def extra_fields() -> bytes:
    """4 rows; row 2 (line 3) has a 14th field: a comma typed into an unquoted value shifts the row."""
    lines = to_csv(lab_rows(4, 0)).split(b"\r\n")
    lines[2] += b",shifted"
    return b"\r\n".join(lines)


def mixed_encodings() -> bytes:
    """8 rows in UTF-8 with accented descriptions; rows 3 and 6 (lines 4 and 7) written in Windows-1252."""
    notes = ["Migração concluída", "Réunion équipe", "Reunião de revisão", "Análise", "Só testes", "Ação 2",
             "Configuração", "Pequeña mejora"]  # fmt: skip
    rows = lab_rows(8, 4).with_columns(pl.Series("Work Description", notes))
    lines = to_csv(rows).decode("utf-8").split("\r\n")
    out = [line.encode("cp1252") if i in (3, 6) else line.encode("utf-8") for i, line in enumerate(lines)]
    return b"\r\n".join(out)


def duplicate_column() -> bytes:
    """Hours twice (a report with the column added again): equal on 5 rows, different on row 3 (line 4)."""
    rows = lab_rows(6, 5)
    again = rows.get_column("Hours").to_list()
    again[2] = "9.50"
    return to_csv(rows.with_columns(pl.Series("Hours again", again))).replace(b",Hours again\r\n", b",Hours\r\n", 1)


def missing_required_column() -> bytes:
    """6 rows without the required Project Key column."""
    return to_csv(lab_rows(6, 6).drop("Project Key"))


def huge_field() -> bytes:
    """5 rows; row 2 (line 3) has a 10 MB Work Description (quoted, with commas and newlines)."""
    big = ("Lorem ipsum, dolor sit amet\n" * (10 * 1024 * 1024 // 28 + 1))[: 10 * 1024 * 1024]
    rows = lab_rows(5, 7).with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(big)).otherwise(pl.col("Work Description"))
        .alias("Work Description")
    )  # fmt: skip
    return to_csv(rows)


def implausible_dates() -> bytes:
    """6 rows: row 2 (line 3) dated 2062-03-04, row 4 (line 5) 1989-12-31, row 5 (line 6) 1899-12-30
    (Excel's day zero); the others are ordinary days of July 2023."""
    rows = lab_rows(6, 8).with_columns(
        pl.Series(
            "Work date",
            [
                "2023-07-03 00:00",
                "2062-03-04 00:00",
                "2023-07-04 00:00",
                "1989-12-31 00:00",
                "1899-12-30 00:00",
                "2023-07-05 00:00",
            ],
        )  # fmt: skip
    )
    return to_csv(rows)


def absurd_hours() -> bytes:
    """6 rows by one person: -2.00 (line 2), 25.00 (line 3), both 2023-08-07; then 13.00 + 12.00 on 2023-08-08
    (lines 4-5: 25 h in one day) and 4.00 + 3.00 on 2023-08-09 (lines 6-7: a normal day)."""
    rows = lab_rows(6, 9).with_columns(
        pl.lit("Ana Almeida").alias("Full name"),
        pl.lit("269e0d37f2a74de452e6b438").alias("Username"),
        pl.Series("Hours", ["-2.00", "25.00", "13.00", "12.00", "4.00", "3.00"]),
        pl.Series(
            "Work date",
            [
                "2023-08-07 00:00",
                "2023-08-07 00:00",
                "2023-08-08 00:00",
                "2023-08-08 00:00",
                "2023-08-09 00:00",
                "2023-08-09 00:00",
            ],
        ),  # fmt: skip
    )
    return to_csv(rows)


def overlapping_exports() -> dict[str, bytes]:
    """Two Tempo exports of one project, 60 worklogs in all on 14 or more work days: the first (a) holds the
    worklogs of the first 10 of those days, the second (b) those of day 7 on. Days 7-10 are in both."""
    rows = lab_rows(60, 10)
    days = rows.get_column("Work date").unique().sort()
    assert days.len() >= 14, days
    return {
        "tempo/lab_export_a.csv": to_csv(rows.filter(pl.col("Work date") <= days[9])),
        "tempo/lab_export_b.csv": to_csv(rows.filter(pl.col("Work date") >= days[6])),
    }


def servicenow_export(rows: int, first: int) -> bytes:
    """An incident export of `rows` rows: the demo's incident rows repeated under new numbers INC<first>..."""
    frame = pl.read_csv(demo()[INCIDENTS], infer_schema=False)
    repeated = pl.concat([frame] * (rows // frame.height + 1)).head(rows)
    numbered = repeated.with_columns(
        pl.format("INC{}", pl.int_range(first, first + rows).cast(pl.String)).alias("number")
    )
    return to_csv(numbered)


def merged_header_xlsx() -> bytes:
    """A Tempo report saved from Excel: row 1 a title merged across every column, row 2 group headings merged
    over their columns ("Issue" over A:B, "Time" over C:D, "Who" over E:F), row 3 the real header, rows 4-9
    six worklogs."""
    import xlsxwriter

    rows = lab_rows(6, 11)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Worklogs")
    last = len(rows.columns) - 1
    sheet.merge_range(0, 0, 0, last, "Tempo worklogs, project LAB, exported 2025-03-01")
    for first, end, title in ((0, 1, "Issue"), (2, 3, "Time"), (4, 5, "Who")):
        sheet.merge_range(1, first, 1, end, title)
    sheet.write_row(2, 0, rows.columns)
    for i, row in enumerate(rows.iter_rows()):  # a handful of cells of test data, not pipeline rows
        sheet.write_row(3 + i, 0, row)
    book.close()
    return out.getvalue()


CASES: dict[str, dict[str, bytes]] = {}


def cases() -> dict[str, dict[str, bytes]]:
    """Every case: {case name: {inbox-relative path: bytes}}."""
    if not CASES:
        CASES.update(
            {
                "empty": {"tempo/empty.csv": empty()},
                "header_only": {"tempo/header_only.csv": header_only()},
                "truncated_mid_row": {"tempo/truncated_mid_row.csv": truncated_mid_row()},
                "truncated_mid_quote": {"tempo/truncated_mid_quote.csv": truncated_mid_quote()},
                "binary_gzip": {"exports/worklogs.csv": binary_gzip()},
                "binary_noise": {"exports/noise.csv": binary_noise()},
                "wrong_delimiter": {"exports/wrong_delimiter.csv": wrong_delimiter()},
                "extra_fields": {"exports/extra_fields.csv": extra_fields()},
                "mixed_encodings": {"exports/mixed_encodings.csv": mixed_encodings()},
                "duplicate_column": {"exports/duplicate_column.csv": duplicate_column()},
                "missing_required_column": {"exports/missing_project_key.csv": missing_required_column()},
                "huge_field": {"exports/huge_field.csv": huge_field()},
                "implausible_dates": {"exports/implausible_dates.csv": implausible_dates()},
                "absurd_hours": {"exports/absurd_hours.csv": absurd_hours()},
                "overlapping_exports": overlapping_exports(),
                # exactly ServiceNow's default export limit, and one row under it
                "servicenow_at_cap": {"servicenow/incident_at_cap.csv": servicenow_export(SERVICENOW_CAP, 9_000_001)},
                "servicenow_below_cap": {
                    "servicenow/incident_below_cap.csv": servicenow_export(SERVICENOW_CAP - 1, 8_000_001)
                },
                "merged_header_xlsx": {"exports/merged_header.xlsx": merged_header_xlsx()},
            }
        )
    return CASES
