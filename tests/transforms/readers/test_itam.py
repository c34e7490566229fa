"""ITAM readers: ServiceNow CMDB and GLPI asset lists → assets; Snipe-IT licences → licences."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from tests.staging_helpers import file_counts, realdata, stage_exports, stage_realdata
from transforms.ingest import parse_export

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def row(staged, table: str, **where) -> dict:
    frame = staged.tables[table]
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    assert frame.height == 1, frame
    return frame.row(0, named=True)


def rejects(staged, file_id: int) -> list[tuple]:
    return staged.rejects.filter(pl.col("_source_file") == file_id).select("line", "column", "rule", "raw_value").rows()


# --- ServiceNow CMDB -------------------------------------------------------------------------------------------


def test_servicenow_cmdb_list_export():
    parsed, staged = stage_exports({"drop/cmdb_ci_computer.csv": fixture("servicenow_cmdb", "good.csv")})
    assert parsed[0].kind == "servicenow_cmdb"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (5, 5, 0)
    # Line 2: "FIN-LT-0412","P1000412","Computer","5CG3401ZQK",...,"Installed","Alex Moreau",...,"CC-ERP",
    # "Example Corp","2025-03-10","1299.00","2028-03-09",...
    laptop = row(staged, "assets", asset_tag="P1000412")
    assert laptop["source_kind"] == "servicenow" and laptop["name"] == "FIN-LT-0412"
    assert (laptop["status"], laptop["owner_id"], laptop["cost_centre"]) == ("Installed", "Alex Moreau", "CC-ERP")
    assert (str(laptop["purchase_date"]), laptop["purchase_cost"], str(laptop["warranty_end"])) == (
        "2025-03-10",
        Decimal("1299"),
        "2028-03-09",
    )
    assert (laptop["category"], laptop["model"], laptop["serial"]) == (
        "Computer",
        "Dell Inc. Latitude 5440",
        "5CG3401ZQK",
    )
    # Line 4: ERP-DB-01 has no asset tag: it keys on its sys_id.
    server = row(staged, "assets", name="ERP-DB-01")
    assert server["asset_tag"] == "1c9e5b7a2f3d4e6a8b0c1d2e3f4a5b6c" and server["purchase_cost"] is None
    statuses = staged.tables["assets"].sort("_line").get_column("status").to_list()
    assert statuses == ["Installed", "In Maintenance", "Installed", "Retired", "In Stock"]


def test_servicenow_cmdb_windows_1252_day_first_dates():
    parsed, staged = stage_exports({"drop/cmdb_export.csv": fixture("servicenow_cmdb", "good_cp1252.csv")})
    assert (parsed[0].kind, parsed[0].encoding) == ("servicenow_cmdb", "cp1252")
    assert file_counts(staged)["rows_loaded"] == 2
    # Line 3: "ZH-MON-0007",...,"Zürich - Bürohaus Löwenstraße",...,"03/03/2026","412.00","02/03/2029" (dd/MM/yyyy)
    monitor = row(staged, "assets", asset_tag="P2000007")
    assert monitor["location"] == "Zürich - Bürohaus Löwenstraße"
    assert (str(monitor["purchase_date"]), str(monitor["warranty_end"])) == ("2026-03-03", "2029-03-02")
    # Line 2: purchased 14/02/2025: only day-first reads the file, so 03/03 is read day-first too.
    assert str(row(staged, "assets", asset_tag="P2000020")["purchase_date"]) == "2025-02-14"
    assert row(staged, "assets", asset_tag="P2000020")["location"] == "São Paulo - Av. Paulista 1842"


def test_servicenow_cmdb_bad_rows_are_rejected_with_line_column_rule():
    _, staged = stage_exports({"drop/cmdb_bad.csv": fixture("servicenow_cmdb", "bad.csv")})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (5, 1, 4)
    assert rejects(staged, 1) == [
        (2, "cost", "type:decimal", "abc"),
        (3, "purchase_date", "type:date", "2025-02-30"),
        (4, "cost", "min:0", "-50.00"),
        (6, "sys_updated_on", "type:datetime", "yesterday"),
    ]
    assert staged.tables["assets"].get_column("asset_tag").to_list() == ["P1000204"]


# --- GLPI assets -----------------------------------------------------------------------------------------------


def test_glpi_assets_english_export():
    parsed, staged = stage_exports({"glpi/computers.csv": fixture("glpi_assets", "good.csv")})
    assert (parsed[0].kind, parsed[0].encoding, parsed[0].delimiter) == ("glpi_assets", "utf-8-sig", ";")
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"]) == (4, 4)
    assert "Value: decimal comma" in counts["formats"]
    # Line 4: "SRV-ERP-01";"Root entity > Finance > ERP";"In production";"Dell Inc.";"7XK2M93";"Server";
    # "PowerEdge R660";...;"INV-000230";"";"2024-11-18";"12 450,00";"2029-11-17";
    server = row(staged, "assets", asset_tag="INV-000230")
    assert (server["source_kind"], server["name"], server["category"]) == ("glpi", "SRV-ERP-01", "Server")
    assert server["cost_centre"] == "Root entity > Finance > ERP" and server["purchase_cost"] == Decimal("12450")
    assert (str(server["purchase_date"]), str(server["warranty_end"])) == ("2024-11-18", "2029-11-17")
    # Line 5: PC-OPS-0033 has no inventory number: it keys on its serial number; "899,50" is 899.50.
    desktop = row(staged, "assets", name="PC-OPS-0033")
    assert desktop["asset_tag"] == "5CD2141QWE" and desktop["purchase_cost"] == Decimal("899.5")


def test_glpi_assets_brazilian_and_french_headers():
    parsed, staged = stage_exports(
        {"glpi/ptbr.csv": fixture("glpi_assets", "good_ptbr.csv"), "glpi/fr.csv": fixture("glpi_assets", "good_fr.csv")}
    )
    assert [p.kind for p in parsed] == ["glpi_assets", "glpi_assets"]
    assert file_counts(staged, 1)["rows_loaded"] == 2 and file_counts(staged, 2)["rows_loaded"] == 1
    # pt-BR line 2: "NB-SP-0042";"Entidade raiz > São Paulo";"Em uso";...;"PAT-004211";"cwei";"14-02-2025";"7 899,00"
    notebook = row(staged, "assets", asset_tag="PAT-004211")
    assert (notebook["owner_id"], notebook["cost_centre"]) == ("cwei", "Entidade raiz > São Paulo")
    assert (str(notebook["purchase_date"]), notebook["purchase_cost"]) == ("2025-02-14", Decimal("7899"))
    # French line 2: "PC-LYO-0007";"Entité racine > Lyon";"En service";...;"INV-LYO-0007";...;"1 849,90";
    laptop = row(staged, "assets", asset_tag="INV-LYO-0007")
    assert (laptop["location"], laptop["purchase_cost"]) == ("Lyon > Part-Dieu", Decimal("1849.9"))


def test_glpi_assets_bad_rows_are_rejected():
    _, staged = stage_exports({"glpi/bad.csv": fixture("glpi_assets", "bad.csv")})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (4, 1, 3)
    assert rejects(staged, 1) == [
        (2, "Value", "type:decimal", "abc"),
        (3, "Date of purchase", "type:date", "2025-13-01"),
        (4, "Value", "min:0", "-10,00"),
    ]


def test_glpi_ticket_and_servicenow_incident_headers_are_not_assets():
    glpi_tickets = (
        b'\xef\xbb\xbf"ID";"Title";"Status";"Opening Date";"Entity"\n"1";"x";"New";"01-11-2024 07:54";"Root"\n'
    )
    assert parse_export("drop/t.csv", glpi_tickets).kind != "glpi_assets"
    incident = b'"number","opened_at","short_description","caller_id","priority","state"\n"INC1","","x","","",""\n'
    assert parse_export("drop/i.csv", incident).kind != "servicenow_cmdb"


# --- Snipe-IT licences -----------------------------------------------------------------------------------------


def test_snipeit_licence_import_file_rows_are_seats_of_one_licence():
    parsed, staged = stage_exports({"drop/licences.csv": fixture("snipeit_licences", "good.csv")})
    assert parsed[0].kind == "snipeit_licences"
    counts = file_counts(staged)
    # 8 rows (the Acrobat row at line 8 holds a 3-line note): 4 licences, 4 more seat rows of them.
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_duplicate"]) == (8, 4, 4)
    # Lines 2-4: three people on Microsoft 365 E3, serial M365-E3-7QK2-PLX9, 25 seats, "$9,360.00", CC-ERP.
    m365 = row(staged, "licences", licence_id="M365-E3-7QK2-PLX9")
    assert (m365["seats"], m365["seats_assigned"], m365["cost"]) == (25, 3, Decimal("9360"))
    assert (m365["cost_centre"], m365["manufacturer"], m365["source_kind"]) == ("CC-ERP", "Microsoft", "snipeit")
    assert (str(m365["purchase_date"]), str(m365["expiry"]), m365["_line"]) == ("2026-01-15", "2027-01-14", 4)
    # Lines 6-7: Tableau Creator has no serial: keyed by product + company; line 6 names nobody, line 7 one person.
    tableau = row(staged, "licences", product="Tableau Creator")
    assert tableau["licence_id"].startswith("h") and (tableau["seats"], tableau["seats_assigned"]) == (5, 1)
    # Lines 8 and 11: two seats of Adobe Acrobat Pro.
    assert row(staged, "licences", licence_id="ACRO-PRO-VL-3391")["seats_assigned"] == 2


def test_snipeit_licence_list_export():
    parsed, staged = stage_exports({"drop/licenses-export.csv": fixture("snipeit_licences", "good_export.csv")})
    assert parsed[0].kind == "snipeit_licences"
    assert file_counts(staged)["rows_loaded"] == 4
    # Line 5: Visual Studio Professional,CC-ERP,VSPRO-2026-K8M1,2027-02-28,...,Total 12,Avail 0,...,"5,388.00"
    vs = row(staged, "licences", licence_id="VSPRO-2026-K8M1")
    assert (vs["seats"], vs["seats_assigned"], vs["cost"], str(vs["expiry"])) == (12, 12, Decimal("5388"), "2027-02-28")
    # Lines 3-4: two keyless Tableau Creator licences of CC-BI stay two licences (5 seats, 4 free; 2 seats, 2 free).
    tableau = staged.tables["licences"].filter(pl.col("product") == "Tableau Creator").sort("_line")
    assert tableau.select("seats", "seats_assigned").rows() == [(5, 1), (2, 0)]
    assert tableau.get_column("licence_id").n_unique() == 2


def test_snipeit_licence_export_supersedes_the_import_for_the_same_licence():
    _, staged = stage_exports(
        {
            "drop/import.csv": fixture("snipeit_licences", "good.csv"),
            "drop/export.csv": fixture("snipeit_licences", "good_export.csv"),
        }
    )
    m365 = row(staged, "licences", licence_id="M365-E3-7QK2-PLX9")
    assert (m365["_source_file"], m365["seats_assigned"]) == (2, 3)  # 25 total − 22 available
    # The first keyless Tableau licence of CC-BI has one id in both shapes: the export (newer) wins.
    assert staged.tables["licences"].filter(pl.col("product") == "Tableau Creator").height == 2
    assert file_counts(staged, 1)["rows_duplicate"] == 6 and file_counts(staged, 2)["rows_loaded"] == 4


def test_snipeit_licence_bad_rows_are_rejected():
    _, staged = stage_exports({"drop/licences_bad.csv": fixture("snipeit_licences", "bad.csv")})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (5, 1, 4)
    assert rejects(staged, 1) == [
        (2, "seats", "type:integer", "ten"),
        (3, "expiration date", "type:date", "13/45/2027"),
        (4, "Item name", "required", None),
        (5, "seats", "min:0", "-3"),
    ]


@realdata
def test_snipeit_vendor_licence_sample():
    parsed, staged = stage_realdata("snipeit/VENDOR_SAMPLE_licenses-sample.csv")
    assert parsed[0].kind == "snipeit_licences"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_duplicate"], counts["rows_rejected"]) == (
        50,
        50,
        0,
        0,
    )
    licences = staged.tables["licences"]
    assert licences.get_column("cost").null_count() == 0  # every "$12.58"-style cost is read
    # Line 2: Item name "Acetaminophen, Chlorpheniramine maleate, Phenylephrine HCl", serial 4c2713a1-...,
    # purchase date 11/24/2008, "$12.58", expiration 02/26/2016, seats 56, company Gislason-Hagenes.
    first = row(staged, "licences", licence_id="4c2713a1-5b73-4ecb-b2e9-62bf0ff57165")
    assert (first["seats"], first["seats_assigned"], first["cost"]) == (56, 1, Decimal("12.58"))
    assert (str(first["purchase_date"]), str(first["expiry"]), first["cost_centre"]) == (
        "2008-11-24",
        "2016-02-26",
        "Gislason-Hagenes",
    )


@realdata
def test_snipeit_vendor_asset_sample_keeps_its_kind_and_manufacturer():
    parsed, staged = stage_realdata("snipeit/VENDOR_SAMPLE_assets-sample.csv")
    assert parsed[0].kind == "snipeit_assets"
    # Line 2: Abshire and Sons,Backhoe,ICC-2065556,...,Manufacturer "Berge Inc"
    assert row(staged, "assets", asset_tag="ICC-2065556")["manufacturer"] == "Berge Inc"
