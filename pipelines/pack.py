"""The weekly report pack: read the marts, render the pages, write them aside and swap the folder in whole."""

import datetime as dt
import hashlib
import importlib.metadata
import shutil
import tempfile
from pathlib import Path

import dagster as dg

from pipelines import warehouse
from pipelines.assets import MARTS
from pipelines.resources import PmoHome


def pack_data(pmo: PmoHome):
    from reports.pack import PackInput

    with pmo.connect() as conn:
        status_date = pmo.status_date(conn)
        files = warehouse.read(conn, "audit.files")
        rejects = conn.sql("SELECT r.*, f.path FROM audit.rejects r JOIN audit.files f USING (file_id)").pl()
        exceptions = conn.sql(
            "SELECT project_id, exception AS reason, count(*) AS worklogs, CAST(sum(hours) AS DOUBLE) AS hours"
            " FROM marts.cost_exceptions GROUP BY ALL ORDER BY project_id NULLS FIRST, reason"
        ).pl()
        evm = conn.sql("SELECT * FROM marts.evm_weekly WHERE status_date <= ?", params=[status_date]).pl()
        portfolio = conn.sql("SELECT * FROM marts.portfolio_weekly WHERE status_date <= ?", params=[status_date]).pl()
        projects = warehouse.read(conn, "staging.projects")
    manifest = "\n".join(sorted(files.get_column("sha256").to_list()))
    return PackInput(
        status_date=status_date,
        currency=pmo.settings().pipeline.currency,
        projects=projects,
        evm=evm,
        portfolio=portfolio,
        files=files,
        rejects=rejects,
        exceptions=exceptions,
        snapshot=hashlib.sha256(manifest.encode()).hexdigest(),
        version=importlib.metadata.version("pmo-kpi"),
        generated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
    )


def swap_in(tmp: Path, target: Path) -> None:
    """Replace a folder whole: the old one is moved aside first, so the target is never half-written."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old)


@dg.asset(key=["reports", "pack"], deps=[[*name.split(".")] for name in MARTS],
          kinds={"html"})  # fmt: skip
def report_pack(context: dg.AssetExecutionContext, pmo: PmoHome) -> dg.MaterializeResult:
    """The weekly HTML pack, <home>/reports/<status_date>/: portfolio index, one page per project, data
    quality. Works offline; built aside and swapped in whole."""
    from reports.pack import render_pack

    inp = pack_data(pmo)
    pages = render_pack(inp)
    target = pmo.paths.reports / inp.status_date.isoformat()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{inp.status_date.isoformat()}.", dir=target.parent))
    for relative, html in pages.items():
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    tmp.chmod(0o755)
    swap_in(tmp, target)
    context.log.info(f"pack written to {target}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target / "index.html")), "pages": len(pages),
                  "status_date": inp.status_date.isoformat()}
    )  # fmt: skip
