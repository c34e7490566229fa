"""audit.item_first_work, each item's first work date, which earned value reads: a week's new worklogs are folded
into it, and it is computed again from every worklog when staging deleted one (pipelines/marts.py
write_first_work). Whichever way, it holds what the minimum over every worklog gives."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.ingest import ingest
from pipelines.marts import write_first_work
from tests.bad_input import corpus
from tests.conftest import write_inbox

EVERY_WORKLOG = ("SELECT item_key, min(work_date) FROM staging.worklogs WHERE item_key IS NOT NULL"
                 " GROUP BY ALL ORDER BY ALL")  # fmt: skip


def _write(conn: duckdb.DuckDBPyConnection) -> int | None:
    with warehouse.transaction(conn):
        return write_first_work(conn)


def _held(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.sql("SELECT item_key, work_date FROM audit.item_first_work ORDER BY ALL").fetchall()


def _first(conn: duckdb.DuckDBPyConnection, item: str) -> dt.date:
    return conn.sql("SELECT work_date FROM audit.item_first_work WHERE item_key = ?", params=[item]).fetchall()[0][0]


def _on(row: pl.DataFrame, day: dt.date) -> bytes:
    """A Tempo export of `row` (one worklog) dated `day`."""
    return corpus.to_csv(row.with_columns(pl.lit(f"{day} 00:00").alias("Work date")))


def test_new_worklogs_are_folded_in_and_a_deleted_one_has_every_worklog_read_again(tmp_path: Path):
    lab1 = corpus.lab_rows(40, 1)
    days = lab1.get_column("Work date").str.slice(0, 10).str.to_date("%Y-%m-%d")
    item = lab1.get_column("Issue Key")[0]
    item_first = days.filter(lab1.get_column("Issue Key") == item).min()  # its first date in week one
    # a new worklog of that item a week before any LAB1 worklog (a new id: no held row has it)
    early = lab1.head(1).with_columns(pl.lit("990001").alias("Worklog Id"))
    files = corpus.demo() | {"tempo/tempo_lab1.csv": corpus.to_csv(lab1)}
    write_inbox(tmp_path / "inbox", files)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        assert _write(conn) is None  # the first time: every worklog read
        assert _held(conn) == conn.sql(EVERY_WORKLOG).fetchall()
        assert _first(conn, item) == item_first

        # Week two appends 10 worklogs of new items (LAB0) and the early one.
        files |= {"z_week2/tempo_lab0.csv": corpus.to_csv(corpus.lab_rows(10, 0)),
                  "z_week2/tempo_lab1_early.csv": _on(early, days.min() - dt.timedelta(days=7))}  # fmt: skip
        write_inbox(tmp_path / "inbox", files)
        ingest(conn, tmp_path / "inbox")
        assert _write(conn) == 11  # folded in: those 11 worklogs read, not every one
        assert _held(conn) == conn.sql(EVERY_WORKLOG).fetchall()
        assert _first(conn, item) == days.min() - dt.timedelta(days=7)  # it came earlier
        assert conn.sql("SELECT count(*) FROM audit.item_first_work WHERE item_key LIKE 'LAB0-%'").fetchall()[0][0]
        assert _write(conn) == 0  # nothing new: nothing read

        # Week three re-exports the early worklog dated later: staging deletes the row it replaces, so the item's
        # first date is its first in week one again, which only reading every worklog can tell.
        files |= {"z_week3/tempo_lab1_moved.csv": _on(early, days.max())}
        write_inbox(tmp_path / "inbox", files)
        ingest(conn, tmp_path / "inbox")
        assert _write(conn) is None
        assert _held(conn) == conn.sql(EVERY_WORKLOG).fetchall()
        assert _first(conn, item) == item_first
        assert conn.sql("SELECT count(*) FROM audit.staging_changes").fetchall() == [(0,)]  # all consumed
