"""Dagster's SQLite event log (one database per run and an index), with each database's connection engine kept
open instead of created and disposed of for every event.

Dagster's SqliteEventLogStorage creates a SQLAlchemy engine and a new SQLite connection for each event it stores,
twice for an asset event (the run's database and the index). A weekly run stores about 420 events, and that
bookkeeping costs about 8 ms per asset event, almost all of it the engine and the connection. Kept open, it
costs about 2 ms; what is stored, where and how (one transaction per event, as before) does not change.
A home's seeded dagster.yaml selects this class (`event_log_storage`, pipelines/home.py) with `base_dir` at
Dagster's own place for it, <home>/dagster/history/runs: the files are those Dagster's class reads.

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
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

KEPT = 4  # engines kept open per process: the index and the newest run databases


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
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
            self._engines[shard] = engine
            while len(self._engines) > KEPT:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

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
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
