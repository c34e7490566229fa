"""Microsoft Project XML (MSPDI) → canonical baselines, one row per task of the plan's earned-value baseline.

transforms/mspdi_xml.py turns the XML into one string row per `<Task>`, carrying the baseline MS Project uses for
earned value (`BaselineForEarnedValue`, default 0 = "Baseline"). Quirks handled here:
- MSPDI writes costs in hundredths of the currency unit (`<Cost>150000</Cost>` is 1,500.00; MPXJ's
  DatatypeConverter.parseCurrency divides by 100): budget = Baseline Cost / 100. A baseline without `<Cost>`
  (MS Project leaves zero costs out) budgets 0.
- Baseline numbers are slots: Baseline 0 is version 1, Baseline1 version 2 ... Baseline10 version 11.
- Summary tasks (and the project summary task, UID 0) repeat the sum of their subtasks: they are skipped, with a
  reason, so a budget is never counted twice. Blank rows (`IsNull`) and tasks without the baseline (added after it
  was saved) are skipped too: they are not budgeted elements.
- The plan names no PMO project: project_id is the file's `<Title>` (else `<Name>`, the file name MS Project
  saved), to be mapped through project_map (`source_kind` mspdi).
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage


def skip(raw: pl.DataFrame) -> pl.Expr:
    """Tasks that are not budgeted elements, with the reason."""

    def flag(name: str) -> pl.Expr:
        return (pl.col(name) if name in raw.columns else pl.lit(None, pl.String)).str.strip_chars() == "1"

    uid = pl.col("UID").str.strip_chars() if "UID" in raw.columns else pl.lit(None, pl.String)
    number = pl.col("Baseline Number") if "Baseline Number" in raw.columns else pl.lit(None, pl.String)
    chosen = pl.col("BaselineForEarnedValue") if "BaselineForEarnedValue" in raw.columns else pl.lit("0")
    return (
        pl.when(flag("IsNull"))
        .then(pl.lit("blank task row (IsNull)"))
        .when(uid == "0")
        .then(pl.lit("project summary task (UID 0): the sum of the plan"))
        .when(flag("Summary"))
        .then(pl.lit("summary task: its budget is the sum of its subtasks'"))
        .when(number.is_null())
        .then(pl.format("no Baseline {} on this task: added after the baseline was saved", chosen.fill_null("0")))
    )


def baselines(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per task (element_key = its UID) of the baseline version, per project."""
    number = pl.col("Baseline Number")
    types = pl.col("Resource Types").fill_null("")
    # Only material (0) or cost (2) resources assigned and no work resource: not labour.
    not_labour = (types != "") & ~types.str.contains("1")
    # Without a status date, the baseline applies from its own start: the project summary task's baseline start.
    first_start = pl.coalesce(pl.col("Project Baseline Start"), pl.col("Baseline Start").min().over("_source_file"))
    return typed.select(
        pl.coalesce(pl.col("Project Title"), pl.col("Project Name")).alias("project_id"),
        (number + 1).alias("baseline_version"),
        pl.coalesce(pl.col("StatusDate"), first_start).alias("effective_from"),
        pl.when(number == 0)
        .then(pl.lit("MS Project Baseline"))
        .otherwise(pl.format("MS Project Baseline{}", number))
        .alias("reason"),
        pl.col("UID").cast(pl.String).alias("element_key"),
        pl.col("Name").alias("element_name"),
        pl.when(not_labour).then(pl.lit("other")).otherwise(pl.lit("labour")).alias("cost_category"),
        (pl.col("Baseline Cost").fill_null(0) / 100).alias("budget"),
        pl.col("Baseline Start").alias("planned_start"),
        pl.col("Baseline Finish").alias("planned_finish"),
        pl.col("Milestone").fill_null(False).alias("is_milestone"),
        pl.lit("mspdi").alias("source_kind"),
        *lineage(),
    )


READERS = [Reader("mspdi_tasks", "baselines", baselines, skip=skip)]
