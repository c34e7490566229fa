"""Earned schedule (Lipke, *Schedule is Different*, 2003) on a baseline's PV curve, as ../shared/EVM.md defines it.

Time is in weeks on a day grid that counts the first and the last day whole: t(d) = (d − baseline_start + 1 day) / 7.

Grain of `earned_schedule`'s output: exactly the rows of its `status` input, in the same order, with `es_weeks` added.
"""

from __future__ import annotations

import polars as pl


def time_weeks(day: pl.Expr, start: pl.Expr) -> pl.Expr:
    """t(day) in weeks from `start` as Float64: (day − start + 1 day) / 7, so a status date 6 days after the start
    is 1.0 week and the start itself is 1/7."""
    return ((day - start).dt.total_days() + 1).cast(pl.Float64) / 7.0


def earned_schedule(points: pl.DataFrame, status: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Add `es_weeks` (Float64) to `status`.

    points: `*by, t_weeks, pv` — one PV curve per `by` group, including (0, 0) and (PD, BAC); PV never decreases
    with t but may stay flat.
    status: `*by, ev, at_weeks, pd_weeks` and any other columns, which pass through untouched.

    C is the LAST point with PV(t_C) ≤ EV and C+1 the next point, i.e. the FIRST point with a higher PV:
    ES = t_C + (EV − PV_C) / (PV_C+1 − PV_C) × (t_C+1 − t_C). When EV ≥ the curve's last PV, ES = PD.
    NULL when EV is NULL, when AT ≤ 0 (status date before the baseline start) or when the group has no curve.

    A flat stretch is one PV level spanning several points: C is its latest point (t_hi) and, seen from the level
    below, C+1 is its earliest point (t_lo). Grouping the points by level makes the curve strictly increasing so a
    backward as-of join finds C.
    """
    levels = (
        points.select(*by, pl.col("t_weeks").cast(pl.Float64), pl.col("pv").cast(pl.Float64).alias("_pv"))
        .drop_nulls()
        .group_by(*by, "_pv")
        .agg(pl.col("t_weeks").min().alias("_t_lo"), pl.col("t_weeks").max().alias("_t_hi"))
        .sort(*by, "_pv")
        .with_columns(
            _next_pv=pl.col("_pv").shift(-1).over(by),
            _next_t=pl.col("_t_lo").shift(-1).over(by),
            _last_pv=pl.col("_pv").max().over(by),
        )
    )
    last = levels.group_by(by).agg(pl.col("_last_pv").first())

    frame = status.with_row_index("_row").with_columns(_ev=pl.col("ev").cast(pl.Float64))
    eligible = frame.filter(pl.col("_ev").is_not_null() & (pl.col("at_weeks") > 0))
    matched = (
        eligible.select("_row", *by, "_ev", "pd_weeks")
        .sort("_ev")
        .join_asof(
            levels.select(*by, pl.col("_pv").alias("_key"), "_pv", "_t_hi", "_next_pv", "_next_t").sort("_key"),
            left_on="_ev",
            right_on="_key",
            by=by,
            strategy="backward",
            # Both sides are sorted on the key over the whole frame, hence within every `by` group too.
            check_sortedness=False,
        )
        .join(last, on=by, how="left")
        .select(
            "_row",
            es_weeks=pl.when(pl.col("_last_pv").is_null())
            .then(None)
            .when(pl.col("_ev") >= pl.col("_last_pv"))
            .then(pl.col("pd_weeks").cast(pl.Float64))
            .otherwise(
                pl.col("_t_hi")
                + (pl.col("_ev") - pl.col("_pv"))
                / (pl.col("_next_pv") - pl.col("_pv"))
                * (pl.col("_next_t") - pl.col("_t_hi"))
            ),
        )
    )
    return (
        frame.join(matched, on="_row", how="left")
        .sort("_row")
        .drop("_row", "_ev")
        .with_columns(pl.col("es_weeks").cast(pl.Float64))
    )
