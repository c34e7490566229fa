"""GLPI ticket exports (English, pt-BR and French headers) → work_items."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from data_contracts.contract import detect
from tests.staging_helpers import REALDATA, file_counts, realdata, stage_exports, stage_realdata
from transforms.readers.glpi import duration_hours

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "glpi_tickets"
EN = "glpi/esss_glpi_tickets_en_headers.csv"
PT = "glpi/ptBR_glpi_tickets_with_stats.csv"


def _items(staged) -> dict[str, dict]:
    return {r["item_key"]: r for r in staged.tables["work_items"].rows(named=True)}


def _csv_rows(relative: str) -> list[dict]:
    """The file read independently, with the csv module (semicolons, BOM, quoted multi-line cells)."""
    text = (REALDATA / relative).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def test_french_export_with_trailing_separator_multiline_cells_and_spaced_ids():
    parsed, staged = stage_exports({"tickets.csv": (FIXTURES / "good.csv").read_bytes()})
    assert parsed[0].kind == "glpi_tickets"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (5, 5, 0)
    items = _items(staged)
    assert sorted(items) == ["GLPI-2553", "GLPI-2554", "GLPI-2560", "GLPI-2561", "GLPI-2562"]
    # line 2: "2 553", Clos, Moyenne, opened 2026-03-02 09:15, solved 11:00, closed 03-03 08:00, TTR 17:15,
    # "Non", "1 heures 30 minutes", technicians "Technicien A <br>Technicien B"; Description spans lines 2-5.
    closed = items["GLPI-2553"]
    assert (closed["status"], closed["status_category"], closed["priority"]) == ("Clos", "done", "medium")
    assert (closed["created_at"], closed["resolved_at"], closed["sla_due_at"]) == (
        dt.datetime(2026, 3, 2, 9, 15), dt.datetime(2026, 3, 2, 11, 0), dt.datetime(2026, 3, 2, 17, 15)
    )  # fmt: skip
    assert (closed["sla_breached"], closed["time_spent_h"]) == (False, 1.5)
    assert (closed["assignee"], closed["assignment_group"]) == ("Technicien A, Technicien B", "Support N1")
    assert (closed["source_project_key"], closed["type"], closed["_line"]) == ("Matériel > Imprimante", "Incident", 2)
    # line 6 (after the 4-line description): En cours (attribué), Haute, "Oui", "2 jours 3 heures"
    doing = items["GLPI-2554"]
    assert (doing["status_category"], doing["priority"], doing["sla_breached"]) == ("doing", "high", True)
    assert (doing["time_spent_h"], doing["resolved"], doing["_line"]) == (51.0, None, 6)
    # line 7: Nouveau, Très basse, no category: the project key falls back to the group "Support N1"
    new = items["GLPI-2560"]
    assert (new["status_category"], new["priority"], new["source_project_key"]) == ("todo", "low", "Support N1")
    assert (new["sla_due_at"], new["sla_breached"], new["time_spent_h"]) == (None, None, 0.0)
    # line 8: En attente (pending is started work that waits), Majeure
    assert (items["GLPI-2561"]["status_category"], items["GLPI-2561"]["priority"]) == ("doing", "critical")
    # line 9: Résolu 2026-03-06 10:30 after its TTR 2026-03-05 17:00, no "exceeded" value: breached
    assert (items["GLPI-2562"]["status_category"], items["GLPI-2562"]["sla_breached"]) == ("done", True)
    # Newest "Dernière modification": 2026-03-06 16:45 (line 6).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2026, 3, 6)}


def test_bad_export_rejects_each_broken_row_and_warns_on_unknown_words():
    _, staged = stage_exports({"tickets.csv": (FIXTURES / "bad.csv").read_bytes()})
    counts = file_counts(staged)
    # Lines 3, 4 and 8 carry words this contract does not know (a status, a priority, an SLA flag): they load
    # with a warning, so a GLPI in another language loses no ticket. Lines 5-7 break real rules.
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (7, 4, 3)
    got = staged.rejects.select("line", "column", pl.col("rule").str.extract(r"^(\w+)"), "raw_value", "severity").rows()
    assert got == [
        (3, "Status", "allowed", "Waiting", "warning"),
        (4, "Priority", "allowed", "Urgent", "warning"),
        (5, "Opening Date", "required", "", "error"),
        (6, "ID", "type", "ABC", "error"),
        (7, "Opening Date", "type", "31-02-2026 11:00", "error"),
        (8, "Time to resolve exceeded", "allowed", "Maybe", "warning"),
    ]
    assert staged.rejects.filter(pl.col("line") == 6)["rule"].to_list() == ["type:integer"]
    assert staged.rejects.filter(pl.col("line") == 7)["rule"].to_list() == ["type:datetime"]
    # line 2 loads: "1 001" → GLPI-1001, Solved, SLA "No"
    item = staged.tables["work_items"].row(0, named=True)
    assert (item["item_key"], item["status_category"], item["sla_breached"]) == ("GLPI-1001", "done", False)
    waiting = staged.tables["work_items"].filter(pl.col("item_key") == "GLPI-1002").row(0, named=True)
    assert (waiting["status"], waiting["status_category"]) == ("Waiting", None)  # unknown, not guessed


def test_text_durations_in_every_ui_language():
    values = {
        "0 seconds": 0.0, "1 minutes": 1 / 60, "1 hours 30 minutes": 1.5, "1 days 1 hours 24 minutes": 25.4,
        "1 segundo": 1 / 3600, "3 minutos": 0.05, "1 dias 18 horas 47 minutos": 42 + 47 / 60,
        "2 jours 3 heures": 51.0, "45 minutes": 0.75, "02:30:00": 2.5, "1 Day 16 Hours": 40.0, "": None,
        "unknown": None,
    }  # fmt: skip
    got = pl.DataFrame({"t": list(values)}).select(duration_hours(pl.col("t"))).to_series().to_list()
    assert got == pytest.approx(list(values.values()))


def test_detection():
    assert detect(["ID", "Title", "Status", "Opening Date", ""])[0] == "glpi_tickets"
    assert detect(["ID", "Título", "Status", "Data de abertura"])[0] == "glpi_tickets"
    assert detect(["ID", "Titre", "Statut", "Date d'ouverture"])[0] == "glpi_tickets"
    assert detect(["ID", "Title", "Status"])[0] != "glpi_tickets"


# Total Duration values of the English file, converted by hand.
_EN_DURATIONS = {
    "0 seconds": 0.0, "1 minutes": 1 / 60, "5 minutes": 5 / 60, "10 minutes": 10 / 60, "15 minutes": 0.25,
    "20 minutes": 20 / 60, "30 minutes": 0.5, "1 hours 0 minutes": 1.0, "1 hours 30 minutes": 1.5,
    "2 hours 0 minutes": 2.0, "3 hours 0 minutes": 3.0, "3 hours 30 minutes": 3.5, "4 hours 0 minutes": 4.0,
    "7 hours 0 minutes": 7.0, "10 hours 0 minutes": 10.0, "1 days 1 hours 24 minutes": 25.4,
}  # fmt: skip
_EN_STATUS = {"Processing (assigned)": "doing", "Processing (planned)": "doing", "Pending": "doing"}


@realdata
def test_english_headers_export_every_row_loads_with_its_values():
    parsed, staged = stage_realdata(EN)
    assert parsed[0].kind == "glpi_tickets" and parsed[0].delimiter == ";"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"]) == (84, 84, 0)
    assert (counts["rows_rejected"], counts["rows_duplicate"]) == (0, 0)
    items = _items(staged)
    rows = _csv_rows(EN)
    assert len(rows) == 84 == len(items)
    for row in rows:
        item = items["GLPI-" + row["ID"]]
        assert item["summary"] == row["Title"]
        assert item["created_at"] == dt.datetime.strptime(row["Opening Date"], "%d-%m-%Y %H:%M")
        assert (item["status"], item["status_category"]) == (row["Status"], _EN_STATUS[row["Status"]])
        assert item["priority"] == row["Priority"].lower()  # Medium or High
        assert item["source_project_key"] == (row["Plugins - Info Adicional - Centro de Custo"] or None)
        assert item["assignee"] == row["Assigned To - Technician"].replace(" <br>", ", ")
        assert item["time_spent_h"] == pytest.approx(_EN_DURATIONS[row["Total Duration"]])
        assert item["resolved"] is None  # no Resolution or Closing Date in this export
    # Line 2: ticket 73593, opened 31-10-2024 10:42, Commercial Ansys, two technicians, "10 minutes".
    first = items["GLPI-73593"]
    assert (first["_line"], first["created"], first["source_project_key"]) == (
        2,
        dt.date(2024, 10, 31),
        "Commercial Ansys",
    )
    assert first["assignee"].count(", ") == 1 and first["time_spent_h"] == pytest.approx(1 / 6)
    # Newest "Last Update": 01-11-2024 07:54 (line 2).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2024, 11, 1)}
    assert sum(1 for i in items.values() if i["source_project_key"] is None) == 3


_PT_PRIORITY = {"Muito baixa": "low", "Baixa": "low", "Média": "medium", "Alta": "high"}


@realdata
def test_ptbr_export_every_row_loads_with_its_values():
    parsed, staged = stage_realdata(PT)
    assert parsed[0].kind == "glpi_tickets"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"]) == (148, 148, 0)
    assert (counts["rows_rejected"], counts["rows_duplicate"]) == (0, 0)
    items = _items(staged)
    rows = _csv_rows(PT)
    assert len(rows) == 148 == len(items)

    def when(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, "%d/%m/%Y %H:%M")

    for row in rows:
        item = items["GLPI-" + row["ID"].replace(" ", "")]
        assert item["summary"] == row["Título"]
        assert item["status_category"] == "done"  # Fechado or Solucionado
        assert item["priority"] == _PT_PRIORITY[row["Prioridade"]]
        assert (item["created_at"], item["resolved_at"]) == (
            when(row["Data de abertura"]),
            when(row["Data da solução"]),
        )
        assert item["sla_due_at"] == when(row["Tempo para solução"])
        assert item["sla_breached"] == (row["Tempo para resolver excedido"] == "Sim")
        assert item["source_project_key"] == row["Categoria"]
        assert item["type"] == row["Tipo"]
    # Line 2: "52 267", Solucionado, Média, opened 22/08/2025 11:49, TTR 15:49, solved 11:52, "Não".
    first = items["GLPI-52267"]
    assert (first["_line"], first["status"], first["priority"], first["sla_breached"]) == (
        2,
        "Solucionado",
        "medium",
        False,
    )
    assert first["resolved_at"] == dt.datetime(2025, 8, 22, 11, 52)
    breached = staged.tables["work_items"].filter(pl.col("sla_breached"))
    assert breached.height == 10
    assert (breached["resolved_at"] > breached["sla_due_at"]).all()
    # Newest "Última atualização": 22/08/2025 11:52 (line 2).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2025, 8, 22)}
