"""Baselines derived from tickets: frozen automatically on the first run, re-frozen by `pmo baseline freeze` as a
new version that later weeks are measured against, older versions kept (../shared/EVM.md "Baseline")."""

import csv

import duckdb

from pipelines.home import RunLock
from tests.pipelines.test_cli import pmo


def _without_baseline_of(inbox, project_id):
    """The small demo inbox with one project's baseline rows removed: that project is planned only in tickets."""
    path = inbox / "pmo" / "baseline.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(project_id + ",")), encoding="utf-8")
    return inbox


def _versions(home):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.sql(
            "SELECT baseline_version, effective_from::VARCHAR, reason, source, elements, bac::DOUBLE"
            " FROM marts.baseline_versions WHERE project_id = 'PRJ-003' ORDER BY 1"
        ).fetchall()


def _without_due_date(inbox, jira_project):
    """The latest Jira export with the due date of the project's last ticket blanked; returns its key."""
    path = sorted((inbox / "jira").glob("*.csv"))[-1]
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    header, row = rows[0], [r for r in rows[1:] if r[rows[0].index("Project key")] == jira_project][-1]
    row[header.index("Due date")] = ""
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return row[header.index("Issue key")]


def test_first_run_freezes_tickets_and_a_freeze_adds_a_version_measured_from_its_date(tmp_path, small_inbox):
    home, inbox = tmp_path / "home", _without_baseline_of(small_inbox, "PRJ-003")
    undated = _without_due_date(inbox, "NET")  # PRJ-003's tickets
    assert pmo("run", "--inbox", inbox, "--home", home, env={"PMO_SMTP_HOST": ""}).returncode == 3

    first = _versions(home)
    assert [(v, source) for v, _, _, source, _, _ in first] == [(1, "tickets")]
    assert first[0][2] == "derived from ticket estimates (first freeze, automatic)"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        # BAC of the derived version = Σ original estimate × the assignee's rate in force on the planned start,
        # computed here independently of the pipeline from the staged tickets and the rate card.
        expected = conn.sql(
            """
            WITH items AS (
                SELECT * FROM staging.work_items WHERE project_id = 'PRJ-003'
                QUALIFY row_number() OVER (PARTITION BY item_key ORDER BY snapshot_date DESC) = 1
            )
            SELECT sum(i.original_estimate_h * r.hourly_rate)::DOUBLE
            FROM items i
            JOIN staging.people p ON p.jira_account_id = i.assignee_account_id
            JOIN staging.rates r ON (r.person_id = p.person_id OR (r.person_id IS NULL AND r.role = p.role))
                 AND i.planned_start BETWEEN r.valid_from AND coalesce(r.valid_to, DATE '9999-12-31')
            WHERE i.due IS NOT NULL  -- the ticket without a due date is not budgeted (flagged below)
            """
        ).fetchall()[0][0]
        weeks_v1 = conn.sql(
            "SELECT count(*) FROM marts.evm_weekly WHERE project_id = 'PRJ-003' AND baseline_version = 1"
        ).fetchall()[0][0]
        # The ticket the derived baseline could not budget (no due date) is flagged at the as-of date, by its key.
        flagged = conn.sql(
            "SELECT project_id, status_date::VARCHAR, source_rows FROM marts.evm_flags"
            " WHERE finding = 'items_not_budgeted'"
        ).fetchall()
    assert flagged == [("PRJ-003", "2026-03-15", undated)]
    assert first[0][5] == round(expected, 4)
    assert weeks_v1 > 0

    # Estimates are re-frozen from 2026-03-15 on: a new version, the old one kept.
    done = pmo("baseline", "freeze", "--project", "PRJ-003", "--reason", "scope approved", "--effective-from",
               "2026-03-15", "--home", home)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PRJ-003: baseline version 2 frozen" in done.stdout and "in force from 2026-03-15" in done.stdout

    assert pmo("run", "--inbox", inbox, "--home", home, env={"PMO_SMTP_HOST": ""}).returncode == 3
    versions = _versions(home)
    assert [(v, eff, reason, source) for v, eff, reason, source, _, _ in versions] == [
        (1, versions[0][1], "derived from ticket estimates (first freeze, automatic)", "tickets"),
        (2, "2026-03-15", "scope approved", "tickets"),
    ]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        by_week = dict(
            conn.sql(
                "SELECT status_date::VARCHAR, baseline_version FROM marts.evm_weekly WHERE project_id = 'PRJ-003'"
            ).fetchall()
        )
    assert by_week == {"2026-03-08": 1, "2026-03-15": 2}, by_week


def test_freeze_refuses_an_unknown_project_a_held_home_and_an_off_grid_date(tmp_path, small_inbox):
    home = tmp_path / "home"
    assert pmo("run", "--inbox", small_inbox, "--home", home, env={"PMO_SMTP_HOST": ""}).returncode == 3

    unknown = pmo("baseline", "freeze", "--project", "NOPE", "--reason", "x", "--home", home)
    assert unknown.returncode == 2 and "project NOPE is not in the project register" in unknown.stdout

    off_grid = pmo("baseline", "freeze", "--project", "PRJ-001", "--reason", "x", "--effective-from", "2026-03-11",
                   "--home", home)  # fmt: skip
    assert off_grid.returncode == 2 and "not a status date" in off_grid.stdout

    lock = RunLock(home)
    lock.acquire()
    try:
        held = pmo("baseline", "freeze", "--project", "PRJ-001", "--reason", "x", "--home", home)
    finally:
        lock.release()
    assert held.returncode == 4 and "another run holds" in held.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(*) FROM plans.baseline_versions").fetchall() == [(0,)]


def test_freeze_needs_a_loaded_warehouse(tmp_path):
    done = pmo("baseline", "freeze", "--project", "P", "--reason", "x", "--home", tmp_path / "empty")
    assert done.returncode == 2 and "run `pmo run` first" in done.stdout
