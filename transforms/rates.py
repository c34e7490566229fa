"""The cost rate in force for a person on a day: the person's own rate first, else their role's (rate card rows
with effective dates), else the project's planned rate where the caller gives one.

Pure: frames in, frames out. Used to cost worklogs' hours, ticket estimates (budgets derived from tickets) and
remaining estimates (bottom-up EAC).
"""

from __future__ import annotations

import duckdb
import polars as pl

_SQL = """
WITH person_rate AS (
    SELECT k._key, r.hourly_rate
    FROM keys k
    JOIN rates r ON r.person_id = k.person_id AND k.day >= r.valid_from AND (r.valid_to IS NULL OR k.day <= r.valid_to)
    QUALIFY row_number() OVER (PARTITION BY k._key ORDER BY r.valid_from DESC) = 1
),
role_rate AS (
    SELECT k._key, r.hourly_rate
    FROM keys k
    JOIN people p ON p.person_id = k.person_id
    JOIN rates r ON r.person_id IS NULL AND r.role = p.role
                AND k.day >= r.valid_from AND (r.valid_to IS NULL OR k.day <= r.valid_to)
    QUALIFY row_number() OVER (PARTITION BY k._key ORDER BY r.valid_from DESC) = 1
)
SELECT k._key, coalesce(pr.hourly_rate, rr.hourly_rate) AS hourly_rate
FROM keys k
LEFT JOIN person_rate pr USING (_key)
LEFT JOIN role_rate rr USING (_key)
"""


def rate_in_force(frame: pl.DataFrame, people: pl.DataFrame, rates: pl.DataFrame, *, day: str) -> pl.DataFrame:
    """The frame with `hourly_rate`: the rate in force for its `person_id` on its `day` column (NULL when none)."""
    keyed = frame.with_row_index("_key")
    with duckdb.connect() as conn:
        conn.register("keys", keyed.select("_key", "person_id", pl.col(day).alias("day")))
        conn.register("people", people.select("person_id", "role"))
        conn.register("rates", rates.select("person_id", "role", "hourly_rate", "valid_from", "valid_to"))
        found = conn.sql(_SQL).pl()
    return keyed.join(found, on="_key", how="left").sort("_key").drop("_key")


def assignee_person(items: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Work items with `person_id` for their assignee: by Jira account id, else by a display name that only one
    person has (ignoring case)."""
    by_account = people.filter(pl.col("jira_account_id").is_not_null()).select(
        pl.col("jira_account_id").alias("_account"), pl.col("person_id").alias("_by_account")
    )
    by_name = (
        people.select(pl.col("display_name").str.to_lowercase().alias("_name"), pl.col("person_id").alias("_by_name"))
        .filter(pl.col("_name").is_not_null())
        .unique("_name", keep="none")
    )
    return (
        items.with_columns(_account=pl.col("assignee_account_id"), _name=pl.col("assignee").str.to_lowercase())
        .join(by_account.unique("_account", keep="none"), on="_account", how="left")
        .join(by_name, on="_name", how="left")
        .with_columns(person_id=pl.coalesce("_by_account", "_by_name"))
        .drop("_account", "_name", "_by_account", "_by_name")
    )
