"""Milestone rows kept from one run to the next (transforms/milestones.py, marts.milestone_state): the digest of each
project's inputs, computed in the warehouse, changes with any of them and only for the projects they are; its latest
event is the latest date on or before the as-of date at which one of its items' attributes can change."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from transforms.milestones import digests_sql

ELEMENT = ("project_id VARCHAR, baseline_version BIGINT, effective_from DATE, element_key VARCHAR,"
           " planned_finish DATE, is_milestone BOOLEAN, element_name VARCHAR")  # fmt: skip
TABLES = {
    "staging.baselines": ELEMENT,
    "plans.baselines": ELEMENT,
    "marts.baseline_versions": "project_id VARCHAR, baseline_version BIGINT, effective_from DATE, bac DOUBLE",
    "staging.projects": "project_id VARCHAR, calendar_id VARCHAR, name VARCHAR",
    "staging.work_items": "item_key VARCHAR, snapshot_date DATE, project_id VARCHAR, status_category VARCHAR,"
    " resolved DATE, due DATE, is_milestone BOOLEAN, summary VARCHAR, assignee VARCHAR",
}
D = dt.date
AS_OF = D(2026, 3, 15)


def _digests(conn: duckdb.DuckDBPyConnection, shared: str = "s", as_of: dt.date = AS_OF) -> dict[str, tuple]:
    sql = digests_sql(baselines="staging.baselines", frozen_elements="plans.baselines",
                      versions="marts.baseline_versions", projects="staging.projects",
                      work_items="staging.work_items", shared=shared)  # fmt: skip
    return {p: (digest, latest) for p, digest, latest in conn.sql(sql, params={"as_of": as_of}).fetchall()}


@pytest.fixture
def conn(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.sql("CREATE SCHEMA staging; CREATE SCHEMA plans; CREATE SCHEMA marts")
        for name, columns in TABLES.items():
            conn.sql(f"CREATE TABLE {name} ({columns})")
        # P's milestones M and S; Q's milestone S (an item both name) and its due-dated ticket T; R a frozen version
        # with a milestone R1 that has no ticket; X a ticket without a due date, in P.
        conn.sql("INSERT INTO staging.baselines (project_id, baseline_version, effective_from, element_key,"
                 " planned_finish, is_milestone) VALUES ('P', 1, DATE '2026-01-01', 'M', DATE '2026-02-01', true),"
                 " ('P', 1, DATE '2026-01-01', 'S', DATE '2026-02-15', true),"
                 " ('P', 1, DATE '2026-01-01', 'X', DATE '2026-02-15', false),"
                 " ('Q', 1, DATE '2026-01-05', 'S', DATE '2026-03-01', true)")  # fmt: skip
        conn.sql(
            "INSERT INTO plans.baselines (project_id, baseline_version, effective_from, element_key,"
            " planned_finish, is_milestone) VALUES ('R', 1, DATE '2026-01-01', 'R1', DATE '2026-04-01', true)"
        )
        conn.sql("INSERT INTO marts.baseline_versions VALUES ('P', 1, DATE '2026-01-01', 10),"
                 " ('Q', 1, DATE '2026-01-05', 20), ('R', 1, DATE '2026-01-01', 30)")  # fmt: skip
        conn.sql("INSERT INTO staging.projects VALUES ('P', 'default', 'p'), ('Q', NULL, 'q'), ('R', 'plain', 'r')")
        conn.sql(
            "INSERT INTO staging.work_items VALUES"
            " ('M', DATE '2026-01-07', 'P', 'doing', NULL, DATE '2026-02-01', NULL, 'm', 'u1'),"
            " ('M', DATE '2026-02-04', 'P', 'done', DATE '2026-02-03', DATE '2026-02-01', NULL, 'm', 'u1'),"
            " ('S', DATE '2026-01-07', 'P', 'doing', NULL, NULL, NULL, 's', 'u2'),"
            " ('T', DATE '2026-01-14', 'Q', 'todo', NULL, DATE '2026-03-20', NULL, 't', 'u3'),"
            " ('X', DATE '2026-01-14', 'P', 'todo', NULL, NULL, NULL, 'x', 'u4'),"
            " ('NOBODY', DATE '2026-01-14', NULL, 'done', DATE '2026-01-10', DATE '2026-01-09', NULL, 'n', 'u5')"
        )
        yield conn


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        ("UPDATE staging.work_items SET due = DATE '2026-02-02' WHERE item_key = 'M'", {"P"}),
        ("UPDATE staging.work_items SET status_category = 'done' WHERE item_key = 'T'", {"Q"}),
        ("UPDATE staging.work_items SET summary = 'renamed' WHERE item_key = 'T'", {"Q"}),
        ("UPDATE staging.work_items SET is_milestone = true WHERE item_key = 'M'", {"P"}),
        ("UPDATE staging.work_items SET resolved = DATE '2026-02-02' WHERE item_key = 'M'", {"P"}),
        # an item both name: both; an export of T in another project: its rows are read wherever exported
        ("UPDATE staging.work_items SET status_category = 'done' WHERE item_key = 'S'", {"P", "Q"}),
        (
            "INSERT INTO staging.work_items (item_key, snapshot_date, project_id) VALUES ('T', DATE '2026-01-21', 'P')",
            {"Q"},
        ),  # fmt: skip
        # a ticket gaining a due date becomes a key of its project
        ("UPDATE staging.work_items SET due = DATE '2026-03-01' WHERE item_key = 'X'", {"P"}),
        ("UPDATE staging.baselines SET planned_finish = DATE '2026-02-02' WHERE element_key = 'M'", {"P"}),
        ("UPDATE staging.baselines SET is_milestone = false WHERE element_key = 'S' AND project_id = 'Q'", {"Q"}),
        ("UPDATE plans.baselines SET effective_from = DATE '2026-01-02'", {"R"}),
        ("UPDATE marts.baseline_versions SET effective_from = DATE '2026-01-06' WHERE project_id = 'Q'", {"Q"}),
        ("UPDATE staging.projects SET calendar_id = 'plain' WHERE project_id = 'Q'", {"Q"}),
        # columns no milestone figure reads, and an item no key is of, change nothing
        ("UPDATE staging.work_items SET assignee = 'u9'", set()),
        ("UPDATE staging.baselines SET element_name = 'renamed'", set()),
        ("UPDATE staging.projects SET name = 'renamed'", set()),
        ("UPDATE marts.baseline_versions SET bac = 99", set()),
        ("UPDATE staging.work_items SET status_category = 'todo' WHERE item_key IN ('NOBODY', 'X')", set()),
    ],
)
def test_a_change_of_what_milestones_read_changes_the_digest_of_exactly_the_projects_it_is_of(conn, change, changed):
    before = _digests(conn)
    assert set(before) == {"P", "Q", "R"}
    assert _digests(conn) == before  # the same rows, the same digests
    conn.sql(change)
    after = _digests(conn)
    assert {p for p in before if after[p][0] != before[p][0]} == changed


def test_the_latest_event_is_of_exports_resolutions_and_versions_up_to_the_as_of_date(conn):
    # P: exports 7 Jan and 4 Feb, M resolved 3 Feb, its version from 1 Jan (X is no key: its 14 Jan export is not
    # P's). Q: T's export 14 Jan, S's 7 Jan. R: only its version, 1 Jan.
    latest = {p: event for p, (_, event) in _digests(conn).items()}
    assert latest == {"P": D(2026, 2, 4), "Q": D(2026, 1, 14), "R": D(2026, 1, 1)}
    # dates after the as-of date are no events yet: as of 3 Feb, M's resolution that day is P's latest
    assert _digests(conn, as_of=D(2026, 2, 3))["P"][1] == D(2026, 2, 3)
    assert _digests(conn, as_of=D(2026, 2, 2))["P"][1] == D(2026, 1, 7)
    # the digest does not depend on the as-of date
    assert _digests(conn, as_of=D(2026, 2, 2))["P"][0] == _digests(conn)["P"][0]


def test_what_every_project_shares_changes_every_digest_and_rows_in_another_order_change_none(conn):
    before = _digests(conn)
    assert all(_digests(conn, shared="t")[p][0] != before[p][0] for p in before)
    conn.sql("CREATE TABLE w AS SELECT * FROM staging.work_items ORDER BY item_key DESC, snapshot_date DESC")
    conn.sql("DROP TABLE staging.work_items")
    conn.sql("CREATE TABLE staging.work_items AS SELECT * FROM w")
    assert _digests(conn) == before
    # two equal rows do not cancel out
    conn.sql("INSERT INTO staging.work_items SELECT * FROM w WHERE item_key = 'M'")
    conn.sql("INSERT INTO staging.work_items SELECT * FROM w WHERE item_key = 'M'")
    assert _digests(conn)["P"][0] != before["P"][0]
