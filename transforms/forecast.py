"""Forecast bands (marts.evm_forecast): p10/p50/p90 of EAC and of the finish date from a project's own
week-to-week CPI and SPI(t) variability, as ../shared/EVM.md ("Flags and forecasts beside the figures") asks.

Grain of `evm_forecast`'s output: one row per project and status date (every row of its `evm` input), sorted by
project_id, status_date.

The method, per project and status date:

- **Weekly periods.** A period runs from the previous status date of the project (for its first row: from the
  baseline start, where PV = EV = AC = ES = AT = 0) to this one. It counts only if it is a week-to-week period:
  it spans 1 to 7 days, EV and ES are known at both ends, ΔAC > 0 and ΔAT > 0 (weeks before the baseline start
  have AT = ES = 0, so they never count). `weeks_of_history` is the number of counted periods up to and including
  the status date. Fewer than `min_weeks` → every band is NULL.
- **Bootstrap of the ratio of sums.** The future efficiencies are CPI* = ΣwΔEV / ΣwΔAC and SPI(t)* = ΣwΔES / ΣwΔAT
  over the counted periods: ratios of resampled sums, never means of weekly ratios, and drawn from the same
  weights, so a week's cost and schedule efficiency stay paired. The weights are those of Rubin's Bayesian
  bootstrap (1981): w ~ Exponential(1), i.e. Dirichlet(1, …, 1) once normalised, the smooth form of resampling
  with replacement (same estimator, same first-order behaviour; the multinomial counts of the classical bootstrap
  are replaced by continuous weights). Reason: a project's k-th week keeps its weight at every later status date,
  so all status dates of a project come from one cumulative sum (O(weeks × samples), not O(weeks² × samples))
  and no sample is ever empty.
- **Forecasts.** EAC = AC + (BAC − EV) / CPI*; IEAC(t) = AT + (PD − ES) / SPI(t)* in weeks; the finish is the day
  in which t = IEAC(t) falls, baseline_start + ceil(7 × IEAC(t)) − 1 day (forecast_finish's convention).
  Quantiles are order statistics (the ceil(q × samples)-th smallest forecast, no interpolation), so p10 ≤ p50 ≤ p90.
  A sample whose CPI* or SPI(t)* is ≤ 0 (earned value or schedule going backwards over the sample) never finishes:
  its forecast is unbounded, and a band that falls on such samples is NULL, as is one past what the column holds
  (EAC ≥ 10^14, a finish after 9999-12-31).
- **Finished.** EV ≥ BAC: every EAC band is AC and every finish band is the status date from which EV ≥ BAC has
  held (the week it finished), whatever the history; method "finished".
- **Seeded.** The weights are common random numbers: one matrix from numpy's Generator(seed), row k for a
  project's k-th status date. A project's bands depend only on its own rows and the seed, never on the other
  projects or their order (two projects with the same weeks get the same bands).

`method`: "bayesian_bootstrap", "finished", or NULL where there is no band (too little history, or EV unknown).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from transforms.indicators import MONEY, money

QUANTILES = (0.1, 0.5, 0.9)
BANDS = ("p10", "p50", "p90")
FORECAST_COLUMNS = [
    "project_id", "status_date", "weeks_of_history", "eac_p10", "eac_p50", "eac_p90", "finish_p10", "finish_p50",
    "finish_p90", "method",
]  # fmt: skip
METHOD = "bayesian_bootstrap"
# Largest magnitude DECIMAL(18,4) holds is just under 10^14.
_MAX_MONEY = 1e14
# Float noise guard for ceil(): 7 × IEAC(t) that should be a whole number of days may come out a hair above it.
_EPS_DAYS = 1e-9
# Elements of one block's running sums (projects × samples): 512 KB, in cache, whatever the portfolio's size.
_BLOCK = 65_536


def _periods(evm: pl.DataFrame) -> pl.DataFrame:
    """The evm rows sorted, with each row's period deltas (0 where the period does not count) and flags."""
    pid = "project_id"
    first = pl.int_range(pl.len()).over(pid) == 0
    start = pl.col("baseline_start")
    # AT and ES clamped at the baseline start: a week before it has neither (EVM.md), and counts as t = 0.
    at = ((pl.col("status_date") - start).dt.total_days() + 1).clip(lower_bound=0).cast(pl.Float64) / 7.0
    es = pl.when(at == 0).then(0.0).otherwise(pl.col("es_weeks").cast(pl.Float64))
    ev, ac = pl.col("ev").cast(pl.Float64), pl.col("ac").cast(pl.Float64)

    def prev(expr: pl.Expr, origin: pl.Expr) -> pl.Expr:
        return pl.when(first).then(origin).otherwise(expr.shift(1).over(pid))

    frame = evm.sort(pid, "status_date").with_columns(
        _pos=pl.int_range(pl.len()).over(pid),
        _proj=(pl.col(pid) != pl.col(pid).shift(1)).fill_null(True).cum_sum() - 1,
        _span=(pl.col("status_date") - prev(pl.col("status_date"), start - pl.duration(days=1))).dt.total_days(),
        _dev=ev - prev(ev, pl.lit(0.0)),
        _dac=ac - prev(ac, pl.lit(0.0)),
        _des=es - prev(es, pl.lit(0.0)),
        _dat=at - prev(at, pl.lit(0.0)),
    )
    counts = (
        pl.col("_span").is_between(1, 7)
        & pl.col("_dev").is_not_null()
        & pl.col("_des").is_not_null()
        & (pl.col("_dac") > 0)
        & (pl.col("_dat") > 0)
    ).fill_null(False)
    # The streak of EV ≥ BAC a row is in starts at the first row after the last row that was not finished.
    finished = (pl.col("ev") >= pl.col("bac")).fill_null(False)
    streak = (~finished).cast(pl.Int64).cum_sum().over(pid)
    return frame.with_columns(
        [pl.when(counts).then(pl.col(c)).otherwise(0.0).alias(c) for c in ("_dev", "_dac", "_des", "_dat")],
        weeks_of_history=counts.cast(pl.Int64).cum_sum().over(pid),
        _finished=finished,
        _finished_on=pl.when(finished).then(pl.col("status_date")).min().over(pid, streak),
    )


def _sums_at(values: np.ndarray, weights: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(cells × samples): for each cell c, Σ_{j ≤ cols[c]} values[rows[c], j] × weights[j] of (projects × weeks)
    values and (weeks × samples) weights.

    A running sum over the weeks, read at the cells' weeks: the same additions in the same order, so the same bits,
    as the sum a row holds at each week. A week where no project of the block has a value adds +0.0, and is
    skipped. One vectorised multiply-add per week over the block's projects and samples, while they are in cache.
    """
    order = np.argsort(cols, kind="stable")
    bounds = np.searchsorted(cols[order], np.arange(values.shape[1] + 1))
    adds = values.any(axis=0)
    out = np.empty((rows.size, weights.shape[1]))
    acc = values[:, 0, None] * weights[0]
    term = np.empty_like(acc)
    for k in range(values.shape[1]):
        if k and adds[k]:
            np.multiply(values[:, k, None], weights[k], out=term)
            acc += term
        at = order[bounds[k] : bounds[k + 1]]
        if at.size:
            out[at] = acc[rows[at]]
    return out


def _order_statistics(frame: pl.DataFrame, need: np.ndarray, samples: int, seed: int) -> dict[str, np.ndarray]:
    """For each row where `need`, the CPI* and SPI(t)* samples whose forecasts are the p10, p50 and p90.

    Forecasts fall as the efficiency rises, so the q-quantile forecast (the ceil(q·S)-th smallest, 1-based) comes
    from the (S + 1 − ceil(q·S))-th smallest efficiency, index S − ceil(q·S) 0-based. Returns arrays (rows × 3).
    Only the projects with a needed row are summed, up to their last needed week: a run that adds a week sums the
    unfinished projects' weeks, not every project's.
    """
    out = {name: np.full((frame.height, len(QUANTILES)), np.nan) for name in ("cpi", "spi")}
    cells = np.nonzero(need)[0]
    if cells.size == 0:
        return out
    proj = frame.get_column("_proj").to_numpy()
    pos = frame.get_column("_pos").to_numpy()
    n_weeks = int(pos[cells].max()) + 1
    # Row k of the weights belongs to a project's k-th status date; rows fill in order, so the first k rows are the
    # same whatever n_weeks is, and a project's draw does not depend on how long the other projects are.
    weights = np.random.default_rng(seed).standard_exponential((n_weeks, samples))
    # The needed projects, numbered 0.. in row order (rows are sorted by project, so the cells' numbers ascend).
    projects = np.unique(proj[cells])
    kept = np.isin(proj, projects) & (pos < n_weeks)
    row_of = np.searchsorted(projects, proj[kept])
    padded = {}
    for col in ("_dev", "_dac", "_des", "_dat"):
        grid = np.zeros((projects.size, n_weeks))
        grid[row_of, pos[kept]] = frame.get_column(col).to_numpy()[kept]
        padded[col] = grid
    cell_row, cell_pos = np.searchsorted(projects, proj[cells]), pos[cells]
    kth = np.asarray([samples - math.ceil(q * samples - 1e-9) for q in QUANTILES])
    step = max(1, _BLOCK // samples)
    for lo in range(0, projects.size, step):  # blocks of projects, to bound memory; never a loop over rows
        c0, c1 = np.searchsorted(cell_row, [lo, lo + step])
        rows, cols = cell_row[c0:c1] - lo, cell_pos[c0:c1]
        weeks = int(cols.max()) + 1
        for name, num, den in (("cpi", "_dev", "_dac"), ("spi", "_des", "_dat")):
            top = _sums_at(padded[num][lo : lo + step, :weeks], weights, rows, cols)
            bottom = _sums_at(padded[den][lo : lo + step, :weeks], weights, rows, cols)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratios = top / bottom
            # A full (SIMD) sort of each row is faster here than np.partition at three indices.
            ratios.sort(axis=-1)
            out[name][cells[c0:c1]] = ratios[:, kth]
    return out


def evm_forecast(evm: pl.DataFrame, *, min_weeks: int = 6, samples: int = 2000, seed: int = 20260101,
                 since: dt.date | None = None) -> pl.DataFrame:  # fmt: skip
    """p10/p50/p90 of EAC and of the finish date per project and status date (see the module docstring).

    Needs from `evm` (marts.evm_weekly): project_id, status_date, baseline_start, bac, ev, ac (DECIMAL; ev may be
    NULL), at_weeks, pd_weeks, es_weeks (Float64). Returns FORECAST_COLUMNS: weeks_of_history (Int64), eac_p10..90
    (DECIMAL(18,4)), finish_p10..90 (Date), method (String). `since`: only the rows of the status dates from then
    on, the same rows as without it (a row depends on its project's rows up to its date, all of which it reads).
    """
    frame = _periods(evm)
    enough = pl.col("weeks_of_history") >= min_weeks
    wanted = pl.lit(True) if since is None else pl.col("status_date") >= since
    need = frame.select(pl.col("ev").is_not_null() & ~pl.col("_finished") & enough & wanted).to_series().to_numpy()
    stats = _order_statistics(frame, need, samples, seed)
    frame = frame.with_columns(
        # NaN (no sample drawn for the row) becomes NULL: polars orders NaN above every number, so NaN > 0 holds.
        pl.Series(f"_{name}_{b}", stats[name][:, i]).fill_nan(None)
        for name in ("cpi", "spi")
        for i, b in enumerate(BANDS)
    )
    bac, ev, ac = (pl.col(c).cast(pl.Float64) for c in ("bac", "ev", "ac"))
    at, pd, es = (pl.col(c).cast(pl.Float64) for c in ("at_weeks", "pd_weeks", "es_weeks"))
    done = pl.col("_finished")
    last_offset = (pl.date(9999, 12, 31) - pl.col("baseline_start")).dt.total_days().cast(pl.Float64)
    bands = []
    for band in BANDS:
        cpi, spi = pl.col(f"_cpi_{band}"), pl.col(f"_spi_{band}")
        eac = ac + (bac - ev) / cpi
        eac_ok = (cpi > 0) & (eac.abs() < _MAX_MONEY)
        # (PD − ES) is 0 once ES reaches PD: the finish is then AT, whatever SPI(t)* is.
        remaining = (pd - es).clip(lower_bound=0.0)
        ieac = pl.when(remaining == 0).then(at).otherwise(at + remaining / spi)
        offset = (ieac * 7.0 - _EPS_DAYS).ceil() - 1.0
        finish_ok = ((remaining == 0) | (spi > 0)) & (offset <= last_offset)
        bands += [
            pl.when(done).then(pl.col("ac").cast(MONEY)).when(eac_ok).then(money(eac)).alias(f"eac_{band}"),
            pl.when(done)
            .then(pl.col("_finished_on"))
            .when(finish_ok)
            .then(pl.col("baseline_start") + pl.duration(days=offset.clip(-1.0, 4.0e6).cast(pl.Int64)))
            .alias(f"finish_{band}"),
        ]
    method = pl.when(done).then(pl.lit("finished")).when(pl.Series(need)).then(pl.lit(METHOD))
    out = frame.with_columns(*bands, method=method).filter(wanted).select(FORECAST_COLUMNS)
    return out.sort("project_id", "status_date")
