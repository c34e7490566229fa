"""The contracts as great-expectations suites, and each file's contract results as GX validation results.

Rows are checked by polars (`contract.conform`): one vectorised pass over every row of every file, which
costs a fraction of GX's pandas engine and works on duckdb 2.0, where GX's SQL datasource does not.
Great-expectations stays the home of the suites and of the validation results: `rules` lists one
expectation per contract rule (pure, no GX import), `suite` builds the GX ExpectationSuite, and
`validation_result` reports one file's checks as a GX ExpectationSuiteValidationResult. GX is imported only
inside those two functions: it takes ~7 s to import, and holds ~200 MB. The pipeline calls `documents`, which builds
a run's suites and results, in a worker process (pipelines/assets.py), so the run's own process never imports it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from data_contracts.contract import FUTURE_DAYS, Contract

_STRFTIME = {
    "%d": r"\d{1,2}", "%m": r"\d{1,2}", "%Y": r"\d{4}", "%y": r"\d{2}", "%b": r"[A-Za-zÀ-ÿ]{3,4}\.?",
    "%B": r"[A-Za-zÀ-ÿ]+", "%H": r"\d{1,2}", "%I": r"\d{1,2}", "%M": r"\d{2}", "%S": r"\d{2}",
    "%p": r"[AaPp]\.?[Mm]\.?", "%z": r"(Z|[+-]\d{2}:?\d{2})", "%.f": r"(\.\d+)?", "%f": r"\d+",
}  # fmt: skip
_TYPE_REGEX = {
    "integer": r"^\s*-?[\d\s\u00a0\u202f']+\s*$",
    "decimal": r"^\s*-?[\d\s\u00a0\u202f'.,]+\s*$",
    "boolean": r"(?i)^\s*(yes|true|1|y|billable|no|false|0|n|non-billable)\s*$",
}


@dataclass(frozen=True)
class Rule:
    """One contract rule as a GX expectation: the reject rule it stands for and the expectation's kwargs."""

    column: str
    rule: str  # as written in audit.rejects: required, type:decimal, allowed:a|b, min:0, max:24, ...
    expectation: str  # GX expectation type
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"


def strftime_regex(fmt: str) -> str:
    """A regular expression for the text a strftime format writes (used where GX cannot parse dates)."""
    out, i = "", 0
    while i < len(fmt):
        token = fmt[i : i + 3] if fmt[i : i + 3] == "%.f" else fmt[i : i + 2]
        if token in _STRFTIME:
            out, i = out + _STRFTIME[token], i + len(token)
        else:
            out, i = out + re.escape(fmt[i]), i + 1
    return f"^\\s*{out}\\s*$"


def rules(contract: Contract, week_ends_on: str = "sunday") -> list[Rule]:
    """Every row rule of a contract, in the order `conform` checks them."""
    out: list[Rule] = []
    for col in contract.columns:
        sev, name = col.severity, col.name
        if col.type in _TYPE_REGEX:
            out.append(Rule(name, f"type:{col.type}", "expect_column_values_to_match_regex",
                            {"column": name, "regex": _TYPE_REGEX[col.type]}, sev))  # fmt: skip
        elif col.type in ("date", "datetime"):
            out.append(Rule(name, f"type:{col.type}", "expect_column_values_to_match_regex_list",
                            {"column": name, "regex_list": [strftime_regex(f) for f in col.formats],
                             "match_on": "any"}, sev))  # fmt: skip
        if col.required:
            out.append(Rule(name, "required", "expect_column_values_to_not_be_null", {"column": name}, sev))
        if col.allowed:
            out.append(Rule(name, "allowed:" + "|".join(col.allowed), "expect_column_values_to_be_in_set",
                            {"column": name, "value_set": list(col.allowed)}, sev))  # fmt: skip
        if col.min is not None:
            out.append(Rule(name, f"min:{col.min}", "expect_column_values_to_be_between",
                            {"column": name, "min_value": col.min}, sev))  # fmt: skip
        if col.max is not None:
            out.append(Rule(name, f"max:{col.max}", "expect_column_values_to_be_between",
                            {"column": name, "max_value": col.max}, sev))  # fmt: skip
        if col.earliest is not None:
            query = f"SELECT * FROM {{batch}} WHERE CAST(\"{name}\" AS DATE) < DATE '{col.earliest.isoformat()}'"
            out.append(Rule(name, f"min_date:{col.earliest.isoformat()}", "unexpected_rows_expectation",
                            {"unexpected_rows_query": query}, sev))  # fmt: skip
        if col.not_future:  # against the day the batch is validated: the load day is not in the batch
            query = f'SELECT * FROM {{batch}} WHERE CAST("{name}" AS DATE) > current_date + {FUTURE_DAYS}'
            out.append(Rule(name, f"max_date:loaded+{FUTURE_DAYS}d", "unexpected_rows_expectation",
                            {"unexpected_rows_query": query}, sev))  # fmt: skip
        if col.on_week_end:
            query = f"SELECT * FROM {{batch}} WHERE dayname(\"{name}\") <> '{week_ends_on.capitalize()}'"
            out.append(Rule(name, f"week_end:{week_ends_on}", "unexpected_rows_expectation",
                            {"unexpected_rows_query": query}, sev))  # fmt: skip
        if col.same_within:
            group = col.same_within
            query = (
                f'SELECT * FROM {{batch}} WHERE "{group}" IN (SELECT "{group}" FROM {{batch}} '
                f'GROUP BY 1 HAVING count(DISTINCT "{name}") > 1)'
            )
            out.append(Rule(name, f"same_within:{group}", "unexpected_rows_expectation",
                            {"unexpected_rows_query": query}, sev))  # fmt: skip
    for row_rule in contract.row_rules:
        missing = " OR ".join(f'"{c}" IS NULL' for c in row_rule.require)
        query = f'SELECT * FROM {{batch}} WHERE "{row_rule.when_filled}" IS NOT NULL AND ({missing})'
        out.append(Rule(row_rule.when_filled, row_rule.name, "unexpected_rows_expectation",
                        {"unexpected_rows_query": query}, row_rule.severity))  # fmt: skip
    return out


def _expectation(rule: Rule):
    import great_expectations as gx  # lazy: ~7 s

    classes = {
        "expect_column_values_to_match_regex": gx.expectations.ExpectColumnValuesToMatchRegex,
        "expect_column_values_to_match_regex_list": gx.expectations.ExpectColumnValuesToMatchRegexList,
        "expect_column_values_to_not_be_null": gx.expectations.ExpectColumnValuesToNotBeNull,
        "expect_column_values_to_be_in_set": gx.expectations.ExpectColumnValuesToBeInSet,
        "expect_column_values_to_be_between": gx.expectations.ExpectColumnValuesToBeBetween,
        "unexpected_rows_expectation": gx.expectations.UnexpectedRowsExpectation,
    }
    meta = {"pmo_rule": rule.rule, "pmo_column": rule.column, "pmo_severity": rule.severity}
    return classes[rule.expectation](
        **rule.kwargs, meta=meta, severity="warning" if rule.severity == "warning" else "critical"
    )


def suite(contract: Contract, week_ends_on: str = "sunday"):
    """The contract as a GX ExpectationSuite named after its kind."""
    import great_expectations as gx  # lazy: ~7 s

    return gx.ExpectationSuite(
        name=contract.kind,
        expectations=[_expectation(r) for r in rules(contract, week_ends_on)],
        meta={"title": contract.title, "source": contract.source, "keys": list(contract.keys)},
    )


def unexpected_counts(contract: Contract, rejects: pl.DataFrame, week_ends_on: str = "sunday") -> pl.DataFrame:
    """Per file and rule: how many rows broke it, from audit.rejects rows (file_id, column, rule, raw_value).

    Repeated columns (Sprint__2) count under their contract column. Returns file_id, column, rule,
    unexpected_count, partial (up to 20 raw values)."""
    listed = pl.DataFrame(
        [(r.column, r.rule) for r in rules(contract, week_ends_on)], schema=["column", "rule"], orient="row"
    )
    return (
        rejects.with_columns(pl.col("column").str.replace(r"__\d+$", ""))
        .join(listed, on=["column", "rule"], how="semi")
        .group_by("file_id", "column", "rule")
        .agg(unexpected_count=pl.len(), partial=pl.col("raw_value").head(20))
        .sort("file_id", "column", "rule")
    )


def validation_result(contract: Contract, rows_in_file: int, counts: pl.DataFrame, week_ends_on: str = "sunday"):
    """One file's contract checks as a GX ExpectationSuiteValidationResult.

    `counts`: this file's rows of `unexpected_counts`. A rule nobody broke is a success with 0 unexpected.
    """
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    broken = {(c, r): (n, p) for c, r, n, p in counts.select("column", "rule", "unexpected_count", "partial").rows()}
    results = []
    for rule in rules(contract, week_ends_on):
        n, partial = broken.get((rule.column, rule.rule), (0, []))
        results.append(
            ExpectationValidationResult(
                success=n == 0,
                expectation_config=_expectation(rule).configuration,
                result={
                    "element_count": rows_in_file,
                    "unexpected_count": n,
                    "unexpected_percent": 100.0 * n / rows_in_file if rows_in_file else None,
                    "partial_unexpected_list": list(partial),
                },
            )
        )
    failed = sum(1 for r in results if not r.success)
    return ExpectationSuiteValidationResult(
        success=failed == 0,
        results=results,
        suite_name=contract.kind,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": len(results) - failed,
            "unsuccessful_expectations": failed,
            "success_percent": 100.0 * (len(results) - failed) / len(results) if results else None,
        },
    )


def warm_up() -> bool:
    """In the contracts' worker, before the run needs it (pipelines/assets.py): lower the process's priority to the
    lowest, then import great-expectations, so that the import takes only what the run's own process leaves of the
    cores. Whether it imported; a broken install fails where GX is used, with its own error."""
    os.nice(19)
    try:
        import great_expectations  # noqa: F401
    except Exception:
        return False
    return True


def documents(
    files: list[tuple[int, str, int]], rejects: pl.DataFrame, week_ends_on: str = "sunday"
) -> tuple[list[tuple[str, str]], list[tuple[int, str, bool, int, str]]]:
    """The GX documents of a run: per kind among `files` (file_id, kind, rows_in_file) its suite as JSON, and per
    file (file_id, kind, success, failed expectations, its validation result as JSON). `rejects`: audit.rejects'
    file_id, column, rule, raw_value. Plain values, so that it can run in a process of its own."""
    import json

    from data_contracts.contract import all_contracts

    contracts = all_contracts()
    kinds = sorted({kind for _, kind, _ in files})
    suites = [(k, json.dumps(suite(contracts[k], week_ends_on).to_json_dict())) for k in kinds]
    counts = {k: unexpected_counts(contracts[k], rejects, week_ends_on) for k in kinds}
    validations = []
    for file_id, kind, rows_in_file in files:
        mine = counts[kind].filter(pl.col("file_id") == file_id)
        result = validation_result(contracts[kind], rows_in_file, mine, week_ends_on).to_json_dict()
        validations.append((file_id, kind, result["success"], result["statistics"]["unsuccessful_expectations"],
                            json.dumps(result)))  # fmt: skip
    return suites, validations
