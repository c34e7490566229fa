"""Timesheet completeness: logged hours against the hours each person was expected to work.

Outputs and their grain:
- `timesheet_completeness`: one row per person and status date of the capacity (people with no worklogs keep
  their rows: finding them is the point): team, expected_hours, logged_hours (on every project), missing_hours
  = max(expected − logged, 0), completeness = logged / expected (NULL when nothing was expected) and complete
  (completeness ≥ complete_at; NULL when completeness is).
- `project_timesheet_completeness`: one row per project and status date with at least one person who logged on
  the project in that week or the 3 weeks before: people, expected_hours, logged_hours (all their hours, on any
  project), missing_hours and completeness = Σ logged / Σ expected (a ratio of sums; NULL when Σ expected = 0).

A worklog counts in the reporting week that holds its work date (weekend work included), i.e. the first status
date of the capacity on or after it, less than 7 days after it. Hours are DECIMAL(18,4); ratios are DOUBLE.
"""

from __future__ import annotations

import polars as pl

from transforms.calendar import in_weeks
from transforms.duck import query

HOURS = pl.Decimal(18, 4)
PERSON_COLUMNS = {
    "person_id": pl.String, "status_date": pl.Date, "team": pl.String, "expected_hours": HOURS,
    "logged_hours": HOURS, "missing_hours": HOURS, "completeness": pl.Float64, "complete": pl.Boolean,
}  # fmt: skip
PROJECT_COLUMNS = {
    "project_id": pl.String, "status_date": pl.Date, "people": pl.Int64, "expected_hours": HOURS,
    "logged_hours": HOURS, "missing_hours": HOURS, "completeness": pl.Float64,
}  # fmt: skip
LOOKBACK_WEEKS = 3  # a person counts on a project in the week they logged on it and the 3 weeks after


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as DOUBLE, NULL when the denominator is zero or NULL."""
    den = den.cast(pl.Float64)
    return pl.when(den != 0).then(num.cast(pl.Float64) / den)


def timesheet_completeness(
    capacity: pl.DataFrame, worklogs: pl.DataFrame, people: pl.DataFrame, *, complete_at: float = 0.95
) -> pl.DataFrame:
    """Grain: one row per row of `capacity` (person_id, status_date): PERSON_COLUMNS.

    capacity: `transforms.capacity.weekly_capacity`; worklogs: person_id, work_date, hours (worklogs of no known
    person are not anyone's and are left out); people: person_id, team."""
    logged = (
        in_weeks(worklogs.filter(pl.col("person_id").is_not_null()), capacity.get_column("status_date"))
        .group_by("person_id", "status_date")
        .agg(pl.col("hours").cast(HOURS).sum().alias("logged_hours"))
    )
    out = (
        capacity.select("person_id", "status_date", "expected_hours")
        .join(people.select("person_id", "team"), on="person_id", how="left")
        .join(logged, on=["person_id", "status_date"], how="left")
        .with_columns(pl.col("logged_hours").fill_null(0).cast(HOURS))
    )
    gap = pl.col("expected_hours").cast(HOURS) - pl.col("logged_hours")
    out = out.with_columns(
        missing_hours=pl.when(gap > 0).then(gap).otherwise(pl.lit(0).cast(HOURS)),
        completeness=_ratio(pl.col("logged_hours"), pl.col("expected_hours")),
    ).with_columns(complete=pl.col("completeness") >= complete_at)
    return out.select([pl.col(c).cast(t) for c, t in PERSON_COLUMNS.items()]).sort("person_id", "status_date")


def project_timesheet_completeness_sql(logged_on: str, completeness: str) -> str:
    """One SELECT of PROJECT_COLUMNS, one row per project and status date with someone on the project (no row
    order: the caller orders). logged_on: person_id, project_id, status_date — the weeks (of the completeness'
    status dates) in which a person logged on a project, duplicates allowed; completeness: person_id, status_date,
    expected_hours, logged_hours, missing_hours (`timesheet_completeness`). Names come from code, not input."""
    return f"""
    WITH _on AS (
        SELECT DISTINCT project_id, person_id, status_date FROM {logged_on}
        WHERE person_id IS NOT NULL AND project_id IS NOT NULL AND status_date IS NOT NULL
    ),
    _on_project AS (  -- the week itself and the {LOOKBACK_WEEKS} weeks after it
        SELECT DISTINCT o.project_id, o.person_id, CAST(o.status_date + 7 * CAST(k.range AS INTEGER) AS DATE)
            AS status_date
        FROM _on AS o CROSS JOIN range({LOOKBACK_WEEKS + 1}) AS k
    ),
    _sums AS (
        SELECT o.project_id, o.status_date, count(*) AS people,  -- _on_project is distinct: one row a person
               sum(c.expected_hours) AS expected_hours, sum(c.logged_hours) AS logged_hours,
               sum(c.missing_hours) AS missing_hours
        FROM _on_project AS o JOIN {completeness} AS c USING (person_id, status_date)
        GROUP BY o.project_id, o.status_date
    )
    SELECT project_id, status_date, CAST(people AS BIGINT) AS people,
           CAST(expected_hours AS DECIMAL(18, 4)) AS expected_hours,
           CAST(logged_hours AS DECIMAL(18, 4)) AS logged_hours,
           CAST(missing_hours AS DECIMAL(18, 4)) AS missing_hours,
           CASE WHEN CAST(expected_hours AS DOUBLE) <> 0
                THEN CAST(logged_hours AS DOUBLE) / CAST(expected_hours AS DOUBLE) END AS completeness
    FROM _sums
    """


def project_timesheet_completeness(completeness: pl.DataFrame, worklogs: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project and status date with someone on the project: PROJECT_COLUMNS
    (`project_timesheet_completeness_sql` over frames).

    completeness: `timesheet_completeness`; worklogs: person_id, work_date, project_id (hours not needed: a person
    is on a project in a week when they logged on it in that week or the 3 weeks before)."""
    weeks = completeness.get_column("status_date")
    logged_on = in_weeks(
        worklogs.filter(pl.col("person_id").is_not_null(), pl.col("project_id").is_not_null()), weeks
    ).select("project_id", "person_id", "status_date")
    frames = {"logged_on": logged_on, "completeness": completeness}
    out = query(project_timesheet_completeness_sql("logged_on", "completeness"), frames)
    return out.select([pl.col(c).cast(t) for c, t in PROJECT_COLUMNS.items()]).sort("project_id", "status_date")
