"""The marts' SQL builders run on an in-memory DuckDB, hand-computed: the people's weekly hours
(transforms/people_weeks.py), the worklog costs' rate steps (a rate in force until the person's next step) and the
worklog rows the EVM flags can use, with each person's hours per day (transforms/evm_flags.py)."""

from decimal import Decimal

import duckdb
import polars as pl

from tests.transforms.evm_frames import PEOPLE, D, money, rate, rows, worklog
from transforms.actual_cost import worklog_costs_sql
from transforms.evm_flags import flag_candidates_sql, person_day_hours_sql
from transforms.people_weeks import weekly_hours_sql


def _run(sql: str, params=None, **frames: pl.DataFrame) -> pl.DataFrame:
    with duckdb.connect() as conn:
        for name, frame in frames.items():
            conn.register(name, frame)
        return conn.sql(sql, params=params).pl()


LOG_SCHEMA = {"person_id": pl.String, "project_id": pl.String, "item_key": pl.String, "work_date": pl.Date,
              "hours": pl.Decimal(18, 4)}  # fmt: skip


def test_weekly_hours_by_person_project_week_and_desk():
    # Weeks end on Sundays 12 Jan and 26 Jan 2025; 19 Jan is not a week of the grid.
    weeks = pl.DataFrame({"status_date": [D(2025, 1, 12), D(2025, 1, 26), D(2025, 1, 26)]})
    logs = pl.DataFrame(
        [
            ("u1", "P", "J-1", D(2025, 1, 6), Decimal("3")),  # Mon 6 Jan: week of 12 Jan
            ("u1", "P", "J-2", D(2025, 1, 12), Decimal("2.5")),  # Sun 12 Jan: the status date itself
            ("u1", "P", "INC1", D(2025, 1, 7), Decimal("1")),  # a desk ticket: its own row
            ("u1", None, None, D(2025, 1, 8), Decimal("4")),  # no project
            ("u1", "P", "J-1", D(2025, 1, 13), Decimal("8")),  # 13 Jan: next week end 26 Jan is 13 days on: out
            ("u1", "P", "J-1", D(2025, 1, 20), Decimal("6")),  # Mon 20 Jan: week of 26 Jan
            ("u1", "P", "J-1", D(2025, 1, 27), Decimal("9")),  # after the last week: out
            (None, "P", "J-1", D(2025, 1, 6), Decimal("5")),  # nobody: out
            ("u2", "Q", None, None, Decimal("7")),  # no day: out
        ],
        schema=LOG_SCHEMA,
        orient="row",
    )
    desk = pl.DataFrame({"item_key": ["INC1", "INC1", None]})
    out = _run(
        f"SELECT * FROM ({weekly_hours_sql('logs', 'weeks', 'desk')}) ORDER BY ALL", logs=logs, weeks=weeks, desk=desk
    )
    assert out.rows() == [
        ("u1", "P", D(2025, 1, 12), False, Decimal("5.5")),  # 3 + 2.5
        ("u1", "P", D(2025, 1, 12), True, Decimal("1")),
        ("u1", "P", D(2025, 1, 26), False, Decimal("6")),
        ("u1", None, D(2025, 1, 12), False, Decimal("4")),
    ]
    assert out.schema["hours"] == pl.Decimal(18, 4)


def test_worklog_costs_a_rate_holds_until_the_persons_next_step():
    # u1: the dev role's 50 from 1 Jan 2024, its own 80 for 1..31 Mar 2025 only, then 50 again from 1 Apr.
    rates = rows("rates", rate(50), rate(80, person_id="u1", role=None, valid_from=D(2025, 3, 1),
                                          valid_to=D(2025, 3, 31)))  # fmt: skip
    logs = rows(
        "worklogs",
        worklog("a", "P-1", D(2025, 2, 28), 2),  # 2 × 50 = 100
        worklog("b", "P-1", D(2025, 3, 1), 2),  # first day of the own rate: 2 × 80 = 160
        worklog("c", "P-1", D(2025, 3, 31), 2),  # its last day: 160
        worklog("d", "P-1", D(2025, 4, 1), 2),  # the role's rate again: 100
        worklog("e", "P-1", D(2023, 12, 31), 2),  # before every rate: no rate, not in AC
    )
    sql = worklog_costs_sql("logs", "people", "rates", "desk")
    out = _run(
        f"SELECT worklog_id, hourly_rate, cost, in_ac FROM ({sql}) ORDER BY worklog_id",
        logs=logs,
        people=PEOPLE.select("person_id", "role"),
        rates=rates,
        desk=pl.DataFrame({"item_key": ["INC1"]}),
    )
    assert out.rows() == [
        ("a", money(50), money(100), True),
        ("b", money(80), money(160), True),
        ("c", money(80), money(160), True),
        ("d", money(50), money(100), True),
        ("e", None, None, False),
    ]  # one row per worklog: the steps do not overlap


COSTED = {"worklog_id": pl.String, "project_id": pl.String, "person_id": pl.String, "work_date": pl.Date,
          "hours": pl.Decimal(18, 4), "_source_file": pl.Int64, "_line": pl.Int64}  # fmt: skip


def test_flag_candidates_keep_every_row_a_worklog_finding_can_use():
    # P: baseline start Mon 6 Jan 2025, closed on 31 Jan; the limit is 16 h a person-day.
    evm = pl.DataFrame({"project_id": ["P", "P"], "status_date": [D(2025, 1, 12), D(2025, 1, 19)],
                        "baseline_start": [D(2025, 1, 6), D(2025, 1, 6)]})  # fmt: skip
    projects = pl.DataFrame({"project_id": ["P"], "closed_on": [D(2025, 1, 31)]})
    costed = pl.DataFrame(
        [
            ("ok", "P", "u1", D(2025, 1, 7), Decimal("8"), 1, 1),  # dropped: nothing to flag
            ("neg", "P", "u1", D(2025, 1, 8), Decimal("-1"), 1, 2),  # negative hours
            ("early", "P", "u1", D(2025, 1, 3), Decimal("2"), 1, 3),  # before the baseline start
            ("late", "P", "u1", D(2025, 2, 3), Decimal("2"), 1, 4),  # after the closure
            ("long1", "P", "u2", D(2025, 1, 9), Decimal("10"), 1, 5),  # u2 on 9 Jan: 10 + 7 = 17 > 16: both
            ("long2", "P", "u2", D(2025, 1, 9), Decimal("7"), 1, 6),
            ("even1", "P", "u3", D(2025, 1, 9), Decimal("10"), 1, 7),  # u3 on 9 Jan: 10 + 6 = 16, not over
            ("even2", "P", "u3", D(2025, 1, 9), Decimal("6"), 1, 8),
            ("nop", None, "u1", D(2025, 1, 3), Decimal("-5"), 1, 9),  # no project: never a flag's row
        ],
        schema=COSTED,
        orient="row",
    )
    sql = flag_candidates_sql("costed", "evm", "projects")
    out = _run(f"SELECT worklog_id FROM ({sql}) ORDER BY ALL", {"absurd": 16.0}, costed=costed, evm=evm,
               projects=projects)  # fmt: skip
    assert out.get_column("worklog_id").to_list() == ["early", "late", "long1", "long2", "neg"]


def test_flag_candidates_a_negative_row_never_hides_a_long_day():
    # u1 on 9 Jan: 20 − 5 = 15 h, not over 16: only the negative row is kept, and its day sums to −5 among the
    # kept rows (never more than the day's total, so no absurd-hours finding appears that the full rows lack).
    evm = pl.DataFrame({"project_id": ["P"], "status_date": [D(2025, 1, 12)], "baseline_start": [D(2025, 1, 6)]})
    projects = pl.DataFrame({"project_id": ["P"], "closed_on": [None]}, schema={"project_id": pl.String,
                                                                                 "closed_on": pl.Date})  # fmt: skip
    costed = pl.DataFrame(
        [("a", "P", "u1", D(2025, 1, 9), Decimal("20"), 1, 1), ("b", "P", "u1", D(2025, 1, 9), Decimal("-5"), 1, 2)],
        schema=COSTED,
        orient="row",
    )
    sql = flag_candidates_sql("costed", "evm", "projects")
    out = _run(f"SELECT worklog_id FROM ({sql}) ORDER BY ALL", {"absurd": 16.0}, costed=costed, evm=evm,
               projects=projects)  # fmt: skip
    assert out.get_column("worklog_id").to_list() == ["b"]


def test_person_day_hours_and_the_candidates_from_them():
    evm = pl.DataFrame({"project_id": ["P"], "status_date": [D(2025, 1, 12)], "baseline_start": [D(2025, 1, 6)]})
    projects = pl.DataFrame({"project_id": ["P"], "closed_on": [None]}, schema={"project_id": pl.String,
                                                                                 "closed_on": pl.Date})  # fmt: skip
    costed = pl.DataFrame(
        [
            ("a", "P", "u1", D(2025, 1, 9), Decimal("10"), 1, 1),  # u1 on 9 Jan: 10 + 7 = 17
            ("b", "P", "u1", D(2025, 1, 9), Decimal("7"), 1, 2),
            ("c", "P", "u1", D(2025, 1, 10), Decimal("8"), 1, 3),  # u1 on 10 Jan: 8 (the 3 h have no project)
            ("d", None, "u1", D(2025, 1, 10), Decimal("3"), 1, 4),
            ("e", "P", "u2", D(2025, 1, 9), Decimal("16"), 1, 5),  # u2 on 9 Jan: 16
            ("f", "P", None, D(2025, 1, 9), Decimal("30"), 1, 6),  # nobody: no person-day
            ("g", "P", "u2", None, Decimal("30"), 1, 7),  # no date: no person-day
        ],
        schema=COSTED,
        orient="row",
    )
    every = _run(f"{person_day_hours_sql('costed')} ORDER BY ALL", costed=costed)
    assert every.rows() == [("u1", D(2025, 1, 9), Decimal("17")), ("u1", D(2025, 1, 10), Decimal("8")),
                            ("u2", D(2025, 1, 9), Decimal("16"))]  # fmt: skip
    tenth = _run(f"{person_day_hours_sql('costed', [D(2025, 1, 10), D(2025, 1, 11)])} ORDER BY ALL", costed=costed)
    assert tenth.rows() == [("u1", D(2025, 1, 10), Decimal("8"))]

    def candidates(**person_days: pl.DataFrame) -> list[str]:
        sql = flag_candidates_sql("costed", "evm", "projects", person_days="kept" if person_days else None)
        out = _run(f"SELECT worklog_id FROM ({sql}) ORDER BY ALL", {"absurd": 16.0}, costed=costed, evm=evm,
                   projects=projects, **person_days)  # fmt: skip
        return out.get_column("worklog_id").to_list()

    assert candidates() == ["a", "b"]  # u1's 17 h on 9 Jan, summed here
    assert candidates(kept=every) == ["a", "b"]  # the same, from the kept sums
    # the kept sums are what it reads: kept as 18 h, u2's day on 9 Jan is over the limit (and 'g', undated, is not)
    kept = every.with_columns(hours=pl.when(pl.col("person_id") == "u2").then(Decimal("18")).otherwise("hours"))
    assert candidates(kept=kept) == ["a", "b", "e"]
