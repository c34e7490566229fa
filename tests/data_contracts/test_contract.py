"""Contracts: detection by header signature, typing, and one reject per broken rule."""

import polars as pl
import pytest

from data_contracts.contract import _comma_files, all_contracts, conform, detect, load, parse_column
from data_contracts.expectations import rules
from transforms.ingest import parse_export


def test_every_contract_loads_and_signatures_are_distinct():
    contracts = all_contracts()
    assert len(contracts) >= 10
    for contract in contracts.values():
        kind, _ = detect(list(contract.signature))
        assert kind == contract.kind


def test_unknown_header_names_the_closest_formats():
    parsed = parse_export("drop/mystery.csv", b"Issue key,Summary,Foo\nA-1,x,y\n")
    assert parsed.status == "unrecognised"
    assert "closest: Jira issue export" in parsed.message and "drop/mystery.csv" in parsed.message


def test_missing_required_column_quarantines_the_file():
    parsed = parse_export("tempo/x.csv", b"Issue Key,Work date,Full name\nA-1,2026-01-05,Ana\n")
    assert parsed.status == "rejected" and "Hours" in parsed.message


def test_row_rules_give_line_column_rule_and_raw_value():
    raw = pl.DataFrame(
        {
            "risk_id": ["R1", "R2", "R3"],
            "project_id": ["P", "P", "P"],
            "title": ["ok", "too likely", ""],
            "probability": ["0,25", "150", "0.1"],
            "status": ["open", "open", "maybe"],
            "_line": [2, 3, 4],
            "_source_file": [9, 10, 10],  # file 9 writes decimal commas, file 10 decimal points
        }
    )
    c = conform(raw, all_contracts()["risk_register"])
    typed, rejects, formats = c.typed, c.rejects, c.formats
    assert typed.get_column("_valid").to_list() == [True, False, False]
    assert float(typed.get_column("probability")[0]) == 0.25  # decimal comma
    assert rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "probability", "max:100", "150"),
        (4, "status", "allowed:open|closed", "maybe"),
        (4, "title", "required", ""),
    ]
    assert formats.rows() == [(9, "probability", "decimal comma")]


def test_each_file_reads_decimals_with_the_separator_it_writes():
    raw = pl.DataFrame(
        {
            "Hours": ["1,5", "2", "1,234.5", "0.5", "2 553,25", "1.234,5", "7", "8"],
            "_source_file": [1, 1, 2, 2, 3, 3, 4, 4],
        }
    )
    # File 1 writes a decimal comma; file 2 a thousands comma and a decimal point; file 3 a thousands space
    # and dot with a decimal comma; file 4 no separator.
    assert _comma_files(raw, "Hours") == [1, 3]
    assert _comma_files(raw.filter(pl.col("_source_file") == 4), "Hours") == []
    hours = next(c for c in all_contracts()["tempo_worklogs"].columns if c.name == "Hours")
    value, _ = parse_column(hours, pl.col("Hours"), _comma_files(raw, "Hours"))
    got = raw.select(value.cast(pl.Float64)).to_series().to_list()
    assert got == [1.5, 2.0, 1234.5, 0.5, 2553.25, 1234.5, 7.0, 8.0]
    value, found = parse_column(hours, pl.col("Hours"))  # no file writes a comma: "1,5" reads as 15
    assert raw.select(value.cast(pl.Float64)).to_series().to_list()[:3] == [15.0, 2.0, 1234.5] and found is None


def test_a_row_rule_rejects_a_filled_column_without_the_columns_it_requires(tmp_path):
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "kind: k\ntitle: K\nsource: s\nsignature: [a]\ncolumns: [{name: a}, {name: b}, {name: c}]\n"
        "row_rules: [{name: a_needs_b_and_c, when_filled: a, require: [b, c]}]\n",
        encoding="utf-8",
    )
    contract = load(spec)
    raw = pl.DataFrame(
        {
            "a": ["x", "x", "x", " ", None],
            "b": ["1", " ", "1", None, None],
            "c": ["1", "1", None, None, "1"],
            "_line": [2, 3, 4, 5, 6],
            "_source_file": [1] * 5,
        }
    )
    c = conform(raw, contract)
    # Line 2 has a, b and c; lines 3 and 4 miss b (blank) or c; lines 5 and 6 leave a empty, so nothing is needed.
    assert c.rejects.select("line", "column", "rule", "raw_value").rows() == [
        (3, "a", "a_needs_b_and_c", "x"),
        (4, "a", "a_needs_b_and_c", "x"),
    ]
    assert c.typed.get_column("_valid").to_list() == [True, False, False, True, True]
    assert ("a", "a_needs_b_and_c") in {(r.column, r.rule) for r in rules(contract)}
    spec.write_text(spec.read_text(encoding="utf-8").replace("[b, c]", "[b, d]"), encoding="utf-8")
    with pytest.raises(ValueError, match="a_needs_b_and_c"):
        load(spec)
