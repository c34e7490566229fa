"""pipelines/eventlog.py: Dagster's SQLite event log with its engines kept open. Real SQLite files in tmp_path,
read back by Dagster's own SqliteEventLogStorage: the same events in the same place, nothing lost."""

import os
import shutil
import time

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.eventlog import KEPT, KeptEngineSqliteEventLogStorage
from pipelines.home import Home


def _materialization(run_id: str, table: str, rows: int, tags: dict[str, str] | None = None) -> EventLogEntry:
    event = DagsterEvent(
        DagsterEventType.ASSET_MATERIALIZATION.value, "weekly",
        event_specific_data=StepMaterializationData(dg.AssetMaterialization(
            ["marts", table], metadata={"dagster/row_count": rows}, tags=tags)),
    )  # fmt: skip
    return EventLogEntry(error_info=None, level=20, user_message="", run_id=run_id, timestamp=time.time(),
                         dagster_event=event, job_name="weekly")  # fmt: skip


def _rows(storage, table: str) -> int:
    record = storage.get_latest_materialization_events([dg.AssetKey(["marts", table])])[dg.AssetKey(["marts", table])]
    return record.asset_materialization.metadata["dagster/row_count"].value


def test_events_are_stored_through_one_kept_engine_per_database_and_read_by_dagsters_own_class(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    for i in range(20):  # 20 asset events: each in its run's database and mirrored in the index
        storage.store_event(_materialization("run-a", f"t{i % 3}", rows=i))
    engines = dict(storage._engines)
    assert set(engines) == {"run-a", "index"}  # one each, not one per event
    storage.store_event(_materialization("run-a", "t0", rows=99))
    assert storage._engines["run-a"] is engines["run-a"] and storage._engines["index"] is engines["index"]
    storage.dispose()
    assert not storage._engines

    plain = SqliteEventLogStorage(str(tmp_path))  # Dagster's own, as before dagster.yaml chose this class
    assert len(plain.get_logs_for_run("run-a")) == 21
    assert [_rows(plain, t) for t in ("t0", "t1", "t2")] == [99, 19, 17]  # the last of 0..19 per i % 3, then 99


def test_only_the_newest_databases_keep_an_engine_and_every_run_stays_readable(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    runs = [f"run-{i}" for i in range(KEPT + 3)]
    for i, run_id in enumerate(runs):
        storage.store_event(_materialization(run_id, "evm_weekly", rows=i))
    assert len(storage._engines) == KEPT
    assert "index" in storage._engines and runs[-1] in storage._engines and runs[0] not in storage._engines
    assert [len(storage.get_logs_for_run(r)) for r in runs] == [1] * len(runs)  # older runs open again
    assert _rows(storage, "evm_weekly") == len(runs) - 1
    storage.dispose()


def test_wipe_closes_the_engines_before_the_databases_go(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    storage.store_event(_materialization("run-a", "evm_weekly", rows=1))
    storage.wipe()
    assert not (tmp_path / "run-a.db").exists() and "run-a" not in storage._engines
    # a kept engine on the deleted file would write to a file nobody can read: this one lands in a new file
    storage.store_event(_materialization("run-b", "evm_weekly", rows=2))
    storage.dispose()
    assert len(SqliteEventLogStorage(str(tmp_path)).get_logs_for_run("run-b")) == 1


def test_a_forked_child_stores_through_engines_of_its_own_and_leaves_the_parents_working(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    storage.store_event(_materialization("run-a", "evm_weekly", rows=1))
    parents = storage._engines["index"]
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it stored through a new engine and let the inherited pool go
        code, inherited = 1, parents.pool
        try:
            storage.store_event(_materialization("run-a", "evm_weekly", rows=2))
            # dispose(close=False) swaps the inherited engine's pool for a new one, leaving the parent's connections
            # unclosed (SQLAlchemy's way after a fork); without it the child would keep the parent's pool.
            code = 0 if storage._engines["index"] is not parents and parents.pool is not inherited else 3
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    storage.store_event(_materialization("run-a", "evm_weekly", rows=3))  # the parent's engine still works
    assert storage._engines["index"] is parents
    assert _rows(storage, "evm_weekly") == 3 and len(storage.get_logs_for_run("run-a")) == 3
    storage.dispose()


def test_a_seeded_home_stores_its_events_there_through_this_class_even_when_copied(tmp_path):
    """pipelines/home.py seeds dagster.yaml with the block; a copy of the home, prepared, points at its own folder."""
    home = Home(tmp_path / "a")
    home.prepare()
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        assert type(instance.event_log_storage) is KeptEngineSqliteEventLogStorage
        instance.event_log_storage.store_event(_materialization("run-a", "evm_weekly", rows=1))
    assert (home.dagster_home / "history" / "runs" / "run-a.db").is_file()

    shutil.copytree(home.root, tmp_path / "b")
    copy = Home(tmp_path / "b")
    copy.prepare()
    assert (copy.dagster_home / "dagster.yaml").read_text().count(str(copy.dagster_home / "history" / "runs")) == 1
    with dg.DagsterInstance.from_config(str(copy.dagster_home)) as instance:
        instance.event_log_storage.store_event(_materialization("run-b", "evm_weekly", rows=2))
    assert (copy.dagster_home / "history" / "runs" / "run-b.db").is_file()
    assert not (home.dagster_home / "history" / "runs" / "run-b.db").exists()


def test_what_the_index_has_is_asked_of_sqlite_once_and_what_it_lacks_every_time(tmp_path, monkeypatch):
    """Dagster asks for every asset event whether the index has its tags table and asset_keys' columns, each time
    reflecting SQLite: a yes is kept, a no is asked again (a table created since counts)."""
    asked = []
    for name in ("has_table", "_has_asset_key_col_on_connection"):
        original = getattr(SqliteEventLogStorage, name)

        def counted(self, *args, _original=original, _name=name):
            asked.append((_name, args[-1]))
            return _original(self, *args)

        monkeypatch.setattr(SqliteEventLogStorage, name, counted)
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    for i in range(20):
        # a step's materialization carries its data version as tags, stored in the index's asset_event_tags
        storage.store_event(_materialization("run-a", "evm_weekly", rows=i, tags={"dagster/data_version": str(i)}))
    assert asked and len(asked) == len(set(asked))  # each table or column asked about once, not 20 times
    assert ("has_table", "asset_event_tags") in asked
    assert ("_has_asset_key_col_on_connection", "last_materialization_timestamp") in asked
    assert _rows(storage, "evm_weekly") == 19

    assert not storage.has_table("made_later") and not storage.has_table("made_later")
    with storage.index_connection() as conn:
        conn.exec_driver_sql("CREATE TABLE made_later (x INTEGER)")
    assert storage.has_table("made_later") and storage.has_table("made_later")
    assert asked.count(("has_table", "made_later")) == 3  # twice no, then yes once
    storage.dispose()


def test_each_database_is_in_wal_mode_and_commits_without_waiting_for_the_disk(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path))
    storage.store_event(_materialization("run-a", "evm_weekly", rows=1))
    for shard in ("run-a", "index"):
        with storage._connect(shard) as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (FULL is 2)
    storage.dispose()
