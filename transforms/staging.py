"""Raw rows of one export kind → typed, checked, deduplicated canonical rows, with every row accounted for.

Pure: frames in, frames out. Per file, rows in file = loaded + duplicate + rejected (+ skipped, later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from data_contracts.contract import all_contracts, conform
from transforms.readers import jira, pmo_inputs, snipeit, tempo


@dataclass(frozen=True)
class Reader:
    table: str
    read: Callable[[pl.DataFrame], pl.DataFrame]
    key: tuple[str, ...]


READERS: dict[str, Reader] = {
    "jira_issues": Reader("work_items", jira.work_items, ("item_key", "snapshot_date")),
    "tempo_worklogs": Reader("worklogs", tempo.worklogs, ("worklog_id",)),
    "snipeit_assets": Reader("assets", snipeit.assets, ("asset_tag",)),
    "project_register": Reader("projects", pmo_inputs.projects, ("project_id",)),
    "project_map": Reader("project_map", pmo_inputs.project_map, ("source_kind", "source_key")),
    "baseline": Reader("baselines", pmo_inputs.baselines, ("project_id", "baseline_version", "element_key")),
    "rate_card": Reader("rates", pmo_inputs.rates, ("person_id", "role", "valid_from")),
    "people": Reader("people", pmo_inputs.people, ("person_id",)),
    "holidays": Reader("holidays", pmo_inputs.holidays, ("calendar_id", "date")),
    "risk_register": Reader("risks", pmo_inputs.risks, ("risk_id",)),
}

COUNT_SCHEMA = {
    "_source_file": pl.Int64,
    "rows_in_file": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_duplicate": pl.Int64,
    "rows_rejected": pl.Int64,
}


@dataclass(frozen=True)
class Staged:
    rows: pl.DataFrame  # canonical rows, one per natural key, sorted by it
    rejects: pl.DataFrame  # _source_file, line, column, rule, raw_value
    counts: pl.DataFrame  # COUNT_SCHEMA: one row per file


def stage(kind: str, raw: pl.DataFrame) -> Staged:
    """Check a kind's raw rows against its contract, read them into the canonical table, and keep one row
    per natural key: the one from the newest file (highest file id), last line first."""
    reader = READERS[kind]
    typed, rejects = conform(raw, all_contracts()[kind])
    canonical = reader.read(typed.filter(pl.col("_valid")))
    ranked = canonical.with_columns(
        _keep=pl.int_range(pl.len()).over(reader.key, order_by=["_source_file", "_line"], descending=True) == 0
    )
    rows = ranked.filter(pl.col("_keep")).drop("_keep").sort(*reader.key)
    per_file = raw.group_by("_source_file").agg(rows_in_file=pl.len())
    rejected = rejects.group_by("_source_file").agg(rows_rejected=pl.col("line").n_unique())
    dupes = ranked.filter(~pl.col("_keep")).group_by("_source_file").agg(rows_duplicate=pl.len())
    counts = (
        per_file.join(rejected, on="_source_file", how="left")
        .join(dupes, on="_source_file", how="left")
        .with_columns(pl.col("rows_rejected", "rows_duplicate").fill_null(0))
        .with_columns(rows_loaded=pl.col("rows_in_file") - pl.col("rows_rejected") - pl.col("rows_duplicate"))
        .select(list(COUNT_SCHEMA))
        .cast(COUNT_SCHEMA)
        .sort("_source_file")
    )
    return Staged(rows=rows, rejects=rejects, counts=counts)


def resolve_work_items(work_items: pl.DataFrame, project_map: pl.DataFrame) -> pl.DataFrame:
    """Give each work item its PMO project through the project map (Jira project keys)."""
    jira_map = project_map.filter(pl.col("source_kind") == "jira").select(
        pl.col("source_key").alias("source_project_key"), "project_id"
    )
    return work_items.join(jira_map, on="source_project_key", how="left")


def resolve_worklogs(worklogs: pl.DataFrame, project_map: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Give each worklog its project (Tempo or Jira project key) and its person (Tempo user id, else the
    display name, ignoring case). Unresolved stays NULL and is reported as a cost exception, never dropped."""
    keys = (
        project_map.filter(pl.col("source_kind").is_in(["tempo", "jira"]))
        .sort("source_kind", descending=True)  # a Tempo-specific mapping beats the Jira one
        .unique("source_key", keep="first")
        .select(pl.col("source_key").alias("source_project_key"), "project_id")
    )
    by_user = people.filter(pl.col("tempo_user").is_not_null()).select(
        pl.col("tempo_user").alias("person_source_id"), pl.col("person_id").alias("_by_user")
    )
    by_name = people.select(
        pl.col("display_name").str.to_lowercase().alias("_name"), pl.col("person_id").alias("_by_name")
    ).unique("_name", keep="none")
    return (
        worklogs.join(keys, on="source_project_key", how="left")
        .join(by_user, on="person_source_id", how="left")
        .with_columns(_name=pl.col("person_name").str.to_lowercase())
        .join(by_name, on="_name", how="left")
        .with_columns(person_id=pl.coalesce("_by_user", "_by_name"))
        .drop("_by_user", "_by_name", "_name")
    )
