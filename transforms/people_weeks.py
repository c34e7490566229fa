"""People's hours per reporting week, in DuckDB SQL: the summed shape timesheet completeness and resource utilisation
start from, so that 10 million worklogs are read once, in the warehouse, and never copied into polars.

A worklog counts in the reporting week that holds its work date (weekend work included): the first status date of
`weeks` on or after it, less than 7 days after it (`calendar.in_weeks`' rule). Worklogs outside every week, with no
work date or of no known person are left out. Pure: a SELECT over relations whose names come from code, not input.
"""

from __future__ import annotations


def weekly_hours_sql(worklogs: str, weeks: str, desk: str) -> str:
    """One row per person, project (NULL: none), status date and `desk` (whether the hours are on a ticket of the
    relation `desk` (item_key): service-desk tickets) with worklogs: person_id, project_id, status_date, desk,
    hours (their sum, DECIMAL(18,4)). `worklogs`: person_id, project_id, item_key, work_date, hours; `weeks`:
    status_date (duplicates allowed)."""
    return f"""
    WITH _weeks AS (SELECT DISTINCT status_date FROM {weeks} WHERE status_date IS NOT NULL),
    _bounds AS (  -- a week holds the days after the previous status date, at most 7 days back
        SELECT status_date,
               greatest(coalesce(lag(status_date) OVER (ORDER BY status_date) + 1, status_date - 6), status_date - 6)
                   AS first_day
        FROM _weeks
    ),
    _days AS (  -- day → status date: a hash join, not an ASOF join (which sorts every worklog)
        SELECT CAST(unnest(generate_series(first_day, status_date, INTERVAL 1 DAY)) AS DATE) AS day, status_date
        FROM _bounds
    ),
    _desk AS (SELECT DISTINCT item_key FROM {desk} WHERE item_key IS NOT NULL)
    SELECT l.person_id, l.project_id, w.status_date, d.item_key IS NOT NULL AS desk,
           CAST(sum(CAST(l.hours AS DECIMAL(18, 4))) AS DECIMAL(18, 4)) AS hours
    FROM {worklogs} AS l
    JOIN _days AS w ON w.day = l.work_date
    LEFT JOIN _desk AS d ON d.item_key = l.item_key
    WHERE l.person_id IS NOT NULL
    GROUP BY l.person_id, l.project_id, w.status_date, d.item_key IS NOT NULL
    """
