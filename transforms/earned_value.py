"""Earned value per project and status date, and its roll-ups, as ../shared/EVM.md defines them.

Money is DECIMAL(18,4); ratios are DOUBLE; a ratio whose denominator is zero is NULL, never 0 or 1.
Roll-ups sum PV, EV, AC and BAC and apply the same formulas: ratios of sums, never averages of ratios.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from transforms.calendar import isodow

_SQL = Path(__file__).with_name("earned_value.sql").read_text(encoding="utf-8")
_COST_SQL = Path(__file__).with_name("actual_cost.sql").read_text(encoding="utf-8")
MONEY = pl.Decimal(18, 4)

EVM_COLUMNS = [
    "project_id", "status_date", "baseline_version", "bac", "pv", "ev", "ac", "cv", "sv", "cv_pct",
    "sv_pct", "cpi", "spi", "csi", "eac_cpi", "eac_budget_rate", "eac_cpi_spi", "eac_method", "eac", "etc",
    "vac", "tcpi_bac", "tcpi_eac", "pct_complete",
]  # fmt: skip


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as DOUBLE, NULL when the denominator is zero or NULL."""
    den = den.cast(pl.Float64)
    return pl.when(den != 0).then(num.cast(pl.Float64) / den).otherwise(None)


def _money(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Float64).round(4).cast(MONEY)


def indicators(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the cost and schedule figures to a frame with bac, pv, ev, ac (DECIMAL) and eac_method."""
    bac, pv, ev, ac = (pl.col(c).cast(pl.Float64) for c in ("bac", "pv", "ev", "ac"))
    cpi, spi = _ratio(ev, ac), _ratio(ev, pv)
    out = frame.with_columns(
        cv=pl.col("ev") - pl.col("ac"),
        sv=pl.col("ev") - pl.col("pv"),
        cv_pct=_ratio(ev - ac, ev),
        sv_pct=_ratio(ev - pv, pv),
        cpi=cpi,
        spi=spi,
        csi=cpi * spi,
        # BAC / CPI: NULL when CPI is NULL (no actuals yet) or 0 (no earned value yet).
        eac_cpi=_money(_ratio(bac, cpi)),
        eac_budget_rate=_money(ac + (bac - ev)),
        eac_cpi_spi=_money(ac + _ratio(bac - ev, cpi * spi)),
        pct_complete=_ratio(ev, bac),
    )
    out = out.with_columns(
        eac=pl.when(pl.col("eac_method") == "budget_rate")
        .then(pl.col("eac_budget_rate"))
        .when(pl.col("eac_method") == "cpi_spi")
        .then(pl.col("eac_cpi_spi"))
        .otherwise(pl.col("eac_cpi"))
    )
    eac = pl.col("eac").cast(pl.Float64)
    # TCPI to BAC is NULL once AC >= BAC: the budget can no longer be met.
    tcpi_bac = pl.when(ac < bac).then(_ratio(bac - ev, bac - ac))
    return out.with_columns(
        etc=pl.col("eac") - pl.col("ac"),
        vac=pl.col("bac") - pl.col("eac"),
        tcpi_bac=tcpi_bac,
        tcpi_eac=_ratio(bac - ev, eac - ac),
    )


def cost_worklogs(worklogs: pl.DataFrame, people: pl.DataFrame, rates: pl.DataFrame) -> pl.DataFrame:
    """One row per worklog with its rate and cost; `exception` says why a worklog could not be costed."""
    with duckdb.connect() as conn:
        for name, frame in {"worklogs": worklogs, "people": people, "rates": rates}.items():
            conn.register(name, frame)
        return conn.sql(_COST_SQL).pl()


def working_day_index(holidays: pl.DataFrame, calendars: list[str], first: dt.date, last: dt.date) -> pl.DataFrame:
    """Grain: one row per calendar and day from `first` to `last`; `wd` counts the working days (Monday to
    Friday, less the calendar's holidays) up to and including that day."""
    days = pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
    grid = pl.DataFrame({"calendar_id": calendars}).join(days, how="cross")
    off = holidays.select("calendar_id", pl.col("date").alias("day"), pl.lit(True).alias("_holiday"))
    return (
        grid.join(off.unique(["calendar_id", "day"]), on=["calendar_id", "day"], how="left")
        .with_columns(working=(pl.col("day").dt.weekday() <= 5) & pl.col("_holiday").is_null())
        .sort("calendar_id", "day")
        .with_columns(wd=pl.col("working").cast(pl.Int64).cum_sum().over("calendar_id"))
        .select("calendar_id", "day", "wd")
    )


def evm_weekly(
    *,
    projects: pl.DataFrame,
    baselines: pl.DataFrame,
    work_items: pl.DataFrame,
    costed: pl.DataFrame,
    holidays: pl.DataFrame,
    as_of: dt.date,
    week_ends_on: str = "sunday",
) -> pl.DataFrame:
    """Grain: one row per project per status date, from the project's first baseline week to `as_of`.

    Needs: projects (project_id, ev_technique, eac_method, calendar_id), baselines (one row per element
    and version), work_items (snapshots), costed worklogs (`cost_worklogs`), holidays.
    """
    calendars = projects.get_column("calendar_id").fill_null("default").unique().sort().to_list() or ["default"]
    if baselines.height:
        first = baselines.get_column("planned_start").min() - dt.timedelta(days=1)
        last = max(baselines.get_column("planned_finish").max(), as_of)
    else:
        first = last = as_of
    inputs = {
        "projects": projects,
        "baselines": baselines,
        "work_items": work_items,
        "costed": costed,
        "cal": working_day_index(holidays, calendars, first, last),
    }
    with duckdb.connect() as conn:
        for name, frame in inputs.items():
            conn.register(name, frame)
        base = conn.sql(_SQL, params={"as_of": as_of, "week_end": isodow(week_ends_on)}).pl()
    return indicators(base).select(*EVM_COLUMNS, "baseline_start", "baseline_finish").sort("project_id", "status_date")


def portfolio_weekly(evm: pl.DataFrame, projects: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per group (total, portfolio, programme) per status date, from summed PV, EV, AC, BAC.

    eac_sum is the sum of each project's own EAC, beside the roll-up's EAC, for reconciliation.
    """
    tagged = evm.join(projects.select("project_id", "portfolio", "programme"), on="project_id", how="left")
    levels = {
        "total": pl.lit("all"),
        "portfolio": pl.col("portfolio").fill_null("(none)"),
        "programme": pl.col("programme").fill_null("(none)"),
    }
    parts = [
        tagged.with_columns(group_level=pl.lit(level), group_key=key)
        .group_by("group_level", "group_key", "status_date")
        .agg(
            pl.col("bac", "pv", "ev", "ac").sum(),
            pl.col("eac").sum().alias("eac_sum"),
            pl.len().alias("projects"),
        )
        for level, key in levels.items()
    ]
    summed = pl.concat(parts).with_columns(pl.col("bac", "pv", "ev", "ac").cast(MONEY), eac_method=pl.lit("cpi"))
    cols = [c for c in EVM_COLUMNS if c not in ("project_id", "baseline_version")]
    return (
        indicators(summed)
        .select("group_level", "group_key", *cols, "eac_sum", "projects")
        .sort("group_level", "group_key", "status_date")
    )
