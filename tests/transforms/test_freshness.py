"""Source freshness: the newest day each source's data covers, its age at the status date and whether it is stale."""

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from transforms.freshness import COLUMNS, file_dates, source_freshness

D = dt.date
STATUS = D(2026, 3, 15)  # a Sunday
FILES = pl.DataFrame(
    [
        (1, "tempo/tempo_2026-03-01.csv", "tempo_worklogs", "parsed"),
        (2, "tempo/tempo_2026-03-15.csv", "tempo_worklogs", "parsed"),
        (3, "jira/jira_export_2026-02-15.csv", "jira_issues", "parsed"),
        (4, "snipeit/assets_2026-03-10.csv", "snipeit_assets", "parsed"),
        (5, "snipeit/licenses.csv", "snipeit_licences", "parsed"),
        (6, "pmo/projects.csv", "project_register", "parsed"),
        (7, "pmo/evm.csv", "evm_status", "parsed"),
        (8, "tempo/tempo_2026-04-30.csv", "tempo_worklogs", "rejected"),  # quarantined: none of its rows loaded
        (9, "drop/mystery.csv", None, "unrecognised"),
        (10, "servicenow/incident_2026-03-22.csv", "servicenow_tasks", "parsed"),
    ],
    schema={"file_id": pl.Int64, "path": pl.String, "source_kind": pl.String, "status": pl.String},
    orient="row",
)
TABLES = {
    "worklogs": pl.DataFrame(
        {
            "_source_file": [1, 1, 2, 2],
            "work_date": [D(2026, 2, 20), D(2026, 2, 27), D(2026, 3, 6), D(2026, 3, 13)],
        }
    ),
    "work_items": pl.DataFrame({"_source_file": [3, 3, 10], "snapshot_date": [D(2026, 2, 13)] * 2 + [D(2026, 3, 20)]}),
    # The scheduling tool reports actuals up to 8 March (ev without ac counts); 15 and 22 March carry the plan only.
    "evm_status": pl.DataFrame(
        {
            "_source_file": [7] * 4,
            "status_date": [D(2026, 3, 1), D(2026, 3, 8), D(2026, 3, 15), D(2026, 3, 22)],
            "ev": [100.0, 150.0, None, None],
            "ac": [90.0, None, None, None],
        }
    ),
    "risks": pl.DataFrame(schema={"_source_file": pl.Int64, "review_date": pl.Date}),
}


def _expected(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [(STATUS, *r) for r in rows], schema=list(COLUMNS), orient="row"
    ).cast(COLUMNS)  # fmt: skip


def test_each_source_is_as_fresh_as_its_newest_data_and_stale_past_its_maximum():
    out = source_freshness(FILES, TABLES, STATUS, max_age_days=14, per_source={"tempo_worklogs": 7})
    expected = _expected([
        # 15 − 8 March = 7 days; 7 is not more than the default 14.
        ("evm_status", 1, "pmo/evm.csv", D(2026, 3, 8), 7, 14, False, "evm_status.status_date"),
        # Jira: the data's snapshot (13 Feb), not the file name's 15 Feb: 15 Mar − 13 Feb = 30 days > 14.
        ("jira_issues", 1, "jira/jira_export_2026-02-15.csv", D(2026, 2, 13), 30, 14, True,
         "work_items.snapshot_date, worklogs.work_date"),
        # Reference data: no maximum, never stale, even with no date at all.
        ("project_register", 1, "pmo/projects.csv", None, None, None, False, "file name"),
        # ServiceNow's snapshot of 20 March runs past the status date: age 0, not −5.
        ("servicenow_tasks", 1, "servicenow/incident_2026-03-22.csv", D(2026, 3, 20), 0, 14, False,
         "work_items.snapshot_date"),
        # Asset lists carry no date: the file name's 10 March, 15 − 10 = 5 days.
        ("snipeit_assets", 1, "snipeit/assets_2026-03-10.csv", D(2026, 3, 10), 5, 14, False, "file name"),
        # No date in the rows nor in the name, and a maximum applies: stale.
        ("snipeit_licences", 1, "snipeit/licenses.csv", None, None, 14, True, "file name"),
        # Two loaded files (the quarantined third does not count); the newest worklog is 13 March: 2 days ≤ 7.
        ("tempo_worklogs", 2, "tempo/tempo_2026-03-15.csv", D(2026, 3, 13), 2, 7, False, "worklogs.work_date"),
    ])  # fmt: skip
    assert_frame_equal(out, expected)


def test_the_settings_set_each_sources_maximum_reference_data_included():
    out = source_freshness(
        FILES, TABLES, STATUS, max_age_days=30, per_source={"tempo_worklogs": 1, "project_register": 90}
    )
    got = {r["source_kind"]: (r["max_age_days"], r["stale"]) for r in out.iter_rows(named=True)}
    assert got["tempo_worklogs"] == (1, True)  # 2 days > 1
    assert got["jira_issues"] == (30, False)  # 30 days, not more than 30
    assert got["project_register"] == (90, True)  # given a maximum, its unknown date makes it stale
    assert got["snipeit_assets"] == (30, False)


def test_the_newest_file_is_the_one_with_the_newest_data_and_the_higher_id_on_a_tie():
    files = pl.DataFrame(
        {
            "file_id": [1, 2, 3],
            "path": ["tempo/late.csv", "tempo/a.csv", "tempo/b.csv"],
            "source_kind": ["tempo_worklogs"] * 3,
            "status": ["parsed"] * 3,
        }
    )
    # File 1 holds the newest day (12 March); files 2 and 3 both end on 10 March.
    worklogs = pl.DataFrame({"_source_file": [1, 2, 3], "work_date": [D(2026, 3, 12), D(2026, 3, 10), D(2026, 3, 10)]})
    out = source_freshness(files, {"worklogs": worklogs}, STATUS)
    assert out.select("files", "latest_export_file", "data_through").row(0) == (3, "tempo/late.csv", D(2026, 3, 12))
    worklogs = worklogs.with_columns(work_date=pl.lit(D(2026, 3, 10)))
    out = source_freshness(files, {"worklogs": worklogs}, STATUS)
    assert out.item(0, "latest_export_file") == "tempo/b.csv"


def test_file_dates_take_each_files_newest_dated_row():
    out = file_dates(TABLES)
    # File 7's newest week with actuals is 8 March (15 and 22 March are plan only).
    assert out.rows() == [(1, D(2026, 2, 27)), (2, D(2026, 3, 13)), (3, D(2026, 2, 13)), (7, D(2026, 3, 8)),
                          (10, D(2026, 3, 20))]  # fmt: skip


def test_no_files_no_rows():
    empty = FILES.clear()
    out = source_freshness(empty, {}, STATUS)
    assert out.height == 0 and out.schema == pl.Schema(COLUMNS)
