"""ServiceNow list exports (incident, task, pm_project_task) → work_items."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest

from data_contracts.contract import detect
from tests.staging_helpers import REALDATA, file_counts, realdata, stage_exports, stage_realdata
from transforms.readers.servicenow import priority, status_category

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "servicenow_tasks"
REAL = "servicenow/pdi_demo_incident.csv"


def _items(staged) -> dict[str, dict]:
    return {r["item_key"]: r for r in staged.tables["work_items"].rows(named=True)}


def test_good_incident_export_loads_every_row():
    parsed, staged = stage_exports({"exports/incident.csv": (FIXTURES / "good.csv").read_bytes()})
    assert parsed[0].kind == "servicenow_tasks"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_rejected"]) == (6, 6, 0)
    items = _items(staged)
    # line 2: INC0010001, In Progress, 2 - High, opened 2026-03-02 08:15:00, due 2026-03-04, Network, 01:30:00 worked
    first = items["INC0010001"]
    assert (first["status"], first["status_category"], first["priority"]) == ("In Progress", "doing", "high")
    assert first["created_at"] == dt.datetime(2026, 3, 2, 8, 15)
    assert (first["due"], first["source_project_key"], first["assignment_group"]) == (
        dt.date(2026, 3, 4), "Network", "Network"
    )  # fmt: skip
    assert (first["assignee"], first["time_spent_h"], first["sla_breached"]) == ("Agent Alpha", 1.5, False)
    assert first["type"] == "incident" and first["source_kind"] == "servicenow"
    # line 3: Resolved 2026-03-03 11:30:00, reopen_count 1, "45 Minutes" worked
    second = items["INC0010002"]
    assert (second["status_category"], second["resolved_at"], second["reopen_count"]) == (
        "done", dt.datetime(2026, 3, 3, 11, 30), 1
    )  # fmt: skip
    assert second["time_spent_h"] == pytest.approx(0.75)
    # line 4: Closed, resolved 2026-03-02 04:00 (closed 03-05: the resolution wins), made_sla false
    third = items["INC0010003"]
    assert (third["priority"], third["resolved"], third["sla_breached"]) == ("critical", dt.date(2026, 3, 2), True)
    assert third["time_spent_h"] == pytest.approx(2 + 10 / 60)
    # line 5: New, 5 - Planning, no assignment group: no project key
    fourth = items["INC0010004"]
    assert (fourth["status_category"], fourth["priority"], fourth["source_project_key"]) == ("todo", "planning", None)
    # line 6: On Hold is started work that waits; parent INC0010001
    assert (items["INC0010005"]["status_category"], items["INC0010005"]["parent_key"]) == ("doing", "INC0010001")
    # line 7: Canceled, resolved by its closed_at 2026-03-02 09:00:00
    assert (items["INC0010006"]["status_category"], items["INC0010006"]["resolved"]) == ("done", dt.date(2026, 3, 2))
    # The snapshot is the newest sys_updated_on of the file: 2026-03-09 17:40:12 (line 2).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2026, 3, 9)}


def test_excel_export_of_project_tasks_in_windows_1252_with_labels_and_day_first_dates():
    data = (FIXTURES / "good_excel_project_tasks.csv").read_bytes()
    data.decode("cp1252")  # the fixture is what Excel writes: not UTF-8
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed, staged = stage_exports({"pm_project_task.csv": data})
    assert (parsed[0].kind, parsed[0].encoding) == ("servicenow_tasks", "cp1252")
    assert file_counts(staged)["rows_loaded"] == 4
    assert "opened_at" not in (staged.files["formats"][0] or "")
    assert "start_date: %d-%m-%Y %H:%M:%S" in staged.files["formats"][0]
    items = _items(staged)
    # line 2: PRJTASK0010001, Closed Complete, planned 02-03-2026..06-03-2026, actual end 06-03-2026 16:30,
    # planned effort "1 Day 16 Hours" (= 40 h: a glide duration day is 24 h), actual "1 Day 12 Hours"
    done = items["PRJTASK0010001"]
    assert (done["source_project_key"], done["type"], done["status_category"]) == (
        "Café payments rollout", "pm_project_task", "done"
    )  # fmt: skip
    assert (done["planned_start"], done["due"], done["resolved_at"]) == (
        dt.date(2026, 3, 2), dt.date(2026, 3, 6), dt.datetime(2026, 3, 6, 16, 30)
    )  # fmt: skip
    assert (done["original_estimate_h"], done["time_spent_h"], done["remaining_estimate_h"]) == (40.0, 36.0, 0.0)
    # line 3: Work in Progress, planned end 20-03-2026, remaining "2 Days 6 Hours"
    wip = items["PRJTASK0010002"]
    assert (wip["status_category"], wip["due"], wip["remaining_estimate_h"]) == ("doing", dt.date(2026, 3, 20), 54.0)
    # line 4: Pending milestone; line 5: Closed Skipped, quoted summary with a comma
    assert (items["PRJTASK0010003"]["status_category"], items["PRJTASK0010003"]["is_milestone"]) == ("todo", True)
    skipped = items["PRJTASK0010004"]
    assert (skipped["summary"], skipped["status_category"]) == ("Decommission old gateway, phase 1", "done")
    # Newest "Updated": 16-03-2026 18:05:00 (line 3).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2026, 3, 16)}


def test_task_export_with_us_twelve_hour_dates():
    text = (
        "number,short_description,state,priority,opened_at,sys_updated_on,assignment_group\n"
        "TASK0001001,Rotate certificates,Open,3 - Moderate,03/04/2026 09:05:00 PM,03/13/2026 08:00:00 AM,Security\n"
        "TASK0001002,Patch database,Closed Incomplete,2,03/05/2026 12:30:00 AM,03/05/2026 01:00:00 PM,DBA\n"
    )
    _, staged = stage_exports({"task.csv": text.encode()})
    items = _items(staged)
    # 03/13/2026 can only be month first: the whole file reads MM/dd/yyyy hh:mm:ss a.
    assert items["TASK0001001"]["created_at"] == dt.datetime(2026, 3, 4, 21, 5)
    assert items["TASK0001002"]["created_at"] == dt.datetime(2026, 3, 5, 0, 30)
    assert (items["TASK0001001"]["status_category"], items["TASK0001001"]["type"]) == ("todo", "task")
    assert (items["TASK0001002"]["status_category"], items["TASK0001002"]["priority"]) == ("done", "high")
    assert items["TASK0001001"]["snapshot_date"] == dt.date(2026, 3, 13)


def test_state_and_priority_scales():
    frame = pl.DataFrame(
        {
            "state": ["New", "Open", "Pending", "Draft", "In Progress", "Work in Progress", "On Hold",
                      "Resolved", "Closed", "Closed Complete", "Closed Skipped", "Canceled", "Cancelled", None],
        }
    )  # fmt: skip
    got = frame.select(status_category(pl.col("state"))).to_series().to_list()
    assert got == ["todo"] * 4 + ["doing"] * 3 + ["done"] * 6 + [None]
    values = ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low", "5 - Planning", "3", "Moderate", "urgent", None]
    got = pl.DataFrame({"p": values}).select(priority(pl.col("p"))).to_series().to_list()
    assert got == ["critical", "high", "medium", "low", "planning", "medium", "medium", None, None]


def test_bad_export_rejects_each_broken_row():
    _, staged = stage_exports({"incident.csv": (FIXTURES / "bad.csv").read_bytes()})
    counts = file_counts(staged)
    assert (counts["rows_loaded"], counts["rows_rejected"]) == (1, 5)
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "number", "required", ""),  # a quoted empty cell
        (4, "opened_at", "type:datetime", "2026-02-30 10:00:00"),
        (5, "reopen_count", "min:0", "-1"),
        (6, "made_sla", "type:boolean", "maybe"),
        (7, "state", "required", ""),
    ]
    assert staged.tables["work_items"]["item_key"].to_list() == ["INC0020001"]


def _generated(rows: int) -> bytes:
    header = '"number","short_description","state","priority","opened_at","assignment_group"\n'
    body = "".join(
        f'"INC{n:07d}","Generated {n}","New","4 - Low","2026-01-01 08:00:00","Service Desk"\n' for n in range(rows)
    )
    return (header + body).encode()


def test_a_file_of_exactly_the_export_limit_is_flagged_as_truncated():
    _, staged = stage_exports({"capped.csv": _generated(10_000), "below.csv": _generated(9_999)})
    capped, below = file_counts(staged, 1), file_counts(staged, 2)
    assert (capped["rows_in_file"], below["rows_in_file"]) == (10_000, 9_999)
    assert "10,000 rows" in capped["warning"] and "truncated" in capped["warning"]
    assert below["warning"] is None


def test_detection_needs_the_servicenow_signature():
    assert detect(["number", "short_description", "state", "priority"])[0] == "servicenow_tasks"
    assert detect(["Number", "Short description", "State", "Opened"])[0] == "servicenow_tasks"
    assert detect(["number", "priority", "opened_at"])[0] != "servicenow_tasks"


@realdata
def test_pdi_incident_export_every_row_loads_with_its_values():
    parsed, staged = stage_realdata(REAL)
    assert parsed[0].kind == "servicenow_tasks"
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"]) == (66, 66, 0)
    assert (counts["rows_rejected"], counts["rows_duplicate"], counts["warning"]) == (0, 0, None)
    items = _items(staged)
    # Independently, with the csv module: every row's values as the file has them.
    with (REALDATA / REAL).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read())))
    assert len(rows) == 66 == len(items)
    scale = {"1 - Critical": "critical", "2 - High": "high", "3 - Moderate": "medium", "4 - Low": "low",
             "5 - Planning": "planning"}  # fmt: skip
    category = {"New": "todo", "In Progress": "doing", "On Hold": "doing", "Closed": "done"}
    for row in rows:
        item = items[row["number"]]
        assert item["summary"] == row["short_description"]
        assert item["created_at"] == dt.datetime.strptime(row["opened_at"], "%Y-%m-%d %H:%M:%S")
        assert (item["status"], item["status_category"]) == (row["state"], category[row["state"]])
        assert item["priority"] == scale[row["priority"]]
        assert item["assignment_group"] == (row["assignment_group"] or None)
        assert item["source_project_key"] == (row["assignment_group"] or None)
        assert item["assignee"] == (row["assigned_to"] or None)
        assert item["type"] == "incident"
    # Line 66: INC0000002, opened 2020-11-22 15:07:12, 1 - Critical, On Hold, group Network.
    assert (items["INC0000002"]["created"], items["INC0000002"]["status_category"]) == (dt.date(2020, 11, 22), "doing")
    assert items["INC0000002"]["source_project_key"] == "Network" and items["INC0000002"]["_line"] == 66
    # No sys_updated_on column: the snapshot is the newest opened_at, 2021-02-24 01:42:59 (line 13, INC0000601).
    assert set(staged.tables["work_items"]["snapshot_date"]) == {dt.date(2021, 2, 24)}
    states = staged.tables["work_items"].group_by("status_category").len().sort("status_category").rows()
    assert states == [("doing", 27), ("done", 27), ("todo", 12)]
