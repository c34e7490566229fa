"""Jira worklog report (a Jira Cloud time-report app's CSV) → worklogs: both layouts, totals row, local day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.staging_helpers import (
    REALDATA,
    file_counts,
    full_matches,
    realdata,
    stage_exports,
    stage_fixtures,
    stage_realdata,
)

KIND = "jira_worklog_report"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / KIND
HUMAN = "jira_worklogs/videobakers_jira_worklog_report.csv"
RAW = "jira_worklogs/videobakers_jira_worklog_report_neu.csv"
HEADER = (
    '"Worklog id","Author","Summary","Work description","Issue","Parent","Epic","Project","Started","Assignee",'
    '"Labels","Priority","Resolution","Reporter","Status","Issue type","Sprint","Time spent"'
)


def rows_by_id(staged) -> dict[str, dict]:
    return {r["worklog_id"]: r for r in staged.tables["worklogs"].iter_rows(named=True)}


@pytest.mark.parametrize("name", ["good.csv", "good_raw.csv", "bad.csv"])
def test_fixtures_are_detected_as_the_worklog_report_only(name):
    assert full_matches((FIXTURES / name).read_bytes()) == (KIND, [KIND])


@realdata
@pytest.mark.parametrize("relative", [HUMAN, RAW])
def test_real_files_are_detected_as_the_worklog_report_only(relative):
    assert full_matches((REALDATA / relative).read_bytes()) == (KIND, [KIND])


def test_a_tempo_export_is_still_tempo():
    # Tempo's contract aliases Author to Full name; its signature still needs Issue Key, Hours, Work date.
    tempo = b"Issue Key,Hours,Work date,Full name,Worklog Id,Project Key\nA-1,1.5,2026-03-02 00:00,Ana,7,A\n"
    assert full_matches(tempo) == ("tempo_worklogs", ["tempo_worklogs"])
    assert full_matches(HEADER.encode() + b"\n")[0] == KIND


def test_human_layout_fixture():
    parsed, staged = stage_fixtures(KIND, "good.csv")
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        5,
        4,
        1,
        0,
    )
    logs = rows_by_id(staged)
    # line 2: "20101","Ana Example",...,"SHOP-12",...,"Web Shop (SHOP)","Mar 2, 2026, 9:05 AM",...,"1h 30m"
    first = logs["20101"]
    assert (first["person_name"], first["person_source_id"], first["item_key"]) == (
        "Ana Example",
        "Ana Example",
        "SHOP-12",
    )
    assert first["source_project_key"] == "SHOP"  # the key written in "Web Shop (SHOP)"
    assert first["started_at"] == dt.datetime(2026, 3, 2, 9, 5) and first["hours"] == Decimal("1.5")
    assert first["description"] == "Pairing on rounding" and first["source_kind"] == "jira"
    # line 3: "35m"; Work description "" → NULL
    assert logs["20102"]["hours"] == Decimal("0.5833") and logs["20102"]["description"] is None
    # line 4: "Operations" has no key in brackets: the issue key's prefix OPS; "1d" is Jira's 8-hour day; "_" → NULL
    assert (logs["20103"]["source_project_key"], logs["20103"]["hours"]) == ("OPS", Decimal("8"))
    assert logs["20103"]["description"] is None
    # line 5: "1h " with Jira's trailing space
    assert logs["20104"]["hours"] == Decimal("1")


def test_raw_layout_gives_the_same_worklogs_on_the_authors_local_day():
    _, human = stage_fixtures(KIND, "good.csv")
    _, raw = stage_fixtures(KIND, "good_raw.csv")
    pick = ["worklog_id", "person_name", "item_key", "source_project_key", "work_date", "hours"]
    assert raw.tables["worklogs"].select(pick).equals(human.tables["worklogs"].select(pick))
    late = rows_by_id(raw)["20103"]
    # good_raw.csv line 4: "2026-03-03T00:15:00.000+0100" is 2026-03-02 23:15 in UTC; the author worked on the 3rd.
    assert late["work_date"] == dt.date(2026, 3, 3) and late["started_at"] == dt.datetime(2026, 3, 3, 0, 15)
    assert rows_by_id(raw)["20102"]["hours"] == Decimal("0.5833")  # 2100 seconds


def test_totals_row_is_skipped_with_its_reason_and_matches_the_worklogs():
    _, staged = stage_fixtures(KIND, "good.csv", "good_raw.csv")
    assert staged.skipped.rows() == [
        (1, 6, "totals row (Time spent 11h 5m)"),
        (2, 6, "totals row (Time spent 39900)"),
    ]
    assert staged.rejects.height == 0
    assert sum(r["hours"] for r in rows_by_id(staged).values()) == Decimal("11.0833")  # 39900 s


def test_bad_fixture_rejects_and_skips_each_broken_row():
    _, staged = stage_fixtures(KIND, "bad.csv")
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "Worklog id", "type:integer", "3000x"),
        (4, "Author", "required", ""),
        (5, "Issue", "required", ""),
        (9, "Worklog id", "required", ""),
        (10, "Time spent", "required", ""),
    ]
    assert staged.skipped.select("line", "reason").rows() == [
        (6, "Time spent '2w' is over 24 hours for one entry"),
        (7, "Time spent 'lots' is not a duration"),
        (8, "Started 'yesterday' is not a date and time in this file's layout"),
        (11, "totals row (Time spent 20d 4h 45m)"),
    ]
    counts = file_counts(staged)
    assert (counts["rows_loaded"], counts["rows_rejected"], counts["rows_skipped"]) == (1, 5, 4)
    assert list(rows_by_id(staged)) == ["30001"]


def test_layout_is_decided_per_file():
    rest = '"_","_","_","_","_","_","_","_"'
    human_row = f'"1","Ana Example","","","H-1","_","_","H","Mar 2, 2026, 9:05 AM",{rest},"1h"'
    raw_row = f'"2","Ana Example","","","R-2","_","_","R","2026-03-02T09:05:00.000+0000",{rest},"3600"'
    # A bare number in a human-layout file is not seconds; a "1h" in a raw-layout file is not read either.
    # (Each file's rows are of its own project, so neither file replaces the other's dates.)
    human_file = "\n".join([HEADER, human_row, human_row.replace('"1"', '"3"', 1), raw_row]).encode()
    raw_file = "\n".join([HEADER, raw_row, raw_row.replace('"2"', '"4"', 1), human_row]).encode()
    _, staged = stage_exports({"drop/h.csv": human_file, "drop/r.csv": raw_file})
    assert staged.skipped.select("_source_file", "line").rows() == [(1, 4), (2, 4)]
    assert sorted(rows_by_id(staged)) == ["1", "2", "3", "4"]


@realdata
@pytest.mark.parametrize("relative", [HUMAN, RAW])
def test_real_file_every_row_accounted(relative):
    parsed, staged = stage_realdata(relative)
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        25,
        24,
        1,
        0,
    )
    assert staged.skipped.select("line").to_series().to_list() == [26]
    # The totals rows say "10h 40m" and "38400": the 24 worklogs add up to it.
    seconds = staged.tables["worklogs"].select((pl.col("hours").cast(pl.Float64) * 3600).round(0).sum()).item()
    assert seconds == pytest.approx(38400, abs=2)
    first = rows_by_id(staged)["13816"]
    # line 2: "13816","Norman Mummert",...,"VB-12518",...,"Videobakers Running Projects",
    #         "Jan 20, 2023, 6:25 PM" / "2023-01-20T18:25:30.148+0100", "35m" / "2100"
    assert (first["item_key"], first["source_project_key"], first["work_date"]) == (
        "VB-12518",
        "VB",
        dt.date(2023, 1, 20),
    )
    assert first["hours"] == Decimal("0.5833") and first["started_at"].replace(second=0, microsecond=0) == dt.datetime(
        2023, 1, 20, 18, 25
    )
    assert first["person_name"] == "Norman Mummert"
    # line 12: "1h " (human) / "3600" (raw)
    assert rows_by_id(staged)["13774"]["hours"] == Decimal("1")


@realdata
def test_real_layouts_hold_the_same_worklogs_and_do_not_double_count():
    _, human = stage_realdata(HUMAN)
    _, raw = stage_realdata(RAW)
    pick = ["worklog_id", "item_key", "work_date", "hours", "source_project_key"]
    assert human.tables["worklogs"].select(pick).equals(raw.tables["worklogs"].select(pick))
    for order in ([HUMAN, RAW], [RAW, HUMAN]):
        _, both = stage_realdata(*order)
        assert both.tables["worklogs"].height == 24
        older, newer = file_counts(both, 1), file_counts(both, 2)
        # The newer file's rows win; the older file's 24 worklogs count as duplicates, its totals row as skipped.
        assert (older["rows_loaded"], older["rows_duplicate"], older["rows_skipped"]) == (0, 24, 1)
        assert (newer["rows_loaded"], newer["rows_duplicate"], newer["rows_skipped"]) == (24, 0, 1)
        assert set(both.tables["worklogs"].get_column("_source_file")) == {2}
