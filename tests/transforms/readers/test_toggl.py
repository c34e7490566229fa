"""Toggl Track detailed report → worklogs: User/Member, HH:MM:SS durations, Jira keys in descriptions."""

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

KIND = "toggl_time"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / KIND
REAL = "toggl/tira_cmu_team_toggl.csv"


@pytest.mark.parametrize("name", ["good.csv", "bad.csv"])
def test_fixtures_are_detected_as_toggl_only(name):
    assert full_matches((FIXTURES / name).read_bytes()) == (KIND, [KIND])


@realdata
def test_real_file_is_detected_as_toggl_only():
    assert full_matches((REALDATA / REAL).read_bytes()) == (KIND, [KIND])


def test_newer_export_with_member_column():
    parsed, staged = stage_fixtures(KIND, "good.csv")
    assert parsed[0].kind == KIND and parsed[0].message.endswith("Amount (EUR)")  # the amount is not read
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"], counts["rows_skipped"]) == (
        4,
        4,
        0,
        0,
    )
    rows = worklogs_by_line(staged)
    # line 2: Ana Example,ana@example.test,Northwind Co,Web Shop,,SHOP-12 checkout totals,Yes,2026-03-02,09:05:00,
    #         2026-03-02,11:35:30,02:30:30,"dev, backend",300.00
    first = rows[2]
    assert (first["person_name"], first["person_email"], first["person_source_id"]) == (
        "Ana Example",
        "ana@example.test",
        "ana@example.test",
    )
    assert (first["work_date"], first["started_at"], first["hours"]) == (
        dt.date(2026, 3, 2),
        dt.datetime(2026, 3, 2, 9, 5),
        Decimal("2.5083"),
    )
    assert (first["item_key"], first["billable"], first["source_project_key"], first["source_kind"]) == (
        "SHOP-12",
        True,
        "Web Shop",
        "toggl",
    )
    # line 3: 23:30 to 00:45 the next day: the entry's day is its start date
    assert (rows[3]["work_date"], rows[3]["hours"], rows[3]["item_key"]) == (
        dt.date(2026, 3, 2),
        Decimal("1.25"),
        "SHOP-14",
    )
    assert rows[4]["billable"] is False and rows[4]["item_key"] is None
    # line 5: "Sprint-2 planning" is not a Jira key; 00:00:42 is 42 seconds
    assert (rows[5]["item_key"], rows[5]["hours"]) == (None, Decimal("0.0117"))


def test_bad_fixture_rejects_and_skips():
    _, staged = stage_fixtures(KIND, "bad.csv")
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (6, "End date", "type:date", "2026-13-01"),
        (6, "Start date", "type:date", "2026-13-01"),
        (7, "User", "required", None),
        (8, "Duration", "required", None),
    ]
    assert staged.skipped.select("line", "reason").rows() == [
        (3, "Duration '00:00:00' is zero: no work logged"),
        (4, "Duration '27:10:00' is over 24 hours for one entry"),
        (5, "Duration 'soon' is not a duration"),
    ]
    counts = file_counts(staged)
    assert (counts["rows_loaded"], counts["rows_rejected"], counts["rows_skipped"]) == (1, 3, 3)


@realdata
def test_real_file_every_row_loads():
    parsed, staged = stage_realdata(REAL)
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        652,
        652,
        0,
        0,
    )
    rows = worklogs_by_line(staged)
    # line 2: Ashutosh Dube,...,17671 Software Development Studio I,,Decision Making DEV-50,Yes,2016-01-02,13:00:00,
    #         2016-01-02,13:30:00,00:30:00,Reading,0.00
    first = rows[2]
    assert (first["item_key"], first["work_date"], first["started_at"], first["hours"], first["billable"]) == (
        "DEV-50",
        dt.date(2016, 1, 2),
        dt.datetime(2016, 1, 2, 13, 0),
        Decimal("0.5"),
        True,
    )
    assert first["source_project_key"] == "17671 Software Development Studio I"
    # line 9 "Mentor DEV-51 Meeting" is a key; line 10 "Mentor dev-51 Meeting" is not (lower case)
    assert (rows[9]["item_key"], rows[10]["item_key"]) == ("DEV-51", None)
    assert sorted(r["_line"] for r in rows.values() if r["item_key"]) == [2, 3, 4, 5, 6, 9]
    # line 11: Billable No and an empty amount: still a worklog
    assert rows[11]["billable"] is False and rows[11]["hours"] == Decimal("1.2664")  # 01:15:59
    # line 49: 2016-01-18 22:40:17 to 2016-01-19 00:00:48, 01:20:31: counted on the 18th
    assert (rows[49]["work_date"], rows[49]["hours"]) == (dt.date(2016, 1, 18), Decimal("1.3419"))
    text = (REALDATA / REAL).read_text(encoding="utf-8-sig")
    seconds = sum(
        int(h) * 3600 + int(m) * 60 + int(s)
        for h, m, s in (r["Duration"].split(":") for r in csv.DictReader(io.StringIO(text)))
    )
    assert float(sum(r["hours"] for r in rows.values())) == pytest.approx(seconds / 3600, abs=0.01)


@realdata
def test_real_file_exported_twice_counts_once():
    data = (REALDATA / REAL).read_bytes()
    _, staged = stage_exports({"drop/spring.csv": data, "drop/spring_again.csv": data})
    assert staged.tables["worklogs"].height == 652
    assert file_counts(staged, 1)["rows_duplicate"] == 652 and file_counts(staged, 2)["rows_loaded"] == 652
