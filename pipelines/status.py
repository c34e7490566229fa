"""`pmo status`: the home at a glance, as plain text: the last run (from the home's Dagster instance), each
source's freshness (marts.source_freshness in the analysts' published copy, which no run ever locks), the checks
whose latest evaluation failed, and the latest pack."""

import datetime as dt
import os
from pathlib import Path

from pipelines.home import Home, HomeLocked, RunLock

STARTED_BY = {"dagster/schedule_name": "schedule", "dagster/sensor_name": "sensor", "dagster/backfill": "backfill"}


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _root_cause(error) -> str:
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return " ".join(str(error.message).split())


def last_run(instance) -> tuple[list[str], bool]:
    """Lines about the newest run, and whether it failed."""
    import dagster as dg

    records = instance.get_run_records(limit=1)
    if not records:
        return ["last run: none yet"], False
    record = records[0]
    run = record.dagster_run
    how = next((f"{what} {run.tags[tag]}" for tag, what in STARTED_BY.items() if tag in run.tags), "by hand")
    lines = [
        f"last run: {run.run_id} ({run.job_name}, {how})",
        f"  status   {run.status.value}",
        f"  started  {_when(record.start_time)}",
        f"  ended    {_when(record.end_time)}",
    ]
    failed = run.status == dg.DagsterRunStatus.FAILURE
    if failed:
        failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        for entry in failures:
            error = getattr(entry.dagster_event.event_specific_data, "error", None)
            lines.append(f"  failed step {entry.step_key}: {_root_cause(error) if error else 'see the run log'}")
        if not failures:
            lines.append("  failed before any step: see the run log")
        lines.append(f"  log      Dagster UI /runs/{run.run_id}")
    return lines, failed


def freshness(paths: Home) -> list[str]:
    import duckdb

    source = paths.published / "pmo.duckdb"
    if not source.exists():
        return ["sources: no published snapshot yet (no successful run)"]
    try:
        with duckdb.connect(str(source), read_only=True) as conn:
            rows = conn.sql(
                "SELECT source_kind, status_date, data_through, age_days, max_age_days, stale"
                " FROM marts.source_freshness"
                " WHERE status_date = (SELECT max(status_date) FROM marts.source_freshness) ORDER BY source_kind"
            ).fetchall()
    except duckdb.Error as exc:
        return [f"sources: cannot read {source}: {' '.join(str(exc).split())}"]
    if not rows:
        return ["sources: none loaded yet"]
    lines = [f"sources at {rows[0][1]} (from {source}):",
             f"  {'kind':<22} {'data through':<12} {'age':>5} {'max':>5}  state"]  # fmt: skip
    lines += [
        f"  {kind:<22} {str(through or 'unknown'):<12} {'-' if age is None else age:>5} "
        f"{'-' if limit is None else limit:>5}  {'STALE' if stale else 'fresh'}"
        for kind, _, through, age, limit, stale in rows  # one line per source kind: printing, not computing
    ]
    return lines


def failed_checks(instance, check_keys) -> list[str]:
    lines = []
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        record = instance.get_latest_asset_check_evaluation_record(key)
        if record is None or record.status.value != "FAILED":
            continue
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        severity = evaluation.severity.value if evaluation else "ERROR"
        meta = {k: getattr(v, "value", v) for k, v in (evaluation.metadata if evaluation else {}).items()}
        if key.name == "fresh":
            detail = f"data through {meta.get('data_through')}, {meta.get('age_days')} days old " \
                     f"(max {meta.get('max_age_days')})"  # fmt: skip
        elif key.name == "contract":
            detail = f"{meta.get('rejected', 0)} row(s) rejected, {meta.get('quarantined', 0)} file(s) quarantined"
        else:
            detail = ", ".join(f"{k} {v}" for k, v in meta.items())
        lines.append(f"  {key.asset_key.to_user_string()} {key.name} ({severity}): {detail} [run {record.run_id}]")
    return ["failed checks:", *lines] if lines else ["failed checks: none"]


def latest_pack(paths: Home) -> str:
    packs = sorted(p for p in paths.reports.glob("????-??-??") if (p / "index.html").exists())
    return f"latest pack: {packs[-1] / 'index.html'}" if packs else "latest pack: none yet"


def status(home: Path) -> tuple[list[str], bool]:
    """The report's lines, and whether the last run failed."""
    paths = Home(home.resolve())
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    os.environ["PMO_HOME"] = str(paths.root)
    lines = [f"home: {paths.root}"]
    probe = RunLock(paths.root)
    try:
        probe.acquire()
        probe.release()
    except HomeLocked:
        lines.append("a run holds this home now")
    failed = False
    if (paths.dagster_home / "dagster.yaml").exists():
        import dagster as dg

        from pipelines.definitions import defs

        with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
            run_lines, failed = last_run(instance)
            lines += run_lines
            lines += failed_checks(instance, defs.resolve_asset_graph().asset_check_keys)
    else:
        lines.append("last run: none yet")
    lines += freshness(paths)
    lines.append(latest_pack(paths))
    return lines, failed
