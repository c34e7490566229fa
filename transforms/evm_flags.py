"""marts.evm_flags: what a cost engineer must see beside the figures (../shared/EVM.md "Undefined is not zero"
and "Flags and forecasts beside the figures").

Grain: one row per project, status date and finding. `detail` says what was found, `value` the amount behind it
(hours, money, items) and `source_rows` the rows behind it ("file 3 line 17", or item keys), capped at 20 with
the total in `rows`.

Findings: ev_over_bac, ev_without_ac, ac_at_or_over_bac, worklog_before_baseline_start, worklog_after_closure,
negative_hours, absurd_hours (a person's hours in one day above the limit), unbaselined_work (items in the
export that no baseline version in force budgets: scope change), week_not_reconstructable, items_not_budgeted
(items a ticket-derived baseline could not price or date).

`since` (a status date) computes the findings of the weeks from then on only: those of the earlier weeks come from
other rows (each finding is on the week of its rows: a worklog's week, or its project's first status date for earlier
work; a ticket export's week; items not budgeted at the last status date).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from transforms.duck import on_days, query

FLAG_SCHEMA = {
    "project_id": pl.String, "status_date": pl.Date, "finding": pl.String, "detail": pl.String,
    "value": pl.Decimal(18, 4), "rows": pl.Int64, "source_rows": pl.String,  # money, hours or items: DECIMAL
}  # fmt: skip

_SQL = """
WITH
figures AS (
    SELECT project_id, status_date, 'ev_over_bac' AS finding,
           'EV ' || round(ev, 2) || ' exceeds BAC ' || round(bac, 2) AS detail,
           CAST(ev - bac AS DECIMAL(18, 4)) AS value,
           0 AS n_rows, NULL AS source_rows
    FROM evm WHERE ev > bac
    UNION ALL
    SELECT project_id, status_date, 'ev_without_ac', 'earned value ' || round(ev, 2)
           || ' with no actual cost: timesheets missing? CPI is undefined', CAST(ev AS DECIMAL(18, 4)), 0, NULL
    FROM evm WHERE ev > 0 AND ac = 0
    UNION ALL
    SELECT project_id, status_date, 'ac_at_or_over_bac', 'AC ' || round(ac, 2) || ' has reached BAC '
           || round(bac, 2) || ': the budget can no longer be met (TCPI to BAC undefined)',
           CAST(ac - bac AS DECIMAL(18, 4)),
           0, NULL
    FROM evm WHERE bac > 0 AND ac >= bac
    UNION ALL
    SELECT project_id, status_date, 'week_not_reconstructable',
           'progress for this week cannot be rebuilt from the exports (percent complete or AgileEVM before the '
           || 'first export): EV and what derives from it are NULL', NULL, 0, NULL
    FROM evm WHERE NOT reconstructable
),
placed AS (
    -- Worklog findings are placed on the status date of their week (the first one for earlier work).
    SELECT c.*, e.baseline_start, p.closed_on,
           greatest(week_end(c.work_date), e.first_sd) AS status_date,
           'file ' || c._source_file || ' line ' || c._line AS ref
    FROM costed c
    JOIN (SELECT project_id, min(status_date) AS first_sd, min(baseline_start) AS baseline_start
          FROM evm GROUP BY ALL) e USING (project_id)
    LEFT JOIN projects p USING (project_id)
),
worklog_findings AS (
    SELECT project_id, status_date, 'worklog_before_baseline_start' AS finding, work_date < baseline_start AS hit,
           'hours logged before the baseline start ' || baseline_start AS detail, hours, ref FROM placed
    UNION ALL
    SELECT project_id, status_date, 'worklog_after_closure', work_date > closed_on,
           'hours logged after the project closed on ' || closed_on, hours, ref FROM placed
    UNION ALL
    SELECT project_id, status_date, 'negative_hours', hours < 0, 'negative hours', hours, ref FROM placed
),
worklog_rows AS (
    SELECT project_id, status_date, finding, any_value(detail) AS detail, CAST(sum(hours) AS DECIMAL(18, 4)) AS value,
           count(*) AS n_rows, string_agg(ref, '; ' ORDER BY ref) FILTER (WHERE rn <= 20) AS source_rows
    FROM (SELECT *, row_number() OVER (PARTITION BY project_id, status_date, finding ORDER BY ref) AS rn
          FROM worklog_findings WHERE hit)
    GROUP BY ALL
),
day_hours AS (
    -- A person's hours per day, summed before any join; only the days over the limit meet the worklogs again.
    SELECT person_id, work_date, sum(hours) AS day_hours FROM costed WHERE person_id IS NOT NULL GROUP BY ALL
),
days AS (
    SELECT c.project_id, c.person_id, c.work_date, p.status_date, p.ref, d.day_hours
    FROM (SELECT * FROM day_hours WHERE day_hours > $absurd) d
    JOIN costed c USING (person_id, work_date)
    JOIN placed p USING (worklog_id)
),
absurd AS (
    SELECT project_id, status_date, 'absurd_hours' AS finding,
           'a person logged more than ' || $absurd || ' hours in one day' AS detail,
           CAST(max(day_hours) AS DECIMAL(18, 4)) AS value, count(*) AS n_rows,
           string_agg(ref, '; ' ORDER BY ref) FILTER (WHERE rn <= 20) AS source_rows
    FROM (SELECT *, row_number() OVER (PARTITION BY project_id, status_date ORDER BY ref) AS rn
          FROM days)
    GROUP BY ALL
),
snap_weeks AS (
    SELECT w.project_id, w.item_key, w.parent_key, w.epic_key, week_end(w.snapshot_date) AS status_date
    FROM work_items w
    -- (the second test follows from the first, a week being 7 days: a plain range, which skips older row groups)
    WHERE w.project_id IS NOT NULL AND ($since IS NULL OR week_end(w.snapshot_date) >= CAST($since AS DATE)
                                        AND w.snapshot_date > CAST($since AS DATE) - 7)
),
in_force AS (
    SELECT s.*, g.baseline_version
    FROM snap_weeks s JOIN grid g ON g.project_id = s.project_id AND g.status_date = s.status_date
),
budgeted AS (
    -- the elements of the versions in force at those weeks only (of a million at portfolio scale: the joins below
    -- build their tables on these)
    SELECT project_id, baseline_version, element_key FROM elements
    SEMI JOIN (SELECT DISTINCT project_id, baseline_version FROM in_force) USING (project_id, baseline_version)
),
unbudgeted AS (
    -- Items in the week's export that the version in force does not budget: neither the item nor its parent or epic
    -- (a budgeted work package) is an element of it. Three anti-joins on equality (not `element_key IN (item, parent,
    -- epic)`, an OR join), as ANTI JOINs rather than NOT EXISTS: the same rows (a NULL key matches no element either
    -- way), and when no item is unbudgeted DuckDB's plan then skips the scope-change test below, which joins every
    -- item with a million elements at portfolio scale (0.1 s of the query's 0.3 s).
    SELECT s.project_id, s.status_date, s.item_key
    FROM in_force s
    ANTI JOIN budgeted e1 ON e1.project_id = s.project_id AND e1.baseline_version = s.baseline_version
                          AND e1.element_key = s.item_key
    ANTI JOIN budgeted e2 ON e2.project_id = s.project_id AND e2.baseline_version = s.baseline_version
                          AND e2.element_key = s.parent_key
    ANTI JOIN budgeted e3 ON e3.project_id = s.project_id AND e3.baseline_version = s.baseline_version
                          AND e3.element_key = s.epic_key
),
unbaselined AS (
    -- Scope change: those items, for projects whose baseline is made of tickets (at least one element is an item
    -- key, of any export). Asked after the anti-joins, of those projects' elements only (a million elements at
    -- portfolio scale, most of them in projects with no unbudgeted item).
    SELECT u.project_id, u.status_date, 'unbaselined_work' AS finding,
           'items earning against no budget (scope change until a rebaseline takes them in)' AS detail,
           CAST(count(DISTINCT u.item_key) AS DECIMAL(18, 4)) AS value, count(DISTINCT u.item_key) AS n_rows,
           string_agg(DISTINCT u.item_key, ', ' ORDER BY u.item_key) AS source_rows
    FROM unbudgeted u
    WHERE u.project_id IN (SELECT project_id FROM elements
                           WHERE project_id IN (SELECT project_id FROM unbudgeted)
                             AND element_key IN (SELECT item_key FROM work_items WHERE project_id IS NOT NULL))
    GROUP BY ALL
),
not_budgeted AS (
    SELECT u.project_id, $as_of AS status_date, 'items_not_budgeted' AS finding,
           'items the ticket-derived baseline could not budget: ' || string_agg(DISTINCT u.problem, '; ') AS detail,
           CAST(count(*) AS DECIMAL(18, 4)) AS value, count(*) AS n_rows,
           string_agg(u.item_key, ', ' ORDER BY u.item_key) AS source_rows
    FROM undated u GROUP BY ALL
)
SELECT project_id, CAST(status_date AS DATE) AS status_date, finding, detail, value, n_rows AS rows,
       source_rows
FROM (SELECT * FROM figures UNION ALL BY NAME SELECT * FROM worklog_rows UNION ALL BY NAME SELECT * FROM absurd
      UNION ALL BY NAME SELECT * FROM unbaselined UNION ALL BY NAME SELECT * FROM not_budgeted)
WHERE $since IS NULL OR status_date >= CAST($since AS DATE)
ORDER BY status_date, project_id, finding
"""


def person_day_hours_sql(costed: str, days: list[dt.date] | None = None) -> str:
    """One SELECT of person_id, work_date, hours: each person's hours on projects per day in `costed` (a relation of
    project_id, person_id, work_date, hours), which the absurd-hours finding compares with its limit; of the `days`
    only, when given. Names come from code, not input; the days are dates."""
    return (f"SELECT person_id, work_date, sum(hours) AS hours FROM {costed} WHERE project_id IS NOT NULL AND"
            f" person_id IS NOT NULL AND work_date IS NOT NULL{on_days('work_date', days)} GROUP BY ALL")  # fmt: skip


def flag_candidates_sql(costed: str, evm: str, projects: str, person_days: str | None = None,
                        since: dt.date | None = None) -> str:  # fmt: skip
    """One SELECT: the rows of `costed` (worklog_id, project_id, person_id, work_date, hours, _source_file, _line;
    those with a project) that can be behind a worklog finding — negative hours, work before the project's baseline
    start (its earliest in `evm`) or after its closure (`projects`), or on a person-day of more than $absurd hours
    — so that `evm_flags` gives the same findings from them as from every row (millions, in the warehouse). Exact:
    every negative row is kept, so a person-day's kept hours are at most its total, and all of them when that total
    is over the limit. `person_days`: a relation holding `person_day_hours_sql` of `costed` (kept from run to run),
    else it is summed here. `since` (a week end): only the rows worked in its week or later, whose findings are there
    or later, for `evm_flags` with the same `since` when no project's first status date is on or after it (its earlier
    worklogs are placed there); a person-day's rows are all kept or all left out. Names come from code, not input."""
    later = "" if since is None else f" AND work_date > DATE '{since.isoformat()}' - 7"
    return f"""
    WITH _c AS NOT MATERIALIZED (
        SELECT worklog_id, project_id, person_id, work_date, hours, _source_file, _line FROM {costed}
        WHERE project_id IS NOT NULL{later}
    ),
    _start AS (SELECT project_id, min(baseline_start) AS baseline_start FROM {evm} GROUP BY project_id),
    _over AS (SELECT person_id, work_date FROM ({person_days or person_day_hours_sql(costed)}) WHERE hours > $absurd)
    SELECT c.* FROM _c AS c
    LEFT JOIN _start AS s ON s.project_id = c.project_id
    LEFT JOIN (SELECT DISTINCT project_id, closed_on FROM {projects}) AS p ON p.project_id = c.project_id
    LEFT JOIN _over AS o ON o.person_id = c.person_id AND o.work_date = c.work_date
    WHERE c.hours < 0 OR c.work_date < s.baseline_start OR c.work_date > p.closed_on OR o.person_id IS NOT NULL
    """


def evm_flags(
    *,
    evm: pl.DataFrame,
    costed: pl.DataFrame | str,
    projects: pl.DataFrame,
    elements: pl.DataFrame | str,
    grid: pl.DataFrame,
    work_items: pl.DataFrame | str,
    undated: pl.DataFrame,
    absurd_hours_per_day: float = 16.0,
    week_ends_on: str = "sunday",
    conn: duckdb.DuckDBPyConnection | None = None,
    since: dt.date | None = None,
) -> pl.DataFrame:
    """Grain: one row per project, status date and finding (see the module docstring), in status date order; of the
    status dates from `since` on, when given. With `conn`, the large inputs (costed, elements, work_items) may be the
    text of queries over its tables, read there (transforms.duck.query)."""
    frames = {
        "evm": evm.select("project_id", "status_date", "bac", "ev", "ac", "baseline_start", "reconstructable"),
        "costed": _columns(costed, "worklog_id", "project_id", "person_id", "work_date", "hours", "_source_file",
                           "_line", where="project_id IS NOT NULL"),
        "projects": projects.select("project_id", "closed_on"),
        "elements": _columns(elements, "project_id", "baseline_version", "element_key"),
        "grid": grid.select("project_id", "status_date", "baseline_version"),
        "work_items": _columns(work_items, "project_id", "item_key", "parent_key", "epic_key", "snapshot_date"),
        "undated": undated.select("project_id", "item_key", "problem"),
    }  # fmt: skip
    as_of = evm.get_column("status_date").max()
    out = query(
        _SQL,
        frames,
        week_ends_on=week_ends_on,
        params={"absurd": absurd_hours_per_day, "as_of": as_of, "since": since},
        conn=conn,
    )
    return out.cast({k: v for k, v in FLAG_SCHEMA.items()}).select(list(FLAG_SCHEMA))


def _columns(rows: pl.DataFrame | str, *columns: str, where: str | None = None) -> pl.DataFrame | str:
    """The columns of a frame, or of a query's rows (text), with only the rows where `where` holds (SQL)."""
    if isinstance(rows, str):
        return f"SELECT {', '.join(columns)} FROM ({rows}){f' WHERE {where}' if where else ''}"
    return rows.filter(pl.sql_expr(where) if where else True).select(columns)
