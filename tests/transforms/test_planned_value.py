"""Planned value over working days (../shared/EVM.md "Time" and "Baseline"), hand-computed."""

import polars as pl

from tests.transforms.evm_frames import NO_HOLIDAYS, W1, W2, W3, W4, W5, D, calendar, element, money, project, rows
from transforms.planned_value import planned_value

PROJECTS = rows("projects", project("P"))


def _pv(elements, projects=PROJECTS, holidays=NO_HOLIDAYS, calendars=("default",), **kw):
    return planned_value(rows("baselines", *elements), projects, calendar(holidays, calendars), **kw)


def _curve(out, project_id="P", version=1):
    mine = out.filter(pl.col("project_id") == project_id, pl.col("baseline_version") == version)
    return dict(zip(mine.get_column("status_date").to_list(), mine.get_column("pv").to_list(), strict=True))


def test_two_weeks_with_a_holiday_spread_over_working_days():
    holidays = rows("holidays", {"calendar_id": "default", "date": D(2025, 1, 8), "holiday": "x"})
    out = _pv([element("A", 900, D(2025, 1, 6), D(2025, 1, 17))], holidays=holidays)
    # Mon 6 .. Fri 17 Jan: 10 weekdays less Wed 8 Jan = 9 working days, 900 / 9 = 100 a day.
    # Week ending 12 Jan: Mon 6, Tue 7, Thu 9, Fri 10 = 4 days = 400; week ending 19 Jan: all 9 = 900.
    assert _curve(out) == {W1: money(400), W2: money(900)}
    assert out.schema["pv"] == pl.Decimal(18, 4)


def test_without_the_holiday_it_is_half_and_half():
    out = _pv([element("A", 900, D(2025, 1, 6), D(2025, 1, 17))])
    # 10 working days, 90 a day: 5 days by 12 Jan = 450.
    assert _curve(out) == {W1: money(450), W2: money(900)}


def test_a_fraction_is_kept_to_four_places():
    holidays = rows("holidays", {"calendar_id": "default", "date": D(2025, 1, 8)})
    out = _pv([element("A", 1000, D(2025, 1, 6), D(2025, 1, 17))], holidays=holidays)
    # 1000 × 4/9 = 444.4444…
    assert _curve(out)[W1] == money("444.4444")


def test_an_element_with_no_working_day_is_planned_whole_at_its_finish():
    out = _pv(
        [
            element("A", 500, D(2025, 1, 6), D(2025, 1, 10)),  # Mon..Fri: 100 a day
            element("WKND", 300, D(2025, 1, 18), D(2025, 1, 19)),  # Sat..Sun only: no working day
        ]
    )
    # 12 Jan: A 500; 19 Jan: A 500 + the weekend element whole at its finish 300 = 800.
    assert _curve(out) == {W1: money(500), W2: money(800)}


def test_an_element_on_a_holiday_only_is_planned_whole_at_its_finish():
    holidays = rows("holidays", {"calendar_id": "default", "date": D(2025, 1, 15)})
    out = _pv(
        [element("A", 500, D(2025, 1, 6), D(2025, 1, 10)), element("H", 200, D(2025, 1, 15), D(2025, 1, 15))],
        holidays=holidays,
    )
    # H spans only Wed 15 Jan, a holiday: its 200 falls whole in the week of its finish (19 Jan): 500 + 200.
    assert _curve(out) == {W1: money(500), W2: money(700)}


def test_an_element_starting_on_a_saturday_plans_nothing_in_its_first_week():
    out = _pv([element("A", 500, D(2025, 1, 11), D(2025, 1, 17))])
    # Sat 11 .. Fri 17: working days 13..17 only. 12 Jan: 0 of 5 days = 0; 19 Jan: 500.
    assert _curve(out) == {W1: money(0), W2: money(500)}


def test_pv_never_decreases_and_reaches_bac_at_the_finish():
    out = _pv(
        [
            element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)),  # 10 working days, 100 a day
            element("B", 600, D(2025, 1, 15), D(2025, 1, 28)),  # 15,16,17,20..24,27,28 = 10 days, 60 a day
            element("C", 200, D(2025, 2, 3), D(2025, 2, 7)),  # 5 days, 40 a day
        ]
    )
    # 12 Jan: A 5 days 500.          19 Jan: A 1000 + B 3 days 180 = 1180.
    # 26 Jan: 1000 + B 8 days 480 = 1480.   2 Feb: 1000 + 600 + C 0 = 1600 (a flat week).
    # 9 Feb: 1600 + 200 = 1800 = BAC.
    curve = _curve(out)
    assert curve == {W1: money(500), W2: money(1180), W3: money(1480), W4: money(1600), W5: money(1800)}
    values = list(curve.values())
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert values[-1] == money(1000 + 600 + 200)


def test_each_project_uses_its_own_calendar():
    projects = rows("projects", project("P"), project("Q", calendar_id="fr"))
    holidays = rows("holidays", {"calendar_id": "fr", "date": D(2025, 1, 7)})
    out = _pv(
        [
            element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)),
            element("A", 900, D(2025, 1, 6), D(2025, 1, 17), project_id="Q"),
        ],
        projects=projects,
        holidays=holidays,
        calendars=("default", "fr"),
    )
    # P (default calendar, no holiday): 5 of 10 days = 500. Q (fr, Tue 7 Jan off): 4 of 9 days × 900 = 400.
    assert _curve(out, "P")[W1] == money(500)
    assert _curve(out, "Q")[W1] == money(400)


def test_each_version_has_its_own_curve():
    out = _pv(
        [
            element("A", 1000, D(2025, 1, 6), D(2025, 1, 17)),
            element("A", 1000, D(2025, 1, 6), D(2025, 1, 17), version=2),
            element("B", 500, D(2025, 1, 20), D(2025, 1, 24), version=2),
        ]
    )
    # v1: 500, 1000. v2: A as v1, then B 500 in the week of 26 Jan: 500, 1000, 1500.
    assert _curve(out, version=1) == {W1: money(500), W2: money(1000)}
    assert _curve(out, version=2) == {W1: money(500), W2: money(1000), W3: money(1500)}


def test_weeks_ending_on_friday():
    out = _pv([element("A", 1000, D(2025, 1, 6), D(2025, 1, 17))], week_ends_on="friday")
    # Status dates Fri 10 Jan (5 of 10 days = 500) and Fri 17 Jan (1000).
    assert _curve(out) == {D(2025, 1, 10): money(500), D(2025, 1, 17): money(1000)}


def test_rows_are_sorted_by_their_key():
    out = _pv(
        [
            element("A", 100, D(2025, 1, 6), D(2025, 1, 24), project_id="Q"),
            element("A", 100, D(2025, 1, 6), D(2025, 1, 10)),
        ],
        projects=rows("projects", project("Q"), project("P")),
    )
    keys = out.select("project_id", "baseline_version", "status_date").rows()
    assert keys == sorted(keys)
    assert keys == [("P", 1, W1), ("Q", 1, W1), ("Q", 1, W2), ("Q", 1, W3)]
    assert _curve(out, "Q")[W3] == money(100)
