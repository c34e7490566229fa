"""[retention] on real ingests (pipelines/ingest.py) into DuckDB files: raw rows a newer export replaced are removed
and inbox files already loaded are deleted, each recorded in audit.retention, while staging (what every figure is
built from) and the manifest's accounting stay exactly as in a home that keeps everything."""

import functools

import duckdb
import pytest

from pipelines import warehouse
from pipelines.home import RetentionSettings, SettingsError, load_settings
from pipelines.ingest import ingest
from tests.conftest import SMALL
from transforms.demo_portfolio import generate

TEMPO = "tempo/tempo_worklogs_2026-03-15.csv"


@functools.cache
def _exports() -> tuple[bytes, bytes]:
    """The small demo's Tempo export, and the same rows in reverse order: a re-export with another SHA-256."""
    first = generate(SMALL)[TEMPO]
    header, *rows = first.decode("utf-8").splitlines(keepends=True)
    return first, (header + "".join(reversed(rows))).encode("utf-8")


def _state(conn: duckdb.DuckDBPyConnection) -> dict:
    return {
        "staging": conn.sql("SELECT * FROM staging.worklogs ORDER BY ALL").fetchall(),
        "files": conn.sql("SELECT * EXCLUDE (loaded_at) FROM audit.files ORDER BY file_id").fetchall(),
        "file_1": conn.sql("SELECT rows_loaded, rows_duplicate FROM audit.files WHERE file_id = 1").fetchall()[0],
        "rejects": conn.sql("SELECT * FROM audit.rejects ORDER BY ALL").fetchall(),
        "skipped": conn.sql("SELECT * FROM audit.skipped ORDER BY ALL").fetchall(),
        "raw": dict(conn.sql("SELECT _source_file, count(*) FROM raw.tempo_worklogs GROUP BY ALL").fetchall()),
        "retention": conn.sql("SELECT action, file_id, path, rows FROM audit.retention ORDER BY ALL").fetchall(),
    }


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict:
    """The first export, then the re-export, then a run with nothing new: keeping everything and with raw_days = 0."""
    first, second = _exports()
    out = {}
    for label, settings in (("kept", RetentionSettings()), ("pruned", RetentionSettings(raw_days=0))):
        root = tmp_path_factory.mktemp(label)
        (root / "inbox" / "tempo").mkdir(parents=True)
        (root / "inbox" / "tempo" / "a.csv").write_bytes(first)
        with warehouse.connect(root / "w.duckdb") as conn:
            ingest(conn, root / "inbox", retention=settings)
            (root / "inbox" / "tempo" / "b.csv").write_bytes(second)
            replaced = ingest(conn, root / "inbox", retention=settings)
            again = ingest(conn, root / "inbox", retention=settings) if settings.raw_days is not None else None
            out[label] = {"replaced": replaced, "again": again, **_state(conn)}
    return out


def test_the_replaced_exports_raw_rows_go_and_nothing_built_from_raw_changes(homes):
    kept, pruned = homes["kept"], homes["pruned"]
    rows = len(_exports()[0].decode("utf-8").splitlines()) - 1  # every data row of the first export
    assert kept["file_1"][0] == 0 and kept["file_1"][1] > 0  # nothing of file 1 loaded: file 2 replaced it
    assert kept["raw"] == {1: rows, 2: rows}
    assert pruned["raw"] == {2: rows}  # file 1's raw rows are gone ...
    assert pruned["retention"] == [("raw rows removed", 1, "tempo/a.csv", rows)]
    assert pruned["replaced"].retention == [
        f"retention: {rows} raw row(s) of tempo/a.csv removed (a newer export holds them all)"
    ]
    assert pruned["again"].retention == []  # ... once
    for part in ("staging", "files", "file_1", "rejects", "skipped"):
        assert pruned[part] == kept[part], part  # ... and staging, the accounting, rejects and skipped rows stay
    assert kept["rejects"] and any(r[0] == 1 for r in kept["rejects"])  # file 1 has rejects of its own to keep
    assert kept["retention"] == []  # unset keeps everything


def test_loaded_inbox_files_are_deleted_and_a_copy_dropped_again_is_not_loaded_twice(tmp_path):
    first, _ = _exports()
    inbox = tmp_path / "inbox"
    (inbox / "tempo").mkdir(parents=True)
    (inbox / "tempo" / "a.csv").write_bytes(first)
    settings = RetentionSettings(inbox_days=0)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        loaded = ingest(conn, inbox, retention=settings)
        assert not (inbox / "tempo" / "a.csv").exists()
        assert loaded.new_files == 1 and len(loaded.retention) == 1
        assert loaded.retention[0].startswith("retention: inbox file tempo/a.csv deleted (loaded before ")
        staged = conn.sql("SELECT * FROM staging.worklogs ORDER BY ALL").fetchall()
        (inbox / "tempo" / "a.csv").write_bytes(first)  # the same export dropped again
        again = ingest(conn, inbox, retention=RetentionSettings())
        assert (again.new_files, again.skipped_known) == (0, 1)
        assert conn.sql("SELECT * FROM staging.worklogs ORDER BY ALL").fetchall() == staged
        assert conn.sql("SELECT action, file_id, path, rows FROM audit.retention").fetchall() == [
            ("inbox file deleted", 1, "tempo/a.csv", 0)
        ]


@pytest.mark.parametrize(("toml", "message"), [
    ("[retention]\nraw_days = -1\n", r"retention\.raw_days: Input should be greater than or equal to 0"),
    ("[retention]\nkeep = 3\n", r"retention\.keep: Extra inputs are not permitted"),
])  # fmt: skip
def test_retention_settings_are_checked(tmp_path, toml, message):
    (tmp_path / "pmo.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path / "pmo.toml")
