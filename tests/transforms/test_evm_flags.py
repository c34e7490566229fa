"""marts.evm_flags (../shared/EVM.md "Undefined is not zero" and "Flags and forecasts beside the figures"): each
finding once per project and status date, with the rows behind it."""

import duckdb
import polars as pl
import pytest

from tests.transforms.evm_frames import PEOPLE, RATES, W1, W2, W3, D, money, project, rows, worklog
from transforms.actual_cost import cost_worklogs
from transforms.evm_flags import FLAG_SCHEMA, evm_flags

EVM_SCHEMA = {"project_id": pl.String, "status_date": pl.Date, "bac": pl.Decimal(18, 4), "ev": pl.Decimal(18, 4),
              "ac": pl.Decimal(18, 4), "baseline_start": pl.Date, "reconstructable": pl.Boolean}  # fmt: skip


def _evm(*records):
    """Weekly figures of P (baseline start Mon 6 Jan, BAC 1000) unless a record says otherwise."""
    base = {"project_id": "P", "bac": money(1000), "ev": money(100), "ac": money(100),
            "baseline_start": D(2025, 1, 6), "reconstructable": True}  # fmt: skip
    data = [base | {k: money(v) if k in ("bac", "ev", "ac") and v is not None else v for k, v in r.items()}
            for r in records]  # fmt: skip
    return pl.DataFrame(data, schema=EVM_SCHEMA)


CLEAN = [{"status_date": W1}, {"status_date": W2}, {"status_date": W3}]


WAREHOUSE: dict[str, duckdb.DuckDBPyConnection] = {}


@pytest.fixture(autouse=True, params=["frames", "warehouse"])
def where(request, tmp_path):
    """Every test twice: the large inputs as frames, and as tables of a DuckDB file read where they are stored (the
    pipeline's way: `evm_flags(conn=...)` with queries for costed, elements and work_items)."""
    if request.param == "frames":
        yield
        return
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        WAREHOUSE["conn"] = conn
        yield
        WAREHOUSE.clear()


def _flags(evm=None, worklogs=(), *, projects=None, elements=None, work_items=(), undated=None, **kw):
    evm = evm if evm is not None else _evm(*CLEAN)
    grid = evm.select("project_id", "status_date").with_columns(baseline_version=pl.lit(1, pl.Int64))
    large = {
        "costed": cost_worklogs(rows("worklogs", *worklogs), PEOPLE, RATES),
        "elements": elements if elements is not None else rows("baselines"),
        "work_items": rows("work_items", *work_items),
    }
    conn = WAREHOUSE.get("conn")
    if conn is not None:  # stored as tables of the file, given as queries of them
        for name, frame in large.items():
            conn.register("_rows", frame)
            conn.sql(f"CREATE OR REPLACE TABLE stored_{name} AS SELECT * FROM _rows")
            conn.unregister("_rows")
        large = {name: f"SELECT * FROM stored_{name}" for name in large}
    return evm_flags(
        evm=evm,
        projects=projects if projects is not None else rows("projects", project("P")),
        grid=grid,
        undated=undated if undated is not None else pl.DataFrame(schema={"project_id": pl.String,
                                                                          "item_key": pl.String,
                                                                          "problem": pl.String}),
        conn=conn,
        **large,
        **kw,
    )  # fmt: skip


def _found(out):
    return {(r["status_date"], r["finding"]): r for r in out.iter_rows(named=True)}


def test_a_clean_project_has_no_finding():
    out = _flags(worklogs=[worklog("w1", "A", D(2025, 1, 7), 8)])
    assert out.is_empty()
    assert out.schema == pl.Schema(FLAG_SCHEMA)


def test_figure_findings_once_each_with_the_amount_behind_them():
    evm = _evm(
        {"status_date": W1, "ev": 300, "ac": 0},  # EV without AC (CPI undefined)
        {"status_date": W2, "ev": 1100, "ac": 1000},  # EV 1100 > BAC 1000; AC 1000 ≥ BAC 1000
        {"status_date": W3, "ev": None, "reconstructable": False},  # a week that cannot be rebuilt
    )
    found = _found(_flags(evm))
    assert set(found) == {
        (W1, "ev_without_ac"), (W2, "ev_over_bac"), (W2, "ac_at_or_over_bac"), (W3, "week_not_reconstructable"),
    }  # fmt: skip
    assert found[(W1, "ev_without_ac")]["value"] == pytest.approx(300.0)  # the EV with no AC
    assert found[(W2, "ev_over_bac")]["value"] == pytest.approx(100.0)  # 1100 − 1000
    assert found[(W2, "ac_at_or_over_bac")]["value"] == pytest.approx(0.0)  # 1000 − 1000: at BAC counts


def test_worklogs_before_the_baseline_start_or_after_closure_with_their_rows():
    projects = rows("projects", project("P", closed_on=D(2025, 1, 17)))
    logs = [
        worklog("early1", "A", D(2025, 1, 2), 3, line=5),  # Thu 2 Jan, before the start (6 Jan)
        worklog("early2", "A", D(2025, 1, 3), 2, line=6),
        worklog("ok", "A", D(2025, 1, 8), 8, line=7),
        worklog("late", "A", D(2025, 1, 21), 4, line=8),  # Tue 21 Jan, after closure on 17 Jan
    ]
    found = _found(_flags(worklogs=logs, projects=projects))
    assert set(found) == {(W1, "worklog_before_baseline_start"), (W3, "worklog_after_closure")}
    early = found[(W1, "worklog_before_baseline_start")]  # placed on the first status date, 12 Jan
    # One finding for both worklogs: 3 + 2 = 5 hours, 2 rows, named by file and line.
    assert (early["value"], early["rows"], early["source_rows"]) == (5.0, 2, "file 1 line 5; file 1 line 6")
    late = found[(W3, "worklog_after_closure")]  # 21 Jan is in the week ending 26 Jan
    assert (late["value"], late["rows"], late["source_rows"]) == (4.0, 1, "file 1 line 8")


def test_negative_and_absurd_hours():
    logs = [
        worklog("neg", "A", D(2025, 1, 7), -4, line=2),
        worklog("long1", "A", D(2025, 1, 14), 10, line=3),  # 10 + 8 = 18 h in one day > 16
        worklog("long2", "B", D(2025, 1, 14), 8, line=4),
        worklog("fine", "A", D(2025, 1, 15), 16, line=5),  # 16 h is not above the limit
    ]
    found = _found(_flags(worklogs=logs))
    assert set(found) == {(W1, "negative_hours"), (W2, "absurd_hours")}
    assert (found[(W1, "negative_hours")]["value"], found[(W1, "negative_hours")]["rows"]) == (-4.0, 1)
    absurd = found[(W2, "absurd_hours")]
    assert (absurd["value"], absurd["rows"], absurd["source_rows"]) == (18.0, 2, "file 1 line 3; file 1 line 4")


def test_the_absurd_limit_is_a_setting():
    logs = [worklog("w1", "A", D(2025, 1, 14), 10)]
    assert _flags(worklogs=logs).is_empty()  # 10 h ≤ 16
    found = _found(_flags(worklogs=logs, absurd_hours_per_day=8.0))
    assert found[(W2, "absurd_hours")]["value"] == 10.0


def test_source_rows_are_capped_at_twenty_with_the_total_in_rows():
    logs = [worklog(f"n{i:02d}", "A", D(2025, 1, 7), -1, line=100 + i) for i in range(25)]
    found = _found(_flags(worklogs=logs))
    neg = found[(W1, "negative_hours")]
    # 25 worklogs of −1 h: value −25, rows 25, 20 of them named.
    assert (neg["value"], neg["rows"]) == (-25.0, 25)
    assert len(neg["source_rows"].split("; ")) == 20


def test_absurd_hours_source_rows_are_capped_at_twenty_too():
    logs = [worklog(f"a{i:02d}", "A", D(2025, 1, 14), 1, line=100 + i) for i in range(25)]
    found = _found(_flags(worklogs=logs))
    absurd = found[(W2, "absurd_hours")]
    # 25 one-hour worklogs on 14 Jan: 25 h in a day; 25 rows, 20 named.
    assert (absurd["value"], absurd["rows"]) == (25.0, 25)
    assert len(absurd["source_rows"].split("; ")) == 20


def test_unbaselined_work_is_scope_change_once_per_week():
    elements = rows(
        "baselines",
        {"project_id": "P", "baseline_version": 1, "element_key": "A", "budget": 1000},
        {"project_id": "P", "baseline_version": 1, "element_key": "B", "budget": 500},
    )
    items = [
        {"item_key": "A", "snapshot_date": W2, "project_id": "P"},
        {"item_key": "B", "snapshot_date": W2, "project_id": "P"},
        {"item_key": "N1", "snapshot_date": W2, "project_id": "P"},  # in no baseline: scope change
        {"item_key": "N2", "snapshot_date": D(2025, 1, 15), "project_id": "P"},
        {"item_key": "N2", "snapshot_date": W2, "project_id": "P"},  # two exports in one week: still one item
        {"item_key": "S1", "snapshot_date": W2, "project_id": "P", "parent_key": "A"},  # inside A's budget
        {"item_key": "S2", "snapshot_date": W2, "project_id": "P", "epic_key": "B"},  # inside B's budget
        # Q's baseline is a WBS (no element is an item key): its items are not scope change
        {"item_key": "Q1", "snapshot_date": W2, "project_id": "Q"},
    ]
    elements = pl.concat([elements, rows("baselines", {"project_id": "Q", "baseline_version": 1,
                                                        "element_key": "1.1", "budget": 800})])  # fmt: skip
    evm = pl.concat([_evm(*CLEAN), _evm(*CLEAN).with_columns(project_id=pl.lit("Q"))])
    out = _flags(evm, elements=elements, work_items=items, projects=rows("projects", project("P"), project("Q")))
    assert out.select("project_id", "status_date", "finding", "rows", "source_rows").rows() == [
        ("P", W2, "unbaselined_work", 2, "N1, N2")
    ]


def test_items_a_ticket_baseline_could_not_budget_at_the_as_of_date():
    undated = pl.DataFrame(
        {"project_id": ["P", "P"], "item_key": ["X", "Y"], "problem": ["no original estimate", "no original estimate"]}
    )
    found = _found(_flags(undated=undated))
    # Reported once, on the latest status date (26 Jan), with both items.
    assert set(found) == {(W3, "items_not_budgeted")}
    assert (found[(W3, "items_not_budgeted")]["rows"], found[(W3, "items_not_budgeted")]["source_rows"]) == (2, "X, Y")


def test_one_row_per_project_status_date_and_finding_sorted():
    evm = _evm({"status_date": W1, "ev": 1200, "ac": 0}, {"status_date": W2, "ev": 1200, "ac": 0})
    logs = [worklog("neg", "A", D(2025, 1, 7), -1), worklog("neg2", "A", D(2025, 1, 8), -2)]
    out = _flags(evm, logs)
    keys = out.select("project_id", "status_date", "finding").rows()
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))
    # 12 Jan: EV 1200 > BAC, EV without AC, negative hours (one finding for both worklogs); 19 Jan: the first two.
    assert keys == [
        ("P", W1, "ev_over_bac"), ("P", W1, "ev_without_ac"), ("P", W1, "negative_hours"),
        ("P", W2, "ev_over_bac"), ("P", W2, "ev_without_ac"),
    ]  # fmt: skip
