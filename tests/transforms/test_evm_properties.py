"""Properties of the EVM figures that must hold for any input (hypothesis).

Amounts are drawn as whole cents so that DECIMAL(18,4) holds them exactly; zeros are drawn often on purpose.
"""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.earned_schedule import earned_schedule
from transforms.indicators import MONEY, indicators
from transforms.portfolio import portfolio_weekly

SETTINGS = settings(max_examples=200, deadline=None)

cents = st.one_of(st.just(0), st.integers(min_value=0, max_value=10**9)).map(lambda c: Decimal(c) / 100)
# AT and PD fall on the day grid (whole days / 7); ES is interpolated, but with amounts in cents below 10^14 it is
# never a positive number below ~1e-19 weeks, so tiny subnormal values (whose ratios underflow to 0) are not drawn.
grid_weeks = st.integers(min_value=0, max_value=1400).map(lambda days: days / 7)
es_weeks = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=200.0))


def _frame(rows):
    """rows: tuples (bac, pv, ev, ac, at, pd, es)."""
    frame = pl.DataFrame(
        rows,
        schema={
            "bac": MONEY,
            "pv": MONEY,
            "ev": MONEY,
            "ac": MONEY,
            "at_weeks": pl.Float64,
            "pd_weeks": pl.Float64,
            "es_weeks": pl.Float64,
        },
        orient="row",
    )
    return frame.with_columns(
        eac_method=pl.lit("cpi"),
        eac_bottom_up=pl.lit(None, dtype=MONEY),
        baseline_start=pl.lit(dt.date(2025, 1, 6)),
        risk_exposure_cost=pl.lit(None, dtype=MONEY),
        risk_exposure_days=pl.lit(None, dtype=pl.Float64),
    )


@SETTINGS
@given(
    st.lists(
        st.tuples(cents, cents, st.one_of(st.none(), cents), cents, grid_weeks, grid_weeks, es_weeks),
        min_size=1,
        max_size=8,
    )
)
def test_a_zero_or_null_denominator_gives_null_and_never_0_or_1(rows):
    out = indicators(_frame(rows)).rows(named=True)
    for (bac, pv, ev, ac, at, pd, es), r in zip(rows, out, strict=True):
        # Each figure is NULL exactly when its denominator is zero (or an input is NULL), defined otherwise.
        assert (r["cpi"] is None) == (ev is None or ac == 0)
        assert (r["spi"] is None) == (ev is None or pv == 0)
        assert (r["cv_pct"] is None) == (ev is None or ev == 0)
        assert (r["sv_pct"] is None) == (ev is None or pv == 0)
        assert (r["pct_complete"] is None) == (ev is None or bac == 0)
        assert (r["tcpi_bac"] is None) == (ev is None or ac >= bac)
        assert (r["spi_t"] is None) == (at == 0)
        assert (r["tspi"] is None) == (at >= pd)
        assert (r["ieac_t_weeks"] is None) == (at == 0 or es == 0)
        assert (r["eac_cpi"] is None) == (ev is None or ac == 0 or ev == 0)
        if r["cpi"] is not None:
            assert r["cpi"] == pytest.approx(float(ev) / float(ac))
        if r["spi"] is not None:
            assert r["spi"] == pytest.approx(float(ev) / float(pv))


@st.composite
def curves(draw):
    """A PV curve with flat stretches: (0, 0), then cumulative steps (some 0) at strictly increasing times, the last
    point being (PD, BAC)."""
    steps = draw(st.lists(st.one_of(st.just(0), st.integers(1, 10**6)), min_size=1, max_size=30))
    gaps = draw(st.lists(st.integers(1, 14), min_size=len(steps), max_size=len(steps)))
    t, pv, points = 0, 0, [(0.0, Decimal(0))]
    for gap, step in zip(gaps, steps, strict=True):
        t, pv = t + gap, pv + step
        points.append((t / 7, Decimal(pv)))
    return points


@SETTINGS
@given(curves(), st.lists(st.integers(0, 4 * 10**7), min_size=1, max_size=20))
def test_es_never_decreases_as_ev_grows_and_never_exceeds_pd(points, evs):
    pd_weeks = points[-1][0]
    curve = pl.DataFrame(
        [("P", t, v) for t, v in points], schema={"p": pl.String, "t_weeks": pl.Float64, "pv": MONEY}, orient="row"
    )
    evs = sorted(evs)
    status = pl.DataFrame(
        {"p": "P", "ev": [Decimal(e) for e in evs], "at_weeks": 1.0, "pd_weeks": pd_weeks},
        schema_overrides={"ev": MONEY},
    )
    es = earned_schedule(curve, status, by=["p"]).get_column("es_weeks").to_list()
    assert all(e is not None for e in es)
    assert all(0.0 <= e <= pd_weeks + 1e-12 for e in es)
    assert all(a <= b + 1e-9 for a, b in zip(es, es[1:], strict=False))
    bac = points[-1][1]
    # EV at or beyond BAC is exactly on time: ES = PD.
    assert all(e == pd_weeks for e, v in zip(es, evs, strict=True) if v >= bac)


project_amounts = st.tuples(cents, cents, st.one_of(st.none(), cents), cents)


@SETTINGS
@given(st.lists(project_amounts, min_size=1, max_size=6))
def test_portfolio_ratios_are_the_ratios_of_the_sums(projects):
    sd = dt.date(2025, 1, 12)
    ids = [f"P{i}" for i in range(len(projects))]
    evm = pl.DataFrame(
        [(pid, sd, bac, pv, ev, ac, None) for pid, (bac, pv, ev, ac) in zip(ids, projects, strict=True)],
        schema={
            "project_id": pl.String,
            "status_date": pl.Date,
            "bac": MONEY,
            "pv": MONEY,
            "ev": MONEY,
            "ac": MONEY,
            "eac": MONEY,
        },
        orient="row",
    ).with_columns(
        eac_bottom_up=pl.lit(None, dtype=MONEY),
        baseline_start=pl.lit(dt.date(2025, 1, 6)),
        baseline_finish=pl.lit(dt.date(2025, 3, 2)),
        risk_exposure_cost=pl.lit(None, dtype=MONEY),
        risk_exposure_days=pl.lit(None, dtype=pl.Float64),
    )
    registry = pl.DataFrame(
        {"project_id": ids, "portfolio": "X", "programme": None}, schema_overrides={"programme": pl.String}
    )
    plan = evm.select("project_id", "status_date", "pv")
    total = portfolio_weekly(evm, registry, plan).filter(pl.col("group_level") == "total").row(0, named=True)

    bac = sum(p[0] for p in projects)
    pv = sum(p[1] for p in projects)
    ac = sum(p[3] for p in projects)
    ev = None if any(p[2] is None for p in projects) else sum(p[2] for p in projects)
    assert (total["bac"], total["pv"], total["ac"], total["ev"]) == (bac, pv, ac, ev)

    def expected(num, den):
        return None if num is None or den == 0 else pytest.approx(float(num) / float(den))

    assert total["cpi"] == expected(ev, ac)
    assert total["spi"] == expected(ev, pv)
    assert total["pct_complete"] == expected(ev, bac)
    assert total["cv_pct"] == (None if ev is None else expected(ev - ac, ev))


@SETTINGS
@given(curves(), st.integers(1, 52), st.integers(1, 10**6))
def test_a_late_project_that_finishes_has_spi_1_but_spi_t_below_1(points, days_late, ac):
    # The project earns its whole BAC `days_late` days after the planned finish; by then PV = BAC.
    pd_weeks, bac = points[-1]
    if bac == 0:
        return  # no budget: SPI is undefined (PV 0), nothing to show
    at_weeks = pd_weeks + days_late / 7
    curve = pl.DataFrame(
        [("P", t, v) for t, v in points], schema={"p": pl.String, "t_weeks": pl.Float64, "pv": MONEY}, orient="row"
    )
    status = pl.DataFrame(
        [("P", bac, bac, bac, Decimal(ac), at_weeks, pd_weeks)],
        schema={
            "p": pl.String,
            "bac": MONEY,
            "pv": MONEY,
            "ev": MONEY,
            "ac": MONEY,
            "at_weeks": pl.Float64,
            "pd_weeks": pl.Float64,
        },
        orient="row",
    ).with_columns(
        eac_method=pl.lit("cpi"),
        eac_bottom_up=pl.lit(None, dtype=MONEY),
        baseline_start=pl.lit(dt.date(2025, 1, 6)),
        risk_exposure_cost=pl.lit(None, dtype=MONEY),
        risk_exposure_days=pl.lit(None, dtype=pl.Float64),
    )
    r = indicators(earned_schedule(curve, status, by=["p"])).row(0, named=True)
    assert r["spi"] == 1.0  # EV = PV = BAC
    assert r["es_weeks"] == pd_weeks  # EV = BAC → ES = PD
    assert r["spi_t"] == pytest.approx(pd_weeks / at_weeks)
    assert r["spi_t"] < 1.0
    assert r["sv_t_weeks"] == pytest.approx(-days_late / 7)
    assert r["ieac_t_weeks"] == pytest.approx(at_weeks)  # PD / (PD / AT) = AT: the actual duration
    assert r["tspi"] is None  # AT > PD
