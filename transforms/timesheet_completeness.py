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


def project_timesheet_completeness(completeness: pl.DataFrame, worklogs: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project and status date with someone on the project: PROJECT_COLUMNS.

    completeness: `timesheet_completeness`; worklogs: person_id, work_date, project_id (hours not needed: a person
    is on a project in a week when they logged on it in that week or the 3 weeks before)."""
    weeks = completeness.get_column("status_date")
    logged_on = (
        in_weeks(worklogs.filter(pl.col("person_id").is_not_null(), pl.col("project_id").is_not_null()), weeks)
        .select("project_id", "person_id", "status_date")
        .unique()
    )
    on_project = pl.concat(
        [
            logged_on.with_columns(pl.col("status_date") + pl.duration(weeks=k))
            for k in range(LOOKBACK_WEEKS + 1)  # the week itself and the 3 weeks after it
        ]
    ).unique()
    return (
        on_project.join(completeness, on=["person_id", "status_date"], how="inner")
        .group_by("project_id", "status_date")
        .agg(
            pl.col("person_id").n_unique().alias("people"),
            pl.col("expected_hours").sum(),
            pl.col("logged_hours").sum(),
            pl.col("missing_hours").sum(),
        )
        .with_columns(completeness=_ratio(pl.col("logged_hours"), pl.col("expected_hours")))
        .select([pl.col(c).cast(t) for c, t in PROJECT_COLUMNS.items()])
        .sort("project_id", "status_date")
    )
