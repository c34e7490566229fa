"""GLPI ticket export (CSV) → canonical work items, one row per ticket per export snapshot.

GLPI's search results exported to CSV: semicolon-separated, UTF-8 with BOM, headers in the user's language
(English, pt-BR and French are in the contract), every field possibly quoted, the header line sometimes
ending with a `;` (an empty extra column). Ids may carry a thousands space ("52 267"); the contract's
integer type removes it. Several actors in one cell are joined by "<br>"; Description and Solution span
lines. Durations are text in the UI language ("1 hours 0 minutes", "1 dias 18 horas 47 minutos").
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage

_DONE = ["solved", "closed", "solucionado", "fechado", "résolu", "clos"]
_TODO = ["new", "approval", "novo", "aprovação", "nouveau", "validation"]
_DOING = [
    "processing (assigned)", "processing (planned)", "pending",
    "processando (atribuído)", "processando (planejado)", "pendente",
    "en cours (attribué)", "en cours (planifié)", "en attente",
]  # fmt: skip
# GLPI's six levels onto the canonical scale (Major is above Very high).
_PRIORITY = {
    "major": "critical", "majeure": "critical",
    "very high": "critical", "muito alta": "critical", "très haute": "critical",
    "high": "high", "alta": "high", "haute": "high",
    "medium": "medium", "média": "medium", "moyenne": "medium",
    "low": "low", "baixa": "low", "basse": "low",
    "very low": "low", "muito baixa": "low", "très basse": "low",
}  # fmt: skip
_YES, _NO = ["yes", "sim", "oui"], ["no", "não", "non"]

# A number followed by its unit, in English, Portuguese, French and short forms ("1d 2h 3m 4s").
_NUMBER = r"(\d+(?:[.,]\d+)?)\s*"
_UNITS = {
    r"(?:days?|dias?|jours?|d|j)": 24.0,
    r"(?:hours?|horas?|heures?|hrs?|h)": 1.0,
    r"(?:minutes?|minutos?|mins?|m)": 1 / 60,
    r"(?:seconds?|segundos?|secondes?|secs?|s)": 1 / 3600,
}


def duration_hours(text: pl.Expr) -> pl.Expr:
    """Hours in a duration written as text: "1 hours 0 minutes", "2 dias 3 horas", "1 Day 2 Hours",
    "1d 2h", "02:30:00" (h:mm[:ss]) or ServiceNow's raw "1970-01-02 02:30:00" (epoch-based). NULL when
    nothing in the text reads as a duration."""
    low = text.str.strip_chars().str.to_lowercase()
    parts = [
        low.str.extract(_NUMBER + unit + r"(?:\b|$)", 1).str.replace(",", ".").cast(pl.Float64) * factor
        for unit, factor in _UNITS.items()
    ]
    words = pl.when(pl.any_horizontal(p.is_not_null() for p in parts)).then(pl.sum_horizontal(parts))
    clock = low.str.extract_groups(r"^(?:1970-01-(\d{2}) )?(\d+):(\d{2})(?::(\d{2}))?$")
    epoch_days = clock.struct.field("1").cast(pl.Float64) - 1
    as_clock = (
        epoch_days.fill_null(0) * 24
        + clock.struct.field("2").cast(pl.Float64)
        + clock.struct.field("3").cast(pl.Float64) / 60
        + clock.struct.field("4").cast(pl.Float64).fill_null(0) / 3600
    )
    return pl.coalesce(as_clock, words)


def _status_category(status: pl.Expr) -> pl.Expr:
    name = status.str.to_lowercase()
    return (
        pl.when(name.is_in(_DONE))
        .then(pl.lit("done"))
        .when(name.is_in(_DOING))
        .then(pl.lit("doing"))
        .when(name.is_in(_TODO))
        .then(pl.lit("todo"))
    )  # a status word the contract does not know stays NULL (it loaded with a warning), never guessed


def _yes_no(text: pl.Expr) -> pl.Expr:
    low = text.str.to_lowercase()
    return pl.when(low.is_in(_YES)).then(True).when(low.is_in(_NO)).then(False)


def work_items(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per ticket per export; the snapshot date is the export's latest Last Update (else its
    latest opening date). item_key is GLPI-<id>."""
    file = "_source_file"
    snapshot = pl.coalesce(pl.col("Last Update").max().over(file), pl.col("Opening Date").max().over(file))
    resolved_at = pl.coalesce(pl.col("Resolution Date"), pl.col("Closing Date"))
    breached = pl.coalesce(
        _yes_no(pl.col("Time to resolve exceeded")),
        pl.when(resolved_at.is_not_null()).then(resolved_at > pl.col("Time to resolve")),
    )
    technicians = pl.col("Assigned To - Technician").str.replace_all(r"\s*<br\s*/?>\s*", ", ").str.strip_chars(", ")
    return typed.select(
        pl.format("GLPI-{}", pl.col("ID")).alias("item_key"),
        snapshot.dt.date().alias("snapshot_date"),
        pl.lit("glpi").alias("source_kind"),
        pl.coalesce(pl.col("Cost Centre"), pl.col("Category"), pl.col("Assigned To - Group")).alias(
            "source_project_key"
        ),
        pl.col("Title").alias("summary"),
        pl.col("Type").alias("type"),
        pl.col("Status").alias("status"),
        _status_category(pl.col("Status")).alias("status_category"),
        pl.col("Priority").str.to_lowercase().replace_strict(_PRIORITY, default=None).alias("priority"),
        technicians.alias("assignee"),
        pl.col("Assigned To - Group").alias("assignment_group"),
        pl.col("Opening Date").dt.date().alias("created"),
        pl.col("Opening Date").alias("created_at"),
        resolved_at.dt.date().alias("resolved"),
        resolved_at.alias("resolved_at"),
        pl.col("Time to resolve").alias("sla_due_at"),
        breached.alias("sla_breached"),
        duration_hours(pl.col("Total Duration")).alias("time_spent_h"),
        *lineage(),
    )


READERS = [Reader("glpi_tickets", "work_items", work_items)]
