"""The timesheet and utilisation marts, which have rows per status date, are computed again only from the first week
whose worklogs changed (or that is new) on, and give what computing every week gives (pipelines/marts.py)."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.home import Settings
from pipelines.ingest import ingest
from pipelines.marts import TIMESHEETS, UTILISATION, write_timesheets, write_utilisation
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
