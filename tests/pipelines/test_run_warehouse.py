"""A run's warehouse, on a real DuckDB file through real Dagster: the run opens the database once, at its first
step, and closes it (with a checkpoint) at its end, each step working on its own connection to it; what DuckDB cached
for a step is handed back when the step's connection closes (pipelines/resources.PmoHome.connect)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines import warehouse
from pipelines.resources import PmoHome
from transforms import duck

CACHED = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"


def _wal(home) -> int:
    """Bytes of the warehouse's write-ahead log: what commits wrote since the last checkpoint (0: none, or none left
    after the database was closed)."""
    wal = home / "warehouse.duckdb.wal"
    return wal.stat().st_size if wal.exists() else 0


def test_steps_share_one_open_database_that_the_run_closes_at_its_end(tmp_path):
    home = tmp_path / "home"
    seen = {}

    @dg.asset
    def first(pmo: PmoHome) -> None:
        with pmo.connect() as conn:
            conn.sql("CREATE TABLE marts.t AS SELECT range AS i FROM range(1000)")
            conn.sql("CREATE TEMP TABLE scratch AS SELECT 1 AS x")

    @dg.asset(deps=[first])
    def second(pmo: PmoHome) -> None:
        # A small commit stays in the log until a checkpoint; closing the database would have checkpointed it.
        seen["wal between steps"] = _wal(home)
        seen["resource"] = pmo  # kept alive after the run: the database must be closed by the run, not by Python
        with pmo.connect() as conn:
            seen["rows"] = conn.sql("SELECT count(*) FROM marts.t").fetchall()[0][0]
            seen["scratch"] = conn.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'").fetchall()

    result = dg.materialize([first, second], resources={"pmo": PmoHome(home=str(home))})

    assert result.success
    assert seen["wal between steps"] > 0  # the database stayed open from the first step to the second
    assert seen["rows"] == 1000
    assert seen["scratch"] == [(0,)]  # the first step's connection, and its temporary table, are gone
    assert _wal(home) == 0  # closed, and checkpointed, at the run's end
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:  # in this process: nothing holds it
        assert conn.sql("SELECT count(*) FROM marts.t").fetchall()[0][0] == 1000


def test_a_failed_step_leaves_none_of_its_transaction_and_the_run_still_closes_the_database(tmp_path):
    home = tmp_path / "home"

    @dg.asset
    def writes(pmo: PmoHome) -> None:
        with pmo.connect() as conn:
            conn.sql("CREATE TABLE marts.t AS SELECT 1 AS i")

    @dg.asset(deps=[writes])
    def fails(pmo: PmoHome) -> None:
        with pmo.connect() as conn:
            conn.sql("BEGIN TRANSACTION")
            conn.sql("INSERT INTO marts.t VALUES (2)")
            raise RuntimeError("a step that fails half-way")  # no ROLLBACK: closing its connection is what undoes it

    result = dg.materialize([writes, fails], resources={"pmo": PmoHome(home=str(home))}, raise_on_error=False)

    assert not result.success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT i FROM marts.t").fetchall() == [(1,)]


def test_outside_a_run_each_connect_opens_and_closes_its_own_database(tmp_path):
    home = tmp_path / "home"
    pmo = PmoHome(home=str(home))
    pmo.paths.prepare()
    with pmo.connect() as conn:
        conn.sql("CREATE TABLE marts.t AS SELECT 1 AS i")
    assert _wal(home) == 0  # closed and checkpointed: nothing holds the file for a test or script that goes on
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT i FROM marts.t").fetchall() == [(1,)]


@pytest.mark.parametrize("memory_limit", ["1GiB", ""])
def test_release_cache_hands_back_the_blocks_a_read_left_cached_and_keeps_the_limit(tmp_path, memory_limit):
    path = tmp_path / "w.duckdb"
    with warehouse.connect(path) as conn:  # ~60 MB of text: more than the 32 MiB the cache is evicted down to
        conn.sql("CREATE TABLE marts.t AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(3000000)")
    conn = warehouse.connect(path, memory_limit=memory_limit)
    try:
        limit = conn.sql("SELECT current_setting('memory_limit')").fetchall()
        cursor = conn.cursor()
        assert cursor.sql("SELECT * FROM marts.t").pl().height == 3_000_000
        cursor.close()
        assert conn.sql(CACHED).fetchall()[0][0] > 32 * 2**20  # what the read left cached in the database

        duck.release_cache(conn, memory_limit)

        assert conn.sql(CACHED).fetchall()[0][0] <= 32 * 2**20
        assert conn.sql("SELECT current_setting('memory_limit')").fetchall() == limit
    finally:
        conn.close()
