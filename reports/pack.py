"""The weekly report pack: frames in, pages out (relative path → HTML, CSV or script). No I/O here.

Public pages (portfolio, projects, IT, data quality, methodology, month end) carry no individual rates and no
per-person hours; person-level tables live only under pmo/, which `render_pack(..., include_pmo=False)` leaves
out (the e-mails attach that variant). Same data in, same bytes out, apart from the generated-at stamp.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup

from reports import charts
from reports.tables import Table, badge, cell, clean, csv_by_key, money, percent, ratio, table

TEMPLATES = Path(__file__).with_name("templates")
RAG_ORDER = {"grey": 0, "green": 1, "amber": 2, "red": 3}
# how each restated measure (transforms/restatements.py) is shown: its value (text) and its signed difference
RESTATED_FORMATS = {"bac": ("money", "change"), "pv": ("money", "change"), "ev": ("money", "change"),
                    "ac": ("money", "change"), "eac": ("money", "change"), "cpi": ("ratio", "ratio change"),
                    "spi": ("ratio", "ratio change"), "spi_t": ("ratio", "ratio change"),
                    "baseline_version": ("text", "change"), "forecast_finish": ("date", "days")}  # fmt: skip


@dataclass(frozen=True)
class Look:
    """How the pack judges and groups: RAG thresholds, the smallest group shown, the reporting period."""

    green: float = 0.95  # an index at or above this is green
    amber: float = 0.85  # at or above this amber, below it red
    min_group_size: int = 3  # aggregates over fewer people are not shown (they would reveal a person's hours)
    period: str = "month"  # month | quarter: the month-end view's periods
    fiscal_year_start: int = 1  # first month of the fiscal year, for quarters


@dataclass(frozen=True)
class PackData:
    """Everything the pack shows, read from the marts up to the status date. Optional marts may be None."""

    status_date: dt.date
    currency: str
    look: Look
    projects: pl.DataFrame  # staging.projects
    evm: pl.DataFrame  # marts.evm_weekly
    portfolio: pl.DataFrame  # marts.portfolio_weekly
    forecast: pl.DataFrame  # marts.evm_forecast
    baselines: pl.DataFrame  # marts.baseline_versions
    cost: pl.DataFrame  # marts.actual_cost_weekly
    milestones: pl.DataFrame  # marts.milestone_history up to the status date
    risks: pl.DataFrame  # marts.risk_exposure, status date and the week before
    flags: pl.DataFrame  # marts.evm_flags at the status date
    restatements: pl.DataFrame  # marts.evm_restatements
    exceptions: pl.DataFrame  # marts.cost_exceptions aggregated: project_id, reason, worklogs, hours
    timesheets: pl.DataFrame  # marts.project_timesheet_completeness
    teams: pl.DataFrame  # marts.team_utilisation
    flow: pl.DataFrame  # marts.ticket_flow
    flow_items: pl.DataFrame  # marts.ticket_flow_items at the status date
    itam_cost: pl.DataFrame  # marts.itam_cost at the status date
    renewals: pl.DataFrame  # transforms.itam.itam_renewals at the status date, from marts.itam_due_dates
    gaps: pl.DataFrame  # marts.itam_gaps
    closures: pl.DataFrame  # marts.project_closure
    closure_drivers: pl.DataFrame  # marts.closure_drivers
    files: pl.DataFrame  # audit.files
    rejects: pl.DataFrame  # audit.rejects with the file's path
    validations: pl.DataFrame  # audit.contract_validations
    freshness: pl.DataFrame | None  # marts.source_freshness at the status date
    status_reports: pl.DataFrame | None  # staging.status_reports: commentary and RAG overrides
    person_exceptions: pl.DataFrame  # PMO only: marts.cost_exceptions with names
    person_timesheets: pl.DataFrame  # PMO only: marts.timesheet_completeness
    person_utilisation: pl.DataFrame  # PMO only: marts.resource_utilisation
    snapshot: str  # hash of the manifest the pack was built from
    version: str
    generated_at: dt.datetime

    @property
    def stale(self) -> pl.DataFrame:
        if self.freshness is None or self.freshness.is_empty():
            return pl.DataFrame(schema={"source_kind": pl.String})
        return self.freshness.filter(pl.col("stale"))

    @property
    def provisional(self) -> bool:
        """Some source has not delivered recently: the figures may move when it does."""
        return not self.stale.is_empty()


# --- formatting -------------------------------------------------------------------------------------------------


@functools.cache
def environment() -> jinja2.Environment:
    """One environment per process: it keeps the compiled templates (a sponsor's pack would otherwise compile every
    template again, ~0.1 s per e-mail)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=clean,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, ratio=ratio, percent=percent, cell=cell, badge=badge)
    return env


def rag_of(column: str, look: Look) -> pl.Expr:
    value = pl.col(column)
    return (
        pl.when(value.is_null()).then(pl.lit("grey"))
        .when(value >= look.green).then(pl.lit("green"))
        .when(value >= look.amber).then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )  # fmt: skip


def with_status(frame: pl.DataFrame, look: Look) -> pl.DataFrame:
    """cpi_rag, spi_t_rag and the computed status: the worse of cost (CPI) and schedule (SPI(t))."""
    frame = frame.with_columns(cpi_rag=rag_of("cpi", look), spi_t_rag=rag_of("spi_t", look))
    order = {k: v for k, v in RAG_ORDER.items()}
    back = {v: k for k, v in order.items()}
    return frame.with_columns(
        status=pl.max_horizontal(
            pl.col("cpi_rag").replace_strict(order), pl.col("spi_t_rag").replace_strict(order)
        ).replace_strict(back, return_dtype=pl.String)
    )


QUADRANT_LABELS = 10  # a CPI-against-SPI(t) chart names only its worst points: a thousand labels are one blot


def worst_first(frame: pl.DataFrame) -> pl.DataFrame:
    """Projects (with `severity`, the RAG_ORDER of their RAG) worst first: the most severe, then the lower of CPI
    and SPI(t), then the project id; a project without either ratio after those with one."""
    return frame.sort(["severity", pl.min_horizontal("cpi", "spi_t"), "project_id"], descending=[True, False, False],
                      nulls_last=True)  # fmt: skip


def quadrant_rows(ranked: pl.DataFrame, rag: str) -> pl.DataFrame:
    """The quadrant chart's rows from projects ranked by `worst_first`: a point for each project with both CPI and
    SPI(t), coloured by its `rag` column, the first QUADRANT_LABELS of them labelled with their id (every point
    keeps its tooltip), and the 1.0 guide lines. No rows, so no chart, when no project has both ratios."""
    points = ranked.drop_nulls(["cpi", "spi_t"]).select(
        layer=pl.lit("point"), project=pl.col("project_id"), cpi=pl.col("cpi"), spi_t=pl.col("spi_t"),
        rag=pl.col(rag), label=pl.when(pl.int_range(pl.len()) < QUADRANT_LABELS).then(pl.col("project_id")),
        value=pl.lit(None, pl.Float64),
    )  # fmt: skip
    if points.is_empty():
        return points
    return pl.concat([points, pl.DataFrame({"layer": ["one"], "value": [1.0]})], how="diagonal_relaxed")


SLUG = r"[^\w-]"  # a project id's characters that are not safe in a file name become "_"


def slug(project_id: str) -> str:
    return re.sub(SLUG, "_", project_id)


def script_json(value: object) -> Markup:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close it or open a comment."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def by_project(frame: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    if frame is None or frame.is_empty():
        return {}
    return {key[0]: part for key, part in frame.partition_by("project_id", as_dict=True).items()}


# --- pages ------------------------------------------------------------------------------------------------------


# A page's footer names the baseline version in force of each project it covers: a project page its own, a page
# over more projects than this the Methodology page's table instead (1,000 names were 13 KB on every page).
FOOTER_BASELINES = 12


def baselines_stamp(versions: list[tuple[str, int | None]]) -> str:
    """The footer's baselines: "P-1 v2, P-2 v1", or where to find them when there are more than FOOTER_BASELINES."""
    if len(versions) > FOOTER_BASELINES:
        return f"of {len(versions)} projects: see Methodology"
    return ", ".join(f"{p} v{v}" for p, v in versions)


@dataclass
class Page:
    path: str
    template: str
    title: str
    context: dict
    tables: list[Table] = dataclasses.field(default_factory=list)
    charts: dict[str, dict] = dataclasses.field(default_factory=dict)
    baselines: str | None = None  # the footer's baselines when not the pack's (a project page: its own)
    inputs: str | None = None  # a project page: the digest of what it is made of (page_digests)


def nav_html(nav: list[tuple[str, str]], root: str) -> Markup:
    """A page's header links (one definition for the pages rendered here and those taken from a written pack)."""
    return Markup("").join(Markup('<a href="{}">{}</a>').format(root + href, label) for href, label in nav)


# The frames a project page is made of (pack_frames, ProjectPages), each with a project_id column.
PAGE_FRAMES = ("projects", "evm", "forecast", "baselines", "cost", "milestones", "risks", "exceptions", "timesheets",
               "flags", "status_reports")  # fmt: skip


def page_digests(data: PackData, projects: pl.Series) -> dict[str, str]:
    """Per project of `projects`, a digest of what its page is made of: the pack's settings and stamp (not the
    generated-at time) and the project's rows of every frame in PAGE_FRAMES. A written page with the same digest is
    the page rendering would give again; a sponsor's share of the data gives their projects the same digests."""
    common = repr((data.status_date, data.snapshot, data.version, data.currency, data.look, data.stale.rows()))
    frames = [(n, getattr(data, name)) for n, name in enumerate(PAGE_FRAMES) if getattr(data, name) is not None]
    mine = [(n, frame.filter(pl.col("project_id").is_in(projects.implode()))) for n, frame in frames]
    sums = [
        frame.select("project_id", frame=pl.lit(n), rows=frame.hash_rows(seed=0))
        .group_by("project_id", "frame").agg(pl.col("rows").sum())  # wraps around: the same rows, the same sum
        for n, frame in mine if not frame.is_empty()
    ]  # fmt: skip
    if not sums:
        return {}
    rows = (
        pl.concat(sums)
        .sort("project_id", "frame")
        .group_by("project_id", maintain_order=True)
        .agg(pl.struct("frame", "rows").hash(seed=0).sum().alias("digest"))  # a per-frame sum, in frame order
    )
    prefix = hashlib.sha256(common.encode()).hexdigest()[:16]
    return {pid: f"{prefix}-{digest:016x}" for pid, digest in rows.iter_rows()}


class Renderer:
    def __init__(self, data: PackData, nav: list[tuple[str, str]], baselines: str):
        self.data = data
        self.env = environment()
        self.nav = nav
        self.stamp = {
            "status_date": data.status_date.isoformat(),
            "snapshot": data.snapshot[:12],
            "version": data.version,
            "generated_at": data.generated_at.isoformat(timespec="seconds"),
            "currency": data.currency,
            "baselines": baselines,
            "green": f"{data.look.green:.2f}",
            "amber": f"{data.look.amber:.2f}",
            "provisional": data.provisional,
            "stale": ", ".join(data.stale.get_column("source_kind").to_list()),
        }
        self._templates: dict[str, jinja2.Template] = {}

    def render(self, page: Page) -> dict[str, str | bytes]:
        depth = page.path.count("/")
        stem = page.path.rsplit("/", 1)[-1].removesuffix(".html")
        tables = {t.id: dataclasses.replace(t, csv=f"{stem}.{t.id}.csv") for t in page.tables}
        folder = page.path.rsplit("/", 1)[0] + "/" if "/" in page.path else ""
        template = self._templates.get(page.template) or self._templates.setdefault(
            page.template, self.env.get_template(page.template)
        )
        drawn = {k: v for k, v in page.charts.items() if v is not None}
        html = template.render(
            **page.context,
            title=page.title,
            root="../" * depth,
            nav=nav_html(self.nav, "../" * depth),
            stamp=self.stamp if page.baselines is None else self.stamp | {"baselines": page.baselines},
            inputs=page.inputs,
            tables=tables,
            chart_specs=script_json(drawn),
            chart_ids=set(drawn),
            has_charts=bool(drawn),
        )
        out: dict[str, str | bytes] = {page.path: html}
        for t in tables.values():
            out[folder + t.csv] = t.to_csv()
        return out


def pack_frames(data: PackData, projects: set[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The pack's earned value history with its status, and the status date's row per project with the register's
    columns, the page's href and the manager's override: of every project, or of `projects` (a sponsor's)."""
    subset = projects is not None
    evm = data.evm if not subset else data.evm.filter(pl.col("project_id").is_in(sorted(projects)))
    register = data.projects if not subset else data.projects.filter(pl.col("project_id").is_in(sorted(projects)))
    evm = with_status(evm.sort("project_id", "status_date"), data.look)
    now = (
        evm.filter(pl.col("status_date") == data.status_date)
        .join(
            register.select("project_id", "name", "portfolio", "manager", "sponsor", "ev_technique", "status"),
            on="project_id",
            how="left",
            suffix="_register",
        )
        .with_columns(href=pl.lit("projects/") + pl.col("project_id").str.replace_all(SLUG, "_") + pl.lit(".html"))
    )
    return evm, _with_overrides(now, data)


def render_pack(
    data: PackData,
    projects: set[str] | None = None,
    include_pmo: bool = True,
    project_pages: Callable[[], ProjectPages] | None = None,
    runtime: str | None = None,
    written: Path | None = None,
    pages_of: set[str] | None = None,
) -> dict[str, str | bytes]:
    """Relative path → content for every file of the pack. With `projects`, a pack of just those projects
    (a sponsor's): their pages, the portfolio index over them, methodology and month end. `project_pages` gives
    the ProjectPages built once for many packs of the same data (the sponsors'); it must hold every project of
    this one. `runtime` is charts.runtime()'s script when the caller has it (from its cache). `written` is a pack
    folder already written (the week's): the project pages it holds from the same inputs are taken from it with
    their CSVs (`WrittenPages`), not rendered again. With `pages_of`, the pack holds the project pages of only those
    of its projects (leadership's summary of a pack too large to e-mail): the index still lists every project, and
    links those."""
    subset = projects is not None
    evm, now = pack_frames(data, projects)
    if pages_of is not None:
        now = now.with_columns(href=pl.when(pl.col("project_id").is_in(sorted(pages_of))).then("href"))
    baselines = baselines_stamp(now.select("project_id", "baseline_version").sort("project_id").rows())
    nav = [("index.html", "Portfolio"), ("month-end.html", "Month end")]
    if not subset:
        nav += [("it/service-desk.html", "Service desk"), ("it/utilisation.html", "Utilisation"),
                ("it/assets.html", "Assets"), ("data-quality.html", "Data quality")]  # fmt: skip
    nav.append(("methodology.html", "Methodology"))
    renderer = Renderer(data, nav, baselines)
    out: dict[str, str | bytes] = {"assets/vega.js": runtime or charts.runtime()}
    paged = now.filter(pl.col("href").is_not_null())
    held = None if pages_of is None else paged.height
    pages = [_index(data, evm, now, subset, held)]
    digests = page_digests(data, paged.get_column("project_id"))
    taken = WrittenPages(written, nav) if written is not None else None
    shared = project_pages or functools.cache(lambda: ProjectPages(data, evm, paged))
    for row in paged.sort("project_id").iter_rows(named=True):
        digest = digests.get(row["project_id"])
        files = taken.files(row["href"], digest) if taken is not None and digest is not None else None
        if files is None:
            pages.append(dataclasses.replace(shared().page(row), inputs=digest))
        else:
            out |= files
    pages += [_month_end(data, evm, now), _methodology(data, now)]
    closed = data.closures if not subset else data.closures.filter(pl.col("project_id").is_in(sorted(projects)))
    pages += _closure_pages(data, closed)
    if not subset:
        pages += [_service_desk(data), _utilisation(data), _assets(data), _data_quality(data)]
    if include_pmo and not subset:
        pages.append(_pmo(data))
    for page in pages:
        out |= renderer.render(page)
    return dict(sorted(out.items()))


class WrittenPages:
    """The project pages of a pack already written, for another pack of the same data (a sponsor's, from the week's
    pack): a page is taken as written, with its CSVs, when it carries the digest this pack would give it
    (page_digests); only its header links become this pack's. Reading a page is far cheaper than rendering it."""

    def __init__(self, folder: Path, nav: list[tuple[str, str]]):
        self.folder, self.nav = folder, nav

    def files(self, href: str, digest: str) -> dict[str, str | bytes] | None:
        """The page at `href` and its CSVs as this pack's files, or None when the folder has no such page of this
        digest (then it is rendered)."""
        path = self.folder / href
        try:
            html = path.read_text(encoding="utf-8")
        except OSError:
            return None
        start, end = html.find("<nav>"), html.find("</nav>")
        if f'<meta name="pmo-kpi-inputs" content="{digest}">' not in html[: max(start, 0)] or end < start:
            return None
        links = str(nav_html(self.nav, "../" * href.count("/")))  # plain text: the page is not escaped again
        out: dict[str, str | bytes] = {href: html[: start + len("<nav>")] + links + html[end:]}
        folder, stem = href.rpartition("/")[0], path.name.removesuffix(".html")
        for table_id, *_ in PROJECT_TABLES.values():  # a project page's CSVs: <stem>.<table id>.csv
            csv = path.with_name(f"{stem}.{table_id}.csv")
            if csv.is_file():
                out[f"{folder}/{csv.name}" if folder else csv.name] = csv.read_bytes()
        return out


def zip_pages(pages: dict[str, str | bytes]) -> bytes:
    """The pack as one zip, the same bytes for the same pages (fixed timestamps, sorted names). The first member,
    assets/vega.js in every pack, is compressed once per process and the rest appended to it (the same bytes as
    writing it afresh: tests/reports/test_batched.py)."""
    names = sorted(pages)
    buffer = io.BytesIO(_zipped_one(names[0], _encoded(pages[names[0]])) if names else b"")
    with zipfile.ZipFile(buffer, "a" if names else "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names[1:]:
            archive.writestr(_zip_info(name), _encoded(pages[name]))
    return buffer.getvalue()


def _encoded(content: str | bytes) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


@functools.lru_cache(maxsize=2)
def _zipped_one(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_zip_info(name), content)
    return buffer.getvalue()


def _with_overrides(now: pl.DataFrame, data: PackData) -> pl.DataFrame:
    columns = ["rag_override", "override_reason", "author", "entered_on", "commentary", "actions"]
    reports = data.status_reports
    if reports is None or reports.is_empty():
        return now.with_columns(pl.lit(None, pl.String).alias(c) for c in columns)
    week = reports.filter(pl.col("status_date") == data.status_date).select(
        "project_id", *(pl.col(c).cast(pl.String) for c in columns)
    )
    return now.join(week, on="project_id", how="left")


# --- portfolio index --------------------------------------------------------------------------------------------

PROJECT_COLUMNS = [("label", "Project"), ("portfolio", "Portfolio"), ("status", "Status", "rag"),
                   ("rag_override", "Override", "rag"), ("cpi", "CPI", "ratio"), ("spi_t", "SPI(t)", "ratio"),
                   ("spi", "SPI", "ratio"), ("bac", "BAC", "money"), ("ev", "EV", "money"), ("ac", "AC", "money"),
                   ("eac", "EAC", "money"), ("vac", "VAC", "money"), ("pct_complete", "% complete", "percent"),
                   ("forecast_finish", "Forecast finish", "date")]  # fmt: skip


def _labelled(now: pl.DataFrame) -> pl.DataFrame:
    return now.with_columns(label=pl.col("project_id") + pl.lit(" · ") + pl.col("name").fill_null(""))


def restated_rows(restatements: pl.DataFrame) -> pl.DataFrame:
    """The restatements (marts.evm_restatements) a reader can see, each with its format: the newest week first, then
    the largest change relative to the figure sent (a forecast finish: the days it moved against the days it then had
    to go, four weeks at least, so that a day's move near the end does not outrank a cost). A change to or from no
    figure (NULL) comes first in its week; a change too small to show (a CPI of 1.4527 sent, 1.4548 now: 1.45 both)
    is left out. The mart keeps every one."""
    kind = pl.col("measure").replace_strict({m: f[0] for m, f in RESTATED_FORMATS.items()}, default="text")
    sent, now = (pl.col(c).cast(pl.Float64, strict=False) for c in ("as_sent", "restated"))
    to_go = (pl.col("as_sent").str.to_date(strict=False) - pl.col("status_date")).dt.total_days().clip(lower_bound=28)
    shows_same = (
        pl.when(kind == "money").then(sent.round(0) == now.round(0))
        .when(kind == "ratio").then(sent.round(2) == now.round(2))
        .otherwise(pl.col("difference") == 0)
    )  # fmt: skip
    return (
        restatements.filter(shows_same.not_().fill_null(True))
        .with_columns(
            value_format=kind,
            difference_format=pl.col("measure").replace_strict({m: f[1] for m, f in RESTATED_FORMATS.items()},
                                                               default="number"),
            materiality=pl.when(kind == "date").then(pl.col("difference") / to_go)
            .otherwise(pl.col("difference") / sent).abs(),
        )
        .sort(["status_date", "materiality", "project_id", "measure"], descending=[True, True, False, False],
              nulls_last=[False, False, False, False])
        .drop("materiality")
    )  # fmt: skip


def _index(data: PackData, evm: pl.DataFrame, now: pl.DataFrame, subset: bool, held: int | None = None) -> Page:
    """The portfolio page. `held`: how many project pages the pack holds when not every one (a summary pack)."""
    look = data.look
    total = data.portfolio.filter(pl.col("group_level") == "total").sort("status_date")
    total_now = with_status(total.filter(pl.col("status_date") == data.status_date), look).to_dicts()
    labelled = _labelled(now)
    previous = data.status_date - dt.timedelta(days=7)
    before = evm.filter(pl.col("status_date") == previous).select(
        "project_id", prev_status="status", prev_cpi="cpi", prev_spi_t="spi_t", prev_eac="eac"
    )
    changes = (
        labelled.join(before, on="project_id", how="left")
        .with_columns(
            change=pl.when(pl.col("prev_status").is_null()).then(pl.lit("new this week"))
            .when(pl.col("prev_status") != pl.col("status"))
            .then(pl.col("prev_status") + pl.lit(" → ") + pl.col("status"))
            .otherwise(pl.lit("")),
            d_cpi=pl.col("cpi") - pl.col("prev_cpi"), d_spi_t=pl.col("spi_t") - pl.col("prev_spi_t"),
            d_eac=(pl.col("eac").cast(pl.Float64) - pl.col("prev_eac").cast(pl.Float64)),
        )
        .filter((pl.col("change") != "") | (pl.col("d_eac").abs() > 0))
        .sort(pl.col("change") == "", pl.col("d_eac").abs(), "project_id", descending=[False, True, False],
              nulls_last=True)
    )  # fmt: skip
    risks = data.risks if not subset else data.risks.filter(pl.col("project_id").is_in(now["project_id"].to_list()))
    risks_now = risks.filter(pl.col("status_date") == data.status_date)
    new_risks = risks_now.join(
        risks.filter(pl.col("status_date") == previous).select("project_id", "risk_id", "source"),
        on=["project_id", "risk_id", "source"], how="anti", nulls_equal=True,
    ).sort("exposure_cost", "project_id", "risk_id", descending=[True, False, False], nulls_last=True)  # fmt: skip
    risk_columns = [("project_id", "Project"), ("risk_id", "Risk"), ("title", "Title"), ("source", "Source"),
                    ("probability", "Probability", "percent"), ("exposure_cost", "Exposure", "money"),
                    ("exposure_days", "Exposure (days)", "number"), ("heat_band", "Heat")]  # fmt: skip
    tables = [
        table("projects", "Projects", labelled.sort("project_id"), PROJECT_COLUMNS, link="href"),
        table("cost-variance", "Largest cost variances", labelled.filter(pl.col("cv") < 0).sort("cv", "project_id"),
              [("label", "Project"), ("cv", "CV", "money"), ("cv_pct", "CV %", "percent"), ("cpi", "CPI", "ratio"),
               ("vac", "VAC", "money")], link="href", limit=5),
        table("schedule-variance", "Largest schedule variances",
              labelled.filter(pl.col("sv_t_weeks") < 0).sort("sv_t_weeks", "project_id"),
              [("label", "Project"), ("sv_t_weeks", "SV(t) weeks", "weeks"), ("spi_t", "SPI(t)", "ratio"),
               ("sv", "SV", "money"), ("forecast_finish", "Forecast finish", "date"),
               ("baseline_finish", "Baseline finish", "date")], link="href", limit=5),
        table("top-risks", "Top risks", risks_now.sort("exposure_cost", "project_id", "risk_id",
              descending=[True, False, False], nulls_last=True), risk_columns, limit=10),
        table("changes", "What changed since last week", changes,
              [("label", "Project"), ("change", "Status change"), ("d_cpi", "Δ CPI", "ratio"),
               ("d_spi_t", "Δ SPI(t)", "ratio"), ("d_eac", "Δ EAC", "money"), ("eac", "EAC", "money")],
              link="href", limit=10),
        table("new-risks", "New risks this week", new_risks, risk_columns, limit=10),
    ]  # fmt: skip
    if not subset:
        portfolios = data.portfolio.filter(
            (pl.col("group_level") == "portfolio") & (pl.col("status_date") == data.status_date)
        )
        tables.append(table("portfolios", "By portfolio", with_status(portfolios, look).sort("group_key"),
                            [("group_key", "Portfolio"), ("projects", "Projects", "int"), ("status", "Status", "rag"),
                             ("bac", "BAC", "money"), ("ev", "EV", "money"), ("ac", "AC", "money"),
                             ("cpi", "CPI", "ratio"), ("spi_t", "SPI(t)", "ratio"), ("eac", "EAC", "money"),
                             ("eac_sum", "Σ project EAC", "money")]))  # fmt: skip
    restated = restated_rows(data.restatements) if not subset else data.restatements.clear()
    if not restated.is_empty():
        tables.append(table("restatements", "Figures already sent that have changed", restated, [
            ("project_id", "Project"), ("status_date", "Week", "date"), ("measure", "Measure"),
            ("as_sent", "As sent", "text", "value_format"), ("restated", "Now", "text", "value_format"),
            ("difference", "Difference", "number", "difference_format")], limit=10))  # fmt: skip
    severity = pl.col("status").replace_strict(RAG_ORDER, return_dtype=pl.Int8)
    quadrant = quadrant_rows(worst_first(now.with_columns(severity=severity)), rag="status")
    chart_specs = {
        "quadrant": charts.spec("quadrant", quadrant, "Cost vs schedule efficiency, every project"),
    }
    if not subset and not total.is_empty():
        rows = s_curve_rows(total.with_columns(project_id=pl.lit("")), None, data.status_date).drop("project_id")
        chart_specs["s-curve"] = charts.spec("s_curve", rows, "Portfolio S-curve")
    counts = {c: now.filter(pl.col("status") == c).height for c in ("red", "amber", "green", "grey")}
    return Page("index.html", "index.html.j2", "Portfolio", {
        "total": None if subset or not total_now else total_now[0], "counts": counts, "projects": now.height,
        "held": held,
        "closed_now": [] if subset else [
            c | {"href": f"closures/{slug(c['project_id'])}.html"}
            for c in data.closures.filter(_this_period(pl.col("closed_on"), data)).sort("project_id").to_dicts()
        ],
    }, tables, chart_specs)  # fmt: skip


def _this_period(day: pl.Expr, data: PackData) -> pl.Expr:
    return _period_key(day, data.look) == _period_key(pl.lit(data.status_date), data.look)


def _period_key(day: pl.Expr, look: Look) -> pl.Expr:
    if look.period == "quarter":
        shifted = (day.dt.month() - look.fiscal_year_start) % 12
        year = day.dt.year() + pl.when(day.dt.month() >= look.fiscal_year_start).then(0).otherwise(-1)
        return year.cast(pl.String) + pl.lit("-Q") + (shifted // 3 + 1).cast(pl.String)
    return day.dt.strftime("%Y-%m")


def s_curve_rows(history: pl.DataFrame, forecast: pl.DataFrame | None, day: dt.date) -> pl.DataFrame:
    """Per project_id: PV, EV and AC lines; BAC; the EAC forecast from the status date's AC to the EAC at the
    forecast finish; and the p10–p90 band of the EAC there. For every project at once."""
    series = {"pv": "Planned value (PV)", "ev": "Earned value (EV)", "ac": "Actual cost (AC)"}
    lines = history.select("project_id", "status_date", *series).unpivot(
        index=["project_id", "status_date"], variable_name="series", value_name="amount")  # fmt: skip
    last = history.filter(pl.col("status_date") == day)
    finish = pl.max_horizontal(pl.coalesce("forecast_finish", "baseline_finish"), "status_date")
    forecast_line = last.filter(pl.col("eac").is_not_null() & finish.is_not_null())
    parts = [
        lines.select("project_id", layer=pl.lit("line"), date="status_date",
                     series=pl.col("series").replace_strict(series), amount=pl.col("amount").cast(pl.Float64)),
        last.select("project_id", layer=pl.lit("bac"), date="status_date", amount=pl.col("bac").cast(pl.Float64)),
        forecast_line.select("project_id", layer=pl.lit("line"), date="status_date", series=pl.lit("EAC forecast"),
                             amount=pl.col("ac").cast(pl.Float64)),
        forecast_line.select("project_id", layer=pl.lit("line"), date=finish, series=pl.lit("EAC forecast"),
                             amount=pl.col("eac").cast(pl.Float64)),
    ]  # fmt: skip
    if forecast is not None and not forecast.is_empty():
        band = forecast.filter(pl.col("eac_p10").is_not_null()).join(
            last.select("project_id", "status_date", "forecast_finish", "baseline_finish"),
            on=["project_id", "status_date"])  # fmt: skip
        parts.append(band.select(
            "project_id", layer=pl.lit("band"),
            date=pl.max_horizontal(pl.coalesce("finish_p50", "forecast_finish", "baseline_finish"), "status_date"),
            low=pl.col("eac_p10").cast(pl.Float64), high=pl.col("eac_p90").cast(pl.Float64)))  # fmt: skip
    return pl.concat(parts, how="diagonal_relaxed")


# --- project pages ----------------------------------------------------------------------------------------------

EAC_METHODS = {"cpi": ("eac_cpi", "AC + (BAC − EV) ÷ CPI"), "budget_rate": ("eac_budget_rate", "AC + (BAC − EV)"),
               "cpi_spi": ("eac_cpi_spi", "AC + (BAC − EV) ÷ (CPI × SPI)"),
               "composite": ("eac_composite", "AC + (BAC − EV) ÷ (w·CPI + (1 − w)·SPI)"),
               "bottom_up": ("eac_bottom_up", "AC + bottom-up ETC")}  # fmt: skip


def milestone_trend_rows(history: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The milestone trend chart's rows: each milestone's forecast date (its actual once done, its baseline date
    before any export forecasts it) at each status date up to `day`, and the diagonal (forecast = status date)
    over those weeks. Projects whose milestones have fewer than two weeks of history have no chart."""
    rows = history.filter(pl.col("status_date") <= day).select(
        "project_id",
        layer=pl.lit("line"),
        date="status_date",
        series="item_key",
        summary="summary",
        forecast=pl.coalesce("actual_date", "forecast_date", "baseline_date"),
        state="state",
    )
    weeks = rows.group_by("project_id").agg(first=pl.col("date").min(), last=pl.col("date").max())
    weeks = weeks.filter(pl.col("first") < pl.col("last"))
    diagonal = weeks.select("project_id", layer=pl.lit("today"), date=pl.concat_list("first", "last")).explode("date")
    return pl.concat(
        [rows.join(weeks, on="project_id", how="semi"), diagonal.with_columns(forecast=pl.col("date"))],
        how="diagonal_relaxed",
    ).sort("project_id", "layer", "series", "date", nulls_last=True)


def _eac_methods(now: pl.DataFrame) -> pl.DataFrame:
    """Each project's EAC by every method with its VAC and the TCPI it implies, (BAC − EV) ÷ (EAC − AC):
    NULL when EAC = AC."""
    methods = pl.DataFrame({"method": list(EAC_METHODS), "formula": [f for _, f in EAC_METHODS.values()],
                            "column": [c for c, _ in EAC_METHODS.values()]})  # fmt: skip
    long = now.select(
        "project_id",
        "eac_method",
        *(pl.col(c).cast(pl.Float64) for c in ("bac", "ev", "ac")),
        *(pl.col(c).cast(pl.Float64) for c, _ in EAC_METHODS.values()),
    ).unpivot(index=["project_id", "eac_method", "bac", "ev", "ac"], variable_name="column", value_name="eac")
    remaining_cost = pl.col("eac") - pl.col("ac")
    return (
        long.join(methods, on="column")
        .with_columns(
            chosen=pl.when(pl.col("method") == pl.col("eac_method")).then(pl.lit("✓")).otherwise(pl.lit("")),
            vac=pl.col("bac") - pl.col("eac"),
            tcpi=pl.when(remaining_cost != 0).then((pl.col("bac") - pl.col("ev")) / remaining_cost),
            order=pl.col("method").replace_strict({m: k for k, m in enumerate(EAC_METHODS)}),
        )
        .sort("project_id", "order")
    )


def _parts(frame: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """by_project, with dates and amounts already in the form charts take (one conversion for all projects)."""
    return by_project(None if frame is None else charts.chartable(frame))


class ProjectPages:
    """The project pages. Every frame is shaped once for all projects (those of `now`), split by project and
    written as CSV once: building a page only picks its parts (the pack is for 1,000 projects, and the sponsors'
    packs share one of these)."""

    def __init__(self, data: PackData, evm: pl.DataFrame, now: pl.DataFrame):
        self.data = data
        day, look = data.status_date, data.look
        keep = now.get_column("project_id").implode()

        def parts(frame: pl.DataFrame | None) -> dict[str, pl.DataFrame]:  # a sponsor's pack: a few of the thousand
            return _parts(None if frame is None else frame.filter(pl.col("project_id").is_in(keep)))

        self.s_curves = parts(s_curve_rows(evm, data.forecast, day))
        ratios = (
            evm.select("project_id", "status_date", "cpi", "spi", "spi_t")
            .unpivot(index=["project_id", "status_date"], variable_name="series", value_name="value")
            .drop_nulls("value")
        )
        thresholds = pl.DataFrame({"layer": ["threshold"] * 2, "value": [look.green, look.amber],
                                   "colour": ["#1a7f37", "#b35900"]})  # fmt: skip
        ratios = ratios.select(
            "project_id",
            layer=pl.lit("line"),
            date="status_date",
            value="value",
            series=pl.col("series").replace_strict({"cpi": "CPI", "spi": "SPI", "spi_t": "SPI(t)"}),
        )
        self.ratios = parts(pl.concat([ratios, now.select("project_id").join(thresholds, how="cross")],
                                      how="diagonal_relaxed"))  # fmt: skip
        self.eac = parts(_eac_methods(now))
        self.cost_rows = parts(data.cost.select("project_id", date="status_date", category="cost_category",
                                                amount="ac"))  # fmt: skip
        self.cost_now = parts(data.cost.filter(pl.col("status_date") == day).sort("project_id", "cost_category"))
        self.burn_up = parts(
            pl.concat(
                [
                    evm.select(
                        "project_id",
                        date="status_date",
                        series=pl.lit("Scope (BAC)"),
                        amount=pl.col("bac").cast(pl.Float64),
                    ),
                    evm.select(
                        "project_id",
                        date="status_date",
                        series=pl.lit("Earned (EV)"),
                        amount=pl.col("ev").cast(pl.Float64),
                    ),
                ]
            ).filter(pl.col("project_id").is_in(now.filter(pl.col("ev_technique") == "agile")["project_id"].to_list()))
        )
        self.milestones = parts(data.milestones.filter(pl.col("status_date") == day).sort(
            "project_id", "baseline_date", "item_key", nulls_last=True))  # fmt: skip
        self.milestone_trend = parts(milestone_trend_rows(data.milestones, day))
        risks_now = data.risks.filter(pl.col("status_date") == day)
        self.heat = parts(
            risks_now.filter(pl.col("probability_band").is_not_null() & pl.col("impact_band").is_not_null())
            .group_by("project_id", probability="probability_band", impact="impact_band").agg(risks=pl.len())
            .with_columns(score=pl.col("probability") * pl.col("impact"))
            .sort("project_id", "probability", "impact")
        )  # fmt: skip
        self.risks = parts(risks_now.sort("project_id", "exposure_cost", "risk_id", descending=[False, True, False],
                                          nulls_last=True))  # fmt: skip
        self.exceptions = parts(data.exceptions.sort("project_id", "reason"))
        self.timesheets = parts(
            _suppress_small(
                data.timesheets.sort("project_id", "status_date", descending=[False, True]),
                look,
                ["expected_hours", "logged_hours", "missing_hours", "completeness"],
            )
        )
        self.flags = parts(data.flags.sort("project_id", "finding"))
        self.weeks = parts(evm.sort("project_id", "status_date", descending=[False, True]))
        self.forecast = {k: v.to_dicts()[0] for k, v in
                         parts(data.forecast.filter(pl.col("status_date") == day)).items()}  # fmt: skip
        self.baselines = {(b["project_id"], b["baseline_version"]): b for b in data.baselines.to_dicts()}
        self.empty_csv: dict[str, bytes] = {}
        self.options = {"timesheets": {"note": f"Weeks with fewer than {look.min_group_size} people are blank."}}
        # Each table's CSV and each chart's text for every project at once (one write instead of one per page).
        self.csv = {name: csv_by_key(getattr(self, name), columns)
                    for name, (_, _, columns, _) in PROJECT_TABLES.items()}  # fmt: skip
        self.chart_text = {name: charts.csv_texts(getattr(self, name))
                           for name in ("s_curves", "ratios", "cost_rows", "burn_up", "milestone_trend",
                                        "heat")}  # fmt: skip

    def table(self, name: str, pid: str, empty: pl.DataFrame | None = None) -> Table:
        id, title, columns, options = PROJECT_TABLES[name]
        options = options | self.options.get(name, {})
        parts = getattr(self, name)
        if pid not in parts and empty is not None:
            if name not in self.empty_csv:  # the same header-only CSV for every project without rows
                self.empty_csv[name] = table(id, title, empty, columns, **options).to_csv()
            return table(id, title, empty, columns, csv_bytes=self.empty_csv[name], **options)
        return table(id, title, parts[pid], columns, csv_bytes=self.csv[name].get(pid), **options)

    def page(self, row: dict) -> Page:
        """The page of the project in `row` (a row of `now`)."""
        pid = row["project_id"]

        def chart(kind: str, name: str, title: str) -> dict | None:
            rows, text = getattr(self, name).get(pid, pl.DataFrame()), self.chart_text[name].get(pid)
            if text is None:  # the page's own rows: no project id column on each (the text has none)
                rows = rows.drop("project_id", strict=False)
            return charts.spec(kind, rows, title, text)

        specs = {
            "s-curve": chart("s_curve", "s_curves", f"{pid} S-curve: PV, EV, AC and the EAC forecast"),
            "ratios": chart("ratios", "ratios", "CPI, SPI and SPI(t) by week"),
        }
        tables = [self.table("eac", pid)]
        if pid in self.cost_rows:
            specs["cost"] = chart("cost", "cost_rows", "Cumulative actual cost by category")
            tables.append(self.table("cost_now", pid, _EMPTY_COST))
        if pid in self.burn_up:
            specs["burn-up"] = chart("burn_up", "burn_up", "Burn-up: value earned against scope")
        if pid in self.milestone_trend:
            specs["milestone-trend"] = chart("milestone_trend", "milestone_trend", "Milestone trend: forecast by week")
        tables.append(self.table("milestones", pid, _EMPTY_MILESTONES))
        if pid in self.risks:
            specs["heat-map"] = chart("heat_map", "heat", "Risks by probability and impact")
            tables.append(self.table("risks", pid))
        for name in ("exceptions", "timesheets", "flags"):
            if pid in getattr(self, name):
                tables.append(self.table(name, pid))
        tables.append(self.table("weeks", pid))
        return Page(row["href"], "project.html.j2", f"{pid} · {row['name'] or ''}", {
            "p": row, "baseline": self.baselines.get((pid, row["baseline_version"])),
            "forecast": self.forecast.get(pid),
        }, tables, specs, baselines_stamp([(pid, row["baseline_version"])]))  # fmt: skip


# attribute of ProjectPages → (table id, title, columns, options) of that table on a project page
PROJECT_TABLES = {
    "eac": ("eac", "Estimate at completion, every method",
            [("method", "Method"), ("chosen", "In use"), ("formula", "Formula"), ("eac", "EAC", "money"),
             ("vac", "VAC", "money"), ("tcpi", "TCPI to reach it", "ratio")], {}),
    "cost_now": ("cost", "Actual cost to date by category",
                 [("cost_category", "Category"), ("budgeted", "In CPI", "bool"), ("ac", "AC", "money")], {}),
    "milestones": ("milestones", "Milestones",
                   [("item_key", "Item"), ("summary", "Milestone"), ("baseline_date", "Baseline", "date"),
                    ("forecast_date", "Forecast", "date"), ("actual_date", "Actual", "date"),
                    ("slip_working_days", "Slip (working days)", "int"), ("state", "State")], {}),
    "risks": ("risks", "Top risks",
              [("risk_id", "Risk"), ("title", "Title"), ("source", "Source"), ("owner", "Owner"),
               ("probability", "Probability", "percent"), ("cost_impact", "Cost impact", "money"),
               ("exposure_cost", "Exposure", "money"), ("exposure_days", "Exposure (days)", "number"),
               ("heat_band", "Heat")], {"limit": 10}),
    "exceptions": ("cost-exceptions", "Hours that could not be costed",
                   [("reason", "Reason"), ("worklogs", "Worklogs", "int"), ("hours", "Hours", "number")], {}),
    "timesheets": ("timesheets", "Timesheet completeness of the people on this project",
                   [("status_date", "Week", "date"), ("people", "People", "int"),
                    ("expected_hours", "Expected hours", "number"), ("logged_hours", "Logged", "number"),
                    ("completeness", "Complete", "percent")], {"limit": 8}),
    "flags": ("flags", "Findings", [("finding", "Finding"), ("detail", "Detail"), ("rows", "Rows", "int")], {}),
    "weeks": ("weeks", "Week by week",
              [("status_date", "Status date", "date"), ("baseline_version", "Baseline", "int"),
               ("bac", "BAC", "money"), ("pv", "PV", "money"), ("ev", "EV", "money"),
               ("ac", "AC", "money"), ("cv", "CV", "money"), ("sv", "SV", "money"),
               ("cpi", "CPI", "ratio"), ("spi", "SPI", "ratio"), ("spi_t", "SPI(t)", "ratio"),
               ("sv_t_weeks", "SV(t) weeks", "weeks"), ("eac", "EAC", "money"),
               ("tcpi_bac", "TCPI (BAC)", "ratio"), ("status", "Status", "rag")], {"limit": 26}),
}  # fmt: skip


_EMPTY_MILESTONES = pl.DataFrame(schema={"item_key": pl.String, "summary": pl.String, "baseline_date": pl.Date,
                                        "forecast_date": pl.Date, "actual_date": pl.Date,
                                        "slip_working_days": pl.Int64, "state": pl.String})  # fmt: skip
_EMPTY_COST = pl.DataFrame(schema={"cost_category": pl.String, "budgeted": pl.Boolean, "ac": pl.Float64})


def _suppress_small(frame: pl.DataFrame, look: Look, columns: list[str], people: str = "people") -> pl.DataFrame:
    """Blank the figures of groups smaller than the minimum: a team of one would show one person's hours."""
    small = pl.col(people) < look.min_group_size
    return frame.with_columns(pl.when(~small).then(pl.col(c)).alias(c) for c in columns)


# --- closures, month end, methodology ---------------------------------------------------------------------------


def _closure_pages(data: PackData, closed: pl.DataFrame) -> list[Page]:
    drivers = by_project(data.closure_drivers)
    empty = pl.DataFrame(schema={"dimension": pl.String, "key": pl.String, "budget": pl.Float64,
                                 "actual": pl.Float64, "variance": pl.Float64, "rank": pl.Int64})  # fmt: skip
    pages = []
    for row in closed.sort("project_id").iter_rows(named=True):
        d = drivers.get(row["project_id"], empty).sort("dimension", "rank")
        pages.append(Page(f"closures/{slug(row['project_id'])}.html", "closure.html.j2",
                          f"Closure: {row['project_id']} · {row['name'] or ''}", {"c": row}, [
                              table("drivers", "What drove the variance", d,
                                    [("dimension", "By"), ("key", "Item"), ("budget", "Budget", "money"),
                                     ("actual", "Actual", "money"), ("variance", "Variance", "money")])]))  # fmt: skip
    return pages


def _month_end(data: PackData, evm: pl.DataFrame, now: pl.DataFrame) -> Page:
    """The figures at the last status date of each period (month or fiscal quarter)."""
    look = data.look
    ends = (
        evm.select("status_date").unique()
        .with_columns(period=_period_key(pl.col("status_date"), look))
        .group_by("period").agg(pl.col("status_date").max().alias("period_end"))
    )  # fmt: skip
    projects = set(now.get_column("project_id").to_list())
    at_ends = (
        evm.filter(pl.col("project_id").is_in(sorted(projects)))
        .join(ends, left_on="status_date", right_on="period_end")
        .sort("status_date", "project_id", descending=[True, False])
    )
    totals = (
        at_ends.group_by("period", "status_date")
        .agg(projects=pl.len(), bac=pl.col("bac").sum(), pv=pl.col("pv").sum(), ev=pl.col("ev").sum(),
             ac=pl.col("ac").sum(), eac=pl.col("eac").sum())
        .with_columns(
            cpi=pl.when(pl.col("ac") != 0).then(pl.col("ev").cast(pl.Float64) / pl.col("ac").cast(pl.Float64)),
            spi=pl.when(pl.col("pv") != 0).then(pl.col("ev").cast(pl.Float64) / pl.col("pv").cast(pl.Float64)),
        )
        .sort("status_date", descending=True)
    )  # fmt: skip
    unit = "fiscal quarter" if look.period == "quarter" else "month"
    return Page("month-end.html", "month_end.html.j2", "Month end" if look.period == "month" else "Quarter end",
                {"unit": unit}, [
        table("totals", f"Portfolio at each {unit} end", totals,
              [("period", "Period"), ("status_date", "Status date", "date"), ("projects", "Projects", "int"),
               ("bac", "BAC", "money"), ("pv", "PV", "money"), ("ev", "EV", "money"), ("ac", "AC", "money"),
               ("cpi", "CPI", "ratio"), ("spi", "SPI", "ratio"), ("eac", "Σ EAC", "money")],
              note="CPI and SPI are ratios of the summed EV, AC and PV of the projects shown."),
        table("projects", f"Projects at each {unit} end", at_ends.with_columns(
            period=_period_key(pl.col("status_date"), look)),
              [("period", "Period"), ("project_id", "Project"), ("status", "Status", "rag"), ("cpi", "CPI", "ratio"),
               ("spi_t", "SPI(t)", "ratio"), ("ev", "EV", "money"), ("ac", "AC", "money"), ("eac", "EAC", "money"),
               ("vac", "VAC", "money")], limit=200),
    ])  # fmt: skip


def _methodology(data: PackData, now: pl.DataFrame) -> Page:
    projects = set(now.get_column("project_id").to_list())
    versions = data.baselines.filter(pl.col("project_id").is_in(sorted(projects))).sort(
        "project_id", "baseline_version"
    )
    methods = now.select("project_id", "ev_technique", "eac_method", "baseline_version").sort("project_id")
    return Page("methodology.html", "methodology.html.j2", "Methodology", {"look": data.look}, [
        table("eac-methods", "Earned value technique and EAC method per project", methods,
              [("project_id", "Project"), ("ev_technique", "EV technique"), ("eac_method", "EAC method"),
               ("baseline_version", "Baseline in force", "int")]),
        table("baselines", "Baseline versions", versions,
              [("project_id", "Project"), ("baseline_version", "Version", "int"), ("effective_from", "In force from",
               "date"), ("reason", "Reason"), ("source", "Source"), ("bac", "BAC", "money"),
               ("management_reserve", "Management reserve", "money"), ("contingency", "Contingency", "money"),
               ("baseline_start", "Start", "date"), ("baseline_finish", "Finish", "date")]),
    ])  # fmt: skip


# --- IT pages ---------------------------------------------------------------------------------------------------


def _service_desk(data: PackData) -> Page:
    groups = data.flow.filter(pl.col("group_level") == "assignment_group")
    weekly = groups.group_by("status_date").agg(pl.col("created", "resolved", "backlog", "sla_breaches").sum())
    chart_rows = weekly.unpivot(
        index="status_date", on=["created", "resolved", "backlog"], variable_name="series", value_name="count"
    ).select(date="status_date", series="series", count="count")
    current = groups.filter(pl.col("status_date") == data.status_date).sort("group_key", "priority")
    items = data.flow_items.sort("assignment_group", "priority", "item_key", nulls_last=True)
    specs = {"flow": charts.spec("flow", chart_rows.sort("date", "series"), "Tickets created, resolved and open")}
    return Page("it/service-desk.html", "it.html.j2", "Service desk", {"intro": "service_desk"}, [
        table("groups", "This week by assignment group and priority", current,
              [("group_key", "Group"), ("priority", "Priority"), ("created", "Created", "int"),
               ("resolved", "Resolved", "int"), ("backlog", "Open", "int"),
               ("backlog_over_90", "Open > 90 days", "int"),
               ("median_resolve_hours", "Median hours to resolve", "number"),
               ("p90_resolve_hours", "p90 hours", "number"), ("reopened", "Reopened", "int"),
               ("sla_breaches", "SLA breaches", "int")]),
        table("breaches", "Tickets behind the breaches and reopens", items,
              [("item_key", "Ticket"), ("assignment_group", "Group"), ("priority", "Priority"), ("breach", "Breach"),
               ("reopened", "Reopened", "bool"), ("sla_due_at", "Due"), ("resolved_at", "Resolved")], limit=50),
    ], specs)  # fmt: skip


def _utilisation(data: PackData) -> Page:
    look = data.look
    teams = _suppress_small(
        data.teams,
        look,
        [
            "capacity_hours",
            "logged_hours",
            "utilisation",
            "project_hours",
            "operational_hours",
            "people_over_allocated",
            "people_spread_thin",
        ],
    )
    current = teams.filter(pl.col("status_date") == data.status_date).sort("team")
    bars = current.filter(pl.col("capacity_hours").is_not_null() & (pl.col("capacity_hours") > 0)).select(
        "team", project=pl.col("project_hours") / pl.col("capacity_hours"),
        operational=pl.col("operational_hours") / pl.col("capacity_hours"),
    ).unpivot(index="team", variable_name="kind", value_name="utilisation")  # fmt: skip
    rows = bars if bars.is_empty() else pl.concat(
        [bars.with_columns(layer=pl.lit("bar")), pl.DataFrame({"layer": ["one"], "value": [1.0]})],
        how="diagonal_relaxed")  # fmt: skip
    columns = [("team", "Team"), ("status_date", "Week", "date"), ("people", "People", "int"),
               ("capacity_hours", "Capacity hours", "number"), ("logged_hours", "Logged", "number"),
               ("utilisation", "Utilisation", "percent"), ("project_hours", "Project", "number"),
               ("operational_hours", "Operational", "number"), ("people_over_allocated", "Over-allocated", "int"),
               ("people_spread_thin", "Spread thin", "int")]  # fmt: skip
    note = f"Teams with fewer than {look.min_group_size} people are not shown, so no one's hours can be read off."
    return Page(
        "it/utilisation.html",
        "it.html.j2",
        "Team utilisation",
        {"intro": "utilisation"},
        [
            table("teams", "This week by team", current, columns, note=note),
            table(
                "history",
                "Week by week",
                teams.sort("status_date", "team", descending=[True, False]),
                columns,
                limit=60,
                note=note,
            ),
        ],
        {"utilisation": charts.spec("utilisation", rows, "Share of capacity: project and operational work")},
    )


def _assets(data: PackData) -> Page:
    cost = data.itam_cost.sort("group_level", "group_key")
    renewals = data.renewals.sort("due_date", "kind", "key", nulls_last=True)
    return Page("it/assets.html", "it.html.j2", "Assets and licences", {"intro": "assets"}, [
        table("cost", "Cost by cost centre and project", cost,
              [("group_level", "By"), ("group_key", "Group"), ("assets", "Assets", "int"),
               ("assets_without_cost", "Without cost", "int"), ("purchase_cost", "Purchase cost", "money"),
               ("amortised_cost", "Amortised to date", "money"), ("licence_cost", "Licence cost", "money"),
               ("seats_owned", "Seats owned", "int"), ("seats_assigned", "Assigned", "int"),
               ("seats_free", "Free", "int")]),
        table("renewals", "Renewals and end of life", renewals,
              [("due_date", "Due", "date"), ("days_until", "Days", "int"), ("window", "Window"), ("kind", "Kind"),
               ("key", "Key"), ("name", "Name"), ("project_id", "Project"), ("cost_centre", "Cost centre"),
               ("cost", "Cost", "money")], limit=50),
        table("gaps", "Records missing what costing needs", data.gaps.sort("asset_tag"),
              [("asset_tag", "Asset"), ("name", "Name"), ("project_id", "Project"), ("cost_centre", "Cost centre"),
               ("missing", "Missing")], limit=50),
    ])  # fmt: skip


# --- data quality and the PMO section ---------------------------------------------------------------------------


def _data_quality(data: PackData) -> Page:
    validations = data.validations.join(data.files.select("file_id", "path"), on="file_id", how="left")
    exceptions = data.exceptions.with_columns(
        project=pl.col("project_id").fill_null("(none)")).sort("reason", "project")  # fmt: skip
    tables = [
        table("files", "Files", data.files.sort("file_id"),
              [("path", "File"), ("source_kind", "Kind"), ("status", "Status"), ("rows_in_file", "Rows", "int"),
               ("rows_loaded", "Loaded", "int"), ("rows_duplicate", "Duplicate", "int"),
               ("rows_rejected", "Rejected", "int"), ("covers", "Covers"), ("message", "Message")]),
        table("contracts", "Data contract results (great-expectations)", validations.sort("file_id"),
              [("path", "File"), ("kind", "Kind"), ("success", "Passed", "bool"),
               ("failed_expectations", "Failed expectations", "int")]),
        table("rejects", "Rejected rows", data.rejects.sort("file_id", "line", "column", nulls_last=True),
              [("path", "File"), ("line", "Line", "int"), ("column", "Column"), ("rule", "Rule")], limit=200,
              note="Rejected values are in the PMO section: some are rates or people's hours."),
        table("exceptions", "Hours that could not be costed (unmatched people, missing rates, no project)", exceptions,
              [("reason", "Reason"), ("project", "Project"), ("worklogs", "Worklogs", "int"),
               ("hours", "Hours", "number")]),
        table("flags", "Earned value findings this week", data.flags.sort("project_id", "finding"),
              [("project_id", "Project"), ("finding", "Finding"), ("detail", "Detail"), ("rows", "Rows", "int")]),
    ]  # fmt: skip
    if data.freshness is not None:
        tables.insert(
            1,
            table(
                "freshness",
                "Sources and how recent they are",
                data.freshness.sort("source_kind"),
                [(c, c.replace("_", " ").capitalize(), f) for c, f in _freshness_columns(data.freshness)],
            ),
        )
    return Page("data-quality.html", "data_quality.html.j2", "Data quality", {}, tables)


def _freshness_columns(frame: pl.DataFrame) -> list[tuple[str, str]]:
    formats = {pl.Date: "date", pl.Boolean: "bool", pl.Int64: "int", pl.Int32: "int"}
    return [(name, formats.get(dtype, "text")) for name, dtype in frame.schema.items() if name != "status_date"]


def _pmo(data: PackData) -> Page:
    week = data.status_date
    return Page("pmo/index.html", "pmo.html.j2", "PMO only: people", {}, [
        table("cost-exceptions", "Hours that could not be costed, by person", data.person_exceptions.sort(
            "exception", "person_name", "work_date", nulls_last=True),
              [("person_name", "Person"), ("person_id", "Person id"), ("project_id", "Project"),
               ("exception", "Reason"), ("item_key", "Item"), ("work_date", "Date", "date"),
               ("hours", "Hours", "number"), ("path", "File"), ("_line", "Line", "int")], limit=500),
        table("timesheets", "Timesheet completeness by person, this week", data.person_timesheets.filter(
            pl.col("status_date") == week).sort("completeness", "person_id", nulls_last=True),
              [("person_id", "Person"), ("team", "Team"), ("expected_hours", "Expected", "number"),
               ("logged_hours", "Logged", "number"), ("missing_hours", "Missing", "number"),
               ("completeness", "Complete", "percent")], limit=500),
        table("utilisation", "Utilisation by person, this week", data.person_utilisation.filter(
            pl.col("status_date") == week).sort("utilisation", "person_id", descending=[True, False], nulls_last=True),
              [("person_id", "Person"), ("team", "Team"), ("capacity_hours", "Capacity", "number"),
               ("logged_hours", "Logged", "number"), ("utilisation", "Utilisation", "percent"),
               ("project_hours", "Project", "number"), ("operational_hours", "Operational", "number"),
               ("projects", "Projects", "int"), ("over_allocated", "Over-allocated", "bool"),
               ("spread_thin", "Spread thin", "bool")], limit=500),
        table("rejects", "Rejected rows with their values", data.rejects.sort("file_id", "line", "column",
                                                                              nulls_last=True),
              [("path", "File"), ("line", "Line", "int"), ("column", "Column"), ("rule", "Rule"),
               ("raw_value", "Value")], limit=500),
    ])  # fmt: skip
