"""Two real warehouses, built once for the whole bad-input run: the SMALL demo's inbox alone (the baseline), and
the same inbox with every case of the corpus dropped beside it (the cases never touch each other: see corpus.py)."""

from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.ingest import ingest
from tests.bad_input import corpus
from tests.conftest import write_inbox


def build(root: Path, files: dict[str, bytes]) -> Path:
    write_inbox(root / "inbox", files)
    with warehouse.connect(root / "warehouse.duckdb") as conn:
        ingest(conn, root / "inbox")
    return root / "warehouse.duckdb"


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("baseline"), corpus.demo())


@pytest.fixture(scope="session")
def combined(tmp_path_factory) -> Path:
    every_case = {path: data for files in corpus.cases().values() for path, data in files.items()}
    assert not set(every_case) & set(corpus.demo())
    return build(tmp_path_factory.mktemp("combined"), corpus.demo() | every_case)


def read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)
