"""The inbox sensor: new or changed files under <home>/inbox start a run of the weekly job.

Every 30 seconds the sensor lists the inbox (recursively; dotfiles and files still being written — *.tmp, *.part,
*.partial, *.crdownload, ~$* — are ignored) and hashes only the files whose size or modification time changed
since the last tick. Its cursor keeps path → (size, mtime_ns, sha256), so an unchanged file is never read again
and a touched file is read once, found to hold the same bytes, and starts nothing. A corrected file has a new
hash, so it reloads.

One tick asks for at most one run, covering every file that changed in it: each run ingests the whole inbox and
holds the home's run lock from start to end, so one run per file would only queue runs behind the lock (or fail on
it) to rebuild the same marts. The run key is the changed file's sha256 when one file changed, else the sha256 of
the changed files' sorted hashes: Dagster starts a run key once, whatever the cursor says.

Which week to build is only known once the files are loaded (the last complete week in the data), and every
run of the partitioned assets needs its partition key up front (Dagster 1.13 refuses a partitioned asset whose
partitioned upstream has a materialization in a run without a key). So an inbox change makes two runs:
1. the inbox sensor's run: ingestion only (the unpartitioned raw, staging and audit assets);
2. when that run succeeds, `after_ingestion` asks for the rest (the weekly_build job: marts, published snapshot,
   pack, e-mail asset) for the partition of the last complete week in the data now loaded.
Neither sends e-mail: only the schedule and `pmo run` do.
"""

import fnmatch
import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines import assets, checks, warehouse
from pipelines.home import Home
from pipelines.resources import data_status_date

IGNORED = ("*.tmp", "*.part", "*.partial", "*.crdownload", "*.swp", "~$*", "*~")
INTERVAL_SECONDS = 30
INGESTION = dg.AssetSelection.assets(assets.exports, assets.contract_validations)  # unpartitioned, with checks
# ... but the freshness checks read marts.source_freshness, so they run with the marts (weekly_build).
INGESTION -= dg.AssetSelection.checks(checks.source_freshness_checks)

ingest_inbox = dg.define_asset_job(
    "ingest_inbox", selection=INGESTION, description="Load the inbox's new exports into raw, staging and audit."
)
weekly_build = dg.define_asset_job(
    "weekly_build",
    selection=dg.AssetSelection.all() - INGESTION,
    description="The marts, the analysts' snapshot, the pack and the e-mail asset of one week, from what is loaded.",
)


def _ignored(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or any(
        fnmatch.fnmatch(relative.name, pattern) for pattern in IGNORED
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan(inbox: Path, known: dict[str, list]) -> tuple[dict[str, list], list[str]]:
    """The inbox's files as {relative path: [size, mtime_ns, sha256]} and the paths whose content is new or
    changed since `known`. Only files whose size or mtime moved are hashed."""
    seen: dict[str, list] = {}
    changed: list[str] = []
    if not inbox.is_dir():
        return seen, changed
    for path in sorted(inbox.rglob("*")):  # files of the inbox, not data rows
        relative = path.relative_to(inbox)
        if _ignored(relative) or path.is_symlink() or not path.is_file():  # a link may point outside the inbox
            continue
        try:
            stat = path.stat()
            before = known.get(str(relative))
            if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
                seen[str(relative)] = before
                continue
            sha = _sha256(path)
        except OSError:  # removed or renamed between the listing and the read: the next tick sees it
            continue
        seen[str(relative)] = [stat.st_size, stat.st_mtime_ns, sha]
        if not before or before[2] != sha:
            changed.append(str(relative))
    return seen, changed


def inbox_sensor(inbox: Path) -> dg.SensorDefinition:
    @dg.sensor(
        name="inbox_sensor",
        job=ingest_inbox,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"New or changed files under {inbox} start ingestion; then after_ingestion rebuilds the marts "
        "and the latest week's pack (no e-mail). Run key: the file's sha256.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        known = json.loads(context.cursor) if context.cursor else {}
        seen, changed = scan(inbox, known)
        context.update_cursor(json.dumps(seen, sort_keys=True))
        if not changed:
            return dg.SkipReason(f"no new or changed file in {inbox}")
        hashes = sorted(seen[path][2] for path in changed)
        run_key = hashes[0] if len(hashes) == 1 else hashlib.sha256("\n".join(hashes).encode()).hexdigest()
        context.log.info(f"{len(changed)} new or changed file(s): {', '.join(changed)}")
        return dg.RunRequest(run_key=run_key, tags={"pmo/trigger": "inbox", "pmo/files": str(len(changed))})

    return _sensor


def after_ingestion(home: Path) -> dg.RunStatusSensorDefinition:
    """When an ingestion run succeeds: the rest of the weekly job for the last complete week now loaded."""

    @dg.run_status_sensor(
        name="after_ingestion",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[ingest_inbox],
        request_job=weekly_build,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After an inbox ingestion: the marts, the snapshot and the pack of the latest week (no e-mail).",
    )
    def _after(context: dg.RunStatusSensorContext):
        paths = Home(home)
        try:
            with warehouse.connect(paths.warehouse, read_only=True) as conn:
                day = data_status_date(conn, paths.settings().pipeline.week_ends_on).isoformat()
        except ValueError as exc:
            return dg.SkipReason(str(exc))
        return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}", partition_key=day,
                             tags={"pmo/trigger": "inbox", "pmo/after": context.dagster_run.run_id})  # fmt: skip

    return _after
