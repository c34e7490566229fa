"""The weekly pipeline's assets, from the inbox's exports to the report pack and the e-mail.

Asset keys are [layer, table] and equal the DuckDB schema.table they write.
"""

import importlib
import json
import threading
from contextlib import suppress
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.ingest import ingest, unseen_bytes
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


# Up to this many new bytes in the inbox (a week's exports, not a first load of years of history), the contracts step's
# import of great-expectations (~7 s) is warmed up in a thread while the exports are ingested: it then costs the run
# nothing. Not beside a first load, whose peak memory it would add to (~150 MB).
WARM_UP_BYTES = 256 * 2**20


def _import_quietly(module: str) -> None:
    with suppress(Exception):  # a broken install fails where the module is used, with its own error
        importlib.import_module(module)


def warm_up_contracts(conn: duckdb.DuckDBPyConnection, inbox: Path) -> threading.Thread | None:
    """Start importing great-expectations in a daemon thread when the inbox's new files are at most WARM_UP_BYTES;
    the thread, or None."""
    if unseen_bytes(conn, inbox) > WARM_UP_BYTES:
        return None
    thread = threading.Thread(target=_import_quietly, args=("great_expectations",), daemon=True)
    thread.start()
    return thread


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
        warm_up_contracts(conn, pmo.inbox_dir)
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


@dg.asset(key=["audit", "contract_validations"], deps=[AUDIT_FILES, AUDIT_REJECTS], kinds={"duckdb"},
          pool="warehouse")  # fmt: skip
def contract_validations(pmo: PmoHome) -> dg.MaterializeResult:
    """Each contract as a great-expectations suite, and each file's contract checks as a GX validation result
    (JSON in audit.contract_suites and audit.contract_validations). Imports great-expectations (~7 s)."""
    from data_contracts.contract import all_contracts
    from data_contracts.expectations import suite, unexpected_counts, validation_result

    week_ends_on = pmo.settings().pipeline.week_ends_on
    with pmo.connect() as conn:
        files = conn.sql(
            "SELECT file_id, source_kind, rows_in_file FROM audit.files"
            " WHERE source_kind IS NOT NULL AND rows_in_file IS NOT NULL ORDER BY file_id"
        ).fetchall()
        rejects = conn.sql('SELECT file_id, "column", rule, raw_value FROM audit.rejects').pl()
        kinds = sorted({kind for _, kind, _ in files})
        suites = pl.DataFrame(
            {
                "kind": kinds,
                "suite": [json.dumps(suite(all_contracts()[k], week_ends_on).to_json_dict()) for k in kinds],
            },
            schema={"kind": pl.String, "suite": pl.String},
        )
        counts = {k: unexpected_counts(all_contracts()[k], rejects, week_ends_on) for k in kinds}
        rows = []
        for file_id, kind, rows_in_file in files:
            mine = counts[kind].filter(pl.col("file_id") == file_id)
            result = validation_result(all_contracts()[kind], rows_in_file, mine, week_ends_on).to_json_dict()
            rows.append((file_id, kind, result["success"], result["statistics"]["unsuccessful_expectations"],
                         json.dumps(result)))  # fmt: skip
        validations = pl.DataFrame(
            rows, schema={"file_id": pl.Int64, "kind": pl.String, "success": pl.Boolean,
                          "failed_expectations": pl.Int64, "result": pl.String}, orient="row",
        )  # fmt: skip
        warehouse.replace_table(conn, "audit.contract_suites", suites, ["kind"])
        warehouse.replace_table(conn, "audit.contract_validations", validations, ["file_id"])
    return dg.MaterializeResult(
        metadata={"suites": len(kinds), "files": validations.height,
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
