"""How good each EAC method would have been on the projects already closed (marts.eac_backtest), so a PMO learns
from its own history which forecast to trust.

Grain of `eac_backtest`'s output: one row per closed project, EAC method and checkpoint (0.25, 0.50, 0.75 of
percent complete), sorted by project_id, eac_method, checkpoint. Grain of `backtest_summary`'s output: one row per
checkpoint and EAC method, sorted by checkpoint, eac_method.

- **Closed projects**: `projects.status == "closed"` that have rows in marts.evm_weekly.
- **Final cost**: AC at the project's last status date. marts.evm_weekly runs every project to the as-of date and
  carries its figures forward after it finishes, so that is its last status date on or after closed_on (costs
  booked after closure included: they are flagged in marts.evm_flags, not dropped here); when the data stops
  before closed_on, it is the last row there is.
- **Checkpoint**: the first status date whose pct_complete (EV / BAC) ≥ the checkpoint. The method's EAC there
  (eac_cpi, eac_budget_rate, eac_cpi_spi, eac_composite, eac_bottom_up), error = EAC − final cost (DECIMAL),
  pct_error = error / final cost (NULL when the final cost is 0), abs_pct_error = |pct_error|. A project that never
  reached a checkpoint keeps its row, with checkpoint_date and every figure NULL: the grid stays whole, and
  "never got there" is visible rather than absent. A NULL EAC at the checkpoint (the method had no value) gives NULL
  errors too.
- **within_10pct_from** (per project and method, repeated on its three checkpoint rows): the pct_complete at the
  first status date of the last run of weeks in which the method's EAC was within ±10 % of the final cost
  (|EAC − final| ≤ 0.10 × final, boundary included) through the last status date; NULL if the EAC was outside
  (or NULL) at the last status date, or the final cost is 0. A NULL EAC breaks the run.
"""

from __future__ import annotations

import polars as pl

from transforms.indicators import EAC_METHODS, MONEY, ratio

CHECKPOINTS = (0.25, 0.50, 0.75)
BACKTEST_COLUMNS = [
    "project_id", "eac_method", "checkpoint", "checkpoint_date", "pct_complete", "eac", "final_status_date",
    "final_cost", "error", "pct_error", "abs_pct_error", "within_10pct_from",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "checkpoint", "eac_method", "projects", "mean_abs_pct_error", "median_abs_pct_error", "mean_pct_error", "rank",
]  # fmt: skip


def _source(method: str) -> str:
    return "eac_bottom_up" if method == "bottom_up" else f"eac_{method}"


def eac_backtest(evm: pl.DataFrame, projects: pl.DataFrame) -> pl.DataFrame:
    """Each EAC method's error at 25/50/75 % complete against the final cost of every closed project.

    Needs from `evm` (marts.evm_weekly): project_id, status_date, ac, pct_complete and the five eac_<method>
    columns (DECIMAL; eac_bottom_up is read as `bottom_up`); from `projects`: project_id, status, closed_on.
    Returns BACKTEST_COLUMNS: checkpoint, pct_complete, pct_error, abs_pct_error, within_10pct_from (Float64);
    checkpoint_date, final_status_date (Date); eac, final_cost, error (DECIMAL(18,4)).
    """
    closed = projects.filter(pl.col("status") == "closed").select("project_id")
    rows = evm.join(closed, on="project_id", how="semi").sort("project_id", "status_date")
    final = rows.group_by("project_id").agg(
        final_status_date=pl.col("status_date").last(),
        final_cost=pl.col("ac").last().cast(MONEY),
    )
    long = (
        rows.select(
            "project_id",
            "status_date",
            pl.col("pct_complete").cast(pl.Float64),
            *[pl.col(_source(m)).cast(MONEY).alias(m) for m in EAC_METHODS],
        )
        .unpivot(index=["project_id", "status_date", "pct_complete"], variable_name="eac_method", value_name="eac")
        .join(final, on="project_id")
        .sort("project_id", "eac_method", "status_date")
    )
    key = ["project_id", "eac_method"]
    # Within ±10 %, compared in DECIMAL so the boundary is exact: |EAC − final| × 10 ≤ final.
    within = (
        ((pl.col("eac") - pl.col("final_cost")).abs() * 10 <= pl.col("final_cost")) & (pl.col("final_cost") > 0)
    ).fill_null(False)
    run = (~within).cast(pl.Int64).cum_sum().over(key)
    in_last_run = within & (run == run.max().over(key))
    settled = long.group_by(key).agg(
        within_10pct_from=pl.col("pct_complete").filter(in_last_run).first(),
    )
    checkpoints = pl.DataFrame({"checkpoint": CHECKPOINTS})
    reached = (
        long.join(checkpoints, how="cross")
        .filter(pl.col("pct_complete") >= pl.col("checkpoint"))
        .group_by(*key, "checkpoint")
        .agg(pl.all().sort_by("status_date").first())
        .rename({"status_date": "checkpoint_date"})
        .drop("final_status_date", "final_cost")
    )
    grid = long.select(*key).unique().join(checkpoints, how="cross").join(final, on="project_id")
    error = (pl.col("eac") - pl.col("final_cost")).cast(MONEY)
    return (
        grid.join(reached, on=[*key, "checkpoint"], how="left")
        .join(settled, on=key, how="left")
        .with_columns(error=error)
        .with_columns(pct_error=ratio(pl.col("error"), pl.col("final_cost")))
        .with_columns(abs_pct_error=pl.col("pct_error").abs())
        .select(BACKTEST_COLUMNS)
        .sort("project_id", "eac_method", "checkpoint")
    )


def backtest_summary(backtest: pl.DataFrame) -> pl.DataFrame:
    """Per checkpoint and EAC method: how many closed projects had an error there, the mean and median absolute
    percent error, the mean signed percent error (bias: > 0 means the method over-forecast), and the method's rank
    among the methods at that checkpoint by mean absolute percent error (1 = most accurate; ties share the lower
    rank; NULL when no project had an error).

    The mean of per-project errors is deliberate, not a roll-up of money: each closed project is one trial of the
    method, and a ratio of summed errors would let the largest project decide the ranking. Each method is scored on
    the projects where it had a value (see `projects`).
    """
    err = pl.col("abs_pct_error")
    return (
        backtest.group_by("checkpoint", "eac_method")
        .agg(
            projects=err.count().cast(pl.Int64),
            mean_abs_pct_error=err.mean(),
            median_abs_pct_error=err.median(),
            mean_pct_error=pl.col("pct_error").mean(),
        )
        .with_columns(rank=pl.col("mean_abs_pct_error").rank(method="min").over("checkpoint").cast(pl.Int64))
        .select(SUMMARY_COLUMNS)
        .sort("checkpoint", "eac_method")
    )
