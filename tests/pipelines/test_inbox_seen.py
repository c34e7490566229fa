"""An inbox file already loaded is not read again when its path, size and modification time are those it had when it
was read (pipelines/ingest.py `load_new_files`, audit.inbox_seen); any change to them, or a file modified too
recently to trust its time, is read and hashed as before."""

import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines import ingest as ingest_module
from pipelines import warehouse
from tests.conftest import write_inbox

TEMPO = "Worklog Id,Issue Key,Hours,Work date,Full name,Project Key\n"
FIRST = (TEMPO + "1,A-1,2.5,2026-03-02,Ana,A\n").encode()
SAME_SIZE = (TEMPO + "1,A-1,3.5,2026-03-02,Ana,A\n").encode()  # another hour count, the same number of bytes
HOUR_AGO_NS = time.time_ns() - 3600 * 10**9
REPO = Path(__file__).resolve().parents[2]


def run(tmp_path) -> ingest_module.IngestSummary:
    summary = ingest_module.IngestSummary()
    with warehouse.connect(tmp_path / "w.duckdb") as conn, warehouse.transaction(conn):
        ingest_module.load_new_files(conn, tmp_path / "inbox", summary)
    return summary


def rewrite(path, data: bytes, mtime_ns: int) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def hours(tmp_path) -> list[str]:
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        return [r[0] for r in conn.sql('SELECT "Hours" FROM raw.tempo_worklogs ORDER BY _source_file').fetchall()]


def test_a_file_with_the_size_and_time_it_was_read_with_is_not_read_again(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST})
    path = inbox / "tempo" / "t.csv"
    os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    first = run(tmp_path)
    assert (first.new_files, first.skipped_known) == (1, 0)

    # Other bytes behind the same path, size and time: taken for the file loaded, so not read (were it read, its
    # new hash would load it as a new file).
    assert len(SAME_SIZE) == len(FIRST)
    rewrite(path, SAME_SIZE, HOUR_AGO_NS)
    unread = run(tmp_path)
    assert (unread.new_files, unread.skipped_known) == (0, 1)
    assert hours(tmp_path) == ["2.5"]

    # The same bytes with another time: read, found by their hash, and loaded.
    rewrite(path, SAME_SIZE, HOUR_AGO_NS + 10**9)
    changed = run(tmp_path)
    assert (changed.new_files, changed.skipped_known) == (1, 0)
    assert hours(tmp_path) == ["2.5", "3.5"]


def test_a_file_modified_just_before_it_was_read_is_read_again_next_time(tmp_path):
    """Its time may not change with its next write on a file system of coarse times (network shares)."""
    inbox = write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST})
    path = inbox / "tempo" / "t.csv"
    written = path.stat().st_mtime_ns
    assert run(tmp_path).new_files == 1
    rewrite(path, SAME_SIZE, written)
    again = run(tmp_path)
    assert (again.new_files, again.skipped_known) == (1, 0)
    assert hours(tmp_path) == ["2.5", "3.5"]


def test_a_file_seen_before_whose_rows_are_no_longer_loaded_is_read(tmp_path):
    """What audit.inbox_seen says is trusted only while audit.files still holds a file of that hash."""
    inbox = write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST})
    os.utime(inbox / "tempo" / "t.csv", ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    assert run(tmp_path).new_files == 1
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        conn.sql("DELETE FROM raw.tempo_worklogs")
        conn.sql("DELETE FROM audit.files")
    again = run(tmp_path)
    assert (again.new_files, again.skipped_known) == (1, 0)
    assert hours(tmp_path) == ["2.5"]


def test_the_unseen_bytes_are_those_of_the_files_the_next_ingest_reads(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST})
    os.utime(inbox / "tempo" / "t.csv", ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        assert ingest_module.unseen_bytes(conn, inbox) == len(FIRST)
    run(tmp_path)
    write_inbox(inbox, {"tempo/u.csv": SAME_SIZE + b"2,A-1,1.0,2026-03-03,Ana,A\n"})
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        assert ingest_module.unseen_bytes(conn, inbox) == len(SAME_SIZE) + 27  # t.csv seen as it is; u.csv new
        rewrite(inbox / "tempo" / "t.csv", SAME_SIZE, HOUR_AGO_NS + 10**9)  # t.csv changed: read again
        assert ingest_module.unseen_bytes(conn, inbox) == 2 * len(SAME_SIZE) + 27


WARM_UP = """
import os
import sys
from pathlib import Path
from pipelines import assets, ingest, warehouse
assets.WARM_UP_BYTES = int(sys.argv[1])
with warehouse.connect(Path(sys.argv[2])) as conn:
    if len(sys.argv) > 4:  # the loaded file staged under this fingerprint (argv[4]: current or older)
        current = ingest.fingerprint("sunday") if sys.argv[4] == "current" else "older"
        conn.sql("INSERT OR REPLACE INTO audit.staged_files SELECT file_id, 'tempo_worklogs', ? FROM audit.files",
                 params=[current])
    imported = assets.warm_up_contracts(conn, Path(sys.argv[3]), "sunday")
print(imported is not None, imported is not None and imported.result(), "great_expectations" in sys.modules)
if imported is not None:  # the worker, asked: its priority, and whether it imported Dagster (it needs only GX)
    asked = assets._worker.submit(eval, "'dagster' in __import__('sys').modules")
    print(assets._worker.submit(os.nice, 0).result(), asked.result())
"""


def test_a_weeks_exports_warm_up_the_contracts_worker_and_a_first_load_of_history_does_not(tmp_path):
    inbox = write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST})

    def warmed(limit: int, *staged_under: str) -> str:
        args = [sys.executable, "-c", WARM_UP, str(limit), str(tmp_path / "w.duckdb"), str(inbox), *staged_under]
        out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=REPO).stdout.splitlines()
        if len(out) > 1:  # a worker: it imports at the lowest priority, without Dagster
            assert out[1] == "19 False"
        return out[0]

    # up to the limit: the worker started beside the ingest and imported great-expectations; the run's process not
    assert warmed(len(FIRST)) == "True True False"
    assert warmed(len(FIRST) - 1) == "False False False"  # more: no worker yet (the contracts step starts it)
    # The file loaded: nothing to read, but all of it to stage again after an upgrade, as much as a new file.
    os.utime(inbox / "tempo" / "t.csv", ns=(HOUR_AGO_NS, HOUR_AGO_NS))  # not too recent to trust its time
    run(tmp_path)
    assert warmed(0, "current") == "True True False"
    assert warmed(len(FIRST), "older") == "True True False"
    assert warmed(len(FIRST) - 1, "older") == "False False False"


def test_the_bytes_to_stage_again_are_those_of_the_files_not_staged_under_the_current_fingerprint(tmp_path):
    write_inbox(tmp_path / "inbox", {"tempo/t.csv": FIRST, "tempo/u.csv": SAME_SIZE + b"2,A-2,1,2026-03-03,Ana,A\n"})
    run(tmp_path)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        sizes = dict(conn.sql("SELECT path, size FROM audit.files").fetchall())
        assert ingest_module.restaged_bytes(conn, "sunday") == sum(sizes.values())  # loaded, never staged
        conn.sql("INSERT INTO audit.staged_files SELECT file_id, 'tempo_worklogs', ? FROM audit.files",
                 params=[ingest_module.fingerprint("sunday")])  # fmt: skip
        assert ingest_module.restaged_bytes(conn, "sunday") == 0
        conn.sql("UPDATE audit.staged_files SET fingerprint = 'older' WHERE file_id = "
                 "(SELECT file_id FROM audit.files WHERE path = 'tempo/u.csv')")  # fmt: skip
        assert ingest_module.restaged_bytes(conn, "sunday") == sizes["tempo/u.csv"]
        assert ingest_module.restaged_bytes(conn, "monday") == sum(sizes.values())  # another week end: every file
