"""Risk exposure on hand-computed cases (arithmetic in the comments).

Grid: project P, status dates Sundays 4, 11, 18, 25 January 2026; project Q has the same dates and no risk.
"""

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.canonical import TABLES
from transforms.risk import (
    ITEMS_SQL,
    MART_COLUMNS,
    heat_map,
    operational_risks,
    probability_findings,
    project_exposure,
    register_risks,
    risk_exposure_mart,
)

D = dt.date
SUNDAYS = [D(2026, 1, 4), D(2026, 1, 11), D(2026, 1, 18), D(2026, 1, 25)]
GRID = pl.DataFrame({"project_id": ["P"] * 4 + ["Q"] * 4, "status_date": SUNDAYS * 2})


def _table(name: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of a staging table: every canonical column (missing ones NULL), lineage numbered from line 2."""
    schema = TABLES[name] | {"project_id": pl.String, "_source_file": pl.Int64, "_line": pl.Int64}
    rows = [{"_source_file": 1, "_line": i + 2} | r for i, r in enumerate(rows)]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def _risk(risk_id, probability, cost=None, days=None, *, project="P", status="open", review=None):
    return {
        "risk_id": risk_id, "project_id": project, "title": f"risk {risk_id}", "owner": "Ana",
        "probability": None if probability is None else Decimal(str(probability)),
        "cost_impact": None if cost is None else Decimal(str(cost)),
        "schedule_impact_days": None if days is None else Decimal(str(days)),
        "status": status, "review_date": review,
    }  # fmt: skip


# ------------------------------------------------------------------------------------ probability conversions


@pytest.mark.parametrize(
    ("scale", "raw", "expected"),
    [
        ("fraction", "0.3", 0.3),  # a fraction is used as is
        ("percent", "30", 0.3),  # 30 % / 100 = 0.3
        ("percent", "2.5", 0.025),  # 2.5 % / 100 = 0.025
        ("1-5", "1", 0.1),  # rating 1 → 0.1
        ("1-5", "2", 0.3),  # rating 2 → 0.3
        ("1-5", "4", 0.7),  # rating 4 → 0.7
        ("1-5", "5", 0.9),  # rating 5 → 0.9
    ],
)
def test_probability_scales_convert_to_a_fraction(scale, raw, expected):
    risks = _table("risks", [_risk("R1", raw, 10_000, 10)])
    out = register_risks(risks, GRID.filter(pl.col("status_date") == SUNDAYS[0]), probability_scale=scale)
    row = out.row(0, named=True)
    assert row["probability"] == pytest.approx(expected)
    # exposure_cost = p × 10,000 (e.g. 0.3 × 10,000 = 3,000); exposure_days = p × 10 (0.3 × 10 = 3.0)
    assert row["exposure_cost"] == Decimal(str(expected * 10_000)).quantize(Decimal("0.0001"))
    assert row["exposure_days"] == pytest.approx(expected * 10)


@pytest.mark.parametrize(
    ("scale", "raw", "problem"),
    [
        ("fraction", "1.5", "probability outside the fraction scale 0-1"),
        ("fraction", "30", "probability outside the fraction scale 0-1"),  # a percent register read as fractions
        ("percent", "150", "probability outside the percent scale 0-100"),
        ("1-5", "2.5", "probability not a rating 1, 2, 3, 4 or 5"),
        ("1-5", "0", "probability not a rating 1, 2, 3, 4 or 5"),
        ("1-5", "6", "probability not a rating 1, 2, 3, 4 or 5"),
        ("fraction", None, "no probability"),
    ],
)
def test_probability_off_the_scale_is_a_finding_and_never_used(scale, raw, problem):
    risks = _table("risks", [_risk("R1", raw, 10_000), _risk("R2", {"1-5": "3"}.get(scale, "0.5"), 1_000)])
    out = register_risks(risks, GRID, probability_scale=scale)
    assert out.get_column("risk_id").unique().to_list() == ["R2"]  # R1 is left out of every week
    findings = probability_findings(risks, probability_scale=scale)
    assert findings.select("risk_id", "problem", "_line").rows() == [("R1", problem, 2)]


# ------------------------------------------------------------------------------------------------ heat map


def test_heat_bands_from_probability_and_the_larger_impact_band():
    frame = pl.DataFrame(
        {
            "probability": [0.7, 0.5, 0.1, 1.0, 0.2, 0.19, 0.4, None, 0.6],
            "cost_impact": [60_000, 20_000, 100_000, 4_999, 0, None, None, 50_000, 5_000],
            "schedule_impact_days": [3, 1, 0, 25, None, 20, None, 1, None],
        }
    ).with_columns(pl.col("cost_impact").cast(pl.Decimal(18, 4)), pl.col("schedule_impact_days").cast(pl.Float64))
    out = heat_map(frame, cost_bands=[5_000, 20_000, 50_000, 100_000], days_bands=[2, 5, 10, 20])
    assert out.select("probability_band", "impact_band", "heat_score", "heat_band").rows() == [
        # p 0.7 → 1 + floor(3.5) = 4; cost 60k ≥ 5k, 20k, 50k → 4; days 3 ≥ 2 → 2; max 4; 4 × 4 = 16 ≥ 15 high
        (4, 4, 16, "high"),
        # p 0.5 → 1 + floor(2.5) = 3; cost 20k ≥ 5k, 20k (edge counts) → 3; days 1 → 1; 3 × 3 = 9 ≥ 8 medium
        (3, 3, 9, "medium"),
        # p 0.1 → 1 + floor(0.5) = 1; cost 100k ≥ all four edges → 5; 1 × 5 = 5 low
        (1, 5, 5, "low"),
        # p 1.0 → 1 + 5 = 6, capped at 5; cost 4,999 → 1; days 25 ≥ all four → 5; 5 × 5 = 25 high
        (5, 5, 25, "high"),
        # p 0.2 → 1 + floor(1.0) = 2 (0.2 opens band 2); cost 0 → 1; days unknown; 2 × 1 = 2 low
        (2, 1, 2, "low"),
        # p 0.19 → 1 + floor(0.95) = 1; days 20 ≥ all four → 5 (cost unknown); 1 × 5 = 5 low
        (1, 5, 5, "low"),
        # p 0.4 → 3; no impact at all → no impact band, no heat
        (3, None, None, None),
        # no probability → no band, no heat; cost 50k → 4
        (None, 4, None, None),
        # p 0.6 → 1 + floor(3.0) = 4 (exactly 3, not 2.999…); cost 5,000 ≥ 5k → 2; 4 × 2 = 8 ≥ 8 medium
        (4, 2, 8, "medium"),
    ]


def test_heat_band_thresholds_are_parameters():
    frame = pl.DataFrame({"probability": [0.5], "cost_impact": [Decimal("20000")], "schedule_impact_days": [None]})
    frame = frame.with_columns(pl.col("schedule_impact_days").cast(pl.Float64))
    bands = {"cost_bands": [5_000, 20_000, 50_000, 100_000], "days_bands": [2, 5, 10, 20]}
    # 3 × 3 = 9: medium with the defaults (≥ 8), high when high starts at 9, low when medium starts at 10
    assert heat_map(frame, **bands)["heat_band"].to_list() == ["medium"]
    assert heat_map(frame, **bands, high_at=9)["heat_band"].to_list() == ["high"]
    assert heat_map(frame, **bands, high_at=12, medium_at=10)["heat_band"].to_list() == ["low"]


# ------------------------------------------------------------------------------------ register and exposure


def _register():
    return _table(
        "risks",
        [
            _risk("R1", "0.3", 15_000, 10),  # no review date: every week
            _risk("R2", "0.5", 20_000, 5, review=D(2026, 1, 11)),  # reviewed on the status date 11 Jan: from 11 Jan
            _risk("R3", "0.9", 90_000, 20, status="closed"),  # closed: nowhere
            _risk("R4", "0.2", None, 4),  # no cost impact: exposure_cost NULL, days 0.2 × 4 = 0.8
        ],
    )


def test_register_grain_review_date_and_closed_risks():
    out = register_risks(_register(), GRID)
    by_week = out.group_by("status_date").agg(pl.col("risk_id").sort()).sort("status_date")
    assert by_week.rows() == [
        (D(2026, 1, 4), ["R1", "R4"]),
        (D(2026, 1, 11), ["R1", "R2", "R4"]),
        (D(2026, 1, 18), ["R1", "R2", "R4"]),
        (D(2026, 1, 25), ["R1", "R2", "R4"]),
    ]
    assert out.select("project_id", "status_date", "risk_id").is_duplicated().sum() == 0
    assert out.columns[:3] == ["status_date", "project_id", "risk_id"]
    assert out.get_column("exposure_cost").dtype == pl.Decimal(18, 4)


def test_project_exposure_sums_open_risks_and_is_zero_without_any():
    exposure = project_exposure(register_risks(_register(), GRID), GRID)
    assert exposure.rows() == [
        # 4 Jan: R1 0.3 × 15,000 = 4,500 (R4 has no cost); days 0.3 × 10 + 0.2 × 4 = 3 + 0.8 = 3.8
        ("P", D(2026, 1, 4), Decimal("4500.0000"), pytest.approx(3.8)),
        # from 11 Jan R2 adds 0.5 × 20,000 = 10,000 → 14,500; days 3.8 + 0.5 × 5 = 6.3
        ("P", D(2026, 1, 11), Decimal("14500.0000"), pytest.approx(6.3)),
        ("P", D(2026, 1, 18), Decimal("14500.0000"), pytest.approx(6.3)),
        ("P", D(2026, 1, 25), Decimal("14500.0000"), pytest.approx(6.3)),
        # Q has no risk: 0, not NULL (R3's 0.9 × 90,000 would be 81,000 if closed risks counted anywhere)
        *[("Q", d, Decimal("0.0000"), 0.0) for d in SUNDAYS],
    ]
    assert exposure.schema["risk_exposure_cost"] == pl.Decimal(18, 4)


# ------------------------------------------------------------------------------------------ operational risks


FINISH = D(2026, 2, 15)


def _grid_forecast(finish=FINISH):
    return GRID.filter(pl.col("project_id") == "P").with_columns(forecast_finish=pl.lit(finish, pl.Date))


EMPTY = {"assets": _table("assets", []), "licences": _table("licences", []), "work_items": _table("work_items", [])}


def _ops(**inputs):
    """The operational risks from the whole work_items table, checked equal to those from only the rows ITEMS_SQL
    reads (the pipeline's way, run in DuckDB over the same rows)."""
    args = EMPTY | {"grid_forecast": _grid_forecast(), "as_of": SUNDAYS[-1]} | inputs
    out = operational_risks(**args)
    with duckdb.connect() as conn:
        conn.register("staged", args["work_items"])
        read = conn.sql(ITEMS_SQL.format(source="staged"), params={"as_of": args["as_of"]}).pl()
    assert_frame_equal(operational_risks(**args | {"work_items": read}), out)
    return out


def test_asset_warranty_or_end_of_life_before_the_forecast_finish():
    assets = _table(
        "assets",
        [
            # warranty ends Tue 20 Jan: after 4, 11 and 18 Jan and before the finish 15 Feb; not after 25 Jan
            {"asset_tag": "A1", "name": "Server", "project_id": "P", "owner_id": "ops",
             "purchase_cost": Decimal("4250"), "warranty_end": D(2026, 1, 20)},
            {"asset_tag": "A2", "project_id": "P", "eol_date": D(2026, 3, 1)},  # after the finish: no risk
            {"asset_tag": "A3", "project_id": None, "eol_date": D(2026, 1, 20)},  # in no project's scope
            {"asset_tag": "A4", "project_id": "P", "eol_date": D(2026, 2, 15)},  # on the finish day: not before it
        ],
    )  # fmt: skip
    out = _ops(assets=assets)
    assert out.select("status_date", "risk_id", "source", "cost_impact", "source_key", "_line").rows() == [
        (d, "OPS-ASSET-A1", "asset", Decimal("4250"), "A1", 2) for d in SUNDAYS[:3]
    ]
    assert out["title"][0] == "Asset A1 (Server): warranty ends 2026-01-20 before the forecast finish"
    assert out["source_table"].unique().to_list() == ["assets"] and out["owner"][0] == "ops"
    # No forecast finish (NULL): the comparison is undefined, so no asset risk at all.
    assert _ops(assets=assets, grid_forecast=_grid_forecast(None)).is_empty()


def test_licence_expiring_within_90_days_or_before_finish_and_over_allocated():
    licences = _table(
        "licences",
        [
            # expires 10 Apr: 4 Jan + 90 days = 4 Apr (too early), 11 Jan + 90 days = 11 Apr ≥ 10 Apr → from 11 Jan
            {"licence_id": "L1", "product": "IDE", "project_id": "P", "cost": Decimal("900"), "expiry": D(2026, 4, 10)},
            # 12 seats assigned of 10: over-allocated every week (no purchase date)
            {"licence_id": "L2", "project_id": "P", "seats": 10, "seats_assigned": 12},
            {"licence_id": "L3", "project_id": "P", "seats": 0, "seats_assigned": 50},  # 0 seats = unlimited
            {"licence_id": "L4", "project_id": "P", "seats": None, "seats_assigned": 5},  # NULL seats = unlimited
            # over-allocated, bought Wed 14 Jan: from 18 Jan
            {"licence_id": "L5", "project_id": "P", "seats": 1, "seats_assigned": 2, "purchase_date": D(2026, 1, 14)},
            # expires 1 May, beyond 90 days of every week, but before a forecast finish of 1 June (second call)
            {"licence_id": "L6", "project_id": "P", "expiry": D(2026, 5, 1)},
        ],
    )  # fmt: skip
    out = _ops(licences=licences)
    got = out.group_by("risk_id").agg(pl.col("status_date").sort(), pl.col("_line").first()).sort("risk_id")
    assert got.rows() == [
        ("OPS-LICENCE-L1", SUNDAYS[1:], 2),
        ("OPS-LICENCE-L2", SUNDAYS, 3),
        ("OPS-LICENCE-L5", SUNDAYS[2:], 6),
    ]
    titles = dict(out.select("risk_id", "title").unique().rows())
    assert titles["OPS-LICENCE-L1"] == "Licence L1 (IDE): expires 2026-04-10"
    assert titles["OPS-LICENCE-L2"] == "Licence L2: 12 seats assigned of 10"
    assert out.filter(pl.col("risk_id") == "OPS-LICENCE-L1")["cost_impact"][0] == Decimal("900")
    later = _ops(licences=licences, grid_forecast=_grid_forecast(D(2026, 6, 1)))
    assert sorted(later.filter(pl.col("risk_id") == "OPS-LICENCE-L6")["status_date"].to_list()) == SUNDAYS


def _item(key, snapshot, *, status="In Progress", category="doing", priority="high", **extra):
    return {"item_key": key, "snapshot_date": snapshot, "project_id": "P", "status": status,
            "status_category": category, "priority": priority, "summary": f"summary {key}"} | extra  # fmt: skip


W1, W2, W3 = D(2026, 1, 7), D(2026, 1, 14), D(2026, 1, 21)  # export Wednesdays


def test_high_priority_tickets_open_past_their_target_in_the_snapshot_in_force():
    items = _table(
        "work_items",
        [
            _item("T1", W1, due=D(2026, 1, 9)),  # line 2: due Fri 9 Jan, open → late at 11 and 18 Jan
            _item("T1", W3, category="done", status="Done", due=D(2026, 1, 9)),  # line 3: done from 21 Jan
            # line 4/5: critical, SLA due Sun 18 Jan 10:00 → past at the end of 18 Jan (line 4) and 25 Jan (line 5)
            _item("T2", W1, priority="critical", sla_due_at=dt.datetime(2026, 1, 18, 10)),
            _item("T2", W3, priority="critical", sla_due_at=dt.datetime(2026, 1, 18, 10), assignee="bo"),
            _item("T3", W1, priority="medium", due=D(2026, 1, 8)),  # line 6: medium priority: not a risk
            _item("T4", W1, due=D(2026, 1, 11)),  # line 7: due Sun 11 Jan: not past at the end of 11 Jan; from 18 Jan
            # line 8: SLA at 10:00 on 5 Jan wins over the due date 30 Jan, but no snapshot is in force on 4 Jan
            _item("T5", W1, sla_due_at=dt.datetime(2026, 1, 5, 10), due=D(2026, 1, 30)),
        ],
    )
    out = _ops(work_items=items).filter(pl.col("source") == "ticket")
    assert out.select("status_date", "risk_id", "_line").rows() == [
        (D(2026, 1, 11), "OPS-TICKET-T1", 2),
        (D(2026, 1, 11), "OPS-TICKET-T5", 8),
        (D(2026, 1, 18), "OPS-TICKET-T1", 2),
        (D(2026, 1, 18), "OPS-TICKET-T2", 4),
        (D(2026, 1, 18), "OPS-TICKET-T4", 7),
        (D(2026, 1, 18), "OPS-TICKET-T5", 8),
        (D(2026, 1, 25), "OPS-TICKET-T2", 5),
        (D(2026, 1, 25), "OPS-TICKET-T4", 7),
        (D(2026, 1, 25), "OPS-TICKET-T5", 8),
    ]
    t2 = out.filter(pl.col("_line") == 5).row(0, named=True)
    assert (t2["source_table"], t2["source_key"], t2["owner"]) == ("work_items", "T2", "bo")
    assert t2["title"] == "critical T2 open past its target 2026-01-18 10:00: summary T2"
    # as_of 20 Jan: nothing after it
    assert _ops(work_items=items, as_of=D(2026, 1, 20))["status_date"].max() == D(2026, 1, 18)


def test_blocked_items_ageing_from_the_start_of_their_current_blocked_spell():
    items = _table(
        "work_items",
        [
            _item("B1", W1, status="Blocked"),  # line 2: blocked since 7 Jan
            _item("B1", W3, status="Blocked"),  # line 3
            _item("B2", W1, status="blocked by vendor"),  # line 4: blocked 7 Jan …
            _item("B2", W2, status="In Progress"),  # line 5: … unblocked 14 Jan …
            _item("B2", W3, status="Waiting - BLOCKED"),  # line 6: … blocked again 21 Jan: a new spell
            _item("B3", W1, status="Blocked", category="done"),  # line 7: done: not a risk
            _item("B4", D(2026, 1, 8), status="Blocked"),  # line 8: age on 18 Jan = 10, not more than 10; 25 Jan 17
        ],
    )
    out = _ops(work_items=items).filter(pl.col("source") == "blocked")
    # B1: age at 11 Jan = 4 days, at 18 Jan = 11 > 10 (line 2 in force), at 25 Jan = 18 (line 3 in force).
    # B2: the spell from 21 Jan is 4 days old on 25 Jan; the first spell ended before it reached 10 days.
    assert out.select("status_date", "risk_id", "_line").rows() == [
        (D(2026, 1, 18), "OPS-BLOCKED-B1", 2),
        (D(2026, 1, 25), "OPS-BLOCKED-B1", 3),
        (D(2026, 1, 25), "OPS-BLOCKED-B4", 8),
    ]
    assert out["title"][1] == "B1 blocked since 2026-01-07: summary B1"
    # With blocked_days = 3, B1 is 4 days old on 11 Jan, and B2's first spell is 4 days old on 11 Jan too;
    # B2's second spell (21 Jan) is 4 days old on 25 Jan. B4 (8 Jan) is 3 days old on 11 Jan: not more than 3.
    short = _ops(work_items=items, blocked_days=3).filter(pl.col("source") == "blocked")
    assert short.select("status_date", "risk_id", "_line").rows() == [
        (D(2026, 1, 11), "OPS-BLOCKED-B1", 2),
        (D(2026, 1, 11), "OPS-BLOCKED-B2", 4),
        (D(2026, 1, 18), "OPS-BLOCKED-B1", 2),
        (D(2026, 1, 18), "OPS-BLOCKED-B4", 8),
        (D(2026, 1, 25), "OPS-BLOCKED-B1", 3),
        (D(2026, 1, 25), "OPS-BLOCKED-B2", 6),
        (D(2026, 1, 25), "OPS-BLOCKED-B4", 8),
    ]


def test_two_exports_of_one_date_the_later_file_and_line_is_in_force():
    # Both exports are dated Wed 7 Jan. File 2 (line 3) was loaded after file 1 (line 2), so it is in force from
    # then on: due Fri 9 Jan, open past its target at 11, 18 and 25 Jan. File 1's row (due 30 Jan) holds for no
    # status date, listed first or last.
    rows = [
        {"_source_file": 1, "_line": 2} | _item("T1", W1, due=D(2026, 1, 30)),
        {"_source_file": 2, "_line": 3} | _item("T1", W1, due=D(2026, 1, 9)),
    ]
    for order in (rows, rows[::-1]):
        out = _ops(work_items=_table("work_items", order))
        assert out.select("status_date", "_source_file", "_line").rows() == [(d, 2, 3) for d in SUNDAYS[1:]]
    # Blocked on both rows of 7 Jan: the spell starts on 7 Jan whichever row is read first; 18 and 25 Jan > 10 days.
    blocked = [r | {"status": "Blocked"} for r in rows]
    for order in (blocked, blocked[::-1]):
        out = _ops(work_items=_table("work_items", order)).filter(pl.col("source") == "blocked")
        assert out.select("status_date", "_line").rows() == [(D(2026, 1, 18), 3), (D(2026, 1, 25), 3)]
    # File 1 says Blocked on 7 Jan but file 2, in force, says In Progress; blocked again on Wed 14 Jan (file 3): the
    # spell starts on 14 Jan, 4 days old on 18 Jan and 11 on 25 Jan (not 11 and 18 from 7 Jan).
    spell = [
        rows[0] | {"status": "Blocked"},
        rows[1],
        {"_source_file": 3, "_line": 4} | _item("T1", W2, status="Blocked"),
    ]
    for order in (spell, spell[::-1]):
        out = _ops(work_items=_table("work_items", order)).filter(pl.col("source") == "blocked")
        assert out.select("status_date", "_line", "title").rows() == [
            (D(2026, 1, 25), 4, "T1 blocked since 2026-01-14: summary T1")
        ]


def test_items_that_can_have_no_risk_are_not_read():
    items = _table(
        "work_items",
        [
            _item("T1", W1, due=D(2026, 1, 9)),  # high, open, with a target: every snapshot of T1 is read
            _item("T1", W3, category="done", due=D(2026, 1, 9)),
            _item("M1", W1, priority="medium", due=D(2026, 1, 9)),  # medium: no ticket risk
            _item("H1", W1),  # high and open, but no target
            _item("D1", W1, category="done", status="Blocked", due=D(2026, 1, 9)),  # done
            _item("B1", W1, priority=None, status="Blocked"),  # blocked: every snapshot of B1
            _item("B1", W2, priority=None),
            _item("L1", W3 + dt.timedelta(days=1), due=D(2026, 1, 9)),  # exported after as_of (21 Jan)
        ],
    )
    with duckdb.connect() as conn:
        conn.register("staged", items)
        read = conn.sql(ITEMS_SQL.format(source="staged"), params={"as_of": W3}).pl()
    # T1 is in force 7..21 Jan (valid_to 21 Jan), then open-ended; B1 7..14 Jan, then open-ended
    assert read.sort("_line").select("item_key", "valid_to").rows() == [
        ("T1", W3), ("T1", None), ("B1", W2), ("B1", None),
    ]  # fmt: skip


def test_mart_stacks_register_and_derived_risks_in_one_schema():
    register = register_risks(_register(), GRID.filter(pl.col("project_id") == "P"))
    licences = _table("licences", [{"licence_id": "L2", "project_id": "P", "seats": 10, "seats_assigned": 12}])
    mart = risk_exposure_mart(register, _ops(licences=licences))
    assert mart.columns == list(MART_COLUMNS)
    first_week = mart.filter(pl.col("status_date") == SUNDAYS[0])
    assert first_week.select(
        "risk_id", "source", "source_table", "source_key", "exposure_cost", "heat_band"
    ).rows() == [
        ("OPS-LICENCE-L2", "licence", "licences", "L2", None, None),  # derived: no probability, no exposure
        # R1: 0.3 × 15,000 = 4,500; band 1 + floor(1.5) = 2; cost 15k → 2, days 10 → 4; 2 × 4 = 8 medium
        ("R1", "register", "risks", "R1", Decimal("4500"), "medium"),
        # R4: no cost; band 1 + floor(1.0) = 2; days 4 → 2; 2 × 2 = 4 low
        ("R4", "register", "risks", "R4", None, "low"),
    ]
    # 4 weeks × L2 + R1, R4 every week + R2 from 11 Jan (3 weeks) = 4 + 8 + 3 = 15 rows, sorted
    assert mart.height == 15
    assert mart.equals(mart.sort("project_id", "status_date", "risk_id"))
