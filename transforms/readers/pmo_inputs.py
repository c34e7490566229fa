"""The product's own inputs (project register, mapping, baseline, rates, people, holidays, risks, sprints and the
weekly project status).

Their columns already carry the canonical names (docs/inputs.md), so reading them is a selection.
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage


def _select(typed: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return typed.select(*columns, *lineage())


def projects(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per PMO project."""
    out = _select(
        typed,
        ["project_id", "name", "portfolio", "programme", "sponsor", "manager", "status", "ev_technique"],
    )
    return out.with_columns(
        typed.get_column("eac_method").fill_null("cpi"),
        typed.get_column("calendar_id").fill_null("default"),
        typed.get_column("closed_on"),
        typed.get_column("planned_rate"),
        typed.get_column("lessons_learned"),
    )


def project_map(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per source identifier."""
    return _select(typed, ["source_kind", "source_key", "project_id"])


def baselines(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per budgeted element of a baseline version."""
    cols = ["project_id", "baseline_version", "effective_from", "reason", "element_key", "cost_category"]
    extra = ["is_milestone", "ev_technique", "weight", "parent_key", "management_reserve", "contingency"]
    return _select(typed, [*cols, "element_name", "budget", "planned_start", "planned_finish", *extra]).with_columns(
        source_kind=pl.lit("baseline")
    )


def rates(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per person or role and start date of a rate."""
    return _select(typed, ["person_id", "role", "hourly_rate", "currency", "valid_from", "valid_to"])


def people(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per person."""
    cols = ["person_id", "display_name", "email", "team", "role", "jira_account_id", "tempo_user"]
    return _select(typed, [*cols, "contracted_hours_week"]).with_columns(
        typed.get_column("calendar_id").fill_null("default")
    )


def person_aliases(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per tool and user id, e-mail or name."""
    return _select(typed, ["source_kind", "source_user", "person_id"])


def holidays(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per calendar and non-working day."""
    return _select(typed, ["calendar_id", "date", "holiday"])


def risks(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per risk at its latest review."""
    cols = ["risk_id", "project_id", "title", "probability", "cost_impact", "schedule_impact_days"]
    return _select(typed, [*cols, "owner", "status", "review_date", "response"])


def sprints(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project and sprint of an agile release."""
    return _select(typed, ["project_id", "sprint", "start", "finish", "planned_points"])


def status_reports(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per project and status date: the manager's commentary, actions and RAG override."""
    return _select(
        typed, ["project_id", "status_date", "override_reason", "author", "entered_on", "commentary", "actions"]
    ).with_columns(typed.get_column("rag_override").str.to_lowercase())


READERS = [
    Reader("project_register", "projects", projects),
    Reader("project_map", "project_map", project_map),
    Reader("baseline", "baselines", baselines),
    Reader("rate_card", "rates", rates),
    Reader("people", "people", people),
    Reader("person_aliases", "person_aliases", person_aliases),
    Reader("holidays", "holidays", holidays),
    Reader("risk_register", "risks", risks),
    Reader("sprints", "sprints", sprints),
    Reader("project_status", "status_reports", status_reports),
]
