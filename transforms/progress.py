"""Earned value by technique, per project and status date (../shared/EVM.md "Earned value techniques" and
"Progress over time").

Progress as of a status date comes from the latest export on or before it (work item snapshots). Weeks before an
item's first export are rebuilt only from what that export dates: 0/100 from the resolution date, 50/50 from the
first worklog or the resolution. Percent complete and AgileEVM cannot be rebuilt for weeks before the project's
first export: those weeks are `reconstructable = false` and their EV is NULL, never today's value.

Techniques per element: the baseline element's own, else the one configured for its item type, else the
project's. `0/100`, `50/50`, `percent_complete` (1 − remaining / (spent + remaining), capped to [0, 1]; an item
with both 0 counts 1 when done), `weighted_milestones` (the element's budget × the weight share of its milestones
reached; milestones are baseline elements whose parent_key is the element), `level_of_effort` (EV = PV) and, per
project, `agile` (AgileEVM: EV = points done / points planned × BAC).

No item × week cross join: each item's earned fraction is evaluated only at the weeks where it can change (its
exports, its resolution, its first worklog), turned into deltas and summed over weeks.
"""

from __future__ import annotations

import polars as pl

from transforms.duck import query

_SQL = """
WITH
tech AS (
    -- The technique of each element of each version.
    SELECT e.project_id, e.baseline_version, e.element_key, e.item_code, e.budget, e.parent_key, e.weight,
           coalesce(e.ev_technique, tm.technique, p.ev_technique) AS technique
    FROM elements e
    JOIN projects p USING (project_id)
    LEFT JOIN (SELECT item_key, arg_max(type, snapshot_date) AS type FROM work_items GROUP BY ALL) it
        ON it.item_key = e.item_code
    LEFT JOIN techniques tm ON tm.type = it.type
),
tracked AS (SELECT DISTINCT project_id, item_code AS item_key FROM tech),
snaps AS (
    -- One snapshot per item and status week: the latest export within the week.
    SELECT w.item_key, week_end(w.snapshot_date) AS wk, w.status_category, w.resolved,
           w.remaining_estimate_h, w.time_spent_h, w.story_points
    FROM work_items w
    JOIN tracked t USING (item_key)
    QUALIFY row_number() OVER (PARTITION BY w.item_key, week_end(w.snapshot_date) ORDER BY w.snapshot_date DESC) = 1
),
first_snap AS (
    SELECT s.* FROM snaps s
    QUALIFY row_number() OVER (PARTITION BY s.item_key ORDER BY s.wk) = 1
),
project_first AS (
    SELECT t.project_id, min(s.wk) AS first_wk FROM tracked t JOIN snaps s USING (item_key) GROUP BY ALL
),
started AS (SELECT item_key, week_end(min(work_date)) AS wk FROM worklogs GROUP BY ALL),
changes AS (
    -- The weeks at which an item's earned fraction can change.
    SELECT DISTINCT item_key, wk FROM (
        SELECT item_key, wk FROM snaps
        UNION ALL SELECT item_key, week_end(resolved) FROM first_snap WHERE resolved IS NOT NULL
        UNION ALL SELECT s.item_key, s.wk FROM started s JOIN tracked USING (item_key)
    )
),
state AS (
    SELECT c.item_key, c.wk,
           coalesce(s.status_category, f.status_category) AS status_category,
           coalesce(s.resolved, f.resolved) AS resolved,
           s.item_key IS NULL AS backfill,
           s.remaining_estimate_h, s.time_spent_h,
           coalesce(s.story_points, f.story_points) AS story_points,
           st.wk AS started_wk
    FROM changes c
    ASOF LEFT JOIN snaps s ON s.item_key = c.item_key AND c.wk >= s.wk
    JOIN first_snap f ON f.item_key = c.item_key
    LEFT JOIN started st ON st.item_key = c.item_key
),
done_state AS (
    -- Done as of the week: resolved by then; a done item without a resolution date is done from its export.
    -- Rebuilding from dates (backfill) applies only before the project's first export: a week an export
    -- already covered keeps what that export said, even when an item first shows up in a later one.
    SELECT s.*, coalesce(s.status_category = 'done'
                         AND (NOT s.backfill OR s.wk < pf.first_wk)
                         AND (week_end(s.resolved) <= s.wk OR (s.resolved IS NULL AND NOT s.backfill)), FALSE) AS done
    FROM state s
    JOIN tracked t USING (item_key)
    LEFT JOIN project_first pf USING (project_id)
),
fractions AS (
    SELECT item_key, wk, story_points,
           CAST(done AS DOUBLE) AS f_done,
           0.5 * CAST(done
                      OR coalesce(started_wk <= wk, FALSE)
                      OR (NOT backfill AND status_category IN ('doing', 'done')) AS DOUBLE)
           + 0.5 * CAST(done AS DOUBLE) AS f_half,
           CASE
               WHEN backfill THEN 0
               WHEN coalesce(time_spent_h, 0) + coalesce(remaining_estimate_h, 0) = 0
                   THEN CAST(status_category = 'done' AS DOUBLE)
               ELSE least(1, greatest(0, 1 - coalesce(remaining_estimate_h, 0)
                                           / (coalesce(time_spent_h, 0) + coalesce(remaining_estimate_h, 0))))
           END AS f_pct
    FROM done_state
),
deltas AS (
    SELECT item_key, wk,
           f_done - coalesce(lag(f_done) OVER w, 0) AS d_done,
           f_half - coalesce(lag(f_half) OVER w, 0) AS d_half,
           f_pct - coalesce(lag(f_pct) OVER w, 0) AS d_pct,
           f_done * coalesce(story_points, 0) - coalesce(lag(f_done * coalesce(story_points, 0)) OVER w, 0) AS d_points
    FROM fractions
    WINDOW w AS (PARTITION BY item_key ORDER BY wk)
),
milestone_share AS (
    -- Weighted milestones: a milestone's share of its work package's budget.
    SELECT m.project_id, m.baseline_version, m.item_code, m.parent_key, p.budget AS parent_budget,
           coalesce(m.weight, 1) / sum(coalesce(m.weight, 1)) OVER (PARTITION BY m.project_id, m.baseline_version,
                                                                     m.parent_key) AS share
    FROM tech m
    JOIN tech p ON p.project_id = m.project_id AND p.baseline_version = m.baseline_version
               AND p.element_key = m.parent_key AND p.technique = 'weighted_milestones'
),
earning AS (
    -- Who earns what on which item's progress: (version, item, budget, technique).
    SELECT project_id, baseline_version, item_code AS item_key, budget, technique
    FROM tech t
    WHERE technique IN ('0/100', '50/50', 'percent_complete')
       OR (technique = 'weighted_milestones'
           AND NOT EXISTS (SELECT 1 FROM milestone_share m WHERE m.project_id = t.project_id
                           AND m.baseline_version = t.baseline_version AND m.parent_key = t.element_key))
    UNION ALL
    SELECT project_id, baseline_version, item_code, parent_budget * share, '0/100' FROM milestone_share
),
events AS (
    SELECT e.project_id, e.baseline_version, d.wk,
           sum(CAST(e.budget AS DOUBLE) * CASE e.technique WHEN '50/50' THEN d.d_half
                                                            WHEN 'percent_complete' THEN d.d_pct
                                                            ELSE d.d_done END) AS ev
    FROM earning e
    JOIN deltas d USING (item_key)
    GROUP BY ALL
),
cum AS (
    SELECT project_id, baseline_version, wk, sum(ev) OVER (PARTITION BY project_id, baseline_version ORDER BY wk) AS ev
    FROM events
),
points AS (
    SELECT t.project_id, d.wk, sum(d.d_points) AS pts
    FROM tracked t JOIN deltas d USING (item_key)
    GROUP BY ALL
),
points_cum AS (
    SELECT project_id, wk, sum(pts) OVER (PARTITION BY project_id ORDER BY wk) AS pts FROM points
),
loe AS (
    SELECT project_id, baseline_version, status_date, CAST(pv AS DOUBLE) AS pv FROM loe_pv
),
needs_history AS (
    -- Versions whose EV cannot be rebuilt before the project's first export.
    SELECT DISTINCT project_id, baseline_version FROM tech WHERE technique = 'percent_complete'
),
planned_points AS (SELECT project_id, sum(planned_points) AS pts FROM sprints GROUP BY ALL)
SELECT g.project_id, g.status_date, g.baseline_version,
       CASE
           WHEN p.ev_technique = 'agile' THEN
               CASE WHEN pp.pts > 0 THEN coalesce(pc.pts, 0) / pp.pts * CAST(g.bac AS DOUBLE) END
           ELSE coalesce(c.ev, 0) + coalesce(l.pv, 0)
       END AS ev_value,
       NOT ((p.ev_technique = 'agile' OR nh.project_id IS NOT NULL)
            AND (pf.first_wk IS NULL OR g.status_date < pf.first_wk)) AS reconstructable
FROM grid g
JOIN projects p USING (project_id)
LEFT JOIN project_first pf USING (project_id)
LEFT JOIN needs_history nh USING (project_id, baseline_version)
LEFT JOIN planned_points pp USING (project_id)
ASOF LEFT JOIN cum c ON c.project_id = g.project_id AND c.baseline_version = g.baseline_version
                    AND g.status_date >= c.wk
ASOF LEFT JOIN points_cum pc ON pc.project_id = g.project_id AND g.status_date >= pc.wk
ASOF LEFT JOIN loe l ON l.project_id = g.project_id AND l.baseline_version = g.baseline_version
                    AND g.status_date >= l.status_date
ORDER BY g.project_id, g.status_date
"""


def earned_value(
    *,
    grid: pl.DataFrame,
    elements: pl.DataFrame,
    projects: pl.DataFrame,
    work_items: pl.DataFrame,
    worklogs: pl.DataFrame,
    sprints: pl.DataFrame,
    loe_pv: pl.DataFrame,
    techniques: dict[str, str] | None = None,
    week_ends_on: str = "sunday",
) -> pl.DataFrame:
    """Grain: one row per grid row (project_id, status_date, with its baseline_version in force and bac):
    `ev` (DECIMAL(18,4); NULL where `reconstructable` is false) and `reconstructable`.

    loe_pv: planned value of the level-of-effort elements (`planned_value` of those elements only), which they
    earn as planned. techniques: item type → technique, from the settings.
    """
    types = pl.DataFrame(
        {"type": list((techniques or {}).keys()), "technique": list((techniques or {}).values())},
        schema={"type": pl.String, "technique": pl.String},
    )
    # Items by number (the elements' keys, once): the query's joins, windows and ASOF join run on integers, over
    # the snapshots of tracked items only and one first work date per item.
    keys = elements.get_column("element_key").unique().drop_nulls().sort()
    code = pl.col("item_key").cast(pl.Enum(keys), strict=False).to_physical().alias("item_key")
    snapshots = (
        work_items.lazy()
        .select(code, "snapshot_date", "type", "status_category", "resolved", "remaining_estimate_h", "time_spent_h",
                "story_points")
        .filter(pl.col("item_key").is_not_null())
    )  # fmt: skip
    first_work = (
        worklogs.lazy()
        .select(code, "work_date")
        .filter(pl.col("item_key").is_not_null())
        .group_by("item_key")
        .agg(pl.col("work_date").min())
    )
    frames = {
        "grid": grid.select("project_id", "status_date", "baseline_version", "bac"),
        "elements": elements.with_columns(item_code=pl.col("element_key").cast(pl.Enum(keys)).to_physical()),
        "projects": projects.select("project_id", "ev_technique"),
        "work_items": snapshots.collect(),
        "worklogs": first_work.collect(),
        "sprints": sprints.select("project_id", "planned_points"),
        "loe_pv": loe_pv,
        "techniques": types,
    }  # fmt: skip
    out = query(_SQL, frames, week_ends_on=week_ends_on)
    return out.select(
        "project_id",
        "status_date",
        "baseline_version",
        pl.when(pl.col("reconstructable")).then(pl.col("ev_value").round(4)).cast(pl.Decimal(18, 4)).alias("ev"),
        "reconstructable",
    )
