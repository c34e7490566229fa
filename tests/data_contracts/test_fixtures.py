"""One good and one bad fixture per pmo-kpi input contract and per existing vendor kind (files we wrote).

The good file loads every row; the bad file loses exactly the rows that break a rule, named by line, column
and rule. (The vendor readers' own fixtures are tested beside their readers in tests/transforms/readers.)
"""

from pathlib import Path

import polars as pl
import pytest

from tests.staging_helpers import file_counts, stage_exports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# kind: (canonical table, {(line, column, rule)} the bad file breaks, rows the bad file still loads)
CASES = {
    "baseline": ("baselines", {(3, "cost_category", "allowed:labour|assets|licences|other")}, 0),  # critical
    "holidays": ("holidays", {(3, "date", "type:date")}, 1),
    "people": ("people", {(2, "role", "required"), (3, "contracted_hours_week", "max:80")}, 0),
    "person_aliases": (
        "person_aliases",
        {(3, "source_kind", "allowed:jira|tempo|harvest|clockify|toggl|servicenow|glpi")},
        1,
    ),  # fmt: skip
    "project_map": (
        "project_map",
        {(3, "source_kind", "allowed:jira|tempo|servicenow|glpi|harvest|clockify|toggl|snipeit|cost_centre|mspdi")},
        1,
    ),  # fmt: skip
    "project_register": ("projects", {(3, "status", "allowed:proposed|active|on_hold|closed|cancelled")}, 1),
    "project_status": (
        "status_reports",
        {
            (2, "rag_override", "override_needs_reason_and_author"),
            (3, "status_date", "week_end:sunday"),
            (4, "rag_override", "allowed:green|amber|red"),
            (5, "rag_override", "override_needs_reason_and_author"),
        },
        1,
    ),  # fmt: skip
    "rate_card": ("rates", {(3, "hourly_rate", "min:0")}, 1),
    "risk_register": ("risks", {(3, "probability", "max:100")}, 1),
    "snipeit_assets": ("assets", {(2, "Purchase Cost", "type:decimal"), (3, "Purchase Date", "type:date")}, 0),
    "sprints": ("sprints", {(3, "finish", "type:date")}, 1),
    "tempo_worklogs": ("worklogs", {(2, "Hours", "max:24")}, 1),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_good_fixture_loads_every_row(kind):
    table, _, _ = CASES[kind]
    parsed, staged = stage_exports({f"{kind}/good.csv": (FIXTURES / kind / "good.csv").read_bytes()})
    counts = file_counts(staged)
    assert parsed[0].kind == kind
    assert counts["rows_loaded"] == counts["rows_in_file"] == staged.tables[table].height == 2
    assert staged.rejects.height == 0


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_fixture_rejects_exactly_the_broken_rows(kind):
    table, broken, still_loaded = CASES[kind]
    _, staged = stage_exports({f"{kind}/bad.csv": (FIXTURES / kind / "bad.csv").read_bytes()})
    named = staged.rejects.filter(pl.col("column").is_not_null())
    assert set(named.select("line", "column", "rule").rows()) == broken
    assert file_counts(staged)["rows_loaded"] == staged.tables[table].height == still_loaded


def test_fixture_values_are_read_as_written():
    _, staged = stage_exports({"snipeit/good.csv": (FIXTURES / "snipeit_assets" / "good.csv").read_bytes()})
    server = staged.tables["assets"].filter(pl.col("asset_tag") == "AT-0001").row(0, named=True)
    # Line 2: "4,250.00" with a thousands comma, bought 1/23/26, EOL 1/23/31 (M/D/YY).
    assert (float(server["purchase_cost"]), str(server["purchase_date"]), str(server["eol_date"])) == (
        4250.0, "2026-01-23", "2031-01-23",
    )  # fmt: skip
    _, staged = stage_exports({"tempo/good.csv": (FIXTURES / "tempo_worklogs" / "good.csv").read_bytes()})
    review = staged.tables["worklogs"].filter(pl.col("worklog_id") == "102").row(0, named=True)
    assert (float(review["hours"]), review["description"], review["billable"]) == (2.0, 'review, with "quotes"', True)
