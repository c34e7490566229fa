"""The timesheet, utilisation, service desk, risk and flag marts, which have rows per status date, are computed again
only from the first week whose worklogs, tickets or figures changed (or that is new) on, and give what computing every
week gives (pipelines/marts.py)."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipelines import marts, warehouse
from pipelines.home import Settings
from pipelines.ingest import ingest
from pipelines.marts import (
    DESK,
    TIMESHEETS,
    UTILISATION,
    write_evm_flags,
    write_risk_exposure,
    write_service_desk,
    write_timesheets,
    write_utilisation,
)
from pipelines.resources import PmoHome
from tests.bad_input import corpus
from tests.conftest import write_inbox

WEEK_MARTS = [*TIMESHEETS, *UTILISATION]
# The demo's worklogs run from Monday 2026-01-05 to Friday 2026-03-13: its weeks end on the Sundays after.
WEEK_ONE = [dt.date(2026, 1, 11) + dt.timedelta(weeks=n) for n in range(10)]  # up to 2026-03-15
WEEK_TWO = [*WEEK_ONE, dt.date(2026, 3, 22)]


def _tempo(rows: pl.DataFrame, ids: list[str], days: int, project: str) -> bytes:
    """Demo Tempo rows with Tempo's worklog ids, moved `days` later and onto project `project`."""
    day = pl.col("Work date").str.slice(0, 10).str.to_date("%Y-%m-%d") + pl.duration(days=days)
    return corpus.to_csv(
        rows.with_columns(
            (day.dt.to_string("%Y-%m-%d") + pl.lit(" 00:00")).alias("Work date"),
            pl.lit(project).alias("Project Key"),
            pl.lit(project).alias("Account Key"),
        ).insert_column(0, pl.Series("Worklog Id", ids))
    )


LAB = corpus.tempo_frame().head(9)  # 2026-01-05 to 2026-01-09: moved 7 weeks later, into the week of 2026-03-01
LAB_IDS = [f"90{n:02d}" for n in range(9)]
MOVED = 8  # the last one, on Friday 2026-02-27 once moved: week two re-exports it two weeks later
WEEK_TWO_FILES = {
    # Tempo's export of LAB after the worklog was edited: the same id, dated 2026-03-13 (the week of 2026-03-15)
    "z_week2/tempo_lab_edited.csv": _tempo(LAB[MOVED], [LAB_IDS[MOVED]], 49 + 14, "LAB"),
    # the next week's worklogs, on another project
    "z_week2/tempo_next_week.csv": _tempo(LAB.head(5), [f"91{n:02d}" for n in range(5)], 70, "NXT"),
}


def _write(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date]) -> tuple[int, int]:
    """Both marts for the status dates `weeks` (marts.evm_weekly's, which they read); the weeks each computed."""
    conn.sql("CREATE OR REPLACE TABLE marts.evm_weekly AS SELECT unnest(CAST(? AS DATE[])) AS status_date",
             params=[weeks])  # fmt: skip
    with warehouse.transaction(conn):
        return write_timesheets(conn, Settings())[1], write_utilisation(conn, Settings())[1]


def _marts(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Every row of the marts, led by its status date, in their physical order (a whole write's: by status date)."""
    return {name: conn.sql(f"SELECT status_date, * FROM {name}").fetchall() for name in WEEK_MARTS}


def _until(tables: dict[str, list], day: dt.date) -> dict[str, list]:
    return {name: [r for r in rows if r[0] <= day] for name, rows in tables.items()}


# the hours of the edited worklog's person in the week it left
LEFT = ("SELECT logged_hours FROM marts.resource_utilisation WHERE status_date = DATE '2026-03-01' AND person_id ="
        f" (SELECT person_id FROM staging.worklogs WHERE worklog_id = '{LAB_IDS[MOVED]}')")  # fmt: skip


def test_a_week_of_worklogs_recomputes_the_weeks_from_the_earliest_changed_one_and_gives_what_computing_all_gives(
    tmp_path: Path,
):
    week_one = corpus.demo() | {"tempo/tempo_lab.csv": _tempo(LAB, LAB_IDS, 49, "LAB")}
    write_inbox(tmp_path / "at_once", week_one | WEEK_TWO_FILES)
    with warehouse.connect(tmp_path / "at_once.duckdb") as conn:
        ingest(conn, tmp_path / "at_once")
        assert _write(conn, WEEK_TWO) == (len(WEEK_TWO), len(WEEK_TWO))  # the first time, every week
        expected = _marts(conn)
    write_inbox(tmp_path / "inbox", week_one)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _write(conn, WEEK_ONE) == (len(WEEK_ONE), len(WEEK_ONE))
        before, left = _marts(conn), conn.sql(LEFT).fetchall()[0][0]
        write_inbox(tmp_path / "inbox", WEEK_TWO_FILES)
        summary = ingest(conn, tmp_path / "inbox")
        assert summary.appended == {"worklogs": 6}  # appended in place: the change log has their dates
        # The edited worklog left Friday 2026-02-27 (week of 2026-03-01) for 2026-03-13: its old date is the earliest
        # change, so the weeks of 2026-03-01, 03-08 and 03-15 are computed again, and 03-22 is new: 4 of 11.
        assert _write(conn, WEEK_TWO) == (4, 4)
        assert _marts(conn) == expected  # the same rows, in the same order, as computing every week
        assert _until(_marts(conn), dt.date(2026, 2, 22)) == _until(before, dt.date(2026, 2, 22))
        assert conn.sql(LEFT).fetchall()[0][0] == left - Decimal(LAB["Hours"][MOVED])  # its hours left that week

        assert _write(conn, WEEK_TWO) == (0, 0)  # nothing changed since: no week computed
        assert _marts(conn) == expected
        shorter = WEEK_TWO[:-3]  # a run for an earlier week: the weeks after it go, none is computed
        assert _write(conn, shorter) == (0, 0)
        assert _marts(conn) == _until(expected, shorter[-1])
        conn.sql("UPDATE staging.people SET team = 'Moved' WHERE person_id = (SELECT min(person_id) FROM "
                 "staging.people)")  # fmt: skip
        assert _write(conn, WEEK_TWO) == (len(WEEK_TWO), len(WEEK_TWO))  # a team changes every week's rows
        assert _marts(conn) != expected


# --- the service desk, from the tickets' snapshots ---------------------------------------------------------------


def _desk(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date]) -> tuple[int, dict[str, list]]:
    """The service desk marts for the status dates `weeks`: the weeks computed, and every row (physical order)."""
    conn.sql("CREATE OR REPLACE TABLE marts.evm_weekly AS SELECT unnest(CAST(? AS DATE[])) AS status_date",
             params=[weeks])  # fmt: skip
    with warehouse.transaction(conn):
        computed = write_service_desk(conn, Settings())[1]
    return computed, {name: conn.sql(f"SELECT * FROM {name}").fetchall() for name in DESK}


def _desk_whole(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date]) -> dict[str, list]:
    """The service desk marts computed at every week from the same staging (its mark gone, it is written whole)."""
    conn.sql("DELETE FROM audit.mart_marks WHERE mart = 'marts.ticket_flow'")
    computed, rows = _desk(conn, weeks)
    assert computed == len(weeks)
    return rows


def _jira(day: str, *tickets: tuple[str, str, str]) -> dict[str, bytes]:
    """A Jira export of `day` in the demo's layout, one row per (key, priority, created) on the demo's first ticket's
    values (ERP, in progress, updated on `day`: its snapshot date), each with an issue id of its own."""
    header, first = corpus.demo()["jira/jira_export_2026-03-15.csv"].decode("utf-8-sig").splitlines()[:2]
    template = first.split(",")
    updated = dt.date.fromisoformat(day).strftime("%d/%b/%y 5:30 PM")
    template[5], template[11], template[12], template[24] = "In Progress", updated, "", "In Progress"
    rows = [",".join([template[0], key, str(97000 + n), *template[3:7], priority, *template[8:10], created,
                      *template[11:]]) for n, (key, priority, created) in enumerate(tickets)]  # fmt: skip
    return {f"z_{day}/jira_export_{day}.csv": ("\r\n".join([header, *rows]) + "\r\n").encode()}


def test_the_service_desk_recomputes_the_weeks_from_the_earliest_its_tickets_changed_and_gives_what_all_give(
    tmp_path: Path,
):
    # Demo tickets to 2026-03-15 (10 weeks: 01-11 .. 03-15), then four exports, each patched into staging.work_items
    # and each giving, from the weeks computed again, the rows computing every week gives.
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _desk(conn, WEEK_ONE)[0] == len(WEEK_ONE)  # the first time, every week
        assert _desk(conn, WEEK_ONE)[0] == 0  # nothing changed: none
        steps = [
            # ERP-3 exported again (it holds from 03-19 on: its snapshot date, the day it was updated) and NEW-1,
            # created 03-18: the week of 03-22, new, alone
            (
                _jira("2026-03-19", ("ERP-3", "Medium", "13/Feb/26 9:30 AM"), ("NEW-1", "Medium", "18/Mar/26 9:00 AM")),
                1,
            ),
            # OLD-1 first exported now, created 2026-02-20: before its first export its dates hold, so it was open
            # from the week of 02-22 on: 5 weeks computed again (02-22 .. 03-22). Its cell (ERP, Medium) started
            # earlier (ERP-1, created 02-13), so only the ticket's own dates say so.
            (_jira("2026-03-20", ("OLD-1", "Medium", "20/Feb/26 9:00 AM")), 5),
            # ERP-3 now "Highest": from 03-21 on, but its new cell (ERP, Highest) starts at its creation's week,
            # 02-15: 6 weeks (02-15 .. 03-22)
            (_jira("2026-03-21", ("ERP-3", "Highest", "13/Feb/26 9:30 AM")), 6),
            # ERP-2 now of a priority the reader does not know, exported after the last week (03-24): no week holds
            # the change, but its new cell (ERP, "(none)") starts at its creation's week, 02-15: 6 weeks
            (_jira("2026-03-24", ("ERP-2", "Unset", "13/Feb/26 9:40 AM")), 6),
            # exported after the last week, into a cell that started before: the last week alone
            (_jira("2026-03-25", ("ERP-2", "Medium", "13/Feb/26 9:40 AM")), 1),
        ]
        for files, weeks in steps:
            write_inbox(tmp_path / "inbox", files)
            tickets = len(next(iter(files.values())).splitlines()) - 1
            assert ingest(conn, tmp_path / "inbox").appended == {"worklogs": 0, "work_items": tickets}  # not whole
            computed, rows = _desk(conn, WEEK_TWO)
            assert computed == weeks
            assert rows == _desk_whole(conn, WEEK_TWO)
        # a run for an earlier week: the weeks after it go, none is computed
        computed, rows = _desk(conn, WEEK_ONE)
        assert computed == 0 and rows == _desk_whole(conn, WEEK_ONE)
        assert conn.sql("SELECT max(status_date) FROM marts.ticket_flow").fetchall()[0][0] == WEEK_ONE[-1]
        # a setting the flow reads changes every week
        with warehouse.transaction(conn):
            settings = Settings.model_validate({"service_desk": {"sla_hours": {"medium": 8}}})
            assert write_service_desk(conn, settings)[1] == len(WEEK_ONE)


# --- risk exposure, from the grid and the tickets' snapshots -----------------------------------------------------


def _risks(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date], later_from: dt.date | None = None,
           settings: Settings | None = None) -> tuple[int, list]:  # fmt: skip
    """marts.risk_exposure for the demo projects at the status dates `weeks` (marts.evm_weekly's grid, whose forecast
    finish moves from 2026-12-31 to 2029-12-31 at the week `later_from`): the weeks computed, and every row (physical
    order)."""
    conn.sql("CREATE OR REPLACE TABLE marts.evm_weekly AS SELECT project_id, status_date, CASE WHEN status_date >= ?"
             " THEN DATE '2029-12-31' ELSE DATE '2026-12-31' END AS forecast_finish"
             " FROM staging.projects, unnest(CAST(? AS DATE[])) AS w(status_date)",
             params=[later_from or dt.date.max, weeks])  # fmt: skip
    with warehouse.transaction(conn):
        computed = write_risk_exposure(conn, settings or Settings())[1]
    return computed, conn.sql("SELECT * FROM marts.risk_exposure").fetchall()


def _risks_whole(conn: duckdb.DuckDBPyConnection, weeks: list[dt.date], later_from: dt.date | None = None,
                 settings: Settings | None = None) -> list:  # fmt: skip
    """marts.risk_exposure computed at every week from the same inputs (its mark gone, it is written whole)."""
    conn.sql("DELETE FROM audit.mart_marks WHERE mart = 'marts.risk_exposure'")
    computed, rows = _risks(conn, weeks, later_from, settings)
    assert computed == len(weeks)
    return rows


def test_risk_exposure_recomputes_the_weeks_from_the_first_its_grid_or_tickets_changed_and_gives_what_all_give(
    tmp_path: Path,
):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _risks(conn, WEEK_ONE)[0] == len(WEEK_ONE)  # the first time, every week
        assert _risks(conn, WEEK_ONE)[0] == 0  # nothing changed: none
        # a week added: that week alone, and the rows computing every week gives (in status date order)
        computed, rows = _risks(conn, WEEK_TWO)
        assert computed == 1 and rows == _risks_whole(conn, WEEK_TWO)
        assert rows == sorted(rows, key=lambda r: (r[0], r[1], r[2]))
        # RSK-1, high, due 2026-03-06 and open, created 03-18 and first exported 03-19: a ticket risk from the week
        # of 03-22 on, and that week alone computed again
        files = _jira("2026-03-19", ("RSK-1", "High", "18/Mar/26 9:00 AM"))
        write_inbox(tmp_path / "inbox", files)
        assert ingest(conn, tmp_path / "inbox").appended == {"worklogs": 0, "work_items": 1}
        computed, rows = _risks(conn, WEEK_TWO)
        assert computed == 1 and rows == _risks_whole(conn, WEEK_TWO)
        assert [r[:2] for r in rows if r[2] == "OPS-TICKET-RSK-1"] == [(WEEK_TWO[-1], "PRJ-001")]
        # the forecast finish moves out to 2029 from the week of 03-01: the assets' warranties (2029) fall before it
        # from then on, so those weeks (03-01 .. 03-22) are computed again and gain asset risks
        before = {r[:3] for r in rows}
        computed, rows = _risks(conn, WEEK_TWO, later_from=dt.date(2026, 3, 1))
        assert computed == 4 and rows == _risks_whole(conn, WEEK_TWO, later_from=dt.date(2026, 3, 1))
        gained = {r[:3] for r in rows} - before
        assert gained and {r[0] for r in gained} == {dt.date(2026, 3, d) for d in (1, 8, 15, 22)}
        assert all(r[2].startswith(("OPS-ASSET-", "OPS-LICENCE-")) for r in gained)
        # a run for an earlier week: the weeks after it go, none is computed
        computed, rows = _risks(conn, WEEK_ONE, later_from=dt.date(2026, 3, 1))
        assert computed == 0 and rows == _risks_whole(conn, WEEK_ONE, later_from=dt.date(2026, 3, 1))
        assert conn.sql("SELECT max(status_date) FROM marts.risk_exposure").fetchall()[0][0] == WEEK_ONE[-1]
        # a setting the risks read, or the register, changes every week
        settings = Settings.model_validate({"risk": {"blocked_days": 3}})
        assert _risks(conn, WEEK_ONE, dt.date(2026, 3, 1), settings)[0] == len(WEEK_ONE)
        conn.sql("UPDATE staging.risks SET probability = 0.9 WHERE risk_id = (SELECT min(risk_id) FROM staging.risks)")
        assert _risks(conn, WEEK_ONE, dt.date(2026, 3, 1), settings)[0] == len(WEEK_ONE)


# --- the flags, from the figures, the worklogs and the tickets ---------------------------------------------------


def _net_jira(day: str, *tickets: tuple[str, str, str]) -> dict[str, bytes]:
    """A Jira export of `day`, one row per (key, created, due date) on the values of NET-1 (PRJ-003, in progress)."""
    lines = corpus.demo()["jira/jira_export_2026-03-15.csv"].decode("utf-8-sig").splitlines()
    template = next(line for line in lines if ",NET-1," in line).split(",")
    updated = dt.date.fromisoformat(day).strftime("%d/%b/%y 5:30 PM")
    rows = []
    for n, (key, created, due) in enumerate(tickets):
        row = list(template)
        row[1], row[2], row[10], row[11], row[14] = key, str(98000 + n), created, updated, due
        rows.append(",".join(row))
    return {f"z_{day}/jira_export_{day}.csv": ("\r\n".join([lines[0], *rows]) + "\r\n").encode()}


def _worklogs(name: str, *rows: tuple[str, str, str, str]) -> dict[str, bytes]:
    """A Tempo export of Ben Huber's worklogs (id, ticket key, day, hours), each on its ticket's project."""
    first = corpus.tempo_frame().filter(pl.col("Issue Key") == "CRM-1").head(1)
    frames = []
    for worklog_id, key, day, hours in rows:
        values = {"Issue Key": key, "Project Key": key.split("-")[0], "Account Key": key.split("-")[0],
                  "Work date": f"{day} 00:00", "Hours": hours, "Billed Hours": hours}  # fmt: skip
        row = first.with_columns(pl.lit(value).alias(column) for column, value in values.items())
        frames.append(row.insert_column(0, pl.Series("Worklog Id", [worklog_id])))
    return {f"z_{name}/tempo_{name}.csv": corpus.to_csv(pl.concat(frames))}


def _flags(home: Path, week: str) -> tuple[int, list]:
    """Ingest the inbox, then earned value and the flags materialized for the week: the weeks the flags computed, and
    their rows (physical order)."""
    with warehouse.connect(home / "warehouse.duckdb") as conn:
        ingest(conn, home.parent / "inbox")
    steps = [marts.actual_cost, marts.earned_value, marts.evm_flags_mart]
    result = dg.materialize(steps, resources={"pmo": PmoHome(home=str(home))}, partition_key=week)
    computed = result.asset_materializations_for_node("marts__evm_flags")[0].metadata["weeks computed this run"].value
    with warehouse.connect(home / "warehouse.duckdb") as conn:
        return computed, conn.sql("SELECT * FROM marts.evm_flags").fetchall()


def _flags_whole(home: Path) -> list:
    """marts.evm_flags computed at every week from the same inputs (its mark gone, it is written whole)."""
    with warehouse.connect(home / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        conn.sql("DELETE FROM audit.mart_marks WHERE mart = 'marts.evm_flags'")
        weeks = conn.sql("SELECT count(DISTINCT status_date) FROM marts.evm_weekly").fetchall()[0][0]
        assert write_evm_flags(conn, Settings()) == weeks
    with warehouse.connect(home / "warehouse.duckdb") as conn:
        return conn.sql("SELECT * FROM marts.evm_flags").fetchall()


def test_the_flags_recompute_the_weeks_from_the_first_their_figures_worklogs_or_tickets_changed_and_give_what_all_give(
    tmp_path: Path,
):
    files = corpus.demo()  # PRJ-003 (NET) without its baseline rows: frozen from its tickets, which can go unbudgeted
    files["pmo/baseline.csv"] = b"".join(line for line in files["pmo/baseline.csv"].splitlines(keepends=True)
                                         if not line.startswith(b"PRJ-003,"))  # fmt: skip
    write_inbox(tmp_path / "inbox", files)
    home = tmp_path / "home"
    home.mkdir()
    assert _flags(home, "2026-03-15") == (len(WEEK_ONE), [])  # the first time, every week; the demo has no finding
    assert _flags(home, "2026-03-15") == (0, [])  # nothing changed: none
    # Ben Huber logs 18 h on CRM-1 on 2026-02-04 (PRJ-002, week of 02-08: over the 16 h limit) and 2 h on ERP-1 on
    # 01-20 (PRJ-001, before its baseline start 02-16: on its first status date, 02-22), and 2 h on NET-1 on 02-20
    # (PRJ-003, before its baseline start 03-02: on its first status date, 03-08). NET-98, exported 03-19 with
    # no due date, is in no version of PRJ-003 (scope change) and its derived baseline cannot date it.
    write_inbox(tmp_path / "inbox", _worklogs("w2", ("9501", "CRM-1", "2026-02-04", "18.00"),
                                              ("9502", "ERP-1", "2026-01-20", "2.00"),
                                              ("9505", "NET-1", "2026-02-20", "2.00"))
                | _net_jira("2026-03-19", ("NET-98", "18/Mar/26 9:00 AM", "")))  # fmt: skip
    computed, rows = _flags(home, "2026-03-22")
    assert computed == 9 and rows == _flags_whole(home)  # from the week of 01-20 (01-25) to 03-22
    assert rows == sorted(rows, key=lambda r: (r[1], r[0], r[2]))  # status date order
    assert [r[:3] for r in rows] == [
        ("PRJ-002", dt.date(2026, 2, 8), "absurd_hours"),
        ("PRJ-001", dt.date(2026, 2, 22), "worklog_before_baseline_start"),
        ("PRJ-003", dt.date(2026, 3, 8), "worklog_before_baseline_start"),
        ("PRJ-003", dt.date(2026, 3, 22), "items_not_budgeted"),
        ("PRJ-003", dt.date(2026, 3, 22), "unbaselined_work"),
    ]
    # NET-97, created 03-09 and exported 03-10 with a due date: a scope change in the week of 03-15, its ticket's
    # change alone; that week and the last are computed again
    write_inbox(tmp_path / "inbox", _net_jira("2026-03-10", ("NET-97", "09/Mar/26 9:00 AM", "20/Mar/26 12:00 AM")))
    computed, rows = _flags(home, "2026-03-22")
    assert computed == 2 and rows == _flags_whole(home)
    assert ("PRJ-003", dt.date(2026, 3, 15), "unbaselined_work", "NET-97") in {(*r[:3], r[6]) for r in rows}
    # 20 h on 03-18: the last week alone, reading only the worklogs of that week (no project starts then or later)
    write_inbox(tmp_path / "inbox", _worklogs("w3", ("9503", "CRM-1", "2026-03-18", "20.00")))
    computed, rows = _flags(home, "2026-03-22")
    assert computed == 1 and rows == _flags_whole(home)
    assert ("PRJ-002", dt.date(2026, 3, 22), "absurd_hours") in {r[:3] for r in rows}
    # 2 h on 03-04: from the week of 03-08 on, PRJ-003's first, where its worklog of 02-20 is placed: read too
    write_inbox(tmp_path / "inbox", _worklogs("w4", ("9504", "CRM-1", "2026-03-04", "2.00")))
    computed, rows = _flags(home, "2026-03-22")
    assert computed == 3 and rows == _flags_whole(home)
    assert ("PRJ-003", dt.date(2026, 3, 8), "worklog_before_baseline_start") in {r[:3] for r in rows}
    # a week added: the items not budgeted move to it, from the week before
    computed, rows = _flags(home, "2026-03-29")
    assert computed == 1 and rows == _flags_whole(home)
    assert [r[1] for r in rows if r[2] == "items_not_budgeted"] == [dt.date(2026, 3, 29)]
    # the last week gone (as for a run that cuts it): the week before computed again, and it has them again
    with warehouse.connect(home / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        conn.sql("DELETE FROM marts.evm_weekly WHERE status_date = DATE '2026-03-29'")
        assert write_evm_flags(conn, Settings()) == 1
        rows = conn.sql("SELECT * FROM marts.evm_flags").fetchall()
    assert rows == _flags_whole(home)
    assert [r[1] for r in rows if r[2] == "items_not_budgeted"] == [dt.date(2026, 3, 22)]
    # a week's figures changed (PRJ-002's EV over its BAC at 03-01): from that week on
    with warehouse.connect(home / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        conn.sql("UPDATE marts.evm_weekly SET ev = bac + 100 WHERE project_id = 'PRJ-002'"
                 " AND status_date = DATE '2026-03-01'")  # fmt: skip
        assert write_evm_flags(conn, Settings()) == 4  # 03-01 to 03-22
        rows = conn.sql("SELECT * FROM marts.evm_flags").fetchall()
    assert rows == _flags_whole(home)
    assert ("PRJ-002", dt.date(2026, 3, 1), "ev_over_bac") in {r[:3] for r in rows}
    # PRJ-001's baseline start moves before 01-20 in a later week: its worklog of 01-20 (at 02-22) is no longer early
    with warehouse.connect(home / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        conn.sql("UPDATE marts.evm_weekly SET baseline_start = DATE '2026-01-10' WHERE project_id = 'PRJ-001'"
                 " AND status_date = DATE '2026-03-15'")  # fmt: skip
        assert write_evm_flags(conn, Settings()) == len(WEEK_TWO)  # every week
        rows = conn.sql("SELECT * FROM marts.evm_flags").fetchall()
    assert rows == _flags_whole(home)
    assert ("PRJ-001", dt.date(2026, 2, 22), "worklog_before_baseline_start") not in {r[:3] for r in rows}
    # a setting the flags read changes every week
    with warehouse.connect(home / "warehouse.duckdb") as conn, warehouse.transaction(conn):
        assert write_evm_flags(conn, Settings.model_validate({"evm": {"absurd_hours_per_day": 19}})) == len(WEEK_TWO)
        assert ("PRJ-002", dt.date(2026, 2, 8), "absurd_hours") not in {r[:3] for r in conn.sql(
            "SELECT project_id, status_date, finding FROM marts.evm_flags").fetchall()}  # fmt: skip
