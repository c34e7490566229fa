"""Schedule variance beyond SV: milestone and due-date slips (../shared/EVM.md "Schedule variance beyond SV").

Outputs and their grain:
- `milestone_variance()[0]` (marts.milestone_variance): one row per project and item at the as-of date: the
  baseline date, forecast and actual dates, the slip in the project's working days and the item's state.
- `milestone_variance()[1]` (marts.milestone_slips): one row per grid row (project, status date): items tracked,
  items due, slipped, overdue, done late, the mean slip and the change in slipped items since the previous week.
- `milestone_variance()[2]` (marts.milestone_history): one row per milestone and status date of its project's grid,
  as the first frame evaluated with as_of = that date: the milestone trend (how each forecast moved week by week),
  and what a pack of an earlier week shows (a backfill's packs are rendered after the marts reach its last week).

Items: the milestone elements of the baseline version in force, plus every work item with a due date. The baseline
date is the element's planned finish in the version in force (the latest with effective_from on or before the date,
else the first version); for a due-dated item not in that version, the due date of the first snapshot that gave it
one. The forecast is the due date in the item's snapshot in force (its latest export on or before the date); the
actual is the resolution date once done. Before an item's first export only its dates are rebuilt (as for earned
value): a baseline milestone is done from its resolution date and has no forecast; a due-dated item not in the
baseline is not tracked before the export that first gave it a due date.

State (at the date S): done → "done_on_time" (actual ≤ baseline), "done_late" (actual > baseline) or
"done_undated" (done without a resolution date); not done → "overdue" when its forecast (else its baseline date)
is before S, "slipped" when the forecast is after the baseline date, else "on_track".
slip_working_days = wd(end) − wd(baseline date) on the project's calendar (`wd` = cumulative working days), where
end = the actual date when done; for an overdue item the status date (a forecast already passed is no longer a
forecast); else the forecast; NULL when none is known (not due, no forecast). Negative = early.

Weekly counts without an item × week cross join: an item's attributes can only change at its exports, its
resolution date and the project's rebaselines, so each item is evaluated at those dates only. Each evaluated
segment adds +1 (or its slip) to a count from the first status date it holds and −1 from the first it no longer
holds; a running sum over the sorted status dates gives the weekly figures. The overdue items' slip grows with the
status date, so the mean slip is (Σ constant slips + n_overdue × wd(S) − Σ wd(baseline of overdue)) / items with a
slip, a ratio of sums.

Kept from one run to the next (marts.milestone_state): a project whose inputs are the same as when its rows were
computed (`digests_sql`: what it reads of its elements, versions, calendar and the exports of the items its keys are
of) and none of whose dates (an export, a resolution, a version taking effect) falls after that run's as-of date and
on or before this one's, has every item's attributes of then still in force. Its rows are carried forward: those of
the earlier weeks as they were, the as-of date's and the new weeks' evaluated again from the earlier as-of rows (only
the overdue state and an overdue item's slip move with the date). The other projects are computed as above.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from transforms import duck
from transforms.numbering import number, sorted_keys

STATES = ("done_on_time", "done_late", "done_undated", "overdue", "slipped", "on_track")
VARIANCE_COLUMNS = {
    "project_id": pl.String, "item_key": pl.String, "summary": pl.String, "is_milestone": pl.Boolean,
    "in_baseline": pl.Boolean, "baseline_version": pl.Int64, "baseline_date": pl.Date, "forecast_date": pl.Date,
    "actual_date": pl.Date, "slip_working_days": pl.Int64, "state": pl.String,
}  # fmt: skip
# A milestone's variance columns at each status date (every row is a milestone: no is_milestone).
HISTORY_COLUMNS = {"project_id": pl.String, "item_key": pl.String, "status_date": pl.Date} | {
    c: t for c, t in VARIANCE_COLUMNS.items() if c not in ("project_id", "item_key", "is_milestone")
}
SLIPS_COLUMNS = {
    "project_id": pl.String, "status_date": pl.Date, "items": pl.Int64, "items_due": pl.Int64, "slipped": pl.Int64,
    "overdue": pl.Int64, "done_late": pl.Int64, "mean_slip_working_days": pl.Float64, "slipped_change": pl.Int64,
}  # fmt: skip
# marts.milestone_state: per project, the as-of date its rows were computed or carried to and the digest of its inputs.
STATE_COLUMNS = {"project_id": pl.String, "as_of": pl.Date, "digest": pl.String}
# The columns `milestone_variance` reads of each input (beside project_id): a project's digest is of these, so that a
# change elsewhere in a row (a ticket's assignee, pseudonymised by `pmo forget`) does not make it compute again.
READS = {
    "elements": ["baseline_version", "effective_from", "element_key", "planned_finish", "is_milestone"],
    "versions": ["baseline_version", "effective_from"],
    "projects": ["calendar_id"],
    "work_items": ["item_key", "snapshot_date", "project_id", "status_category", "resolved", "due", "is_milestone",
                   "summary"],
}  # fmt: skip
_DONE = ("done_on_time", "done_late", "done_undated")
_METRICS = ("items", "items_due", "slipped", "overdue", "done_late", "n_const", "sum_const", "n_var", "sum_wdb")


def _day_number(day: pl.Expr) -> pl.Expr:
    return day.cast(pl.Int32).cast(pl.Int64)


def _sort_key(number: pl.Expr, day: pl.Expr) -> pl.Expr:
    """One Int64 ordering (number, day): the number in the high 32 bits, the day (made non-negative) below."""
    return number.cast(pl.Int64) * 2**32 + _day_number(day) + 2**31


def _pair(pid: pl.Expr, iid: pl.Expr) -> pl.Expr:
    """One Int64 per (project number, item number), ordered as the pairs."""
    return pid.cast(pl.Int64) * 2**32 + iid.cast(pl.Int64)


def _matched(frame: pl.DataFrame, ids: str, wanted: pl.Series) -> pl.DataFrame:
    """For each of `wanted`, in its order, the row of `frame` (sorted by its distinct `ids`) with that id, without
    `ids`; all NULL where there is none: a left join by binary search."""
    at = wanted.to_frame("_id").select(number(frame.get_column(ids), "_id")).to_series()
    return frame.drop(ids)[at]


def _matched_dense(frame: pl.DataFrame, ids: str, wanted: pl.Series, size: int) -> pl.DataFrame:
    """`_matched` for a frame whose `ids` are distinct numbers below `size` (in any order): through a dense table of
    each id's row, a scatter and a gather instead of a binary search per wanted id (5x faster on a million)."""
    rows = pl.repeat(None, size, dtype=pl.UInt32, eager=True)
    rows.scatter(frame.get_column(ids), pl.int_range(frame.height, dtype=pl.UInt32, eager=True))
    return frame.drop(ids)[rows.gather(wanted)]


def _lookup(values: pl.Series, row: pl.Expr, day: pl.Expr, first: dt.date | None, days: int) -> pl.Expr:
    """values[row × days + (day − first)]: a dense (row, day) table read by position; NULL off the table."""
    if first is None:
        return pl.lit(None, values.dtype)
    offset = _day_number(day) - _day_number(pl.lit(first, pl.Date))
    at = pl.when((offset >= 0) & (offset < days)).then(row.cast(pl.Int64) * days + offset)
    return pl.lit(values).gather(at)


class _Inputs:
    """The lookups every evaluation shares, built once. Projects, items, (project, item) keys and calendars are
    numbered once (pid, iid, kid, cid) so the heavy sorts, joins and as-of joins run on integers, not strings;
    working-day counts and status weeks are read by position from dense tables."""

    def __init__(self, elements, work_items, cal, projects, grid, as_of):
        grid = grid.filter(pl.col("status_date") <= as_of).select("project_id", "status_date")
        pids = grid.select("project_id").unique().sort("project_id").with_row_index("pid")
        # The grid in (project, status date) order; g numbers its rows.
        self.grid = grid.join(pids, on="project_id").sort("pid", "status_date").with_row_index("g")
        calendars = projects.select("project_id", pl.col("calendar_id").fill_null("default"))
        cids = cal.select("calendar_id").unique().sort("calendar_id").with_row_index("cid")
        self.project_cid = pids.join(calendars, on="project_id").join(cids, on="calendar_id", how="left")
        # wd of every calendar and day from the first to the last day of `cal` (NULL where it has none).
        self.cal_first, last = cal.select(pl.col("day").min().alias("lo"), pl.col("day").max().alias("hi")).row(0)
        self.cal_days = (last - self.cal_first).days + 1 if last is not None else 0
        if self.cal_days:
            days = pl.DataFrame({"day": pl.date_range(self.cal_first, last, "1d", eager=True)})
            dense = cids.join(days, how="cross").join(cal.select("calendar_id", "day", "wd"), on=["calendar_id", "day"],
                                                      how="left")  # fmt: skip
            self.cal_wd = dense.sort("cid", "day").get_column("wd")
        else:
            self.cal_wd = cal.get_column("wd")
        # The grid row (g) of the first status date of each project on or after each day from the grid's first
        # status date to its last (NULL after the project's last).
        self.week_first, last = self.grid.select(
            pl.col("status_date").min().alias("lo"), pl.col("status_date").max().alias("hi")
        ).row(0)
        self.week_days = (last - self.week_first).days + 1 if last is not None else 0
        if self.week_days:
            days = pl.DataFrame({"day": pl.date_range(self.week_first, last, "1d", eager=True)})
            dense = pids.select("pid").join(days, how="cross", maintain_order="left_right")  # in (pid, day) order
            # One as-of join on the sorted (pid, day) key, as in `at` (no sorts, no hash by pid); a status date of a
            # later project found is none.
            dense = dense.with_columns(_key=_sort_key(pl.col("pid"), pl.col("day"))).join_asof(
                self.grid.select(_key=_sort_key(pl.col("pid"), pl.col("status_date")), _pid="pid", g="g"),
                on="_key", strategy="forward", check_sortedness=False,
            )  # fmt: skip
            self.week_g = dense.select(pl.when(pl.col("_pid") == pl.col("pid")).then(pl.col("g"))).get_column("g")
        else:
            self.week_g = pl.Series("g", [], pl.UInt32)

        els = elements.with_columns(pl.col("is_milestone").fill_null(False))
        versions = els.group_by("project_id", "baseline_version").agg(pl.col("effective_from").min())
        rows = work_items.select(
            "item_key", "snapshot_date", "project_id", "status_category", "resolved", "due", "is_milestone", "summary"
        )  # fmt: skip
        # The tracked (project, item) keys: the baseline's milestones and the items with a due date, of the grid's
        # projects with a calendar. Projects and items are numbered in their sorted order (pid, iid), and keys in
        # (pid, iid) order (kid): kid order is (project_id, item_key) order.
        project_keys = pids.get_column("project_id")
        milestones = els.filter(pl.col("is_milestone"))
        due = pl.col("due").is_not_null() & pl.col("project_id").is_not_null()
        item_keys = sorted_keys(milestones.get_column("element_key"), rows.filter(due).get_column("item_key"))
        pid = number(project_keys, "project_id")
        rows = rows.with_columns(iid=number(item_keys, "item_key")).filter(pl.col("iid").is_not_null())
        keys = (
            pl.concat([
                milestones.select(pid=pid, iid=number(item_keys, "element_key"), _due_item=pl.lit(False)),
                rows.filter(due).select(pid=pid, iid="iid", _due_item=pl.lit(True)),
            ])
            .filter(pl.col("pid").is_in(pids.join(calendars, on="project_id", how="semi").get_column("pid").to_list()))
            .select(_pair=_pair(pl.col("pid"), pl.col("iid")), pid="pid", iid="iid", _due_item="_due_item")
            # One row per key, a due-dated one if any (_due_item: any of them), by a stable sort and the first row of
            # each key rather than a group_by of a million groups; the NULL key's rows are one key, as in a group_by.
            .sort("_pair", "_due_item", descending=[False, True], maintain_order=True)
            .filter(pl.col("_pair").ne_missing(pl.col("_pair").shift(1)) | (pl.int_range(pl.len()) == 0))
            .with_row_index("kid")
        )  # fmt: skip
        pairs = keys.get_column("_pair")
        keys = keys.drop("_pair").with_columns(
            project_id=project_keys.gather(keys.get_column("pid")), item_key=item_keys.gather(keys.get_column("iid"))
        )
        # Every export of a tracked item (later ones too: they date what happened before them), by item and date.
        rows = rows.drop("project_id", "item_key").sort("iid", "snapshot_date")
        first = (pl.col("iid") != pl.col("iid").shift(1)).fill_null(True)
        first_rows = rows.filter(first).select(
            "iid",
            pl.col("status_category").alias("_first_category"),
            pl.col("resolved").alias("_first_resolved"),
            pl.col("is_milestone").alias("_first_milestone"),
            pl.col("summary").alias("_first_summary"),
        )
        first_due = (
            rows.filter(pl.col("due").is_not_null())
            .filter(first)
            .select("iid", pl.col("snapshot_date").alias("first_due_snapshot"), pl.col("due").alias("first_due"))
        )
        bounds = self.grid.group_by("pid").agg(
            pl.col("status_date").min().alias("_lo"), pl.col("status_date").max().alias("_hi")
        )
        versions = versions.with_columns(pid=pid).filter(pl.col("pid").is_not_null())
        first_version = versions.group_by("pid").agg(pl.col("baseline_version").min().alias("_first_version"))
        iid, items = keys.get_column("iid"), item_keys.len()
        self.keys = pl.concat(
            [keys, _matched_dense(first_rows, "iid", iid, items), _matched_dense(first_due, "iid", iid, items)],
            how="horizontal",
        ).join(  # per project: a thousand rows
            self.project_cid.select("pid", "cid").join(first_version, on="pid", how="left").join(bounds, on="pid"),
            on="pid", how="left", maintain_order="left",
        )  # fmt: skip
        # Per key, sorted by (kid, date) for the as-of joins: the project's versions (the latest version on a tie)
        # and the item's exports.
        # with the item's element in each version (planned_finish, element_milestone; NULL: not an element).
        elements = (
            els.select(pid=pid, iid=number(item_keys, "element_key"), baseline_version="baseline_version",
                       planned_finish="planned_finish", element_milestone="is_milestone")
            .select(pl.exclude("pid", "iid"), kid=number(pairs, _pair(pl.col("pid"), pl.col("iid"))))
            .filter(pl.col("kid").is_not_null())
        )  # fmt: skip
        # (kid, version) as one Int64, kid × versions + the version's number, so the left join runs on one integer
        # column instead of two; NULL for a NULL version, which then matches nothing, as in the join on two columns.
        version_numbers = sorted_keys(els.get_column("baseline_version"))
        kv = pl.col("kid").cast(pl.Int64) * version_numbers.len() + number(version_numbers, "baseline_version")
        self.versions = (
            keys.select("kid", "pid")
            .join(versions.select("pid", "effective_from", "baseline_version"), on="pid")
            .drop("pid")
            .with_columns(_kv=kv)
            .join(elements.select(pl.exclude("kid", "baseline_version"), _kv=kv), on="_kv", how="left")
            .drop("_kv")
            .sort("kid", "effective_from", "baseline_version")
        )
        first_element = (
            elements.filter(pl.col("baseline_version") == pl.lit(self.keys.get_column("_first_version")).gather("kid"))
            .select("kid", _first_planned_finish="planned_finish", _first_element_milestone="element_milestone")
            .sort("kid")
        )  # fmt: skip
        self.keys = pl.concat([self.keys, _matched(first_element, "kid", self.keys.get_column("kid"))],
                              how="horizontal")  # fmt: skip
        self.rows = (
            keys.select("kid", "iid")
            .join(rows, on="iid")
            .drop("iid")
            .sort(_sort_key(pl.col("kid"), pl.col("snapshot_date")))
        )

    def wd(self, day: str) -> pl.Expr:
        """The cumulative working-day count of `day` on the project's calendar (`cid`)."""
        return _lookup(self.cal_wd, pl.col("cid"), pl.col(day), self.cal_first, self.cal_days)

    def week(self, day: pl.Expr) -> pl.Expr:
        """The grid row (g) of the project's (`pid`) first status date on or after `day` (NULL: after its last)."""
        return _lookup(self.week_g, pl.col("pid"), day.clip(lower_bound=pl.lit(self.week_first, pl.Date)),
                       self.week_first, self.week_days)  # fmt: skip

    def at(self, frame: pl.DataFrame, *, full: bool) -> pl.DataFrame:
        """Each (kid, at), sorted by kid and at, with the item's attributes in force at `at`. `full`: with the
        identifying and descriptive columns (project_id, item_key, summary, is_milestone) as well."""
        extra = ["next_at"] if "next_at" in frame.columns else []
        rows = self.rows if full else self.rows.drop("summary", "is_milestone")
        # As-of joins on one sorted (kid, day) key instead of by kid (a merge, no hash of a million groups); a row of
        # an earlier kid found (none of the key's on or before `at`) is no row.
        out = frame.select("kid", "at", *extra).with_columns(_key=_sort_key(pl.col("kid"), pl.col("at")))
        for right, day in ((self.versions, "effective_from"), (rows, "snapshot_date")):
            out = out.join_asof(
                right.select(pl.exclude("kid"), _key=_sort_key(pl.col("kid"), pl.col(day)), _kid="kid"),
                on="_key", check_sortedness=False,
            )  # fmt: skip
            found = [c for c in right.columns if c != "kid"]
            same = pl.col("_kid") == pl.col("kid")
            out = out.select(pl.exclude(*found, "_kid"), *[pl.when(same).then(c) for c in found])
        out = out.drop("_key")
        keys = self.keys.drop("kid")
        if not full:
            keys = keys.select(
                "pid", "cid", "_due_item", "_first_version", "_first_planned_finish", "_first_element_milestone",
                "_first_category", "_first_resolved", "first_due_snapshot", "first_due",
            )  # fmt: skip
        # The key's own columns, by position; then one lazy query, which runs the column steps and the filter below
        # together instead of building each intermediate frame of a million rows.
        out = pl.concat([out, keys[out.get_column("kid")]], how="horizontal").lazy()
        # Before the project's first version takes effect, its first version is in force.
        first = pl.col("baseline_version").is_null()
        out = out.with_columns(
            baseline_version=pl.coalesce("baseline_version", "_first_version"),
            planned_finish=pl.when(first).then(pl.col("_first_planned_finish")).otherwise(pl.col("planned_finish")),
            element_milestone=pl.when(first)
            .then(pl.col("_first_element_milestone"))
            .otherwise(pl.col("element_milestone")),
        )
        pre = pl.col("snapshot_date").is_null()  # before the item's first export: only its dates are known
        category = pl.when(pre).then(pl.col("_first_category")).otherwise(pl.col("status_category"))
        resolved = pl.when(pre).then(pl.col("_first_resolved")).otherwise(pl.col("resolved"))
        done = (category == "done") & (
            (resolved <= pl.col("at")).fill_null(False) | (resolved.is_null() & ~pre)
        ).fill_null(False)
        due_known = (pl.col("first_due_snapshot") <= pl.col("at")).fill_null(False)
        in_baseline = pl.col("element_milestone").is_not_null()  # the item is an element of the version in force
        columns = {
            "in_baseline": in_baseline,
            "baseline_date": pl.when(in_baseline)
            .then(pl.col("planned_finish"))
            .when(due_known)
            .then(pl.col("first_due")),
            "tracked": pl.col("element_milestone").fill_null(False)
            | (pl.col("_due_item").fill_null(False) & due_known),
            "forecast_date": pl.when(~pre).then(pl.col("due")),
            "done": done,
            "actual_date": pl.when(done).then(resolved),
        }
        if full:
            columns |= {
                "is_milestone": pl.col("element_milestone").fill_null(False)
                | pl.coalesce("is_milestone", "_first_milestone").fill_null(False),
                "summary": pl.coalesce("summary", "_first_summary"),
            }
        out = out.with_columns(**columns)
        out = out.with_columns(
            baseline_version=pl.when(pl.col("in_baseline")).then(pl.col("baseline_version")),
            target=pl.when(~pl.col("done")).then(pl.coalesce("forecast_date", "baseline_date")),
        )
        # An item without a baseline date cannot slip or be due: it is not tracked.
        out = out.filter(pl.col("tracked") & pl.col("baseline_date").is_not_null())
        if not full:
            out = out.select(
                "pid", "cid", "at", *extra, "done", "actual_date", "baseline_date", "forecast_date", "target"
            )  # fmt: skip
        return out.with_columns(
            wd_base=self.wd("baseline_date"), wd_actual=self.wd("actual_date"), wd_fc=self.wd("forecast_date")
        ).collect()


def _variance(inputs: _Inputs, as_of: dt.date) -> pl.DataFrame:
    items = _evaluated(inputs, inputs.keys.select("kid", at=pl.lit(as_of, pl.Date)))
    return items.select([pl.col(c).cast(t) for c, t in VARIANCE_COLUMNS.items()])  # in kid order: (project, item)


def _history(inputs: _Inputs) -> pl.DataFrame:
    """The milestones evaluated at every status date of their project's grid, as `_variance` at that date.

    Only the keys that are a milestone in some version or export are evaluated (a portfolio's due-dated tickets are
    a million, its milestones a few per project), each at its project's status dates: (key, date) pairs in
    (project, item, date) order, which the as-of joins need and the mart's key is."""
    candidates = pl.concat(
        [
            inputs.versions.filter(pl.col("element_milestone").fill_null(False)).select("kid"),
            inputs.rows.filter(pl.col("is_milestone").fill_null(False)).select("kid"),
            inputs.keys.filter(
                pl.col("_first_element_milestone").fill_null(False) | pl.col("_first_milestone").fill_null(False)
            ).select("kid"),
        ]
    ).unique()
    pairs = (
        inputs.keys.join(candidates, on="kid", how="semi")
        .select("kid", "pid")
        .join(inputs.grid.select("pid", at="status_date"), on="pid")
        .select("kid", "at")
        .sort("kid", "at")
    )
    items = _evaluated(inputs, pairs).filter(pl.col("is_milestone"))
    return items.rename({"at": "status_date"}).select([pl.col(c).cast(t) for c, t in HISTORY_COLUMNS.items()])


def _evaluated(inputs: _Inputs, frame: pl.DataFrame) -> pl.DataFrame:
    """Each tracked (kid, at) of `frame` (sorted by kid and at) with its state and slip at `at`."""
    items = inputs.at(frame, full=True)
    items = items.with_columns(wd_at=inputs.wd("at"))
    overdue = ~pl.col("done") & (pl.col("target") < pl.col("at"))
    state = (
        pl.when(pl.col("done") & pl.col("actual_date").is_null())
        .then(pl.lit("done_undated"))
        .when(pl.col("done") & (pl.col("actual_date") > pl.col("baseline_date")))
        .then(pl.lit("done_late"))
        .when(pl.col("done"))
        .then(pl.lit("done_on_time"))
        .when(overdue)
        .then(pl.lit("overdue"))
        .when(pl.col("forecast_date") > pl.col("baseline_date"))
        .then(pl.lit("slipped"))
        .otherwise(pl.lit("on_track"))
    )
    slip = (
        pl.when(pl.col("done"))
        .then(pl.col("wd_actual") - pl.col("wd_base"))
        .when(overdue)
        .then(pl.col("wd_at") - pl.col("wd_base"))
        .otherwise(pl.col("wd_fc") - pl.col("wd_base"))
    )
    return items.with_columns(state=state, slip_working_days=slip)


def _segments(inputs: _Inputs) -> pl.DataFrame:
    """Each item's attributes over the segments [at, next_at) between the dates where they can change: its first
    status date, its exports, its resolution dates (in exports saying done) and its project's rebaselines."""
    dates = pl.concat(
        [
            inputs.keys.select("kid", pl.col("_lo").alias("at")),
            inputs.rows.select("kid", pl.col("snapshot_date").alias("at")),
            inputs.rows.filter(pl.col("status_category") == "done").select("kid", pl.col("resolved").alias("at")),
            inputs.versions.select("kid", pl.col("effective_from").alias("at")),
        ]
    )
    bounds = inputs.keys.select("_lo", "_hi")
    kid, at = pl.col("kid"), pl.col("at")
    # One sort key: kid in the high 32 bits, the day number (offset to be non-negative) in the low ones.
    key = _sort_key(kid, at)
    dates = (
        pl.concat([dates, bounds[dates.get_column("kid")]], how="horizontal")
        .filter(at >= pl.col("_lo"), at <= pl.col("_hi"))
        .select("kid", "at", _key=key)
        .sort("_key")
        .filter((pl.col("_key") != pl.col("_key").shift(1)).fill_null(True))
        .select("kid", "at", next_at=pl.when(kid.shift(-1) == kid).then(at.shift(-1)))
    )
    return inputs.at(dates, full=False)


def _intervals(seg: pl.LazyFrame) -> pl.LazyFrame:
    """One row per segment and span [start, end) over which some of its metrics hold: every metric's value over
    the span (0 where it does not hold there). The metrics holding over the same span share a row. Lazy: `_weekly`
    sums the intervals by their weeks in the same query, without building the millions of rows first."""
    end, done, at = pl.col("next_at"), pl.col("done"), pl.col("at")
    overdue_from = pl.max_horizontal(at, pl.col("target") + pl.duration(days=1))
    late = done & (pl.col("actual_date") > pl.col("baseline_date")).fill_null(False)
    slipped = late | (~done & (pl.col("forecast_date") > pl.col("baseline_date")).fill_null(False))
    open_ = ~done & pl.col("target").is_not_null()
    const = done & pl.col("wd_actual").is_not_null()
    const_fc = ~done & pl.col("wd_fc").is_not_null()

    def value(holds: pl.Expr, amount: pl.Expr | None = None) -> pl.Expr:
        return pl.when(holds.fill_null(False)).then(pl.lit(1) if amount is None else amount).otherwise(pl.lit(0))

    spans = [
        # (segments, start, end (NULL: open-ended; min_horizontal skips a NULL segment end), {metric: value})
        (None, at, end, {
            "items": pl.lit(1), "slipped": value(slipped), "done_late": value(late),
            # Constant slips: done (to the actual) ...
            "n_const": value(const), "sum_const": value(const, pl.col("wd_actual") - pl.col("wd_base")),
        }),
        (None, pl.max_horizontal(at, pl.col("baseline_date")), end, {"items_due": pl.lit(1)}),
        # ... or not yet overdue with a forecast (to the forecast).
        (const_fc, at, pl.min_horizontal(end, overdue_from), {
            "n_const": pl.lit(1), "sum_const": pl.col("wd_fc") - pl.col("wd_base"),
        }),
        # Overdue: the slip runs to the status date, wd(S) − wd(baseline).
        (open_, overdue_from, end, {"overdue": pl.lit(1), "n_var": pl.lit(1), "sum_wdb": pl.col("wd_base")}),
    ]  # fmt: skip
    parts = [
        (seg if holds is None else seg.filter(holds.fill_null(False))).select(
            "pid",
            start.alias("start"),
            stop.alias("end"),
            *[values.get(m, pl.lit(0)).cast(pl.Int64).alias(m) for m in _METRICS],
        )
        for holds, start, stop, values in spans
    ]
    return pl.concat(parts).filter(pl.col("end").is_null() | (pl.col("start") < pl.col("end")))


def _weekly(inputs: _Inputs, intervals: pl.LazyFrame) -> pl.DataFrame:
    """Running sums of the interval events over each project's sorted status dates."""
    metrics = [pl.col(m) for m in _METRICS]
    # An event on day x counts from the first status date on or after x (grid row g; none after the last): each
    # interval adds its values from the week of its start and takes them off from the week of its end. Intervals
    # with the same weeks are summed first.
    none = 2**32 - 1
    spans = (
        intervals.select(
            inputs.week(pl.col("start")).alias("_gs"), inputs.week(pl.col("end")).fill_null(none).alias("_ge"), *metrics
        )
        .filter(pl.col("_gs").is_not_null())
        .select((pl.col("_gs").cast(pl.Int64) * 2**32 + pl.col("_ge")).alias("_span"), *metrics)
        .group_by("_span")
        .agg([m.sum() for m in metrics])
        .collect()
        .with_columns(_gs=pl.col("_span") // 2**32, _ge=pl.col("_span") % 2**32)
    )
    events = pl.concat(
        [
            spans.select(pl.col("_gs").alias("g"), *metrics),
            spans.filter(pl.col("_ge") != none).select(pl.col("_ge").alias("g"), *[-m for m in metrics]),
        ]
    )
    deltas = events.group_by("g").agg([m.sum() for m in metrics]).with_columns(pl.col("g").cast(pl.UInt32))
    pid = pl.col("pid")
    weekly = (
        inputs.grid.join(deltas, on="g", how="left")
        .join(inputs.project_cid.select("pid", "cid"), on="pid", how="left")
        .sort("g")
        .with_columns([m.fill_null(0).cum_sum().over("pid") for m in metrics])
        .with_columns(wd_s=inputs.wd("status_date"))
    )
    items_with_slip = pl.col("n_const") + pl.col("n_var")
    slip_sum = pl.col("sum_const") + pl.col("n_var") * pl.col("wd_s") - pl.col("sum_wdb")
    return weekly.with_columns(
        mean_slip_working_days=pl.when(items_with_slip > 0).then(
            slip_sum.cast(pl.Float64) / items_with_slip.cast(pl.Float64)
        ),
        slipped_change=pl.when(pid == pid.shift(1)).then(pl.col("slipped") - pl.col("slipped").shift(1)),
    ).select([pl.col(c).cast(t) for c, t in SLIPS_COLUMNS.items()])


def milestone_variance(
    *,
    elements: pl.DataFrame,
    work_items: pl.DataFrame,
    cal: pl.DataFrame,
    projects: pl.DataFrame,
    grid: pl.DataFrame,
    as_of: dt.date,
    kept: Kept | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(marts.milestone_variance, marts.milestone_slips, marts.milestone_history): VARIANCE_COLUMNS at `as_of`,
    SLIPS_COLUMNS per grid row and HISTORY_COLUMNS per milestone and grid row.

    elements: baseline elements of every version (project_id, baseline_version, effective_from, element_key,
    planned_finish, is_milestone); work_items: staging snapshots (item_key, snapshot_date, project_id,
    status_category, resolved, due, is_milestone, summary); cal: `transforms.calendar.working_day_index` covering
    every baseline, forecast, actual and status date; projects: project_id, calendar_id (NULL: "default");
    grid: project_id, status_date (only the dates up to `as_of` are used). Exports dated after `as_of` still date
    what happened before them (an item first exported later is rebuilt from its resolution date), so the row of a
    week in marts.milestone_slips, and the milestones' rows of a week in marts.milestone_history, are exactly this
    function's first frame evaluated with as_of = that week.

    kept: the rows of the projects kept from an earlier run (`kept_projects`), carried forward to `as_of`; the
    other projects are computed from `elements` and `work_items`, which need hold only what those read."""
    if kept is not None:
        grid = grid.join(kept.state, on="project_id", how="anti")
    if grid.filter(pl.col("status_date") <= as_of).is_empty():
        computed = tuple(pl.DataFrame(schema=c) for c in (VARIANCE_COLUMNS, SLIPS_COLUMNS, HISTORY_COLUMNS))
    else:
        inputs = _Inputs(elements, work_items, cal, projects, grid, as_of)
        computed = _variance(inputs, as_of), _weekly(inputs, _intervals(_segments(inputs).lazy())), _history(inputs)
    if kept is None:
        return computed
    carried = _carried(kept, cal, projects, as_of)
    variance, slips, history = (pl.concat(pair) for pair in zip(computed, carried, strict=True))
    # Each part in its key order and the projects apart: a stable sort by project keeps the order within each.
    return (variance.sort("project_id", maintain_order=True), slips.sort("project_id", "status_date"),
            history.sort("project_id", "item_key", "status_date"))  # fmt: skip


@dataclass(frozen=True)
class Kept:
    """What an earlier run computed for the projects `kept_projects` keeps, and their status dates now."""

    state: pl.DataFrame  # STATE_COLUMNS of the kept projects: the as-of date their rows are of
    variance: pl.DataFrame  # their rows of marts.milestone_variance (VARIANCE_COLUMNS), at that as-of date
    slips: pl.DataFrame  # of marts.milestone_slips (SLIPS_COLUMNS), up to it
    history: pl.DataFrame  # of marts.milestone_history (HISTORY_COLUMNS), up to it
    grid: pl.DataFrame  # project_id, status_date: their status dates now


def digests_sql(*, baselines: str, frozen_elements: str, versions: str, projects: str, work_items: str,
                shared: str) -> str:  # fmt: skip
    """One SELECT of project_id, digest, latest_event over the warehouse's tables, with the parameter $as_of.

    digest: after `shared` (what every project depends on, a literal), the count and the sum of the hashes of what
    `milestone_variance` reads (READS) of the project's elements (`baselines` and `frozen_elements`), its versions,
    its row of `projects`, and every export of the items its keys are of (its milestone elements and its due-dated
    tickets), wherever they were exported. A sum, not an XOR, so two equal rows do not cancel out.
    latest_event: the latest of those exports' dates, their resolution dates and its versions' effective dates on or
    before $as_of: an item's attributes can change only then. Names come from code, not input."""

    def columns(kind: str) -> str:
        return ", ".join(f"r.{c}" for c in READS[kind])

    until = "$as_of::DATE"
    return f"""
    WITH els AS (
        SELECT project_id, {columns("elements")} FROM {baselines} r
        UNION ALL SELECT project_id, {columns("elements")} FROM {frozen_elements} r
    ),
    named AS (  -- the items of each project's keys
        SELECT DISTINCT project_id, element_key AS item_key FROM els WHERE is_milestone AND element_key IS NOT NULL
        UNION SELECT DISTINCT project_id, item_key FROM {work_items}
        WHERE due IS NOT NULL AND project_id IS NOT NULL AND item_key IS NOT NULL
    ),
    items AS (
        SELECT item_key, hash('work_items', {columns("work_items")}) AS h,
               greatest(CASE WHEN snapshot_date <= {until} THEN snapshot_date END,
                        CASE WHEN resolved <= {until} THEN resolved END) AS d
        FROM {work_items} r
    ),
    h AS (
        SELECT r.project_id, hash('elements', {columns("elements")}) AS h, r.effective_from AS d FROM els r
        UNION ALL SELECT project_id, hash('versions', {columns("versions")}), r.effective_from FROM {versions} r
        UNION ALL SELECT project_id, hash('projects', {columns("projects")}), NULL FROM {projects} r
        UNION ALL SELECT n.project_id, i.h, i.d FROM named n JOIN items i ON i.item_key = n.item_key
    )
    SELECT project_id, concat({duck.text(shared)}, ':', count(*), ':', sum(h)) AS digest,
           max(d) FILTER (WHERE d <= {until}) AS latest_event
    FROM h WHERE project_id IS NOT NULL GROUP BY project_id
    """


def kept_projects(digests: pl.DataFrame, state: pl.DataFrame, slips: pl.DataFrame, grid: pl.DataFrame,
                  as_of: dt.date) -> pl.Series:  # fmt: skip
    """The projects whose rows of an earlier run can be carried forward to `as_of`, sorted: of the grid, with the
    same digest as then (digests: `digests_sql`; state: marts.milestone_state), no event after that run's as-of date
    and on or before `as_of` (an export, a resolution, a version taking effect), and their status dates up to that
    date those of their rows of marts.milestone_slips (`slips`: project_id, status_date)."""
    grid = grid.filter(pl.col("status_date") <= as_of).select("project_id", "status_date")
    held = (
        digests.join(state.select("project_id", "digest", _then="as_of"), on="project_id", suffix="_then")
        .join(grid, on="project_id", how="semi")
        .filter(
            pl.col("digest") == pl.col("digest_then"),
            pl.col("_then") <= as_of,
            pl.col("latest_event").is_null() | (pl.col("latest_event") <= pl.col("_then")),
        )
        .select("project_id", "_then")
    )
    now = grid.join(held, on="project_id").filter(pl.col("status_date") <= pl.col("_then")).drop("_then")
    then = slips.select("project_id", "status_date").join(held, on="project_id", how="semi")
    differ = pl.concat([now.join(then, on=["project_id", "status_date"], how="anti"),
                        then.join(now, on=["project_id", "status_date"], how="anti")])  # fmt: skip
    return held.join(differ, on="project_id", how="anti").get_column("project_id").sort()


def _carried(kept: Kept, cal: pl.DataFrame, projects: pl.DataFrame,
             as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """The kept projects' rows at `as_of` (variance) and at their status dates after their earlier as-of date (slips,
    history), after their rows of before. Their attributes are those of their earlier as-of rows: only the state and
    an overdue item's slip are evaluated again."""
    then = kept.state.select("project_id", _then="as_of")
    new = (
        kept.grid.filter(pl.col("status_date") <= as_of)
        .join(then, on="project_id")
        .filter(pl.col("status_date") > pl.col("_then"))
        .select("project_id", "status_date")
    )
    calendars = projects.select("project_id", pl.col("calendar_id").fill_null("default"))
    rows = kept.variance.join(calendars, on="project_id", how="left", maintain_order="left")
    variance = _again(rows.with_columns(at=pl.lit(as_of, pl.Date)), cal)
    weekly = _again(rows.join(new.rename({"status_date": "at"}), on="project_id"), cal)
    history = weekly.filter(pl.col("is_milestone")).rename({"at": "status_date"})
    done, late = pl.col("state").is_in(_DONE), pl.col("state") == "done_late"
    counts = weekly.group_by("project_id", "at").agg(
        items=pl.len(),
        items_due=(pl.col("baseline_date") <= pl.col("at")).sum(),
        slipped=(late | (~done & (pl.col("forecast_date") > pl.col("baseline_date")).fill_null(False))).sum(),
        overdue=(pl.col("state") == "overdue").sum(),
        done_late=late.sum(),
        _n=pl.col("slip_working_days").count(),
        _sum=pl.col("slip_working_days").sum(),
    )
    counted = ["items", "items_due", "slipped", "overdue", "done_late", "_n", "_sum"]
    slips = (
        new.join(counts.rename({"at": "status_date"}), on=["project_id", "status_date"], how="left")
        .with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in counted])
        .with_columns(
            mean_slip_working_days=pl.when(pl.col("_n") > 0).then(
                pl.col("_sum").cast(pl.Float64) / pl.col("_n").cast(pl.Float64)
            )
        )
    )
    # The change in slipped items since the project's status date before (a kept row, or a new one).
    pid = pl.col("project_id")
    before = pl.concat([kept.slips.select("project_id", "status_date", "slipped", _new=pl.lit(False)),
                        slips.select("project_id", "status_date", "slipped", _new=pl.lit(True))])  # fmt: skip
    change = (
        before.sort("project_id", "status_date")
        .with_columns(slipped_change=pl.when(pid == pid.shift(1)).then(pl.col("slipped") - pl.col("slipped").shift(1)))
        .filter(pl.col("_new"))
        .select("project_id", "status_date", "slipped_change")
    )
    slips = slips.join(change, on=["project_id", "status_date"], how="left")

    def cast(frame: pl.DataFrame, columns: dict) -> pl.DataFrame:
        return frame.select([pl.col(c).cast(t) for c, t in columns.items()])

    return (
        cast(variance, VARIANCE_COLUMNS),
        pl.concat([cast(kept.slips, SLIPS_COLUMNS), cast(slips, SLIPS_COLUMNS)]),
        pl.concat([cast(kept.history, HISTORY_COLUMNS), cast(history, HISTORY_COLUMNS)]),
    )


def _again(rows: pl.DataFrame, cal: pl.DataFrame) -> pl.DataFrame:
    """Rows of marts.milestone_variance (with calendar_id) evaluated again at the date `at` of each, on or after the
    date they were evaluated at, with the same attributes: a done item as it was; an open one overdue once its
    target (forecast, else baseline date) is before `at`, with the slip wd(at) − wd(baseline date); else slipped or
    on track, with the slip to its forecast as it was (wd: `cal`, the project's calendar)."""
    done = pl.col("state").is_in(_DONE)
    overdue = ~done & (pl.coalesce("forecast_date", "baseline_date") < pl.col("at"))
    wd = cal.select("calendar_id", "day", "wd")
    rows = rows.join(
        wd.rename({"day": "at", "wd": "_wd_at"}), on=["calendar_id", "at"], how="left", maintain_order="left"
    ).join(
        wd.rename({"day": "baseline_date", "wd": "_wd_base"}), on=["calendar_id", "baseline_date"], how="left",
        maintain_order="left",
    )  # fmt: skip
    return rows.with_columns(
        state=pl.when(done)
        .then(pl.col("state"))
        .when(overdue)
        .then(pl.lit("overdue"))
        .when(pl.col("forecast_date") > pl.col("baseline_date"))
        .then(pl.lit("slipped"))
        .otherwise(pl.lit("on_track")),
        slip_working_days=pl.when(overdue).then(pl.col("_wd_at") - pl.col("_wd_base")).otherwise("slip_working_days"),
    ).drop("_wd_at", "_wd_base")
