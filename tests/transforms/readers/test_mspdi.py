"""Microsoft Project XML (MSPDI) → baselines: detection, streaming parse with lines, skips, rejects."""

from __future__ import annotations

import codecs
from decimal import Decimal
from pathlib import Path

import polars as pl

from tests.staging_helpers import file_counts, stage_exports
from transforms.ingest import parse_export
from transforms.mspdi_xml import parse_mspdi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mspdi_tasks"
GOOD = (FIXTURES / "good.xml").read_bytes()
BAD = (FIXTURES / "bad.xml").read_bytes()


def _task(uid: int, baselines: str, extra: str = "") -> str:
    return f"<Task><UID>{uid}</UID><Name>T{uid}</Name><Summary>0</Summary>{extra}{baselines}</Task>"


def _baseline(number: int, cost: int, start: str = "2026-02-02T08:00:00", finish: str = "2026-02-06T17:00:00") -> str:
    dates = f"<Start>{start}</Start><Finish>{finish}</Finish>"
    return f"<Baseline><Number>{number}</Number>{dates}<Cost>{cost}</Cost></Baseline>"


def _plan(tasks: str, header: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Project xmlns="http://schemas.microsoft.com/project">'
        f"<Title>Plan</Title>{header}<Tasks>\n{tasks}\n</Tasks></Project>\n"
    ).encode()


def test_mspdi_is_detected_and_parsed_one_row_per_task_with_its_line():
    parsed = parse_export("plans/erp.xml", GOOD)
    assert (parsed.status, parsed.kind, parsed.encoding, parsed.delimiter) == ("parsed", "mspdi_tasks", "utf-8", None)
    rows = parsed.rows
    assert rows.height == 10  # ten <Task> elements, UID 0..9
    # The <Task> start tags are on lines 54, 88, 122, 167, 200, 234, 268, 302, 325, 342 of good.xml.
    assert rows.get_column("_line").to_list() == [54, 88, 122, 167, 200, 234, 268, 302, 325, 342]
    lines = GOOD.decode().split("\n")
    assert all(lines[n - 1].strip() == "<Task>" for n in rows.get_column("_line"))
    task2 = rows.filter(pl.col("UID") == "2").row(0, named=True)
    # Task 2 has Baseline 0 (cost 1440000) and Baseline1 (720000); BaselineForEarnedValue is 0.
    assert (task2["Baseline Number"], task2["Baseline Cost"], task2["Baselines"]) == ("0", "1440000", "0,1")
    assert task2["Project Title"] == "ERP Finance Upgrade" and task2["StatusDate"] == "2026-03-15T17:00:00"


def test_mspdi_baselines_budget_in_currency_units_summaries_skipped():
    _, staged = stage_exports({"plans/erp.xml": GOOD})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        10,
        5,
        5,
        0,
    )
    skipped = staged.skipped.select("line", "reason").rows()
    assert [line for line, _ in skipped] == [54, 88, 200, 302, 325]
    assert skipped[0][1].startswith("project summary task") and skipped[1][1].startswith("summary task")
    assert skipped[3][1].startswith("no Baseline 0") and skipped[4][1] == "blank task row (IsNull)"
    baselines = staged.tables["baselines"]
    # Line 234: task UID 5 "Configure finance module", Baseline 0 Cost 3888000 (hundredths) = 38,880.00,
    # baseline Start 2026-01-19T08:00:00, Finish 2026-02-27T17:00:00; assigned to a work resource.
    task5 = baselines.filter(pl.col("element_key") == "5").row(0, named=True)
    assert (task5["project_id"], task5["baseline_version"], task5["budget"]) == (
        "ERP Finance Upgrade",
        1,
        Decimal("38880"),
    )
    assert (str(task5["planned_start"]), str(task5["planned_finish"])) == ("2026-01-19", "2026-02-27")
    assert (task5["element_name"], task5["cost_category"], task5["is_milestone"]) == (
        "Configure finance module",
        "labour",
        False,
    )
    assert (str(task5["effective_from"]), task5["source_kind"]) == ("2026-03-15", "mspdi")  # <StatusDate>
    # Line 268: UID 6 is assigned only to a cost resource (Type 2): not labour.
    assert baselines.filter(pl.col("element_key") == "6").get_column("cost_category").to_list() == ["other"]
    # Line 167: the sign-off milestone has no baseline <Cost>: budget 0.
    milestone = baselines.filter(pl.col("element_key") == "3").row(0, named=True)
    assert milestone["is_milestone"] is True and milestone["budget"] == 0
    # The leaf budgets add up to the project summary task's baseline cost (6528000 hundredths).
    assert baselines.get_column("budget").sum() == Decimal("65280")


def test_mspdi_bad_baselines_are_rejected_with_line_column_rule():
    _, staged = stage_exports({"plans/service-desk.xml": BAD})
    counts = file_counts(staged)
    assert (counts["rows_in_file"], counts["rows_loaded"], counts["rows_skipped"], counts["rows_rejected"]) == (
        5,
        1,
        1,
        3,
    )
    assert staged.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (86, "Baseline Cost", "type:decimal", "abc"),
        (120, "Baseline Finish", "type:date", "2026-02-30T17:00:00"),
        (154, "Baseline Cost", "min:0", "-50000"),
    ]
    # No <StatusDate>: the baseline applies from its own start, the project summary task's Baseline Start (line 52).
    kept = staged.tables["baselines"].row(0, named=True)
    assert (kept["element_key"], str(kept["effective_from"]), kept["budget"]) == ("4", "2026-02-02", Decimal("7200"))


def test_the_earned_value_baseline_is_the_one_read():
    tasks = "\n".join([_task(1, _baseline(0, 100000) + _baseline(1, 250000)), _task(2, _baseline(0, 50000))])
    plan = _plan(
        tasks, "<StatusDate>2026-03-01T17:00:00</StatusDate><BaselineForEarnedValue>1</BaselineForEarnedValue>"
    )
    _, staged = stage_exports({"plans/p.xml": plan})
    # Baseline1 is version 2; task 2 has no Baseline1 (added after it was saved) and is skipped.
    assert staged.tables["baselines"].select("element_key", "baseline_version", "budget").rows() == [
        ("1", 2, Decimal("2500"))
    ]
    assert staged.skipped.get_column("reason").to_list() == [
        "no Baseline 1 on this task: added after the baseline was saved"
    ]


def test_without_the_earned_value_baseline_the_highest_number_is_read():
    tasks = "\n".join([_task(1, _baseline(2, 100000) + _baseline(3, 120000)), _task(2, _baseline(3, 80000))])
    _, staged = stage_exports({"plans/p.xml": _plan(tasks)})  # BaselineForEarnedValue absent: 0, not present
    out = staged.tables["baselines"].select("element_key", "baseline_version", "budget", "reason").rows()
    assert out == [("1", 4, Decimal("1200"), "MS Project Baseline3"), ("2", 4, Decimal("800"), "MS Project Baseline3")]


def test_utf16_mspdi_and_line_numbers():
    plan = _plan("\n\n" + _task(7, _baseline(0, 1234)))
    data = codecs.BOM_UTF16_LE + plan.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")
    parsed = parse_export("plans/p.xml", data)
    assert (parsed.status, parsed.encoding) == ("parsed", "utf-16")
    assert parsed.rows.select("_line", "UID", "Baseline Cost").rows() == [(5, "7", "1234")]


def test_other_xml_is_unrecognised_and_malformed_xml_unreadable():
    other = parse_export("drop/feed.xml", b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>\n')
    assert other.status == "unrecognised" and other.kind is None
    assert "drop/feed.xml" in other.message and "<rss>" in other.message and "Microsoft Project" in other.message
    # Same root name, wrong namespace: not MSPDI either.
    assert parse_export("drop/p.xml", b"<Project><Tasks/></Project>").status == "unrecognised"
    broken = GOOD.replace(b"<Name>Go-live</Name>", b"<Name>Go-live</Nam>")
    bad = parse_export("plans/broken.xml", broken)
    assert bad.status == "unreadable" and bad.rows is None
    line = next(i for i, text in enumerate(broken.decode().split("\n"), 1) if "</Nam>" in text)
    # "\t\t\t<Name>Go-live</Nam>": expat stops at the closing tag's name, column 19 (1-based).
    assert f"line {line}, column 19" in bad.message and "mismatched tag" in bad.message


def test_html_tables_are_not_taken_for_xml():
    parsed = parse_export("drop/jira.xls", b"<html><body><table><tr><td>Key</td></tr></table></body></html>\n")
    assert parsed.kind is None and "XML" not in parsed.message


def test_csv_exports_are_still_read_as_csv():
    parsed = parse_export(
        "drop/evm.csv",
        b"project_id,status_date,pv,ev,ac,baseline_start,baseline_finish\nP,2026-03-01,1,1,1,2026-02-02,2026-05-29\n",
    )
    assert (parsed.status, parsed.kind, parsed.delimiter) == ("parsed", "evm_status", ",")


def test_parser_streams_large_plans():
    tasks = "\n".join(_task(uid, _baseline(0, uid * 100)) for uid in range(1, 3001))
    rows = parse_mspdi(_plan(tasks)).rows
    assert rows.height == 3000 and rows.get_column("_line").to_list()[-1] == 3002
    assert rows.filter(pl.col("UID") == "2999").get_column("Baseline Cost").to_list() == ["299900"]
