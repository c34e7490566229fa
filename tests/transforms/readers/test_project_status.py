"""The weekly project status file (project_status) → canonical status_reports: free text as written, the override
rule, the newest file per week, and rows about projects the register does not know."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from tests.staging_helpers import file_counts, stage_exports

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "project_status"
GOOD = (FIXTURES / "good.csv").read_bytes()
HEADER = "project_id,status_date,rag_override,override_reason,author,entered_on,commentary,actions\n"
REGISTER = (
    b"project_id,name,portfolio,status,ev_technique\n"
    b"PRJ-001,ERP upgrade,Business Applications,active,0/100\n"
    b"PRJ-002,CRM consolidation,Business Applications,active,50/50\n"
)


def _status(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def test_free_text_is_kept_as_written_and_the_override_is_read_in_lower_case():
    parsed, staged = stage_exports({"pmo/status/2026-03-15.csv": GOOD})
    assert parsed[0].kind == "project_status"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (2, 2, 0)
    assert counts["covers"] == "status_reports 2026-03-15..2026-03-15"
    rows = {r["project_id"]: r for r in staged.tables["status_reports"].iter_rows(named=True)}
    erp, crm = rows["PRJ-001"], rows["PRJ-002"]
    # Line 2 spans two lines: a comma, doubled quotes and a line break inside one quoted field; HTML stays text.
    assert erp["commentary"] == 'Migration rehearsal passed, two defects open.\nCut-over plan "v2" signed off.'
    assert erp["actions"] == "Close the defects <b>by Friday</b>; book the go-live window"
    assert (erp["rag_override"], erp["override_reason"], erp["author"]) == (None, None, "Ana Almeida")
    assert (erp["status_date"], erp["entered_on"], erp["_line"]) == (dt.date(2026, 3, 15), dt.date(2026, 3, 16), 2)
    # "Amber" on line 4 (the quoted line break pushed it down one).
    assert (crm["rag_override"], crm["author"], crm["_line"]) == ("amber", "Bo Chen", 4)
    assert crm["override_reason"] == "Vendor credit note of 12000 agreed; not yet in the actuals"


def test_an_override_needs_its_reason_and_author_even_when_the_file_has_no_author_column():
    data = (
        b"project_id,status_date,rag_override,override_reason,commentary\n"  # no author column
        b"PRJ-001,2026-03-15,green,Scope cut agreed,Back on plan\n"
        b"PRJ-002,2026-03-15,,,Fine\n"
    )
    _, staged = stage_exports({"pmo/status/x.csv": data})
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (2, "rag_override", "override_needs_reason_and_author", "green")
    ]
    assert staged.tables["status_reports"].get_column("project_id").to_list() == ["PRJ-002"]


def test_the_newest_file_wins_for_a_project_and_week():
    first = _status("PRJ-001,2026-03-08,,,Ana,,Week 10 as first written,", "PRJ-001,2026-03-15,,,Ana,,Draft,")
    second = _status("PRJ-001,2026-03-15,amber,Vendor late,Ana,,Final,Call the vendor")
    _, staged = stage_exports({"pmo/status/a.csv": first, "pmo/status/b.csv": second})
    rows = staged.tables["status_reports"].select("status_date", "rag_override", "commentary", "_source_file").rows()
    assert rows == [
        (dt.date(2026, 3, 8), None, "Week 10 as first written", 1),
        (dt.date(2026, 3, 15), "amber", "Final", 2),  # file 2 replaces file 1's draft of the same week
    ]
    assert (file_counts(staged, 1)["rows_duplicate"], file_counts(staged, 2)["rows_loaded"]) == (1, 1)


def test_a_row_about_a_project_the_register_does_not_know_is_rejected():
    status = _status("PRJ-001,2026-03-15,,,Ana,,On plan,", "PRJ-404,2026-03-15,,,Ana,,Typo in the id,")
    _, staged = stage_exports({"pmo/projects.csv": REGISTER, "pmo/status/w11.csv": status})
    assert staged.rejects.select("_source_file", "line", "column", "rule", "raw_value").rows() == [
        (2, 3, "project_id", "unknown_project", "PRJ-404")
    ]
    counts = file_counts(staged, 2)  # rows in file 2 = 1 loaded + 1 rejected
    assert (counts["rows_loaded"], counts["rows_rejected"]) == (1, 1)
    assert staged.tables["status_reports"].get_column("project_id").to_list() == ["PRJ-001"]


def test_without_a_register_every_row_stays_for_the_register_check_to_report():
    status = _status("PRJ-404,2026-03-15,,,Ana,,No register yet,")
    _, staged = stage_exports({"pmo/status/w11.csv": status})
    assert staged.rejects.height == 0 and staged.tables["status_reports"].height == 1
    assert staged.tables["status_reports"].filter(pl.col("project_id") == "PRJ-404").height == 1
