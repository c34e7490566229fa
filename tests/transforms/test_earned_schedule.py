"""Earned schedule on hand-computed and published cases (arithmetic in the comments)."""

import datetime as dt
import time
from decimal import Decimal

import polars as pl
import pytest

from transforms.earned_schedule import earned_schedule, time_weeks
from transforms.indicators import MONEY, indicators

D = dt.date


def _points(curve, group="P"):
    """curve: [(t_weeks, pv), ...] for one group."""
    return pl.DataFrame(
        {
            "project_id": [group] * len(curve),
            "t_weeks": [float(t) for t, _ in curve],
            "pv": [Decimal(str(v)) for _, v in curve],
        }
    ).with_columns(pl.col("pv").cast(MONEY))


def _status(evs, at=3.0, pd=4.0, group="P"):
    n = len(evs)
    return pl.DataFrame(
        {
            "project_id": [group] * n,
            "status_date": [D(2025, 1, 5) + dt.timedelta(weeks=i) for i in range(n)],
            "ev": [None if e is None else Decimal(str(e)) for e in evs],
            "at_weeks": at if isinstance(at, list) else [at] * n,
            "pd_weeks": [pd] * n,
        },
        schema_overrides={"ev": MONEY, "at_weeks": pl.Float64},
    )


def _es(curve, evs, **kwargs):
    return earned_schedule(_points(curve), _status(evs, **kwargs), by=["project_id"]).get_column("es_weeks").to_list()


# ---------------------------------------------------------------------------------------------------- time


def test_time_weeks_counts_first_and_last_day_whole():
    frame = pl.DataFrame(
        {
            "start": [D(2025, 1, 6), D(2025, 1, 8), D(2025, 1, 6), D(2025, 1, 6)],
            "day": [D(2025, 1, 12), D(2025, 1, 12), D(2025, 1, 6), D(2025, 1, 5)],
        }
    )
    got = frame.select(t=time_weeks(pl.col("day"), pl.col("start"))).get_column("t").to_list()
    # EVM.md: Mon 6 Jan → Sun 12 Jan: (6 + 1) / 7 = 1.0; Wed 8 Jan → Sun 12 Jan: (4 + 1) / 7 = 5/7;
    # the start day itself: (0 + 1) / 7; the day before the start: (−1 + 1) / 7 = 0.
    assert got == pytest.approx([1.0, 5 / 7, 1 / 7, 0.0])
    assert frame.select(t=time_weeks(pl.col("day"), pl.col("start"))).schema["t"] == pl.Float64


# ---------------------------------------------------------------------------------------------------- interpolation

CURVE = [(0, 0), (1, 100), (2, 300), (3, 600), (4, 1000)]


def test_interpolates_between_the_points_around_ev():
    # EV 200: C = t1 (PV 100 ≤ 200 < PV(t2) 300) → ES = 1 + (200 − 100) / (300 − 100) × (2 − 1) = 1.5
    # EV 750: C = t3 (600 ≤ 750 < 1000) → ES = 3 + 150 / 400 = 3.375
    # EV 50: C = t0 → ES = 0 + 50 / 100 = 0.5
    assert _es(CURVE, [200, 750, 50]) == pytest.approx([1.5, 3.375, 0.5])


def test_ev_on_a_point_gives_that_points_time():
    # EV 300 = PV(t2) exactly: C = t2, fraction 0 → ES = 2.0; EV 0 = PV(t0) → ES = 0.0
    assert _es(CURVE, [300, 0]) == pytest.approx([2.0, 0.0])


def test_flat_stretch_uses_the_last_point_at_or_below_ev_and_the_first_point_above_it():
    # PV 0 → 100 in week 1, flat at 100 through week 3, 400 at week 4, flat to PD 5.
    curve = [(0, 0), (1, 100), (2, 100), (3, 100), (4, 400), (5, 400)]
    # EV 100: the LAST point with PV ≤ 100 is t3 → ES = 3 + 0 = 3.0 (not 1.0, the first one).
    # EV 250: C = t3, C+1 = t4 → ES = 3 + (250 − 100) / (400 − 100) × 1 = 3.5
    # EV 50: C = t0, C+1 = t1 (the first point of the PV-100 level) → ES = 0 + 50 / 100 × 1 = 0.5
    #        (interpolating towards t3, the last point of that level, would wrongly give 1.5)
    assert _es(curve, [100, 250, 50], pd=5.0) == pytest.approx([3.0, 3.5, 0.5])


def test_flat_start_before_any_budget_is_scheduled():
    # Nothing planned in week 1 (a project starting before a holiday): EV 0 → C = t1, the last point with PV ≤ 0.
    curve = [(0, 0), (1, 0), (2, 200), (3, 400)]
    # EV 0 → ES = 1.0; EV 100 → 1 + 100 / 200 = 1.5
    assert _es(curve, [0, 100], pd=3.0) == pytest.approx([1.0, 1.5])


def test_ev_at_or_above_bac_gives_pd():
    # EV = BAC 1000 → ES = PD = 4.0; EV 1200 > BAC (flagged elsewhere) → still PD = 4.0.
    assert _es(CURVE, [1000, 1200], pd=4.0) == pytest.approx([4.0, 4.0])


def test_ev_at_bac_gives_pd_even_when_the_plan_reaches_bac_early():
    # The last budgeted work is planned to end in week 2, the baseline finishes at 3 4/7 weeks (a Thursday).
    curve = [(0, 0), (1, 500), (2, 1000), (25 / 7, 1000)]
    # EV = BAC → ES = PD = 25/7, not 2.0; EV 999 < BAC → 1 + 499 / 500 = 1.998
    assert _es(curve, [1000, 999], pd=25 / 7) == pytest.approx([25 / 7, 1.998])


def test_null_ev_and_status_before_the_baseline_start_give_null():
    # Row 1: EV NULL (week not reconstructable); row 2: AT = 0 (the day before the start);
    # row 3: AT = −1/7 (before the start); row 4: AT 2.0, EV 200 → 1.5.
    got = _es(CURVE, [None, 200, 200, 200], at=[2.0, 0.0, -1 / 7, 2.0])
    assert got[:3] == [None, None, None]
    assert got[3] == pytest.approx(1.5)


def test_each_group_reads_its_own_curve_and_rows_keep_their_order():
    points = pl.concat([_points(CURVE, "A"), _points([(0, 0), (1, 400), (2, 800)], "B")])
    status = pl.concat([_status([200], group="B"), _status([200], group="A"), _status([200], group="C")])
    out = earned_schedule(points, status, by=["project_id"])
    assert out.get_column("project_id").to_list() == ["B", "A", "C"]
    # B: EV 200 on (0, 0)–(1, 400) → 200 / 400 = 0.5; A: 1.5 as above; C has no curve → NULL.
    assert out.get_column("es_weeks").to_list()[:2] == pytest.approx([0.5, 1.5])
    assert out.get_column("es_weeks").to_list()[2] is None
    assert out.columns == [*status.columns, "es_weeks"]


def test_groups_keyed_by_project_and_baseline_version():
    points = pl.concat(
        [
            _points(CURVE).with_columns(baseline_version=pl.lit(1)),
            _points([(0, 0), (1, 200), (2, 400), (3, 600), (4, 1000)]).with_columns(baseline_version=pl.lit(2)),
        ]
    )
    status = pl.concat(
        [
            _status([200]).with_columns(baseline_version=pl.lit(1)),
            _status([200]).with_columns(baseline_version=pl.lit(2)),
        ]
    )
    out = earned_schedule(points, status, by=["project_id", "baseline_version"])
    # v1: 1 + 100 / 200 = 1.5; v2: EV 200 = PV(t1) → 1.0
    assert out.get_column("es_weeks").to_list() == pytest.approx([1.5, 1.0])


# ---------------------------------------------------------------------------------------------------- published

# Vanhoucke, M., PM Knowledge Center, "Earned Value Management: Forecasting time", table 2
# (http://pmknowledgecenter.com/node/167): weekly cumulative PV and EV of an example project that planned to finish
# in week 9 (PV reaches BAC = 150 at W9) and finished in week 11. The page publishes ES per week; the stored copy
# available here is cut off after W6, so W1–W6 are checked against the published ES (2 decimals) and the later weeks
# and the SPI(t), SV(t), IEAC(t) figures are derived with EVM.md's formulas (the page's EAC(t) with PF = SPI(t),
# AT + (PD − ES) / SPI(t), is algebraically PD / SPI(t)).
PMKC_PV = [5.0, 10.0, 25.0, 55.0, 85.0, 120.0, 130.0, 140.0, 150.0, 150.0, 150.0]
PMKC_EV = [3.33, 6.67, 10.0, 22.5, 70.0, 82.5, 90.0, 120.0, 130.0, 140.0, 150.0]
PMKC_ES_PUBLISHED = [0.67, 1.33, 2.00, 2.83, 4.50, 4.92]


def _pmkc_frame():
    curve = [(0, 0)] + [(w + 1, pv) for w, pv in enumerate(PMKC_PV[:9])]  # the baseline spans W0..W9 = PD
    weeks = list(range(1, 12))
    status = _status(PMKC_EV, at=[float(w) for w in weeks], pd=9.0).with_columns(
        pv=pl.Series([Decimal(str(v)) for v in PMKC_PV]).cast(MONEY),
        ac=pl.Series([Decimal(str(v)) for v in PMKC_EV]).cast(MONEY),
        bac=pl.lit(Decimal("150")).cast(MONEY),
        eac_method=pl.lit("cpi"),
        eac_bottom_up=pl.lit(None, dtype=MONEY),
        baseline_start=pl.lit(D(2025, 1, 6)),
        risk_exposure_cost=pl.lit(None, dtype=MONEY),
        risk_exposure_days=pl.lit(None, dtype=pl.Float64),
    )
    return indicators(earned_schedule(_points(curve), status, by=["project_id"]))


def test_published_example_pmknowledgecenter_earned_schedule():
    es = _pmkc_frame().get_column("es_weeks").to_list()
    # Published: W1 3.33 / 5 = 0.67; W2 1 + 1.67 / 5 = 1.33; W3 EV 10 = PV(W2) → 2.00; W4 2 + 12.5 / 15 = 2.83;
    # W5 4 + 15 / 30 = 4.50; W6 4 + 27.5 / 30 = 4.92.
    assert es[:6] == pytest.approx(PMKC_ES_PUBLISHED, abs=0.005)
    # Derived: W7 5 + 5 / 35 = 5.142857; W8 EV 120 = PV(W6) → 6; W9 → 7; W10 → 8; W11 EV = BAC → PD = 9.
    assert es[6:] == pytest.approx([5 + 5 / 35, 6.0, 7.0, 8.0, 9.0])


def test_published_example_pmknowledgecenter_time_indicators():
    rows = _pmkc_frame().select("spi_t", "sv_t_weeks", "ieac_t_weeks", "spi", "tspi").rows()
    # W4 (AT 4): ES 2 + 12.5 / 15 = 2.8333; SPI(t) = 2.8333 / 4 = 0.70833; SV(t) = 2.8333 − 4 = −1.1667;
    #            IEAC(t) = 9 / 0.70833 = 12.7059; TSPI = (9 − 2.8333) / (9 − 4) = 1.23333
    assert rows[3][0] == pytest.approx(2.8333333 / 4)
    assert rows[3][1] == pytest.approx(2.8333333 - 4)
    assert rows[3][2] == pytest.approx(9 / (2.8333333 / 4))
    assert rows[3][4] == pytest.approx((9 - 2.8333333) / 5)
    # W5 (AT 5): ES 4.5 → SPI(t) 0.9, SV(t) −0.5, IEAC(t) 9 / 0.9 = 10.0
    assert rows[4][:3] == pytest.approx((0.9, -0.5, 10.0))
    # W11: finished two weeks late. SPI = EV 150 / PV 150 = 1.0, but ES = PD = 9 → SPI(t) = 9 / 11 = 0.8182,
    # SV(t) = 9 − 11 = −2, IEAC(t) = 9 / (9 / 11) = 11 = the actual duration; TSPI NULL (AT 11 ≥ PD 9).
    assert rows[10][:4] == pytest.approx((9 / 11, -2.0, 11.0, 1.0))
    assert rows[10][4] is None


def test_published_example_prepcast_linear_plan():
    # PM PrepCast forum, "Explanation" (project-management-prepcast.com/kunena/pmp-exam-discussion/9649): a project
    # planned for 5 months, 3 months in, half the work done → ES 2.5 months, SV(t) = −0.5 months, SPI(t) = 0.83.
    # Linear plan BAC 100: PV(m) = 20 m. EV 50: C = month 2 (PV 40) → ES = 2 + (50 − 40) / (60 − 40) = 2.5.
    curve = [(m, 20 * m) for m in range(6)]
    es = _es(curve, [50], at=3.0, pd=5.0)[0]
    assert es == pytest.approx(2.5)
    assert es - 3.0 == pytest.approx(-0.5)  # SV(t)
    assert es / 3.0 == pytest.approx(0.83, abs=0.005)  # SPI(t) = 2.5 / 3 = 0.8333
    # IEAC(t) (not in the source) = PD / SPI(t) = 5 / 0.8333 = 6.0 months
    assert 5.0 / (es / 3.0) == pytest.approx(6.0)


# ---------------------------------------------------------------------------------------------------- scale


def test_a_thousand_projects_of_two_years_in_well_under_a_second():
    n, weeks = 1000, 104
    grid = pl.DataFrame({"project_id": pl.int_range(0, n, eager=True)}).join(
        pl.DataFrame({"w": pl.int_range(0, weeks + 1, eager=True)}), how="cross"
    )
    # Project p plans 100 a week plus p in week 1 (so every curve differs); EV runs at 80 a week.
    points = grid.select(
        "project_id",
        t_weeks=pl.col("w").cast(pl.Float64),
        pv=(pl.col("w") * 100 + pl.when(pl.col("w") > 0).then(pl.col("project_id")).otherwise(0)).cast(MONEY),
    )
    status = grid.filter(pl.col("w") > 0).select(
        "project_id",
        "w",
        ev=(pl.col("w") * 80).cast(MONEY),
        at_weeks=pl.col("w").cast(pl.Float64),
        pd_weeks=pl.lit(float(weeks)),
    )
    started = time.perf_counter()
    out = earned_schedule(points, status, by=["project_id"])
    elapsed = time.perf_counter() - started
    assert out.height == n * weeks
    assert elapsed < 1.0
    # Project 0, week 10: EV 800 = PV(t8) = 800 → ES 8.0. Project 50, week 10: EV 800, PV(t7) = 750 ≤ 800 < PV(t8)
    # = 850 → ES = 7 + 50 / 100 = 7.5.
    picked = out.filter((pl.col("w") == 10) & pl.col("project_id").is_in([0, 50])).sort("project_id")
    assert picked.get_column("es_weeks").to_list() == pytest.approx([8.0, 7.5])
