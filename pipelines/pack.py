"""The weekly report pack: read the marts, render the pages, write them aside and swap the folder in whole."""

import datetime as dt
import hashlib
import importlib.metadata
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines import warehouse
from pipelines.assets import MARTS
from pipelines.faults import crash_point
from pipelines.partitions import WEEKLY_ASSET, status_dates
from pipelines.resources import PmoHome


def pack_data(pmo: PmoHome, as_of: dt.date | None = None):
    """Everything the pack shows, read from the warehouse up to the status date (`as_of`, the run's partition key,
    else the resource's as-of date, else the last complete week in the data)."""
    from reports.pack import Look, PackData
    from transforms.itam import itam_renewals

    settings = pmo.settings()
    with pmo.connect() as conn:
        day = pmo.status_date(conn, as_of)

        def upto(name: str, extra: str = "") -> pl.DataFrame:
            return conn.sql(f"SELECT * FROM {name} WHERE status_date <= ? {extra}", params=[day]).pl()

        def at(name: str) -> pl.DataFrame:
            return conn.sql(f"SELECT * FROM {name} WHERE status_date = ?", params=[day]).pl()

        def optional(schema: str, table: str, query: str) -> pl.DataFrame | None:
            if not warehouse.table_exists(conn, schema, table):
                return None
            return conn.sql(query.format(f"{schema}.{table}"), params=[day]).pl()

        files = conn.sql("SELECT * FROM audit.files ORDER BY file_id").pl()
        data = PackData(
            status_date=day,
            currency=settings.pipeline.currency,
            look=Look(**settings.report.model_dump()),
            projects=warehouse.read(conn, "staging.projects"),
            evm=upto("marts.evm_weekly"),
            portfolio=upto("marts.portfolio_weekly"),
            forecast=at("marts.evm_forecast"),
            baselines=warehouse.read(conn, "marts.baseline_versions"),
            cost=upto("marts.actual_cost_weekly"),
            milestones=upto("marts.milestone_history"),  # each week's: also a backfill's earlier packs show theirs
            risks=conn.sql(
                "SELECT * FROM marts.risk_exposure WHERE status_date IN (?, ? - INTERVAL 7 DAY)", params=[day, day]
            ).pl(),  # fmt: skip
            flags=at("marts.evm_flags"),
            restatements=upto("marts.evm_restatements"),
            exceptions=conn.sql(
                "SELECT project_id, exception AS reason, count(*) AS worklogs, CAST(sum(hours) AS DOUBLE) AS hours"
                " FROM marts.cost_exceptions WHERE work_date <= ? GROUP BY ALL",
                params=[day],
            ).pl(),
            timesheets=upto("marts.project_timesheet_completeness"),
            teams=upto("marts.team_utilisation"),
            flow=upto("marts.ticket_flow"),
            flow_items=at("marts.ticket_flow_items"),
            itam_cost=at("marts.itam_cost"),
            renewals=itam_renewals(warehouse.read(conn, "marts.itam_due_dates"), day),  # its week's, as milestones
            gaps=warehouse.read(conn, "marts.itam_gaps"),
            closures=conn.sql("SELECT * FROM marts.project_closure WHERE closed_on <= ?", params=[day]).pl(),
            closure_drivers=warehouse.read(conn, "marts.closure_drivers"),
            files=files,
            rejects=conn.sql("SELECT r.*, f.path FROM audit.rejects r JOIN audit.files f USING (file_id)").pl(),
            validations=warehouse.read(conn, "audit.contract_validations"),
            freshness=optional("marts", "source_freshness", "SELECT * FROM {} WHERE status_date = ?"),
            status_reports=optional("staging", "status_reports", "SELECT * FROM {} WHERE status_date <= ?"),
            person_exceptions=conn.sql(
                "SELECT e.*, f.path FROM marts.cost_exceptions e LEFT JOIN audit.files f ON f.file_id = e._source_file"
                " WHERE e.work_date <= ?",
                params=[day],
            ).pl(),
            person_timesheets=at("marts.timesheet_completeness"),
            person_utilisation=at("marts.resource_utilisation"),
            snapshot=hashlib.sha256("\n".join(sorted(files.get_column("sha256").to_list())).encode()).hexdigest(),
            version=importlib.metadata.version("pmo-kpi"),
            generated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        )
    return data


def runtime_cache(pmo: PmoHome) -> Path:
    """Where the pack's Vega script is kept between runs (reports.charts.runtime): a hidden folder beside the
    packs, which `pmo forget` and the pack listings pass over like .builds/."""
    return pmo.paths.reports / ".cache"


def write_pack(pages: dict[str, str | bytes], target: Path) -> None:
    """Write the pack aside, then point <target> at it in one rename: a reader sees the old pack or the new one,
    never half of either. <target> is a symbolic link into <reports>/.builds/."""
    builds = target.parent / ".builds"
    builds.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=builds))
    for done, (relative, content) in enumerate(pages.items()):
        if done == len(pages) // 2:
            crash_point("pack")  # tests/reliability: killed with half of the pack's files written
        path = build / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    build.chmod(0o755)
    link = target.with_name(f".{target.name}.link")
    link.unlink(missing_ok=True)
    link.symlink_to(build.relative_to(target.parent))
    if target.is_dir() and not target.is_symlink():  # a pack written before packs were links
        shutil.rmtree(target)
    link.replace(target)
    for stale in builds.glob(f"{target.name}.*"):  # the pack it replaced, and any left by a crashed run
        if stale != build:
            shutil.rmtree(stale, ignore_errors=True)


@dg.asset(key=["reports", "pack"], deps=[[*name.split(".")] for name in MARTS] + [["staging", "status_reports"]]
          + [["audit", "contract_validations"]], kinds={"html"}, **WEEKLY_ASSET)  # fmt: skip
def report_pack(context: dg.AssetExecutionContext, pmo: PmoHome) -> dg.MaterializeResult:
    """The weekly HTML pack, <home>/reports/<status_date>/: portfolio, one page per project, IT pages, data
    quality, methodology, month end, every table as CSV, and the PMO-only pmo/ section. Works offline (the Vega
    runtime is shipped inside); written aside and swapped in whole. A backfill writes one pack per status date of
    its range, from the marts built once for the whole range."""
    from reports.charts import runtime
    from reports.pack import render_pack

    written = []
    for day in status_dates(context) or [None]:  # one pack per week of the run
        data = pack_data(pmo, day)
        pages = render_pack(data, runtime=runtime(runtime_cache(pmo)))
        target = pmo.paths.reports / data.status_date.isoformat()
        write_pack(pages, target)
        html = sum(name.endswith(".html") for name in pages)
        context.log.info(f"pack written to {target}: {html} pages")
        written.append(data.status_date.isoformat())
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target / "index.html")), "pages": html, "files": len(pages),
                  "status_date": written[-1], "packs": len(written), "provisional": data.provisional}
    )  # fmt: skip
