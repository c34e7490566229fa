"""The rate in force (../shared/EVM.md "Actual cost"): the person's own rate first, else their role's; among the
rates in force on the day, the latest valid_from. Hand-computed on rate cards whose periods overlap or leave gaps,
and the cost's rounding to 4 decimals (half away from zero, as DECIMAL(18,4))."""

import polars as pl

from tests.transforms.evm_frames import PEOPLE, D, money, person, rate, rows, worklog
from transforms.actual_cost import cost_worklogs
from transforms.rates import rate_in_force


def _rates_on(days, rates, people=PEOPLE, person_id="u1"):
    frame = pl.DataFrame({"person_id": [person_id] * len(days), "day": days}, schema={"person_id": pl.String,
                                                                                      "day": pl.Date})  # fmt: skip
    return rate_in_force(frame, people, rates, day="day").get_column("hourly_rate").to_list()


def test_an_open_rate_is_back_in_force_after_a_later_dated_rate_ends():
    # 50 from 1 Jan 2024 with no end; 70 from 1 Mar to 31 Mar 2025 only.
    rates = rows("rates", rate(50), rate(70, valid_from=D(2025, 3, 1), valid_to=D(2025, 3, 31)))
    days = [D(2025, 2, 28), D(2025, 3, 1), D(2025, 3, 31), D(2025, 4, 1)]
    # Feb: only 50; March: both in force, 70 has the later valid_from; 1 April: 70 has ended, 50 again.
    assert _rates_on(days, rates) == [money(50), money(70), money(70), money(50)]


def test_a_gap_between_rates_has_no_rate_and_the_own_rate_wins_over_the_role():
    rates = rows(
        "rates",
        rate(50, valid_to=D(2025, 1, 31)),
        rate(55, valid_from=D(2025, 3, 1)),
        rate(90, person_id="u1", role=None, valid_from=D(2025, 4, 1), valid_to=D(2025, 4, 30)),
    )
    days = [D(2025, 1, 31), D(2025, 2, 15), D(2025, 3, 1), D(2025, 4, 15), D(2025, 5, 1), None]
    # 31 Jan: 50; February: no rate (50 ended, 55 not yet); March: 55; April: u1's own 90 over the role's 55;
    # May: own rate ended, role's 55; no day: no rate.
    assert _rates_on(days, rates) == [money(50), None, money(55), money(90), money(55), None]


def test_a_person_without_a_role_rate_or_unknown_to_people_has_no_rate():
    rates = rows("rates", rate(50, role="dev"))
    people = rows("people", person("u1", role="dev"), person("u2", role="pm"))
    assert _rates_on([D(2025, 1, 6)], rates, people, person_id="u2") == [None]  # pm has no rate card row
    assert _rates_on([D(2025, 1, 6)], rates, people, person_id="u9") == [None]  # not in people


def test_cost_rounds_half_away_from_zero_to_four_decimals():
    rates = rows("rates", rate(money("0.5")), rate(money("123.4567"), person_id="u1", role=None,
                                                   valid_from=D(2025, 2, 1)))  # fmt: skip
    logs = [
        worklog("w1", None, D(2025, 1, 6), money("0.0001")),  # 0.0001 × 0.5 = 0.00005 → 0.0001
        worklog("w2", None, D(2025, 1, 6), money("0.0003")),  # 0.0003 × 0.5 = 0.00015 → 0.0002
        worklog("w3", None, D(2025, 2, 3), money("7.5")),  # 7.5 × 123.4567 = 925.92525 → 925.9253
        worklog("w4", None, D(2025, 1, 6), money("-0.0003")),  # −0.00015 → −0.0002 (a correction)
    ]
    out = cost_worklogs(rows("worklogs", *logs), PEOPLE, rates)
    assert out.get_column("worklog_id").to_list() == ["w1", "w2", "w3", "w4"]  # the worklogs' order
    assert out.get_column("cost").to_list() == [money("0.0001"), money("0.0002"), money("925.9253"),
                                                money("-0.0002")]  # fmt: skip
