"""Programme, portfolio and total roll-ups of the weekly earned value, as ../shared/EVM.md defines them.

Grain of `portfolio_weekly`: one row per group_level ("portfolio", "programme", "total"), group_key (the portfolio
or programme name, "(none)" when the project has none, "all" for the total) and status_date; sorted by that key.

Roll-ups sum PV, EV, AC and BAC and apply the project formulas to the sums: ratios of sums, never averages of
ratios. A group-week in which any project's EV is NULL (not reconstructable) has a NULL EV, never a partial sum.
Group time is measured from the group's earliest baseline start; PD runs to its latest baseline finish, and ES is
read off the group's summed PV curve.
"""

from __future__ import annotations

import polars as pl

from transforms.earned_schedule import earned_schedule, time_weeks
from transforms.indicators import INDICATOR_COLUMNS, MONEY, indicators

GROUP = ["group_level", "group_key"]
KEY = [*GROUP, "status_date"]

PORTFOLIO_COLUMNS = [
    *KEY, "projects", "bac", "pv", "ev", "ac", "eac_method", "eac_bottom_up", "baseline_start", "baseline_finish",
    "at_weeks", "pd_weeks", "es_weeks", *INDICATOR_COLUMNS, "eac_sum", "risk_exposure_cost", "risk_exposure_days",
]  # fmt: skip


def _all_or_null(column: str) -> pl.Expr:
    """Σ column over the group, NULL as soon as one member is NULL (never a partial sum)."""
    return pl.when(pl.col(column).null_count() == 0).then(pl.col(column).sum()).otherwise(None).cast(MONEY)


def _members(evm: pl.DataFrame, projects: pl.DataFrame) -> pl.DataFrame:
    """One row per group and project in `evm`: group_level, group_key, project_id."""
    tagged = (
        evm.select("project_id")
        .unique()
        .join(projects.select("project_id", "portfolio", "programme"), on="project_id", how="left")
    )
    keys = {
        "total": pl.lit("all"),
        "portfolio": pl.col("portfolio").fill_null("(none)"),
        "programme": pl.col("programme").fill_null("(none)"),
    }
    return pl.concat(
        [
            tagged.select(pl.lit(level).alias("group_level"), key.alias("group_key"), "project_id")
            for level, key in keys.items()
        ]
    )


def _group_baselines(evm: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """One row per group: earliest baseline_start, latest baseline_finish and Σ BAC, each project taken at its
    latest status date (the baseline in force at the as-of date)."""
    latest = (
        evm.sort("project_id", "status_date")
        .group_by("project_id")
        .agg(pl.col("baseline_start", "baseline_finish", "bac").last())
    )
    return (
        members.join(latest, on="project_id")
        .group_by(GROUP)
        .agg(
            pl.col("baseline_start").min(),
            pl.col("baseline_finish").max(),
            pl.col("bac").sum().cast(MONEY).alias("_curve_bac"),
        )
        .with_columns(pd_weeks=time_weeks(pl.col("baseline_finish"), pl.col("baseline_start")))
    )


def _group_curves(plan: pl.DataFrame, members: pl.DataFrame, baselines: pl.DataFrame) -> pl.DataFrame:
    """The summed PV curve of each group: (0, 0), then (t(sd), Σ PV(sd)) at every plan status date of its
    projects, then (PD, Σ BAC). A project adds 0 before its first plan date and its last PV after its last one,
    which summing each project's PV increments and accumulating them over the group's dates does without a grid."""
    steps = (
        plan.select("project_id", "status_date", pl.col("pv").cast(MONEY))
        .sort("project_id", "status_date")
        .with_columns(_step=pl.col("pv") - pl.col("pv").shift(1).over("project_id").fill_null(0))
        .join(members, on="project_id")
        .group_by(*GROUP, "status_date")
        .agg(pl.col("_step").sum())
        .sort(*GROUP, "status_date")
        .with_columns(pv=pl.col("_step").cum_sum().over(GROUP))
        .join(baselines.select(*GROUP, "baseline_start"), on=GROUP)
        .select(*GROUP, time_weeks(pl.col("status_date"), pl.col("baseline_start")).alias("t_weeks"), "pv")
        .filter(pl.col("t_weeks") > 0)
    )
    origin = baselines.select(*GROUP, pl.lit(0.0).alias("t_weeks"), pl.lit(0).cast(MONEY).alias("pv"))
    finish = baselines.select(*GROUP, pl.col("pd_weeks").alias("t_weeks"), pl.col("_curve_bac").alias("pv"))
    return pl.concat([origin, steps.with_columns(pl.col("pv").cast(MONEY)), finish])


def portfolio_weekly(
    evm: pl.DataFrame, projects: pl.DataFrame, plan: pl.DataFrame, composite_weight: float = 0.8
) -> pl.DataFrame:
    """Roll `evm` up to totals, portfolios and programmes per status date (columns: PORTFOLIO_COLUMNS).

    evm: project_id, status_date, bac, pv, ev, ac, eac, eac_bottom_up, baseline_start, baseline_finish,
    risk_exposure_cost, risk_exposure_days (one row per project and status date).
    projects: project_id, portfolio, programme (NULL → "(none)").
    plan: project_id, status_date, pv for every status date of each project's plan, future dates included.

    eac_method is "cpi" for every group; eac_sum (Σ each project's own EAC, for reconciliation) and eac_bottom_up
    are NULL when any member's is; risk exposure sums count a NULL as 0.
    """
    members = _members(evm, projects)
    baselines = _group_baselines(evm, members)
    summed = (
        evm.join(members, on="project_id")
        .group_by(KEY)
        .agg(
            pl.len().cast(pl.Int64).alias("projects"),
            pl.col("bac", "pv", "ac").sum().cast(MONEY),
            _all_or_null("ev").alias("ev"),
            _all_or_null("eac").alias("eac_sum"),
            _all_or_null("eac_bottom_up").alias("eac_bottom_up"),
            pl.col("risk_exposure_cost").sum().cast(MONEY),
            pl.col("risk_exposure_days").cast(pl.Float64).sum(),
        )
        .join(baselines.select(*GROUP, "baseline_start", "baseline_finish", "pd_weeks"), on=GROUP)
        .with_columns(
            eac_method=pl.lit("cpi"),
            at_weeks=time_weeks(pl.col("status_date"), pl.col("baseline_start")),
        )
    )
    with_es = earned_schedule(_group_curves(plan, members, baselines), summed, by=GROUP)
    return indicators(with_es, composite_weight).select(PORTFOLIO_COLUMNS).sort(KEY)
