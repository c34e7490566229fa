"""E-mail delivery of the weekly pack."""

import dagster as dg
import polars as pl

from pipelines.marts import record_sent
from pipelines.pack import pack_data
from pipelines.resources import Mailer, PmoHome


@dg.asset(key=["reports", "leadership_email"], deps=[["reports", "pack"]], kinds={"email"})
def leadership_email(context: dg.AssetExecutionContext, pmo: PmoHome, mailer: Mailer) -> dg.MaterializeResult:
    """The KPI e-mail for leadership: portfolio figures and a static chart, no names or rates. Sent by SMTP
    when configured, else written to <home>/outbox/."""
    from reports import charts
    from reports.email import leadership_email as build

    inp = pack_data(pmo)
    settings = pmo.settings().email
    total = inp.portfolio.filter(pl.col("group_level") == "total")
    png = charts.to_png(charts.s_curve(total, "Portfolio S-curve", inp.currency))
    message = build(inp, settings.sender, settings.leadership, png)
    outcome = mailer.deliver(message, pmo.paths.outbox, f"{inp.status_date.isoformat()}-leadership")
    with pmo.connect() as conn:
        frozen = record_sent(conn, inp.status_date)
    context.log.info(f"figures of {inp.status_date} frozen as sent for {frozen} project(s)")
    context.log.info(f"leadership e-mail {outcome}")
    return dg.MaterializeResult(metadata={"delivery": outcome, "recipients": len(settings.leadership)})
