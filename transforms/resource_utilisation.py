"""People's time: capacity against logged hours, split across projects and between project and operational work.

Outputs and their grain:
- `resource_utilisation` (marts.resource_utilisation): one row per person and status date of the capacity
  (`transforms.capacity.weekly_capacity`, the same capacity timesheet completeness expects): PERSON_COLUMNS.
  Per-person figures are for the PMO's own eyes; packs for leadership use `team_utilisation`.
- `utilisation_by_project`: one row per person, status date and project ("(operational)" for operational work)
  with hours: PROJECT_SPLIT_COLUMNS — the split of each person's week.
- `team_utilisation` (marts.team_utilisation): one row per team ("(none)" for people without one) and status
  date: TEAM_COLUMNS, sums and ratios of sums of the person rows, no per-person data.

Rules:
- A worklog counts in the reporting week that holds its work date (weekend work included): the first status date
  on or after it, less than 7 days after it. Worklogs outside every week, or of no known person, are left out.
- Operational work: a worklog with no project, or on a service-desk ticket (a work item whose source_kind is
  servicenow or glpi, whatever project its assignment group maps to). Everything else is project work.
- `projects` counts the distinct projects with project hours (> 0) in the week; operational work is no project.
- utilisation = logged / capacity, NULL when the capacity is 0 or NULL; over_allocated = utilisation > 1 (NULL
  when utilisation is); spread_thin = projects > max_projects.
Hours are DECIMAL(18,4); ratios are DOUBLE.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.duck import query
from transforms.people_weeks import weekly_hours_sql

HOURS = pl.Decimal(18, 4)
OPERATIONAL = "(operational)"
NO_TEAM = "(none)"
SERVICE_DESK = ("servicenow", "glpi")  # work item source kinds whose tickets are operational work
PERSON_COLUMNS = {
    "person_id": pl.String, "status_date": pl.Date, "team": pl.String, "capacity_hours": HOURS,
    "logged_hours": HOURS, "utilisation": pl.Float64, "project_hours": HOURS, "operational_hours": HOURS,
    "projects": pl.Int64, "over_allocated": pl.Boolean, "spread_thin": pl.Boolean,
}  # fmt: skip
PROJECT_SPLIT_COLUMNS = {
    "person_id": pl.String, "status_date": pl.Date, "project_id": pl.String, "hours": HOURS, "share": pl.Float64,
}  # fmt: skip
TEAM_COLUMNS = {
    "team": pl.String, "status_date": pl.Date, "people": pl.Int64, "capacity_hours": HOURS, "logged_hours": HOURS,
    "utilisation": pl.Float64, "project_hours": HOURS, "operational_hours": HOURS,
    "people_over_allocated": pl.Int64, "people_spread_thin": pl.Int64,
}  # fmt: skip


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as DOUBLE, NULL when the denominator is zero or NULL."""
    den = den.cast(pl.Float64)
    return pl.when(den != 0).then(num.cast(pl.Float64) / den)


def _buckets_sql(weekly: str) -> str:
    """Per person, status date and bucket (the project, or OPERATIONAL) of `weekly_hours_sql`'s rows: is_project and
    hours (their sum)."""
    is_project = "(project_id IS NOT NULL AND NOT desk)"
    return f"""
    SELECT person_id, status_date, {is_project} AS is_project,
           CASE WHEN {is_project} THEN project_id ELSE '{OPERATIONAL}' END AS bucket, sum(hours) AS hours
    FROM {weekly}
    GROUP BY person_id, status_date, {is_project}, CASE WHEN {is_project} THEN project_id ELSE '{OPERATIONAL}' END
    """


def utilisation_by_project_sql(weekly: str) -> str:
    """One SELECT of PROJECT_SPLIT_COLUMNS (no row order: the caller orders) from `weekly`: the rows of
    `people_weeks.weekly_hours_sql` (person_id, project_id, status_date, desk, hours). Names come from code."""
    total = "CAST(sum(hours) OVER (PARTITION BY person_id, status_date) AS DOUBLE)"
    return f"""
    SELECT person_id, status_date, bucket AS project_id, CAST(hours AS DECIMAL(18, 4)) AS hours,
           CASE WHEN {total} <> 0 THEN CAST(hours AS DOUBLE) / {total} END AS share
    FROM ({_buckets_sql(weekly)})
    """


def person_week_hours_sql(weekly: str) -> str:
    """One SELECT, a row per person and status date with hours in `weekly` (as for `utilisation_by_project_sql`):
    person_id, status_date, logged_hours, project_hours, operational_hours (DECIMAL(18,4)) and projects (the
    projects with project hours > 0). Names come from code, not input."""
    return f"""
    SELECT person_id, status_date, CAST(sum(hours) AS DECIMAL(18, 4)) AS logged_hours,
           CAST(coalesce(sum(hours) FILTER (WHERE is_project), 0) AS DECIMAL(18, 4)) AS project_hours,
           CAST(coalesce(sum(hours) FILTER (WHERE NOT is_project), 0) AS DECIMAL(18, 4)) AS operational_hours,
           CAST(count(*) FILTER (WHERE is_project AND hours > 0) AS BIGINT) AS projects
    FROM ({_buckets_sql(weekly)})
    GROUP BY person_id, status_date
    """


def _weekly(
    worklogs: pl.DataFrame, work_items: pl.DataFrame, weeks: list[dt.date] | pl.Series, service_desk: tuple[str, ...]
) -> dict[str, pl.DataFrame]:
    """The frames `weekly_hours_sql` reads, from worklogs and work items (item_key, source_kind)."""
    return {
        "worklogs": worklogs.select("person_id", "project_id", "item_key", "work_date", "hours"),
        "weeks": pl.DataFrame({"status_date": pl.Series(list(weeks), dtype=pl.Date)}),
        "desk": work_items.filter(pl.col("source_kind").is_in(list(service_desk))).select("item_key"),
    }


_WEEKLY = f"(SELECT * FROM ({weekly_hours_sql('worklogs', 'weeks', 'desk')}))"


def resource_utilisation(
    capacity: pl.DataFrame,
    worklogs: pl.DataFrame,
    work_items: pl.DataFrame,
    *,
    max_projects: int = 3,
    service_desk: tuple[str, ...] = SERVICE_DESK,
) -> pl.DataFrame:
    """Grain: one row per row of `capacity` (person_id, status_date): PERSON_COLUMNS.

    capacity: `weekly_capacity` (person_id, team, status_date, expected_hours); worklogs: person_id, work_date,
    hours, project_id, item_key; work_items: item_key, source_kind."""
    frames = _weekly(worklogs, work_items, capacity.get_column("status_date"), service_desk)
    weekly = query(person_week_hours_sql(_WEEKLY), frames)
    return utilisation_from_hours(capacity, weekly, max_projects=max_projects)


def utilisation_from_hours(capacity: pl.DataFrame, weekly: pl.DataFrame, *, max_projects: int = 3) -> pl.DataFrame:
    """`resource_utilisation` from the hours already summed per person and week (`person_week_hours_sql`)."""
    zero = pl.lit(0).cast(HOURS)
    out = (
        capacity.select(
            "person_id", "status_date", "team", pl.col("expected_hours").cast(HOURS).alias("capacity_hours")
        )
        .join(weekly, on=["person_id", "status_date"], how="left")
        .with_columns(
            pl.col("logged_hours", "project_hours", "operational_hours").fill_null(zero),
            pl.col("projects").fill_null(0),
        )
        .with_columns(utilisation=_ratio(pl.col("logged_hours"), pl.col("capacity_hours")))
        .with_columns(over_allocated=pl.col("utilisation") > 1, spread_thin=pl.col("projects") > max_projects)
    )
    return out.select([pl.col(c).cast(t) for c, t in PERSON_COLUMNS.items()]).sort("person_id", "status_date")


def utilisation_by_project(
    worklogs: pl.DataFrame,
    weeks: list[dt.date] | pl.Series,
    work_items: pl.DataFrame,
    *,
    service_desk: tuple[str, ...] = SERVICE_DESK,
) -> pl.DataFrame:
    """Grain: one row per person, status date (of `weeks`) and project with worklogs, operational work under
    OPERATIONAL: PROJECT_SPLIT_COLUMNS. share = hours / the person's hours that week (NULL when those are 0).

    worklogs and work_items as for `resource_utilisation` (the same operational rule)."""
    out = query(utilisation_by_project_sql(_WEEKLY), _weekly(worklogs, work_items, weeks, service_desk))
    return out.select([pl.col(c).cast(t) for c, t in PROJECT_SPLIT_COLUMNS.items()]).sort(
        "person_id", "status_date", "project_id"
    )


def team_utilisation(person_weeks: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per team and status date: TEAM_COLUMNS (the leadership view, no per-person data).

    person_weeks: `resource_utilisation`'s output. utilisation = Σ logged / Σ capacity (a ratio of sums, NULL when
    Σ capacity = 0); people_over_allocated and people_spread_thin count the people flagged."""
    out = (
        person_weeks.with_columns(pl.col("team").fill_null(NO_TEAM))
        .group_by("team", "status_date")
        .agg(
            people=pl.col("person_id").n_unique(),
            capacity_hours=pl.col("capacity_hours").sum(),
            logged_hours=pl.col("logged_hours").sum(),
            project_hours=pl.col("project_hours").sum(),
            operational_hours=pl.col("operational_hours").sum(),
            people_over_allocated=pl.col("over_allocated").fill_null(False).sum(),
            people_spread_thin=pl.col("spread_thin").fill_null(False).sum(),
        )
        .with_columns(utilisation=_ratio(pl.col("logged_hours"), pl.col("capacity_hours")))
    )
    return out.select([pl.col(c).cast(t) for c, t in TEAM_COLUMNS.items()]).sort("team", "status_date")
