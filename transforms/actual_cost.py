"""Actual cost (../shared/EVM.md "Actual cost"): worklog hours × the rate in force on the work date, plus the
direct costs charged to a project (asset purchases and licences, at purchase or amortised straight-line), kept by
cost category (labour, assets, licences).

Hours that cannot be costed are not in AC and never dropped: `cost_worklogs` gives each its reason.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.duck import on_days, query
from transforms.rates import rate_steps_sql

_CUMULATIVE_SQL = """
-- A cumulative cost that is a straight line while an item amortises: at status date s (as a day number S),
-- cost(s) = K·S − M + F, where K sums the daily amounts of the items amortising at s, M their K·(first day − 1)
-- and F the items already whole. Each item adds two steps, so no item × week cross join is needed.
WITH items AS (
    SELECT project_id, cost_category, CAST(cost AS DOUBLE) AS cost, first_day, last_day,
           CAST(cost AS DOUBLE) / (date_diff('day', first_day, last_day) + 1) AS k
    FROM direct
),
steps AS (
    SELECT project_id, cost_category, week_end(first_day) AS wk, k AS dk,
           k * (date_diff('day', DATE '1970-01-01', first_day) - 1) AS dm, 0.0 AS df
    FROM items WHERE last_day > first_day
    UNION ALL
    SELECT project_id, cost_category, week_end(last_day), -k,
           -k * (date_diff('day', DATE '1970-01-01', first_day) - 1), cost
    FROM items WHERE last_day > first_day
    UNION ALL
    SELECT project_id, cost_category, week_end(first_day), 0, 0, cost FROM items WHERE last_day <= first_day
    UNION ALL
    SELECT project_id, 'labour', week_end(work_date), 0, 0, CAST(cost AS DOUBLE) FROM labour
),
by_week AS (
    SELECT project_id, cost_category, wk, sum(dk) AS dk, sum(dm) AS dm, sum(df) AS df FROM steps GROUP BY ALL
),
cum AS (
    SELECT project_id, cost_category, wk,
           sum(dk) OVER w AS k, sum(dm) OVER w AS m, sum(df) OVER w AS f
    FROM by_week
    WINDOW w AS (PARTITION BY project_id, cost_category ORDER BY wk)
),
cells AS (
    SELECT g.project_id, g.status_date, c.cost_category
    FROM grid g JOIN (SELECT DISTINCT project_id, cost_category FROM cum) c USING (project_id)
)
SELECT x.project_id, x.status_date, x.cost_category,
       CAST(round(coalesce(c.k * date_diff('day', DATE '1970-01-01', x.status_date) - c.m + c.f, 0), 4)
            AS DECIMAL(18, 4)) AS ac
FROM cells x
ASOF LEFT JOIN cum c ON c.project_id = x.project_id AND c.cost_category = x.cost_category AND x.status_date >= c.wk
ORDER BY x.project_id, x.status_date, x.cost_category
"""


def worklog_costs_sql(
    worklogs: str, people: str, rates: str, desk: str, *, count_unapproved: bool = True, carry: tuple[str, ...] = ()
) -> str:
    """One SELECT: a row per row of `worklogs` (worklog_id, project_id, person_id, person_name, source_kind,
    source_project_key, item_key, work_date, hours, approved, item_known, _source_file, _line) with hourly_rate (the
    rate in force for the person on the work date, `rates.rate_steps_sql` over `people` and `rates`), cost (hours ×
    rate as DECIMAL(18,4), rounded half away from zero), exception (why the worklog could not be costed or is not
    counted, NULL when neither) and in_ac (whether its cost is in AC). Hours with no project on an item of `desk`
    (item_key: service-desk tickets) are operational work, said so rather than "unknown project". The `carry`
    columns of `worklogs` follow. No row order: the caller orders. Names come from code, not input."""
    unapproved = "FALSE" if count_unapproved else "(w.approved = FALSE)"  # NULL approval: counted
    counted = "TRUE" if count_unapproved else "(w.approved IS DISTINCT FROM FALSE)"
    return f"""
    WITH _rate_steps AS (  -- each step in force from its day until the person's next step: [day, next_day)
        SELECT person_id, day, lead(day) OVER (PARTITION BY person_id ORDER BY day) AS next_day, hourly_rate
        FROM ({rate_steps_sql(people, rates)})
    )
    SELECT w.worklog_id, w.project_id, w.person_id, w.person_name, w.source_kind, w.source_project_key, w.item_key,
           w.work_date, w.hours, w.approved, r.hourly_rate,
           CAST(CAST(w.hours AS DECIMAL(18, 4)) * CAST(r.hourly_rate AS DECIMAL(18, 4)) AS DECIMAL(18, 4)) AS cost,
           CASE
               WHEN w.project_id IS NULL AND w.item_key IN (SELECT item_key FROM {desk})
                   THEN 'operational work (no project)'
               WHEN w.project_id IS NULL THEN 'unknown project'
               WHEN w.person_id IS NULL THEN 'unmatched person'
               WHEN r.hourly_rate IS NULL THEN 'no rate in force on the work date'
               WHEN {unapproved} THEN 'unapproved hours (not counted)'
               WHEN w.item_key IS NOT NULL AND NOT w.item_known THEN 'ticket in no ticket export (costed)'
           END AS exception,
           w.project_id IS NOT NULL AND w.person_id IS NOT NULL AND r.hourly_rate IS NOT NULL AND {counted} AS in_ac,
           w._source_file, w._line{"".join(f", w.{c}" for c in carry)}
    FROM {worklogs} AS w
    LEFT JOIN _rate_steps AS r  -- a hash join on the person (an ASOF join sorts every worklog: 20× slower)
      ON r.person_id = w.person_id AND w.work_date >= r.day AND (r.next_day IS NULL OR w.work_date < r.next_day)
    """


def cost_worklogs(
    worklogs: pl.DataFrame,
    people: pl.DataFrame,
    rates: pl.DataFrame,
    *,
    count_unapproved: bool = True,
    operational_items: pl.Series | None = None,
) -> pl.DataFrame:
    """`worklog_costs_sql` over frames, one row per worklog in the worklogs' order: worklog_id, project_id,
    person_id, person_name, source_kind, source_project_key, item_key, work_date, hours, approved, hourly_rate,
    cost, exception, in_ac, _source_file, _line. `operational_items`: the service-desk tickets' item keys."""
    items = operational_items if operational_items is not None else pl.Series([], dtype=pl.String)
    frames = {
        "worklogs": worklogs.select(*_COLUMNS[:10], "item_known", *_COLUMNS[10:]).with_row_index("_order"),
        "people": people.select("person_id", "role"),
        "rates": rates.select("person_id", "role", "hourly_rate", "valid_from", "valid_to"),
        "desk": pl.DataFrame({"item_key": items.cast(pl.String)}),
    }
    sql = worklog_costs_sql("worklogs", "people", "rates", "desk", count_unapproved=count_unapproved,
                            carry=("_order",))  # fmt: skip
    return query(f"SELECT * EXCLUDE (_order) FROM ({sql}) ORDER BY _order", frames)  # the join loses the order


_COLUMNS = [
    "worklog_id", "project_id", "person_id", "person_name", "source_kind", "source_project_key", "item_key",
    "work_date", "hours", "approved", "_source_file", "_line",
]  # fmt: skip


def direct_costs(
    assets: pl.DataFrame,
    licences: pl.DataFrame,
    *,
    mode: str = "amortised",
    asset_life_months: int = 36,
) -> pl.DataFrame:
    """Grain: one row per asset or licence charged to a project (project_id set, a cost and a purchase date):
    project_id, cost_category (assets | licences), item_key, cost, first_day, last_day — the days over which its
    cost is spread (one day when charged at purchase). Assets amortise to their end of life, else over
    `asset_life_months`; licences to their expiry, else they are charged at purchase."""
    life = pl.col("purchase_date").dt.offset_by(f"{asset_life_months}mo") - dt.timedelta(days=1)
    asset_rows = assets.filter(
        pl.col("project_id").is_not_null(), pl.col("purchase_cost").is_not_null(), pl.col("purchase_date").is_not_null()
    ).select(
        "project_id",
        pl.lit("assets").alias("cost_category"),
        pl.col("asset_tag").alias("item_key"),
        pl.col("purchase_cost").alias("cost"),
        pl.col("purchase_date").alias("first_day"),
        pl.when(pl.col("eol_date") > pl.col("purchase_date"))
        .then(pl.col("eol_date"))
        .otherwise(life)
        .alias("last_day"),
    )
    licence_rows = licences.filter(
        pl.col("project_id").is_not_null(), pl.col("cost").is_not_null(), pl.col("purchase_date").is_not_null()
    ).select(
        "project_id",
        pl.lit("licences").alias("cost_category"),
        pl.col("licence_id").alias("item_key"),
        "cost",
        pl.col("purchase_date").alias("first_day"),
        pl.when(pl.col("expiry") > pl.col("purchase_date"))
        .then(pl.col("expiry"))
        .otherwise(pl.col("purchase_date"))
        .alias("last_day"),
    )
    rows = pl.concat([asset_rows, licence_rows]).with_columns(pl.col("cost").cast(pl.Decimal(18, 4)))
    if mode == "purchase":
        rows = rows.with_columns(last_day=pl.col("first_day"))
    return rows.sort("project_id", "cost_category", "item_key")


def labour_days_sql(costed: str, days: list[dt.date] | None = None) -> str:
    """One SELECT of project_id, work_date, cost: the costs in AC of `costed` (marts.worklog_costs) summed per project
    and day, exactly (DECIMAL), which is all `actual_cost_weekly` reads of them; of the `days` only, when given. A
    cost without a project or a date counts in no week, and is left out. Names come from code, not input."""
    return (
        f"SELECT project_id, work_date, CAST(sum(cost) AS DECIMAL(18, 4)) AS cost FROM {costed} WHERE in_ac"
        f" AND project_id IS NOT NULL AND work_date IS NOT NULL{on_days('work_date', days)} GROUP BY ALL"
    )


def actual_cost_weekly(
    grid: pl.DataFrame, costed: pl.DataFrame, direct: pl.DataFrame, *, week_ends_on: str = "sunday"
) -> pl.DataFrame:
    """Grain: one row per project, status date (the grid's) and cost category with any cost: `ac`, the cumulative
    actual cost as of the end of the status date. Costs dated before the grid's first week count in it."""
    # Narrow before filtering: only three of the worklogs' columns are copied.
    labour = costed.lazy().filter(pl.col("in_ac")).select("project_id", "work_date", "cost").collect()
    return query(
        _CUMULATIVE_SQL,
        {"grid": grid.select("project_id", "status_date"), "labour": labour, "direct": direct},
        week_ends_on=week_ends_on,
    )
