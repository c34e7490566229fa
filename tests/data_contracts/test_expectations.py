"""The contracts as great-expectations suites: GX's own engine agrees with the polars checks."""

import re

import polars as pl

from data_contracts.contract import all_contracts, conform
from data_contracts.expectations import rules, strftime_regex, suite, unexpected_counts, validation_result

RISKS = pl.DataFrame(
    {
        "risk_id": ["R1", "R2", "R3", "R4"],
        "project_id": ["P", "P", "P", "P"],
        "title": ["ok", "too likely", "", "fine"],
        "probability": ["0.25", "150", "0.1", "0.5"],
        "status": ["open", "open", "maybe", "closed"],
        "_line": [2, 3, 4, 5],
        "_source_file": [7, 7, 7, 7],
    }
)


def test_great_expectations_own_engine_finds_what_the_polars_checks_reject():
    import great_expectations as gx
    import pandas as pd

    contract = all_contracts()["risk_register"]
    checked = conform(RISKS, contract)
    ours = unexpected_counts(contract, checked.rejects.rename({"_source_file": "file_id"}))
    # GX validates the typed rows (blank → null) with the suite built from the same contract; it runs the
    # expectations its pandas engine can evaluate on typed values: not-null, in-set and between.
    native = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
              "expect_column_values_to_be_between"}  # fmt: skip
    gx_suite = suite(contract)
    gx_suite.expectations = [e for e in gx_suite.expectations if e.expectation_type in native]
    typed = checked.typed.select(pl.col(c.name).cast(pl.Float64) if c.type == "decimal" else c.name
                                 for c in contract.columns).to_pandas()  # fmt: skip
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("p").add_dataframe_asset("risks").add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": pd.DataFrame(typed)})
    )  # fmt: skip
    theirs = {
        (r.expectation_config.meta["pmo_column"], r.expectation_config.meta["pmo_rule"]): r.result["unexpected_count"]
        for r in batch.validate(gx_suite).results
        if r.result["unexpected_count"]
    }
    # R2 probability 150 > 100 (the top of any scale); R3 blank title and status "maybe": one row each, in both.
    assert theirs == {("probability", "max:100"): 1, ("title", "required"): 1, ("status", "allowed:open|closed"): 1}
    assert {(c, r): n for c, r, n in ours.select("column", "rule", "unexpected_count").rows()} == theirs


def test_every_contract_rule_is_an_expectation_and_results_are_gx_documents():
    contract = all_contracts()["tempo_worklogs"]
    listed = {(r.column, r.rule) for r in rules(contract)}
    assert {("Hours", "type:decimal"), ("Hours", "min:0"), ("Hours", "max:24"), ("Work date", "required")} <= listed
    counts = pl.DataFrame(
        {"file_id": [3], "column": ["Hours"], "rule": ["min:0"], "unexpected_count": [2], "partial": [["-1", "-4"]]}
    )
    doc = validation_result(contract, 50, counts).to_json_dict()
    assert doc["success"] is False and doc["statistics"]["unsuccessful_expectations"] == 1
    failed = [r for r in doc["results"] if not r["success"]]
    assert failed[0]["result"]["unexpected_count"] == 2 and failed[0]["result"]["unexpected_percent"] == 4.0
    assert len(doc["results"]) == len(rules(contract))


def test_date_formats_become_regexes_that_match_what_the_tools_write():
    assert re.match(strftime_regex("%d/%b/%y %I:%M %p"), "22/Sep/25 9:26 AM")
    assert re.match(strftime_regex("%Y-%m-%dT%H:%M:%S%.f%z"), "2023-01-20T18:25:30.148+0100")
    assert not re.match(strftime_regex("%Y-%m-%d"), "20/01/2023")
