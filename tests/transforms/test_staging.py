"""Staging across files: corrected re-exports, overlapping exports, per-file formats, Excel, resolution."""

import datetime as dt
import io

import polars as pl
import xlsxwriter

from data_contracts.contract import Contract, conform, load
from tests.staging_helpers import file_counts, stage_exports
from transforms import resolve

TEMPO_HEADER = "Issue Key,Hours,Work date,Full name,Project Key\n"


def _tempo(*rows: str) -> bytes:
    return (TEMPO_HEADER + "".join(r + "\n" for r in rows)).encode()


def _worklogs(staged) -> list[tuple]:
    frame = staged.tables["worklogs"].sort("work_date", "item_key")
    return frame.select(pl.col("work_date").cast(pl.String), "item_key", pl.col("hours").cast(pl.Float64)).rows()


def test_a_corrected_re_export_replaces_the_dates_it_covers_and_keeps_the_rest():
    march = _tempo(
        "A-1,8,2026-03-02,Ana,A",
        "A-2,4,2026-03-03,Ana,A",
        "A-3,2,2026-03-04,Ana,A",  # deleted in the corrected export
        "B-1,5,2026-03-03,Bo,B",  # another project: the corrected export of A does not cover it
    )
    corrected = _tempo(
        "A-1,8,2026-03-02,Ana,A",
        "A-2,6,2026-03-03,Ana,A",  # 4 h corrected to 6 h
    )
    _, staged = stage_exports({"tempo/march.csv": march, "tempo/march_fixed.csv": corrected})
    assert _worklogs(staged) == [
        ("2026-03-02", "A-1", 8.0),
        ("2026-03-03", "A-2", 6.0),
        ("2026-03-03", "B-1", 5.0),
        ("2026-03-04", "A-3", 2.0),
    ]
    # File 1: A-1 and A-2 lie in file 2's span for project A (2 to 3 March): replaced. A-3 (4 March) is
    # outside that span, so it stays: 4 in file = 2 loaded (A-3, B-1) + 2 duplicate.
    # (The deleted A-3 would only go if the corrected export's span reached 4 March.)
    first = file_counts(staged, 1)
    assert (first["rows_loaded"], first["rows_duplicate"]) == (2, 2)
    assert file_counts(staged, 2)["rows_loaded"] == 2
    assert file_counts(staged, 2)["covers"] == "worklogs 2026-03-02..2026-03-03"


def test_overlapping_exports_with_worklog_ids_deduplicate_on_the_id():
    header = "Worklog Id,Issue Key,Hours,Work date,Full name,Project Key\n"
    first = (header + "11,A-1,8,2026-03-02,Ana,A\n12,A-2,4,2026-03-03,Ana,A\n").encode()
    second = (header + "12,A-2,5,2026-03-03,Ana,A\n13,A-3,1,2026-03-16,Ana,A\n").encode()
    _, staged = stage_exports({"tempo/w1.csv": first, "tempo/w2.csv": second})
    ids = staged.tables["worklogs"].sort("worklog_id").select("worklog_id", pl.col("hours").cast(pl.Float64)).rows()
    assert ids == [("11", 8.0), ("12", 5.0), ("13", 1.0)]  # the newer file's 12 wins
    assert (file_counts(staged, 1)["rows_duplicate"], file_counts(staged, 2)["rows_duplicate"]) == (1, 0)


def test_identical_rows_in_two_exports_without_ids_load_once():
    same = _tempo("A-1,8,2026-03-02,Ana,A", "A-1,8,2026-03-02,Ana,A")  # two identical worklogs, both real
    _, staged = stage_exports({"tempo/a.csv": same, "tempo/b.csv": same})
    assert _worklogs(staged) == [("2026-03-02", "A-1", 8.0), ("2026-03-02", "A-1", 8.0)]
    assert file_counts(staged, 1)["rows_duplicate"] == 2


def test_date_formats_are_decided_per_file_not_per_value(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "kind: k\ntitle: K\nsource: s\nsignature: [d]\ncolumns:\n"
        "  - {name: d, type: date, formats: ['%d/%m/%Y', '%m/%d/%Y']}\n"
    )
    contract: Contract = load(spec)
    raw = pl.DataFrame(
        {
            "d": ["03/04/2025", "25/12/2025", "03/04/2025", "12/25/2025"],
            "_line": [2, 3, 2, 3],
            "_source_file": [1, 1, 2, 2],
        }
    )
    result = conform(raw, contract)
    days = result.typed.get_column("d").cast(pl.String).to_list()
    # File 1 has 25/12 so it is day-first: 3 April. File 2 has 12/25 so it is month-first: 4 March.
    assert days == ["2025-04-03", "2025-12-25", "2025-03-04", "2025-12-25"]
    assert result.formats.rows() == [(1, "d", "%d/%m/%Y"), (2, "d", "%m/%d/%Y")]
    assert result.rejects.height == 0


def test_an_excel_tempo_export_loads_like_its_csv():
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Worklogs")
    sheet.write_row(0, 0, ["Issue Key", "Hours", "Work date", "Full name", "Project Key"])
    sheet.write_row(1, 0, ["A-1", 1.5])
    sheet.write_datetime(1, 2, dt.datetime(2026, 3, 2), book.add_format({"num_format": "dd/mm/yyyy"}))
    sheet.write_row(1, 3, ["Ana", "A"])
    sheet.write_row(3, 0, ["A-2", -2, "2026-03-03", "Bo", "A"])  # row 4 of the sheet; row 3 is blank
    book.close()
    parsed, staged = stage_exports({"drop/tempo.xlsx": buf.getvalue()})
    assert (parsed[0].kind, parsed[0].encoding) == ("tempo_worklogs", "xlsx")
    assert _worklogs(staged) == [("2026-03-02", "A-1", 1.5)]
    assert staged.rejects.select("line", "column", "rule").rows() == [(4, "Hours", "min:0")]
    assert file_counts(staged)["rows_rejected"] == 1


def test_people_match_across_tools_by_alias_email_account_and_unique_name():
    people = pl.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4"],
            "display_name": ["Ana Lima", "Bo Chen", "Sam Roe", "Sam Roe"],
            "email": ["ana@example.org", None, None, None],
            "jira_account_id": [None, "acc-2", None, None],
            "tempo_user": pl.Series([None] * 4, dtype=pl.String),
        }
    )
    aliases = pl.DataFrame({"source_kind": ["toggl"], "source_user": ["Bobby"], "person_id": ["p2"]})
    logs = pl.DataFrame(
        {
            "source_kind": ["harvest", "jira", "toggl", "harvest", "clockify"],
            "person_source_id": [None, "acc-2", None, None, None],
            "person_email": ["ANA@example.org ", None, None, None, None],
            "person_name": ["A. Lima", None, "bobby", "Sam Roe", "Nobody"],
            "item_key": [None] * 5,
            "source_project_key": [None] * 5,
        },
        schema_overrides={"item_key": pl.String, "source_project_key": pl.String, "person_source_id": pl.String},
    )
    items = pl.DataFrame(schema={"item_key": pl.String, "snapshot_date": pl.Date, "project_id": pl.String})
    project_map = pl.DataFrame(schema={"source_kind": pl.String, "source_key": pl.String, "project_id": pl.String})
    out = resolve.worklogs(logs, items, project_map, people, aliases)
    # e-mail (case and spaces ignored); Jira account id; the Toggl alias; "Sam Roe" is two people, so nobody.
    assert out.get_column("person_id").to_list() == ["p1", "p2", "p2", None, None]


def test_worklogs_take_their_project_from_the_map_else_from_their_ticket():
    logs = pl.DataFrame(
        {
            "source_kind": ["tempo", "toggl", "toggl"],
            "source_project_key": ["ABC", "Studio", "Studio"],
            "item_key": ["ABC-1", "DEV-50", "DEV-99"],
            "person_source_id": [None, None, None],
            "person_email": [None, None, None],
            "person_name": [None, None, None],
        },
        schema_overrides={c: pl.String for c in ("person_source_id", "person_email", "person_name")},
    )
    items = pl.DataFrame(
        {"item_key": ["DEV-50"], "snapshot_date": [dt.date(2026, 3, 1)], "project_id": ["PRJ-2"]},
    )
    project_map = pl.DataFrame({"source_kind": ["jira"], "source_key": ["abc"], "project_id": ["PRJ-1"]})
    people = pl.DataFrame(
        schema={c: pl.String for c in ("person_id", "display_name", "email", "jira_account_id", "tempo_user")}
    )
    aliases = pl.DataFrame(schema={"source_kind": pl.String, "source_user": pl.String, "person_id": pl.String})
    out = resolve.worklogs(logs, items, project_map, people, aliases)
    # Tempo inherits Jira's key ABC; the Toggl worklog on DEV-50 takes its ticket's project; DEV-99 is unknown.
    assert out.select("project_id", "item_known").rows() == [("PRJ-1", False), ("PRJ-2", True), (None, False)]


BASELINE_HEADER = (
    "project_id,baseline_version,effective_from,element_key,cost_category,budget,planned_start,planned_finish\n"
)


def test_a_baseline_that_breaks_a_critical_rule_is_quarantined_whole_and_the_others_load():
    good = BASELINE_HEADER + "P1,1,2026-01-04,P1-1,labour,1000,2026-01-05,2026-01-30\n"
    bad = (
        BASELINE_HEADER
        + "P2,1,2026-01-04,P2-1,labour,1000,2026-01-05,2026-01-30\n"
        + "P2,1,2026-01-04,P2-2,labour,12k,2026-01-05,2026-01-30\n"  # line 3: not a number
        + "P2,1,2026-01-04,P2-3,labour,500,2026-01-05,2026-01-30\n"
    )
    _, staged = stage_exports({"pmo/baseline_p1.csv": good.encode(), "pmo/baseline_p2.csv": bad.encode()})
    # Loading P2-1 and P2-3 without P2-2 would give P2 a BAC of 1,500 instead of its real one: nothing loads.
    assert staged.tables["baselines"].get_column("element_key").to_list() == ["P1-1"]
    assert staged.quarantined.rows() == [(2, "critical rule type:decimal broken on line 3, column budget")]
    counts = file_counts(staged, 2)
    assert (counts["rows_in_file"], counts["rows_rejected"], counts["rows_loaded"]) == (3, 3, 0)
    rejects = staged.rejects.filter(pl.col("_source_file") == 2).select("line", "column", "rule").rows()
    assert rejects == [
        (2, None, "file quarantined: critical rule type:decimal broken on line 3, column budget"),
        (3, "budget", "type:decimal"),
        (4, None, "file quarantined: critical rule type:decimal broken on line 3, column budget"),
    ]
    assert file_counts(staged, 1)["rows_loaded"] == 1
