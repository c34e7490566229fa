"""Two `pmo run` of the same week started at the same instant on one home: one completes, the other stops at once
with exit 4 naming the lock; a third started with --wait while the first runs waits, then changes nothing; a reader
(`pmo query`) meanwhile reads the published snapshot. The home ends as one run leaves it (tests/reliability/conftest.py
starts the runs; test_crash.py compares the home's marts with runs completed after crashes)."""

import duckdb

from tests.reliability.homes import RECIPIENTS, WEEK2, ledger, published, warehouse_problems


def test_of_two_runs_started_at_once_one_completes_and_the_other_exits_4_naming_the_lock(concurrent):
    runs = concurrent.result()
    codes = sorted(runs.codes)
    assert codes == [3, 4], [r.output for r in runs.pair]  # 3: done, with the demo's rejected rows
    winner, loser = sorted(runs.pair, key=lambda r: r.proc.returncode)
    lock = runs.home.resolve() / ".run.lock"
    assert f"error: another run holds {runs.home.resolve()} (lock file {lock})" in loser.output, loser.output
    assert "Traceback" not in loser.output + winner.output
    assert loser.ended < winner.ended  # it stopped at once, it did not wait for the winner
    assert "  exports: 3 new file(s) loaded, 14 already loaded" in winner.output


def test_a_run_started_with_wait_waits_for_the_one_running_then_changes_nothing(concurrent):
    runs = concurrent.result()
    waiting, winner = runs.waiting, next(r for r in runs.pair if r.proc.returncode == 3)
    assert runs.waiting_code == 3, waiting.output
    assert waiting.output.count(f"waiting for the run holding {runs.home.resolve()} …") == 1
    assert waiting.ended > winner.ended  # it ran after the winner had finished
    # Everything was loaded and sent already: it loads nothing again and sends nothing again.
    assert "  exports: 0 new file(s) loaded, 17 already loaded" in waiting.output
    assert "0 delivered; 6 already delivered before" in waiting.output


def test_the_home_ends_as_one_run_leaves_it_no_row_and_no_email_twice(concurrent):
    runs = concurrent.result()
    assert warehouse_problems(runs.home) == []
    with duckdb.connect(str(runs.home / "warehouse.duckdb"), read_only=True) as conn:
        files = conn.sql("SELECT count(*), count(DISTINCT sha256) FROM audit.files").fetchall()[0]
    assert files == (17, 17)  # 14 files of the first week and 3 of the second, once each
    assert runs.mail == dict.fromkeys(RECIPIENTS, 1)  # three runs of the week, one message per recipient
    assert ledger(runs.home, WEEK2) == {a: [(1, "sent", "smtp")] for a in RECIPIENTS}
    assert published(runs.home)[1] == WEEK2


def test_a_reader_during_the_run_reads_the_snapshot_without_waiting(concurrent):
    runs = concurrent.result()
    assert runs.query.returncode == 0, runs.query.stdout + runs.query.stderr
    winner = next(r for r in runs.pair if r.proc.returncode == 3)
    assert runs.query_ended < winner.ended  # it was answered while the winning run was still going
    lines = runs.query.stdout.splitlines()
    assert lines[0] == "week" and lines[1] in ("2026-03-08", "2026-03-15")  # a whole snapshot, the old or the new
