"""transforms.duck.query without a connection: each query runs in a cursor of its own on the process's one in-memory
database, opened once (opening one per query cost 10-20 ms, some ten times a week's run)."""

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor

import duckdb
import polars as pl
import pytest

from transforms import duck


def test_the_in_memory_database_is_opened_once_per_process(monkeypatch):
    opened = []
    real_connect = duckdb.connect

    def counting_connect(*args, **kwargs):
        opened.append(args)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(duck, "_memory", None)
    monkeypatch.setattr(duck.duckdb, "connect", counting_connect)
    frame = pl.DataFrame({"n": [1, 2, 3]})
    sums = [duck.query("SELECT sum(n) AS s FROM f", {"f": frame}).item() for _ in range(5)]
    assert sums == [6] * 5  # 1 + 2 + 3
    assert len(opened) == 1
    # a forked child (another process id) opens its own: DuckDB's threads do not survive a fork
    monkeypatch.setattr(duck, "_memory", (os.getpid() + 1, duck._memory[1]))
    assert duck.query("SELECT count(*) AS n FROM f", {"f": frame}).item() == 3
    assert len(opened) == 2


def test_a_querys_frames_and_week_end_macro_do_not_outlive_it():
    frame = pl.DataFrame({"n": [1]})
    assert duck.query("SELECT n FROM leaked", {"leaked": frame}).item() == 1
    with pytest.raises(duckdb.CatalogException):
        duck.query("SELECT n FROM leaked", {})
    # 2026-11-18 is a Wednesday: its week ends on Sunday the 22nd, or on Friday the 20th
    day = pl.DataFrame({"d": [dt.date(2026, 11, 18)]})
    sql = "SELECT week_end(d) AS w FROM days"
    assert duck.query(sql, {"days": day}, week_ends_on="sunday").item() == dt.date(2026, 11, 22)
    assert duck.query(sql, {"days": day}, week_ends_on="friday").item() == dt.date(2026, 11, 20)


def test_queries_in_threads_see_only_their_own_frames():
    # The same name registered by eight threads at once, each with its own rows: every query sums its own.
    def total(i: int) -> int:
        frame = pl.DataFrame({"n": list(range(i * 1000, (i + 1) * 1000))})
        return duck.query("SELECT sum(n) AS s FROM rows_of_mine", {"rows_of_mine": frame}).item()

    with ThreadPoolExecutor(max_workers=8) as pool:
        sums = list(pool.map(total, range(8)))
    # sum of i*1000 .. i*1000+999 = 1000 * i*1000 + 999*1000/2
    assert sums == [1000 * i * 1000 + 499_500 for i in range(8)]
