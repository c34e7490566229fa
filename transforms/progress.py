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

from transforms import duck
from transforms.calendar import isodow
from transforms.duck import query
from transforms.numbering import number, sorted_keys

# Progress, independent of the status dates (marts.evm_progress): per project, the cumulative EV of each version's
# measured elements and the story points done at each week either changes, the week of its first export, and its
# versions with percent-complete elements.
_STATE_SQL = """
WITH
tech AS (
    -- The technique of each element of each version.
    SELECT e.project_id, e.baseline_version, e.item_code, e.budget, e.parent_code, e.weight,
           coalesce(e.ev_technique, tm.technique, p.ev_technique) AS technique
    FROM elements e
    JOIN projects p USING (project_id)
    LEFT JOIN (SELECT item_key, arg_max(type, snapshot_date) AS type FROM work_items GROUP BY ALL) it
        ON it.item_key = e.item_code
    LEFT JOIN techniques tm ON tm.type = it.type
),
milestone_share AS (
    -- Weighted milestones: a milestone's share of its work package's budget.
    SELECT m.project_id, m.baseline_version, m.item_code, m.parent_code, p.budget AS parent_budget,
           coalesce(m.weight, 1) / sum(coalesce(m.weight, 1)) OVER (PARTITION BY m.project_id, m.baseline_version,
                                                                     m.parent_code) AS share
    FROM tech m
    JOIN tech p ON p.project_id = m.project_id AND p.baseline_version = m.baseline_version
               AND p.item_code = m.parent_code AND p.technique = 'weighted_milestones'
),
earning AS (
    -- Who earns what on which item's progress: (version, item, budget, technique).
    SELECT project_id, baseline_version, item_code AS item_key, budget, technique
    FROM tech t
    WHERE technique IN ('0/100', '50/50', 'percent_complete')
       OR (technique = 'weighted_milestones'
           AND NOT EXISTS (SELECT 1 FROM milestone_share m WHERE m.project_id = t.project_id
                           AND m.baseline_version = t.baseline_version AND m.parent_code = t.item_code))
    UNION ALL
    SELECT project_id, baseline_version, item_code, parent_budget * share, '0/100' FROM milestone_share
),
events AS (
    SELECT e.project_id, e.baseline_version, d.wk,
           sum(CAST(e.budget AS DOUBLE) * CASE e.technique WHEN '50/50' THEN d.d_half
                                                            WHEN 'percent_complete' THEN d.d_pct
                                                            ELSE d.d_done END) AS ev
    FROM earning e
    JOIN deltas d USING (project_id, item_key)
    GROUP BY ALL
),
points AS (SELECT project_id, wk, sum(d_points) AS pts FROM deltas GROUP BY ALL)
SELECT project_id, 'ev' AS part, baseline_version, wk,
       CAST(round(sum(ev) OVER (PARTITION BY project_id, baseline_version ORDER BY wk), 4) AS DECIMAL(18, 4)) AS ev,
       NULL::DOUBLE AS story_points
FROM events
UNION ALL
SELECT project_id, 'points', NULL, wk, NULL, sum(pts) OVER (PARTITION BY project_id ORDER BY wk) FROM points
UNION ALL
SELECT project_id, 'first_export', NULL, first_wk, NULL, NULL FROM project_first
UNION ALL
-- Versions whose EV cannot be rebuilt before the project's first export.
SELECT DISTINCT project_id, 'percent_complete', baseline_version, NULL::DATE, NULL, NULL
FROM tech WHERE technique = 'percent_complete'
"""

_SQL = """
WITH
cum AS (SELECT project_id, baseline_version, wk, CAST(ev AS DOUBLE) AS ev FROM progress WHERE part = 'ev'),
points_cum AS (SELECT project_id, wk, story_points AS pts FROM progress WHERE part = 'points'),
project_first AS (SELECT project_id, wk AS first_wk FROM progress WHERE part = 'first_export'),
needs_history AS (SELECT project_id, baseline_version FROM progress WHERE part = 'percent_complete'),
loe AS (
    SELECT project_id, baseline_version, status_date, CAST(pv AS DOUBLE) AS pv FROM loe_pv
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

# marts.evm_progress: the parts above, and per project one `inputs` row with the digest of what they were computed
# from.
STATE_SCHEMA = {"project_id": pl.String, "part": pl.String, "baseline_version": pl.Int64, "wk": pl.Date,
                "ev": pl.Decimal(18, 4), "story_points": pl.Float64, "digest": pl.String}  # fmt: skip
# The columns `progress` reads of each input (beside project_id): its digests are of these, so that a change
# elsewhere in a row (a ticket's assignee, pseudonymised by `pmo forget`) does not make it compute a project again.
READS = {
    "elements": ["baseline_version", "element_key", "parent_key", "budget", "weight", "ev_technique"],
    "projects": ["ev_technique"],
    "work_items": ["item_key", "snapshot_date", "type", "status_category", "resolved", "remaining_estimate_h",
                   "time_spent_h", "story_points"],
    "worklogs": ["item_key", "work_date"],
}  # fmt: skip
STATE_KEY = ["project_id", "part", "baseline_version", "wk"]


def progress(
    *,
    elements: pl.DataFrame,
    projects: pl.DataFrame,
    work_items: pl.DataFrame,
    worklogs: pl.DataFrame,
    techniques: dict[str, str] | None = None,
    week_ends_on: str = "sunday",
    digests: pl.DataFrame | None = None,
    prior: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The progress of each of `projects` as of any week (STATE_SCHEMA, sorted by STATE_KEY): what `earned_value`
    reads at each status date. It does not depend on the status dates, so it is kept from one run to the next.

    digests: project_id, digest: per project, a digest of everything its progress is computed from (its elements,
    the exports and first work dates of the items they name, its row of `projects`, the techniques per item type,
    the week end, the code; `progress_digests_sql`). A project whose digest is the one held in `prior` (an earlier
    result) keeps its rows from there; only the others are computed. Without digests every project is computed.
    techniques: item type → technique, from the settings.
    """
    digests = (
        projects.select("project_id").join(digests, on="project_id", how="left")
        if digests is not None
        else projects.select("project_id", digest=pl.lit(None, pl.String))
    )
    held = pl.DataFrame(schema=STATE_SCHEMA)
    if prior is not None:
        same = prior.filter(pl.col("part") == "inputs").join(digests, on=["project_id", "digest"], how="semi")
        held = prior.join(same, on="project_id", how="semi").select(STATE_SCHEMA.keys()).cast(STATE_SCHEMA)
    todo = digests.join(held, on="project_id", how="anti")
    if todo.is_empty():
        return held
    if not held.is_empty():  # only the projects to compute, and the exports and worklogs of their elements' items
        elements = elements.join(todo, on="project_id", how="semi")
        projects = projects.join(todo, on="project_id", how="semi")
        named = elements.select(item_key="element_key").drop_nulls()
        work_items = work_items.join(named, on="item_key", how="semi")
        worklogs = worklogs.join(named, on="item_key", how="semi")
    types = pl.DataFrame(
        {"type": list((techniques or {}).keys()), "technique": list((techniques or {}).values())},
        schema={"type": pl.String, "technique": pl.String},
    )
    # Items and projects by number (transforms.numbering): the joins and the query run on integers. Strings in a
    # frame handed to DuckDB are converted, and hashed in its joins: at portfolio scale the query's own memory was
    # ~450 MB with the element and project keys as text, ~250-300 MB with them as numbers, and it runs ~30 % faster.
    keys = sorted_keys(elements.get_column("element_key"))
    project_keys = sorted_keys(projects.get_column("project_id"))

    def code(column: str) -> pl.Expr:  # NULL for a key that is not an element's
        return number(keys, column)

    def project(frame: pl.DataFrame) -> pl.DataFrame:  # NULL for a project not in `projects` (no join matches it)
        return frame.with_columns(project_id=number(project_keys, "project_id"))

    # element_key's number is item_code; a parent_key that is no element's is NULL, which joins nothing, as before.
    elements = project(
        elements.select("project_id", "baseline_version", item_code=code("element_key"), parent_code=code("parent_key"),
                        budget="budget", weight="weight", ev_technique="ev_technique")
    )  # fmt: skip
    projects = project(projects.select("project_id", "ev_technique"))
    snapshots = (
        work_items.lazy()
        .select(code("item_key").alias("item_key"), "snapshot_date", "type", "status_category", "resolved",
                "remaining_estimate_h", "time_spent_h", "story_points")
        .filter(pl.col("item_key").is_not_null())
        .collect()
    )  # fmt: skip
    first_work = (
        worklogs.lazy()
        .select(code("item_key").alias("item_key"), "work_date")
        .filter(pl.col("item_key").is_not_null())
        .group_by("item_key")
        .agg(pl.col("work_date").min())
        .collect()
    )
    deltas, project_first = _deltas(elements, projects, snapshots, first_work, week_ends_on)
    # Each frame narrowed to the columns the query reads: DuckDB converts a registered frame whole, so the million
    # elements' unused columns cost memory at the step's peak (~90 MB at portfolio scale).
    frames = {
        "elements": elements,
        "projects": projects,
        "work_items": snapshots.select("item_key", "snapshot_date", "type"),
        "deltas": deltas,
        "project_first": project_first,
        "techniques": types,
    }
    del snapshots, first_work  # the snapshots' other columns are let go before the query
    out = query(_STATE_SQL, frames, week_ends_on=week_ends_on)
    computed = pl.concat(
        [
            out.with_columns(project_id=project_keys.gather(out.get_column("project_id"))),
            todo.with_columns(part=pl.lit("inputs")),
        ],
        how="diagonal_relaxed",
    )
    return pl.concat([held, computed.select(STATE_SCHEMA.keys()).cast(STATE_SCHEMA)]).sort(STATE_KEY)


def progress_digests_sql(*, baselines: str, frozen_elements: str, projects: str, work_items: str, first_work: str,
                         shared: str) -> str:  # fmt: skip
    """One SELECT of project_id, digest (`progress`'s digests) over the warehouse's tables: per project, the count
    and the sum of the hashes of what `progress` reads (READS) of its elements (`baselines` and `frozen_elements`),
    its row of `projects`, and the exports and first work dates (`first_work`: item_key, work_date) of the items its
    elements name, after `shared`, what every project's progress depends on (a literal). A sum, not an XOR, so two
    equal rows do not cancel out. Names come from code, not input."""

    def columns(kind: str, alias: str = "r") -> str:
        return ", ".join(f"{alias}.{c}" for c in READS[kind])

    return f"""
    WITH named AS (  -- an item named in several versions counts in each: the same for the same rows
        SELECT project_id, element_key FROM {baselines} WHERE element_key IS NOT NULL
        UNION ALL SELECT project_id, element_key FROM {frozen_elements} WHERE element_key IS NOT NULL
    ),
    items AS (
        SELECT item_key, hash('work_items', {columns("work_items")}) AS h FROM {work_items} r
        UNION ALL SELECT item_key, hash('first_work', {columns("worklogs")}) FROM {first_work} r
    ),
    h AS (
        SELECT project_id, hash('elements', {columns("elements")}) AS h FROM {baselines} r
        UNION ALL SELECT project_id, hash('elements', {columns("elements")}) FROM {frozen_elements} r
        UNION ALL SELECT project_id, hash('projects', {columns("projects")}) FROM {projects} r
        UNION ALL SELECT e.project_id, i.h FROM named e JOIN items i ON i.item_key = e.element_key
    )
    SELECT project_id, concat({duck.text(shared)}, ':', count(*), ':', sum(h)) AS digest
    FROM h WHERE project_id IS NOT NULL GROUP BY project_id
    """


def earned_value(
    *,
    grid: pl.DataFrame,
    progress: pl.DataFrame,
    projects: pl.DataFrame,
    sprints: pl.DataFrame,
    loe_pv: pl.DataFrame,
    week_ends_on: str = "sunday",
) -> pl.DataFrame:
    """Grain: one row per grid row (project_id, status_date, with its baseline_version in force and bac):
    `ev` (DECIMAL(18,4); NULL where `reconstructable` is false) and `reconstructable`.

    progress: the projects' `progress`. loe_pv: planned value of the level-of-effort elements (`planned_value` of
    those elements only), which they earn as planned.
    """
    frames = {
        "grid": grid.select("project_id", "status_date", "baseline_version", "bac"),
        "progress": progress.select("project_id", "part", "baseline_version", "wk", "ev", "story_points"),
        "projects": projects.select("project_id", "ev_technique"),
        "sprints": sprints.select("project_id", "planned_points"),
        "loe_pv": loe_pv,
    }
    out = query(_SQL, frames, week_ends_on=week_ends_on)
    return out.select(
        "project_id",
        "status_date",
        "baseline_version",
        pl.when(pl.col("reconstructable")).then(pl.col("ev_value").round(4)).cast(pl.Decimal(18, 4)).alias("ev"),
        "reconstructable",
    )


def _week_end(col: str, week_ends_on: str) -> pl.Expr:
    """The status date of the week holding the day (transforms.duck's week_end)."""
    day = pl.col(col)
    return day + pl.duration(days=(isodow(week_ends_on) - day.dt.weekday().cast(pl.Int32) + 7) % 7)


def _deltas(
    elements: pl.DataFrame,
    projects: pl.DataFrame,
    snapshots: pl.DataFrame,
    first_work: pl.DataFrame,
    week_ends_on: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The change of each tracked item's earned fractions at the weeks where they can change.

    Projects and items by number (see earned_value). Grain of the first frame: one row per (project_id, item_key,
    wk) with `d_done`, `d_half`, `d_pct` (0/100, 50/50, percent complete) and `d_points` (story points done); of the
    second: one row per project with an export of a tracked item, `first_wk` (the week of its first export).

    An item is tracked per project (a pair): its rows are sorted by (pair, week), so the export in force at a week
    is the last export row before it within the pair (a forward fill of the export's row number, no ASOF join), and
    the changes are differences with the previous row of the same pair (no window).
    """
    # Narrowed before the semi join, which copies the columns of the rows it keeps.
    tracked = (
        elements.select("project_id", pl.col("item_code").alias("item_key"))
        .join(projects.select("project_id"), on="project_id", how="semi")
        .unique()
        .sort("item_key", "project_id")
        .with_row_index("pair")
    )
    # One export per pair and week: the latest export within the week.
    snaps = (
        snapshots.join(tracked, on="item_key")
        .with_columns(wk=_week_end("snapshot_date", week_ends_on))
        .sort("pair", "snapshot_date")
    )
    last_of_week = (pl.col("pair") != pl.col("pair").shift(-1)) | (pl.col("wk") != pl.col("wk").shift(-1))
    snaps = snaps.filter(last_of_week.fill_null(True)).with_row_index("si")
    first = snaps.filter((pl.col("pair") != pl.col("pair").shift(1)).fill_null(True)).select(
        "pair", "project_id", "item_key", pl.col("si").alias("f_si"), pl.col("wk").alias("f_wk"), "resolved"
    )
    project_first = first.group_by("project_id").agg(first_wk=pl.col("f_wk").min()).sort("project_id")
    started = first_work.select("item_key", started_wk=_week_end("work_date", week_ends_on))
    # Row i is pair i: what the pair's rows look up, by position instead of by joins.
    per_pair = (
        tracked.join(first.drop("project_id", "item_key"), on="pair", how="left", maintain_order="left")
        .join(started, on="item_key", how="left", maintain_order="left")
        .join(project_first, on="project_id", how="left", maintain_order="left")
    )
    # The weeks at which a pair's earned fraction can change: its exports, its first export's resolution, its
    # first work date. An export's row wins over a date falling in the same week.
    changes = (
        pl.concat(
            [
                snaps.select("pair", "wk", "si"),
                first.filter(pl.col("resolved").is_not_null()).select(
                    "pair", wk=_week_end("resolved", week_ends_on), si=pl.lit(None, pl.UInt32)
                ),
                first.join(started, on="item_key").select("pair", wk="started_wk", si=pl.lit(None, pl.UInt32)),
            ]
        )
        .sort("pair", "wk", "si", nulls_last=True)
        .filter(((pl.col("pair") != pl.col("pair").shift(1)) | (pl.col("wk") != pl.col("wk").shift(1))).fill_null(True))
    )
    pair = changes.get_column("pair")
    changes = (
        changes.with_columns(per_pair.get_column(c).gather(pair) for c in per_pair.columns if c != "pair")
        .with_columns(si=pl.col("si").forward_fill())
        # No export of the pair on or before the week: rebuilt from its first export (backfill).
        .with_columns(backfill=pl.col("si").is_null() | (pl.col("si") < pl.col("f_si")))
        .with_columns(si=pl.when(~pl.col("backfill")).then(pl.col("si")))
    )
    si, f_si = changes.get_column("si"), changes.get_column("f_si")
    values = snaps.get_column
    state = changes.with_columns(
        status_category=values("status_category").gather(si).fill_null(values("status_category").gather(f_si)),
        resolved=values("resolved").gather(si).fill_null(values("resolved").gather(f_si)),
        remaining_estimate_h=values("remaining_estimate_h").gather(si),
        time_spent_h=values("time_spent_h").gather(si),
        story_points=values("story_points").gather(si).fill_null(values("story_points").gather(f_si)),
    )
    # A million pairs at portfolio scale: each frame is let go as soon as the next one is built.
    del changes, snaps, values, si, f_si, per_pair, first, tracked
    wk, backfill, category = pl.col("wk"), pl.col("backfill"), pl.col("status_category")
    # Done as of the week: resolved by then; a done item without a resolution date is done from its export.
    # Rebuilding from dates (backfill) applies only before the project's first export: a week an export already
    # covered keeps what that export said, even when an item first shows up in a later one.
    done = (
        (category == "done")
        & (~backfill | (wk < pl.col("first_wk")))
        & ((_week_end("resolved", week_ends_on) <= wk) | (pl.col("resolved").is_null() & ~backfill))
    ).fill_null(False)
    spent, remaining = pl.col("time_spent_h").fill_null(0), pl.col("remaining_estimate_h").fill_null(0)
    half = done | (pl.col("started_wk") <= wk).fill_null(False) | (~backfill & category.is_in(["doing", "done"]))
    fractions = state.select(
        "project_id",
        "item_key",
        "wk",
        new=(pl.col("pair") != pl.col("pair").shift(1)).fill_null(True),
        f_done=done.cast(pl.Float64),
        f_half=0.5 * half.cast(pl.Float64) + 0.5 * done.cast(pl.Float64),
        f_pct=pl.when(backfill)
        .then(0.0)
        .when(spent + remaining == 0)
        .then((category == "done").cast(pl.Float64))
        .otherwise((1 - remaining / (spent + remaining)).clip(0, 1)),
        f_points=done.cast(pl.Float64) * pl.col("story_points").fill_null(0),
    )

    del state

    def delta(col: str) -> pl.Expr:
        return pl.col(col) - pl.when(pl.col("new")).then(0.0).otherwise(pl.col(col).shift(1).fill_null(0))

    deltas = fractions.select(
        "project_id",
        "item_key",
        "wk",
        d_done=delta("f_done"),
        d_half=delta("f_half"),
        d_pct=delta("f_pct"),
        d_points=delta("f_points"),
    )
    return deltas, project_first
