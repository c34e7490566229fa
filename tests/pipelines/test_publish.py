"""The analysts' published snapshot (<home>/published): swapped in whole while real readers hold it open, Parquet of
every mart, opened by the DuckDB 1.5 CLI, `pmo query`, and the [privacy] columns left out.

Two real runs of the weekly job on the small demo inbox, the second with one more export, so the snapshot changes
between them while two reader processes query it."""

import json
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.home import Settings, SettingsError, load_settings
from pipelines.publish import MARTS, PUBLISHED_TABLES, PublishError, known_columns, publish
from tests.conftest import SMALL, write_inbox
from transforms.demo_portfolio import generate

HELD_BACK = "servicenow/incident_2026-03-15.csv"  # delivered before the second run only
PRIVACY = """\
[privacy.exclude_columns]
"marts.cost_exceptions" = ["person_id", "person_name", "hourly_rate"]
"staging.work_items" = ["assignee", "assignee_account_id"]
"staging.assets" = ["owner_id"]
"audit.rejects" = ["raw_value"]
"""
# One snapshot's state, read in one query: files loaded and two marts the held-back export changes or not.
STATE = ("SELECT (SELECT count(*) FROM audit.files), (SELECT count(*) FROM marts.evm_weekly),"
         " (SELECT count(*) FROM marts.ticket_flow_items)")  # fmt: skip
READER = """
import json, os, sys, time, duckdb
published, log, stop, mode, STATE = sys.argv[1:]
held = duckdb.connect(published, read_only=True) if mode == "held" else None
with open(log, "a") as out:
    out.write(json.dumps({"ready": True}) + "\\n"); out.flush()
    while True:
        last = os.path.exists(stop)
        try:
            if held is not None:
                seen = held.sql(STATE).fetchall()[0]
            else:  # a new connection each time, through the stable path, as a new analyst session would
                with duckdb.connect(published, read_only=True) as conn:
                    seen = conn.sql(STATE).fetchall()[0]
            out.write(json.dumps({"t": time.time(), "seen": list(seen)}) + "\\n")
        except Exception as exc:
            out.write(json.dumps({"t": time.time(), "error": repr(exc)}) + "\\n")
        out.flush()
        if last:
            break
        time.sleep(0.02)
"""


def _state(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as conn:
        return tuple(conn.sql(STATE).fetchall()[0])


def _start_reader(published: Path, log: Path, stop: Path, mode: str) -> subprocess.Popen:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(log), str(stop), mode, STATE])
    deadline = time.monotonic() + 30
    while not (log.exists() and '"ready"' in log.read_text()):
        assert reader.poll() is None, f"the {mode} reader died at start"
        assert time.monotonic() < deadline, f"the {mode} reader did not start"
        time.sleep(0.05)
    return reader


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    files = generate(SMALL)
    inbox = write_inbox(root / "inbox", {k: v for k, v in files.items() if k != HELD_BACK})
    home = root / "home"
    home.mkdir()
    (home / "pmo.toml").write_text(PRIVACY, encoding="utf-8")
    assert main(["run", "--inbox", str(inbox), "--home", str(home)]) in (0, 3)
    published = home / "published" / "pmo.duckdb"
    first = _state(published)
    first_build = (home / "published" / "current").resolve()

    stop = root / "stop"
    held = _start_reader(published, root / "held.log", stop, "held")
    fresh = _start_reader(published, root / "fresh.log", stop, "fresh")
    write_inbox(inbox, {HELD_BACK: files[HELD_BACK]})
    started = time.time()
    code = main(["run", "--inbox", str(inbox), "--home", str(home)])
    finished = time.time()
    time.sleep(0.5)  # the fresh reader's first connections after the swap
    stop.touch()
    for reader in (held, fresh):
        reader.wait(timeout=30)
    return {"home": home, "code": code, "first": first, "second": _state(published), "first_build": first_build,
            "held": _lines(root / "held.log"), "fresh": _lines(root / "fresh.log"),
            "during": (started, finished)}  # fmt: skip


def test_a_reader_holding_the_snapshot_open_never_blocks_a_run_nor_sees_half_of_one(runs):
    assert runs["code"] in (0, 3)  # the run succeeded although two processes had the published file open
    first, second = runs["first"], runs["second"]
    assert second[0] == first[0] + 1  # one more export file loaded, so the two snapshots differ
    start, end = runs["during"]
    for mode in ("held", "fresh"):
        errors = [line["error"] for line in runs[mode] if "error" in line]
        assert errors == [], f"{mode} reader: {errors[:3]}"
        during = [line for line in runs[mode] if start <= line["t"] <= end]
        assert len(during) >= 20, f"the {mode} reader hardly read during the run ({len(during)} reads)"
    # The open connection keeps the snapshot it opened, whole.
    assert {tuple(line["seen"]) for line in runs["held"]} == {first}
    # The replaced build stays until the next run: a reader that resolved the link just before the swap still
    # finds its file (without it, "database does not exist" met a fresh reader once in CI).
    assert runs["first_build"].exists()
    # New connections see the old snapshot, then the new one, each whole: never a mix, never back.
    seen = [tuple(line["seen"]) for line in runs["fresh"]]
    assert set(seen) == {first, second}
    switch = seen.index(second)
    assert seen[:switch] == [first] * switch and seen[switch:] == [second] * (len(seen) - switch)


def test_the_swap_leaves_one_build_behind_stable_links(runs):
    folder = runs["home"] / "published"
    assert (folder / "current").is_symlink() and (folder / "pmo.duckdb").is_symlink()
    assert str((folder / "pmo.duckdb").readlink()) == "current/pmo.duckdb"
    assert str((folder / "parquet").readlink()) == "current/parquet"
    # the build in force and the one it replaced (kept for a reader that resolved the link just before the swap)
    builds = sorted(p.name for p in (folder / ".builds").iterdir())
    assert len(builds) == 2 and builds[-1] == (folder / "current").resolve().name  # ids sort by build time


def test_every_published_mart_is_in_parquet_partitioned_by_status_date_where_it_has_one(runs):
    folder = runs["home"] / "published"
    partitioned = 0
    with duckdb.connect(str(folder / "pmo.duckdb"), read_only=True) as conn:
        for name in MARTS:
            schema, table = name.split(".")
            mart = folder / "parquet" / schema / table
            rows = conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0]
            columns = [r[0] for r in conn.sql(f"DESCRIBE {name}").fetchall()]
            if "status_date" in columns and rows:
                weeks = {r[0] for r in conn.sql(
                    f"SELECT coalesce(strftime(status_date, '%Y-%m-%d'), '__HIVE_DEFAULT_PARTITION__') FROM {name}"
                ).fetchall()}  # fmt: skip
                assert {p.name for p in mart.iterdir()} == {f"status_date={w}" for w in weeks}, name
                partitioned += 1
            else:
                assert [p.name for p in mart.iterdir()] == ["data.parquet"], name
            in_parquet = conn.sql(
                f"SELECT count(*) FROM read_parquet('{mart}/**/*.parquet', hive_partitioning = true)"
            ).fetchall()[0][0]
            assert in_parquet == rows, name
    assert partitioned >= 5  # evm_weekly, portfolio_weekly, actual_cost_weekly, planned_value_weekly, ticket_flow…


def test_the_published_file_opens_in_the_duckdb_1_5_cli(runs, tmp_path):
    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent))
    assert cli, "the DuckDB CLI (dev dependency duckdb-cli) is missing: run `make .venv/.synced`"
    assert subprocess.run([cli, "--version"], capture_output=True, text=True).stdout.startswith("v1.5.")
    published = runs["home"] / "published" / "pmo.duckdb"
    with published.open("rb") as f:
        header = f.read(20)
    assert header[8:12] == b"DUCK" and struct.unpack("<Q", header[12:20])[0] == 64  # storage format of v1.0.0
    opened = subprocess.run([cli, "-readonly", "-csv", str(published), "-c", "SELECT count(*) FROM marts.evm_weekly"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.split() == ["count_star()", str(runs["second"][1])]
    # The same data in duckdb 2.0's default storage format is refused by that CLI: the option is what makes it work.
    default = tmp_path / "default.duckdb"
    with duckdb.connect(str(default)) as conn:
        conn.sql(f"ATTACH '{published}' AS pub (READ_ONLY)")
        conn.sql("CREATE TABLE evm_weekly AS SELECT * FROM pub.marts.evm_weekly")
    refused = subprocess.run([cli, "-readonly", str(default), "-c", "SELECT count(*) FROM evm_weekly"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode != 0 and "version number" in refused.stderr + refused.stdout


def test_privacy_columns_are_left_out_of_the_snapshot_and_the_parquet(runs):
    home = runs["home"]
    excluded = load_settings(home / "pmo.toml").privacy.exclude_columns
    assert excluded["audit.rejects"] == ["raw_value"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:  # the PMO keeps them
        for name, columns in excluded.items():
            kept = {r[0] for r in conn.sql(f"DESCRIBE {name}").fetchall()}
            assert set(columns) <= kept, name
    with duckdb.connect(str(home / "published" / "pmo.duckdb"), read_only=True) as conn:
        for name, columns in excluded.items():
            published = {r[0] for r in conn.sql(f"DESCRIBE {name}").fetchall()}
            assert not set(columns) & published, name
            assert published, name
        # The data dictionary's comments are kept for the columns that stay.
        comments = dict(conn.sql(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'"
            " AND table_name = 'cost_exceptions'"
        ).fetchall())  # fmt: skip
        assert comments["hours"] and "person_name" not in comments
        parquet = home / "published" / "parquet" / "marts" / "cost_exceptions"
        in_parquet = {r[0] for r in conn.sql(f"DESCRIBE SELECT * FROM read_parquet('{parquet}/**/*.parquet')")
                      .fetchall()}  # fmt: skip
        assert in_parquet and not in_parquet & {"person_id", "person_name", "hourly_rate"}


def test_the_default_privacy_setting_leaves_out_people_next_to_hours_and_rates():
    assert Settings().privacy.exclude_columns == {
        "marts.cost_exceptions": ["person_id", "person_name", "hourly_rate"],
        "staging.work_items": ["assignee", "assignee_account_id"],
        "staging.assets": ["owner_id"],
    }


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[privacy.exclude_columns]\n"staging.worklogs" = ["hours"]\n', "'staging.worklogs' is not a published"),
        ('[privacy.exclude_columns]\n"staging.risks" = ["owner", "ownr"]\n', r"staging.risks has no column \['ownr'\]"),
    ],
)  # fmt: skip
def test_an_unknown_table_or_column_in_privacy_is_a_settings_error(tmp_path, toml, message):
    path = tmp_path / "pmo.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"privacy\.exclude_columns: .*{message}"):
        load_settings(path)


def test_the_known_columns_are_the_published_tables_columns(runs):
    """The settings check columns before any run against known_columns(): every real column must be there."""
    known = known_columns()
    with duckdb.connect(str(runs["home"] / "warehouse.duckdb"), read_only=True) as conn:
        for name in PUBLISHED_TABLES:
            actual = [r[0] for r in conn.sql(f"DESCRIBE {name}").fetchall()]
            assert set(actual) <= set(known[name]), name


def test_an_older_regular_file_is_replaced_and_a_killed_or_failed_build_leaves_the_snapshot_whole(runs, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(runs["home"] / "warehouse.duckdb", warehouse)
    folder = tmp_path / "published"
    folder.mkdir()
    with duckdb.connect(str(folder / "pmo.duckdb")) as old:  # what an older version published: a regular file
        old.sql("CREATE SCHEMA marts; CREATE TABLE marts.evm_weekly AS SELECT 1 AS old")
    killed = folder / ".builds" / "20200101T000000000000-1"  # an unfinished build from a killed run
    (killed / "parquet").mkdir(parents=True)
    reader = duckdb.connect(str(folder / "pmo.duckdb"), read_only=True)
    with duckdb.connect(str(warehouse)) as conn:
        publish(conn, folder, {})
        first = (folder / "current").resolve()
        # A failure half-way (a column only found missing at the last table) leaves the published build in force.
        with pytest.raises(PublishError, match="staging.status_reports has no column nope"):
            publish(conn, folder, {"marts.evm_weekly": ["cpi"], "staging.status_reports": ["nope"]})
    assert reader.sql("SELECT old FROM marts.evm_weekly").fetchall() == [(1,)]  # the old file, still readable
    reader.close()
    assert (folder / "pmo.duckdb").is_symlink() and (folder / "current").resolve() == first
    assert [p.name for p in (folder / ".builds").iterdir()] == [first.name]  # killed and failed builds gone
    with duckdb.connect(str(folder / "pmo.duckdb"), read_only=True) as conn:
        assert "cpi" in {r[0] for r in conn.sql("DESCRIBE marts.evm_weekly").fetchall()}


def test_pmo_query_prints_a_table_or_csv_without_loading_dagster(runs):
    home = runs["home"]
    sql = "SELECT project_id, count(*) AS weeks FROM marts.evm_weekly GROUP BY ALL ORDER BY ALL"
    program = ("import sys; from pipelines.cli import main; code = main(sys.argv[1:]); "
               "assert 'dagster' not in sys.modules, 'dagster imported'; sys.exit(code)")  # fmt: skip
    table = subprocess.run([sys.executable, "-c", program, "query", sql, "--home", str(home)],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert table.returncode == 0, table.stderr
    with duckdb.connect(str(home / "published" / "pmo.duckdb"), read_only=True) as conn:
        expected = conn.sql(sql).fetchall()
    lines = table.stdout.splitlines()
    assert lines[-1] == f"({len(expected)} rows)"
    for project, weeks in expected:  # one aligned row per project: │ PRJ-001 ┆ 4 │
        assert any(line.split() == ["│", project, "┆", str(weeks), "│"] for line in lines), (project, table.stdout)
    csv = subprocess.run([sys.executable, "-c", program, "query", sql, "--csv", "--home", str(home)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["project_id,weeks", *(f"{p},{w}" for p, w in expected)]
    nested = subprocess.run([sys.executable, "-c", program, "query", "SELECT ['a', 'b'] AS l", "--csv", "--home",
                             str(home)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert nested.stdout.splitlines() == ["l", '"[a, b]"']


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "Parser Error"),
        ("SELECT assignee FROM staging.work_items", 'Referenced column "assignee" not found'),  # left out
        ("CREATE TABLE t (a INT)", "read-only"),
    ],
)
def test_pmo_query_bad_sql_exits_2_with_the_message_and_no_traceback(runs, sql, message):
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", sql, "--home", str(runs["home"])],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stdout.startswith("error: ") and message in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_pmo_query_without_a_snapshot_exits_2(tmp_path, capsys):
    assert main(["query", "SELECT 1", "--home", str(tmp_path)]) == 2
    assert "no published snapshot" in capsys.readouterr().out
