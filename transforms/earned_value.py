"""Earned value per project and status date (marts.evm_weekly), as ../shared/EVM.md defines it.

The pieces: baselines (versions in force), planned value over working days, earned value by technique, actual
cost by category, earned schedule on the version's PV curve, risk exposure, then the indicator formulas.
A project whose figures come from a scheduling tool's time-phased status file (evm_status) takes its PV, EV, AC
and BAC from that file instead.

Grain of evm_weekly: one row per project per status date, from the week of its first baseline start to the as-of
date, carried forward after it finishes. Money DECIMAL(18,4); ratios DOUBLE; undefined ratios NULL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from transforms import risk
from transforms.actual_cost import actual_cost_weekly, direct_costs
from transforms.baselines import assemble, in_force
from transforms.calendar import isodow, working_day_index
from transforms.duck import query
from transforms.earned_schedule import earned_schedule, time_weeks
from transforms.indicators import indicators
from transforms.planned_value import Curves, inputs_digest, planned_value
from transforms.progress import earned_value, progress
from transforms.rates import assignee_person, rate_in_force

MONEY = pl.Decimal(18, 4)
EVM_COLUMNS = [
    "project_id", "status_date", "baseline_version", "bac", "pv", "ev", "ac", "cv", "sv", "cv_pct", "sv_pct",
    "cpi", "spi", "csi", "eac_cpi", "eac_budget_rate", "eac_cpi_spi", "eac_composite", "eac_bottom_up",
    "eac_method", "eac", "etc", "vac", "tcpi_bac", "tcpi_eac", "at_weeks", "pd_weeks", "es_weeks", "sv_t_weeks",
    "spi_t", "tspi", "ieac_t_weeks", "forecast_finish", "risk_exposure_cost", "risk_exposure_days",
    "risk_adjusted_eac", "pct_complete",
]  # fmt: skip
# Beside the specified columns: what the roll-ups, the pack and the flags need to trace a figure.
EXTRA_COLUMNS = ["baseline_start", "baseline_finish", "reconstructable", "unbudgeted_ac"]


@dataclass(frozen=True)
class EvmOptions:
    as_of: dt.date
    week_ends_on: str = "sunday"
    composite_weight: float = 0.8
    techniques: dict[str, str] = field(default_factory=dict)
    direct_costs: str = "amortised"
    asset_life_months: int = 36
    probability_scale: str = "fraction"
    cost_bands: tuple[float, ...] = (5_000, 20_000, 50_000, 100_000)
    days_bands: tuple[float, ...] = (2, 5, 10, 20)


@dataclass(frozen=True)
class EvmResult:
    evm: pl.DataFrame  # marts.evm_weekly (EVM_COLUMNS + EXTRA_COLUMNS)
    versions: pl.DataFrame  # marts.baseline_versions
    elements: pl.DataFrame  # every element of every version
    plan: pl.DataFrame  # project_id, status_date, pv: the plan in force, beyond the as-of date too
    costs: pl.DataFrame  # marts.actual_cost_weekly
    register: pl.DataFrame  # open register risks per status date
    grid: pl.DataFrame  # project_id, status_date, baseline_version
    progress: pl.DataFrame  # marts.evm_progress (transforms.progress)
    curves: Curves  # every version's planned value curve (transforms.planned_value), with its inputs' digest


def compute(
    *,
    projects: pl.DataFrame,
    baselines: pl.DataFrame,
    frozen_versions: pl.DataFrame,
    frozen_elements: pl.DataFrame,
    evm_status: pl.DataFrame,
    work_items: pl.DataFrame,
    worklogs: pl.DataFrame,
    costed: pl.DataFrame,
    assets: pl.DataFrame,
    licences: pl.DataFrame,
    people: pl.DataFrame,
    rates: pl.DataFrame,
    holidays: pl.DataFrame,
    sprints: pl.DataFrame,
    risks: pl.DataFrame,
    options: EvmOptions,
    progress_digests: pl.DataFrame | None = None,
    prior_progress: pl.DataFrame | None = None,
    plan_shared: str = "",
    prior_plan: Curves | None = None,
) -> EvmResult:
    """Every weekly earned-value figure of every project up to `options.as_of`. progress_digests, prior_progress:
    the digests of each project's inputs to its progress and an earlier result's `progress`, whose rows of the
    projects with the same digest are kept (transforms.progress). prior_plan: an earlier result's `curves`, kept
    when the digest of the inputs to the curves is the same (`inputs_digest`, with `plan_shared`: the code and the
    releases it is computed by)."""
    as_of, week_ends_on = options.as_of, options.week_ends_on
    projects = projects.with_columns(pl.col("calendar_id").fill_null("default"))
    from_status = evm_status.filter(pl.col("status_date") <= as_of).get_column("project_id").unique()
    versions, elements = assemble(baselines, frozen_versions, frozen_elements)
    elements = elements.filter(~pl.col("project_id").is_in(from_status.implode()))
    versions = versions.filter(~pl.col("project_id").is_in(from_status.implode()))
    elements = elements.filter(pl.col("project_id").is_in(projects["project_id"].implode()))
    versions = versions.filter(pl.col("project_id").is_in(projects["project_id"].implode()))
    agile = projects.filter(pl.col("ev_technique") == "agile").get_column("project_id")

    calendars = sorted(set(projects.get_column("calendar_id").to_list()) | {"default"})
    planned = pl.concat([elements.get_column("planned_start"), elements.get_column("planned_finish")]).drop_nulls()
    first, last = (as_of, as_of) if planned.is_empty() else (min(as_of, planned.min()), max(as_of, planned.max()))
    cal = working_day_index(holidays, calendars, first - dt.timedelta(days=1), last + dt.timedelta(days=7))

    # Every version's curve, as an earlier run computed it when its inputs are the same (a week's new exports
    # change no baseline): ~0.3 s of a portfolio's week.
    digest = inputs_digest(elements, projects, holidays, f"{week_ends_on}:{plan_shared}")
    if prior_plan is not None and prior_plan.digest == digest:
        element_plan = prior_plan.rows
    else:
        element_plan = planned_value(elements, projects, cal, week_ends_on=week_ends_on)
    loe = _level_of_effort(elements, projects, work_items, options.techniques)
    loe_pv = planned_value(loe, projects, cal, week_ends_on=week_ends_on)
    sprint_plan = _sprint_plan(versions, sprints, agile, week_ends_on)
    plan_v = pl.concat([element_plan.filter(~pl.col("project_id").is_in(agile.implode())), sprint_plan]).sort(
        "project_id", "baseline_version", "status_date"
    )
    spans = _spans(versions, sprints, agile)

    grid = _grid(spans, as_of, week_ends_on)
    grid = in_force(grid, versions).join(spans, on=["project_id", "baseline_version"], how="left")
    pv = (
        grid.sort("status_date")
        .join_asof(
            plan_v.sort("status_date"),
            on="status_date",
            by=["project_id", "baseline_version"],
            strategy="backward",
            check_sortedness=False,
        )
        .select("project_id", "status_date", pl.col("pv").fill_null(0).cast(MONEY))
    )
    # The progress of the projects measured here (not of those a status file reports, which depends on the date).
    state = progress(
        elements=elements, projects=projects.filter(~pl.col("project_id").is_in(from_status.implode())),
        work_items=work_items, worklogs=worklogs, techniques=options.techniques, week_ends_on=week_ends_on,
        digests=progress_digests, prior=prior_progress,
    )  # fmt: skip
    ev = earned_value(grid=grid, progress=state, projects=projects, sprints=sprints, loe_pv=loe_pv,
                      week_ends_on=week_ends_on)  # fmt: skip

    direct = direct_costs(assets, licences, mode=options.direct_costs, asset_life_months=options.asset_life_months)
    status_grid = evm_status.filter(pl.col("status_date") <= as_of)
    all_dates = pl.concat([grid.select("project_id", "status_date"), _status_grid(status_grid, as_of, week_ends_on)])
    costs = actual_cost_weekly(all_dates, costed, direct, week_ends_on=week_ends_on)
    budgeted = elements.select("project_id", "baseline_version", "cost_category").unique()
    costs = (
        costs.join(grid.select("project_id", "status_date", "baseline_version"), on=["project_id", "status_date"],
                   how="left")
        .join(budgeted.with_columns(budgeted=pl.lit(True)), on=["project_id", "baseline_version", "cost_category"],
              how="left")
        .with_columns(budgeted=pl.col("budgeted").fill_null(pl.col("baseline_version").is_null()))
    )  # fmt: skip
    ac = costs.group_by("project_id", "status_date").agg(
        pl.col("ac").filter(pl.col("budgeted")).sum().cast(MONEY).alias("ac"),
        pl.col("ac").filter(~pl.col("budgeted")).sum().cast(MONEY).alias("unbudgeted_ac"),
    )
    costs = costs.select("project_id", "status_date", "cost_category", "ac", "budgeted").sort(
        "project_id", "status_date", "cost_category"
    )

    base = (
        grid.join(pv, on=["project_id", "status_date"], how="left")
        .join(ev.drop("baseline_version"), on=["project_id", "status_date"], how="left")
        .join(ac, on=["project_id", "status_date"], how="left")
        .join(projects.select("project_id", "eac_method"), on="project_id", how="left")
        .with_columns(
            pl.col("ac").fill_null(0).cast(MONEY),
            pl.col("unbudgeted_ac").fill_null(0).cast(MONEY),
            pl.col("eac_method").fill_null("cpi"),
        )
    )
    base = pl.concat([base, _from_status_file(status_grid, ac, projects, as_of, week_ends_on)], how="diagonal_relaxed")
    base = base.join(
        _bottom_up(work_items, people, rates, projects, base.select("project_id", "status_date"), week_ends_on),
        on=["project_id", "status_date"], how="left",
    ).with_columns(
        eac_bottom_up=pl.when(pl.col("reconstructable_bu")).then(pl.col("ac") + pl.col("remaining_cost")).cast(MONEY)
    ).drop("remaining_cost", "reconstructable_bu")  # fmt: skip

    register = risk.register_risks(
        risks, base.select("project_id", "status_date"), probability_scale=options.probability_scale,
        cost_bands=list(options.cost_bands), days_bands=list(options.days_bands),
    )  # fmt: skip
    exposure = risk.project_exposure(register, base.select("project_id", "status_date"))
    base = base.join(exposure, on=["project_id", "status_date"], how="left")

    base = base.with_columns(
        at_weeks=time_weeks(pl.col("status_date"), pl.col("baseline_start")),
        pd_weeks=time_weeks(pl.col("baseline_finish"), pl.col("baseline_start")),
    )
    base = _stop_the_clock(base)
    points = _points(plan_v, versions, spans, status_grid)
    base = earned_schedule(points, base, by=["project_id", "baseline_version"])
    evm = indicators(base, composite_weight=options.composite_weight)
    evm = evm.select(*EVM_COLUMNS, *EXTRA_COLUMNS).sort("project_id", "status_date")

    plan = _plan_in_force(plan_v, grid, versions, status_grid)
    return EvmResult(
        evm=evm,
        versions=versions.join(spans.select("project_id", "baseline_version"), on=["project_id", "baseline_version"],
                               how="semi"),
        elements=elements,
        plan=plan,
        costs=costs,
        register=register,
        grid=grid.select("project_id", "status_date", "baseline_version"),
        progress=state,
        curves=Curves(digest, element_plan),
    )  # fmt: skip


def _level_of_effort(
    elements: pl.DataFrame, projects: pl.DataFrame, work_items: pl.DataFrame, techniques: dict[str, str]
) -> pl.DataFrame:
    """The elements measured as level of effort: by their own technique, else their item type's, else the
    project's (the same precedence as transforms.progress)."""
    if techniques:
        types = (
            work_items.select("item_key", "snapshot_date", "type")
            .sort("snapshot_date")
            .unique("item_key", keep="last")
            .select(pl.col("item_key").alias("element_key"), pl.col("type").replace_strict(techniques, default=None))
        )
    else:  # no technique by item type: no need to scan the tickets
        types = pl.DataFrame(schema={"element_key": pl.String, "type": pl.String})
    types = types.rename({"type": "_t"})
    return (
        elements.join(types, on="element_key", how="left")
        .join(projects.select("project_id", pl.col("ev_technique").alias("_p")), on="project_id", how="left")
        .filter(pl.coalesce("ev_technique", "_t", "_p") == "level_of_effort")
        .drop("_t", "_p")
    )


def _spans(versions: pl.DataFrame, sprints: pl.DataFrame, agile: pl.Series) -> pl.DataFrame:
    """Per project and version: bac, baseline_start and baseline_finish (an agile release spans its sprints)."""
    sprint_span = sprints.group_by("project_id").agg(
        pl.col("start").min().alias("_s0"), pl.col("finish").max().alias("_s1")
    )
    out = versions.select("project_id", "baseline_version", "bac", "baseline_start", "baseline_finish").join(
        sprint_span, on="project_id", how="left"
    )
    is_agile = pl.col("project_id").is_in(agile.implode()) & pl.col("_s0").is_not_null()
    return (
        out.with_columns(
            baseline_start=pl.when(is_agile).then("_s0").otherwise("baseline_start"),
            baseline_finish=pl.when(is_agile).then("_s1").otherwise("baseline_finish"),
        )
        .drop("_s0", "_s1")
        .filter(pl.col("baseline_start").is_not_null())
    )


def _sprint_plan(versions: pl.DataFrame, sprints: pl.DataFrame, agile: pl.Series, week_ends_on: str) -> pl.DataFrame:
    """AgileEVM's planned value: PV = sprints finished / sprints planned × BAC, stepping at sprint ends."""
    return query(
        """
        WITH s AS (SELECT project_id, count(*) AS n, min(start) AS s0, max(finish) AS s1 FROM sprints GROUP BY ALL),
        dates AS (
            SELECT v.project_id, v.baseline_version, v.bac, s.n, CAST(g.sd AS DATE) AS status_date
            FROM versions v
            JOIN s USING (project_id), generate_series(week_end(s.s0), week_end(s.s1), INTERVAL 7 DAY) g(sd)
            WHERE v.project_id IN (SELECT project_id FROM agile)
        )
        SELECT d.project_id, d.baseline_version, d.status_date,
               CAST(round(CAST(d.bac AS DOUBLE) * (SELECT count(*) FROM sprints x WHERE x.project_id = d.project_id
                                                  AND x.finish <= d.status_date) / d.n, 4) AS DECIMAL(18, 4)) AS pv
        FROM dates d
        ORDER BY ALL
        """,
        {
            "versions": versions.select("project_id", "baseline_version", "bac"),
            "sprints": sprints.select("project_id", "start", "finish"),
            "agile": pl.DataFrame({"project_id": agile}, schema={"project_id": pl.String}),
        },
        week_ends_on=week_ends_on,
    )


def _grid(spans: pl.DataFrame, as_of: dt.date, week_ends_on: str) -> pl.DataFrame:
    """project_id, status_date: every status date from the week of the project's first baseline start to as_of."""
    start = pl.col("baseline_start")
    first = (
        spans.group_by("project_id")
        .agg(start.min())
        .with_columns(start=start + pl.duration(days=(isodow(week_ends_on) - start.dt.weekday()) % 7))
    )
    return (
        first.filter(pl.col("start") <= as_of)
        .select("project_id", pl.date_ranges("start", pl.lit(as_of), interval="1w").alias("status_date"))
        .explode("status_date")
        .sort("project_id", "status_date")
    )


def _status_grid(status: pl.DataFrame, as_of: dt.date, week_ends_on: str) -> pl.DataFrame:
    """The status dates of the projects reported by a scheduling tool: from its first status date to as_of."""
    first = status.group_by("project_id").agg(pl.col("status_date").min().alias("start"))
    return (
        first.select("project_id", pl.date_ranges("start", pl.lit(as_of), interval="1w").alias("status_date"))
        .explode("status_date")
        .sort("project_id", "status_date")
    )


def _from_status_file(
    status: pl.DataFrame, ac: pl.DataFrame, projects: pl.DataFrame, as_of: dt.date, week_ends_on: str
) -> pl.DataFrame:
    """The base figures of projects a scheduling tool reports (evm_status), carried forward to as_of."""
    if status.is_empty():
        return pl.DataFrame()
    dates = _status_grid(status, as_of, week_ends_on)
    rows = status.sort("status_date").select(
        "project_id", "status_date", "pv", "ev", "ac", "bac", "baseline_start", "baseline_finish",
        pl.col("baseline_version").cast(pl.Int64, strict=False).fill_null(1),
    )  # fmt: skip
    return (
        dates.join_asof(rows, on="status_date", by="project_id", strategy="backward", check_sortedness=False)
        .join(projects.select("project_id", "eac_method"), on="project_id", how="left")
        .with_columns(
            pl.col("eac_method").fill_null("cpi"),
            reconstructable=pl.lit(True),
            unbudgeted_ac=pl.lit(0).cast(MONEY),
        )
    )


def _bottom_up(
    work_items: pl.DataFrame,
    people: pl.DataFrame,
    rates: pl.DataFrame,
    projects: pl.DataFrame,
    dates: pl.DataFrame,
    week_ends_on: str,
) -> pl.DataFrame:
    """Per project and status date: Σ remaining estimate × rate of the items not done in the export in force
    (the assignee's rate on the export date, else the project's planned rate). NULL when an item with remaining
    work has no rate; not reconstructable before the project's first export."""
    narrow = work_items.filter(pl.col("project_id").is_not_null()).select(
        "item_key", "snapshot_date", "status_category", "remaining_estimate_h", "project_id", "assignee",
        "assignee_account_id",
    )  # fmt: skip
    # Only the rows of an item not done with a remaining estimate other than 0 are priced. Any other row costs 0 and
    # misses no rate, whatever its rate (the CASEs below); such rows are most of them (97 % of the bench's million).
    not_done = (pl.col("status_category") != "done").fill_null(True)  # IS DISTINCT FROM 'done'
    priced = not_done & (pl.col("remaining_estimate_h") != 0).fill_null(False)
    columns = ["item_key", "snapshot_date", "status_category", "remaining_estimate_h", "project_id"]
    rated = rate_in_force(assignee_person(narrow.filter(priced), people), people, rates, day="snapshot_date")
    rate = pl.coalesce(pl.col("hourly_rate").cast(pl.Float64), pl.col("planned_rate").cast(pl.Float64))
    rated = rated.join(projects.select("project_id", "planned_rate"), on="project_id", how="left").select(
        *columns, rate.alias("rate")
    )
    # An item counts in the project of its latest export (the last of its rows in week order). Only the items with a
    # priced row (2.5 % of the bench's million items) change a project's remaining cost: the steps below follow those,
    # with all their rows. Any other item costs 0 and misses no rate in every export, so it only dates its project's
    # first export (from its own first export on; the key is item and snapshot date, so its latest export is one).
    unpriced = narrow.filter(~priced).join(rated.select("item_key").unique(), on="item_key", how="semi")
    items = pl.concat([rated, unpriced.select(*columns, rate=pl.lit(None, pl.Float64))])
    firsts = (
        narrow.select("item_key", "snapshot_date", "project_id")
        .sort("snapshot_date")
        .group_by("item_key")
        .agg(pl.col("project_id").last(), first_day=pl.col("snapshot_date").first())
        .group_by("project_id")
        .agg(pl.col("first_day").min())
    )
    return query(
        """
        WITH snaps AS (
            SELECT item_key, project_id AS item_project, week_end(snapshot_date) AS wk,
                   CASE WHEN status_category = 'done' OR coalesce(remaining_estimate_h, 0) = 0 THEN 0
                        ELSE remaining_estimate_h * rate END AS cost,
                   CASE WHEN status_category IS DISTINCT FROM 'done' AND coalesce(remaining_estimate_h, 0) > 0
                        AND rate IS NULL THEN 1 ELSE 0 END AS missing
            FROM items
            QUALIFY row_number() OVER (PARTITION BY item_key, week_end(snapshot_date) ORDER BY snapshot_date DESC) = 1
        ),
        steps AS (
            SELECT last_value(item_project) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                       AS project_id,
                   wk,
                   coalesce(cost, 0) - coalesce(lag(cost, 1, 0) OVER w, 0) AS dc,
                   missing - lag(missing, 1, 0) OVER w AS dm
            FROM snaps
            WINDOW w AS (PARTITION BY item_key ORDER BY wk)
        ),
        deltas AS (SELECT project_id, wk, sum(dc) AS dc, sum(dm) AS dm FROM steps GROUP BY ALL),
        cum AS (
            SELECT project_id, wk, sum(dc) OVER w AS cost, sum(dm) OVER w AS missing
            FROM deltas
            WINDOW w AS (PARTITION BY project_id ORDER BY wk)
        )
        -- from the first export on: the cost and gaps of the priced items' steps so far (none yet: 0)
        SELECT d.project_id, d.status_date,
               CASE WHEN d.status_date >= week_end(f.first_day) AND coalesce(c.missing, 0) = 0
                    THEN CAST(round(coalesce(c.cost, 0), 4) AS DECIMAL(18, 4)) END AS remaining_cost,
               coalesce(d.status_date >= week_end(f.first_day), FALSE) AS reconstructable_bu
        FROM dates d
        LEFT JOIN firsts f ON f.project_id = d.project_id
        ASOF LEFT JOIN cum c ON c.project_id = d.project_id AND d.status_date >= c.wk
        """,
        {"items": items, "firsts": firsts, "dates": dates},
        week_ends_on=week_ends_on,
    )


def _points(plan_v: pl.DataFrame, versions: pl.DataFrame, spans: pl.DataFrame, status: pl.DataFrame) -> pl.DataFrame:
    """Each version's PV curve for earned schedule: (0, 0), (t(s), PV(s)) for its status dates before the
    baseline finish, and (PD, BAC)."""
    t = time_weeks(pl.col("status_date"), pl.col("baseline_start"))
    pd_t = time_weeks(pl.col("baseline_finish"), pl.col("baseline_start"))
    key = ["project_id", "baseline_version"]
    weekly = (
        plan_v.join(spans, on=key)
        .filter(pl.col("status_date") < pl.col("baseline_finish"), pl.col("status_date") >= pl.col("baseline_start"))
        .select(*key, t.alias("t_weeks"), pl.col("pv").cast(pl.Float64))
    )
    ends = spans.select(*key, pd_t.alias("t_weeks"), pl.col("bac").cast(pl.Float64).alias("pv"))
    starts = spans.select(*key, pl.lit(0.0).alias("t_weeks"), pl.lit(0.0).alias("pv"))
    parts = [starts, weekly, ends]
    if not status.is_empty():
        file_rows = status.with_columns(pl.col("baseline_version").cast(pl.Int64, strict=False).fill_null(1))
        parts += [
            file_rows.filter(pl.col("status_date") < pl.col("baseline_finish")).select(
                *key, t.alias("t_weeks"), pl.col("pv").cast(pl.Float64)
            ),
            file_rows.unique(key, keep="last").select(
                *key, pd_t.alias("t_weeks"), pl.col("bac").cast(pl.Float64).alias("pv")
            ),
            file_rows.unique(key).select(*key, pl.lit(0.0).alias("t_weeks"), pl.lit(0.0).alias("pv")),
        ]
    return pl.concat(parts).sort(*key, "t_weeks")


def _plan_in_force(
    plan_v: pl.DataFrame, grid: pl.DataFrame, versions: pl.DataFrame, status: pl.DataFrame
) -> pl.DataFrame:
    """project_id, status_date, pv: the version in force at each status date and, after the as-of date, the
    version in force then, to its finish — the curve the portfolio's earned schedule reads."""
    current = (
        grid.sort("status_date")
        .group_by("project_id")
        .agg(pl.col("baseline_version").last(), pl.col("status_date").last().alias("_as_of"))
    )
    past = grid.join(plan_v, on=["project_id", "baseline_version", "status_date"], how="left").select(
        "project_id", "status_date", "pv"
    )
    future = (
        plan_v.join(current, on=["project_id", "baseline_version"])
        .filter(pl.col("status_date") > pl.col("_as_of"))
        .select("project_id", "status_date", "pv")
    )
    parts = [past, future]
    if not status.is_empty():
        parts.append(status.select("project_id", "status_date", "pv"))
    out = pl.concat(parts).sort("project_id", "status_date")
    # Before a version's first planned week its PV is 0; after its finish, its BAC (the asof value).
    return out.with_columns(pl.col("pv").forward_fill().over("project_id").fill_null(0).cast(MONEY))


def _stop_the_clock(base: pl.DataFrame) -> pl.DataFrame:
    """Once EV reaches BAC the project is finished: its actual time stays that of the week it finished, so
    SPI(t), IEAC(t) and the forecast finish carry forward with the other cumulative figures instead of
    worsening every week after completion. (A reopened item that drops EV below BAC restarts the clock.)"""
    done = (pl.col("ev") >= pl.col("bac")) & (pl.col("bac") > 0)
    return (
        base.sort("project_id", "status_date")
        .with_columns(_done=done.fill_null(False))
        .with_columns(_run=(pl.col("_done") != pl.col("_done").shift(1).over("project_id")).fill_null(True))
        .with_columns(_run=pl.col("_run").cum_sum().over("project_id"))
        .with_columns(
            at_weeks=pl.when(pl.col("_done"))
            .then(pl.col("at_weeks").first().over("project_id", "_run"))
            .otherwise(pl.col("at_weeks"))
        )
        .drop("_done", "_run")
    )
