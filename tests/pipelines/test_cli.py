"""The pmo command end to end, as a user runs it: a real subprocess, a real home, real exit codes."""

import os
import subprocess
import sys

import duckdb

from pipelines.home import RunLock


def pmo(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_run_on_a_small_inbox_writes_every_output_and_exits_3_for_rejected_rows(tmp_path, small_inbox):
    home = tmp_path / "home"
    done = pmo("run", "--inbox", small_inbox, "--home", home, env={"PMO_SMTP_HOST": ""})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "tempo/tempo_worklogs_2026-03-15.csv: 2 of" in done.stdout
    for output in ("warehouse.duckdb", "published/pmo.duckdb", "reports/2026-03-15/index.html",
                   "reports/2026-03-15/data-quality.html"):  # fmt: skip
        assert (home / output).is_file(), output
    # The run is recorded in the home's own Dagster instance, so it shows in the UI.
    assert (home / "dagster" / "dagster.yaml").is_file()
    assert any((home / "dagster").rglob("*.db"))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.sql("SELECT count(DISTINCT project_id) FROM marts.evm_weekly").fetchall() == [(3,)]


def test_as_of_off_the_week_grid_fails_clearly(tmp_path, small_inbox):
    done = pmo("run", "--inbox", small_inbox, "--home", tmp_path / "home", "--as-of", "2026-03-11")
    assert done.returncode == 2
    assert "--as-of 2026-03-11 is not a status date: weeks end on sunday" in done.stdout


def test_a_second_run_on_a_held_home_exits_4(tmp_path, small_inbox):
    home = tmp_path / "home"
    lock = RunLock(home)
    lock.acquire()
    try:
        done = pmo("run", "--inbox", small_inbox, "--home", home)
    finally:
        lock.release()
    assert done.returncode == 4
    assert "another run holds" in done.stdout


def test_bad_settings_are_named_with_their_key(tmp_path, small_inbox):
    home = tmp_path / "home"
    home.mkdir()
    (home / "pmo.toml").write_text('[pipeline]\nweek_ends_on = "caturday"\n', encoding="utf-8")
    done = pmo("run", "--inbox", small_inbox, "--home", home)
    assert done.returncode == 2
    assert "pmo.toml: pipeline.week_ends_on" in done.stdout


def test_help_answers_without_importing_dagster_or_great_expectations():
    probe = (
        "import sys\nfrom pipelines.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('dagster', 'great_expectations', 'polars', 'duckdb') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "usage: pmo" in done.stdout
    assert done.stdout.strip().endswith("[]")
