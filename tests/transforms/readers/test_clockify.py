"""Clockify detailed report → worklogs: localised headers, date and time formats, GLPI and Jira keys."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from tests.staging_helpers import (
    REALDATA,
    file_counts,
    full_matches,
    realdata,
    stage_exports,
    stage_fixtures,
    stage_realdata,
    worklogs_by_line,
)

KIND = "clockify_time"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / KIND
REAL = "clockify/innovatium_ptBR_clockify_detailed.csv"


@pytest.mark.parametrize("name", ["good.csv", "good_de_without_decimal.csv", "bad.csv"])
def test_fixtures_are_detected_as_clockify_only(name):
    assert full_matches((FIXTURES / name).read_bytes()) == (KIND, [KIND])


@realdata
def test_real_file_is_detected_as_clockify_only():
    assert full_matches((REALDATA / REAL).read_bytes()) == (KIND, [KIND])


@pytest.mark.parametrize(
    "header",
    [
        "Proyecto,Cliente,Descripción,Tarea,Usuario,Grupo,Correo electrónico,Etiquetas,Facturable,Fecha de inicio,"
        "Hora de inicio,Fecha de finalización,Hora de finalización,Duración (h),Duración (decimal)",
        "Projet,Client,Description,Tâche,Utilisateur,Groupe,Email,Étiquettes,Facturable,Date de début,Heure de début,"
        "Date de fin,Heure de fin,Durée (h),Durée (décimal)",
    ],
)
def test_spanish_and_french_headers_are_clockify(header):
    row = "Web,Northwind,GLPI 5 - x,Dev,Ana Example,,ana@example.test,,Sí,02/03/2026,9:00,02/03/2026,10:30,1:30,1.50"
    parsed, staged = stage_exports({"drop/x.csv": f"{header}\n{row}\n".encode()})
    assert parsed[0].kind == KIND and not parsed[0].message  # every column known
    log = staged.tables["worklogs"].row(0, named=True)
    assert (log["work_date"], log["hours"], log["billable"], log["item_key"]) == (
        dt.date(2026, 3, 2),  # dd/mm/yyyy comes first when a file cannot tell
        Decimal("1.5"),
        True,
        "GLPI-5",
    )


def test_english_export_with_us_dates_and_twelve_hour_times():
    parsed, staged = stage_fixtures(KIND, "good.csv")
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (4, 4, 0)
    assert "Start Date: %m/%d/%Y" in counts["formats"]  # 03/13/2026 settles it
    rows = worklogs_by_line(staged)
    # line 2: Web Shop,Northwind Co,SHOP-12 checkout totals,...,Ana Example,...,ana@example.test,...,Yes,03/02/2026,
    #         09:05 AM,...,02:30:00,2.50
    first = rows[2]
    assert (first["work_date"], first["started_at"], first["hours"]) == (
        dt.date(2026, 3, 2),
        dt.datetime(2026, 3, 2, 9, 5),
        Decimal("2.5"),
    )
    assert (first["item_key"], first["billable"], first["person_email"], first["person_name"]) == (
        "SHOP-12",
        True,
        "ana@example.test",
        "Ana Example",
    )
    assert (first["source_kind"], first["source_project_key"], first["person_source_id"]) == (
        "clockify",
        "Web Shop",
        "ana@example.test",
    )
    # line 3: "GLPI 77 - printer queue", 11:30 PM, ends after midnight: work_date is the start date
    assert (rows[3]["item_key"], rows[3]["started_at"], rows[3]["billable"]) == (
        "GLPI-77",
        dt.datetime(2026, 3, 2, 23, 30),
        False,
    )
    assert rows[4]["item_key"] is None  # "Weekly sync"
    assert rows[5]["source_project_key"] is None and rows[5]["hours"] == Decimal("0.17")  # no project


def test_german_export_without_decimal_duration_reads_the_clock_duration():
    _, staged = stage_fixtures(KIND, "good_de_without_decimal.csv")
    counts = file_counts(staged)
    assert counts["rows_loaded"] == 2 and "Start Date: %d.%m.%Y" in counts["formats"]
    rows = worklogs_by_line(staged)
    # line 2: ...,Ticket 1353 Druckerwarteschlange,...,Ja,02.03.2026,08:00:00,...,01:30:00
    assert (rows[2]["hours"], rows[2]["work_date"], rows[2]["billable"], rows[2]["item_key"]) == (
        Decimal("1.5"),
        dt.date(2026, 3, 2),
        True,
        "GLPI-1353",
    )
    assert (rows[3]["hours"], rows[3]["billable"]) == (Decimal("0.6667"), False)  # 00:40:00, Nein


def test_bad_fixture_rejects_and_skips():
    _, staged = stage_fixtures(KIND, "bad.csv")
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "Duration (decimal)", "min:0.01", "0.00"),
        (4, "Duration (decimal)", "max:24", "25.00"),
        (5, "Duration (decimal)", "type:decimal", "1h"),
        (6, "End Date", "type:date", "2026-13-01"),
        (6, "Start Date", "type:date", "2026-13-01"),
        (7, "User", "required", None),
    ]
    assert staged.skipped.select("line", "reason").rows() == [
        (8, "Duration (h) '30:00:00' is over 24 hours for one entry"),
        (10, "Duration (h) 'n/a' is not a duration"),
    ]
    counts = file_counts(staged)
    assert (counts["rows_loaded"], counts["rows_rejected"], counts["rows_skipped"]) == (2, 5, 2)
    assert worklogs_by_line(staged)[9]["hours"] == Decimal("1.25")  # no decimal duration: "1:15"


@realdata
def test_real_pt_br_file_every_row_loads():
    parsed, staged = stage_realdata(REAL)
    assert parsed[0].kind == KIND
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        369,
        369,
        0,
        0,
    )
    assert counts["formats"] == "End Date: %d/%m/%Y; Start Date: %d/%m/%Y"
    rows = worklogs_by_line(staged)
    # line 2: "Sustentação Horário Comercial","ONCOCLÍNICAS","Ticket 1353 - Monitoramento",...,"31/01/2025","16:00",
    #         ...,"0:30","0.50"
    first = rows[2]
    assert (first["item_key"], first["work_date"], first["started_at"], first["hours"]) == (
        "GLPI-1353",
        dt.date(2025, 1, 31),
        dt.datetime(2025, 1, 31, 16, 0),
        Decimal("0.5"),
    )
    assert first["source_project_key"] == "Sustentação Horário Comercial" and first["billable"] is None
    # line 162: start "7:17" without a leading zero, 20/01/2025
    assert rows[162]["started_at"] == dt.datetime(2025, 1, 20, 7, 17) and rows[162]["item_key"] == "GLPI-1421"
    assert rows[25]["item_key"] == "GLPI-1359"  # "1359 - Monitoramento"
    assert rows[320]["item_key"] == "GLPI-1379"  # "Tikcet 1379 - reinicio iris dev"
    # 13 entries name no ticket (meetings, "Passagem de conhecimento", "IRISHEALTH Dev com alto consumo ...")
    assert sum(r["item_key"] is None for r in rows.values()) == 13
    text = (REALDATA / REAL).read_text(encoding="utf-8")
    expected = sum(Decimal(r["Duração (decimal)"]) for r in csv.DictReader(io.StringIO(text)))
    assert sum(r["hours"] for r in rows.values()) == expected == Decimal("289.96")
    assert len({r["worklog_id"] for r in rows.values()}) == 369
