"""The weekly pipeline's assets, from the inbox's exports to the report pack and the e-mail.

Asset keys are [layer, table] and equal the DuckDB schema.table they write.
"""

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from data_contracts.expectations import documents, warm_up
from pipelines import warehouse
from pipelines.ingest import ingest, restaged_bytes, unseen_bytes
from pipelines.publish import MARTS, STORAGE_VERSION, publish  # MARTS: the pack and tests import it from here
from pipelines.resources import PmoHome
from transforms.canonical import KEYS
from transforms.staging import KINDS, READERS

RAW_KEYS = {kind: dg.AssetKey(["raw", kind]) for kind in KINDS}
STAGING_KEYS = {table: dg.AssetKey(["staging", table]) for table in KEYS}
FEEDS = {table: sorted({r.kind for r in READERS if r.table == table}) for table in KEYS}
# Without these there is nothing to report on: the run stops before the marts (blocking checks).
REQUIRED_TABLES = {
    "projects": "The project register (inbox/pmo/projects.csv) has at least one project.",
    "rates": "The rate card (inbox/pmo/rate_card.csv) has at least one rate, or no hour could be costed.",
}
AUDIT_FILES, AUDIT_REJECTS = dg.AssetKey(["audit", "files"]), dg.AssetKey(["audit", "rejects"])


# great-expectations (~7 s to import, ~200 MB held) only writes the contracts' suites and results
# (data_contracts.expectations.documents): in a worker process, so that the run's own process, where the marts' peak
# memory is, never holds it. Up to this many bytes to stage (a week's exports, not a first load of years of history
# nor every file again after an upgrade), the worker is started and imports it while the exports are ingested: the
# contracts step then costs the run nothing. Not beside a heavy staging, whose peak memory it would add to (~250 MB).
# The worker imports only data_contracts.expectations, and at the lowest priority (`warm_up`): the ~3 CPU-seconds of
# the import take what the run's own process leaves of the cores, not a share of what its steps use. It then builds
# the documents at that priority too, while the run's process waits for them.
WARM_UP_BYTES = 256 * 2**20
_worker: ProcessPoolExecutor | None = None  # started by warm_up_contracts, taken by contract_validations


def _start_worker() -> ProcessPoolExecutor:
    # Not fork: the caller holds DuckDB's and polars' threads, which a forked child would inherit mid-lock.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method))


def warm_up_contracts(conn: duckdb.DuckDBPyConnection, inbox: Path, week_ends_on: str) -> Future | None:
    """Start the contracts' worker importing great-expectations when the files to stage (the inbox's new files, and
    those staged under another fingerprint) are at most WARM_UP_BYTES; the import's future (whether it imported), or
    None."""
    global _worker
    if unseen_bytes(conn, inbox) + restaged_bytes(conn, week_ends_on) > WARM_UP_BYTES:
        return None
    if _worker is not None:  # warmed up by an earlier run in this process and never taken
        _worker.shutdown(wait=False, cancel_futures=True)
    _worker = _start_worker()
    return _worker.submit(warm_up)


def _gx_documents(files: list[tuple[int, str, int]], rejects: pl.DataFrame, week_ends_on: str):
    """data_contracts.expectations.documents in the worker (warmed up, else started now); here when the worker
    cannot start or dies (killed, out of memory)."""
    global _worker
    worker, _worker = _worker or _start_worker(), None
    try:
        return worker.submit(documents, files, rejects, week_ends_on).result()
    except (BrokenProcessPool, OSError):
        return documents(files, rejects, week_ends_on)
    finally:
        worker.shutdown(wait=True, cancel_futures=True)


@dg.multi_asset(
    specs=[
        *(dg.AssetSpec(key, description=f"Rows of every {kind} export as written, as text, with file and line.",
                       kinds={"duckdb"}) for kind, key in RAW_KEYS.items()),
        *(dg.AssetSpec(key, deps=[RAW_KEYS[kind] for kind in FEEDS[table]], kinds={"duckdb", "polars"},
                       description=f"Canonical {table} from {', '.join(FEEDS[table]) or 'no export yet'}: typed, "
                       f"checked by their contracts, one row per {', '.join(KEYS[table])}.")
          for table, key in STAGING_KEYS.items()),
        dg.AssetSpec(AUDIT_FILES, description="The manifest: one row per file seen, with its row accounting.",
                     kinds={"duckdb"}),
        dg.AssetSpec(AUDIT_REJECTS, description="One row per rejected row and rule: file, line, column, value.",
                     kinds={"duckdb"}),
    ],
    check_specs=[
        *(dg.AssetCheckSpec("contract", asset=key, description=f"Every {kind} file met its data contract "
                            f"(data_contracts/{kind}.yaml): no file quarantined, no row rejected.")
          for kind, key in RAW_KEYS.items()),
        *(dg.AssetCheckSpec("present", asset=STAGING_KEYS[table], blocking=True, description=why)
          for table, why in REQUIRED_TABLES.items()),
    ],
    pool="warehouse",
)  # fmt: skip
def exports(context: dg.AssetExecutionContext, pmo: PmoHome):
    """Load the inbox's new exports into raw, type and check each new file once (conformed.*) and merge every file
    into staging, in one transaction."""
    with pmo.connect() as conn:
        settings = pmo.settings()
        warm_up_contracts(conn, pmo.inbox_dir, settings.pipeline.week_ends_on)
        summary = ingest(conn, pmo.inbox_dir, settings.pipeline.week_ends_on, retention=settings.retention)
        files = conn.sql("SELECT status, count(*) FROM audit.files GROUP BY ALL").fetchall()
        rejects = conn.sql("SELECT count(*) FROM audit.rejects").fetchall()[0][0]
        raw_counts = {k: conn.sql(f"SELECT count(*) FROM raw.{k}").fetchall()[0][0]
                      if warehouse.table_exists(conn, "raw", k) else 0 for k in RAW_KEYS}  # fmt: skip
        contract_stats = {
            kind: {"files": files_, "rows": rows, "rejected": rejected, "quarantined": quarantined, "skipped": skipped}
            for kind, files_, rows, rejected, quarantined, skipped in conn.sql(
                "SELECT source_kind, count(*), sum(rows_in_file)::BIGINT, sum(rows_rejected)::BIGINT,"
                " count(*) FILTER (status = 'rejected'), sum(rows_skipped)::BIGINT"
                " FROM audit.files WHERE source_kind IS NOT NULL GROUP BY ALL"
            ).fetchall()
        }
        top_rules = dict(conn.sql(
            "SELECT kind, string_agg(rule || ' ×' || n, '; ' ORDER BY n DESC) FROM ("
            " SELECT f.source_kind AS kind, coalesce(r.\"column\" || ' ', '') || r.rule AS rule, count(*) AS n"
            " FROM audit.rejects r JOIN audit.files f USING (file_id) GROUP BY 1, 2"
            " QUALIFY row_number() OVER (PARTITION BY kind ORDER BY n DESC) <= 5) GROUP BY kind"
        ).fetchall())  # fmt: skip
    context.log.info(f"{summary.new_files} new file(s) loaded, {summary.skipped_known} already loaded; "
                     f"{rejects:,} rejected row rule(s) in all")  # fmt: skip
    for problem in summary.problems:
        context.log.warning(problem)
    for removed in summary.retention:
        context.log.info(removed)
    for kind, key in RAW_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": raw_counts[kind]})
    for table, key in STAGING_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": summary.staging_rows[table]})
    yield dg.MaterializeResult(
        asset_key=AUDIT_FILES,
        metadata={"new_files": summary.new_files, "already_loaded": summary.skipped_known,
                  "by_status": dict(files), "seconds_load": summary.seconds["load"],
                  "seconds_staging": summary.seconds["staging"]},
    )  # fmt: skip
    yield dg.MaterializeResult(asset_key=AUDIT_REJECTS, metadata={"dagster/row_count": rejects})
    for kind, key in RAW_KEYS.items():
        stats = contract_stats.get(kind, {"files": 0, "rows": 0, "rejected": 0, "quarantined": 0, "skipped": 0})
        yield dg.AssetCheckResult(
            asset_key=key, check_name="contract", passed=stats["rejected"] == 0 and stats["quarantined"] == 0,
            severity=dg.AssetCheckSeverity.ERROR if stats["quarantined"] else dg.AssetCheckSeverity.WARN,
            metadata={**stats, "top_rules": top_rules.get(kind, "")},
        )  # fmt: skip
    for table in REQUIRED_TABLES:
        yield dg.AssetCheckResult(
            asset_key=STAGING_KEYS[table], check_name="present", passed=summary.staging_rows[table] > 0,
            severity=dg.AssetCheckSeverity.ERROR, metadata={"dagster/row_count": summary.staging_rows[table]},
        )  # fmt: skip


# The contracts' step runs after every step ready beside it (Dagster's in-process executor takes the ready steps by
# priority, then in order): after the marts, before the snapshot and the pack, which read its tables. By then a week's
# worker has imported great-expectations (~4 s after the ingest started it), where the step right after the ingest
# waited for it (0.65 s of the bench's week).
LATER = {"dagster/priority": "-1"}


@dg.asset(key=["audit", "contract_validations"], deps=[AUDIT_FILES, AUDIT_REJECTS], kinds={"duckdb"},
          pool="warehouse", op_tags=LATER)  # fmt: skip
def contract_validations(pmo: PmoHome) -> dg.MaterializeResult:
    """Each contract as a great-expectations suite, and each file's contract checks as a GX validation result
    (JSON in audit.contract_suites and audit.contract_validations), built in a worker process that imports
    great-expectations (~7 s), warmed up while a week's exports are ingested."""
    week_ends_on = pmo.settings().pipeline.week_ends_on
    with pmo.connect() as conn:
        files = conn.sql(
            "SELECT file_id, source_kind, rows_in_file FROM audit.files"
            " WHERE source_kind IS NOT NULL AND rows_in_file IS NOT NULL ORDER BY file_id"
        ).fetchall()
        rejects = conn.sql('SELECT file_id, "column", rule, raw_value FROM audit.rejects').pl()
        suites, rows = _gx_documents(files, rejects, week_ends_on)
        suites = pl.DataFrame(suites, schema={"kind": pl.String, "suite": pl.String}, orient="row")
        validations = pl.DataFrame(
            rows, schema={"file_id": pl.Int64, "kind": pl.String, "success": pl.Boolean,
                          "failed_expectations": pl.Int64, "result": pl.String}, orient="row",
        )  # fmt: skip
        warehouse.replace_table(conn, "audit.contract_suites", suites, ["kind"])
        warehouse.replace_table(conn, "audit.contract_validations", validations, ["file_id"])
    return dg.MaterializeResult(
        metadata={"suites": suites.height, "files": validations.height,
                  "files_failing": int((~validations.get_column("success")).sum())}
    )  # fmt: skip


@dg.asset(key=["published", "pmo"], deps=[[*name.split(".")] for name in MARTS] + [["audit", "contract_validations"]],
          kinds={"duckdb"}, pool="warehouse")  # fmt: skip
def published_snapshot(pmo: PmoHome) -> dg.MaterializeResult:
    """The analysts' read-only copy under <home>/published/ (pipelines/publish.py): pmo.duckdb with the marts, audit
    and the non-personal staging tables less the [privacy] columns, and every mart as Parquet. Built aside and
    swapped in whole with one rename, so a reader never sees half of it and never blocks the run."""
    exclude = pmo.settings().privacy.exclude_columns
    with pmo.connect() as conn:
        result = publish(conn, pmo.paths.published, exclude)
    return dg.MaterializeResult(
        metadata={"path": str(pmo.paths.published / "pmo.duckdb"), "parquet": str(pmo.paths.published / "parquet"),
                  "build": result["build"], "tables": result["tables"], "storage_version": STORAGE_VERSION,
                  "columns_left_out": {t: c for t, c in exclude.items() if c},
                  "old_builds_removed": result["old_builds_removed"]}
    )  # fmt: skip
