"""Risk exposure: register risks, operational risks derived from the other sources, and the heat map
(../shared/EVM.md "Risk exposure").

Outputs and their grain:
- `register_risks`: one row per open register risk per status date of its project (from its review date on; every
  grid date when it has none). Closed risks count nowhere. exposure_cost = probability × cost impact (DECIMAL),
  exposure_days = probability × schedule impact (DOUBLE), and the 5 × 5 heat-map bands.
- `probability_findings`: one row per register risk whose probability is missing or outside the configured scale;
  such a risk is left out of `register_risks`, never used.
- `project_exposure`: one row per grid row (project, status date): the summed exposure of its open risks, 0 when none.
- `operational_risks`: one row per derived risk per status date (grid dates only), each naming its source row:
  assets whose warranty or end of life falls before the forecast finish, licences expiring or over-allocated,
  critical/high work items open past their target, blocked work items ageing.
- `risk_exposure_mart`: both stacked in one schema, one row per project, status date and risk_id.

Work items are read as the snapshot in force at each status date: an item's latest export on or before it (the
same rule as earned value). Each item row is in force from its snapshot date to the item's next snapshot, so a
derived risk is expanded only over the weeks where it holds, never item × week.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

MONEY = pl.Decimal(18, 4)
PROBABILITY_SCALES = ("fraction", "percent", "1-5")
# The 1-5 rating mapped to a probability: the middle of each fifth.
ONE_TO_FIVE = {1: Decimal("0.1"), 2: Decimal("0.3"), 3: Decimal("0.5"), 4: Decimal("0.7"), 5: Decimal("0.9")}

REGISTER_COLUMNS = {
    "status_date": pl.Date, "project_id": pl.String, "risk_id": pl.String, "title": pl.String, "owner": pl.String,
    "probability": pl.Float64, "cost_impact": MONEY, "schedule_impact_days": pl.Float64, "exposure_cost": MONEY,
    "exposure_days": pl.Float64, "probability_band": pl.Int64, "impact_band": pl.Int64, "heat_score": pl.Int64,
    "heat_band": pl.String, "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip
OPERATIONAL_COLUMNS = {
    "status_date": pl.Date, "project_id": pl.String, "risk_id": pl.String, "source": pl.String, "title": pl.String,
    "owner": pl.String, "cost_impact": MONEY, "source_table": pl.String, "source_key": pl.String,
    "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip
MART_COLUMNS = {
    "status_date": pl.Date, "project_id": pl.String, "risk_id": pl.String, "source": pl.String, "title": pl.String,
    "owner": pl.String, "probability": pl.Float64, "cost_impact": MONEY, "schedule_impact_days": pl.Float64,
    "exposure_cost": MONEY, "exposure_days": pl.Float64, "probability_band": pl.Int64, "impact_band": pl.Int64,
    "heat_score": pl.Int64, "heat_band": pl.String, "source_table": pl.String, "source_key": pl.String,
    "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip
FINDING_COLUMNS = {
    "risk_id": pl.String, "project_id": pl.String, "status": pl.String, "probability": MONEY,
    "probability_scale": pl.String, "problem": pl.String, "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- register risks


def _probability(scale: str) -> tuple[pl.Expr, pl.Expr]:
    """(probability as a DECIMAL fraction, the problem) for the register's raw `probability` on `scale`.

    The probability is NULL whenever the problem is not: a value outside the scale is never used."""
    if scale not in PROBABILITY_SCALES:
        raise ValueError(f"probability_scale must be one of {PROBABILITY_SCALES}, not {scale!r}")
    raw = pl.col("probability").cast(MONEY)
    if scale == "fraction":
        ok, value, rule = (raw >= 0) & (raw <= 1), raw, "outside the fraction scale 0-1"
    elif scale == "percent":
        ok, value, rule = (raw >= 0) & (raw <= 100), raw / 100, "outside the percent scale 0-100"
    else:
        ok = raw.is_in([Decimal(k) for k in ONE_TO_FIVE])
        value = pl.lit(None, MONEY)
        for rating, fraction in ONE_TO_FIVE.items():
            value = pl.when(raw == rating).then(pl.lit(fraction, MONEY)).otherwise(value)
        rule = "not a rating 1, 2, 3, 4 or 5"
    problem = pl.when(raw.is_null()).then(pl.lit("no probability")).when(~ok).then(pl.lit(f"probability {rule}"))
    return pl.when(problem.is_null()).then(value.cast(MONEY)), problem


def probability_findings(risks: pl.DataFrame, *, probability_scale: str = "fraction") -> pl.DataFrame:
    """Grain: one row per register risk (open or closed) whose probability is missing or outside the scale."""
    _, problem = _probability(probability_scale)
    return (
        risks.with_columns(problem=problem, probability_scale=pl.lit(probability_scale))
        .filter(pl.col("problem").is_not_null())
        .select([pl.col(c).cast(t) for c, t in FINDING_COLUMNS.items()])
        .sort("risk_id", "_source_file", "_line")
    )


def _band(value: pl.Expr, edges: list[float]) -> pl.Expr:
    """1 + the number of edges at or below the value (1..len(edges) + 1); NULL when the value is."""
    value = value.cast(pl.Float64)
    return pl.when(value.is_not_null()).then(pl.sum_horizontal([(value >= e).cast(pl.Int64) for e in edges]) + 1)


def heat_map(
    frame: pl.DataFrame,
    *,
    cost_bands: list[float],
    days_bands: list[float],
    high_at: int = 15,
    medium_at: int = 8,
) -> pl.DataFrame:
    """Add probability_band, impact_band, heat_score and heat_band to a frame with probability (fraction),
    cost_impact and schedule_impact_days.

    Probability band = 1 + floor(p × 5), at most 5 (so 0 ≤ p < 0.2 is band 1, 0.8 ≤ p ≤ 1 band 5). Impact band =
    the larger of the cost band and the days band, each 1 + the number of edges at or below the impact (an
    unknown impact gives no band). heat_score = probability band × impact band: "high" from `high_at`, "medium"
    from `medium_at`, else "low"."""
    p = pl.col("probability").cast(pl.Float64)
    # p × 5 in DECIMAL first: 0.6 × 5 is exactly 3, never 2.9999… before the floor.
    p5 = (pl.col("probability").cast(MONEY) * 5).cast(pl.Float64)
    out = frame.with_columns(
        probability_band=pl.when(p.is_not_null()).then(pl.min_horizontal(p5.floor().cast(pl.Int64) + 1, pl.lit(5))),
        impact_band=pl.max_horizontal(
            _band(pl.col("cost_impact"), cost_bands), _band(pl.col("schedule_impact_days"), days_bands)
        ),
    ).with_columns(heat_score=pl.col("probability_band") * pl.col("impact_band"))
    return out.with_columns(
        heat_band=pl.when(pl.col("heat_score") >= high_at)
        .then(pl.lit("high"))
        .when(pl.col("heat_score") >= medium_at)
        .then(pl.lit("medium"))
        .when(pl.col("heat_score").is_not_null())
        .then(pl.lit("low"))
    )


def register_risks(
    risks: pl.DataFrame,
    grid: pl.DataFrame,
    *,
    probability_scale: str = "fraction",
    cost_bands: list[float] = (5_000, 20_000, 50_000, 100_000),
    days_bands: list[float] = (2, 5, 10, 20),
    high_at: int = 15,
    medium_at: int = 8,
) -> pl.DataFrame:
    """Grain: one row per open register risk per status date of its project, from its review_date on (every grid
    date when it has none). Risks whose probability is off the scale are left out (see `probability_findings`).

    risks: staging.risks; grid: project_id, status_date. Columns: REGISTER_COLUMNS."""
    probability, problem = _probability(probability_scale)
    open_risks = risks.filter(pl.col("status") == "open").with_columns(_p=probability, _problem=problem)
    open_risks = open_risks.filter(pl.col("_problem").is_null())
    weekly = open_risks.join(grid.select("project_id", "status_date"), on="project_id", how="inner").filter(
        pl.col("review_date").is_null() | (pl.col("status_date") >= pl.col("review_date"))
    )
    weekly = weekly.with_columns(
        probability=pl.col("_p").cast(pl.Float64),
        exposure_cost=(pl.col("_p") * pl.col("cost_impact").cast(MONEY)).cast(MONEY),
        exposure_days=pl.col("_p").cast(pl.Float64) * pl.col("schedule_impact_days").cast(pl.Float64),
        schedule_impact_days=pl.col("schedule_impact_days").cast(pl.Float64),
    )
    weekly = heat_map(
        weekly, cost_bands=list(cost_bands), days_bands=list(days_bands), high_at=high_at, medium_at=medium_at
    )
    return weekly.select([pl.col(c).cast(t) for c, t in REGISTER_COLUMNS.items()]).sort(
        "project_id", "status_date", "risk_id"
    )


def project_exposure(register: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per grid row (project_id, status_date): risk_exposure_cost (DECIMAL) and risk_exposure_days
    (DOUBLE), the sums over the project's open register risks at that date; 0 when it has none."""
    sums = register.group_by("project_id", "status_date").agg(
        pl.col("exposure_cost").sum().alias("risk_exposure_cost"),
        pl.col("exposure_days").sum().alias("risk_exposure_days"),
    )
    return (
        grid.select("project_id", "status_date")
        .join(sums, on=["project_id", "status_date"], how="left")
        .with_columns(
            pl.col("risk_exposure_cost").fill_null(0).cast(MONEY),
            pl.col("risk_exposure_days").fill_null(0.0).cast(pl.Float64),
        )
        .sort("project_id", "status_date")
    )


# ------------------------------------------------------------------------------------------- operational risks


# A ticket's snapshots in order: by export date, and two exports of one date by file and line (the later one is in
# force; the earlier one holds for no status date).
SNAPSHOT_ORDER = ("item_key", "snapshot_date", "_source_file", "_line")


def in_force(work_items: pl.DataFrame) -> pl.DataFrame:
    """Each work item row with `valid_to`: the item's next snapshot date (NULL for its latest). The row is the
    snapshot in force at every status date from its snapshot_date up to (not including) valid_to."""
    item = pl.col("item_key")
    return work_items.sort(SNAPSHOT_ORDER).with_columns(
        valid_to=pl.when(item.shift(-1).eq_missing(item)).then(pl.col("snapshot_date").shift(-1))
    )


# The work item columns the derived risks read.
ITEM_COLUMNS = ("item_key", "snapshot_date", "project_id", "status", "status_category", "priority", "sla_due_at",
                "due", "summary", "assignee", "_source_file", "_line")  # fmt: skip


# The rows of staging.work_items ({source}) up to $as_of that a derived risk can come from, with their valid_to
# (`in_force`): every snapshot of each item with a snapshot that is not done and either critical or high with a target,
# or blocked. `_ticket_risks` and `_blocked_risks` filter them again; this only leaves out items that can have no risk
# (at portfolio scale 17,000 rows of a million), and computes valid_to over every snapshot of the items it keeps. The
# items are found first and their rows read by a semi join: a CTE of the rows, read twice, would be materialized
# whole (0.10 s against 0.15 s cold at portfolio scale).
ITEMS_SQL = f"""
WITH kept AS (
    SELECT DISTINCT item_key FROM {{source}} WHERE snapshot_date <= $as_of AND coalesce(status_category, '') <> 'done'
       AND (lower(priority) IN ('critical', 'high') AND (sla_due_at IS NOT NULL OR due IS NOT NULL)
            OR lower(status) LIKE '%block%'))
SELECT {", ".join(ITEM_COLUMNS)},
       lead(snapshot_date) OVER (PARTITION BY item_key ORDER BY {", ".join(SNAPSHOT_ORDER[1:])}) AS valid_to
FROM {{source}} SEMI JOIN kept USING (item_key) WHERE snapshot_date <= $as_of
"""


def _valid_to(work_items: pl.DataFrame) -> pl.DataFrame:
    """`in_force` without reordering the rows: only the keys are sorted, and valid_to is put back in place."""
    order = work_items.select(pl.arg_sort_by(SNAPSHOT_ORDER)).to_series()
    item = pl.col("item_key")
    ranked = work_items.select("item_key", "snapshot_date")[order].select(
        pl.when(item.shift(-1).eq_missing(item)).then(pl.col("snapshot_date").shift(-1)).alias("valid_to")
    )
    return work_items.with_columns(ranked.to_series()[order.arg_sort()])


def expand_to_grid(frame: pl.DataFrame, grid: pl.DataFrame, start: str, end: str) -> pl.DataFrame:
    """Rows of `frame` (with project_id) repeated at every grid status date of their project with
    start ≤ status_date < end (end NULL: open-ended). Proportional to the output, not to rows × weeks."""
    if grid.is_empty() or frame.is_empty():
        return frame.with_columns(status_date=pl.lit(None, pl.Date)).clear()
    last = grid.get_column("status_date").max()
    end_dow = grid.get_column("status_date").min().isoweekday()  # the grid's week-end weekday
    first = pl.col(start) + pl.duration(days=(end_dow + 7 - pl.col(start).dt.weekday().cast(pl.Int64)) % 7)
    stop = pl.when(pl.col(end).is_null()).then(pl.lit(last)).otherwise(pl.col(end) - pl.duration(days=1))
    expanded = (
        frame.filter(pl.col(start).is_not_null())
        .with_columns(status_date=pl.date_ranges(first, pl.min_horizontal(stop, pl.lit(last)), "7d"))
        .explode("status_date")
        .filter(pl.col("status_date").is_not_null())
    )
    return expanded.join(grid.select("project_id", "status_date"), on=["project_id", "status_date"], how="inner")


def _asset_risks(assets: pl.DataFrame, grid_forecast: pl.DataFrame) -> pl.DataFrame:
    """(a) Assets of a project whose warranty or end of life falls after the status date and before the forecast
    finish (no forecast finish, no risk: the comparison is undefined)."""
    ends = {"warranty ends": "warranty_end", "end of life": "eol_date"}
    hit = {
        label: (pl.col(c) > pl.col("status_date")) & (pl.col(c) < pl.col("forecast_finish"))
        for label, c in ends.items()
    }
    # Every asset of a project × its weeks is the size of the grid times the assets: joined and filtered in
    # batches (streaming), only the assets that can ever hit and only the columns read.
    weekly = (
        assets.lazy()
        .filter(pl.col("project_id").is_not_null(), pl.any_horizontal(pl.col(*ends.values()).is_not_null()))
        .select("project_id", "asset_tag", "name", "owner_id", "purchase_cost", *ends.values(), "_source_file", "_line")
        .join(grid_forecast.lazy(), on="project_id", how="inner")
        .filter(pl.any_horizontal([h.fill_null(False) for h in hit.values()]))
        .collect(engine="streaming")
    )
    what = pl.concat_str(
        [pl.when(h).then(pl.format(f"{label} {{}}", pl.col(ends[label]))) for label, h in hit.items()],
        separator=" and ",
        ignore_nulls=True,
    )
    name = pl.when(pl.col("name").is_not_null()).then(pl.format(" ({})", pl.col("name"))).otherwise(pl.lit(""))
    return weekly.select(
        "status_date",
        "project_id",
        pl.format("OPS-ASSET-{}", pl.col("asset_tag")).alias("risk_id"),
        pl.lit("asset").alias("source"),
        pl.format("Asset {}{}: {} before the forecast finish", pl.col("asset_tag"), name, what).alias("title"),
        pl.col("owner_id").alias("owner"),
        pl.col("purchase_cost").alias("cost_impact"),
        pl.lit("assets").alias("source_table"),
        pl.col("asset_tag").alias("source_key"),
        "_source_file",
        "_line",
    )


def _licence_risks(licences: pl.DataFrame, grid_forecast: pl.DataFrame, horizon_days: int) -> pl.DataFrame:
    """(b) Licences of a project expiring after the status date and within `horizon_days` of it or before the
    forecast finish; or over-allocated (seats_assigned > seats, seats NULL or 0 meaning unlimited) from purchase."""
    expiring = (pl.col("expiry") > pl.col("status_date")) & (
        (pl.col("expiry") <= pl.col("status_date") + pl.duration(days=horizon_days))
        | (pl.col("expiry") < pl.col("forecast_finish")).fill_null(False)
    )
    over = (
        (pl.col("seats") > 0)
        & (pl.col("seats_assigned") > pl.col("seats"))
        & (pl.col("purchase_date").is_null() | (pl.col("purchase_date") <= pl.col("status_date")))
    )
    weekly = (  # batched like the assets (_asset_risks)
        licences.lazy()
        .filter(pl.col("project_id").is_not_null())
        .join(grid_forecast.lazy(), on="project_id", how="inner")
        .with_columns(_expiring=expiring.fill_null(False), _over=over.fill_null(False))
        .filter(pl.col("_expiring") | pl.col("_over"))
        .collect(engine="streaming")
    )
    what = pl.concat_str(
        [
            pl.when(pl.col("_expiring")).then(pl.format("expires {}", pl.col("expiry"))),
            pl.when(pl.col("_over")).then(pl.format("{} seats assigned of {}", "seats_assigned", "seats")),
        ],
        separator=" and ",
        ignore_nulls=True,
    )
    product = pl.when(pl.col("product").is_not_null()).then(pl.format(" ({})", "product")).otherwise(pl.lit(""))
    return weekly.select(
        "status_date",
        "project_id",
        pl.format("OPS-LICENCE-{}", pl.col("licence_id")).alias("risk_id"),
        pl.lit("licence").alias("source"),
        pl.format("Licence {}{}: {}", pl.col("licence_id"), product, what).alias("title"),
        pl.lit(None, pl.String).alias("owner"),
        pl.col("cost").alias("cost_impact"),
        pl.lit("licences").alias("source_table"),
        pl.col("licence_id").alias("source_key"),
        "_source_file",
        "_line",
    )


def _not_done() -> pl.Expr:
    return pl.col("status_category").fill_null("") != "done"


def _ticket_risks(rows: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """(c) Critical and high priority items, not done in the snapshot in force, open past their target: the SLA
    due time, else the end of the due date. As of the end of status date S, an SLA due at any time on day D is
    past from S = D; a due date D is past from S = D + 1."""
    target_day = pl.coalesce(pl.col("sla_due_at").dt.date(), pl.col("due") + pl.duration(days=1))
    late = rows.filter(
        pl.col("priority").str.to_lowercase().is_in(["critical", "high"]),
        _not_done(),
        target_day.is_not_null(),
    ).with_columns(
        _from=pl.max_horizontal("snapshot_date", target_day),
        _target=pl.coalesce(pl.col("sla_due_at").dt.strftime("%Y-%m-%d %H:%M"), pl.col("due").cast(pl.String)),
    )
    weekly = expand_to_grid(late, grid, "_from", "valid_to")
    return _ticket_risk(weekly, "ticket", pl.format("{} {} open past its target {}", "priority", "item_key", "_target"))


def _blocked_risks(rows: pl.DataFrame, grid: pl.DataFrame, blocked_days: int) -> pl.DataFrame:
    """(d) Items blocked (status containing "block", any case) and not done, blocked for more than `blocked_days`
    days at the status date, counted from the first snapshot of the current blocked spell."""
    blocked = pl.col("status").str.to_lowercase().str.contains("block").fill_null(False) & _not_done()
    rows = rows.with_columns(_blocked=blocked)
    # The items ever blocked, each in snapshot order; a spell starts where the item or its blocked flag changes.
    rows = rows.join(rows.filter(pl.col("_blocked")).select("item_key").unique(), on="item_key", how="semi")
    item = pl.col("item_key")
    spells = (
        rows.sort(SNAPSHOT_ORDER)
        .with_columns(
            _start=(item.ne_missing(item.shift(1)) | (pl.col("_blocked") != pl.col("_blocked").shift(1))).fill_null(
                True
            )
        )
        .with_columns(blocked_since=pl.when(pl.col("_start")).then(pl.col("snapshot_date")).forward_fill())
        .filter(pl.col("_blocked"))
    )
    # Age = status date − blocked_since > blocked_days, i.e. from blocked_since + blocked_days + 1.
    ageing = spells.with_columns(
        _from=pl.max_horizontal("snapshot_date", pl.col("blocked_since") + pl.duration(days=blocked_days + 1))
    )
    weekly = expand_to_grid(ageing, grid, "_from", "valid_to")
    return _ticket_risk(weekly, "blocked", pl.format("{} blocked since {}", "item_key", "blocked_since"))


def operational_risks(
    *,
    grid_forecast: pl.DataFrame,
    assets: pl.DataFrame,
    licences: pl.DataFrame,
    work_items: pl.DataFrame,
    as_of: dt.date,
    blocked_days: int = 10,
    licence_horizon_days: int = 90,
) -> pl.DataFrame:
    """Grain: one row per derived risk per status date (grid dates up to `as_of` only): OPERATIONAL_COLUMNS.

    grid_forecast: project_id, status_date, forecast_finish (may be NULL); assets, licences and work_items are the
    staging tables (with project_id); work_items may instead be the rows ITEMS_SQL reads, which carry their
    valid_to. Each risk names its source row (source_table, source_key, _source_file, _line); its risk_id is
    OPS-ASSET-<tag>, OPS-LICENCE-<id>, OPS-TICKET-<item> or OPS-BLOCKED-<item>."""
    grid_forecast = grid_forecast.filter(pl.col("status_date") <= as_of).select(
        "project_id", "status_date", "forecast_finish"
    )
    grid = grid_forecast.select("project_id", "status_date")
    items = work_items.filter(pl.col("snapshot_date") <= as_of)
    if "valid_to" in items.columns:
        rows = items.select(*ITEM_COLUMNS, "valid_to")
    else:
        rows = _valid_to(items.select(ITEM_COLUMNS))
    parts = [
        _asset_risks(assets, grid_forecast),
        _licence_risks(licences, grid_forecast, licence_horizon_days),
        _ticket_risks(rows, grid),
        _blocked_risks(rows, grid, blocked_days),
    ]
    return pl.concat(
        [p.select([pl.col(c).cast(t) for c, t in OPERATIONAL_COLUMNS.items()]) for p in parts], how="vertical"
    ).sort("project_id", "status_date", "risk_id")


def risk_exposure_mart(register: pl.DataFrame, operational: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project, status date and risk_id (marts.risk_exposure): MART_COLUMNS. Register risks
    carry source "register" and point at staging.risks; derived risks have no probability, so their exposure and
    heat-map columns are NULL (cost_impact where known)."""
    register = register.with_columns(
        source=pl.lit("register"), source_table=pl.lit("risks"), source_key=pl.col("risk_id")
    )
    missing = {c: t for c, t in MART_COLUMNS.items() if c not in operational.columns}
    operational = operational.with_columns([pl.lit(None, t).alias(c) for c, t in missing.items()])
    return pl.concat(
        [f.select([pl.col(c).cast(t) for c, t in MART_COLUMNS.items()]) for f in (register, operational)],
        how="vertical",
    ).sort("project_id", "status_date", "risk_id")


def _ticket_risk(weekly: pl.DataFrame, source: str, what: pl.Expr) -> pl.DataFrame:
    """A risk derived from a work item, per status date: OPS-<SOURCE>-<item>, titled `what`: summary, traceable to
    its export row."""
    return weekly.select(
        "status_date",
        "project_id",
        pl.format(f"OPS-{source.upper()}-{{}}", pl.col("item_key")).alias("risk_id"),
        pl.lit(source).alias("source"),
        pl.concat_str([what, "summary"], separator=": ", ignore_nulls=True).alias("title"),
        pl.col("assignee").alias("owner"),
        pl.lit(None, MONEY).alias("cost_impact"),
        pl.lit("work_items").alias("source_table"),
        pl.col("item_key").alias("source_key"),
        "_source_file",
        "_line",
    )
