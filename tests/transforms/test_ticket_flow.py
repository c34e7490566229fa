"""Service desk flow on hand-computed tickets (arithmetic in the comments) and on real ServiceNow and GLPI exports.

Status dates are Sundays unless a test says otherwise; "the week ending S" is S − 6 .. S.
January 2026: Fri 2, Sun 4, Mon 5, Tue 6, Wed 7, Thu 8, Fri 9, Sat 10, Sun 11, Mon 12, Tue 13, Wed 14, Fri 16,
Sun 18, Wed 21, Sun 25.
"""

import csv
import datetime as dt
import statistics
from collections import Counter

import duckdb
import polars as pl
import pytest

from tests.staging_helpers import REALDATA, realdata, stage_realdata
from transforms.calendar import status_dates, week_end
from transforms.canonical import conform_table
from transforms.ticket_flow import (
    CELLS_SQL,
    COUNTING_SQL,
    FLOW_COLUMNS,
    ITEMS_COLUMNS,
    KEY,
    cell_starts,
    flow_of,
    items_of,
    snapshots,
    ticket_flow,
    ticket_flow_items,
)

D, T = dt.date, dt.datetime
BASE = {"source_kind": "jira", "status_category": "doing", "priority": "high", "project_id": "P"}
COUNTS = [
    "created", "resolved", "backlog", "backlog_0_7", "backlog_8_30", "backlog_31_90", "backlog_over_90",
    "backlog_unknown", "reopened", "sla_breaches", "sla_known",
]  # fmt: skip


def wi(*rows: dict) -> pl.DataFrame:
    """Staged work_items (plus project_id) from partial rows; dates follow the timestamps when only those are
    given, and each row gets a line number 2, 3, ... of file 1."""
    records = []
    for line, row in enumerate(rows, start=2):
        r = {"_source_file": 1, "_line": line, **BASE, **row}
        for date, ts in (("created", "created_at"), ("resolved", "resolved_at")):
            if r.get(ts) is not None and date not in r:
                r[date] = r[ts].date()
        records.append(r)
    frame = pl.DataFrame(records, infer_schema_length=None)
    return conform_table("work_items", frame.drop("project_id")).with_columns(frame["project_id"].cast(pl.String))


def cell(flow: pl.DataFrame, key: str, priority: str, s: dt.date, level: str = "project") -> dict:
    found = flow.filter(
        (pl.col("group_level") == level)
        & (pl.col("group_key") == key)
        & (pl.col("priority") == priority)
        & (pl.col("status_date") == s)
    )
    assert found.height == 1, found
    return found.row(0, named=True)


def pick(row: dict, *names: str) -> tuple:
    return tuple(row[n] for n in names)


# --- created, resolved, backlog over three weeks ------------------------------------------------------------------

THREE = [D(2026, 1, 4), D(2026, 1, 11), D(2026, 1, 18)]
EXPORT = D(2026, 1, 16)  # one export, Friday 16 January: the weeks before it are rebuilt from its dates
FLOW_ITEMS = wi(
    {"item_key": "A", "snapshot_date": EXPORT, "created": D(2026, 1, 2), "resolved": D(2026, 1, 7),
     "status_category": "done", "assignment_group": "desk"},
    {"item_key": "B", "snapshot_date": EXPORT, "created": D(2026, 1, 5), "priority": "low",
     "assignment_group": "desk"},
    {"item_key": "C", "snapshot_date": EXPORT, "created": D(2026, 1, 6), "resolved": D(2026, 1, 14),
     "status_category": "done", "assignment_group": None},
    {"item_key": "D", "snapshot_date": EXPORT, "created": D(2026, 1, 13), "priority": "low",
     "assignment_group": None},
)  # fmt: skip


def test_created_resolved_backlog_over_three_weeks():
    flow = ticket_flow(FLOW_ITEMS, THREE)
    got = [pick(cell(flow, "P", "all", s), "created", "resolved", "backlog") for s in THREE]
    # week to Sun 4: created A (Fri 2); nothing resolved; backlog A → (1, 0, 1)
    # week to Sun 11: created B (Mon 5), C (Tue 6); resolved A (Wed 7); backlog B, C → (2, 1, 2)
    # week to Sun 18: created D (Tue 13); resolved C (Wed 14); backlog B, D → (1, 1, 2)
    assert got == [(1, 0, 1), (2, 1, 2), (1, 1, 2)]
    # high (A, C): (1, 0, 1), (1 C, 1 A, 1 C), (0, 1 C, 0)
    assert [pick(cell(flow, "P", "high", s), "created", "resolved", "backlog") for s in THREE] == [
        (1, 0, 1),
        (1, 1, 1),
        (0, 1, 0),
    ]
    # low (B, D): no low ticket exists by Sun 4, so its rows start on Sun 11: (1 B, 0, 1 B), (1 D, 0, 2 B+D)
    low = flow.filter((pl.col("group_level") == "project") & (pl.col("priority") == "low"))
    assert low["status_date"].to_list() == THREE[1:]
    assert [pick(r, "created", "resolved", "backlog") for r in low.iter_rows(named=True)] == [(1, 0, 1), (1, 0, 2)]


def test_backlog_over_status_dates_a_week_apart_or_not():
    # Without Sun 11: what happened after Sun 4 counts from Sun 18. Sun 4: A open (1, created Fri 2: 2 days old).
    # Sun 18: A (7 Jan) and C (14 Jan) resolved; B open since Mon 5 (13 days old), D since Tue 13 (5 days) → 2.
    columns = ("backlog", "backlog_0_7", "backlog_8_30")
    gap = ticket_flow(FLOW_ITEMS, [THREE[0], THREE[2]])
    assert [pick(cell(gap, "P", "all", s), *columns) for s in (THREE[0], THREE[2])] == [(1, 1, 0), (2, 1, 1)]
    # every week: the same figures at those dates, and Sun 11 between (B 6 days old, C 5 days: both 0-7)
    weekly = ticket_flow(FLOW_ITEMS, THREE)
    assert [pick(cell(weekly, "P", "all", s), *columns) for s in THREE] == [(1, 1, 0), (2, 2, 0), (2, 1, 1)]


def test_assignment_groups_and_null_keys():
    flow = ticket_flow(FLOW_ITEMS, THREE)
    # desk = A, B; "(none)" = C, D (NULL assignment group). At Sun 18: desk backlog B = 1; (none) backlog D = 1
    assert pick(cell(flow, "desk", "all", THREE[2], "assignment_group"), "created", "resolved", "backlog") == (0, 0, 1)
    assert pick(cell(flow, "(none)", "all", THREE[2], "assignment_group"), "created", "resolved", "backlog") == (
        1,
        1,
        1,
    )
    # rows from the first Sunday on or after each cell's first creation: (none) all and high from Sun 11 (C, Tue 6)
    # → 2 + 2, low from Sun 18 (D, Tue 13) → 1: 5; desk all and high from Sun 4 (A, Fri 2) → 3 + 3, low from
    # Sun 11 (B, Mon 5) → 2: 8; project P likewise 3 + 3 + 2 = 8
    assert flow.filter(pl.col("group_key") == "(none)").height == 5
    assert flow.filter(pl.col("group_key") == "desk").height == 8
    assert flow.height == 5 + 8 + 8
    assert flow.columns == list(FLOW_COLUMNS)
    assert flow.equals(flow.sort("group_level", "group_key", "priority", "status_date"))


# --- age buckets at their edges ------------------------------------------------------------------------------------

S1, S2 = D(2026, 3, 1), D(2026, 3, 8)  # Sundays
AGES = [0, 7, 8, 30, 31, 90, 91]


def test_age_buckets_at_their_edges():
    tickets = wi(
        *[{"item_key": f"T{age}", "snapshot_date": S2, "created": S1 - dt.timedelta(days=age)} for age in AGES]
    )
    flow = ticket_flow(tickets, [S1, S2])
    buckets = ["backlog", "backlog_0_7", "backlog_8_30", "backlog_31_90", "backlog_over_90"]
    # at Sun 1 Mar, ages 0, 7 → 0–7; 8, 30 → 8–30; 31, 90 (created Mon 1 Dec 2025) → 31–90; 91 → over 90
    assert pick(cell(flow, "P", "all", S1), *buckets) == (7, 2, 2, 2, 1)
    # a week later each is 7 days older: 7 → 0–7; 14, 15, 37 → ... 8–30 holds 14, 15; 31–90 holds 37, 38;
    # over 90 holds 97, 98
    assert pick(cell(flow, "P", "all", S2), *buckets) == (7, 1, 2, 2, 2)
    assert S1 - dt.timedelta(days=90) == D(2025, 12, 1)


# --- time to resolve ----------------------------------------------------------------------------------------------


def test_median_and_p90_by_priority_linear_interpolation():
    mon = T(2026, 1, 5, 8)
    tickets = wi(
        *[
            {"item_key": f"H{h}", "snapshot_date": EXPORT, "status_category": "done", "created_at": mon,
             "resolved_at": mon + dt.timedelta(hours=h)}
            for h in (20, 2, 10, 4)
        ],
        # dates only: created Mon 5, resolved Thu 8 → 3 days × 24 = 72 hours
        {"item_key": "L", "snapshot_date": EXPORT, "status_category": "done", "priority": "low",
         "created": D(2026, 1, 5), "resolved": D(2026, 1, 8)},
    )  # fmt: skip
    flow = ticket_flow(tickets, THREE[1:])
    cols = ("resolved", "median_resolve_hours", "p90_resolve_hours")
    # high, sorted 2, 4, 10, 20 (n 4): median at position (4 − 1) × 0.5 = 1.5 → 4 + 0.5 × (10 − 4) = 7;
    # p90 at 3 × 0.9 = 2.7 → 10 + 0.7 × (20 − 10) = 17 (nearest rank would give 20)
    assert pick(cell(flow, "P", "high", THREE[1]), *cols) == pytest.approx((4, 7.0, 17.0))
    # low: the one ticket, 72 hours
    assert pick(cell(flow, "P", "low", THREE[1]), *cols) == pytest.approx((1, 72.0, 72.0))
    # all, sorted 2, 4, 10, 20, 72 (n 5): median at 2 → 10; p90 at 3.6 → 20 + 0.6 × (72 − 20) = 51.2
    assert pick(cell(flow, "P", "all", THREE[1]), *cols) == pytest.approx((5, 10.0, 51.2))
    # nothing resolved in the week to Sun 18: NULL, not 0
    assert pick(cell(flow, "P", "all", THREE[2]), *cols) == (0, None, None)


# --- reopened -----------------------------------------------------------------------------------------------------

E1, E2, E3 = D(2026, 1, 7), D(2026, 1, 14), D(2026, 1, 21)  # exports on Wednesdays
WEEKS = [D(2026, 1, 11), D(2026, 1, 18), D(2026, 1, 25)]
REOPEN_ITEMS = wi(
    # R: done in export 1, in progress in export 2 (still carrying the old resolution date), and in export 3
    {"item_key": "R", "snapshot_date": E1, "created": D(2026, 1, 5), "resolved": D(2026, 1, 6),
     "status_category": "done"},
    {"item_key": "R", "snapshot_date": E2, "created": D(2026, 1, 5), "resolved": D(2026, 1, 6)},
    {"item_key": "R", "snapshot_date": E3, "created": D(2026, 1, 5)},
    # Q: open throughout, but its reopen count grows from 0 to 1 in export 2 (closed and reopened in between)
    {"item_key": "Q", "snapshot_date": E1, "created": D(2026, 1, 5), "reopen_count": 0},
    {"item_key": "Q", "snapshot_date": E2, "created": D(2026, 1, 5), "reopen_count": 1},
    {"item_key": "Q", "snapshot_date": E3, "created": D(2026, 1, 5), "reopen_count": 1},
    # K: already reopened twice in its first export: the week is unknown, never counted
    {"item_key": "K", "snapshot_date": E2, "created": D(2026, 1, 12), "reopen_count": 2},
)  # fmt: skip


def test_reopened_counted_once_in_the_week_of_the_export_that_shows_it():
    flow = ticket_flow(REOPEN_ITEMS, WEEKS)
    got = [pick(cell(flow, "P", "all", s), "reopened", "resolved", "backlog") for s in WEEKS]
    # Sun 11 (export 1): R done, resolved Tue 6 → resolved 1; backlog Q → 1; nothing reopened
    # Sun 18 (export 2): R back in progress (its stale resolution ignored) and Q's count 0 → 1: reopened 2;
    #   backlog Q, R, K → 3; resolved 0
    # Sun 25 (export 3): R still in progress and Q still 1: reopened 0; backlog 3
    assert got == [(0, 1, 1), (2, 0, 3), (0, 0, 3)]
    items = ticket_flow_items(REOPEN_ITEMS, WEEKS)
    assert items.columns == list(ITEMS_COLUMNS)
    # the rows behind the 2: Q and R at Sun 18, from their export-2 rows (lines 6 and 3)
    assert items.select("status_date", "item_key", "reopened", "sla_breach", "_line").rows() == [
        (WEEKS[1], "Q", True, False, 6),
        (WEEKS[1], "R", True, False, 3),
    ]


def test_reopen_and_reclose_within_one_week_is_not_a_reopen_in_force():
    tickets = wi(
        {"item_key": "R", "snapshot_date": E1, "created": D(2026, 1, 5), "resolved": D(2026, 1, 6),
         "status_category": "done"},
        # Mon 12 reopened, Wed 14 done again: at Sun 18 the export in force (Wed 14) says done, as did Sun 11's
        {"item_key": "R", "snapshot_date": D(2026, 1, 12), "created": D(2026, 1, 5)},
        {"item_key": "R", "snapshot_date": E2, "created": D(2026, 1, 5), "resolved": D(2026, 1, 13),
         "status_category": "done"},
    )  # fmt: skip
    flow = ticket_flow(tickets, WEEKS[:2])
    # Sun 18: not reopened (done → done between the snapshots in force), resolved again on Tue 13 → 1
    assert pick(cell(flow, "P", "all", WEEKS[1]), "reopened", "resolved", "backlog") == (0, 1, 0)


def test_reopen_seen_against_the_snapshot_in_force_the_week_before():
    tickets = wi(
        {"item_key": "R", "snapshot_date": E1, "created": D(2026, 1, 5), "resolved": D(2026, 1, 6),
         "status_category": "done"},
        # Mon 12 and Wed 14 both in progress: Mon 12 is superseded within its week, so the week to Sun 18 compares
        # Wed 14 (in progress) with Wed 7 (done, in force at Sun 11): one reopen
        {"item_key": "R", "snapshot_date": D(2026, 1, 12), "created": D(2026, 1, 5)},
        {"item_key": "R", "snapshot_date": E2, "created": D(2026, 1, 5)},
    )  # fmt: skip
    flow = ticket_flow(tickets, WEEKS[:2])
    assert pick(cell(flow, "P", "all", WEEKS[1]), "reopened", "backlog") == (1, 1)


# --- SLA -----------------------------------------------------------------------------------------------------------

MON9 = T(2026, 1, 5, 9)
SLA_ITEMS = wi(
    # GLPI with targets in the export (project G)
    {"item_key": "S1", "source_kind": "glpi", "project_id": "G", "snapshot_date": EXPORT, "status_category": "done",
     "created_at": MON9, "sla_due_at": T(2026, 1, 6, 9), "resolved_at": T(2026, 1, 7, 10)},  # late by 25 h
    {"item_key": "S2", "source_kind": "glpi", "project_id": "G", "snapshot_date": EXPORT, "status_category": "done",
     "created_at": MON9, "sla_due_at": T(2026, 1, 9, 9), "resolved_at": T(2026, 1, 8, 9)},  # in time
    {"item_key": "S3", "source_kind": "glpi", "project_id": "G", "snapshot_date": EXPORT, "priority": "low",
     "created_at": T(2026, 1, 6, 9), "sla_due_at": T(2026, 1, 12, 12)},  # open, due Mon 12
    {"item_key": "S4", "source_kind": "glpi", "project_id": "G", "snapshot_date": EXPORT, "status_category": "done",
     "created_at": MON9, "resolved_at": T(2026, 1, 9, 9), "sla_breached": True},  # the tool's flag only
    {"item_key": "S5", "source_kind": "glpi", "project_id": "G", "snapshot_date": EXPORT, "created_at": MON9,
     "sla_breached": True},  # open, flagged breached in the export of Fri 16
    # Jira without targets (project J): configured hours, high only
    {"item_key": "J1", "project_id": "J", "snapshot_date": EXPORT, "status_category": "done",
     "created_at": T(2026, 1, 5, 8), "resolved_at": T(2026, 1, 8, 8)},  # 72 h
    {"item_key": "J2", "project_id": "J", "snapshot_date": EXPORT, "status_category": "done",
     "created_at": T(2026, 1, 5, 8), "resolved_at": T(2026, 1, 6, 8)},  # 24 h
    {"item_key": "J3", "project_id": "J", "snapshot_date": EXPORT, "status_category": "done", "priority": "low",
     "created_at": T(2026, 1, 5, 8), "resolved_at": T(2026, 1, 7, 8)},  # low: no target configured
)  # fmt: skip
SLA_WEEKS = THREE[1:]  # Sun 11 (before the export: rebuilt), Sun 18 (the export in force)


def test_sla_from_the_export():
    flow = ticket_flow(SLA_ITEMS, SLA_WEEKS, sla_hours={"high": 48})
    # Sun 11: resolved S1 (Wed 7 10:00 > due Tue 6 9:00: breach), S2 (Thu 8 < Fri 9: in time), S4 (flag: breach);
    # open S3 (due Mon 12 > Sun 11: not yet); S5's target is only known from its export (Fri 16)
    # → known 3 + 1 = 4, breaches 2
    assert pick(cell(flow, "G", "all", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (2, 4)
    # Sun 18: nothing resolved; open S3 (due Mon 12 ≤ Sun 18: breach), S5 (flag, export in force: breach) → 2 of 2
    assert pick(cell(flow, "G", "all", SLA_WEEKS[1]), "sla_breaches", "sla_known") == (2, 2)
    # by priority at Sun 18: low holds S3 → (1, 1); high holds S5 → (1, 1); 1 + 1 = all's 2
    assert pick(cell(flow, "G", "low", SLA_WEEKS[1]), "sla_breaches", "sla_known") == (1, 1)
    assert pick(cell(flow, "G", "high", SLA_WEEKS[1]), "sla_breaches", "sla_known") == (1, 1)


def test_sla_from_configured_hours_and_unknown_targets():
    flow = ticket_flow(SLA_ITEMS, SLA_WEEKS, sla_hours={"high": 48})
    # J1 72 h > 48 h: breach; J2 24 h ≤ 48: in time; J3 low: no target → known 2, breaches 1
    assert pick(cell(flow, "J", "all", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (1, 2)
    # low alone: no ticket with a known target → NULL breaches, never 0
    assert pick(cell(flow, "J", "low", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (None, 0)
    # without configured hours nothing in J has a target
    bare = ticket_flow(SLA_ITEMS, SLA_WEEKS)
    assert pick(cell(bare, "J", "all", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (None, 0)
    # ... and G, whose targets come from the export, is unchanged: (2, 4)
    assert pick(cell(bare, "G", "all", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (2, 4)


def test_sla_edges_due_on_the_status_date_and_the_tools_own_verdict():
    tickets = wi(
        # open, due Sun 11 at 17:00: past target by the end of Sun 11
        {"item_key": "E1", "snapshot_date": EXPORT, "created_at": MON9, "sla_due_at": T(2026, 1, 11, 17)},
        # open, due Mon 12 at 00:00: not past target at the end of Sun 11 (exactly due), past it at Sun 18
        {"item_key": "E2", "snapshot_date": EXPORT, "created_at": MON9, "sla_due_at": T(2026, 1, 12, 0)},
        # resolved Wed 7 10:00 after its due Tue 6 9:00, but the tool (counting business hours) says in time:
        # the tool's verdict stands
        {"item_key": "E3", "snapshot_date": EXPORT, "status_category": "done", "created_at": MON9,
         "sla_due_at": T(2026, 1, 6, 9), "resolved_at": T(2026, 1, 7, 10), "sla_breached": False},
    )  # fmt: skip
    flow = ticket_flow(tickets, SLA_WEEKS)
    # Sun 11: E1 breach, E2 not yet, E3 in time per the tool → 1 of 3 known
    assert pick(cell(flow, "P", "all", SLA_WEEKS[0]), "sla_breaches", "sla_known") == (1, 3)
    # Sun 18: E1, E2 open past target → 2 of 2
    assert pick(cell(flow, "P", "all", SLA_WEEKS[1]), "sla_breaches", "sla_known") == (2, 2)


def test_breach_items_trace_every_breach():
    items = ticket_flow_items(SLA_ITEMS, SLA_WEEKS, sla_hours={"high": 48})
    # Sun 11: S1, S4 resolved late (lines 2, 5); J1 resolved late (line 7). Sun 18: S3, S5 open past target
    assert items.select("status_date", "item_key", "breach", "_line").rows() == [
        (SLA_WEEKS[0], "J1", "resolved", 7),
        (SLA_WEEKS[0], "S1", "resolved", 2),
        (SLA_WEEKS[0], "S4", "resolved", 5),
        (SLA_WEEKS[1], "S3", "open", 4),
        (SLA_WEEKS[1], "S5", "open", 6),
    ]
    flow = ticket_flow(SLA_ITEMS, SLA_WEEKS, sla_hours={"high": 48})
    per_cell = items.group_by("project_id", "status_date").agg(pl.col("sla_breach").sum().alias("n"))
    mart = flow.filter((pl.col("group_level") == "project") & (pl.col("priority") == "all"))
    joined = mart.join(per_cell, left_on=["group_key", "status_date"], right_on=["project_id", "status_date"])
    assert joined.select("sla_breaches").to_series().to_list() == joined["n"].cast(pl.Int64).to_list()
    assert joined.height == 3  # G Sun 11 (2), G Sun 18 (2), J Sun 11 (1); J Sun 18 has none


# --- undated resolutions, weekends, the "all" row -------------------------------------------------------------------


def test_done_without_a_resolution_date_is_unknown_before_its_export():
    tickets = wi(
        {"item_key": "U", "snapshot_date": E2, "created": D(2026, 1, 2), "status_category": "done"},
        {"item_key": "O", "snapshot_date": E2, "created": D(2026, 1, 2)},
    )
    flow = ticket_flow(tickets, THREE)
    cols = ("backlog", "backlog_unknown", "resolved")
    # Sun 4 and Sun 11 (before the Wed 14 export): O open, U's state unknown → (1, 1, 0)
    # Sun 18: U done as of its export (never counted as resolved: no date), O open → (1, 0, 0)
    assert [pick(cell(flow, "P", "all", s), *cols) for s in THREE] == [(1, 1, 0), (1, 1, 0), (1, 0, 0)]


def test_a_ticket_without_a_status_category_is_open_until_its_resolution_date():
    tickets = wi(
        {"item_key": "N", "snapshot_date": E2, "created": D(2026, 1, 2), "status_category": None},
        {"item_key": "R", "snapshot_date": E2, "created": D(2026, 1, 2), "resolved": D(2026, 1, 7),
         "status_category": None},
    )  # fmt: skip
    flow = ticket_flow(tickets, THREE)
    cols = ("created", "resolved", "backlog", "backlog_0_7", "backlog_8_30", "backlog_unknown")
    # Sun 4: N and R created Fri 2, both open, 2 days old → (2, 0, 2, 2, 0, 0)
    # Sun 11: R resolved Wed 7; N open, 9 days old → (0, 1, 1, 0, 1, 0)
    # Sun 18: N open, 16 days old → (0, 0, 1, 0, 1, 0); never unknown: it is not done
    assert [pick(cell(flow, "P", "all", s), *cols) for s in THREE] == [
        (2, 0, 2, 2, 0, 0),
        (0, 1, 1, 0, 1, 0),
        (0, 0, 1, 0, 1, 0),
    ]


def test_weekend_created_tickets_belong_to_the_week_that_ends_after_them():
    tickets = wi(
        *[{"item_key": f"W{d}", "snapshot_date": D(2026, 1, 16), "created": D(2026, 1, d)} for d in (10, 11, 12)]
    )
    # Sunday week ends: Sat 10 and Sun 11 → week to Sun 11 (2, both aged 0–7); Mon 12 → week to Sun 18
    sunday = ticket_flow(tickets, [D(2026, 1, 11), D(2026, 1, 18)])
    assert pick(cell(sunday, "P", "all", D(2026, 1, 11)), "created", "backlog", "backlog_0_7") == (2, 2, 2)
    assert pick(cell(sunday, "P", "all", D(2026, 1, 18)), "created", "backlog") == (1, 3)
    # Friday week ends: Sat 10, Sun 11 and Mon 12 all fall in the week to Fri 16; nothing exists by Fri 9
    friday = ticket_flow(tickets, [D(2026, 1, 9), D(2026, 1, 16)], week_ends_on="friday")
    assert friday.filter(pl.col("priority") == "all")["status_date"].unique().to_list() == [D(2026, 1, 16)]
    assert pick(cell(friday, "P", "all", D(2026, 1, 16)), "created", "backlog") == (3, 3)


def test_all_priority_row_is_the_sum_of_the_priority_rows():
    tickets = pl.concat([FLOW_ITEMS, SLA_ITEMS, REOPEN_ITEMS])
    flow = ticket_flow(tickets, WEEKS, sla_hours={"high": 48})
    key = ["group_level", "group_key", "status_date"]
    summed = flow.filter(pl.col("priority") != "all").group_by(key).agg(pl.col(COUNTS).fill_null(0).sum()).sort(key)
    whole = flow.filter(pl.col("priority") == "all").select(*key, pl.col(COUNTS).fill_null(0)).sort(key)
    assert whole.equals(summed)
    # and the rows are not empty: project P at Sun 18 holds D (created Tue 13) and K (Mon 12) → created 2
    assert cell(flow, "P", "all", WEEKS[1])["created"] == 2


def test_kinds_filter_and_week_validation():
    only_glpi = ticket_flow(SLA_ITEMS, SLA_WEEKS, kinds=("glpi",))
    assert set(only_glpi["group_key"]) == {"G", "(none)"}  # G by project; "(none)" by assignment group
    with pytest.raises(ValueError, match="week ends"):
        ticket_flow(SLA_ITEMS, [D(2026, 1, 14)])
    assert ticket_flow(SLA_ITEMS.clear(), SLA_WEEKS).columns == list(FLOW_COLUMNS)


# --- real exports ---------------------------------------------------------------------------------------------------


@realdata
def test_servicenow_pdi_incidents():
    path = "servicenow/pdi_demo_incident.csv"
    _, staged = stage_realdata(path)
    with open(REALDATA / path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    opened = [dt.datetime.strptime(r["opened_at"], "%Y-%m-%d %H:%M:%S").date() for r in rows]
    weeks = status_dates(min(opened), max(opened))
    flow = ticket_flow(staged.tables["work_items"], weeks)
    everyone = flow.filter(
        (pl.col("group_level") == "project") & (pl.col("group_key") == "(none)") & (pl.col("priority") == "all")
    )
    # created per week = the opened_at dates of the file falling in that week
    expected = Counter(week_end(d) for d in opened)
    assert dict(zip(everyone["status_date"], everyone["created"], strict=True)) == {
        s: expected.get(s, 0) for s in weeks if s >= week_end(min(opened))
    }
    # The file has no resolution dates: nothing is ever "resolved", and no SLA target is known.
    assert everyone["resolved"].sum() == 0 and everyone["sla_breaches"].null_count() == everyone.height
    last, before = everyone.row(-1, named=True), everyone.row(-2, named=True)
    # The export (its latest opened_at, Wed 24 Feb 2021) holds for the last week: backlog = states not Closed
    # (66 − 27 Closed = 39); the Closed ones have no date, so before the export they are "unknown": the Closed
    # tickets opened by Sun 21 Feb
    assert last["backlog"] == sum(r["state"] != "Closed" for r in rows) == 39
    assert last["backlog_unknown"] == 0
    assert before["backlog_unknown"] == sum(
        r["state"] == "Closed" and o <= before["status_date"] for r, o in zip(rows, opened, strict=True)
    )
    # by assignment group (empty → "(none)"): tickets created over all weeks
    groups = flow.filter((pl.col("group_level") == "assignment_group") & (pl.col("priority") == "all"))
    totals = dict(groups.group_by("group_key").agg(pl.col("created").sum()).iter_rows())
    assert totals == dict(Counter(r["assignment_group"] or "(none)" for r in rows))


@realdata
def test_glpi_ptbr_tickets_with_sla():
    path = "glpi/ptBR_glpi_tickets_with_stats.csv"
    _, staged = stage_realdata(path)
    with open(REALDATA / path, encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))

    def ts(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, "%d/%m/%Y %H:%M")

    tickets = [
        (ts(r["Data de abertura"]), ts(r["Data da solução"]), ts(r["Tempo para solução"]),
         r["Tempo para resolver excedido"] == "Sim")
        for r in rows
    ]  # fmt: skip
    weeks = status_dates(min(t[0] for t in tickets).date(), max(t[1] for t in tickets).date())
    flow = ticket_flow(staged.tables["work_items"], weeks)
    everyone = flow.filter((pl.col("group_level") == "project") & (pl.col("priority") == "all"))
    by_week = {r["status_date"]: r for r in everyone.iter_rows(named=True)}
    created = Counter(week_end(t[0].date()) for t in tickets)
    resolved = Counter(week_end(t[1].date()) for t in tickets)
    for s, r in by_week.items():
        # created / resolved per week: opening / solution dates in the week
        assert (r["created"], r["resolved"]) == (created.get(s, 0), resolved.get(s, 0)), s
        # backlog: opened by S, solved after S
        assert r["backlog"] == sum(o.date() <= s < z.date() for o, z, _, _ in tickets), s
        # breaches: solved in the week with "Tempo para resolver excedido" = Sim, plus open at S past the
        # "Tempo para solução" date; every ticket has a target
        late = sum(week_end(z.date()) == s and flag for _, z, _, flag in tickets)
        overdue = sum(o.date() <= s < z.date() and due.date() <= s for o, z, due, _ in tickets)
        assert (r["sla_breaches"], r["sla_known"]) == (late + overdue, r["resolved"] + r["backlog"]), s
    assert sum(r["created"] for r in by_week.values()) == len(rows) == 148
    assert sum(r["sla_breaches"] for r in by_week.values()) > 0  # the file has 10 "Sim"
    # times to resolve in the busiest week, hours from opening to solution (linear quantiles)
    busiest = max(resolved, key=lambda s: (resolved[s], s))
    hours = sorted((z - o).total_seconds() / 3600 for o, z, _, _ in tickets if week_end(z.date()) == busiest)
    row = by_week[busiest]
    assert row["median_resolve_hours"] == pytest.approx(statistics.median(hours))
    assert row["p90_resolve_hours"] == pytest.approx(statistics.quantiles(hours, n=10, method="inclusive")[-1])


# --- from a status date on (the service desk's incremental week) ---------------------------------------------------


def _from_each_week(tickets: pl.DataFrame, weeks: list[dt.date], **options) -> list[int]:
    """flow_of and items_of from each status date on give the rows computing every status date gives from then on,
    from every snapshot and from only the tickets COUNTING_SQL finds (in DuckDB), and cell_starts each cell's first
    status date in it, from the snapshots and from CELLS_SQL's cells. Returns the tickets left out at each week."""
    if "project_id" not in tickets.columns:  # as staging.work_items has it: resolved where it can be
        tickets = tickets.with_columns(project_id=pl.lit(None, pl.String))
    bounds, grid = snapshots(tickets, weeks, **options)
    flow, items = flow_of(bounds, grid), items_of(bounds, grid)
    first = flow.group_by(*KEY).agg(pl.col("status_date").min())
    starts = cell_starts(duckdb.sql(CELLS_SQL.format(source="tickets")).pl(), grid)
    assert cell_starts(bounds, grid).sort(KEY).rows() == first.sort(KEY).rows() == starts.sort(KEY).rows()
    left_out = []
    for since in weeks:
        assert flow_of(bounds, grid, since).rows() == flow.filter(pl.col("status_date") >= since).rows(), since
        assert items_of(bounds, grid, since).rows() == items.filter(pl.col("status_date") >= since).rows(), since
        counting = duckdb.sql(COUNTING_SQL.format(source="tickets"), params={"since": since}).pl()
        some, _ = snapshots(tickets.join(counting, on="item_key", how="semi"), weeks, **options)
        assert flow_of(some, grid, since, starts).rows() == flow.filter(pl.col("status_date") >= since).rows(), since
        assert items_of(some, grid, since).rows() == items.filter(pl.col("status_date") >= since).rows(), since
        left_out.append(tickets["item_key"].n_unique() - counting.height)
    return left_out


def test_the_rows_from_a_status_date_on_are_those_of_computing_every_week():
    # reopens, breaches (resolved late and open past target) and cells starting in different weeks; the flow has
    # them all, so a snapshot the filter wrongly left out would change a row
    later = wi(
        {"item_key": "L1", "project_id": "L", "snapshot_date": E3, "created": D(2026, 1, 13)},  # a cell from Sun 18
        # created in the week to Sun 18 and done in its export without a date: created then, in no backlog
        {"item_key": "U1", "project_id": "L", "snapshot_date": E2, "created": D(2026, 1, 12),
         "status_category": "done"},
        # resolved Tue 6 and, with no status category, still resolved when its reopen count grows: a reopen at Sun 18
        {"item_key": "R1", "project_id": "N", "snapshot_date": E1, "created": D(2026, 1, 5),
         "resolved": D(2026, 1, 6), "status_category": None, "reopen_count": 0},
        {"item_key": "R1", "project_id": "N", "snapshot_date": E2, "created": D(2026, 1, 5),
         "resolved": D(2026, 1, 6), "status_category": None, "reopen_count": 1},
        # The tickets below count at Sun 18 by one fact each, which COUNTING_SQL must find (each failed the test
        # with its clause removed).
        # resolved Tue 6, then no status category (the date still carried): a reopen at Sun 18 (export Wed 14)
        {"item_key": "R2", "project_id": "N", "snapshot_date": E1, "created": D(2026, 1, 5),
         "resolved": D(2026, 1, 6), "status_category": "done"},
        {"item_key": "R2", "project_id": "N", "snapshot_date": E2, "created": D(2026, 1, 5),
         "resolved": D(2026, 1, 6), "status_category": None},
        # done without a date, first exported Wed 21: in backlog_unknown from Sun 11 to Sun 18
        {"item_key": "U2", "project_id": "N", "snapshot_date": E3, "created": D(2026, 1, 5),
         "status_category": "done"},
        # created Tue 13, after its export (Wed 7) and resolution (Tue 6), as exported: created in the week to Sun 18
        {"item_key": "C2", "project_id": "N", "snapshot_date": E1, "created": D(2026, 1, 13),
         "resolved": D(2026, 1, 6), "status_category": "done"},
    )  # fmt: skip
    tickets = pl.concat([REOPEN_ITEMS, SLA_ITEMS, later], how="diagonal_relaxed")
    flow = ticket_flow(tickets, THREE, sla_hours={"high": 48})
    assert flow["reopened"].sum() > 0 and flow["sla_breaches"].sum() > 0 and flow["resolved"].sum() > 0
    assert flow.group_by(*KEY).agg(pl.col("status_date").min())["status_date"].n_unique() > 1
    # the tickets done before the last week are left out of it
    assert _from_each_week(tickets, THREE, sla_hours={"high": 48})[-1] > 0


@realdata
def test_glpi_rows_from_each_status_date_on_are_those_of_computing_every_week():
    path = "glpi/ptBR_glpi_tickets_with_stats.csv"
    _, staged = stage_realdata(path)
    tickets = staged.tables["work_items"]
    # to three weeks past the last resolution: no ticket counts then, and every cell has a row of zeros
    last = tickets["resolved"].max() + dt.timedelta(days=21)
    left_out = _from_each_week(tickets, status_dates(tickets["created"].min(), last))
    assert left_out[-5] > 100 and left_out[-1] == tickets["item_key"].n_unique() == 148
