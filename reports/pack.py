"""The weekly report pack: portfolio index, one page per project, data quality. Frames in, HTML out.

Sponsor- and leadership-facing pages carry no per-person hours and no individual rates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jinja2
import polars as pl

from reports import charts

TEMPLATES = Path(__file__).with_name("templates")
GREEN, AMBER = 0.95, 0.85


@dataclass(frozen=True)
class PackInput:
    status_date: dt.date
    currency: str
    projects: pl.DataFrame  # the project register
    evm: pl.DataFrame  # marts.evm_weekly, every week up to the status date
    portfolio: pl.DataFrame  # marts.portfolio_weekly
    files: pl.DataFrame  # audit.files
    rejects: pl.DataFrame  # audit.rejects
    exceptions: pl.DataFrame  # marts.cost_exceptions (aggregated: no names)
    snapshot: str  # hash of the manifest the pack was built from
    version: str
    generated_at: dt.datetime


def rag(value: float | None) -> str:
    if value is None:
        return "grey"
    return "green" if value >= GREEN else "amber" if value >= AMBER else "red"


def money(value: Decimal | float | None) -> str:
    return "–" if value is None else f"{float(value):,.0f}"


def ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, ratio=ratio, percent=percent, rag=rag)
    return env


def project_slug(project_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project_id)


def latest_rows(evm: pl.DataFrame, projects: pl.DataFrame, status_date: dt.date) -> list[dict]:
    """One row per project at the status date, with its register fields and page link."""
    latest = evm.filter(pl.col("status_date") == status_date)
    rows = latest.join(projects.select("project_id", "name", "portfolio", "manager", "sponsor"), on="project_id")
    return [r | {"href": f"projects/{project_slug(r['project_id'])}.html"} for r in rows.sort("project_id").to_dicts()]


def render_pack(inp: PackInput) -> dict[str, str]:
    """Relative path → HTML for every page of the pack."""
    env = environment()
    stamp = {
        "status_date": inp.status_date.isoformat(),
        "snapshot": inp.snapshot[:12],
        "version": inp.version,
        "generated_at": inp.generated_at.isoformat(timespec="seconds"),
        "currency": inp.currency,
    }
    total = inp.portfolio.filter(pl.col("group_level") == "total")
    total_now = total.filter(pl.col("status_date") == inp.status_date).to_dicts()
    portfolios = inp.portfolio.filter(
        (pl.col("group_level") == "portfolio") & (pl.col("status_date") == inp.status_date)
    ).to_dicts()
    projects = latest_rows(inp.evm, inp.projects, inp.status_date)
    baselines = sorted({f"{p['project_id']} v{p['baseline_version']}" for p in projects})
    pages = {
        "index.html": env.get_template("index.html.j2").render(
            stamp=stamp | {"baselines": ", ".join(baselines)},
            root="",
            total=total_now[0] if total_now else None,
            portfolios=portfolios,
            projects=projects,
            chart=charts.to_svg(charts.s_curve(total, "Portfolio S-curve", inp.currency)) if total.height else "",
        )
    }
    for project in projects:
        history = inp.evm.filter(pl.col("project_id") == project["project_id"]).sort("status_date")
        chart = charts.s_curve(history, f"{project['project_id']} · {project['name']}", inp.currency)
        pages[project["href"]] = env.get_template("project.html.j2").render(
            stamp=stamp | {"baselines": f"v{project['baseline_version']}"},
            root="../",
            project=project,
            weeks=history.sort("status_date", descending=True).to_dicts(),
            chart=charts.to_svg(chart),
        )
    pages["data-quality.html"] = env.get_template("data_quality.html.j2").render(
        stamp=stamp | {"baselines": ", ".join(baselines)},
        root="",
        files=inp.files.sort("file_id").to_dicts(),
        rejects=inp.rejects.sort("file_id", "line").head(500).to_dicts(),
        rejects_total=inp.rejects.height,
        exceptions=inp.exceptions.to_dicts(),
    )
    return pages
