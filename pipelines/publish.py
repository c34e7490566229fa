"""The analysts' published snapshot: <home>/published/, rebuilt after each successful run and swapped in whole.

    published/
      .builds/<id>/pmo.duckdb                 one build: the DuckDB file ...
      .builds/<id>/parquet/marts/<table>/     ... and every mart as Parquet, by status_date=YYYY-MM-DD/ where it has one
      current -> .builds/<id>                 the build in force: one rename swaps the DuckDB file and Parquet together
      pmo.duckdb -> current/pmo.duckdb        the stable paths analysts use
      parquet -> current/parquet

A build is written aside and `current` is replaced by one rename, so a reader sees the old snapshot or the new
one, never half of either. A reader that opened the old file keeps it (Linux keeps an open file's data after it
is removed; the replaced build is also kept until the next run, for a reader that resolved the link just before
the swap); the next connection gets the new one. A run killed mid-build leaves `current` as it was; the next run
removes the unfinished build. No Dagster import here: `pmo query` and the settings use this module.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from pipelines.dictionary import comment_statements
from pipelines.faults import crash_point

# DuckDB 2.0 writes storage format 69 by default, which DuckDB 1.x cannot open ("can only read versions between 64
# and 68" in the 1.5 CLI). v1.0.0 is format 64: it opens in every DuckDB from 1.0 on, including the 1.5 CLI.
STORAGE_VERSION = "v1.0.0"

MARTS = ["marts.evm_weekly", "marts.portfolio_weekly", "marts.baseline_versions", "marts.actual_cost_weekly",
         "marts.planned_value_weekly", "marts.cost_exceptions", "marts.evm_flags", "marts.evm_forecast",
         "marts.evm_restatements", "marts.eac_backtest", "marts.eac_backtest_summary", "marts.risk_exposure",
         "marts.milestone_variance", "marts.milestone_slips", "marts.milestone_history",
         "marts.project_timesheet_completeness", "marts.project_closure", "marts.closure_drivers",
         "marts.team_utilisation", "marts.itam_cost", "marts.itam_due_dates", "marts.itam_renewals", "marts.itam_gaps",
         "marts.ticket_flow", "marts.ticket_flow_items", "marts.source_freshness"]  # fmt: skip
# Per-person marts (timesheet_completeness, resource_utilisation, utilisation_by_project, worklog_costs with rates)
# and per-person staging (worklogs, people, rates) stay in the PMO's warehouse.
PUBLISHED_TABLES = [*MARTS, "audit.files",
                    "audit.rejects", "audit.skipped", "audit.contract_suites", "audit.contract_validations",
                    "staging.projects", "staging.project_map", "staging.baselines",
                    "staging.work_items", "staging.assets", "staging.licences", "staging.evm_status",
                    "staging.risks", "staging.status_reports"]  # fmt: skip
_AUDIT_COLUMNS = {
    "audit.files": ["file_id", "path", "sha256", "size", "source_kind", "encoding", "delimiter", "rows_in_file",
                    "rows_loaded", "rows_duplicate", "rows_skipped", "rows_rejected", "covers", "formats", "status",
                    "message", "loaded_at"],
    "audit.rejects": ["file_id", "line", "column", "rule", "raw_value", "severity", "stage"],
    "audit.skipped": ["file_id", "line", "reason"],
    "audit.contract_suites": ["kind", "suite"],
    "audit.contract_validations": ["file_id", "kind", "success", "failed_expectations", "result"],
}  # fmt: skip


def known_columns() -> dict[str, list[str]]:
    """Each published table's columns as the code defines them, for checking [privacy] before any run."""
    from pipelines.dictionary import MARTS as DOCUMENTED
    from transforms.canonical import LINEAGE, TABLES

    known = dict(_AUDIT_COLUMNS)
    for name in PUBLISHED_TABLES:
        schema, table = name.split(".")
        if schema == "marts":
            known[name] = list(DOCUMENTED[name][1])
        elif schema == "staging":  # canonical columns, lineage, and the project resolved from the project map
            known[name] = [*TABLES[table], *LINEAGE, *([] if "project_id" in TABLES[table] else ["project_id"])]
    return known


class PublishError(RuntimeError):
    """The snapshot could not be built as configured; the message says why. The old snapshot stays in force."""


def publish(
    conn: duckdb.DuckDBPyConnection, folder: Path, exclude: dict[str, list[str]], keep_previous: bool = True
) -> dict:
    """Build a new snapshot of the warehouse `conn` under `folder` (<home>/published), leaving out the `exclude`d
    columns ([privacy]), swap it in, and remove older builds. Returns what was published. keep_previous=False (`pmo
    forget`) also removes the build just replaced, at once: it holds what was erased."""
    builds = folder / ".builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = f"{dt.datetime.now():%Y%m%dT%H%M%S%f}-{os.getpid()}"
    build = builds / build_id
    build.mkdir()
    try:
        rows = _write_build(conn, build, exclude)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    current = folder / "current"
    previous = current.resolve().name if current.is_symlink() else ""
    _swap(folder, build)
    # The build just replaced stays one run longer: a reader that resolved the old link a moment before the swap
    # still finds its file. Older builds, and unfinished ones from a killed run, go.
    removed = _remove_old_builds(folder, keep={build.name, previous} if keep_previous else {build.name})
    return {"build": build_id, "tables": len(PUBLISHED_TABLES), "rows": rows, "old_builds_removed": removed}


def _columns(conn: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    schema, table = name.split(".")
    return [r[0] for r in conn.sql(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index", params=[schema, table]
    ).fetchall()]  # fmt: skip


def _write_build(conn: duckdb.DuckDBPyConnection, build: Path, exclude: dict[str, list[str]]) -> dict[str, int]:
    target = build / "pmo.duckdb"
    rows: dict[str, int] = {}
    conn.sql(f"ATTACH '{target}' AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
    try:
        for schema in ("marts", "audit", "staging"):
            conn.sql(f"CREATE SCHEMA pub.{schema}")
        for name in PUBLISHED_TABLES:
            columns = _columns(conn, name)
            left_out = exclude.get(name, [])
            missing = sorted(set(left_out) - set(columns))
            if missing:
                raise PublishError(f"[privacy] exclude_columns: {name} has no column {', '.join(missing)}")
            kept = [c for c in columns if c not in left_out]
            select = ", ".join(f'"{c}"' for c in kept)
            conn.sql(f"CREATE TABLE pub.{name} AS SELECT {select} FROM {name}")
            for statement in comment_statements(name, prefix="pub."):
                if not any(f'."{c}" IS ' in statement for c in left_out):
                    conn.sql(statement)
            rows[name] = conn.sql(f"SELECT count(*) FROM pub.{name}").fetchall()[0][0]
            if name in MARTS:
                folder = build / "parquet" / Path(*name.split("."))
                _write_parquet(conn, f"pub.{name}", folder, by_week="status_date" in kept and rows[name] > 0)
            if name == MARTS[-1]:
                crash_point("publish")  # tests/reliability: killed with the build's marts written, the rest not
    finally:
        conn.sql("DETACH pub")
    return rows


def _write_parquet(conn: duckdb.DuckDBPyConnection, source: str, folder: Path, by_week: bool) -> None:
    """Hive-partitioned by status date where the mart has one; otherwise (or when empty, so its columns are still
    there to read) one file."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if by_week:
        conn.sql(f"COPY (SELECT * FROM {source}) TO '{folder}' (FORMAT parquet, PARTITION_BY (status_date))")
    else:
        folder.mkdir()
        conn.sql(f"COPY (SELECT * FROM {source}) TO '{folder / 'data.parquet'}' (FORMAT parquet)")


def _swap(folder: Path, build: Path) -> None:
    """`current` to the new build in one rename; then the stable paths, once (an older version's regular
    pmo.duckdb is replaced by its link in one rename too, so a reader never finds the path missing)."""
    _link(folder / "current", Path(".builds") / build.name)
    for name in ("pmo.duckdb", "parquet"):
        path, target = folder / name, Path("current") / name
        if path.is_symlink() and Path(os.readlink(path)) == target:
            continue
        if path.is_dir() and not path.is_symlink():  # a folder cannot be renamed over: move it aside first
            aside = folder / ".builds" / f"old-{name}"
            shutil.rmtree(aside, ignore_errors=True)
            path.rename(aside)
        _link(path, target)


def _link(path: Path, target: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    tmp.replace(path)


def _remove_old_builds(folder: Path, keep: set[str]) -> int:
    """Builds other than `keep`: older snapshots and unfinished ones from a killed run (one run per home at a
    time, so nothing else is building). Also the temporary files of older versions of this step."""
    removed = 0
    for old in (folder / ".builds").iterdir():
        if old.name not in keep:
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
            removed += 1
    for stale in [*folder.glob(".pmo.*.duckdb"), *folder.glob(".*.tmp")]:
        stale.unlink(missing_ok=True)
    return removed
