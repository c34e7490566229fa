"""Frozen baselines in the warehouse's `plans` schema: `pmo baseline freeze` and the automatic first freeze of a
project planned only in tickets. A frozen version is never rebuilt from the exports: estimates that change later
are the forecast, not the plan (../shared/EVM.md "Baseline")."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipelines import warehouse
from transforms import baselines as bl


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _read(conn: duckdb.DuckDBPyConnection, *tables: str) -> dict[str, pl.DataFrame]:
    return {t: warehouse.read(conn, f"staging.{t}") for t in tables}


def write_freeze(conn: duckdb.DuckDBPyConnection, version: pl.DataFrame, rows: pl.DataFrame) -> None:
    conn.register("_version", version)
    conn.register("_rows", rows)
    try:
        with warehouse.transaction(conn):
            conn.sql("INSERT INTO plans.baseline_versions BY NAME SELECT * FROM _version")
            conn.sql("INSERT INTO plans.baselines BY NAME SELECT * FROM _rows")
    finally:
        conn.unregister("_version")
        conn.unregister("_rows")


def _all_versions(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    versions, _ = bl.assemble(
        warehouse.read(conn, "staging.baselines"),
        warehouse.read(conn, "plans.baseline_versions"),
        warehouse.read(conn, "plans.baselines"),
    )
    return versions


def freeze_missing(conn: duckdb.DuckDBPyConnection, as_of: dt.date, reason: str) -> list[str]:
    """Freeze a first baseline from ticket estimates for each registered project that has no plan of any kind
    (no baseline file, MS Project plan, status file or earlier freeze). Returns the projects frozen."""
    # Which projects have no plan is asked in SQL: the baselines and tickets (a million rows each at portfolio
    # scale) are read only when there is a project to freeze, and then only its tickets.
    todo = conn.sql(
        "SELECT * FROM staging.projects p WHERE p.project_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        " (SELECT project_id FROM staging.baselines UNION ALL SELECT project_id FROM staging.evm_status"
        " UNION ALL SELECT project_id FROM plans.baseline_versions) planned WHERE planned.project_id = p.project_id)"
    ).pl()
    if todo.is_empty():
        return []
    items = conn.sql("SELECT * FROM staging.work_items WHERE list_contains(?::VARCHAR[], project_id)",
                     params=[todo.get_column("project_id").to_list()]).pl()  # fmt: skip
    read = _read(conn, "people", "rates")
    elements, _ = bl.derive_from_tickets(items, read["people"], read["rates"], todo, as_of=as_of)
    versions = _all_versions(conn)
    frozen = []
    for project_id in sorted(set(elements["project_id"])):  # one freeze per project: a handful, not rows
        first = elements.filter(pl.col("project_id") == project_id)["planned_start"].min()
        version, rows = bl.freeze(
            elements, versions, project_id=project_id, reason=reason, effective_from=first, frozen_at=_now()
        )
        write_freeze(conn, version, rows)
        frozen.append(project_id)
    return frozen


def freeze_project(
    conn: duckdb.DuckDBPyConnection, project_id: str, reason: str, effective_from: dt.date
) -> tuple[int, int, float, pl.DataFrame]:
    """`pmo baseline freeze`: a new version of the project's baseline from its tickets' current estimates, in
    force from `effective_from`. Returns (version, elements, BAC, the items left out with their reason)."""
    read = _read(conn, "projects", "work_items", "people", "rates")
    project = read["projects"].filter(pl.col("project_id") == project_id)
    if project.is_empty():
        raise LookupError(f"project {project_id} is not in the project register")
    # The tickets' current estimates (the latest export), whatever date the version is in force from.
    latest = read["work_items"].get_column("snapshot_date").max() or effective_from
    elements, undated = bl.derive_from_tickets(read["work_items"], read["people"], read["rates"], project, as_of=latest)
    version, rows = bl.freeze(
        elements, _all_versions(conn), project_id=project_id, reason=reason, effective_from=effective_from,
        frozen_at=_now(),
    )  # fmt: skip
    write_freeze(conn, version, rows)
    bac = float(rows.get_column("budget").cast(pl.Float64).sum())
    return int(version["baseline_version"][0]), rows.height, bac, undated
