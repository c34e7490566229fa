"""Planned value, time-phased weekly over working days (../shared/EVM.md "Baseline" and "Time").

Each element's budget is spread evenly over the working days (the project's calendar: Monday to Friday less its
holidays) from its planned start to its planned finish; an element with no working day in its span is planned
whole at its finish. PV(s) is cumulative as of the end of status date s and never decreases.

Computed without an element × week cross join: elements finished by s count whole (a running sum by finish
week), and only the elements in progress at s are prorated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from transforms.duck import query

_SQL = """
WITH ep AS MATERIALIZED (
    -- Elements with their calendar first: left to itself the planner joins the calendar to itself.
    SELECT e.project_id, e.baseline_version, e.budget, e.planned_start, e.planned_finish, p.calendar_id
    FROM elements e
    JOIN projects p USING (project_id)
),
el AS (
    SELECT ep.*, c0.wd AS wd0, c1.wd AS wd1
    FROM ep
    JOIN cal c0 ON c0.calendar_id = ep.calendar_id AND c0.day = ep.planned_start - 1
    JOIN cal c1 ON c1.calendar_id = ep.calendar_id AND c1.day = ep.planned_finish
),
span AS (
    SELECT project_id, baseline_version, calendar_id, min(planned_start) AS s0, max(planned_finish) AS s1
    FROM el GROUP BY ALL
),
dates AS (
    SELECT project_id, baseline_version, calendar_id, CAST(g.sd AS DATE) AS status_date
    FROM span, generate_series(week_end(s0), week_end(s1), INTERVAL 7 DAY) AS g(sd)
),
finished AS (
    SELECT project_id, baseline_version, week_end(planned_finish) AS status_date, sum(budget) AS budget
    FROM el GROUP BY ALL
),
partial AS (
    -- Only the elements in progress at a status date are prorated: each element's own status dates between its
    -- start and its finish, generated per element (no element × week cross join).
    SELECT x.project_id, x.baseline_version, x.status_date,
           sum(CAST(x.budget AS DOUBLE) * (c.wd - x.wd0) / (x.wd1 - x.wd0)) AS pv
    FROM (
        SELECT e.project_id, e.baseline_version, e.calendar_id, e.budget, e.wd0, e.wd1,
               CAST(unnest(generate_series(week_end(e.planned_start), e.planned_finish - 1, INTERVAL 7 DAY)) AS DATE)
                   AS status_date
        FROM el e
        WHERE e.wd1 > e.wd0 AND week_end(e.planned_start) < e.planned_finish
    ) x
    JOIN cal c ON c.calendar_id = x.calendar_id AND c.day = x.status_date
    GROUP BY ALL
)
SELECT d.project_id, d.baseline_version, d.status_date,
       CAST(round(coalesce(sum(f.budget) OVER w, 0) + coalesce(p.pv, 0), 4) AS DECIMAL(18, 4)) AS pv
FROM dates d
LEFT JOIN finished f USING (project_id, baseline_version, status_date)
LEFT JOIN partial p USING (project_id, baseline_version, status_date)
WINDOW w AS (PARTITION BY d.project_id, d.baseline_version ORDER BY d.status_date)
ORDER BY d.project_id, d.baseline_version, d.status_date
"""


@dataclass(frozen=True)
class Curves:
    """`planned_value`'s rows and the digest of what they were computed from (`inputs_digest`)."""

    digest: str
    rows: pl.DataFrame


def inputs_digest(elements: pl.DataFrame, projects: pl.DataFrame, holidays: pl.DataFrame, shared: str) -> str:
    """A digest of what `planned_value` computes from: the columns it reads of the elements and the projects, every
    holiday (the calendar's working days), and `shared` (the week end, the code, the releases). Not the status
    dates: a curve runs from its first planned start to its last planned finish whatever they are, and prorates by
    differences of working-day numbers, which a calendar starting on another day shifts alike. Rows in any order.
    Polars' row hashes are stable within one release only: `shared` holds it."""
    parts = [shared]
    for frame in (
        elements.select("project_id", "baseline_version", "budget", "planned_start", "planned_finish"),
        projects.select("project_id", "calendar_id"),
        holidays,
    ):
        parts.append(f"{frame.height}:{frame.schema}:{frame.hash_rows(seed=0).sum() if frame.height else 0}")
    return hashlib.md5("|".join(parts).encode()).hexdigest()


def planned_value(
    elements: pl.DataFrame, projects: pl.DataFrame, cal: pl.DataFrame, *, week_ends_on: str = "sunday"
) -> pl.DataFrame:
    """Grain: one row per project, baseline version and status date from the week of the version's first planned
    start to the week of its last planned finish: `pv` (DECIMAL(18,4)), the version's cumulative planned value.

    elements: project_id, baseline_version, budget, planned_start, planned_finish; projects: project_id,
    calendar_id; cal: `transforms.calendar.working_day_index` covering every planned day (and the day before).
    """
    return query(
        _SQL,
        {  # only the columns read: DuckDB converts a registered frame whole (transforms/progress.py)
            "elements": elements.select("project_id", "baseline_version", "budget", "planned_start", "planned_finish"),
            "projects": projects.select("project_id", "calendar_id"),
            "cal": cal,
        },
        week_ends_on=week_ends_on,
    )
