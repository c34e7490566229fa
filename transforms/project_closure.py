"""Project closure (marts.project_closure, marts.closure_drivers): what each closed project's numbers say at the
end, how early each EAC method was right, what drove the variance, and the lessons its register records.

- project_closure: one row per closed project (register status `closed`, with weekly figures): the figures of its
  final status date (the last one on or after closed_on; evm_weekly carries them forward), final CPI and SPI(t),
  CV and SV(t) at completion, VAC against the BAC in force, for each EAC method the percent complete (EV / BAC)
  from which it stayed within 10 % of the final cost (marts.eac_backtest), and the register's lessons learned.
- closure_drivers: one row per closed project, dimension (work_type, team, cost_category) and value: budget of
  the final baseline version attributed to it, actual cost, variance (budget − actual; negative = overrun) and
  its rank by |variance| within the dimension (1 = the largest driver). Work type is the work item's type, team
  the team of whoever is assigned the element (budget) or logged the hours (actual); a cost with no attribution
  is "(unknown)".
"""

from __future__ import annotations

import polars as pl

from transforms.indicators import EAC_METHODS, MONEY

DIMENSIONS = ("work_type", "team", "cost_category")


def project_closure(evm: pl.DataFrame, projects: pl.DataFrame, backtest: pl.DataFrame) -> pl.DataFrame:
    """evm: marts.evm_weekly; projects: staging.projects; backtest: marts.eac_backtest."""
    closed = projects.filter(pl.col("status") == "closed").select("project_id", "name", "closed_on", "lessons_learned")
    final = (
        evm.join(closed, on="project_id")
        .sort("project_id", "status_date")
        .group_by("project_id", maintain_order=True)
        .agg(pl.all().last())
    )
    within = backtest.group_by("project_id", "eac_method").agg(pl.col("within_10pct_from").first())
    pivoted = within.pivot(on="eac_method", index="project_id", values="within_10pct_from")
    within_cols = [f"within_10pct_from_{m}" for m in EAC_METHODS]
    pivoted = pivoted.rename({m: f"within_10pct_from_{m}" for m in EAC_METHODS if m in pivoted.columns})
    for col in within_cols:
        if col not in pivoted.columns:
            pivoted = pivoted.with_columns(pl.lit(None, pl.Float64).alias(col))
    return (
        final.join(pivoted, on="project_id", how="left")
        .select(
            "project_id",
            "name",
            "closed_on",
            pl.col("status_date").alias("final_status_date"),
            "baseline_version",
            "bac",
            "ev",
            pl.col("ac").alias("final_cost"),
            pl.col("cpi").alias("final_cpi"),
            pl.col("spi").alias("final_spi"),
            pl.col("spi_t").alias("final_spi_t"),
            pl.col("cv").alias("cv_at_completion"),
            pl.col("sv_t_weeks").alias("sv_t_weeks_at_completion"),
            (pl.col("bac") - pl.col("ac")).cast(MONEY).alias("vac"),
            "forecast_finish",
            "baseline_finish",
            *within_cols,
            "lessons_learned",
        )  # fmt: skip
        .sort("project_id")
    )


def closure_drivers(
    closure: pl.DataFrame,
    elements: pl.DataFrame,
    costed: pl.DataFrame,
    costs: pl.DataFrame,
    work_items: pl.DataFrame,
    people: pl.DataFrame,
) -> pl.DataFrame:
    """closure: project_closure's output; elements: baseline elements (project_id, baseline_version,
    element_key, cost_category, budget); costed: marts.worklog_costs; costs: marts.actual_cost_weekly;
    work_items: staging.work_items (type, assignee_account_id); people: staging.people (team)."""
    final = closure.select("project_id", "baseline_version", "final_status_date")
    elements = elements.join(final, on=["project_id", "baseline_version"])
    costed = (
        costed.filter(pl.col("in_ac"))
        .join(final, on="project_id")
        .filter(pl.col("work_date") <= pl.col("final_status_date"))
    )
    # Only the tickets the closed projects' elements and worklogs name: each one's latest export is its own.
    named = pl.concat([elements.get_column("element_key"), costed.get_column("item_key")]).drop_nulls().unique()
    items = (
        work_items.filter(pl.col("item_key").is_in(named.implode()))
        .select("item_key", "snapshot_date", "type", "assignee_account_id")
        .sort("snapshot_date")
        .unique("item_key", keep="last")
        .join(
            people.select(pl.col("jira_account_id").alias("assignee_account_id"), pl.col("team").alias("_a_team"))
            .filter(pl.col("assignee_account_id").is_not_null())
            .unique("assignee_account_id", keep="none"),
            on="assignee_account_id",
            how="left",
        )  # fmt: skip
        .select("item_key", pl.col("type").alias("_type"), "_a_team")
    )
    budget = elements.join(items.rename({"item_key": "element_key"}), on="element_key", how="left").with_columns(
        pl.col("budget").cast(pl.Float64)
    )
    labour = (
        costed.join(items, on="item_key", how="left")
        .join(people.select("person_id", pl.col("team").alias("_p_team")), on="person_id", how="left")
        .with_columns(pl.col("cost").cast(pl.Float64))
    )
    category_actual = costs.join(
        final, left_on=["project_id", "status_date"], right_on=["project_id", "final_status_date"]
    )
    unknown = pl.lit("(unknown)")
    parts = [
        _compare(
            "work_type",
            budget.group_by("project_id", pl.col("_type").fill_null(unknown).alias("key")).agg(pl.col("budget").sum()),
            labour.group_by("project_id", pl.col("_type").fill_null(unknown).alias("key")).agg(
                pl.col("cost").sum().alias("actual")
            ),
        ),
        _compare(
            "team",
            budget.group_by("project_id", pl.col("_a_team").fill_null(unknown).alias("key")).agg(
                pl.col("budget").sum()
            ),
            labour.group_by("project_id", pl.col("_p_team").fill_null(unknown).alias("key")).agg(
                pl.col("cost").sum().alias("actual")
            ),
        ),
        _compare(
            "cost_category",
            budget.group_by("project_id", pl.col("cost_category").alias("key")).agg(pl.col("budget").sum()),
            category_actual.group_by("project_id", pl.col("cost_category").alias("key")).agg(
                pl.col("ac").cast(pl.Float64).sum().alias("actual")
            ),
        ),
    ]
    return pl.concat(parts).sort("project_id", "dimension", "rank", "key")


def _compare(dimension: str, budget: pl.DataFrame, actual: pl.DataFrame) -> pl.DataFrame:
    both = (
        budget.join(actual, on=["project_id", "key"], how="full", coalesce=True)
        .sort("project_id", "key")
        .with_columns(pl.col("budget").fill_null(0.0), pl.col("actual").fill_null(0.0))
    )
    return both.select(
        "project_id",
        pl.lit(dimension).alias("dimension"),
        "key",
        pl.col("budget").round(4).cast(MONEY),
        pl.col("actual").round(4).cast(MONEY),
        (pl.col("budget") - pl.col("actual")).round(4).cast(MONEY).alias("variance"),
        (pl.col("budget") - pl.col("actual"))
        .abs()
        .rank("ordinal", descending=True)
        .over("project_id")
        .cast(pl.Int64)
        .alias("rank"),
    )
