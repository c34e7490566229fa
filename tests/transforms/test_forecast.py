"""Forecast bands (transforms/forecast.py) on hand-made weeks; the arithmetic is in the comments."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.forecast import FORECAST_COLUMNS, evm_forecast

D = dt.date
START = D(2025, 1, 6)  # a Monday: status date k (a Sunday) = START + 7k − 1 day, AT = k weeks
MONEY = pl.Decimal(18, 4)


def _weeks(pid, dev, dac, des, *, bac=1000, pd_weeks=10.0, start=START, first_week=1):
    """Cumulative evm rows from weekly increments (None in dev = a week whose EV cannot be rebuilt)."""
    ev = ac = 0.0
    es = 0.0
    rows = []
    for i, (e, a, s) in enumerate(zip(dev, dac, des, strict=True)):
        k = first_week + i
        ac += a
        if e is not None:
            ev += e
            es += s
        rows.append(
            {
                "project_id": pid,
                "status_date": start + dt.timedelta(days=7 * k - 1),
                "baseline_start": start,
                "bac": float(bac),
                "pv": float(bac) * min(k / pd_weeks, 1.0),
                "ev": None if e is None else ev,
                "ac": ac,
                # No earned-schedule figures before the baseline start (AT ≤ 0), as in marts.evm_weekly.
                "at_weeks": float(k) if k > 0 else None,
                "pd_weeks": pd_weeks,
                "es_weeks": None if e is None or k <= 0 else es,
            }
        )
    return pl.DataFrame(rows).with_columns(pl.col("bac", "pv", "ev", "ac").round(4).cast(MONEY))


def _row(frame, pid, day):
    return frame.filter((pl.col("project_id") == pid) & (pl.col("status_date") == day)).row(0, named=True)


def _sunday(k):
    return START + dt.timedelta(days=7 * k - 1)


def test_constant_cpi_gives_three_equal_bands_of_bac_over_cpi():
    # Every week: ΔAC 100, ΔEV 80 (CPI 0.8), ΔES 0.5 per ΔAT 1 (SPI(t) 0.5). Every resampled ratio of sums is
    # Σw·80 / Σw·100 = 0.8 and Σw·0.5 / Σw·1 = 0.5, whatever the weights.
    evm = _weeks("P", [80] * 8, [100] * 8, [0.5] * 8)
    out = evm_forecast(evm)
    assert out.columns == FORECAST_COLUMNS and out.height == 8
    assert out.get_column("weeks_of_history").to_list() == [1, 2, 3, 4, 5, 6, 7, 8]
    w8 = _row(out, "P", _sunday(8))
    # Week 8: AC 800, EV 640, BAC 1000: EAC = 800 + (1000 − 640) / 0.8 = 800 + 450 = 1250 = BAC / 0.8.
    assert (w8["eac_p10"], w8["eac_p50"], w8["eac_p90"]) == (Decimal("1250"),) * 3
    # AT 8, ES 4, PD 10: IEAC(t) = 8 + (10 − 4) / 0.5 = 20 weeks; finish = 6 Jan + ceil(7 × 20) − 1 = 6 Jan + 139
    # days = Sunday 25 May 2025.
    assert (w8["finish_p10"], w8["finish_p50"], w8["finish_p90"]) == (D(2025, 5, 25),) * 3
    assert w8["method"] == "bayesian_bootstrap"
    w6 = _row(out, "P", _sunday(6))
    # Week 6, the first with 6 periods: AC 600, EV 480: 600 + 520 / 0.8 = 1250 again.
    assert w6["eac_p50"] == Decimal("1250")


def test_fewer_than_six_weeks_of_history_gives_null_bands():
    evm = _weeks("P", [80] * 8, [100] * 8, [0.5] * 8)
    out = evm_forecast(evm)
    w5 = _row(out, "P", _sunday(5))
    assert w5["weeks_of_history"] == 5
    assert all(w5[c] is None for c in FORECAST_COLUMNS[3:])
    # min_weeks is a parameter: with 5, week 5 has its bands (AC 500, EV 400: 500 + 600 / 0.8 = 1250).
    assert _row(evm_forecast(evm, min_weeks=5), "P", _sunday(5))["eac_p50"] == Decimal("1250")


def test_weeks_without_cost_or_with_unknown_ev_are_not_history():
    # Week 3 has no cost (ΔAC 0: its CPI is undefined); week 6's EV cannot be rebuilt, so neither the period into
    # week 6 nor the one out of it counts. Counted: weeks 1, 2, 4, 5, 8, 9 → the 6th period is week 9.
    dev = [80, 80, 0, 80, 80, None, 160, 80, 80]
    dac = [100, 100, 0, 100, 100, 100, 100, 100, 100]
    des = [0.5] * 9
    out = evm_forecast(_weeks("P", dev, dac, des))
    assert out.get_column("weeks_of_history").to_list() == [1, 2, 2, 3, 4, 4, 4, 5, 6]
    assert _row(out, "P", _sunday(6))["eac_p50"] is None and _row(out, "P", _sunday(8))["eac_p50"] is None
    w9 = _row(out, "P", _sunday(9))
    # Week 9: AC 800, EV 640 (the 160 of week 7 included); counted CPIs all 0.8: 800 + 360 / 0.8 = 1250.
    assert w9["eac_p10"] == w9["eac_p90"] == Decimal("1250")


def test_weeks_before_the_baseline_start_are_not_history():
    # Two weeks before the start (AT = ES = 0, cost 50 each, no EV), then constant CPI 0.8 weeks.
    evm = _weeks("P", [0, 0] + [80] * 6, [50, 50] + [100] * 6, [0, 0] + [0.5] * 6, first_week=-1)
    out = evm_forecast(evm)
    # Status dates: weeks −1, 0 (before the start) then 1..6; only weeks 1..6 count.
    assert out.get_column("weeks_of_history").to_list() == [0, 0, 1, 2, 3, 4, 5, 6]
    last = out.row(-1, named=True)
    # Week 6: AC 100 + 600 = 700, EV 480: 700 + 520 / 0.8 = 1350 (the 100 spent before the start is in AC, not in
    # the weekly CPIs).
    assert last["eac_p10"] == last["eac_p90"] == Decimal("1350")


def test_bands_come_from_the_ratio_of_resampled_sums_not_the_mean_of_weekly_ratios():
    # Three big weeks (ΔEV 50 / ΔAC 100, CPI 0.5) and three small ones (ΔEV 2 / ΔAC 1, CPI 2.0).
    # Mean of weekly CPIs = 1.25; ratio of sums = (3×50 + 3×2) / (3×100 + 3×1) = 156 / 303 = 0.5149.
    evm = _weeks("P", [50, 2] * 3, [100, 1] * 3, [1.0] * 6)
    w6 = _row(evm_forecast(evm), "P", _sunday(6))
    # AC 303, EV 156, BAC 1000: at the ratio of sums EAC = 303 + 844 / 0.5149 = 1942.3 (at 1.25 it would be 978).
    assert float(w6["eac_p50"]) == pytest.approx(303 + 844 / (156 / 303), rel=0.01)
    # A sample's CPI* = (50a + 2b) / (100a + b), a and b the summed weights of the big and small weeks; CPI* > 0.6
    # needs b/a > 7.1, which an F(6, 6) ratio exceeds with probability ≈ 0.015, far below 10 %: so even the p10
    # EAC is above 303 + 844 / 0.6 = 1709.7.
    assert float(w6["eac_p10"]) > 303 + 844 / 0.6


def test_bands_are_ordered_and_spread_when_efficiency_varies():
    dev = [60, 110, 75, 95, 40, 120, 85, 70, 100, 90]
    dac = [100, 90, 110, 100, 80, 120, 100, 95, 105, 100]
    des = [0.6, 1.1, 0.8, 0.9, 0.5, 1.2, 0.7, 1.0, 0.9, 0.8]
    out = evm_forecast(_weeks("P", dev, dac, des, bac=3000, pd_weeks=30.0)).filter(pl.col("method").is_not_null())
    assert out.height == 5  # weeks 6..10
    for r in out.iter_rows(named=True):
        assert r["eac_p10"] < r["eac_p50"] < r["eac_p90"]
        assert r["finish_p10"] <= r["finish_p50"] <= r["finish_p90"]
        assert r["finish_p10"] < r["finish_p90"]


def test_same_inputs_and_seed_give_the_same_bands_whatever_the_order_or_the_other_projects():
    a = _weeks("A", [60, 110, 75, 95, 40, 120, 85], [100, 90, 110, 100, 80, 120, 100], [0.6, 1.1, 0.8, 0.9, 0.5, 1, 1])
    b = _weeks("B", [90, 70, 80, 100, 60, 75, 95, 85, 70, 90], [100] * 10, [0.9, 0.7, 0.8, 1, 0.6, 0.7, 1, 1, 1, 1])
    both = pl.concat([a, b])
    first = evm_forecast(both)
    assert first.equals(evm_forecast(both))
    assert first.equals(evm_forecast(both.sample(fraction=1.0, shuffle=True, seed=3)))
    # A alone (shorter than B, so fewer weight rows are drawn) gets exactly the bands it gets beside B.
    assert evm_forecast(a).equals(first.filter(pl.col("project_id") == "A"))
    # The seed is what makes the draw: another seed moves the (varying) bands.
    other = evm_forecast(both, seed=7).filter(pl.col("project_id") == "A").row(-1, named=True)
    assert other["eac_p10"] != first.filter(pl.col("project_id") == "A").row(-1, named=True)["eac_p10"]


def test_since_gives_exactly_the_rows_of_those_weeks_that_computing_every_week_gives():
    # Three projects of different lengths and starts, one finishing (EV reaches BAC 1000 in week 9): a run that
    # computes only the weeks from `since` on (marts.evm_forecast after a week is added or changed) must give those
    # rows bit for bit, bands, history counts and finish weeks included.
    a = _weeks("A", [60, 110, 75, 95, 40, 120, 85, 90, 70, 100, 65, 80], [100, 90, 110, 100, 80, 120, 100, 95, 85,
               100, 90, 100], [0.6, 1.1, 0.8, 0.9, 0.5, 1, 1, 0.9, 0.7, 1, 0.6, 0.8])  # fmt: skip
    b = _weeks("B", [90, 70, 80, 100, 60, 75, 95, 85], [100] * 8, [0.9, 0.7, 0.8, 1, 0.6, 0.7, 1, 1], first_week=5)
    c = _weeks("C", [100, 150, 80, 120, 90, 110, 130, 100, 120, 0], [110, 140, 100, 130, 80, 120, 120, 110, 100, 20],
               [1] * 10)  # fmt: skip
    evm = pl.concat([a, b, c])
    whole = evm_forecast(evm)
    assert set(whole.get_column("method").drop_nulls()) == {"bayesian_bootstrap", "finished"}
    for k in (1, 7, 10, 12, 13):
        since = _sunday(k)
        part = evm_forecast(evm, since=since)
        assert part.equals(whole.filter(pl.col("status_date") >= since))
        assert part.height == whole.filter(pl.col("status_date") >= since).height
    assert evm_forecast(evm, since=_sunday(13)).is_empty()


def test_finished_project_bands_are_its_actual_cost_and_finish_week():
    # EV reaches BAC 1000 in week 4 (4 × 250); a late timesheet adds 30 in week 5, after the finish.
    evm = _weeks("P", [250, 250, 250, 250, 0], [300, 300, 300, 300, 30], [2.5] * 5)
    out = evm_forecast(evm)
    w4, w5 = _row(out, "P", _sunday(4)), _row(out, "P", _sunday(5))
    # Week 4: AC = 4 × 300 = 1200 in every EAC band, the finish is week 4's status date: finished with only four
    # weeks of history.
    assert (w4["eac_p10"], w4["eac_p50"], w4["eac_p90"]) == (Decimal("1200"),) * 3
    assert (w4["finish_p10"], w4["finish_p90"], w4["method"]) == (_sunday(4), _sunday(4), "finished")
    # Week 5: AC 1230; the project still finished in week 4.
    assert (w5["eac_p50"], w5["finish_p50"]) == (Decimal("1230"), _sunday(4))
    assert _row(out, "P", _sunday(3))["method"] is None


def test_a_sample_with_no_net_progress_makes_its_band_unbounded_null():
    # ΔEV 600 in week 1, then −100 five times (corrections); ΔAC 100 each week. A sample's CPI* ≤ 0 when
    # 600·w1 ≤ 100·(w2 + … + w6), i.e. w1 / Σw ≤ 1/7: w1 / Σw ~ Beta(1, 5), P = 1 − (6/7)^5 = 0.54.
    # So 54 % of the samples never finish: the p50 and p90 EAC are unbounded (NULL), the p10 is finite.
    evm = _weeks("P", [600, -100, -100, -100, -100, -100], [100] * 6, [1.0] * 6)
    w6 = _row(evm_forecast(evm), "P", _sunday(6))
    # CPI* = (600·w1 − 100·(Σw − w1)) / (100·Σw) = 7B − 1 with B = w1 / Σw. The p10 EAC comes from the p90 of B:
    # 1 − 0.1^(1/5) = 0.3690, CPI* = 7 × 0.3690 − 1 = 1.583; week 6: AC 600, EV 100: 600 + 900 / 1.583 = 1168.5.
    assert float(w6["eac_p10"]) == pytest.approx(600 + 900 / 1.583, rel=0.03)
    assert w6["eac_p50"] is None and w6["eac_p90"] is None
    assert w6["method"] == "bayesian_bootstrap"


def test_when_earned_schedule_reaches_the_planned_duration_the_finish_is_now():
    # ES reaches PD (6 weeks) in week 6 while EV (960) is still below BAC: IEAC(t) = AT + 0 = 6 weeks, week 6's
    # status date, whatever SPI(t)* is.
    evm = _weeks("P", [160] * 6, [200] * 6, [1.0] * 6, pd_weeks=6.0, bac=1000)
    w6 = _row(evm_forecast(evm), "P", _sunday(6))
    assert (w6["finish_p10"], w6["finish_p90"]) == (_sunday(6), _sunday(6))
    # AC 1200, EV 960, CPI 0.8: 1200 + 40 / 0.8 = 1250.
    assert w6["eac_p50"] == Decimal("1250")


def test_the_sampled_ratios_are_the_running_sums_over_each_projects_weeks_read_at_the_needed_weeks():
    # The reference: for a needed row (project p, its k-th status date), CPI* of sample s is
    # Σ_{j ≤ k} ΔEV_j × w[j, s] / Σ_{j ≤ k} ΔAC_j × w[j, s], with w the seeded (weeks × samples) exponential draw,
    # summed by numpy's cumsum in week order. B is the longest and needs no row (finished), so only A's and C's
    # weeks are summed; A's weeks 3 and 4 add nothing (no cost: not history), a gap the sums skip.
    import numpy as np

    from transforms.forecast import QUANTILES, _order_statistics, _periods

    a = _weeks("A", [60, 110, 0, 0, 75, 95, 40, 120, 85], [100, 90, 0, 0, 110, 100, 80, 120, 100], [0.6, 1.1, 0, 0,
               0.8, 0.9, 0.5, 1.0, 0.7])  # fmt: skip
    b = _weeks("B", [300] * 12, [250] * 12, [1.0] * 12, bac=1000)  # EV reaches BAC in week 4
    c = _weeks("C", [90, 70, 80, 100, 60, 75, 95], [100] * 7, [0.9, 0.7, 0.8, 1, 0.6, 0.7, 1])
    frame = _periods(pl.concat([a, b, c]))
    need = frame.select(pl.col("project_id").is_in(["A", "C"]) & (pl.col("weeks_of_history") >= 6)).to_series()
    need = need.to_numpy()
    samples, seed = 50, 11
    stats = _order_statistics(frame, need, samples, seed)
    # A: 7 weeks of history by week 9 (weeks 1, 2, 5..9), 6 from week 8: 2 rows; C: weeks 6 and 7.
    assert np.isnan(stats["cpi"][~need]).all() and need.sum() == 4
    kth = [samples - int(np.ceil(q * samples - 1e-9)) for q in QUANTILES]
    for pid in ("A", "C"):
        rows = frame.filter(pl.col("project_id") == pid)
        weights = np.random.default_rng(seed).standard_exponential((rows.height, samples))
        at = need & (frame.get_column("project_id") == pid).to_numpy()
        for name, num, den in (("cpi", "_dev", "_dac"), ("spi", "_des", "_dat")):
            top = np.cumsum(rows.get_column(num).to_numpy()[:, None] * weights, axis=0)
            bottom = np.cumsum(rows.get_column(den).to_numpy()[:, None] * weights, axis=0)
            ratios = np.sort(top / bottom, axis=-1)[-2:]  # the project's last two weeks, the needed ones
            assert np.array_equal(stats[name][at], ratios[:, kth])
