"""Schedule variance beyond SV: milestone and due-date slips (../shared/EVM.md "Schedule variance beyond SV").

Outputs and their grain:
- `milestone_variance()[0]` (marts.milestone_variance): one row per project and item at the as-of date: the
  baseline date, forecast and actual dates, the slip in the project's working days and the item's state.
- `milestone_variance()[1]` (marts.milestone_slips): one row per grid row (project, status date): items tracked,
  items due, slipped, overdue, done late, the mean slip and the change in slipped items since the previous week.

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
"""

from __future__ import annotations

import datetime as dt

import polars as pl

STATES = ("done_on_time", "done_late", "done_undated", "overdue", "slipped", "on_track")
VARIANCE_COLUMNS = {
    "project_id": pl.String, "item_key": pl.String, "summary": pl.String, "is_milestone": pl.Boolean,
    "in_baseline": pl.Boolean, "baseline_version": pl.Int64, "baseline_date": pl.Date, "forecast_date": pl.Date,
    "actual_date": pl.Date, "slip_working_days": pl.Int64, "state": pl.String,
}  # fmt: skip
SLIPS_COLUMNS = {
    "project_id": pl.String, "status_date": pl.Date, "items": pl.Int64, "items_due": pl.Int64, "slipped": pl.Int64,
    "overdue": pl.Int64, "done_late": pl.Int64, "mean_slip_working_days": pl.Float64, "slipped_change": pl.Int64,
}  # fmt: skip
_METRICS = ("items", "items_due", "slipped", "overdue", "done_late", "n_const", "sum_const", "n_var", "sum_wdb")


class _Inputs:
    """The lookups every evaluation shares, built once."""

    def __init__(self, elements, work_items, cal, projects, grid, as_of):
        self.grid = grid.filter(pl.col("status_date") <= as_of).select("project_id", "status_date")
        self.calendars = projects.select("project_id", pl.col("calendar_id").fill_null("default"))
        self.cal = cal.select("calendar_id", "day", "wd")
        els = elements.with_columns(pl.col("is_milestone").fill_null(False))
        self.elements = els.select(
            "project_id", "baseline_version", pl.col("element_key").alias("item_key"), "planned_finish",
            pl.col("is_milestone").alias("element_milestone"),
        )  # fmt: skip
        self.versions = (
            els.group_by("project_id", "baseline_version").agg(pl.col("effective_from").min()).sort("effective_from")
        )
        self.first_version = self.versions.group_by("project_id").agg(pl.col("baseline_version").min().alias("_first"))
        rows = work_items.sort("snapshot_date")  # later exports too: they date what happened before them
        self.rows = rows.select(
            "item_key", "snapshot_date", "status_category", "resolved", "due", "is_milestone", "summary"
        )
        self.first_rows = (
            rows.sort("item_key", "snapshot_date")
            .unique("item_key", keep="first")
            .select(
                "item_key",
                pl.col("status_category").alias("_first_category"),
                pl.col("resolved").alias("_first_resolved"),
                pl.col("is_milestone").alias("_first_milestone"),
                pl.col("summary").alias("_first_summary"),
            )
        )
        self.first_due = (
            rows.filter(pl.col("due").is_not_null())
            .sort("item_key", "snapshot_date")
            .unique("item_key", keep="first")
            .select("item_key", pl.col("snapshot_date").alias("first_due_snapshot"), pl.col("due").alias("first_due"))
        )
        projects_in_grid = self.grid.select("project_id").unique()
        from_elements = els.filter(pl.col("is_milestone")).select("project_id", pl.col("element_key").alias("item_key"))
        from_items = rows.filter(pl.col("due").is_not_null(), pl.col("project_id").is_not_null()).select(
            "project_id", "item_key"
        )
        self.keys = (
            pl.concat(
                [from_elements.unique(), from_items.unique().with_columns(_due_item=pl.lit(True))], how="diagonal"
            )
            .group_by("project_id", "item_key")
            .agg(pl.col("_due_item").any())
            .join(projects_in_grid, on="project_id", how="semi")
            .join(self.calendars, on="project_id", how="semi")
        )

    def wd(self, frame: pl.DataFrame, day: str, alias: str) -> pl.DataFrame:
        """Add `alias` = the cumulative working-day count of `day` on the project's calendar."""
        lookup = self.cal.rename({"day": day, "wd": alias})
        return frame.join(lookup, on=["calendar_id", day], how="left")

    def at(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each (project_id, item_key, at) with the item's attributes in force at `at`."""
        frame = frame.select("project_id", "item_key", "at", *[c for c in frame.columns if c == "next_at"])
        frame = frame.join(self.keys, on=["project_id", "item_key"], how="inner").sort("at")
        out = (
            frame.join_asof(
                self.versions, left_on="at", right_on="effective_from", by="project_id", check_sortedness=False
            )
            .join(self.first_version, on="project_id", how="left")
            .with_columns(baseline_version=pl.coalesce("baseline_version", "_first"))
            .join(self.elements, on=["project_id", "baseline_version", "item_key"], how="left")
            .sort("at")
            .join_asof(self.rows, left_on="at", right_on="snapshot_date", by="item_key", check_sortedness=False)
            .join(self.first_rows, on="item_key", how="left")
            .join(self.first_due, on="item_key", how="left")
            .join(self.calendars, on="project_id", how="left")
        )
        pre = pl.col("snapshot_date").is_null()  # before the item's first export: only its dates are known
        category = pl.when(pre).then(pl.col("_first_category")).otherwise(pl.col("status_category"))
        resolved = pl.when(pre).then(pl.col("_first_resolved")).otherwise(pl.col("resolved"))
        done = (category == "done") & (
            (resolved <= pl.col("at")).fill_null(False) | (resolved.is_null() & ~pre)
        ).fill_null(False)
        due_known = (pl.col("first_due_snapshot") <= pl.col("at")).fill_null(False)
        in_baseline = pl.col("element_milestone").is_not_null()  # the item is an element of the version in force
        out = out.with_columns(
            in_baseline=in_baseline,
            baseline_date=pl.when(in_baseline).then(pl.col("planned_finish")).when(due_known).then(pl.col("first_due")),
            tracked=pl.col("element_milestone").fill_null(False) | (pl.col("_due_item").fill_null(False) & due_known),
            forecast_date=pl.when(~pre).then(pl.col("due")),
            done=done,
            actual_date=pl.when(done).then(resolved),
            is_milestone=pl.col("element_milestone").fill_null(False)
            | pl.coalesce("is_milestone", "_first_milestone").fill_null(False),
            summary=pl.coalesce("summary", "_first_summary"),
        )
        out = out.with_columns(
            baseline_version=pl.when(pl.col("in_baseline")).then(pl.col("baseline_version")),
            target=pl.when(~pl.col("done")).then(pl.coalesce("forecast_date", "baseline_date")),
        )
        out = self.wd(
            self.wd(self.wd(out, "baseline_date", "wd_base"), "actual_date", "wd_actual"), "forecast_date", "wd_fc"
        )
        # An item without a baseline date cannot slip or be due: it is not tracked.
        return out.filter(pl.col("tracked") & pl.col("baseline_date").is_not_null())


def _variance(inputs: _Inputs, as_of: dt.date) -> pl.DataFrame:
    items = inputs.at(inputs.keys.with_columns(at=pl.lit(as_of, pl.Date)))
    items = inputs.wd(items, "at", "wd_at")
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
    return (
        items.with_columns(state=state, slip_working_days=slip)
        .select([pl.col(c).cast(t) for c, t in VARIANCE_COLUMNS.items()])
        .sort("project_id", "item_key")
    )


def _segments(inputs: _Inputs) -> pl.DataFrame:
    """Each item's attributes over the segments [at, next_at) between the dates where they can change."""
    bounds = inputs.grid.group_by("project_id").agg(
        pl.col("status_date").min().alias("_first"), pl.col("status_date").max().alias("_last")
    )
    keys = inputs.keys.join(bounds, on="project_id", how="inner")
    item_dates = pl.concat(
        [
            inputs.rows.select("item_key", pl.col("snapshot_date").alias("at")),
            inputs.rows.filter(pl.col("status_category") == "done").select("item_key", pl.col("resolved").alias("at")),
        ]
    ).drop_nulls()
    version_dates = inputs.versions.select("project_id", pl.col("effective_from").alias("at"))
    dates = pl.concat(
        [
            keys.select("project_id", "item_key", pl.col("_first").alias("at")),
            keys.join(item_dates, on="item_key").select("project_id", "item_key", "at"),
            keys.join(version_dates, on="project_id").select("project_id", "item_key", "at"),
        ]
    )
    dates = (
        dates.join(bounds, on="project_id")
        .filter(pl.col("at") >= pl.col("_first"), pl.col("at") <= pl.col("_last"))
        .select("project_id", "item_key", "at")
        .unique()
        .sort("project_id", "item_key", "at")
        .with_columns(next_at=pl.col("at").shift(-1).over("project_id", "item_key"))
    )
    return inputs.at(dates)


def _intervals(seg: pl.DataFrame) -> pl.DataFrame:
    """One row per (segment, metric) that holds over [start, end): the metric's value while it holds."""
    end, done, at = pl.col("next_at"), pl.col("done"), pl.col("at")
    overdue_from = pl.max_horizontal(at, pl.col("target") + pl.duration(days=1))
    late = done & (pl.col("actual_date") > pl.col("baseline_date")).fill_null(False)
    slipped = late | (~done & (pl.col("forecast_date") > pl.col("baseline_date")).fill_null(False))
    pieces = {
        # metric: (holds, start, end, value)
        "items": (at.is_not_null(), at, end, pl.lit(1)),  # (a literal predicate trips polars on chunked frames)
        "items_due": (at.is_not_null(), pl.max_horizontal(at, pl.col("baseline_date")), end, pl.lit(1)),
        "slipped": (slipped, at, end, pl.lit(1)),
        "done_late": (late, at, end, pl.lit(1)),
        "overdue": (~done & pl.col("target").is_not_null(), overdue_from, end, pl.lit(1)),
        # Constant slips: done (to the actual) or not yet overdue with a forecast (to the forecast).
        "n_const": (done & pl.col("wd_actual").is_not_null(), at, end, pl.lit(1)),
        "sum_const": (done & pl.col("wd_actual").is_not_null(), at, end, pl.col("wd_actual") - pl.col("wd_base")),
        "n_const_fc": (~done & pl.col("wd_fc").is_not_null(), at, pl.min_horizontal(end, overdue_from), pl.lit(1)),
        "sum_const_fc": (
            ~done & pl.col("wd_fc").is_not_null(),
            at,
            pl.min_horizontal(end, overdue_from),
            pl.col("wd_fc") - pl.col("wd_base"),
        ),  # fmt: skip
        # Overdue: the slip runs to the status date, wd(S) − wd(baseline).
        "n_var": (~done & pl.col("target").is_not_null(), overdue_from, end, pl.lit(1)),
        "sum_wdb": (~done & pl.col("target").is_not_null(), overdue_from, end, pl.col("wd_base")),
    }
    parts = [
        seg.filter(holds.fill_null(False)).select(
            "project_id",
            start.alias("start"),
            stop.alias("end"),  # NULL: open-ended (min_horizontal skips a NULL segment end)
            pl.lit(metric.removesuffix("_fc")).alias("metric"),
            value.cast(pl.Int64).alias("value"),
        )
        for metric, (holds, start, stop, value) in pieces.items()
    ]
    return pl.concat(parts).filter(pl.col("end").is_null() | (pl.col("start") < pl.col("end")))


def _weekly(inputs: _Inputs, intervals: pl.DataFrame) -> pl.DataFrame:
    """Running sums of the interval events over each project's sorted status dates."""
    events = pl.concat(
        [
            intervals.select("project_id", pl.col("start").alias("day"), "metric", "value"),
            intervals.filter(pl.col("end").is_not_null()).select(
                "project_id", pl.col("end").alias("day"), "metric", -pl.col("value")
            ),
        ]
    ).sort("day")
    weeks = inputs.grid.sort("status_date").with_columns(_week=pl.col("status_date"))
    # An event on day x counts from the first status date on or after x.
    placed = events.join_asof(
        weeks, left_on="day", right_on="_week", by="project_id", strategy="forward", check_sortedness=False
    )
    deltas = (
        placed.filter(pl.col("status_date").is_not_null())
        .group_by("project_id", "status_date", "metric")
        .agg(pl.col("value").sum())
        .pivot(on="metric", index=["project_id", "status_date"], values="value")
    )
    for metric in _METRICS:
        if metric not in deltas.columns:
            deltas = deltas.with_columns(pl.lit(0, pl.Int64).alias(metric))
    weekly = (
        inputs.grid.join(deltas, on=["project_id", "status_date"], how="left")
        .with_columns([pl.col(m).fill_null(0) for m in _METRICS])
        .sort("project_id", "status_date")
        .with_columns([pl.col(m).cum_sum().over("project_id") for m in _METRICS])
    )
    weekly = inputs.wd(weekly.join(inputs.calendars, on="project_id", how="left"), "status_date", "wd_s")
    items_with_slip = pl.col("n_const") + pl.col("n_var")
    slip_sum = pl.col("sum_const") + pl.col("n_var") * pl.col("wd_s") - pl.col("sum_wdb")
    return (
        weekly.with_columns(
            mean_slip_working_days=pl.when(items_with_slip > 0).then(
                slip_sum.cast(pl.Float64) / items_with_slip.cast(pl.Float64)
            ),
            slipped_change=pl.col("slipped") - pl.col("slipped").shift(1).over("project_id"),
        )
        .select([pl.col(c).cast(t) for c, t in SLIPS_COLUMNS.items()])
        .sort("project_id", "status_date")
    )


def milestone_variance(
    *,
    elements: pl.DataFrame,
    work_items: pl.DataFrame,
    cal: pl.DataFrame,
    projects: pl.DataFrame,
    grid: pl.DataFrame,
    as_of: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(marts.milestone_variance, marts.milestone_slips): VARIANCE_COLUMNS at `as_of` and SLIPS_COLUMNS per grid row.

    elements: baseline elements of every version (project_id, baseline_version, effective_from, element_key,
    planned_finish, is_milestone); work_items: staging snapshots (item_key, snapshot_date, project_id,
    status_category, resolved, due, is_milestone, summary); cal: `transforms.calendar.working_day_index` covering
    every baseline, forecast, actual and status date; projects: project_id, calendar_id (NULL: "default");
    grid: project_id, status_date (only the dates up to `as_of` are used). Exports dated after `as_of` still date
    what happened before them (an item first exported later is rebuilt from its resolution date), so the row of a
    week in marts.milestone_slips is exactly this function's first frame evaluated with as_of = that week."""
    inputs = _Inputs(elements, work_items, cal, projects, grid, as_of)
    return _variance(inputs, as_of), _weekly(inputs, _intervals(_segments(inputs)))
