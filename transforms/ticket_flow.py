"""Service desk flow (marts.ticket_flow): tickets created, resolved and waiting, their age, time to resolve,
reopens and SLA breaches per week.

Outputs and their grain:
- `ticket_flow()` (marts.ticket_flow): one row per group_level ("project": by project_id; "assignment_group": by
  assignment_group; a NULL key is "(none)"), group_key, priority ("all", plus each priority, a NULL one being
  "(none)") and status_date (each of `weeks`), from the first status date on or after the group's earliest
  creation date (no empty groups). Sorted by that key.
- `ticket_flow_items()` (marts.ticket_flow_items): the rows behind `sla_breaches` and `reopened`: one row per
  ticket and status date where the ticket counts as an SLA breach or as reopened, with the export row in force
  (`_source_file`, `_line`). Sorted by status_date, item_key. Its project_id, assignment_group and priority are
  the group keys of the mart, so summing its flags per cell gives the mart's figures.

As of a status date S (the end of that day), a ticket's facts come from its snapshot in force: its latest export
on or before S; before its first export, that export's dates are used (../shared/EVM.md "Progress over time"). A
snapshot that is not done has no resolution (a reopened ticket's stale resolution date is ignored).
- created / resolved: tickets whose created / resolved date lies in the week ending S (S − 6 .. S).
- backlog: created ≤ S and not resolved by S (resolved > S, or no resolution and not done). Age at S = S − created
  in days: backlog_0_7 (0..7), backlog_8_30, backlog_31_90, backlog_over_90 (91 and more).
- backlog_unknown: a ticket done in its first export without a resolution date (ServiceNow list exports often
  carry no resolved column) cannot be placed before that export: it is counted here, not in the backlog, at
  status dates before its first export; from that export on it is done.
- median_resolve_hours, p90_resolve_hours: over the tickets resolved in the week, hours from created_at to
  resolved_at when both are known, else (resolved − created) days × 24. Both are linear-interpolation quantiles
  (numpy's default, Hyndman–Fan type 7): position (n − 1) × q of the sorted values, interpolated. NULL when none.
- reopened: tickets whose reopen_count grew, or that were done in the previous snapshot in force and are not done
  in this one, counted in the week their new snapshot comes into force (once per ticket and week). A ticket
  already reopened in its first export is not counted (the week is unknown).
- SLA target: the export's sla_due_at; else, where the export carries only sla_breached, that flag; else
  created_at + sla_hours[priority] when configured; else unknown. A ticket resolved in the week breaches when the
  tool's sla_breached says so, else when resolved_at (its resolution date at 00:00 when only the date is known)
  is after the target. A ticket open at S breaches when the target has passed by the end of S (target date ≤ S);
  with only the flag, from the export that carries it. sla_known counts the tickets resolved in the week or open
  at S whose target is known; sla_breaches is NULL when sla_known is 0.
A ticket with neither created nor created_at is left out (its week and age are unknown).

Weekly counts without a ticket × week cross join: each snapshot holds for the status dates from its export up
to the next export, so each count is a set of intervals per snapshot (+1 from the first status date inside, −1
from the first one past it) summed over the sorted status dates; the week figures (created, resolved, times to
resolve, reopened) each concern one week per snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from transforms.calendar import is_week_end, isodow

NONE = "(none)"
ALL = "all"
LEVELS = {"project": "project_id", "assignment_group": "assignment_group"}
KEY = ("group_level", "group_key", "priority")
BUCKETS = {"backlog_0_7": (0, 7), "backlog_8_30": (8, 30), "backlog_31_90": (31, 90), "backlog_over_90": (91, None)}
FLOW_COLUMNS = {
    "group_level": pl.String, "group_key": pl.String, "priority": pl.String, "status_date": pl.Date,
    "created": pl.Int64, "resolved": pl.Int64, "backlog": pl.Int64, "backlog_0_7": pl.Int64,
    "backlog_8_30": pl.Int64, "backlog_31_90": pl.Int64, "backlog_over_90": pl.Int64, "backlog_unknown": pl.Int64,
    "median_resolve_hours": pl.Float64, "p90_resolve_hours": pl.Float64, "reopened": pl.Int64,
    "sla_breaches": pl.Int64, "sla_known": pl.Int64,
}  # fmt: skip
ITEMS_COLUMNS = {
    "status_date": pl.Date, "item_key": pl.String, "project_id": pl.String, "assignment_group": pl.String,
    "priority": pl.String, "sla_breach": pl.Boolean, "breach": pl.String, "reopened": pl.Boolean,
    "sla_due_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us"), "snapshot_date": pl.Date,
    "_source_file": pl.Int64, "_line": pl.Int64,
}  # fmt: skip
_MIN, _MAX = dt.date(1, 1, 1), dt.date(9999, 12, 31)
_INTERVALS = ("backlog", *BUCKETS, "backlog_unknown", "_open_known", "_open_breach")


def _week_end(date: pl.Expr, week_ends_on: str) -> pl.Expr:
    """The status date of the week holding `date` (calendar.week_end, as an expression)."""
    return date + pl.duration(days=(isodow(week_ends_on) - date.dt.weekday() + 7) % 7)


def status_weeks(weeks: Sequence[dt.date], week_ends_on: str) -> pl.DataFrame:
    """The flow's status dates (week ends), one column `status_date`, sorted."""
    bad = [w for w in weeks if not is_week_end(w, week_ends_on)]
    if bad:
        raise ValueError(f"status dates must be week ends ({week_ends_on}): {bad[:3]}")
    return pl.DataFrame({"status_date": sorted(set(weeks))}, schema={"status_date": pl.Date})


def _facts(
    work_items: pl.DataFrame, sla_hours: dict[str, float] | None, kinds: tuple[str, ...] | None, week_ends_on: str
) -> pl.DataFrame:
    """One row per snapshot: the ticket's facts, the status dates it holds for [vf, vt) and its SLA target."""
    wi = (
        work_items
        if "project_id" in work_items.columns
        else work_items.with_columns(project_id=pl.lit(None, pl.String))
    )
    if kinds is not None:
        wi = wi.filter(pl.col("source_kind").is_in(list(kinds)))
    hours = pl.DataFrame(
        {"priority": list((sla_hours or {}).keys()), "_sla_h": list((sla_hours or {}).values())},
        schema={"priority": pl.String, "_sla_h": pl.Float64},
    )
    # a NULL status category is not done (a ticket without a category or a resolution is in the backlog)
    done = (pl.col("status_category") == "done").fill_null(False)
    keeps_resolution = pl.col("status_category").is_null() | done
    res = pl.when(keeps_resolution).then(pl.coalesce("resolved", pl.col("resolved_at").dt.date()))
    res_at = pl.when(keeps_resolution).then(pl.col("resolved_at"))
    created_ts = pl.coalesce("created_at", pl.col("created").cast(pl.Datetime("us")))
    configured = created_ts + pl.duration(microseconds=(pl.col("_sla_h") * 3.6e9).round().cast(pl.Int64))
    rows = (
        wi.lazy()
        .join(hours.lazy(), on="priority", how="left")
        .select(
            "item_key",
            pl.col("snapshot_date").alias("d"),
            pl.col("project_id").cast(pl.String).fill_null(NONE),
            pl.col("assignment_group").fill_null(NONE),
            pl.col("priority").fill_null(NONE),
            pl.col("status_category").alias("cat"),
            pl.coalesce("created", pl.col("created_at").dt.date()).alias("created"),
            res.alias("res"),
            pl.coalesce(res_at, res.cast(pl.Datetime("us"))).alias("res_ts"),
            pl.when(res_at.is_not_null() & pl.col("created_at").is_not_null())
            .then((res_at - pl.col("created_at")).dt.total_microseconds() / 3.6e9)
            .otherwise((res - pl.coalesce("created", pl.col("created_at").dt.date())).dt.total_days() * 24.0)
            .alias("resolve_hours"),
            (done & res.is_null()).alias("undated_done"),
            "reopen_count",
            pl.coalesce("sla_due_at", pl.when(pl.col("sla_breached").is_null()).then(configured)).alias("due"),
            pl.col("sla_breached").alias("flag"),
            "_source_file",
            "_line",
        )
        .filter(pl.col("item_key").is_not_null() & pl.col("d").is_not_null() & pl.col("created").is_not_null())
        .sort("item_key", "d", "_source_file", "_line")
        .collect()
    )
    # rows are sorted by item_key: a ticket's first snapshot differs from the row before, its next is the row after
    first = pl.col("item_key").ne_missing(pl.col("item_key").shift(1))
    flag_only = pl.col("due").is_null() & pl.col("flag").is_not_null()
    rows = rows.with_columns(
        vf=pl.when(first).then(pl.lit(_MIN)).otherwise("d"),
        vt=pl.when(pl.col("item_key") == pl.col("item_key").shift(-1)).then(pl.col("d").shift(-1)).otherwise(_MAX),
        # the first status date at which the target is known, and from which an open ticket is past it
        known_from=pl.when(pl.col("due").is_not_null()).then(pl.lit(_MIN)).when(flag_only).then("d"),
        breach_from=pl.when(pl.col("due").is_not_null())
        .then(pl.col("due").dt.date())
        .when(flag_only & pl.col("flag"))
        .then("d"),
        resolved_breach=pl.coalesce("flag", pl.col("res_ts") > pl.col("due")),
        wk_created=_week_end(pl.col("created"), week_ends_on),
        wk_res=_week_end(pl.col("res"), week_ends_on),
        wk_d=_week_end(pl.col("d"), week_ends_on),
    )
    return rows.with_columns(reopen=_reopen())


def _reopen() -> pl.Expr:
    """Whether a snapshot in force at some week end reopens its ticket: its reopen_count grew, or it is not done
    while the snapshot in force before it was, on rows sorted by item_key (see _facts) with vt and wk_d."""
    first = pl.col("item_key").ne_missing(pl.col("item_key").shift(1))
    in_force = first | (pl.col("wk_d") < pl.col("vt"))
    # the last row in force before this one; a ticket's first row is in force, so for any later row of the
    # ticket it is the ticket's previous snapshot in force
    before = pl.when(in_force).then(pl.int_range(pl.len())).shift(1).forward_fill().fill_null(0)
    grew = (pl.col("reopen_count") > pl.col("reopen_count").gather(before)).fill_null(False)
    undone = ((pl.col("cat").gather(before) == "done") & (pl.col("cat").fill_null("") != "done")).fill_null(False)
    return in_force & ~first & (grew | undone)


def _max(a: pl.Expr | str, b: pl.Expr | str) -> pl.Expr:
    """The later of two dates, NULL when either is (max_horizontal skips NULLs)."""
    a, b = pl.col(a) if isinstance(a, str) else a, pl.col(b) if isinstance(b, str) else b
    return pl.when(a.is_not_null() & b.is_not_null()).then(pl.max_horizontal(a, b))


def _min(a: pl.Expr | str, b: pl.Expr | str) -> pl.Expr:
    a, b = pl.col(a) if isinstance(a, str) else a, pl.col(b) if isinstance(b, str) else b
    return pl.when(a.is_not_null() & b.is_not_null()).then(pl.min_horizontal(a, b))


def _interval_bounds(rows: pl.DataFrame) -> pl.DataFrame:
    """Per snapshot and measure of `_INTERVALS`: the dates [m_from, m_to) over which it counts, clipped to the
    snapshot's [vf, vt) (NULL from when it never counts)."""
    created = pl.col("created")
    open_to = pl.when(~pl.col("undated_done")).then(pl.coalesce("res", pl.lit(_MAX)))
    spans: dict[str, tuple[pl.Expr, pl.Expr]] = {"backlog": (created, open_to)}
    for name, (lo, hi) in BUCKETS.items():
        top = pl.lit(_MAX) if hi is None else created + pl.duration(days=hi + 1)
        spans[name] = (created + pl.duration(days=lo), _min(top, open_to))
    spans["backlog_unknown"] = (pl.when(pl.col("undated_done")).then(created), pl.col("d"))
    spans["_open_known"] = (_max(created, "known_from"), open_to)
    spans["_open_breach"] = (_max(created, "breach_from"), open_to)
    out = []
    for name, (start, end) in spans.items():
        lo, hi = _max(start, "vf"), _min(end, "vt")
        out += [pl.when(lo < hi).then(lo).alias(f"{name}_from"), pl.when(lo < hi).then(hi).alias(f"{name}_to")]
    # lazy, so each bound's clipped start and end are computed once for its two columns (0.25 s -> 0.19 s for a
    # million snapshots)
    return rows.lazy().with_columns(out).collect()


def _cells(bounds: pl.DataFrame, rolled: pl.DataFrame | None = None) -> tuple[pl.Series, pl.DataFrame, list[pl.Series]]:
    """The flow's cells by number: each snapshot's finest cell (project_id, assignment_group, priority), the
    rolled-up cells (KEY: each group level's key by priority and under "all") numbered `_r` in KEY order (`rolled`,
    when given, is that numbering made from more snapshots than these, and must hold all their cells), and per group
    level and priority split
    the rolled-up cell of each finest cell. The counts are grouped on these numbers: grouping the million snapshots
    of the portfolio bench on three text keys, once per measure, took most of the flow's time."""
    fine = ["project_id", "assignment_group", "priority"]
    cell = bounds.select(pl.struct(fine).rank("dense").cast(pl.UInt32) - 1).to_series()
    cells = bounds.select(fine).with_columns(cell=cell).unique("cell").sort("cell")
    splits = [
        cells.select(group_level=pl.lit(level), group_key=pl.col(column),
                     priority=pl.col("priority") if by_priority else pl.lit(ALL))
        for level, column in LEVELS.items()
        for by_priority in (True, False)
    ]  # fmt: skip
    if rolled is None:
        rolled = pl.concat(splits).unique().sort(KEY).with_row_index("_r")
    maps = [split.join(rolled, on=list(KEY), how="left", maintain_order="left").get_column("_r") for split in splits]
    return cell, rolled, maps


def _rolled_up(frame: pl.DataFrame, maps: list[pl.Series], by: list[str], *aggs: pl.Expr) -> pl.DataFrame:
    """`aggs` per rolled-up cell (`_r`, see `_cells`) and `by`, from `frame`'s rows by finest `cell`: one group_by
    on numbers per group level and priority split, so no frame holds a snapshot once per split."""
    return pl.concat(
        frame.group_by(pl.lit(rolled).gather(pl.col("cell")).alias("_r"), *by).agg(*aggs) for rolled in maps
    )


def _first_status_on_or_after(frame: pl.DataFrame, columns: list[str], weeks: pl.Series) -> pl.DataFrame:
    """`frame` with each date column replaced by the first status date on or after it (NULL when none)."""
    if len(weeks) and (weeks.diff().drop_nulls() == dt.timedelta(days=7)).all():
        # every week from the first to the last: the k-th week ends 7·k days after the first (no search)
        first = pl.lit(weeks[0], pl.Date)
        later = [((pl.col(c) - first).dt.total_days() + 6) // 7 for c in columns]
        return frame.with_columns(
            pl.when(k < len(weeks)).then(first + pl.duration(days=7 * k.clip(lower_bound=0))).alias(c)
            for c, k in zip(columns, later, strict=True)
        )
    mapped = []
    for c in columns:
        idx = weeks.search_sorted(frame[c].fill_null(_MAX), side="left")
        found = weeks.gather(idx.clip(upper_bound=len(weeks) - 1))
        mapped.append(pl.when(pl.lit(idx) < len(weeks)).then(pl.lit(found)).alias(c))
    return frame.with_columns(mapped)


def _in_week(frame: pl.DataFrame, column: str, weeks: pl.DataFrame) -> pl.DataFrame:
    """The snapshots whose `column` week is a status date at which they are in force, keyed by that date."""
    held = (pl.col("vf") <= pl.col(column)) & (pl.col(column) < pl.col("vt"))
    return (
        frame.filter(held).join(weeks, left_on=column, right_on="status_date").with_columns(status_date=pl.col(column))
    )


def _empty_flow() -> pl.DataFrame:
    return pl.DataFrame(schema=FLOW_COLUMNS)


def snapshots(
    work_items: pl.DataFrame,
    weeks: Sequence[dt.date],
    *,
    sla_hours: dict[str, float] | None = None,
    week_ends_on: str = "sunday",
    kinds: tuple[str, ...] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(snapshots with their facts and interval bounds, status dates): what ticket_flow and ticket_flow_items
    both start from, so the service desk asset prepares it once.

    `sla_hours` maps a priority to its resolution target in hours, used where the export carries no target;
    `kinds` keeps only those source kinds (e.g. ("servicenow", "glpi")); None keeps all.
    """
    grid_weeks = status_weeks(weeks, week_ends_on)
    return _interval_bounds(_facts(work_items, sla_hours, kinds, week_ends_on)), grid_weeks


def ticket_flow(work_items: pl.DataFrame, weeks: Sequence[dt.date], **options) -> pl.DataFrame:
    """marts.ticket_flow from staged work_items (any snapshots) at each status date of `weeks` (week ends);
    `options` as for `snapshots`."""
    return flow_of(*snapshots(work_items, weeks, **options))


def ticket_flow_items(work_items: pl.DataFrame, weeks: Sequence[dt.date], **options) -> pl.DataFrame:
    """marts.ticket_flow_items: the tickets behind ticket_flow's sla_breaches and reopened (same arguments)."""
    return items_of(*snapshots(work_items, weeks, **options))


def _counts_from(since: dt.date) -> pl.Expr:
    """Whether a snapshot (of `snapshots`) can count at a status date on or after `since`: one of its intervals ends
    after it, or its creation, resolution or reopen week is then. The others add nothing from `since` on: each of
    their intervals starts and ends before the first status date then."""
    return pl.any_horizontal(
        *(pl.col(f"{m}_to") > since for m in _INTERVALS),
        pl.col("wk_created") >= since,
        pl.col("wk_res") >= since,
        pl.col("reopen") & (pl.col("wk_d") >= since),
    ).fill_null(False)


def cell_starts(cells: pl.DataFrame, grid_weeks: pl.DataFrame) -> pl.DataFrame:
    """The first status date of each cell of marts.ticket_flow (KEY, status_date): the first of `grid_weeks` on or
    after the earliest creation date of its tickets' snapshots. `cells`: project_id, assignment_group, priority and
    created, as `snapshots` gives them, per snapshot or already the earliest per finest cell (`CELLS_SQL`)."""
    if cells.is_empty() or grid_weeks.is_empty():
        return pl.DataFrame(schema={**{k: FLOW_COLUMNS[k] for k in KEY}, "status_date": pl.Date})
    cell, rolled, maps = _cells(cells)
    first = cells.select("created").with_columns(cell=cell).group_by("cell").agg(pl.col("created").min())
    starts = _rolled_up(first, maps, [], pl.col("created").min()).sort("_r")
    starts = _first_status_on_or_after(starts, ["created"], grid_weeks["status_date"]).drop_nulls("created")
    r = starts.get_column("_r")
    return pl.concat([rolled.select(pl.col(*KEY).gather(r)), starts.select(status_date="created")], how="horizontal")


# The snapshots `_facts` keeps (of a table or query `{source}` of staged work_items, already of the flow's `kinds`),
# their creation date and the resolution date `_facts` takes (none for a snapshot with a category other than done),
# in SQL.
_KEPT = "item_key IS NOT NULL AND snapshot_date IS NOT NULL AND coalesce(created, CAST(created_at AS DATE)) IS NOT NULL"
_CREATED = "coalesce(created, CAST(created_at AS DATE))"
_RESOLVED = ("CASE WHEN status_category IS NULL OR status_category = 'done' "
             "THEN coalesce(resolved, CAST(resolved_at AS DATE)) END")  # fmt: skip
# Per finest cell, the earliest creation of its snapshots: what `cell_starts` reads, a few thousand rows instead of
# every snapshot.
CELLS_SQL = (
    f"SELECT coalesce(CAST(project_id AS VARCHAR), '{NONE}') AS project_id, coalesce(assignment_group, '{NONE}') "
    f"AS assignment_group, coalesce(priority, '{NONE}') AS priority, min({_CREATED}) AS created "
    f"FROM {{source}} WHERE {_KEPT} GROUP BY ALL"
)
# The tickets with a snapshot that can count at a status date on or after $since (`_counts_from`), from their rows
# alone. "Then" is from $since − 7 on: a date in the week ending $since is on or after $since − 6, a day to spare.
# - a creation or a resolution then (its week, or a backlog running past $since);
# - its last snapshot open (not done, and no resolution date as `_facts` takes it): the backlog runs on (on a tie of
#   export dates, any of them);
# - an export then, when some snapshot is not done or has no resolution date, or the reopen count changed at all: a
#   snapshot before the last counts only until the next export, and only while open (or undated done:
#   backlog_unknown), or when it reopens (its count grew, or it is not done after a done one).
# The others' snapshots all stop counting before $since, however often the ticket was exported since it was done.
_NOT_DONE = "coalesce(status_category, '') <> 'done'"
COUNTING_SQL = (
    f"SELECT item_key FROM {{source}} WHERE {_KEPT} GROUP BY item_key "
    f"HAVING max({_CREATED}) >= $since::DATE - 7 OR max({_RESOLVED}) >= $since::DATE - 7 "
    f"OR max(snapshot_date) = max(CASE WHEN {_RESOLVED} IS NULL AND {_NOT_DONE} THEN snapshot_date END) "
    f"OR (max(snapshot_date) >= $since::DATE - 7 "
    f"AND (bool_or({_RESOLVED} IS NULL OR {_NOT_DONE}) OR max(reopen_count) > min(reopen_count)))"
)


def flow_of(
    bounds: pl.DataFrame, grid_weeks: pl.DataFrame, since: dt.date | None = None, starts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """marts.ticket_flow from `snapshots`; with `since`, only its rows of the status dates from `since` on (each as
    computing every status date gives it), from the snapshots that count then (`_counts_from`). `starts`: every
    cell's first status date (`cell_starts` over all of `grid_weeks`, of every ticket), given when `bounds` holds
    only the tickets that count from `since` on (`COUNTING_SQL`): a cell whose tickets all stop counting earlier
    still has rows. It must hold every cell of `bounds` that has a week. Default: `cell_starts` of `bounds`."""
    if starts is None:
        starts = cell_starts(bounds, grid_weeks)
    if since is not None:
        grid_weeks = grid_weeks.filter(pl.col("status_date") >= since)
    if starts.is_empty() or grid_weeks.is_empty():  # no cell (no snapshot) or no week; cells without counts have rows
        return _empty_flow()
    keys = ["_r", "status_date"]
    rolled = starts.sort(KEY).with_row_index("_r")
    cell, _, maps = _cells(bounds, rolled.select("_r", *KEY))
    bounds = bounds.with_columns(cell=cell)
    if since is not None:
        bounds = bounds.filter(_counts_from(since))

    def roll_up(frame: pl.DataFrame, *measures: str) -> pl.DataFrame:
        """Counts summed per finest cell and week, then over each group level and over all priorities."""
        return _rolled_up(frame.group_by("cell", "status_date").agg(pl.col(*measures).sum()), maps, ["status_date"],
                          pl.col(*measures).sum())  # fmt: skip

    grid = (
        rolled.select("_r", _first="status_date")
        .join(grid_weeks, how="cross")
        .filter(pl.col("status_date") >= pl.col("_first"))
        .drop("_first")
    )
    # +1 at the first status date inside each interval, −1 at the first one past it
    bound_columns = [f"{m}_{end}" for m in _INTERVALS for end in ("from", "to")]
    at = _first_status_on_or_after(bounds.select("cell", *bound_columns), bound_columns, grid_weeks["status_date"])
    # each bound counted per cell first (a few rows per cell and week), so no frame holds a row per snapshot twice
    events = pl.concat(
        [
            at.lazy()
            .filter(pl.col(f"{m}_{end}").is_not_null())
            .group_by("cell", pl.col(f"{m}_{end}").alias("status_date"))
            .agg((pl.len().cast(pl.Int64) * delta).alias(m))
            for m in _INTERVALS
            for end, delta in (("from", 1), ("to", -1))
        ],
        how="diagonal",
    ).collect()
    del at
    steps = roll_up(events, *_INTERVALS)  # a measure's NULL (another measure's event row) sums as nothing
    created = roll_up(
        _in_week(bounds.select("cell", "vf", "vt", "wk_created"), "wk_created", grid_weeks).with_columns(created=1),
        "created",
    )
    resolved = _rolled_up(
        _in_week(
            bounds.filter(pl.col("res").is_not_null()).select("cell", "vf", "vt", "wk_res", "resolve_hours",
                                                              "resolved_breach"),
            "wk_res",
            grid_weeks,
        ),
        maps,
        ["status_date"],
        pl.len().alias("resolved"),
        pl.col("resolve_hours").quantile(0.5, interpolation="linear").alias("median_resolve_hours"),
        pl.col("resolve_hours").quantile(0.9, interpolation="linear").alias("p90_resolve_hours"),
        pl.col("resolved_breach").is_not_null().sum().alias("_res_known"),
        pl.col("resolved_breach").fill_null(False).sum().alias("_res_breach"),
    )  # fmt: skip
    # one row per ticket and week at most (a snapshot in force per week), so a count is a count of tickets
    reopened = roll_up(
        _in_week(bounds.filter(pl.col("reopen")).select("cell", "vf", "vt", "wk_d"), "wk_d", grid_weeks).with_columns(
            reopened=1
        ),
        "reopened",
    )
    counts = ["created", "resolved", "reopened", "_res_known", "_res_breach"]
    flow = (
        grid.join(steps, on=keys, how="left")
        .join(created, on=keys, how="left")
        .join(resolved, on=keys, how="left")
        .join(reopened, on=keys, how="left")
        .with_columns(pl.col(*_INTERVALS, *counts).fill_null(0).cast(pl.Int64))
        .sort(keys)  # the rolled-up cells are numbered in KEY order
        .with_columns(pl.col(*_INTERVALS).cum_sum().over("_r"))
        .with_columns(sla_known=pl.col("_res_known") + pl.col("_open_known"))
        .with_columns(
            sla_breaches=pl.when(pl.col("sla_known") > 0).then(pl.col("_res_breach") + pl.col("_open_breach"))
        )
    )
    r = flow.get_column("_r")
    flow = pl.concat([rolled.select(pl.col(*KEY).gather(r)), flow.drop("_r")], how="horizontal")
    return flow.select([pl.col(c).cast(t) for c, t in FLOW_COLUMNS.items()])


def items_of(rows: pl.DataFrame, grid_weeks: pl.DataFrame, since: dt.date | None = None) -> pl.DataFrame:
    """marts.ticket_flow_items from `snapshots` (with `since`, its rows of the status dates from then on). breach is
    "resolved" (resolved in the week past its target) or "open" (open at the status date past it). Only breaching
    tickets are expanded over the weeks they stay open past target.
    """
    if since is not None:
        grid_weeks = grid_weeks.filter(pl.col("status_date") >= since)
        rows = rows.filter(_counts_from(since))
    if rows.is_empty() or grid_weeks.is_empty():
        return pl.DataFrame(schema=ITEMS_COLUMNS)
    rows = rows.select(
        "item_key", "project_id", "assignment_group", "priority", "d", "_source_file", "_line", "due", "res_ts",
        "vf", "vt", "_open_breach_from", "_open_breach_to", "res", "wk_res", "resolved_breach", "reopen", "wk_d",
    )  # fmt: skip
    open_breach = rows.filter(pl.col("_open_breach_from").is_not_null()).join_where(
        grid_weeks,
        pl.col("_open_breach_from") <= pl.col("status_date"),
        pl.col("status_date") < pl.col("_open_breach_to"),
    )
    resolved_breach = _in_week(rows.filter(pl.col("res").is_not_null()), "wk_res", grid_weeks).filter(
        pl.col("resolved_breach").fill_null(False)
    )
    reopened = _in_week(rows.filter(pl.col("reopen")), "wk_d", grid_weeks)
    tagged = pl.concat(
        [
            open_breach.with_columns(breach=pl.lit("open"), sla_breach=pl.lit(True), reopened=pl.lit(False)),
            resolved_breach.with_columns(breach=pl.lit("resolved"), sla_breach=pl.lit(True), reopened=pl.lit(False)),
            reopened.with_columns(breach=pl.lit(None, pl.String), sla_breach=pl.lit(False), reopened=pl.lit(True)),
        ],
        how="diagonal_relaxed",
    )
    # A ticket has one snapshot in force per status date, so its breach and its reopen share that row.
    return (
        tagged.group_by("status_date", "item_key")
        .agg(
            pl.col("project_id", "assignment_group", "priority", "d", "_source_file", "_line").first(),
            pl.col("sla_breach").any(),
            pl.col("breach").drop_nulls().first(),
            pl.col("reopened").any(),
            pl.col("due").first().alias("sla_due_at"),
            pl.col("res_ts").first().alias("resolved_at"),
        )
        .rename({"d": "snapshot_date"})
        .select([pl.col(c).cast(t) for c, t in ITEMS_COLUMNS.items()])
        .sort("status_date", "item_key")
    )
