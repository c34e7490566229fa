"""Earned value's progress kept from one run to the next (transforms/progress.py, marts.evm_progress): the digest of
each project's inputs, computed in the warehouse, changes with any of them and only for the projects they are."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from transforms.progress import progress_digests_sql

ELEMENT = ("project_id VARCHAR, baseline_version BIGINT, element_key VARCHAR, budget DECIMAL(18, 4),"
           " parent_key VARCHAR, weight DOUBLE, ev_technique VARCHAR, element_name VARCHAR")  # fmt: skip
TABLES = {
    "staging.baselines": ELEMENT,
    "plans.baselines": ELEMENT,
    "staging.projects": "project_id VARCHAR, ev_technique VARCHAR, name VARCHAR",
    "staging.work_items": "item_key VARCHAR, snapshot_date DATE, status_category VARCHAR, assignee VARCHAR,"
    " type VARCHAR, resolved DATE, remaining_estimate_h DOUBLE, time_spent_h DOUBLE, story_points DOUBLE",
    "first_work": "item_key VARCHAR, work_date DATE",
}
D = dt.date


def _digests(conn: duckdb.DuckDBPyConnection, shared: str = "s") -> dict[str, str]:
    sql = progress_digests_sql(
        baselines="staging.baselines", frozen_elements="plans.baselines", projects="staging.projects",
        work_items="staging.work_items", first_work="first_work", shared=shared,
    )  # fmt: skip
    return dict(conn.sql(sql).fetchall())


@pytest.fixture
def conn(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.sql("CREATE SCHEMA staging; CREATE SCHEMA plans")
        for name, columns in TABLES.items():
            conn.sql(f"CREATE TABLE {name} ({columns})")
        # P measures A and S; Q measures Q1 and S (an item both name); R has a frozen version of R1 and no file.
        conn.sql("INSERT INTO staging.baselines (project_id, baseline_version, element_key, budget) VALUES"
                 " ('P', 1, 'A', 100), ('P', 1, 'S', 50), ('Q', 1, 'Q1', 30), ('Q', 1, 'S', 20)")  # fmt: skip
        conn.sql("INSERT INTO plans.baselines (project_id, baseline_version, element_key, budget) VALUES"
                 " ('R', 1, 'R1', 10)")  # fmt: skip
        conn.sql("INSERT INTO staging.projects VALUES ('P', '0/100', 'p'), ('Q', '0/100', 'q'), ('R', '50/50', 'r'),"
                 " ('Z', NULL, 'z')")  # fmt: skip
        conn.sql("INSERT INTO staging.work_items (item_key, snapshot_date, status_category, assignee) VALUES"
                 " ('A', DATE '2025-01-19', 'doing', 'u1'), ('S', DATE '2025-01-19', 'todo', 'u2'),"
                 " ('Q1', DATE '2025-01-19', 'done', 'u3'), ('R1', DATE '2025-01-19', 'todo', 'u4'),"
                 " ('NOBODY', DATE '2025-01-19', 'done', 'u5')")  # fmt: skip
        conn.sql("INSERT INTO first_work VALUES ('A', DATE '2025-01-13'), ('R1', DATE '2025-01-14'),"
                 " ('NOBODY', DATE '2025-01-15')")  # fmt: skip
        yield conn


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        ("UPDATE staging.work_items SET status_category = 'done' WHERE item_key = 'A'", {"P"}),
        ("UPDATE staging.work_items SET remaining_estimate_h = 2 WHERE item_key = 'Q1'", {"Q"}),
        ("UPDATE staging.work_items SET type = 'Bug' WHERE item_key = 'Q1'", {"Q"}),
        (
            "INSERT INTO staging.work_items (item_key, snapshot_date, status_category) VALUES"
            " ('A', DATE '2025-01-26', 'done')",
            {"P"},
        ),
        # a column progress does not read (an assignee, which `pmo forget` pseudonymises) changes nothing
        ("UPDATE staging.work_items SET assignee = 'u9' WHERE item_key = 'Q1'", set()),
        ("UPDATE staging.baselines SET element_name = 'renamed'", set()),
        ("UPDATE staging.projects SET name = 'renamed'", set()),
        ("UPDATE staging.work_items SET status_category = 'doing' WHERE item_key = 'S'", {"P", "Q"}),
        ("UPDATE first_work SET work_date = DATE '2025-01-12' WHERE item_key = 'A'", {"P"}),
        ("INSERT INTO first_work VALUES ('Q1', DATE '2025-01-16')", {"Q"}),
        ("UPDATE staging.baselines SET budget = 40 WHERE element_key = 'Q1'", {"Q"}),
        ("UPDATE staging.baselines SET parent_key = 'A' WHERE element_key = 'S' AND project_id = 'P'", {"P"}),
        (
            "INSERT INTO staging.baselines (project_id, baseline_version, element_key, budget)"
            " VALUES ('P', 2, 'A', 120)",
            {"P"},
        ),
        ("UPDATE plans.baselines SET budget = 11", {"R"}),
        ("UPDATE plans.baselines SET ev_technique = '50/50'", {"R"}),
        ("UPDATE staging.projects SET ev_technique = '50/50' WHERE project_id = 'Z'", {"Z"}),
        # an export or a worklog of an item no project measures changes nothing
        ("UPDATE staging.work_items SET status_category = 'todo' WHERE item_key = 'NOBODY'", set()),
        ("DELETE FROM first_work WHERE item_key = 'NOBODY'", set()),
    ],
)
def test_a_change_of_what_progress_reads_changes_the_digest_of_exactly_the_projects_it_is_of(conn, change, changed):
    before = _digests(conn)
    assert set(before) == {"P", "Q", "R", "Z"}
    assert _digests(conn) == before  # the same rows, the same digests
    conn.sql(change)
    after = _digests(conn)
    assert {p for p in before if after[p] != before[p]} == changed


def test_what_every_project_shares_changes_every_digest_and_rows_in_another_order_change_none(conn):
    before = _digests(conn)
    assert all(_digests(conn, shared="t")[p] != before[p] for p in before)
    conn.sql("CREATE TABLE w AS SELECT * FROM staging.work_items ORDER BY item_key DESC")
    conn.sql("DROP TABLE staging.work_items")
    conn.sql("CREATE TABLE staging.work_items AS SELECT * FROM w")
    assert _digests(conn) == before
    # two equal rows do not cancel out
    conn.sql("INSERT INTO staging.work_items SELECT * FROM w WHERE item_key = 'A'")
    conn.sql("INSERT INTO staging.work_items SELECT * FROM w WHERE item_key = 'A'")
    assert _digests(conn)["P"] != before["P"]
