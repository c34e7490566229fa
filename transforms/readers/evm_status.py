"""Time-phased earned value status file (pmo-kpi input, docs/inputs.md) → canonical evm_status.

The file is written by the PMO from its scheduling tool: one row per project and status date (a week end), with
cumulative pv, ev and ac in the warehouse currency. Rows after the last status date with actuals carry pv only.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage


def evm_status(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project and status date. bac defaults to the project's last planned value (pv at its
    latest status date, over every file of the kind: cumulative pv reaches the budget at completion);
    baseline_version defaults to 1."""
    last_pv = pl.col("pv").sort_by("status_date", "_source_file", "_line").last().over("project_id")
    return typed.select(
        "project_id",
        "status_date",
        "pv",
        "ev",
        "ac",
        pl.coalesce(pl.col("bac"), last_pv).alias("bac"),
        "baseline_start",
        "baseline_finish",
        pl.col("baseline_version").cast(pl.String).fill_null("1").alias("baseline_version"),
        *lineage(),
    )


READERS = [Reader("evm_status", "evm_status", evm_status)]
