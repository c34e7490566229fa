"""Assets and licences (marts.itam_cost and its lists): what they cost, by project and cost centre, seats owned
against seats assigned, what renews or reaches its end of life soon, and assets nobody owns or can locate.

Outputs and their grain:
- `itam_cost`: one row per status date, group_level ("project", "cost_centre") and group_key ("(none)" when the
  asset or licence has none) of any asset or licence: COST_COLUMNS, as of the end of the status date.
  - assets: assets purchased by the date (undated ones always count); assets_without_cost: those of them whose
    cost is in no cost column (no purchase cost, a cost of 0, or no purchase date to place it).
  - purchase_cost: Σ purchase cost of the assets purchased by the date; amortised_cost: cumulative straight-line
    (`transforms.actual_cost.direct_costs` rules: to the end of life, else over `asset_life_months`), equal to
    purchase_cost in "purchase" mode; licence_cost: cumulative licence cost by the same mode (amortised to the
    expiry, else at purchase).
  - licences: licences in force (purchased by the date or undated, not expired: expiry NULL or ≥ the date);
    a licence with NULL or 0 seats is unlimited: counted in unlimited_licences, never in seats.
    seats_owned / seats_assigned: Σ seats / Σ seats assigned of the limited licences in force; seats_free =
    owned − assigned (negative: over-allocated).
- `itam_due_dates`: one row per licence expiry, asset warranty end or asset end of life that has a date: DUE_COLUMNS.
  cost: the licence's cost (its renewal at the last price) or the asset's purchase cost (its replacement value).
- `itam_renewals`: those of the due dates held at `as_of` (purchase_date NULL or ≤ `as_of`, as `itam_cost` counts
  them) and due 0..180 days after it: RENEWAL_COLUMNS, window = the smallest of "30", "90", "180" that holds
  days_until. The pack computes them from marts.itam_due_dates at its own status date, so a backfill's earlier
  packs show theirs.
- `itam_gaps`: one row per asset without an owner (owner_id NULL or blank) or without a location: GAP_COLUMNS.
Money is DECIMAL(18,4); counts are BIGINT.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.actual_cost import direct_costs
from transforms.calendar import is_week_end
from transforms.duck import query

MONEY = pl.Decimal(18, 4)
NONE_KEY = "(none)"
LEVELS = {"project": "project_id", "cost_centre": "cost_centre"}
WINDOWS = (30, 90, 180)
COST_COLUMNS = {
    "status_date": pl.Date, "group_level": pl.String, "group_key": pl.String, "assets": pl.Int64,
    "assets_without_cost": pl.Int64, "purchase_cost": MONEY, "amortised_cost": MONEY, "licence_cost": MONEY,
    "licences": pl.Int64, "unlimited_licences": pl.Int64, "seats_owned": pl.Int64, "seats_assigned": pl.Int64,
    "seats_free": pl.Int64,
}  # fmt: skip
MONEY_MEASURES = ("purchase_cost", "amortised_cost", "licence_cost")
COUNT_MEASURES = ("assets", "assets_without_cost", "licences", "unlimited_licences", "seats_owned", "seats_assigned")
DUE_COLUMNS = {
    "kind": pl.String, "key": pl.String, "name": pl.String, "project_id": pl.String, "cost_centre": pl.String,
    "purchase_date": pl.Date, "due_date": pl.Date, "cost": MONEY, "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip
RENEWAL_COLUMNS = {
    "kind": pl.String, "key": pl.String, "name": pl.String, "project_id": pl.String, "cost_centre": pl.String,
    "due_date": pl.Date, "days_until": pl.Int64, "window": pl.String, "cost": MONEY, "_source_file": pl.Int64,
    "_line": pl.Int64,
}  # fmt: skip
GAP_COLUMNS = {
    "asset_tag": pl.String, "name": pl.String, "project_id": pl.String, "cost_centre": pl.String,
    "missing": pl.String, "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip

_CUMULATIVE_SQL = """
-- Every measure is a cumulative straight line per group (transforms.actual_cost's trick): at status date s (day
-- number S) value(s) = K·S − M + F, where K sums the daily amounts of the items spreading at s, M their
-- K·(first day − 1) and F what is already whole. Counts are steps of F only: +n from the week holding the first
-- day, −n from the week holding the day after the last. No item × week cross join.
WITH spread AS (
    SELECT group_level, group_key, measure, CAST(cost AS DOUBLE) AS cost, first_day, last_day,
           CAST(cost AS DOUBLE) / (date_diff('day', first_day, last_day) + 1) AS k
    FROM money
),
steps AS (
    SELECT group_level, group_key, measure, week_end(first_day) AS wk, k AS dk,
           k * (date_diff('day', DATE '1970-01-01', first_day) - 1) AS dm, 0.0 AS df
    FROM spread WHERE last_day > first_day
    UNION ALL
    SELECT group_level, group_key, measure, week_end(last_day), -k,
           -k * (date_diff('day', DATE '1970-01-01', first_day) - 1), cost
    FROM spread WHERE last_day > first_day
    UNION ALL
    SELECT group_level, group_key, measure, week_end(first_day), 0, 0, cost FROM spread WHERE last_day <= first_day
    UNION ALL
    SELECT group_level, group_key, measure, coalesce(week_end(from_day), DATE '0001-01-07'), 0, 0, n FROM counts
    UNION ALL
    SELECT group_level, group_key, measure, week_end(CAST(to_day + 1 AS DATE)), 0, 0, -n
    FROM counts WHERE to_day IS NOT NULL
),
by_week AS (
    SELECT group_level, group_key, measure, wk, sum(dk) AS dk, sum(dm) AS dm, sum(df) AS df FROM steps GROUP BY ALL
),
cum AS (
    SELECT group_level, group_key, measure, wk, sum(dk) OVER w AS k, sum(dm) OVER w AS m, sum(df) OVER w AS f
    FROM by_week
    WINDOW w AS (PARTITION BY group_level, group_key, measure ORDER BY wk)
),
cells AS (
    SELECT g.group_level, g.group_key, w.status_date, m.measure
    FROM (SELECT DISTINCT group_level, group_key FROM steps) g CROSS JOIN weeks w CROSS JOIN measures m
),
vals AS (
    SELECT x.group_level, x.group_key, x.status_date, x.measure,
           round(coalesce(c.k * date_diff('day', DATE '1970-01-01', x.status_date) - c.m + c.f, 0), 4) AS v
    FROM cells x
    ASOF LEFT JOIN cum c ON c.group_level = x.group_level AND c.group_key = x.group_key
        AND c.measure = x.measure AND x.status_date >= c.wk
)
SELECT status_date, group_level, group_key,
       {pivot}
FROM vals
GROUP BY status_date, group_level, group_key
ORDER BY status_date, group_level, group_key
"""


def _key(column: str) -> pl.Expr:
    """The group key: the column's value, NONE_KEY when it is NULL or blank."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.is_null() | (value == "")).then(pl.lit(NONE_KEY)).otherwise(value).alias("group_key")


def _money_items(assets: pl.DataFrame, licences: pl.DataFrame, mode: str, asset_life_months: int) -> pl.DataFrame:
    """group_level, group_key, measure, cost, first_day, last_day: each dated asset and licence cost, once per level,
    spread as `direct_costs` spreads it."""
    parts = []
    for level, column in LEVELS.items():
        keyed_assets = assets.with_columns(_key(column).alias("project_id"))
        keyed_licences = licences.with_columns(_key(column).alias("project_id"))
        by_mode = {
            "purchase_cost": direct_costs(keyed_assets, keyed_licences.clear(), mode="purchase"),
            "amortised_cost": direct_costs(
                keyed_assets, keyed_licences.clear(), mode=mode, asset_life_months=asset_life_months
            ),
            "licence_cost": direct_costs(keyed_assets.clear(), keyed_licences, mode=mode),
        }
        parts += [
            items.select(
                pl.lit(level).alias("group_level"),
                pl.col("project_id").alias("group_key"),
                pl.lit(measure).alias("measure"),
                "cost",
                "first_day",
                "last_day",
            )
            for measure, items in by_mode.items()
        ]
    return pl.concat(parts)


def _count_items(assets: pl.DataFrame, licences: pl.DataFrame) -> pl.DataFrame:
    """group_level, group_key, measure, n, from_day, to_day (NULL: open-ended): what each asset and licence adds
    to the counts while it is held (from NULL: since always)."""
    no_cost = pl.col("purchase_cost").is_null() | (pl.col("purchase_cost") == 0) | pl.col("purchase_date").is_null()
    unlimited = pl.col("seats").is_null() | (pl.col("seats") <= 0)
    asset_counts = {"assets": pl.lit(1), "assets_without_cost": no_cost.cast(pl.Int64)}
    licence_counts = {
        "licences": pl.lit(1),
        "unlimited_licences": unlimited.cast(pl.Int64),
        "seats_owned": pl.when(unlimited).then(0).otherwise(pl.col("seats")),
        "seats_assigned": pl.when(unlimited).then(0).otherwise(pl.col("seats_assigned").fill_null(0)),
    }
    parts = []
    for level, column in LEVELS.items():
        for frame, counts, to_day in (
            (assets, asset_counts, pl.lit(None, pl.Date)),
            (licences, licence_counts, pl.col("expiry")),
        ):
            parts += [
                frame.select(
                    pl.lit(level).alias("group_level"),
                    _key(column),
                    pl.lit(measure).alias("measure"),
                    n.cast(pl.Float64).alias("n"),
                    pl.col("purchase_date").alias("from_day"),
                    to_day.alias("to_day"),
                )
                for measure, n in counts.items()
            ]
    # A licence that expires before its purchase date is never in force: it adds to no count.
    never = pl.col("to_day") < pl.col("from_day")
    return pl.concat(parts).filter(pl.col("n") != 0, ~never.fill_null(False))


def itam_cost(
    assets: pl.DataFrame,
    licences: pl.DataFrame,
    weeks: list[dt.date],
    *,
    mode: str = "amortised",
    asset_life_months: int = 36,
    week_ends_on: str = "sunday",
) -> pl.DataFrame:
    """Grain: one row per status date in `weeks`, group level and group key: COST_COLUMNS (see the module).

    assets: asset_tag, project_id, cost_centre, purchase_date, purchase_cost, eol_date; licences: licence_id,
    project_id, cost_centre, seats, seats_assigned, cost, purchase_date, expiry. mode: "amortised" | "purchase"."""
    if mode not in ("amortised", "purchase"):
        raise ValueError(f"mode must be 'amortised' or 'purchase', not {mode!r}")
    off_grid = [w for w in weeks if not is_week_end(w, week_ends_on)]
    if off_grid:
        raise ValueError(f"status dates must be {week_ends_on}s (week ends); not: {sorted(set(off_grid))}")
    if not weeks:
        return pl.DataFrame(schema=COST_COLUMNS)
    pivot = ",\n       ".join(
        f"sum(v) FILTER (WHERE measure = '{m}') AS {m}" for m in (*MONEY_MEASURES, *COUNT_MEASURES)
    )
    measures = pl.DataFrame({"measure": [*MONEY_MEASURES, *COUNT_MEASURES]})
    out = query(
        _CUMULATIVE_SQL.replace("{pivot}", pivot),
        {
            "money": _money_items(assets, licences, mode, asset_life_months),
            "counts": _count_items(assets, licences),
            "weeks": pl.DataFrame({"status_date": sorted(set(weeks))}, schema={"status_date": pl.Date}),
            "measures": measures,
        },
        week_ends_on=week_ends_on,
    )
    out = out.with_columns(
        [pl.col(m).cast(MONEY) for m in MONEY_MEASURES] + [pl.col(m).round(0).cast(pl.Int64) for m in COUNT_MEASURES]
    ).with_columns(seats_free=pl.col("seats_owned") - pl.col("seats_assigned"))
    return out.select([pl.col(c).cast(t) for c, t in COST_COLUMNS.items()]).sort(
        "status_date", "group_level", "group_key"
    )


def itam_due_dates(assets: pl.DataFrame, licences: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per kind ("licence_expiry", "warranty_end", "end_of_life") and key (licence_id or asset_tag)
    with a due date: DUE_COLUMNS, sorted by due_date, kind, key.

    assets: asset_tag, name, project_id, cost_centre, purchase_date, purchase_cost, warranty_end, eol_date;
    licences: licence_id, product, project_id, cost_centre, purchase_date, cost, expiry; both with _source_file,
    _line."""

    def events(frame: pl.DataFrame, kind: str, key: str, name: str, due: str, cost: str) -> pl.DataFrame:
        return frame.select(
            pl.lit(kind).alias("kind"),
            pl.col(key).alias("key"),
            pl.col(name).alias("name"),
            "project_id",
            "cost_centre",
            "purchase_date",
            pl.col(due).alias("due_date"),
            pl.col(cost).cast(MONEY).alias("cost"),
            "_source_file",
            "_line",
        )

    out = pl.concat(
        [
            events(licences, "licence_expiry", "licence_id", "product", "expiry", "cost"),
            events(assets, "warranty_end", "asset_tag", "name", "warranty_end", "purchase_cost"),
            events(assets, "end_of_life", "asset_tag", "name", "eol_date", "purchase_cost"),
        ]
    ).filter(pl.col("due_date").is_not_null())
    return out.select([pl.col(c).cast(t) for c, t in DUE_COLUMNS.items()]).sort("due_date", "kind", "key")


def itam_renewals(due: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Grain: one row per due date of `itam_due_dates` held at `as_of` (purchased by then, or undated) and due 0..180
    days after it: RENEWAL_COLUMNS, sorted by due_date, kind, key."""
    days = (pl.col("due_date") - pl.lit(as_of)).dt.total_days()
    window = pl.when(days <= WINDOWS[0]).then(pl.lit(str(WINDOWS[0])))
    for limit in WINDOWS[1:]:
        window = window.when(days <= limit).then(pl.lit(str(limit)))
    held = pl.col("purchase_date").is_null() | (pl.col("purchase_date") <= as_of)
    out = (
        due.filter(held)
        .with_columns(days_until=days)
        .filter(pl.col("days_until").is_between(0, WINDOWS[-1]))
        .with_columns(window=window)
    )
    return out.select([pl.col(c).cast(t) for c, t in RENEWAL_COLUMNS.items()]).sort("due_date", "kind", "key")


def itam_gaps(assets: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per asset without an owner or a location (NULL or blank): GAP_COLUMNS; missing is "owner",
    "location" or "owner, location". Sorted by asset_tag.

    assets: asset_tag, name, project_id, cost_centre, owner_id, location, _source_file, _line."""
    blank = {
        f: pl.col(c).str.strip_chars().fill_null("") == "" for f, c in (("owner", "owner_id"), ("location", "location"))
    }
    missing = pl.concat_str(
        [pl.when(is_blank).then(pl.lit(field)) for field, is_blank in blank.items()], separator=", ", ignore_nulls=True
    )
    out = assets.filter(pl.any_horizontal(list(blank.values()))).with_columns(missing=missing)
    return out.select([pl.col(c).cast(t) for c, t in GAP_COLUMNS.items()]).sort("asset_tag")
