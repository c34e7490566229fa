"""What the timesheet readers share (Jira worklog report, Harvest, Clockify, Toggl): ticket keys found in
free text, durations written as clock time, times of day, localised yes/no, and the hours rule.

A reader cannot reject a row; only a contract can. Where a duration cannot be typed by the contract
(Toggl's "01:30:00", Jira's "1h 30m"), the reader's `skip` names rows whose duration is unreadable or not
more than 0 and at most 24 hours, so each is accounted for with its reason instead of loading as NULL or
absurd hours.
"""

from __future__ import annotations

import polars as pl

# A Jira issue key: project key (upper case letter, then upper case letters or digits), dash, number.
JIRA_KEY = r"\b([A-Z][A-Z0-9]+-\d+)\b"
# A GLPI ticket named in free text: "Ticket 1353", "GLPI 1415", "chamado nº 12", typos "TIcket"/"Tikcet"
# included; or a description that starts with the ticket number ("1359 - Monitoramento", "1456 iris dev").
GLPI_WORD = r"(?i)\b(?:ticket|tikcet|tiket|chamado|glpi)\s*[#:nº°.-]*\s*(\d+)"
GLPI_LEADING = r"^\s*#?(\d{3,})(?:\s*-|\s+\pL)"
MAX_HOURS = 24
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
_YES = ["yes", "true", "1", "y", "sim", "sí", "si", "oui", "ja", "billable", "faturável", "facturable"]
_NO = ["no", "false", "0", "n", "não", "nao", "non", "nein", "non-billable", "não faturável"]


def raw_col(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A raw text column stripped, blank as NULL; NULL when the file did not have it."""
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def jira_key(text: pl.Expr) -> pl.Expr:
    """The first Jira issue key written in a text (upper case, as Jira writes keys), else NULL."""
    return text.str.extract(JIRA_KEY, 1)


def glpi_key(text: pl.Expr) -> pl.Expr:
    """The GLPI ticket a text names, as this project's GLPI item key `GLPI-<id>`, else NULL."""
    number = pl.coalesce(text.str.extract(GLPI_WORD, 1), text.str.extract(GLPI_LEADING, 1))
    return pl.concat_str(pl.lit("GLPI-"), number.str.strip_chars_start("0"))


def clock_hours(text: pl.Expr) -> pl.Expr:
    """Hours from a duration written "H:MM", "H:MM:SS" or "HH:MM:SS" (hours may pass 24), or as decimal
    hours "1.5"/"1,5"; NULL when the text is none of these."""
    parts = text.str.strip_chars().str.extract_groups(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")
    clock = (
        parts.struct.field("1").cast(pl.Float64)
        + parts.struct.field("2").cast(pl.Float64) / 60
        + parts.struct.field("3").cast(pl.Float64).fill_null(0) / 3600
    )
    decimal = text.str.strip_chars().str.extract(r"^(\d+(?:[.,]\d+)?)$", 1).str.replace(",", ".").cast(pl.Float64)
    return pl.coalesce(clock, decimal).round(4)


def time_of_day(text: pl.Expr) -> pl.Expr:
    """A time of day written "7:17", "16:00:00", "02:00 PM" or "10:00:00 AM"; NULL otherwise."""
    t = text.str.strip_chars().str.to_uppercase()
    return pl.coalesce([t.str.strptime(pl.Time, fmt, strict=False, exact=True) for fmt in TIME_FORMATS])


def yes_no(text: pl.Expr) -> pl.Expr:
    """True/False from yes/no in the languages the tools export (Yes, Sim, Sí, Oui, Ja...); else NULL."""
    low = text.str.strip_chars().str.to_lowercase()
    return pl.when(low.is_in(_YES)).then(True).when(low.is_in(_NO)).then(False).otherwise(None)


def hours_problem(column: str, raw: pl.Expr, hours: pl.Expr) -> pl.Expr:
    """Why a non-blank duration cannot be loaded (unreadable, zero, over 24 hours), else NULL.
    A blank duration is left to the contract (its `required` rule rejects it)."""
    shown = pl.format("{} '{}'", pl.lit(column), raw)
    return (
        pl.when(raw.is_null())
        .then(None)
        .when(hours.is_null())
        .then(pl.format("{} is not a duration", shown))
        .when(hours <= 0)
        .then(pl.format("{} is zero: no work logged", shown))
        .when(hours > MAX_HOURS)
        .then(pl.format("{} is over {} hours for one entry", shown, pl.lit(MAX_HOURS)))
        .otherwise(None)
    )


def scope(tool: str, project: pl.Expr) -> pl.Expr:
    """The `_scope` a corrected re-export of the same tool and project replaces (no project: "<tool>|")."""
    return pl.concat_str(pl.lit(tool + "|"), project.fill_null(""))
