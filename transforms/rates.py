"""The cost rate in force for a person on a day: the person's own rate first, else their role's (rate card rows
with effective dates), else the project's planned rate where the caller gives one.

Pure: frames in, frames out. Used to cost worklogs' hours, ticket estimates (budgets derived from tickets) and
remaining estimates (bottom-up EAC).
"""

from __future__ import annotations

import polars as pl

from transforms.duck import query


# The rate in force per person, as steps: from `day` on (until the person's next step) `hourly_rate` is in force
# (NULL: none). The person's own rate first, else their role's; among the rates in force on a day, the latest
# valid_from. The rates in force change only on a valid_from or the day after a valid_to, so the rate is constant
# between two steps of a person. Small: a person's rates × their steps.
def rate_steps_sql(people: str, rates: str) -> str:
    """The rate steps (person_id, day, hourly_rate) as one SELECT over the relations `people` (person_id, role)
    and `rates` (person_id, role, hourly_rate, valid_from, valid_to); names come from code, not input."""
    return f"""
WITH candidates AS (
    SELECT person_id, 1 AS rank, hourly_rate, valid_from, valid_to FROM {rates} WHERE person_id IS NOT NULL
    UNION ALL
    SELECT p.person_id, 2, r.hourly_rate, r.valid_from, r.valid_to
    FROM {people} p
    JOIN {rates} r ON r.person_id IS NULL AND r.role = p.role
    WHERE p.person_id IS NOT NULL
),
steps AS (
    SELECT DISTINCT person_id, day FROM (
        SELECT person_id, valid_from AS day FROM candidates WHERE valid_from IS NOT NULL
        UNION ALL
        SELECT person_id, CAST(valid_to + 1 AS DATE) FROM candidates WHERE valid_to IS NOT NULL
    )
)
SELECT s.person_id, s.day, c.hourly_rate
FROM steps s
LEFT JOIN candidates c
  ON c.person_id = s.person_id AND s.day >= c.valid_from AND (c.valid_to IS NULL OR s.day <= c.valid_to)
QUALIFY row_number() OVER (PARTITION BY s.person_id, s.day
                           ORDER BY c.rank, c.valid_from DESC, c.hourly_rate DESC) = 1
"""


_STEPS_SQL = rate_steps_sql("people", "rates")
_SPAN = 1 << 32  # person number × _SPAN + day number: a sortable (person, day) key


def rate_in_force(frame: pl.DataFrame, people: pl.DataFrame, rates: pl.DataFrame, *, day: str) -> pl.DataFrame:
    """The frame with `hourly_rate`: the rate in force for its `person_id` on its `day` column (NULL when none).

    Each row finds its person's latest rate step on or before its day by a binary search over the steps sorted
    by (person, day): no join and no sort of the frame, whose rows keep their order."""
    steps = query(
        _STEPS_SQL,
        {
            "people": people.select("person_id", "role"),
            "rates": rates.select("person_id", "role", "hourly_rate", "valid_from", "valid_to"),
        },
    )
    if steps.is_empty():
        return frame.with_columns(hourly_rate=pl.lit(None, dtype=rates.schema["hourly_rate"]))
    ids = steps.get_column("person_id").unique().drop_nulls().sort()

    def key(day_column: str) -> pl.Expr:  # NULL for a person without steps or a row without a day
        person = pl.col("person_id").cast(pl.Enum(ids), strict=False).to_physical().cast(pl.Int64)
        return person * _SPAN + pl.col(day_column).to_physical().cast(pl.Int64) + _SPAN // 2

    steps = steps.select(key("day").alias("key"), "hourly_rate").sort("key")
    step_keys = steps.get_column("key")
    wanted = frame.select(key(day).fill_null(-1).alias("key"))  # -1: before every step
    at = step_keys.search_sorted(wanted.get_column("key"), side="right").cast(pl.Int64) - 1
    found = wanted.select(
        pl.when(at >= 0, pl.lit(step_keys).gather(at.clip(0)) // _SPAN == pl.col("key") // _SPAN).then(at)
    ).to_series()
    return frame.with_columns(hourly_rate=steps.get_column("hourly_rate").gather(found))


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
