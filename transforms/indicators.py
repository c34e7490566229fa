"""Cost, schedule and earned-schedule figures from PV, EV, AC and BAC, as ../shared/EVM.md defines them.

Grain of `indicators`' output: exactly the rows of its input, in the same order, with the figures added.

Money is DECIMAL(18,4); ratios and weeks are DOUBLE; a ratio whose denominator is zero or NULL is NULL, never 0
or 1. EV may be NULL (a week that cannot be rebuilt): every figure derived from it is then NULL too.
"""

from __future__ import annotations

import polars as pl

MONEY = pl.Decimal(18, 4)

EAC_METHODS = ("cpi", "budget_rate", "cpi_spi", "composite", "bottom_up")

INDICATOR_COLUMNS = [
    "cv", "sv", "cv_pct", "sv_pct", "cpi", "spi", "csi", "eac_cpi", "eac_budget_rate", "eac_cpi_spi",
    "eac_composite", "eac", "etc", "vac", "tcpi_bac", "tcpi_eac", "sv_t_weeks", "spi_t", "tspi", "ieac_t_weeks",
    "forecast_finish", "risk_adjusted_eac", "pct_complete",
]  # fmt: skip

# DECIMAL(18,4) holds amounts below 10^14 in magnitude.
_MONEY_LIMIT = 10**14
# forecast_finish is NULL rather than a date past 9999-12-31 (an SPI(t) near 0 gives an IEAC(t) of millions of weeks).
_LAST_DAY_OFFSET = pl.date(9999, 12, 31) - pl.col("baseline_start")
# Float noise guard for ceil(): 7 × IEAC(t) that should be a whole number of days may come out a hair above it.
_EPS_DAYS = 1e-9


def ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as Float64; NULL when the denominator is zero or NULL."""
    den = den.cast(pl.Float64)
    return pl.when(den != 0).then(num.cast(pl.Float64) / den).otherwise(None)


def money(expr: pl.Expr) -> pl.Expr:
    """A computed amount as DECIMAL(18,4), rounded to 4 places via Float64; NULL when it does not fit (|x| ≥ 1e14,
    e.g. BAC / CPI for a CPI of 1e-9), rather than an error or a wrapped value."""
    value = expr.cast(pl.Float64).round(4)
    return pl.when(value.abs() < _MONEY_LIMIT).then(value).otherwise(None).cast(MONEY)


def _exact(expr: pl.Expr) -> pl.Expr:
    """Sums and differences of DECIMAL amounts stay exact; only the width is brought back to (18,4) (NULL when the
    result does not fit, as in `money`)."""
    return pl.when(expr.abs() < _MONEY_LIMIT).then(expr).otherwise(None).cast(MONEY)


def indicators(frame: pl.DataFrame, composite_weight: float = 0.8) -> pl.DataFrame:
    """Add INDICATOR_COLUMNS to a frame with

    bac, pv, ev, ac, eac_bottom_up, risk_exposure_cost (DECIMAL; ev, eac_bottom_up and risk_exposure_cost may be
    NULL), eac_method (cpi | budget_rate | cpi_spi | composite | bottom_up; NULL means the default, cpi; any other
    value gives a NULL eac), at_weeks, pd_weeks, es_weeks (Float64), baseline_start (Date), risk_exposure_days.
    """
    w = float(composite_weight)
    bac, pv, ev, ac = (pl.col(c).cast(pl.Float64) for c in ("bac", "pv", "ev", "ac"))
    at, pd, es = (pl.col(c).cast(pl.Float64) for c in ("at_weeks", "pd_weeks", "es_weeks"))
    cpi, spi = ratio(ev, ac), ratio(ev, pv)
    out = frame.with_columns(
        cv=_exact(pl.col("ev") - pl.col("ac")),
        sv=_exact(pl.col("ev") - pl.col("pv")),
        cv_pct=ratio(ev - ac, ev),
        sv_pct=ratio(ev - pv, pv),
        cpi=cpi,
        spi=spi,
        csi=cpi * spi,
        # BAC / CPI: NULL when CPI is NULL (AC = 0) or 0 (EV = 0).
        eac_cpi=money(ratio(bac, cpi)),
        eac_budget_rate=_exact(pl.col("ac") + (pl.col("bac") - pl.col("ev"))),
        eac_cpi_spi=money(ac + ratio(bac - ev, cpi * spi)),
        # NULL when CPI or SPI is NULL (NULL propagates through the weighted sum) or the weighted sum is 0.
        eac_composite=money(ac + ratio(bac - ev, w * cpi + (1.0 - w) * spi)),
        tcpi_bac=pl.when(ac < bac).then(ratio(bac - ev, bac - ac)),
        pct_complete=ratio(ev, bac),
        sv_t_weeks=es - at,
        spi_t=ratio(es, at),
        tspi=pl.when(at < pd).then(ratio(pd - es, pd - at)),
    )
    method = pl.col("eac_method").fill_null("cpi")
    eac_expr = pl.lit(None, dtype=MONEY)
    for name in reversed(EAC_METHODS):
        source = "eac_bottom_up" if name == "bottom_up" else f"eac_{name}"
        eac_expr = pl.when(method == name).then(pl.col(source).cast(MONEY)).otherwise(eac_expr)
    out = out.with_columns(
        eac=eac_expr,
        ieac_t_weeks=pl.when(es != 0).then(ratio(pd, pl.col("spi_t"))),
    )
    # The day in which t = IEAC(t) falls: t(d) = (d − start + 1) / 7, so d = start + ceil(7 × IEAC) − 1.
    offset = (pl.col("ieac_t_weeks") * 7.0 - _EPS_DAYS).ceil() - 1.0
    in_range = offset <= _LAST_DAY_OFFSET.dt.total_days().cast(pl.Float64)
    eac = pl.col("eac").cast(pl.Float64)
    keep = [c for c in frame.columns if c not in INDICATOR_COLUMNS]
    return out.with_columns(
        etc=_exact(pl.col("eac") - pl.col("ac")),
        vac=_exact(pl.col("bac") - pl.col("eac")),
        tcpi_eac=ratio(bac - ev, eac - ac),
        forecast_finish=pl.when(in_range).then(
            pl.col("baseline_start") + pl.duration(days=offset.clip(-1.0, 4.0e6).cast(pl.Int64))
        ),
        risk_adjusted_eac=_exact(pl.col("eac") + pl.col("risk_exposure_cost").cast(MONEY).fill_null(0)),
    ).select(*keep, *INDICATOR_COLUMNS)
