"""Join the tools that never meet: give work items, worklogs, assets and licences their PMO project, and
worklogs their person, across Jira, Tempo, Harvest, Toggl, Clockify, ServiceNow, GLPI and Snipe-IT.

Pure: frames in, frames out. What cannot be resolved stays NULL, is reported as a cost exception or a
data-quality finding, and is never dropped.
"""

from __future__ import annotations

import polars as pl

# Tools whose project keys are Jira's: a Jira mapping applies to them when they have none of their own.
JIRA_BASED = ("tempo", "jira")


def _project_keys(project_map: pl.DataFrame) -> pl.DataFrame:
    """(source_kind, source_key) → project_id, with Jira's keys repeated for the Jira-based tools."""
    own = project_map.select("source_kind", "source_key", "project_id")
    inherited = pl.concat(
        [
            own.filter(pl.col("source_kind") == "jira").with_columns(source_kind=pl.lit(tool))
            for tool in JIRA_BASED
            if tool != "jira"
        ]
    )
    keys = pl.concat([own, inherited]).unique(["source_kind", "source_key"], keep="first", maintain_order=True)
    return keys.with_columns(source_key=pl.col("source_key").str.to_lowercase())


def _by_source_key(frame: pl.DataFrame, keys: pl.DataFrame, key_col: str, alias: str) -> pl.DataFrame:
    lookup = keys.select(
        pl.col("source_kind").alias("_kind"), pl.col("source_key").alias("_key"), pl.col("project_id").alias(alias)
    )
    return (
        frame.with_columns(_kind=pl.col("source_kind"), _key=pl.col(key_col).str.strip_chars().str.to_lowercase())
        .join(lookup, on=["_kind", "_key"], how="left")
        .drop("_kind", "_key")
    )


def work_items(items: pl.DataFrame, project_map: pl.DataFrame) -> pl.DataFrame:
    """project_id from the item's tool and project key (Jira project, ServiceNow/GLPI group or project)."""
    return _by_source_key(items, _project_keys(project_map), "source_project_key", "project_id")


def worklogs(
    logs: pl.DataFrame,
    items: pl.DataFrame,
    project_map: pl.DataFrame,
    people: pl.DataFrame,
    aliases: pl.DataFrame,
) -> pl.DataFrame:
    """project_id: the mapping of the worklog's tool and project, else its ticket's project.
    person_id: an alias for the tool's user id, name or e-mail; else the person's e-mail, Jira account id,
    Tempo user, or display name (ignoring case; a name two people share matches nobody).
    `item_known`: whether the ticket the worklog names is in any ticket export."""
    latest = (
        items.sort("snapshot_date")
        .unique("item_key", keep="last")
        .select("item_key", pl.col("project_id").alias("_item_project"))
    )
    out = _by_source_key(logs, _project_keys(project_map), "source_project_key", "_mapped")
    out = out.join(latest, on="item_key", how="left").with_columns(
        project_id=pl.coalesce("_mapped", "_item_project"),
        item_known=pl.col("item_key").is_in(items.get_column("item_key").implode()),
    )
    return _person(out.drop("_mapped", "_item_project"), people, aliases)


def _person(logs: pl.DataFrame, people: pl.DataFrame, aliases: pl.DataFrame) -> pl.DataFrame:
    low = pl.col("source_user").str.strip_chars().str.to_lowercase()
    alias = aliases.select(pl.col("source_kind").alias("_kind"), low.alias("_user"), "person_id").unique(
        ["_kind", "_user"], keep="last"
    )

    def by(column: str, name: str) -> pl.DataFrame:
        return (
            people.filter(pl.col(column).is_not_null())
            .select(pl.col(column).str.strip_chars().str.to_lowercase().alias("_user"), pl.col("person_id").alias(name))
            .unique("_user", keep="none")
        )

    candidates = {
        "person_source_id": ["_alias_id", "_email_id", "_account", "_tempo"],
        "person_email": ["_alias_email", "_email"],
        "person_name": ["_alias_name", "_name"],
    }
    out = logs
    for column, names in candidates.items():
        out = out.with_columns(pl.col(column).str.strip_chars().str.to_lowercase().alias("_user"))
        out = out.join(
            alias.rename({"person_id": names[0]}), left_on=["source_kind", "_user"], right_on=["_kind", "_user"],
            how="left",
        )  # fmt: skip
        if column == "person_source_id":
            out = out.join(by("email", "_email_id"), on="_user", how="left")
            out = out.join(by("jira_account_id", "_account"), on="_user", how="left")
            out = out.join(by("tempo_user", "_tempo"), on="_user", how="left")
        elif column == "person_email":
            out = out.join(by("email", "_email"), on="_user", how="left")
        else:
            out = out.join(by("display_name", "_name"), on="_user", how="left")
        out = out.drop("_user")
    order = ["_alias_id", "_alias_email", "_alias_name", "_email", "_email_id", "_account", "_tempo", "_name"]
    return out.with_columns(person_id=pl.coalesce(order)).drop(order)


def assets(frame: pl.DataFrame, project_map: pl.DataFrame) -> pl.DataFrame:
    """project_id from the asset's tool and cost centre, else a mapping of the cost centre for any tool."""
    keys = _project_keys(project_map)
    out = _by_source_key(frame, keys, "cost_centre", "_own")
    generic = keys.filter(pl.col("source_kind") == "cost_centre").select(
        pl.col("source_key").alias("_key"), pl.col("project_id").alias("_generic")
    )
    out = out.with_columns(_key=pl.col("cost_centre").str.strip_chars().str.to_lowercase()).join(
        generic, on="_key", how="left"
    )
    return out.with_columns(project_id=pl.coalesce("_own", "_generic")).drop("_own", "_generic", "_key")
