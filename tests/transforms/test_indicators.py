"""The EVM.md cost, schedule and earned-schedule figures on hand-computed cases (arithmetic in the comments)."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from transforms.indicators import INDICATOR_COLUMNS, MONEY, indicators, money, ratio

D = dt.date
MONEY_COLUMNS = ["cv", "sv", "eac_cpi", "eac_budget_rate", "eac_cpi_spi", "eac_composite", "eac", "etc", "vac"]
MONEY_COLUMNS += ["risk_adjusted_eac"]


def _frame(**overrides):
    """One status row; the worked case unless overridden: BAC 1000, PV 400, EV 300, AC 500, AT 4, PD 10, ES 3."""
    row = {
        "bac": "1000",
        "pv": "400",
        "ev": "300",
        "ac": "500",
        "eac_method": "cpi",
        "eac_bottom_up": "1100",
        "at_weeks": 4.0,
        "pd_weeks": 10.0,
        "es_weeks": 3.0,
        "baseline_start": D(2025, 1, 6),
        "risk_exposure_cost": "50",
        "risk_exposure_days": 2.5,
    }
    row.update(overrides)
    money_cols = ("bac", "pv", "ev", "ac", "eac_bottom_up", "risk_exposure_cost")
    data = {k: [Decimal(v) if k in money_cols and v is not None else v] for k, v in row.items()}
    schema = {k: MONEY for k in money_cols} | {
        "eac_method": pl.String,
        "at_weeks": pl.Float64,
        "pd_weeks": pl.Float64,
        "es_weeks": pl.Float64,
        "baseline_start": pl.Date,
        "risk_exposure_days": pl.Float64,
    }
    return pl.DataFrame(data, schema=schema)


def _one(frame, composite_weight=0.8):
    return indicators(frame, composite_weight).row(0, named=True)


def test_every_column_on_the_worked_case():
    r = _one(_frame())
    assert r["cv"] == Decimal("-200")  # EV 300 − AC 500
    assert r["sv"] == Decimal("-100")  # EV 300 − PV 400
    assert r["cv_pct"] == pytest.approx(-200 / 300)  # CV / EV = −0.6667
    assert r["sv_pct"] == pytest.approx(-0.25)  # SV −100 / PV 400
    assert r["cpi"] == pytest.approx(0.6)  # EV 300 / AC 500
    assert r["spi"] == pytest.approx(0.75)  # EV 300 / PV 400
    assert r["csi"] == pytest.approx(0.45)  # 0.6 × 0.75
    assert r["eac_cpi"] == Decimal("1666.6667")  # BAC 1000 / 0.6 = 1666.66666…
    assert r["eac_budget_rate"] == Decimal("1200")  # AC 500 + (1000 − 300)
    assert r["eac_cpi_spi"] == Decimal("2055.5556")  # 500 + 700 / 0.45 = 500 + 1555.5555…
    assert r["eac_composite"] == Decimal("1611.1111")  # 500 + 700 / (0.8 × 0.6 + 0.2 × 0.75 = 0.63) = 500 + 1111.11…
    assert r["eac"] == Decimal("1666.6667")  # eac_method cpi → eac_cpi
    assert r["etc"] == Decimal("1166.6667")  # EAC 1666.6667 − AC 500
    assert r["vac"] == Decimal("-666.6667")  # BAC 1000 − EAC 1666.6667
    assert r["tcpi_bac"] == pytest.approx(1.4)  # (1000 − 300) / (1000 − 500) = 700 / 500
    assert r["tcpi_eac"] == pytest.approx(0.6, rel=1e-6)  # 700 / (1666.6667 − 500) = 700 / 1166.6667
    assert r["sv_t_weeks"] == pytest.approx(-1.0)  # ES 3 − AT 4
    assert r["spi_t"] == pytest.approx(0.75)  # ES 3 / AT 4
    assert r["tspi"] == pytest.approx(7 / 6)  # (PD 10 − ES 3) / (PD 10 − AT 4) = 7 / 6
    assert r["ieac_t_weeks"] == pytest.approx(40 / 3)  # PD 10 / SPI(t) 0.75 = 13.333 weeks
    # 7 × 13.333 = 93.33 days → the day in which t reaches IEAC is start + ceil(93.33) − 1 = Mon 6 Jan + 93 days
    # = Wed 9 Apr 2025 (t(9 Apr) = 94 / 7 = 13.43 ≥ 13.33 > t(8 Apr) = 93 / 7 = 13.29).
    assert r["forecast_finish"] == D(2025, 4, 9)
    assert r["risk_adjusted_eac"] == Decimal("1716.6667")  # EAC 1666.6667 + exposure 50
    assert r["pct_complete"] == pytest.approx(0.3)  # EV 300 / BAC 1000


def test_output_adds_exactly_the_indicator_columns_with_their_types():
    frame = _frame()
    out = indicators(frame)
    assert out.columns == [*frame.columns, *INDICATOR_COLUMNS]
    for column in INDICATOR_COLUMNS:
        expected = MONEY if column in MONEY_COLUMNS else pl.Date if column == "forecast_finish" else pl.Float64
        assert out.schema[column] == expected, column


def test_composite_weight_is_configurable():
    # w = 0.5: 500 + 700 / (0.5 × 0.6 + 0.5 × 0.75 = 0.675) = 500 + 1037.037… = 1537.0370
    assert _one(_frame(), composite_weight=0.5)["eac_composite"] == Decimal("1537.0370")


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("cpi", Decimal("1666.6667")),  # BAC / CPI
        ("budget_rate", Decimal("1200")),  # AC + (BAC − EV)
        ("cpi_spi", Decimal("2055.5556")),  # AC + (BAC − EV) / (CPI × SPI)
        ("composite", Decimal("1611.1111")),  # AC + (BAC − EV) / (0.8 CPI + 0.2 SPI)
        ("bottom_up", Decimal("1100")),  # eac_bottom_up as supplied
        (None, Decimal("1666.6667")),  # no method set: EVM.md's default, cpi
        ("guess", None),  # not a method: no EAC rather than a silent default
    ],
)
def test_eac_follows_eac_method(method, expected):
    r = _one(_frame(eac_method=method))
    assert r["eac"] == expected
    if expected is not None:
        assert r["etc"] == expected - Decimal("500")  # EAC − AC 500
        assert r["vac"] == Decimal("1000") - expected  # BAC 1000 − EAC
        assert r["risk_adjusted_eac"] == expected + Decimal("50")  # EAC + exposure 50
        assert r["tcpi_eac"] == pytest.approx(700 / float(expected - 500), rel=1e-6)  # (BAC − EV) / (EAC − AC)


def test_no_open_risk_adds_nothing_to_eac():
    # risk_exposure_cost NULL = no open risk → risk_adjusted_eac = EAC 1666.6667 + 0
    assert _one(_frame(risk_exposure_cost=None))["risk_adjusted_eac"] == Decimal("1666.6667")


def test_forecast_finish_on_plan_is_the_baseline_finish():
    # Baseline Mon 6 Jan .. Sun 16 Mar 2025: PD = (69 + 1) / 7 = 10.0. ES = AT = 4 → SPI(t) 1 → IEAC(t) = PD
    # → start + 7 × 10 − 1 = 6 Jan + 69 days = Sun 16 Mar.
    assert _one(_frame(es_weeks=4.0))["forecast_finish"] == D(2025, 3, 16)


def test_forecast_finish_with_a_fractional_pd_lands_on_the_baseline_finish():
    # Baseline Wed 8 Jan .. Fri 28 Feb 2025: PD = (51 + 1) / 7 = 7.428571… (not exact in binary).
    # ES 3, AT 3 → IEAC(t) = PD → 8 Jan + ceil(52 − noise) − 1 = 8 Jan + 51 days = Fri 28 Feb.
    r = _one(_frame(baseline_start=D(2025, 1, 8), pd_weeks=52 / 7, at_weeks=3.0, es_weeks=3.0))
    assert r["forecast_finish"] == D(2025, 2, 28)


def test_forecast_finish_is_null_beyond_the_last_representable_day():
    # ES 1e-9 weeks after AT 4 → SPI(t) 2.5e-10 → IEAC(t) = 10 / 2.5e-10 = 4e10 weeks ≈ 7.7e8 years: no date.
    r = _one(_frame(es_weeks=1e-9))
    assert r["ieac_t_weeks"] == pytest.approx(4e10)
    assert r["forecast_finish"] is None


# ---------------------------------------------------------------------------------------------------- undefined


def test_cpi_is_null_when_ac_is_zero():
    # EV 300, AC 0: CPI = 300 / 0 undefined (EV without actuals: missing timesheets), never 0 or 1. Everything built
    # on CPI is NULL too; what does not divide by CPI still stands.
    r = _one(_frame(ac="0"))
    for column in ("cpi", "csi", "eac_cpi", "eac_cpi_spi", "eac_composite", "eac", "etc", "vac", "risk_adjusted_eac"):
        assert r[column] is None, column
    assert r["cv"] == Decimal("300")  # 300 − 0
    assert r["cv_pct"] == pytest.approx(1.0)  # CV 300 / EV 300
    assert r["eac_budget_rate"] == Decimal("700")  # 0 + (1000 − 300)
    assert r["tcpi_bac"] == pytest.approx(0.7)  # 700 / (1000 − 0)


def test_spi_is_null_when_pv_is_zero():
    # PV 0 (nothing planned yet): SPI and SV% undefined; the composite and CPI×SPI forecasts need SPI.
    r = _one(_frame(pv="0"))
    for column in ("spi", "sv_pct", "csi", "eac_cpi_spi", "eac_composite"):
        assert r[column] is None, column
    assert r["sv"] == Decimal("300")  # 300 − 0
    assert r["eac_cpi"] == Decimal("1666.6667")  # unaffected: 1000 / 0.6


def test_cv_pct_is_null_when_ev_is_zero():
    # EV 0, AC 500: CV% = −500 / 0 undefined. CPI = 0 / 500 = 0 is defined, so BAC / CPI divides by 0 → NULL.
    r = _one(_frame(ev="0"))
    assert r["cv_pct"] is None
    assert r["cpi"] == 0.0
    assert r["eac_cpi"] is None
    assert r["pct_complete"] == 0.0  # 0 / 1000


def test_pct_complete_is_null_when_bac_is_zero():
    assert _one(_frame(bac="0", ac="0"))["pct_complete"] is None


@pytest.mark.parametrize("ac", ["1000", "1200"])
def test_tcpi_bac_is_null_once_ac_reaches_bac(ac):
    # AC 1000 = BAC: (1000 − 300) / 0; AC 1200 > BAC: the budget can no longer be met → NULL, not negative.
    assert _one(_frame(ac=ac))["tcpi_bac"] is None


def test_tcpi_eac_is_null_when_eac_equals_ac():
    # eac_method budget_rate with EV = BAC: EAC = AC + 0 → (BAC − EV) / (EAC − AC) = 0 / 0 → NULL.
    assert _one(_frame(ev="1000", eac_method="budget_rate"))["tcpi_eac"] is None


@pytest.mark.parametrize("at", [10.0, 11.0])
def test_tspi_is_null_once_at_reaches_pd(at):
    # AT 10 = PD 10: (10 − 3) / 0; AT 11 > PD: no time left to plan against → NULL.
    r = _one(_frame(at_weeks=at))
    assert r["tspi"] is None
    assert r["spi_t"] == pytest.approx(3.0 / at)  # SPI(t) stays meaningful after PD: 0.3, 0.2727


def test_ieac_is_null_when_es_is_zero():
    # ES 0: SPI(t) = 0 / 4 = 0 and IEAC(t) = PD / 0 undefined, so no forecast finish either.
    r = _one(_frame(es_weeks=0.0))
    assert r["spi_t"] == 0.0
    assert r["sv_t_weeks"] == pytest.approx(-4.0)  # 0 − 4
    assert r["ieac_t_weeks"] is None
    assert r["forecast_finish"] is None


def test_null_ev_makes_every_ev_derived_figure_null():
    # A week that cannot be rebuilt: EV NULL and, from earned_schedule, ES NULL.
    r = _one(_frame(ev=None, es_weeks=None))
    for column in INDICATOR_COLUMNS:  # eac too: eac_method cpi, and BAC / CPI needs EV
        assert r[column] is None, column


def test_null_ev_leaves_a_bottom_up_eac_standing():
    # The bottom-up EAC (AC + remaining estimates × rates) needs no EV: EAC 1100, ETC 1100 − 500 = 600,
    # VAC 1000 − 1100 = −100, but TCPI(EAC) = (BAC − EV) / … needs EV → NULL.
    r = _one(_frame(ev=None, es_weeks=None, eac_method="bottom_up"))
    assert (r["eac"], r["etc"], r["vac"]) == (Decimal("1100"), Decimal("600"), Decimal("-100"))
    assert r["tcpi_eac"] is None
    assert r["cpi"] is None


def test_rows_keep_their_order_and_are_computed_independently():
    frame = pl.concat([_frame(ev="100"), _frame(ac="0"), _frame(ev="400")])
    cpi = indicators(frame).get_column("cpi").to_list()
    # 100 / 500 = 0.2; 300 / 0 → NULL; 400 / 500 = 0.8
    assert cpi[0] == pytest.approx(0.2)
    assert cpi[1] is None
    assert cpi[2] == pytest.approx(0.8)


def test_ratio_and_money_helpers():
    frame = pl.DataFrame({"n": [1.0, 1.0, 1.0, None], "d": [4.0, 0.0, None, 2.0], "m": [2 / 3, -2 / 3, 1e6, None]})
    out = frame.select(r=ratio(pl.col("n"), pl.col("d")), m=money(pl.col("m")))
    # 1 / 4 = 0.25; 1 / 0 → NULL; 1 / NULL → NULL; NULL / 2 → NULL
    assert out.get_column("r").to_list() == [0.25, None, None, None]
    # 0.6666… → 0.6667; −0.6666… → −0.6667; 1e6 → 1000000.0000; NULL stays NULL
    assert out.get_column("m").to_list() == [Decimal("0.6667"), Decimal("-0.6667"), Decimal("1000000"), None]
    assert out.schema["m"] == MONEY
