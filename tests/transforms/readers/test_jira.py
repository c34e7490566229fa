"""Jira issue exports (Cloud and Data Center) → work_items, and their Log Work cells → worklogs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl

from tests.staging_helpers import REALDATA, file_counts, realdata, stage_exports, stage_realdata

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jira_issues"
SUPPORT = "jira/support_changes_jira_export_with_logwork.csv"
CLOUD = "jira/testautogen_jira_cloud_export_2025.csv"

# A Tempo worklog export of the same issue (OPS-2) as the Data Center fixture's Log Work cells.
TEMPO = (
    b"Issue Key,Issue summary,Hours,Work date,Username,Full name,Project Key,Work Description\n"
    b"OPS-2,Card tokenisation,2.5,2025-09-22,JIRAUSER10101,Dev One,OPS,Tokenisation spike\n"
    b"OPS-2,Card tokenisation,1,2025-09-24,JIRAUSER10101,Dev One,OPS,Pairing with QA\n"
)


def _items(staged) -> dict[str, dict]:
    return {r["item_key"]: r for r in staged.tables["work_items"].rows(named=True)}


def test_data_center_export_work_items():
    parsed, staged = stage_exports({"export.csv": (FIXTURES / "good.csv").read_bytes()})
    assert parsed[0].kind == "jira_issues"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (4, 4, 0)
    assert "Created: %Y-%m-%d %H:%M" in counts["formats"]
    items = _items(staged)
    # line 3: OPS-2 ("Key" header), Done, High, created 2025-09-15 10:00, resolved 2025-09-24 16:00,
    # estimates 14400/0/12600 s, Sprint x2 (the last is current), Epic Link OPS-1, Story Points 5
    story = items["OPS-2"]
    assert (story["status_category"], story["priority"], story["created"], story["resolved"]) == (
        "done", "high", dt.date(2025, 9, 15), dt.date(2025, 9, 24)
    )  # fmt: skip
    assert (story["original_estimate_h"], story["remaining_estimate_h"], story["time_spent_h"]) == (4.0, 0.0, 3.5)
    assert (story["sprint"], story["epic_key"], story["story_points"], story["due"]) == (
        "OPS Sprint 2", "OPS-1", 5.0, dt.date(2025, 9, 26)
    )  # fmt: skip
    # line 5 (line 3's last Log Work cell spans two lines): OPS-3, "Parent id" 10102's parent is id 10101 = OPS-2
    assert (items["OPS-3"]["parent_key"], items["OPS-3"]["_line"], items["OPS-3"]["status_category"]) == (
        "OPS-2", 5, "todo"
    )  # fmt: skip
    # line 6: OPS-4, Blocker, In Review (no Status Category column in Data Center exports)
    assert (items["OPS-4"]["priority"], items["OPS-4"]["status_category"]) == ("critical", "doing")
    # Newest Updated: 2025-09-25 17:30 (line 2).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2025, 9, 25)}


def test_log_work_cells_become_worklogs():
    _, staged = stage_exports({"export.csv": (FIXTURES / "good.csv").read_bytes()})
    logs = staged.tables["worklogs"].sort("item_key", "started_at", nulls_last=True)
    assert logs.height == 5
    got = logs.select("item_key", "person_source_id", "started_at", "hours", "description", "_line").rows()
    assert got == [
        # line 3: a comment holding ";" is split from the right
        ("OPS-2", "JIRAUSER10101", dt.datetime(2025, 9, 22, 10), Decimal("1.5"), "Spike; compared two vaults", 3),
        # line 3: an empty comment
        ("OPS-2", "JIRAUSER10102", dt.datetime(2025, 9, 23, 14), Decimal("0.5"), None, 3),
        # lines 3-4: a comment on two lines
        ("OPS-2", "JIRAUSER10101", dt.datetime(2025, 9, 24, 9, 30), Decimal("1.5"),
         "Pairing with QA\nretest of the vault switch", 3),
        # line 5
        ("OPS-3", "JIRAUSER10103", dt.datetime(2025, 9, 25, 11, 15), Decimal("0.25"), "Review", 5),
        # line 5: a malformed cell (no seconds) is kept, with NULL hours and the whole cell, not dropped
        ("OPS-3", None, None, None, "forgot the seconds;2025-09-24 09:00;JIRAUSER10103", 5),
    ]  # fmt: skip
    assert set(logs["source_kind"]) == {"jira"} and set(logs["source_project_key"]) == {"OPS"}
    assert logs["work_date"].to_list()[:4] == [dt.date(2025, 9, d) for d in (22, 23, 24, 25)]
    assert logs["worklog_id"].n_unique() == 5
    # Log Work rows are not rows of the file: the file still counts 4 issues, all loaded.
    assert file_counts(staged)["rows_loaded"] == 4


def test_us_dates_and_key_header():
    _, staged = stage_exports({"dc.csv": (FIXTURES / "dc_us_dates.csv").read_bytes()})
    assert file_counts(staged)["rows_loaded"] == 2
    items = _items(staged)
    # line 2: CI-7 created 9/22/25 9:26 AM, resolved 9/30/25 11:00 AM, updated 10/1/25 4:05 PM
    assert (items["CI-7"]["created_at"], items["CI-7"]["resolved"]) == (
        dt.datetime(2025, 9, 22, 9, 26), dt.date(2025, 9, 30)
    )  # fmt: skip
    assert items["CI-7"]["snapshot_date"] == dt.date(2025, 10, 1)
    assert (items["CI-8"]["priority"], items["CI-8"]["status_category"]) == ("low", "todo")
    log = staged.tables["worklogs"].row(0, named=True)
    assert (log["started_at"], log["hours"], log["person_source_id"]) == (
        dt.datetime(2025, 9, 29, 14), Decimal("2"), "build.admin"
    )  # fmt: skip


def test_bad_export_rejects_each_broken_row():
    _, staged = stage_exports({"export.csv": (FIXTURES / "bad.csv").read_bytes()})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (7, 1, 6)
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "Issue id", "type:integer", "ten"),
        (4, "Created", "required", None),
        (5, "Time Spent", "min:0", "-60"),
        (6, "Created", "type:datetime", "31/Feb/25 9:00 AM"),
        (7, "Story Points", "type:decimal", "lots"),
        (8, "Summary", "required", None),
    ]
    assert staged.tables["work_items"]["item_key"].to_list() == ["BAD-1"]


def test_a_tempo_export_of_the_same_issue_wins_over_log_work():
    jira = (FIXTURES / "good.csv").read_bytes()
    parsed, staged = stage_exports({"jira.csv": jira, "tempo.csv": TEMPO})
    assert [p.kind for p in parsed] == ["jira_issues", "tempo_worklogs"]
    logs = staged.tables["worklogs"]
    by_source = logs.group_by("item_key", "source_kind").agg(pl.len(), pl.col("hours").sum()).sort("item_key").rows()
    # OPS-2: Tempo's 2.5 + 1 h only, not also the 3 Log Work cells (3.5 h); OPS-3 has no timesheet: Log Work stays.
    assert by_source == [("OPS-2", "tempo", 2, Decimal("3.5")), ("OPS-3", "jira", 2, Decimal("0.25"))]
    assert (file_counts(staged, 1)["rows_loaded"], file_counts(staged, 2)["rows_loaded"]) == (4, 2)
    # Without the Tempo file, OPS-2 has its 3 Log Work worklogs.
    _, alone = stage_exports({"jira.csv": jira})
    assert alone.tables["worklogs"].filter(pl.col("item_key") == "OPS-2").height == 3


def test_a_newer_export_replaces_the_log_work_it_covers():
    old = (FIXTURES / "good.csv").read_bytes()
    new = old.replace(b",;2025-09-23 14:00;JIRAUSER10102;1800,", b",,")  # that worklog was deleted in Jira
    assert new != old
    _, staged = stage_exports({"old.csv": old, "new.csv": new})
    ops2 = staged.tables["worklogs"].filter(pl.col("item_key") == "OPS-2")
    assert sorted(ops2["work_date"].to_list()) == [dt.date(2025, 9, 22), dt.date(2025, 9, 24)]
    assert set(ops2["_source_file"]) == {2}
    # The same issues at the same snapshot: the older file's rows are duplicates.
    assert (file_counts(staged, 1)["rows_duplicate"], file_counts(staged, 2)["rows_loaded"]) == (4, 4)


def _independent_log_work(relative: str) -> list[tuple[str, str, str, str, str]]:
    """(issue key, comment, date, author, seconds) of every non-empty Log Work cell, read with the csv module."""
    text = (REALDATA / relative).read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    key, cols = header.index("Issue key"), [i for i, h in enumerate(header) if h == "Log Work"]
    out = []
    for row in reader:
        for i in cols:
            if row[i].strip():
                comment, date, author, seconds = row[i].rsplit(";", 3)
                out.append((row[key], comment, date, author, seconds))
    return out


@realdata
def test_support_export_with_log_work():
    parsed, staged = stage_realdata(SUPPORT)
    assert parsed[0].kind == "jira_issues"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"]) == (311, 311, 0)
    assert (counts["rows_rejected"], counts["rows_duplicate"]) == (0, 0)
    cells = _independent_log_work(SUPPORT)
    assert len(cells) == 562  # SOURCES.md: 562 Log Work entries
    logs = staged.tables["worklogs"]
    assert logs.height == 562 and logs["hours"].null_count() == 0
    assert logs["worklog_id"].n_unique() == 562  # identical cells on one issue stay two worklogs
    assert len(set(cells)) < len(cells)
    quantum = Decimal("0.0001")
    expected = sum((Decimal(s) / 3600).quantize(quantum, ROUND_HALF_UP) for *_, s in cells)
    assert logs["hours"].sum() == expected
    assert abs(float(expected) - sum(int(s) for *_, s in cells) / 3600) < 0.01
    assert dict(Counter(c[0] for c in cells)) == dict(logs.group_by("item_key").len().rows())
    # Line 1755: SR-465, first Log Work cell "Logging SR;20/Sep/22 7:33 AM;ug:52900c16-...;600".
    first = logs.filter((pl.col("item_key") == "SR-465") & (pl.col("description") == "Logging SR")).row(0, named=True)
    assert (first["_line"], first["started_at"], first["hours"], first["source_project_key"]) == (
        1755, dt.datetime(2022, 9, 20, 7, 33), Decimal("0.1667"), "SR"
    )  # fmt: skip
    assert first["person_source_id"] == "ug:52900c16-89cf-413b-8fb8-93c609755023"
    # Parent holds the parent's issue id here; the key comes from "Parent key" (and agrees with the id lookup).
    text = (REALDATA / SUPPORT).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    items = _items(staged)
    assert all(items[r["Issue key"]]["parent_key"] == (r["Parent key"] or None) for r in rows)
    assert sum(1 for r in rows if r["Parent key"]) == 92


@realdata
def test_support_export_parent_ids_resolve_to_keys_without_the_key_column():
    text = (REALDATA / SUPPORT).read_text(encoding="utf-8-sig")
    without_key = text.replace(",Parent key,", ",Parent name,", 1)  # a header the contract does not know
    _, staged = stage_exports({"export.csv": without_key.encode()})
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    items = _items(staged)
    in_export = {r["Issue id"] for r in rows}
    # A parent id that is an issue of the export finds its key; one that is not (34 rows) stays unknown.
    found = [r for r in rows if r["Parent"] in in_export]
    assert all(items[r["Issue key"]]["parent_key"] == r["Parent key"] for r in found)
    assert len(found) == 58
    assert all(items[r["Issue key"]]["parent_key"] is None for r in rows if r["Parent"] not in in_export)


@realdata
def test_cloud_export_without_log_work():
    _, staged = stage_realdata(CLOUD)
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (22, 22, 0)
    assert staged.tables["worklogs"].height == 0
    items = _items(staged)
    # TES-12: Done, resolved 28/Aug/25 1:50 PM, Sprint "TES Sprint 1"; TES-13: due 18/Sep/25 12:00 AM.
    assert (items["TES-12"]["status_category"], items["TES-12"]["resolved_at"], items["TES-12"]["sprint"]) == (
        "done", dt.datetime(2025, 8, 28, 13, 50), "TES Sprint 1"
    )  # fmt: skip
    assert items["TES-13"]["due"] == dt.date(2025, 9, 18)
    states = Counter(i["status_category"] for i in items.values())
    assert states == {"todo": 9, "doing": 3, "done": 10}
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2025, 9, 22)}
