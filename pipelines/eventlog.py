"""Dagster's SQLite event log (one database per run and an index), with each database's connection engine kept
open instead of created and disposed of for every event.

Dagster's SqliteEventLogStorage creates a SQLAlchemy engine and a new SQLite connection for each event it stores,
twice for an asset event (the run's database and the index). A weekly run stores about 420 events, and that
bookkeeping costs about 8 ms per asset event, almost all of it the engine and the connection. Kept open, it
costs about 2 ms; what is stored and where (one transaction per event, as before) does not change.
A home's seeded dagster.yaml selects this class (`event_log_storage`, pipelines/home.py) with `base_dir` at
Dagster's own place for it, <home>/dagster/history/runs: the files are those Dagster's class reads.

Two more things Dagster does per event are kept or relaxed here, measured on a step of 40 asset events and 26 asset
checks (2026-11-25): it took 0.16-0.18 s instead of 0.28-0.39 s.
- It asks whether the index has a table or a column, reflecting SQLite through a new engine each time: a yes is kept.
- Each commit waits for the disk (SQLite's synchronous=FULL); in WAL mode NORMAL keeps the files consistent.

An engine belongs to the process that made it (a forked child makes its own), and only the index and the few
newest run databases keep one: a webserver reading hundreds of runs does not hold hundreds of open files.
`wipe` (which deletes the run databases) and `dispose` close them all first.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

KEPT = 4  # engines kept open per process: the index and the newest run databases


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables: set[str] = set()  # the index's tables, and its asset_keys table's columns, known to exist
        self._asset_key_columns: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():  # a forked child: the parent's connections are not its own to close
            for inherited in self._engines.values():
                inherited.dispose(close=False)
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard),
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})  # fmt: skip
            event.listen(engine, "connect", _sync_normal)
            self._engines[shard] = engine
            while len(self._engines) > KEPT:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

    # Dagster asks whether its index has a table (for every asset event and asset check event, each time through a
    # new engine and connection) or a column of asset_keys (reflecting the table, for every asset event and asset
    # record read). What exists stays: a migration only adds, and only `wipe` deletes the databases. So a yes is kept.
    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables:
            if not super().has_table(table_name):
                return False
            self._tables.add(table_name)
        return True

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        if column_name not in self._asset_key_columns:
            if not super()._has_asset_key_col_on_connection(conn, column_name):
                return False
            self._asset_key_columns.add(column_name)
        return True

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        self._dispose_engines()
        self._tables, self._asset_key_columns = set(), set()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def _sync_normal(dbapi_connection, _record) -> None:
    """Each commit writes the write-ahead log without waiting for the disk (synchronous=NORMAL instead of FULL).
    Dagster puts every one of these databases in WAL mode when it first opens it, where SQLite keeps the database
    consistent either way; a power cut may lose the last events, never corrupt the file."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
