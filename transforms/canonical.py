"""The canonical staging tables every reader fills and every KPI reads (../shared/MODEL.md).

A reader returns any subset of its table's columns plus `_source_file` and `_line`; `conform_table` adds
the missing ones as NULL and casts to these types, so every reader's rows stack into one table.
"""

from __future__ import annotations

import polars as pl

MONEY = pl.Decimal(18, 4)
HOURS = pl.Decimal(18, 4)
S, D, TS, F, INT, B = pl.String, pl.Date, pl.Datetime("us"), pl.Float64, pl.Int64, pl.Boolean
LINEAGE = {"_source_file": INT, "_line": INT}

TABLES: dict[str, dict[str, pl.DataType]] = {
    "work_items": {
        "item_key": S, "snapshot_date": D, "source_kind": S, "source_project_key": S, "summary": S,
        "type": S, "status": S,
        "status_category": S,  # todo | doing | done
        "priority": S,  # critical | high | medium | low | planning, mapped from each tool's scale
        "assignee": S, "assignee_account_id": S, "assignment_group": S,
        "created": D, "resolved": D, "due": D, "planned_start": D,
        "created_at": TS, "resolved_at": TS, "sla_due_at": TS, "sla_breached": B, "reopen_count": INT,
        "original_estimate_h": F, "remaining_estimate_h": F, "time_spent_h": F, "story_points": F,
        "sprint": S, "labels": pl.List(S), "epic_key": S, "parent_key": S, "is_milestone": B,
    },
    "worklogs": {
        "worklog_id": S, "source_kind": S, "person_source_id": S, "person_name": S, "person_email": S,
        "item_key": S, "source_project_key": S, "work_date": D, "started_at": TS, "hours": HOURS,
        "billable": B, "approved": B, "description": S,
    },
    "assets": {
        "asset_tag": S, "source_kind": S, "name": S, "category": S, "model": S, "manufacturer": S,
        "serial": S, "status": S, "owner_id": S, "location": S, "cost_centre": S, "purchase_date": D,
        "purchase_cost": MONEY, "warranty_end": D, "eol_date": D,
    },
    "licences": {
        "licence_id": S, "source_kind": S, "product": S, "manufacturer": S, "seats": INT, "seats_assigned": INT,
        "cost": MONEY, "purchase_date": D, "expiry": D, "cost_centre": S,
    },
    "baselines": {
        "project_id": S, "baseline_version": INT, "effective_from": D, "reason": S, "element_key": S,
        "element_name": S, "cost_category": S, "budget": MONEY, "planned_start": D, "planned_finish": D,
        "is_milestone": B, "source_kind": S,
        "ev_technique": S,  # overrides the project's and the item type's technique for this element
        "weight": F,  # weighted milestones: the element's share of its parent's budget
        "parent_key": S,  # weighted milestones: the element (work package) this milestone belongs to
        "management_reserve": MONEY, "contingency": MONEY,  # per version: held beside BAC, not inside it
    },
    "evm_status": {
        "project_id": S, "status_date": D, "pv": MONEY, "ev": MONEY, "ac": MONEY, "bac": MONEY,
        "baseline_start": D, "baseline_finish": D, "baseline_version": S,
    },
    "projects": {
        "project_id": S, "name": S, "portfolio": S, "programme": S, "sponsor": S, "manager": S, "status": S,
        "ev_technique": S, "eac_method": S, "calendar_id": S, "closed_on": D,
        "planned_rate": MONEY,  # hourly rate for budgeting and forecasting items nobody is assigned to
        "lessons_learned": S,  # the closure record's lessons learned, where the register carries them
    },
    "project_map": {"source_kind": S, "source_key": S, "project_id": S},
    "people": {
        "person_id": S, "display_name": S, "email": S, "team": S, "role": S, "jira_account_id": S,
        "tempo_user": S, "contracted_hours_week": pl.Decimal(18, 4), "calendar_id": S,
    },
    "person_aliases": {"source_kind": S, "source_user": S, "person_id": S},
    "rates": {
        "person_id": S, "role": S, "hourly_rate": MONEY, "currency": S, "valid_from": D, "valid_to": D,
    },
    "holidays": {"calendar_id": S, "date": D, "holiday": S},
    "sprints": {"project_id": S, "sprint": S, "start": D, "finish": D, "planned_points": F},
    "risks": {
        "risk_id": S, "project_id": S, "title": S, "probability": pl.Decimal(18, 4), "cost_impact": MONEY,
        "schedule_impact_days": pl.Decimal(18, 4), "owner": S, "status": S, "review_date": D, "response": S,
    },
    "status_reports": {
        "project_id": S, "status_date": D,
        "rag_override": S,  # green | amber | red: the manager's RAG in place of the computed one; NULL for none
        "override_reason": S, "author": S, "entered_on": D,
        "commentary": S, "actions": S,  # free text as written (newlines kept); escaped where it is shown
    },
}  # fmt: skip


def schema(table: str) -> dict[str, pl.DataType]:
    """The table's columns and types, lineage included."""
    return TABLES[table] | LINEAGE


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=schema(table))


KEYS: dict[str, tuple[str, ...]] = {
    "work_items": ("item_key", "snapshot_date"),
    "worklogs": ("worklog_id",),
    "assets": ("asset_tag",),
    "licences": ("licence_id",),
    "baselines": ("project_id", "baseline_version", "element_key"),
    "evm_status": ("project_id", "status_date"),
    "projects": ("project_id",),
    "project_map": ("source_kind", "source_key"),
    "people": ("person_id",),
    "person_aliases": ("source_kind", "source_user"),
    "rates": ("person_id", "role", "valid_from"),
    "holidays": ("calendar_id", "date"),
    "sprints": ("project_id", "sprint"),
    "risks": ("risk_id",),
    "status_reports": ("project_id", "status_date"),
}
# Tables kept in load order, their lineage (`_source_file`, then `_line`), not their natural key's: the volume of a
# portfolio (10 million worklogs, a million ticket snapshots), to which a new week's files are appended
# (pipelines/ingest.py) rather than the whole table written again. A file's id is given as it is loaded, so the order
# is as reproducible as the lineage the rows carry.
LOAD_ORDERED = frozenset({"worklogs", "work_items"})


def order(table: str) -> tuple[str, ...]:
    """The columns a staging table's rows are in order of: its natural key, or its lineage (LOAD_ORDERED)."""
    return tuple(LINEAGE) if table in LOAD_ORDERED else KEYS[table]


# The date a file's rows cover, shown in the manifest as first..last.
COVERS = {
    "work_items": "snapshot_date", "worklogs": "work_date", "evm_status": "status_date", "risks": "review_date",
    "status_reports": "status_date",
}  # fmt: skip
# Private columns a reader may add: `_scope` names what a corrected re-export replaces (see staging).
PRIVATE = {"_scope"}


def conform_table(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A reader's output with every canonical column, in canonical order and type (missing ones NULL)."""
    target = schema(table)
    unknown = [c for c in frame.columns if c not in target and c not in PRIVATE]
    if unknown:
        raise ValueError(f"{table}: columns not in the canonical model: {unknown}")
    private = [c for c in frame.columns if c in PRIVATE]
    return frame.select(
        *[(pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in target.items()],
        *private,
    )


# A candidate row (transforms/merge.py): a reader's row before the merge, with its reader's flags.
CANDIDATE = {"_scope": S, "_primary": B, "_fallback": B}


def candidate_schema(table: str) -> dict[str, pl.DataType]:
    return schema(table) | CANDIDATE


def as_candidates(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Readers' rows (conform_table output plus `_primary`, `_fallback`) with every candidate column, typed."""
    target = candidate_schema(table)
    return frame.select((pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in target.items())


def sql_type(dtype: pl.DataType) -> str:
    """The DuckDB type of a canonical column's polars type."""
    if isinstance(dtype, pl.List):
        return sql_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    return {pl.String: "VARCHAR", pl.Date: "DATE", pl.Datetime: "TIMESTAMP", pl.Float64: "DOUBLE",
            pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN"}[dtype.base_type()]  # fmt: skip
