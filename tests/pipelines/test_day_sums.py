"""The sums per day of the costed worklogs kept from run to run (pipelines/marts.py `_write_day_sums`):
audit.person_day_hours, each person's hours on projects per day, which the absurd-hours flag compares with its limit,
and audit.labour_day_costs, the labour cost in AC per project and day, which earned value's AC reads. Only the days of
the worklogs staging changed are summed again, and every day when the costs were written from other inputs. Whichever
way, each holds what summing every costed worklog gives."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.home import Settings
from pipelines.ingest import ingest
from pipelines.marts import write_labour_days, write_person_days, write_worklog_costs
from tests.bad_input import corpus
from tests.conftest import write_inbox

# the oracles: every costed worklog on a project summed per person and day, and every cost in AC per project and day
EVERY_DAY = ("SELECT person_id, work_date, sum(hours) FROM marts.worklog_costs WHERE project_id IS NOT NULL"
             " AND person_id IS NOT NULL AND work_date IS NOT NULL GROUP BY ALL ORDER BY ALL")  # fmt: skip
EVERY_LABOUR_DAY = ("SELECT project_id, work_date, sum(cost) FROM marts.worklog_costs WHERE in_ac"
                    " AND project_id IS NOT NULL AND work_date IS NOT NULL GROUP BY ALL ORDER BY ALL")  # fmt: skip


def _run(conn: duckdb.DuckDBPyConnection, costs: bool = True) -> list[dt.date] | None:
    """What a run does: the costs brought up to date (unless not `costs`: a mart materialised alone), then the sums
    per day: the same days of both. The labour costs are checked against their oracle here, each time."""
    with warehouse.transaction(conn):
        if costs:
            write_worklog_costs(conn, Settings())
        days = write_person_days(conn)
        assert write_labour_days(conn) == days
    labour = conn.sql("SELECT project_id, work_date, cost FROM audit.labour_day_costs ORDER BY ALL").fetchall()
    assert len(labour) > 50 and labour == conn.sql(EVERY_LABOUR_DAY).fetchall()
    return days


def _held(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.sql("SELECT person_id, work_date, hours FROM audit.person_day_hours ORDER BY ALL").fetchall()


def _hours(conn: duckdb.DuckDBPyConnection, person: str, day: dt.date) -> float | None:
    rows = conn.sql("SELECT hours FROM audit.person_day_hours WHERE person_id = ? AND work_date = ?",
                    params=[person, day]).fetchall()  # fmt: skip
    return float(rows[0][0]) if rows else None


def _on(row: pl.DataFrame, day: dt.date, hours: str) -> bytes:
    """A Tempo export of `row` (one worklog) dated `day`, of `hours`."""
    return corpus.to_csv(row.with_columns(pl.lit(f"{day} 00:00").alias("Work date"), pl.lit(hours).alias("Hours")))


def test_the_days_of_changed_worklogs_are_summed_again_and_every_day_when_the_costs_inputs_change(tmp_path: Path):
    files = corpus.demo()
    first = corpus.tempo_frame().head(1)
    day = dt.date.fromisoformat(first.get_column("Work date")[0][:10])
    extra = first.with_columns(pl.lit("990001").alias("Worklog Id"))  # a worklog beside it: same person and day
    write_inbox(tmp_path / "inbox", files)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _run(conn) is None  # the first time: every day summed
        held = _held(conn)
        assert len(held) > 100 and held == conn.sql(EVERY_DAY).fetchall()

        # Week two exports 20 h on that person's day: only that day is summed again, and now it is over the limit.
        # (The newer export of the day replaces the person's worklogs it covers: the day holds its 20 h.)
        files |= {"z_week2/tempo_extra.csv": _on(extra, day, "20.00")}
        write_inbox(tmp_path / "inbox", files)
        ingest(conn, tmp_path / "inbox")
        assert _run(conn) == [day]
        assert _held(conn) == conn.sql(EVERY_DAY).fetchall()
        person = conn.sql("SELECT person_id FROM marts.worklog_costs WHERE worklog_id = '990001'").fetchall()[0][0]
        assert _hours(conn, person, day) == 20 > 16
        assert _run(conn) == []  # nothing new: no day summed
        assert _held(conn) == conn.sql(EVERY_DAY).fetchall()

        # Week three re-exports that worklog three days later with 2 h: staging deletes the row it replaces, so
        # both days are summed again: the first holds no hours of the person any more, the later one 2 h. First
        # without the costs brought up to date (the flags materialised alone): every day is summed from the costs
        # as they are, and the days are still summed again once the costs catch up.
        later = day + dt.timedelta(days=3)
        files |= {"z_week3/tempo_extra_moved.csv": _on(extra, later, "2.00")}
        write_inbox(tmp_path / "inbox", files)
        ingest(conn, tmp_path / "inbox")
        assert _run(conn, costs=False) is None
        assert _held(conn) == conn.sql(EVERY_DAY).fetchall()
        assert _hours(conn, person, day) == 20  # the costs do not have the change yet
        assert _run(conn) == [day, later]
        assert _held(conn) == conn.sql(EVERY_DAY).fetchall()
        assert (_hours(conn, person, day), _hours(conn, person, later)) == (None, 2)
        assert conn.sql("SELECT count(*) FROM audit.staging_changes").fetchall() == [(0,)]  # all consumed

        # A rate changes: the costs are written whole, from other inputs, and every day is summed again. A state
        # changed behind the pipeline's back shows which: only summing every day sets it right.
        conn.sql("UPDATE audit.person_day_hours SET hours = hours + 1")
        with warehouse.transaction(conn):
            assert write_person_days(conn) == []  # the costs' inputs are the same: the state is trusted as it is
        assert _held(conn) != conn.sql(EVERY_DAY).fetchall()
        conn.sql("UPDATE staging.rates SET hourly_rate = hourly_rate + 1")
        assert _run(conn) is None  # and the labour costs, summed again at the new rate, are what the costs now sum to
        assert _held(conn) == conn.sql(EVERY_DAY).fetchall()
