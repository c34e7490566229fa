"""Assets and licences on hand-computed cases (arithmetic in the comments), and on Snipe-IT's sample exports.

Status dates (Sundays): W1 = 12 Jan 2025, W2 = 16 Mar 2025, W3 = 11 Jan 2026.
Assets:   A1 P1/CC1 3650 bought Mon 6 Jan 2025, end of life 5 Jan 2026 (365 days: 10 a day)
          A2 P1/CC2 no cost, bought 7 Jan 2025, no owner
          A3 no project/CC1 1095 bought Mon 3 Feb 2025, no end of life: 36 months = 3 Feb 2025 .. 2 Feb 2028
             = 1095 days (1 a day); blank owner, no location
          A4 P2/CC2 cost 0, bought 8 Jan 2025, blank location
          A5 P2/CC2 500, no purchase date (cannot be placed in time)
Licences: L1 P1/CC1 10 seats, 7 assigned, 600, 6 Jan .. 6 Mar 2025 (60 days: 10 a day)
          L2 P1/CC1 unlimited (NULL seats), 40 assigned, 1200, bought 6 Jan 2025, no expiry (charged at purchase)
          L3 P2/CC2 unlimited (0 seats), 3 assigned, no cost, no purchase date, expires 31 Jan 2026
          L4 P2/CC2 5 seats, 8 assigned, 365, 10 Feb 2025 .. 9 Feb 2026 (365 days: 1 a day)
"""

import csv
import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from tests.staging_helpers import REALDATA, realdata, stage_realdata
from transforms.itam import (
    COST_COLUMNS,
    DUE_COLUMNS,
    GAP_COLUMNS,
    RENEWAL_COLUMNS,
    itam_cost,
    itam_due_dates,
    itam_gaps,
    itam_renewals,
)

D = dt.date
W1, W2, W3 = D(2025, 1, 12), D(2025, 3, 16), D(2026, 1, 11)
WEEKS = [W1, W2, W3]
MONEY = pl.Decimal(18, 4)
ASSETS = pl.DataFrame(
    [
        ("A1", "Laptop", "P1", "CC1", "3650", D(2025, 1, 6), D(2026, 1, 5), None, "u1", "HQ", 2),
        ("A2", "Dock", "P1", "CC2", None, D(2025, 1, 7), None, None, None, "HQ", 3),
        ("A3", "Server", None, "CC1", "1095", D(2025, 2, 3), None, None, "", None, 4),
        ("A4", "Phone", "P2", "CC2", "0", D(2025, 1, 8), None, None, "u2", " ", 5),
        ("A5", "Screen", "P2", "CC2", "500", None, None, None, "u3", "Lab", 6),
    ],
    schema={
        "asset_tag": pl.String, "name": pl.String, "project_id": pl.String, "cost_centre": pl.String,
        "purchase_cost": pl.String, "purchase_date": pl.Date, "eol_date": pl.Date, "warranty_end": pl.Date,
        "owner_id": pl.String, "location": pl.String, "_line": pl.Int64,
    },
    orient="row",
).with_columns(pl.col("purchase_cost").cast(MONEY), _source_file=pl.lit(1, pl.Int64))  # fmt: skip
LICENCES = pl.DataFrame(
    [
        ("L1", "Office", "P1", "CC1", 10, 7, "600", D(2025, 1, 6), D(2025, 3, 6), 2),
        ("L2", "Wiki", "P1", "CC1", None, 40, "1200", D(2025, 1, 6), None, 3),
        ("L3", "Chat", "P2", "CC2", 0, 3, None, None, D(2026, 1, 31), 4),
        ("L4", "CAD", "P2", "CC2", 5, 8, "365", D(2025, 2, 10), D(2026, 2, 9), 5),
    ],
    schema={
        "licence_id": pl.String, "product": pl.String, "project_id": pl.String, "cost_centre": pl.String,
        "seats": pl.Int64, "seats_assigned": pl.Int64, "cost": pl.String, "purchase_date": pl.Date,
        "expiry": pl.Date, "_line": pl.Int64,
    },
    orient="row",
).with_columns(pl.col("cost").cast(MONEY), _source_file=pl.lit(2, pl.Int64))  # fmt: skip


def _cells(out):
    return {(r["status_date"], r["group_level"], r["group_key"]): r for r in out.iter_rows(named=True)}


def money(x) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.0001"))


def test_grain_and_order():
    out = itam_cost(ASSETS, LICENCES, WEEKS)
    assert out.columns == list(COST_COLUMNS)
    # project: P1, P2, (none); cost centre: CC1, CC2 → 5 groups × 3 weeks, one row each, sorted by the key
    keys = out.select("status_date", "group_level", "group_key").rows()
    assert len(keys) == 15 == len(set(keys)) and keys == sorted(keys)
    with pytest.raises(ValueError, match="sundays"):
        itam_cost(ASSETS, LICENCES, [D(2025, 1, 13)])


def test_amortised_asset_cost_by_project():
    c = _cells(itam_cost(ASSETS, LICENCES, WEEKS))
    # A1: 3650 over 365 days = 10 a day; 6..12 Jan = 7 days → 70; 6 Jan..16 Mar = 70 days → 700; past its end: 3650
    assert [c[w, "project", "P1"]["amortised_cost"] for w in WEEKS] == [money(70), money(700), money(3650)]
    # purchase cost: A1's 3650 from the week of its purchase; A2 has no cost and adds nothing
    assert [c[w, "project", "P1"]["purchase_cost"] for w in WEEKS] == [money(3650)] * 3
    # A3 (no project): nothing before 3 Feb; 3 Feb..16 Mar = 26 + 16 = 42 days × 1 = 42 of its 1095
    assert (c[W1, "project", "(none)"]["assets"], c[W1, "project", "(none)"]["amortised_cost"]) == (0, money(0))
    assert c[W2, "project", "(none)"]["amortised_cost"] == money(42)
    assert c[W2, "project", "(none)"]["purchase_cost"] == money(1095)


def test_purchase_mode_charges_the_whole_cost_at_purchase():
    c = _cells(itam_cost(ASSETS, LICENCES, WEEKS, mode="purchase"))
    # amortised = purchase: A1's 3650 in the week of 12 Jan
    assert c[W1, "project", "P1"]["amortised_cost"] == money(3650) == c[W1, "project", "P1"]["purchase_cost"]
    # licences at purchase too: L1 600 + L2 1200 = 1800 in the week of 12 Jan
    assert c[W1, "project", "P1"]["licence_cost"] == money(1800)


def test_assets_without_cost_are_counted_and_cost_nothing():
    c = _cells(itam_cost(ASSETS, LICENCES, WEEKS))
    # P2: A4 (cost 0, bought 8 Jan) and A5 (no purchase date: counted from the start) = 2, both without a cost
    p2 = c[W1, "project", "P2"]
    assert (p2["assets"], p2["assets_without_cost"], p2["purchase_cost"], p2["amortised_cost"]) == (
        2,
        2,
        money(0),
        money(0),
    )
    # P1: A1 and A2 = 2 assets, A2 without a cost
    assert (c[W1, "project", "P1"]["assets"], c[W1, "project", "P1"]["assets_without_cost"]) == (2, 1)
    # CC2 holds A2 (NULL cost), A4 (0) and A5 (undated): 3 assets, 3 without a cost, no cost at all
    cc2 = c[W2, "cost_centre", "CC2"]
    assert (cc2["assets"], cc2["assets_without_cost"], cc2["purchase_cost"]) == (3, 3, money(0))
    # CC1: A1 3650 + A3 1095 = 4745 purchased; amortised 700 + 42 = 742 at 16 Mar
    cc1 = c[W2, "cost_centre", "CC1"]
    assert (cc1["assets"], cc1["assets_without_cost"]) == (2, 0)
    assert (cc1["purchase_cost"], cc1["amortised_cost"]) == (money(4745), money(742))


def test_licence_seats_and_unlimited_licences():
    c = _cells(itam_cost(ASSETS, LICENCES, WEEKS))
    p1 = c[W1, "project", "P1"]
    # L1 (10 seats, 7 assigned) and L2 (unlimited: counted apart, its 40 assignments in no seat figure)
    assert (p1["licences"], p1["unlimited_licences"], p1["seats_owned"], p1["seats_assigned"], p1["seats_free"]) == (
        2,
        1,
        10,
        7,
        3,
    )
    # licence cost: L1 7 days × 10 = 70 + L2 1200 at purchase = 1270
    assert p1["licence_cost"] == money(1270)
    # 16 Mar: L1 expired on 6 Mar: only L2 in force, no seats; its cost is whole: 600 + 1200 = 1800
    p1 = c[W2, "project", "P1"]
    assert (p1["licences"], p1["unlimited_licences"], p1["seats_owned"], p1["seats_free"]) == (1, 1, 0, 0)
    assert p1["licence_cost"] == money(1800)
    # P2, 12 Jan: L3 (0 seats = unlimited, undated, in force) only
    p2 = c[W1, "project", "P2"]
    assert (p2["licences"], p2["unlimited_licences"], p2["seats_owned"], p2["licence_cost"]) == (1, 1, 0, money(0))
    # P2, 16 Mar: L3 and L4 (5 seats, 8 assigned: over-allocated by 3); L4 10 Feb..16 Mar = 19 + 16 = 35 days × 1
    p2 = c[W2, "project", "P2"]
    assert (p2["licences"], p2["seats_owned"], p2["seats_assigned"], p2["seats_free"]) == (2, 5, 8, -3)
    assert p2["licence_cost"] == money(35)
    # 11 Jan 2026: both still in force; L4: 365 − 29 days (12 Jan..9 Feb 2026) = 336
    assert (c[W3, "project", "P2"]["licences"], c[W3, "project", "P2"]["licence_cost"]) == (2, money(336))


def test_a_licence_is_in_force_through_its_expiry_day():
    licences = LICENCES.clear().vstack(
        pl.DataFrame(
            [("S", "x", "P9", "CC9", 4, 1, None, D(2025, 1, 6), W2, 2), ("F", "x", "P9", "CC9", 6, 2, None, None,
             D(2025, 3, 15), 3)],
            schema=LICENCES.drop("_source_file").schema, orient="row",
        ).with_columns(_source_file=pl.lit(2, pl.Int64))
    )  # fmt: skip
    c = _cells(itam_cost(ASSETS.clear(), licences, WEEKS))
    # S expires on Sunday 16 Mar (W2 itself): still in force that day; F expired on Saturday 15 Mar: gone.
    assert (c[W1, "project", "P9"]["licences"], c[W1, "project", "P9"]["seats_owned"]) == (2, 4 + 6)
    assert (c[W2, "project", "P9"]["licences"], c[W2, "project", "P9"]["seats_owned"]) == (1, 4)
    assert c[W3, "project", "P9"]["licences"] == 0


AS_OF = D(2025, 6, 1)


def _renewal_inputs():
    """Licences L<n> expire n days after AS_OF, all bought a year before it, except Lsoon (expires in 10 days,
    bought tomorrow: not held yet at AS_OF) and Lheld (expires in 10 days, bought on AS_OF: held). Asset X: bought
    100 days before, warranty ends in 90 days, end of life in 181; Y: undated, no warranty, end of life in 5 days."""

    def day(n):
        return AS_OF + dt.timedelta(days=n)

    ns = (-1, 0, 30, 31, 90, 91, 180, 181)
    licences = pl.DataFrame(
        {
            "licence_id": [f"L{n}" for n in ns] + ["Lsoon", "Lheld"],
            "product": ["x"] * 10,
            "project_id": ["P1"] * 10,
            "cost_centre": ["CC1"] * 10,
            "cost": [Decimal(100)] * 10,
            "purchase_date": [day(-365)] * 8 + [day(1), day(0)],
            "expiry": [day(n) for n in ns] + [day(10), day(10)],
            "_source_file": [2] * 10,
            "_line": list(range(2, 12)),
        },
        schema_overrides={"cost": MONEY},
    )
    assets = pl.DataFrame(
        {
            "asset_tag": ["X", "Y"],
            "name": ["Laptop", "Switch"],
            "project_id": [None, "P2"],
            "cost_centre": ["CC1", "CC2"],
            "purchase_date": [day(-100), None],
            "purchase_cost": [Decimal(900), None],
            "warranty_end": [day(90), None],
            "eol_date": [day(181), day(5)],
            "_source_file": [1, 1],
            "_line": [2, 3],
        },
        schema_overrides={"purchase_cost": MONEY, "project_id": pl.String, "purchase_date": pl.Date},
    )
    return assets, licences


def test_due_dates_are_every_dated_expiry_warranty_end_and_end_of_life():
    due = itam_due_dates(*_renewal_inputs())
    assert due.columns == list(DUE_COLUMNS)
    # 10 licence expiries + X's warranty end and end of life + Y's end of life; Y has no warranty end: no row
    assert due.height == 13
    assert due.filter(pl.col("key") == "Y").select("kind", "due_date").rows() == [
        ("end_of_life", AS_OF + dt.timedelta(days=5))
    ]
    assert due["due_date"].to_list() == sorted(due["due_date"].to_list())


def test_renewal_windows_at_their_edges():
    out = itam_renewals(itam_due_dates(*_renewal_inputs()), AS_OF)
    assert out.columns == list(RENEWAL_COLUMNS)
    got = {(r["kind"], r["key"]): (r["days_until"], r["window"]) for r in out.iter_rows(named=True)}
    # 30 days → "30", 31 → "90", 90 → "90", 91 → "180", 180 → "180"; 181 days and yesterday's expiry are out;
    # due today (0 days) is in the 30-day window. X's end of life is 181 days away: out. Lsoon is bought tomorrow:
    # not held yet, so not a renewal; Lheld is bought today: held.
    assert got == {
        ("licence_expiry", "L0"): (0, "30"),
        ("licence_expiry", "L30"): (30, "30"),
        ("licence_expiry", "L31"): (31, "90"),
        ("licence_expiry", "L90"): (90, "90"),
        ("licence_expiry", "L91"): (91, "180"),
        ("licence_expiry", "L180"): (180, "180"),
        ("licence_expiry", "Lheld"): (10, "30"),
        ("warranty_end", "X"): (90, "90"),
        ("end_of_life", "Y"): (5, "30"),
    }
    assert out["due_date"].to_list() == sorted(out["due_date"].to_list())
    x = out.filter(pl.col("key") == "X").row(0, named=True)
    # traceable to its row; its cost is the asset's purchase cost
    assert (x["cost"], x["name"], x["cost_centre"], x["_source_file"], x["_line"]) == (
        money(900),
        "Laptop",
        "CC1",
        1,
        2,
    )
    assert out.filter(pl.col("key") == "L31")["_line"].to_list() == [5]


def test_renewals_a_week_later_count_from_that_week():
    out = itam_renewals(itam_due_dates(*_renewal_inputs()), AS_OF + dt.timedelta(days=7))
    renewals = out.filter(pl.col("kind") != "end_of_life")
    got = {r["key"]: (r["days_until"], r["window"]) for r in renewals.iter_rows(named=True)}
    # 7 days on: L0 fell due a week ago (−7: out); L30 → 23 and L31 → 24, both "30"; L90 → 83 "90"; L91 → 84 "90";
    # L180 → 173 "180"; L181 → 174 "180" (in now); Lsoon, bought on day 1, is held and due in 3; Lheld in 3;
    # X's warranty end in 83.
    assert got == {
        "L30": (23, "30"),
        "L31": (24, "30"),
        "L90": (83, "90"),
        "L91": (84, "90"),
        "L180": (173, "180"),
        "L181": (174, "180"),
        "Lsoon": (3, "30"),
        "Lheld": (3, "30"),
        "X": (83, "90"),
    }
    # Y's end of life fell due 2 days ago (out); X's is 174 days away (in now)
    assert out.filter(pl.col("kind") == "end_of_life").select("key", "days_until").rows() == [("X", 174)]


def test_assets_without_owner_or_location():
    out = itam_gaps(ASSETS)
    assert out.columns == list(GAP_COLUMNS)
    # A2: no owner; A3: blank owner and no location; A4: a blank location. A1 and A5 have both.
    assert out.select("asset_tag", "missing", "_line").rows() == [
        ("A2", "owner", 3),
        ("A3", "owner, location", 4),
        ("A4", "location", 5),
    ]


SNIPEIT_ASSETS = "snipeit/VENDOR_SAMPLE_assets-sample.csv"
SNIPEIT_LICENCES = "snipeit/VENDOR_SAMPLE_licenses-sample.csv"


def _read(relative):
    with (REALDATA / relative).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _us_date(text):
    month, day, year = (int(p) for p in text.split("/"))
    return D(year + 2000 if year < 100 else year, month, day)


@realdata
def test_snipeit_samples_against_the_files():
    _, staged = stage_realdata(SNIPEIT_ASSETS, SNIPEIT_LICENCES)
    no_project = pl.lit(None, pl.String).alias("project_id")
    assets = staged.tables["assets"].with_columns(no_project)
    licences = staged.tables["licences"].with_columns(no_project)
    lic_week, asset_week = D(2015, 12, 27), D(2023, 12, 31)
    c = _cells(itam_cost(assets, licences, [lic_week, asset_week]))

    # Assets, independently from the file: all bought in 2022-23; amortised straight-line to the EOL date, else over
    # 36 months, at 31 Dec 2023, days counted inclusively.
    rows = _read(SNIPEIT_ASSETS)
    purchase, amortised = Decimal(0), 0.0
    for r in rows:
        cost, bought = Decimal(r["Purchase Cost"]), _us_date(r["Purchase Date"])
        end = _us_date(r["Asset EOL Date"]) if r["Asset EOL Date"] else None
        if end is None or end <= bought:
            end = D(bought.year + 3, bought.month, bought.day) - dt.timedelta(days=1)
        purchase += cost
        amortised += (
            float(cost) * min((asset_week - bought).days + 1, (end - bought).days + 1) / ((end - bought).days + 1)
        )
    whole = c[asset_week, "project", "(none)"]
    assert (whole["assets"], whole["assets_without_cost"]) == (len(rows), 0) == (22, 0)
    assert whole["purchase_cost"] == purchase
    assert float(whole["amortised_cost"]) == pytest.approx(amortised, abs=0.01)
    # by hand: Backhoe (Abshire and Sons) 2266.13 bought 23 Jan 2023, EOL 27 Oct 2028 = 2105 days;
    # 23 Jan..31 Dec 2023 = 343 days → 2266.13 × 343 / 2105 = 369.26
    backhoe = c[asset_week, "cost_centre", "Abshire and Sons"]
    assert (backhoe["purchase_cost"], float(backhoe["amortised_cost"])) == (
        money("2266.13"),
        pytest.approx(2266.13 * 343 / 2105, abs=0.0001),
    )

    # Licences at 27 Dec 2015: in force when bought by then (or undated) and expiring on or after it (all expire in
    # 2016); every row of the import file names its holder: one seat assigned each.
    lic = _read(SNIPEIT_LICENCES)
    in_force = [r for r in lic if not r["purchase date"] or _us_date(r["purchase date"]) <= lic_week]
    dated = [r for r in in_force if r["purchase date"]]
    whole = c[lic_week, "project", "(none)"]
    assert whole["licences"] == len(in_force) == 49  # 50 rows; one is bought on 5 Nov 2016
    assert whole["seats_owned"] == sum(int(r["seats"]) for r in in_force)
    assert whole["seats_assigned"] == len(in_force)
    assert whole["unlimited_licences"] == 0
    # amortised to the expiry: every dated licence bought by then is amortised to 27 Dec 2015, days inclusive
    expected = sum(
        float(r["purchase cost"].lstrip("$"))
        * ((lic_week - _us_date(r["purchase date"])).days + 1)
        / ((_us_date(r["expiration date"]) - _us_date(r["purchase date"])).days + 1)
        for r in dated
    )
    assert float(whole["licence_cost"]) == pytest.approx(expected, abs=0.01)
    assert c[asset_week, "project", "(none)"]["licences"] == 0  # all expired by 2023

    # Renewals from 1 Jan 2016: licences held then (bought by then, or undated) expiring 0..180 days later, by the
    # file's purchase and expiration dates
    renewals = itam_renewals(itam_due_dates(assets, licences), D(2016, 1, 1))
    due = sorted(
        (r["serial number"], _us_date(r["expiration date"]))
        for r in lic
        if 0 <= (_us_date(r["expiration date"]) - D(2016, 1, 1)).days <= 180
        and (not r["purchase date"] or _us_date(r["purchase date"]) <= D(2016, 1, 1))
    )
    assert sorted(renewals.select("key", "due_date").rows()) == due
    assert set(renewals["kind"]) == {"licence_expiry"}

    # Gaps: assets not checked out to a user have no owner; every asset has a location
    gaps = itam_gaps(assets)
    no_owner = sorted(r["Asset Tag"] for r in rows if not r["Checked Out To: Username"])
    assert gaps["asset_tag"].to_list() == no_owner and len(no_owner) == 13
    assert set(gaps["missing"]) == {"owner"}
