"""Each file is typed and checked once, when it is loaded (conformed.*), and the merge of every file's candidate rows
gives the same staging tables and accounting as staging everything at once (pipelines/ingest.py)."""

from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.ingest import _to_stage, fingerprint, ingest
from tests.bad_input import corpus
from tests.conftest import write_inbox

MANIFEST = ("file_id, path, status, rows_in_file, rows_loaded, rows_duplicate, rows_skipped, rows_rejected, covers,"
            " formats, message")  # fmt: skip


def _tables(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    names = [r[0] for r in conn.sql(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name IN ('staging', 'conformed')"
        " ORDER BY ALL"
    ).fetchall()]  # fmt: skip
    out = {name: conn.sql(f"SELECT * FROM {name}").fetchall() for name in names}
    out["audit.files"] = conn.sql(f"SELECT {MANIFEST} FROM audit.files ORDER BY file_id").fetchall()
    out["audit.rejects"] = conn.sql("SELECT * FROM audit.rejects").fetchall()
    out["audit.skipped"] = conn.sql("SELECT * FROM audit.skipped").fetchall()
    return out


@pytest.fixture(scope="module")
def at_once(tmp_path_factory) -> dict[str, list]:
    root = tmp_path_factory.mktemp("at_once")
    write_inbox(root / "inbox", corpus.demo())
    with warehouse.connect(root / "w.duckdb") as conn:
        ingest(conn, root / "inbox")
        return _tables(conn)


def test_files_loaded_over_two_runs_stage_exactly_as_all_at_once(tmp_path, at_once):
    files = corpus.demo()
    paths = sorted(files)
    # The first run takes the files that sort first, so both homes number every file the same (ids follow the path
    # order of each run's new files) and a newer export is newer in both.
    first = {p: files[p] for p in paths[: len(paths) // 2]}
    write_inbox(tmp_path / "inbox", first)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        staged_first = conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]
        write_inbox(tmp_path / "inbox", files)
        summary = ingest(conn, tmp_path / "inbox")
        assert summary.skipped_known == len(first) and summary.new_files == len(files) - len(first)
        assert _to_stage(conn, "sunday") == {}  # nothing is left to stage: the next run only merges
        assert _tables(conn) == at_once
        assert staged_first < conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]


def test_a_file_is_staged_once_until_the_code_or_settings_that_staged_it_change(tmp_path, at_once):
    write_inbox(tmp_path / "inbox", corpus.demo())
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, tmp_path / "inbox")
        files = conn.sql("SELECT count(*) FROM audit.staged_files").fetchall()[0][0]
        # Mark candidate rows: staging a file again would replace them with what its raw rows say.
        mark = ("UPDATE conformed.worklogs SET description = 'as staged'"
                " WHERE worklog_id = (SELECT min(worklog_id) FROM conformed.worklogs)")  # fmt: skip
        marked = "SELECT count(*) FROM conformed.worklogs WHERE description = 'as staged'"
        conn.sql(mark)
        assert conn.sql(marked).fetchall()[0][0] > 0
        before = conn.sql(marked).fetchall()
        ingest(conn, tmp_path / "inbox")  # nothing new: the files are merged again, not staged again
        assert conn.sql(marked).fetchall() == before
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'an older release'")
        assert sum(len(ids) for ids in _to_stage(conn, "sunday").values()) == files
        ingest(conn, tmp_path / "inbox")
        assert conn.sql(marked).fetchall() == [(0,)]
        assert _tables(conn) == at_once
        # Another week end is another fingerprint: every file would be typed and checked again under it.
        assert fingerprint("saturday") != fingerprint("sunday")
        assert sum(len(ids) for ids in _to_stage(conn, "saturday").values()) == files


HEADER = b"project_id,status_date,pv,ev,ac,bac,baseline_start,baseline_finish,baseline_version\n"


def test_a_rule_across_files_still_compares_a_file_with_the_ones_loaded_before(tmp_path: Path):
    # evm_status's baseline dates must agree within a project across every file (same_within): the second file,
    # loaded a week later, moves PRJ-010's finish from 2026-04-24 to 2026-05-01, so both files' rows are rejected,
    # exactly as when the two are staged together (tests/transforms/readers/test_evm_status.py).
    inbox = tmp_path / "inbox"
    write_inbox(inbox, {"pmo/a.csv": HEADER + b"PRJ-010,2026-03-01,100,100,90,,2026-02-23,2026-04-24,\n"})
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        ingest(conn, inbox)
        assert conn.sql("SELECT count(*) FROM staging.evm_status").fetchall() == [(1,)]
        write_inbox(inbox, {"pmo/c.csv": HEADER + b"PRJ-010,2026-03-15,300,,,,2026-02-23,2026-05-01,\n"})
        ingest(conn, inbox)
        rejects = conn.sql('SELECT file_id, "column", rule FROM audit.rejects ORDER BY ALL').fetchall()
        assert rejects == [
            (1, "baseline_finish", "same_within:project_id"),
            (2, "baseline_finish", "same_within:project_id"),
        ]
        assert conn.sql("SELECT count(*) FROM staging.evm_status").fetchall() == [(0,)]
        assert conn.sql("SELECT file_id, rows_loaded, rows_rejected FROM audit.files ORDER BY 1").fetchall() == [
            (1, 0, 1),
            (2, 0, 1),
        ]
