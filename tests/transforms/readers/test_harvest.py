"""Harvest detailed time report → worklogs: name variants, date formats, multi-line notes, hashed ids."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from tests.staging_helpers import (
    REALDATA,
    file_counts,
    full_matches,
    realdata,
    stage_exports,
    stage_fixtures,
    stage_realdata,
    worklogs_by_line,
)

KIND = "harvest_time"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / KIND
REAL = "harvest/formidable_sauce_harvest_detailed.csv"


@pytest.mark.parametrize("name", ["good.csv", "good_person.csv", "bad.csv"])
def test_fixtures_are_detected_as_harvest_only(name):
    assert full_matches((FIXTURES / name).read_bytes()) == (KIND, [KIND])


@realdata
def test_real_file_is_detected_as_harvest_only():
    assert full_matches((REALDATA / REAL).read_bytes()) == (KIND, [KIND])


def test_current_export_with_short_us_dates_and_multiline_notes():
    parsed, staged = stage_fixtures(KIND, "good.csv")
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (5, 5, 0)
    assert counts["formats"] == "Date: %m/%d/%y"
    rows = worklogs_by_line(staged)
    assert sorted(rows) == [2, 6, 7, 8, 9]  # the notes of line 2 span four lines
    first = rows[2]
    # line 2: 3/2/26,...,Web Shop,...,"Checkout totals\n\n- rounding fix\n- tests",2.5,...,Yes,No,Ana,Example,...,
    #         https://northwind.atlassian.net/browse/SHOP-12
    assert (first["work_date"], first["hours"], first["billable"]) == (dt.date(2026, 3, 2), Decimal("2.5"), True)
    assert first["person_name"] == "Ana Example" and first["item_key"] == "SHOP-12"
    assert first["description"] == "Checkout totals\n\n- rounding fix\n- tests"
    assert (first["source_kind"], first["source_project_key"]) == ("harvest", "Web Shop")
    assert rows[6]["item_key"] == "SHOP-14"  # no URL; the key is in the notes "Reviewed SHOP-14 login fix"
    assert rows[9]["work_date"] == dt.date(2026, 3, 13)  # 3/13/26
    # lines 7 and 8 are the same entry twice: two worklogs with different ids
    assert rows[7]["worklog_id"] != rows[8]["worklog_id"]
    assert all(r["worklog_id"].startswith("h") for r in rows.values())


def test_older_export_with_person_approved_and_european_numbers():
    _, staged = stage_fixtures(KIND, "good_person.csv")
    counts = file_counts(staged)
    assert counts["rows_loaded"] == 2 and counts["formats"] == "Date: %d.%m.%Y; Hours: decimal comma"
    rows = worklogs_by_line(staged)
    # line 2: 02.03.2026,...,"Pairing, SHOP-12","7,5",Yes,No,Yes,Ana Example,...
    assert (rows[2]["person_name"], rows[2]["work_date"], rows[2]["hours"]) == (
        "Ana Example",
        dt.date(2026, 3, 2),
        Decimal("7.5"),
    )
    assert (rows[2]["approved"], rows[2]["billable"], rows[2]["item_key"]) == (True, True, "SHOP-12")
    # line 3: 13.03.2026,...,"1,25",No,No,No,Ben Sample
    assert (rows[3]["hours"], rows[3]["approved"], rows[3]["item_key"]) == (Decimal("1.25"), False, None)


def test_bad_fixture_rejects():
    _, staged = stage_fixtures(KIND, "bad.csv")
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "Hours", "min:0.01", "0"),
        (4, "Hours", "max:24", "25.5"),
        (5, "Hours", "type:decimal", "1h"),
        (6, "Date", "type:date", "2026-02-30"),
        (7, "Project", "required", None),
        (8, "Billable?", "type:boolean", "Maybe"),
    ]
    counts = file_counts(staged)
    assert (counts["rows_loaded"], counts["rows_rejected"], counts["rows_skipped"]) == (1, 6, 0)


def test_a_re_export_of_the_same_entries_deduplicates():
    data = (FIXTURES / "good.csv").read_bytes()
    _, staged = stage_exports({"drop/march.csv": data, "drop/march_again.csv": data})
    assert staged.tables["worklogs"].height == 5
    assert file_counts(staged, 1)["rows_duplicate"] == 5 and file_counts(staged, 2)["rows_loaded"] == 5


def test_a_corrected_re_export_replaces_the_dates_it_covers():
    lines = (FIXTURES / "good.csv").read_bytes().split(b"\r\n")
    corrected = b"\r\n".join(lines[:4] + lines[5:])  # the second "Timesheets" entry of 3/3/26 was deleted
    _, staged = stage_exports({"drop/march.csv": (FIXTURES / "good.csv").read_bytes(), "drop/fixed.csv": corrected})
    assert staged.tables["worklogs"].height == 4
    older = file_counts(staged, 1)
    assert (older["rows_loaded"], older["rows_duplicate"]) == (0, 5)


@realdata
def test_real_file_every_row_loads():
    parsed, staged = stage_realdata(REAL)
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        102,
        102,
        0,
        0,
    )
    rows = worklogs_by_line(staged)
    # line 2: 2018-08-14,Formidable,SAUCE,Formidable-SAUCE,Other Open Source,Spotify GraphQL extension: ...,5,5,No,No,
    #         Brian,Beck,,,,,,,,
    assert (rows[2]["work_date"], rows[2]["hours"], rows[2]["person_name"]) == (
        dt.date(2018, 8, 14),
        Decimal("5"),
        "Brian Beck",
    )
    assert (rows[2]["billable"], rows[2]["source_project_key"]) == (False, "SAUCE")
    # line 3 starts a five-line note ("Researching strongswan ... honcc"), so the next entry is on line 8.
    assert rows[3]["hours"] == Decimal("1.5") and rows[3]["description"].count("\n") == 4 and 8 in rows
    # Hours add up to what Python's own CSV reader finds in the file.
    text = (REALDATA / REAL).read_text(encoding="utf-8")
    expected = sum(Decimal(r["Hours"]) for r in csv.DictReader(io.StringIO(text)))
    assert sum(r["hours"] for r in rows.values()) == expected == Decimal("243.08")
    # No entry names a Jira issue (the notes link GitHub), so no item keys.
    assert all(r["item_key"] is None for r in rows.values())
    assert len({r["worklog_id"] for r in rows.values()}) == 102
