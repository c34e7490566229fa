"""Jira worklog report (a Jira Cloud Marketplace time-report app's CSV) → canonical worklogs.

The header is `"Worklog id","Author","Summary","Work description","Issue","Parent","Epic","Project",
"Started","Assignee","Labels","Priority","Resolution","Reporter","Status","Issue type","Sprint","Time spent"`,
one row per Jira worklog, then a **totals row** (empty Worklog id, only Time spent filled), which is
skipped with its reason. The app writes the same worklogs in two layouts, decided here per file by
whether most Time spent values are plain digits:

- "human": Started `Jan 20, 2023, 6:25 PM`, Time spent `35m`, `1h ` (trailing space), `1h 30m`, `2d`, and
  `_` for an empty field. Durations follow Jira's time-tracking defaults: **1d = 8h and 1w = 5d = 40h**
  (a site with other working hours per day writes other numbers into `d`/`w`; this reader assumes the
  defaults).
- "raw": Started ISO-8601 with offset `2023-01-20T18:25:30.148+0100`, Time spent in seconds.

Started is kept as the **author's local wall-clock time as written** (the offset is dropped, not applied):
the day a person worked is the day on their own calendar, so a worklog started at 00:30+0100 is work of
that day, not of the previous day in UTC; and both layouts of one worklog give the same work_date. (The
contract's `%z` formats would normalise to UTC, so Started and Time spent are typed here, not there.)

The project column holds the project's name ("Videobakers Running Projects"); the Jira project key, which
the project map and the Jira issue export use, is taken from "Name (KEY)" when written so, else from the
issue key's prefix (VB-12518 → VB).
"""

from __future__ import annotations

import polars as pl

from transforms.readers.common import Reader, lineage
from transforms.readers.timesheets import hours_problem, raw_col, scope

_UNITS = r"^(?:\d+(?:[.,]\d+)?\s*[wdhms]\s*)+$"
_HOURS_PER = {"w": 40.0, "d": 8.0, "h": 1.0, "m": 1 / 60, "s": 1 / 3600}
_HUMAN_STARTED = ("%b %d, %Y, %I:%M %p", "%b %d, %Y %I:%M %p", "%d/%b/%y %I:%M %p")
_FILE = "_source_file"


def _blank(text: pl.Expr) -> pl.Expr:
    """The app's "_" for an empty field, as NULL."""
    return pl.when(text == "_").then(None).otherwise(text)


def _seconds_layout(time_spent: pl.Expr) -> pl.Expr:
    """True for a file in the raw layout: more of its Time spent values are plain digits than "1h 30m"."""
    digits = time_spent.str.contains(r"^\d+$").cast(pl.Int64).sum().over(_FILE)
    units = time_spent.str.contains(_UNITS).cast(pl.Int64).sum().over(_FILE)
    return digits > units


def _human_hours(text: pl.Expr) -> pl.Expr:
    """Hours from "1w 2d 3h 30m" (Jira's 8-hour days, 5-day weeks); NULL when not that form."""
    parts = [
        text.str.extract(rf"(\d+(?:[.,]\d+)?)\s*{unit}", 1).str.replace(",", ".").cast(pl.Float64).fill_null(0) * per
        for unit, per in _HOURS_PER.items()
    ]
    return pl.when(text.str.contains(_UNITS)).then(pl.sum_horizontal(parts))


def _hours(time_spent: pl.Expr) -> pl.Expr:
    seconds = time_spent.str.extract(r"^(\d+)$", 1).cast(pl.Float64) / 3600
    return pl.when(_seconds_layout(time_spent)).then(seconds).otherwise(_human_hours(time_spent)).round(4)


def _started(started: pl.Expr, time_spent: pl.Expr) -> pl.Expr:
    """The local wall-clock start: ISO with its offset dropped (raw layout), or "Jan 20, 2023, 6:25 PM"."""
    iso = (
        started.str.replace(r"(?:Z|[+-]\d{2}:?\d{2})$", "")
        .str.replace(" ", "T")
        .str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False, exact=True)
    )
    human = pl.coalesce(
        [started.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True) for fmt in _HUMAN_STARTED]
    )
    return pl.when(_seconds_layout(time_spent)).then(iso).otherwise(human)


def _project_key(project: pl.Expr, issue: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        project.str.extract(r"\(([A-Z][A-Z0-9_]+)\)$", 1),
        issue.str.extract(r"^([A-Z][A-Z0-9_]+)-\d+$", 1),
        project,
    )


def skip(raw: pl.DataFrame) -> pl.Expr:
    """The totals row (no Worklog id, nothing but Time spent), and rows whose Started or Time spent this
    file's layout cannot read or whose time spent is not more than 0 and at most 24 hours."""
    time_spent, started = raw_col(raw, "Time spent"), raw_col(raw, "Started")
    others = [_blank(raw_col(raw, c)) for c in raw.columns if c != "Time spent" and not c.startswith("_")]
    totals = pl.all_horizontal([c.is_null() for c in others]) & time_spent.is_not_null()
    unread_start = started.is_not_null() & _started(started, time_spent).is_null()
    return (
        pl.when(totals)
        .then(pl.format("totals row (Time spent {})", time_spent))
        .when(raw_col(raw, "Worklog id").is_null())
        .then(None)  # a data row without its id: the contract rejects it
        .when(unread_start)
        .then(pl.format("Started '{}' is not a date and time in this file's layout", started))
        .otherwise(hours_problem("Time spent", time_spent, _hours(time_spent)))
    )


def worklogs(typed: pl.DataFrame) -> pl.DataFrame:
    """Grain: one row per Jira worklog; worklog_id is Jira's own worklog id, so the two layouts of one
    report, and the same worklog in a Tempo export (its Jira Worklog ID), are one worklog."""
    time_spent = pl.col("Time spent")
    started = _started(pl.col("Started"), time_spent)
    author = _blank(pl.col("Author"))
    issue = _blank(pl.col("Issue"))
    project_key = _project_key(_blank(pl.col("Project")), issue)
    return typed.select(
        pl.col("Worklog id").cast(pl.String).alias("worklog_id"),
        pl.lit("jira").alias("source_kind"),
        author.alias("person_source_id"),
        author.alias("person_name"),
        issue.alias("item_key"),
        project_key.alias("source_project_key"),
        started.dt.date().alias("work_date"),
        started.alias("started_at"),
        _hours(time_spent).alias("hours"),
        _blank(pl.col("Work description")).alias("description"),
        scope("jira-worklogs", project_key).alias("_scope"),
        *lineage(),
    )


READERS = [Reader("jira_worklog_report", "worklogs", worklogs, skip=skip)]
