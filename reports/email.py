"""The weekly e-mails: leadership's portfolio summary and each sponsor's projects.

E-mail-safe HTML (table layout, inline CSS, at most 600 px wide) with static PNG charts as inline CID images,
a plain-text alternative, and the pack as a zip attachment. Figures only: no people's names, no rates, no
per-person hours.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import polars as pl

from reports import charts
from reports.pack import (
    RAG_ORDER,
    environment,
    money,
    quadrant_rows,
    ratio,
    render_pack,
    s_curve_rows,
    with_status,
    worst_first,
    zip_pages,
)

COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828", "grey": "#6b7280"}
SERIES = {"pv": "Planned value (PV)", "ev": "Earned value (EV)", "ac": "Actual cost (AC)"}
MESSAGE_DOMAIN = "pmo-kpi.local"


@dataclass(frozen=True)
class Image:
    png: bytes
    alt: str


SUMMARY = "A summary of the pack (every portfolio page, and the page of each project listed above)"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes  # a zip of pack pages
    limit_mb: float = float("inf")  # larger than this, the message says where the pack is instead of carrying it
    elsewhere: str = ""  # where the pack can be found when it is not attached
    full: Attachment | None = None  # for a summary of a pack too large to attach (leadership's): that pack

    @property
    def attached(self) -> bool:
        return len(self.content) <= self.limit_mb * 1_000_000

    @property
    def size_mb(self) -> str:
        return f"{len(self.content) / 1_000_000:.1f}"


def project_figures(data, projects: set[str] | None = None) -> pl.DataFrame:
    """One row per project at the status date, worst first: register name and state, the headline figures, the
    computed RAG (the pack's: the worse of CPI and SPI(t)) and the project manager's override if any."""
    now = data.evm.filter(pl.col("status_date") == data.status_date)
    if projects is not None:
        now = now.filter(pl.col("project_id").is_in(sorted(projects)))
    register = data.projects.select("project_id", "name", state=pl.col("status"))
    frame = with_status(now, data.look).rename({"status": "rag"}).join(register, on="project_id", how="left")
    reports = data.status_reports
    if reports is not None and not reports.is_empty():
        week = reports.filter((pl.col("status_date") == data.status_date) & pl.col("rag_override").is_not_null())
        frame = frame.join(week.select("project_id", pl.col("rag_override").cast(pl.String)), on="project_id",
                           how="left")  # fmt: skip
    else:
        frame = frame.with_columns(rag_override=pl.lit(None, pl.String))
    return worst_first(frame.select(
        "project_id", "name", "state", "bac", "ev", "ac", "cpi", "spi", "spi_t", "eac", "vac", "rag", "rag_override",
        severity=pl.max_horizontal(
            pl.col("rag").replace_strict(RAG_ORDER, return_dtype=pl.Int8),
            pl.col("rag_override").replace_strict(RAG_ORDER, default=0, return_dtype=pl.Int8),
        ),
    ))  # fmt: skip


def _s_curve_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The s_curve chart's line layer from cumulative PV, EV and AC by status date."""
    return (
        frame.select("status_date", *SERIES)
        .with_columns(pl.col(list(SERIES)).cast(pl.Float64))
        .unpivot(index="status_date", variable_name="series", value_name="amount")
        .select(
            layer=pl.lit("line"),
            date=pl.col("status_date"),
            series=pl.col("series").replace_strict(SERIES),
            amount=pl.col("amount"),
        )  # fmt: skip
        .drop_nulls("amount")
        .sort("series", "date")
    )


def _drawn(specs: list[tuple[dict | None, str]]) -> list[tuple[dict, str]]:
    """The charts that have something to draw (a chart without rows is left out, not drawn empty)."""
    return [(chart, alt) for chart, alt in specs if chart is not None]


def leadership_charts(data, figures: pl.DataFrame) -> list[tuple[dict, str]]:
    """The portfolio S-curve and every project's CPI against SPI(t), the worst named: (Vega-Lite spec, alt text)."""
    total = data.portfolio.filter(pl.col("group_level") == "total").sort("status_date")
    # The pack's own S-curve rows: PV, EV, AC, BAC and the EAC forecast, as on the portfolio page.
    portfolio_curve = s_curve_rows(total.with_columns(project_id=pl.lit("")), None, data.status_date)
    return _drawn([
        (
            charts.spec("s_curve", portfolio_curve, f"Portfolio S-curve ({data.currency})"),
            "Portfolio S-curve: cumulative planned value, earned value and actual cost by week",
        ),
        (
            charts.spec("quadrant", quadrant_rows(figures, rag="rag"), "Cost and schedule efficiency"),
            "Each project's CPI against its SPI(t); above and right of 1.0 is under budget and ahead of schedule",
        ),
    ])  # fmt: skip


def sponsor_charts(data, figures: pl.DataFrame) -> list[tuple[dict, str]]:
    """The sponsor's projects: their summed S-curve and, with more than one project, CPI against SPI(t)."""
    ids = figures.get_column("project_id").to_list()
    history = data.evm.filter(pl.col("project_id").is_in(ids))
    # A week's EV is unknown when any project's is (the portfolio roll-up's rule); PV and AC always add up.
    summed = history.group_by("status_date").agg(
        pl.col("pv").sum(), pl.col("ac").sum(), pl.when(pl.col("ev").null_count() == 0).then(pl.col("ev").sum())
    )
    title = f"{ids[0]} S-curve ({data.currency})" if len(ids) == 1 else f"Your projects' S-curve ({data.currency})"
    drawn = [
        (
            charts.spec("s_curve", _s_curve_rows(summed.sort("status_date")), title),
            "Cumulative planned value, earned value and actual cost by week",
        )
    ]
    if len(ids) > 1:
        drawn.append(
            (
                charts.spec("quadrant", quadrant_rows(figures, rag="rag"), "Cost and schedule efficiency"),
                "Each project's CPI against its SPI(t); above and right of 1.0 is under budget and ahead of schedule",
            )
        )
    return _drawn(drawn)


def leadership_images(data, figures: pl.DataFrame) -> list[Image]:
    return [Image(charts.to_png(chart), alt) for chart, alt in leadership_charts(data, figures)]


def sponsor_images(data, figures: pl.DataFrame) -> list[Image]:
    return [Image(charts.to_png(chart), alt) for chart, alt in sponsor_charts(data, figures)]


# What a sponsor's pack and charts read besides the project pages, by project: split once for every recipient.
SPONSOR_FRAMES = ("evm", "projects", "risks", "closures", "closure_drivers", "baselines", "status_reports")


def by_recipient(data, projects_of: dict[str, list[str]]) -> dict[str, object]:
    """Each recipient's view of `data` (a reports.pack.PackData): the frames of SPONSOR_FRAMES restricted to their
    projects, each frame joined to the recipients once and split, instead of filtered once per recipient."""
    recipients = pl.DataFrame(
        {"_recipient": list(projects_of), "project_id": list(projects_of.values())},
        schema={"_recipient": pl.String, "project_id": pl.List(pl.String)},
    ).explode("project_id")
    split: dict[str, dict] = {address: {} for address in projects_of}
    for name in SPONSOR_FRAMES:
        frame = getattr(data, name)
        if frame is None:
            continue
        parts = frame.join(recipients, on="project_id", how="inner", maintain_order="left").partition_by(
            "_recipient", as_dict=True, include_key=False
        )
        for address in projects_of:  # one per recipient, not per data row
            split[address][name] = parts.get((address,), frame.clear())
    return {address: dataclasses.replace(data, **frames) for address, frames in split.items()}


def pack_zip(
    data,
    projects: set[str] | None = None,
    project_pages=None,
    runtime: str | None = None,
    written: Path | None = None,
    pages_of: set[str] | None = None,
) -> bytes:
    """The pack as sponsors and leadership may see it: never the PMO-only section; `projects` restricts it.
    `project_pages` gives the reports.pack.ProjectPages shared by the packs of one run's sponsors; `written`, the
    week's pack folder whose project pages are taken as written (reports.pack.WrittenPages); `pages_of`, the only
    projects whose pages it holds (leadership's summary)."""
    return zip_pages(render_pack(data, projects=projects, include_pmo=False, project_pages=project_pages,
                                 runtime=runtime, written=written, pages_of=pages_of))  # fmt: skip


def folder_zip(folder: Path) -> bytes:
    """A pack already written (the weekly run's), zipped without its PMO-only section: no second rendering."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] != "pmo")
    return zip_pages({p.relative_to(folder).as_posix(): p.read_bytes() for p in files})


def attention(figures: pl.DataFrame) -> dict[str, int]:
    """Of `project_figures`' projects: how many need attention (red or amber, by the computed RAG or the manager's
    override), how many of those are red, and how many projects there are."""
    severity = figures.get_column("severity")
    return {
        "watching": int((severity >= RAG_ORDER["amber"]).sum()),
        "red": int((severity == RAG_ORDER["red"]).sum()),
        "projects": figures.height,
    }


def watch_list(figures: pl.DataFrame, listed: int) -> pl.DataFrame:
    """The `listed` worst of `project_figures`' projects needing attention (red or amber): leadership's list."""
    return figures.filter(pl.col("severity") >= RAG_ORDER["amber"]).head(listed)  # worst first (project_figures)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("_") or "_"


def leadership_email(
    data,
    figures: pl.DataFrame,
    *,
    sender: str,
    recipient: str,
    images: list[Image],
    attachment: Attachment | None,
    provisional: bool,
    subject_prefix: str = "",
    date: dt.datetime | None = None,
    listed: int = 10,
) -> EmailMessage:
    """The portfolio summary: tiles with RAG, the charts, how many projects need attention (red and amber, by the
    computed RAG or the manager's override) and the `listed` worst of them, the pack attached (or its summary, whose
    `full` is the pack too large to attach). The pack's index lists every project: a long list is no summary."""
    total = with_status(
        data.portfolio.filter((pl.col("group_level") == "total") & (pl.col("status_date") == data.status_date)),
        data.look,
    )
    context = {"total": total.to_dicts()[0] if total.height else None, "watch": watch_list(figures, listed).to_dicts(),
               **attention(figures)}  # fmt: skip
    subject = f"Portfolio KPIs, week ending {data.status_date.isoformat()}"
    return _message(
        data, "email", context, subject, sender, recipient, images, attachment, provisional, subject_prefix, date
    )


def sponsor_email(
    data,
    figures: pl.DataFrame,
    *,
    sender: str,
    recipient: str,
    images: list[Image],
    attachment: Attachment | None,
    provisional: bool,
    subject_prefix: str = "",
    date: dt.datetime | None = None,
) -> EmailMessage:
    """A sponsor's projects, every one of them and worst first (`project_figures`' order), under how many need
    attention: a table of CPI, SPI(t), EAC, VAC and RAG (with the manager's override beside it), the charts, and the
    pack of just those projects attached."""
    ids = figures.get_column("project_id").to_list()
    about = f"{ids[0]} {figures.get_column('name')[0]}" if len(ids) == 1 else f"your {len(ids)} projects"
    subject = f"Project KPIs for {about}, week ending {data.status_date.isoformat()}"
    context = {"rows": figures.to_dicts(), **attention(figures)}
    return _message(
        data, "email_sponsor", context, subject, sender, recipient, images, attachment, provisional, subject_prefix,
        date,
    )  # fmt: skip


def _message(
    data, template, context, subject, sender, recipient, images, attachment, provisional, prefix, date
) -> EmailMessage:
    """multipart/mixed → (multipart/alternative → text/plain + multipart/related(text/html + image/png…)) + zip."""
    env = environment()
    cids = [make_msgid(domain=MESSAGE_DOMAIN) for _ in images]
    pack = "The full pack" if template == "email" else "The pack of these projects"
    common = {
        "status_date": data.status_date.isoformat(),
        "currency": data.currency,
        "snapshot": data.snapshot[:12],
        "provisional": provisional,
        "colours": COLOURS,
        "green": ratio(data.look.green),
        "amber": ratio(data.look.amber),
        "images": [{"cid": cid[1:-1], "alt": image.alt} for cid, image in zip(cids, images, strict=True)],
        "attachment": attachment.filename if attachment and attachment.attached else "",
        "too_large": None if attachment is None else attachment.full if attachment.attached else attachment,
        "attachment_what": SUMMARY if attachment is not None and attachment.full is not None else pack,
        "too_large_what": pack,
    }
    when = date or dt.datetime.now(dt.UTC)
    msg = EmailMessage()
    msg["Subject"] = " ".join(
        part for part in (prefix, subject, "(provisional)" if provisional else "") if part
    )  # fmt: skip
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    msg["Message-ID"] = make_msgid(idstring=f"pmo-kpi-{data.status_date.isoformat()}", domain=MESSAGE_DOMAIN)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(env.get_template(f"{template}.txt.j2").render(**common, **context, money=money, ratio=ratio))
    msg.add_alternative(env.get_template(f"{template}.html.j2").render(**common, **context), subtype="html")
    html = msg.get_payload()[1]
    for cid, image, n in zip(cids, images, range(1, len(images) + 1), strict=True):
        html.add_related(image.png, maintype="image", subtype="png", cid=cid, filename=f"chart-{n}.png")
    if attachment is not None and attachment.attached:
        msg.add_attachment(attachment.content, maintype="application", subtype="zip", filename=attachment.filename)
    return msg
