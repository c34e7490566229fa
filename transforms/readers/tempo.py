"""Tempo worklog export → canonical worklogs, one row per logged period of work."""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, id_or_row_hash, lineage

_FIELDS = ["Issue Key", "Work date", "Username", "Full name", "Hours", "Work Description"]


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per worklog. Without Tempo's worklog id, the id hashes the worklog's own fields
    plus its rank among identical rows of the file, so overlapping exports still deduplicate."""
    return typed.select(
        id_or_row_hash(typed, ["Worklog Id"], *(pl.col(c) for c in _FIELDS)).alias("worklog_id"),
        pl.lit("tempo").alias("source_kind"),
        pl.coalesce(pl.col("Username"), pl.col("Full name")).alias("person_source_id"),
        pl.col("Full name").alias("person_name"),
        pl.col("Issue Key").alias("item_key"),
        pl.col("Project Key").alias("source_project_key"),
        pl.col("Work date").alias("work_date"),
        pl.col("Hours").alias("hours"),
        (pl.col("Billed Hours").fill_null(0) > 0).alias("billable"),
        pl.col("Work Description").alias("description"),
        pl.concat_str(pl.lit("tempo|"), pl.col("Project Key")).alias("_scope"),
        *lineage(),
    )


READERS = [Reader("tempo_worklogs", "worklogs", worklogs)]
