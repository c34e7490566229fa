"""Marts benchmark: every weekly mart for a portfolio at scale (1,000 projects × 104 weeks, 1M work items with
their exports, 10M worklogs), computed by the real transforms and compared, in the same process and run, with one
DuckDB query that computes the core of it: weekly PV, EV and AC per project and status date (the floor).

    python -m bench.marts [--scale full|half|quarter|small] [--floor-runs N] [--profile] [--max-rss-mb MB]

Stages, each timed on its own (wall seconds, output rows, peak RSS while it ran):
- counted (their sum over the floor is the ratio): cost_worklogs (the costing evm_weekly needs), evm_weekly
  (transforms.earned_value.compute), portfolio_weekly, milestone_variance (+ milestone_slips),
  risk_exposure (register and operational risks), timesheet_completeness (weekly_capacity + per person-week);
- reported beside them, not counted: generation of the inputs, project_timesheet_completeness, evm_forecast
  (the bands) and eac_backtest (+ its summary).

The floor reads the same polars frames as the marts (registered in DuckDB, not copied). It runs before the marts
and again after them (the median counts), so a machine whose load changes during the run weighs on both sides;
a check line prints the floor's and the marts' Σ PV, EV (0/100 projects) and AC at the as-of date. Peak RSS is
reset after generation (Linux /proc/self/clear_refs), so `peak_rss_mb` is the peak of the floor-and-marts phase
with the inputs resident; `generation_peak_rss_mb` is the generator's own. --profile times the sub-steps of the
counted stages (the functions each transform calls, wrapped for the run) and prints them as they finish. A run
whose RSS passes --max-rss-mb stops and writes what it has, naming the stage (and sub-step) it was in.
Figures go to bench/results/marts-<date>-<scale>.json. Benchmarks are not tests: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import json
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from bench.portfolio_frames import AS_OF, SCALES, generate
from transforms.calendar import isodow

ROOT = Path(__file__).resolve().parents[1]
WEEK_ENDS_ON = "sunday"

FLOOR_SQL = """
-- The core weekly EVM query: per project and status date (from the week of its first planned start to the as-of
-- date), PV (each element's budget spread evenly over its working days, Mon-Fri less holidays), EV (0/100: the
-- element's budget from the week its item was resolved, in its latest export) and AC (worklog hours × the role's
-- rate in force on the work date), all cumulative.
WITH
bounds AS (SELECT min(planned_start) - 1 AS d0, greatest(max(planned_finish), $as_of) AS d1 FROM baselines),
cal AS (
    SELECT day, sum(CASE WHEN isodow(day) <= 5 AND h.date IS NULL THEN 1 ELSE 0 END) OVER (ORDER BY day) AS wd
    FROM (SELECT CAST(g.d AS DATE) AS day FROM bounds, generate_series(d0, d1, INTERVAL 1 DAY) g(d))
    LEFT JOIN holidays h ON h.calendar_id = 'default' AND h.date = day
),
el AS (
    SELECT b.project_id, b.element_key, CAST(b.budget AS DOUBLE) AS budget, b.planned_start, b.planned_finish,
           c0.wd AS wd0, c1.wd AS wd1
    FROM baselines b
    JOIN cal c0 ON c0.day = b.planned_start - 1
    JOIN cal c1 ON c1.day = b.planned_finish
),
first_week AS (SELECT project_id, week_end(min(planned_start)) AS s0 FROM el GROUP BY ALL),
grid AS (
    SELECT project_id, CAST(g.sd AS DATE) AS status_date
    FROM first_week, generate_series(s0, $as_of, INTERVAL 7 DAY) g(sd)
),
pv_done AS (
    SELECT e.project_id, greatest(week_end(e.planned_finish), f.s0) AS status_date, sum(e.budget) AS amount
    FROM el e JOIN first_week f USING (project_id) GROUP BY ALL
),
pv_part AS (
    -- Elements in progress at a status date (planned_start <= s < planned_finish), prorated by working days:
    -- each element expanded over its own weeks only.
    SELECT x.project_id, x.status_date, sum(x.budget * (c.wd - x.wd0) / (x.wd1 - x.wd0)) AS amount
    FROM (
        SELECT project_id, budget, wd0, wd1,
               CAST(unnest(generate_series(week_end(planned_start), planned_finish - 1, INTERVAL 7 DAY)) AS DATE)
                   AS status_date
        FROM el WHERE wd1 > wd0 AND week_end(planned_start) < planned_finish
    ) x
    JOIN cal c ON c.day = x.status_date
    GROUP BY ALL
),
latest AS (
    SELECT item_key, arg_max(status_category, snapshot_date) AS category, arg_max(resolved, snapshot_date) AS resolved
    FROM work_items WHERE snapshot_date <= $as_of GROUP BY ALL
),
ev AS (
    SELECT e.project_id, greatest(week_end(l.resolved), f.s0) AS status_date, sum(e.budget) AS amount
    FROM el e
    JOIN latest l ON l.item_key = e.element_key AND l.category = 'done' AND l.resolved IS NOT NULL
    JOIN first_week f USING (project_id)
    GROUP BY ALL
),
hours AS (
    -- Hours per project, role and day first (a join on people only), then the role's rate in force that day.
    SELECT w.project_id, p.role, w.work_date, sum(CAST(w.hours AS DOUBLE)) AS hours
    FROM worklogs w JOIN people p USING (person_id)
    WHERE w.work_date <= $as_of
    GROUP BY ALL
),
ac AS (
    SELECT h.project_id, greatest(week_end(h.work_date), f.s0) AS status_date,
           sum(h.hours * CAST(r.hourly_rate AS DOUBLE)) AS amount
    FROM hours h
    JOIN rates r ON r.person_id IS NULL AND r.role = h.role AND h.work_date >= r.valid_from
                AND (r.valid_to IS NULL OR h.work_date <= r.valid_to)
    JOIN first_week f USING (project_id)
    GROUP BY ALL
)
SELECT g.project_id, g.status_date,
       coalesce(sum(pd.amount) OVER w, 0) + coalesce(pp.amount, 0) AS pv,
       coalesce(sum(ev.amount) OVER w, 0) AS ev,
       coalesce(sum(ac.amount) OVER w, 0) AS ac
FROM grid g
LEFT JOIN pv_done pd USING (project_id, status_date)
LEFT JOIN pv_part pp USING (project_id, status_date)
LEFT JOIN ev USING (project_id, status_date)
LEFT JOIN ac USING (project_id, status_date)
WINDOW w AS (PARTITION BY g.project_id ORDER BY g.status_date)
ORDER BY g.project_id, g.status_date
"""


def floor(inputs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The floor query over the staging frames (registered, not copied), in a fresh in-memory connection."""
    with duckdb.connect() as conn:
        end = isodow(WEEK_ENDS_ON)
        conn.sql(f"CREATE MACRO week_end(d) AS CAST(d + CAST((({end} - isodow(d)) + 7) % 7 AS INTEGER) AS DATE)")
        for name in ("baselines", "holidays", "work_items", "worklogs", "people", "rates"):
            conn.register(name, inputs[name])
        return conn.sql(FLOOR_SQL, params={"as_of": AS_OF}).pl()


# ---- measurement -------------------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the peak RSS (VmHWM and ru_maxrss) to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rows(out) -> int:
    """Rows of a stage's output: its frames' (all of a tuple's), or evm_weekly's for an EvmResult."""
    frames = (out.evm,) if hasattr(out, "evm") else out if isinstance(out, tuple) else (out,)
    return sum(f.height for f in frames if isinstance(f, pl.DataFrame))


# Sub-steps timed with --profile: per stage, the functions its transform calls (module, names), wrapped in place
# for the stage's duration (nothing in transforms/ changes). Only the outermost wrapped call measures memory.
SUBSTEPS: dict[str, list[tuple[str, list[str]]]] = {
    "evm_weekly": [
        ("transforms.earned_value", ["assemble", "working_day_index", "planned_value", "_level_of_effort",
                                     "_sprint_plan", "_spans", "_grid", "in_force", "earned_value", "direct_costs",
                                     "actual_cost_weekly", "_from_status_file", "_bottom_up", "_points",
                                     "earned_schedule", "indicators", "_plan_in_force"]),
        ("transforms.risk", ["register_risks", "project_exposure"]),
    ],
    "portfolio_weekly": [("transforms.portfolio", ["_members", "_group_baselines", "_group_curves",
                                                   "earned_schedule", "indicators"])],
    "milestone_variance": [("transforms.milestones", ["_Inputs", "_variance", "_segments", "_intervals", "_weekly"])],
    "risk_exposure": [("transforms.risk", ["register_risks", "in_force", "_asset_risks", "_licence_risks",
                                           "_ticket_risks", "_blocked_risks", "risk_exposure_mart"])],
    "timesheet_completeness": [("transforms.capacity", ["weekly_capacity"]),
                               ("transforms.timesheet_completeness", ["_in_weeks"])],
}  # fmt: skip


class Run:
    """Times stages one by one: wall seconds, output rows, and the peak RSS while each ran."""

    def __init__(self, profile: bool) -> None:
        self.stages: dict[str, dict] = {}
        self.phase_peak = 0.0
        self.profile = profile
        self.substeps: dict[str, list[dict]] = {}
        self.floor_result: pl.DataFrame | None = None
        self._depth = 0
        self._stage_peak = 0.0
        self.current = "generation"

    def stage(self, name: str, counted: bool, fn: Callable[[], object]) -> object:
        gc.collect()
        before = _status_mb("VmRSS")
        _reset_peak()
        self._stage_peak = before
        self.current = f"stage {name}"
        restore = self._instrument(name) if self.profile else []
        t = time.perf_counter()
        try:
            out = fn()
        finally:
            for module, attr, original in restore:
                setattr(module, attr, original)
        seconds = time.perf_counter() - t
        peak = max(_max_rss_mb(), self._stage_peak)
        self.phase_peak = max(self.phase_peak, peak)
        self.stages[name] = {"seconds": round(seconds, 3), "rows": _rows(out), "counted": counted,
                             "peak_rss_mb": round(peak), "rss_before_mb": round(before)}  # fmt: skip
        mark = "" if counted else "  (not counted)"
        print(f"  {name:<32} {seconds:8.2f} s {self.stages[name]['rows']:>12,} rows  peak {peak:7.0f} MB{mark}",
              flush=True)  # fmt: skip
        return out

    def _instrument(self, stage: str) -> list[tuple]:
        if stage not in SUBSTEPS:
            return []
        restore, log = [], self.substeps.setdefault(stage, [])
        for module_name, names in SUBSTEPS[stage]:
            module = importlib.import_module(module_name)
            for attr in names:
                original = getattr(module, attr, None)
                if original is None:
                    continue
                restore.append((module, attr, original))
                setattr(module, attr, self._wrap(f"{module_name.split('.')[-1]}.{attr}", original, log))
        return restore

    def _wrap(self, label: str, fn: Callable, log: list[dict]) -> Callable:
        def timed(*args, **kwargs):
            outer = self._depth == 0
            if outer:
                self._stage_peak = max(self._stage_peak, _max_rss_mb())
                before = _status_mb("VmRSS")
                _reset_peak()
            self._depth += 1
            previous, self.current = self.current, f"{self.current} / {label}"
            t = time.perf_counter()
            try:
                out = fn(*args, **kwargs)
            finally:
                self._depth -= 1
                self.current = previous
            row = {"step": label, "seconds": round(time.perf_counter() - t, 3), "rows": _rows(out)}
            if outer:
                peak = _max_rss_mb()
                self._stage_peak = max(self._stage_peak, peak)
                row |= {"rss_before_mb": round(before), "peak_rss_mb": round(peak)}
            log.append(row)
            memory = f"RSS {row['rss_before_mb']:>6} → peak {row['peak_rss_mb']:>6} MB" if outer else "(nested)"
            print(f"      {label:<36} {row['seconds']:8.2f} s {row['rows']:>12,} rows  {memory}", flush=True)
            return out

        return timed


# ---- the marts ---------------------------------------------------------------------------------------------------


def run_marts(inputs: dict[str, pl.DataFrame], run: Run) -> dict[str, str]:
    """Every mart stage, in the pipeline's order and with its calls (pipelines/marts.py), on in-memory frames.
    Returns the stages that could not run (a transform missing from the checkout), with the reason."""
    from transforms import risk
    from transforms.actual_cost import cost_worklogs
    from transforms.baselines import assemble
    from transforms.calendar import working_day_index
    from transforms.earned_value import EvmOptions, compute
    from transforms.forecast import evm_forecast
    from transforms.portfolio import portfolio_weekly

    skipped: dict[str, str] = {}
    i = inputs
    options = EvmOptions(as_of=AS_OF, week_ends_on=WEEK_ENDS_ON)

    held = {"costed": run.stage("cost_worklogs", True, lambda: cost_worklogs(i["worklogs"], i["people"], i["rates"]))}
    result = run.stage(
        "evm_weekly",
        True,
        lambda: compute(
            projects=i["projects"],
            baselines=i["baselines"],
            frozen_versions=i["frozen_versions"],
            frozen_elements=i["frozen_elements"],
            evm_status=i["evm_status"],
            work_items=i["work_items"],
            worklogs=i["worklogs"],
            costed=held["costed"],
            assets=i["assets"],
            licences=i["licences"],
            people=i["people"],
            rates=i["rates"],
            holidays=i["holidays"],
            sprints=i["sprints"],
            risks=i["risks"],
            options=options,
        ),  # fmt: skip
    )
    del held["costed"]  # the pipeline writes it to the warehouse; nothing later needs it in memory
    evm = result.evm
    as_of = evm["status_date"].max()
    run.stage("portfolio_weekly", True, lambda: portfolio_weekly(evm, i["projects"], result.plan))

    def milestones():
        from transforms.milestones import milestone_variance

        _, elements = assemble(i["baselines"], i["frozen_versions"], i["frozen_elements"])
        elements = elements.join(
            result.versions.select("project_id", "baseline_version", "effective_from"),
            on=["project_id", "baseline_version"],
        )
        projects = i["projects"].with_columns(pl.col("calendar_id").fill_null("default"))
        bounds = pl.concat(
            [i["work_items"].select(pl.col("due").alias("d")), elements.select(pl.col("planned_finish").alias("d")),
             evm.select(pl.col("status_date").alias("d"))]
        ).select(pl.col("d").min().alias("lo"), pl.col("d").max().alias("hi")).row(0)  # fmt: skip
        cal = working_day_index(
            i["holidays"], sorted(set(projects["calendar_id"]) | {"default"}),
            bounds[0] - dt.timedelta(days=1), bounds[1] + dt.timedelta(days=1),
        )  # fmt: skip
        return milestone_variance(
            elements=elements, work_items=i["work_items"], cal=cal, projects=projects,
            grid=evm.select("project_id", "status_date"), as_of=as_of,
        )  # fmt: skip

    def risk_exposure():
        grid = evm.select("project_id", "status_date")
        register = risk.register_risks(
            i["risks"], grid, probability_scale=options.probability_scale, cost_bands=list(options.cost_bands),
            days_bands=list(options.days_bands),
        )  # fmt: skip
        operational = risk.operational_risks(
            grid_forecast=evm.select("project_id", "status_date", "forecast_finish"), assets=i["assets"],
            licences=i["licences"], work_items=i["work_items"], as_of=as_of, blocked_days=10,
        )  # fmt: skip
        return risk.risk_exposure_mart(register, operational)

    people_weeks: list[pl.DataFrame] = []

    def timesheets():
        from transforms import capacity
        from transforms.timesheet_completeness import timesheet_completeness

        weeks = evm.get_column("status_date").unique().sort().to_list()
        cap = capacity.weekly_capacity(i["people"], i["holidays"], weeks, week_ends_on=WEEK_ENDS_ON,
                                       default_hours_week=40)  # fmt: skip
        out = timesheet_completeness(cap, i["worklogs"], i["people"], complete_at=0.9)
        people_weeks.append(out)
        return out

    def project_timesheets():
        from transforms.timesheet_completeness import project_timesheet_completeness

        return project_timesheet_completeness(people_weeks[0], i["worklogs"])

    def backtest():
        from transforms.backtest import backtest_summary, eac_backtest

        frame = eac_backtest(evm, i["projects"])
        return frame, backtest_summary(frame)

    steps = [
        ("milestone_variance", True, milestones),
        ("risk_exposure", True, risk_exposure),
        ("timesheet_completeness", True, timesheets),
        ("project_timesheet_completeness", False, project_timesheets),
        ("evm_forecast", False, lambda: evm_forecast(evm, min_weeks=6)),
        ("eac_backtest", False, backtest),
    ]
    for name, counted, fn in steps:
        if name == "project_timesheet_completeness" and not people_weeks:
            skipped[name] = "needs timesheet_completeness"
            continue
        try:
            run.stage(name, counted, fn)
        except (ModuleNotFoundError, ImportError) as exc:
            skipped[name] = f"not in the checkout yet: {exc}"
            print(f"  {name:<32} skipped: {skipped[name]}", flush=True)
    _reconcile(result.evm, i["projects"], run.floor_result)
    return skipped


def _reconcile(evm: pl.DataFrame, projects: pl.DataFrame, floor_out: pl.DataFrame) -> None:
    """Print the floor's and the marts' Σ PV, EV (0/100 projects) and AC at the as-of date: the two compute the
    same figures (AC differs by the few people with their own rate, which the floor does not read)."""
    zero_hundred = projects.filter(pl.col("ev_technique") == "0/100").get_column("project_id").implode()
    both = evm.filter(pl.col("status_date") == AS_OF).join(
        floor_out.filter(pl.col("status_date") == AS_OF), on="project_id", suffix="_floor"
    )
    sums = both.select(
        pl.col("pv").cast(pl.Float64).sum(), pl.col("pv_floor").sum(),
        pl.col("ev").filter(pl.col("project_id").is_in(zero_hundred)).cast(pl.Float64).sum(),
        pl.col("ev_floor").filter(pl.col("project_id").is_in(zero_hundred)).sum(),
        pl.col("ac").cast(pl.Float64).sum(), pl.col("ac_floor").sum(),
    ).row(0)  # fmt: skip
    print(
        f"  check at {AS_OF}: PV marts {sums[0]:,.0f} / floor {sums[1]:,.0f}; EV (0/100) {sums[2]:,.0f} / "
        f"{sums[3]:,.0f}; AC {sums[4]:,.0f} / {sums[5]:,.0f}"
    )


# ---- main --------------------------------------------------------------------------------------------------------


def _guard(limit_mb: float, run: Run, on_exceed: Callable[[str], None]) -> None:
    """A daemon thread that stops the run (writing what it has) when RSS passes `limit_mb`: a transform that blows
    up must not take the machine down with it."""

    def watch() -> None:
        while True:
            rss = _status_mb("VmRSS")
            if rss > limit_mb:
                on_exceed(f"RSS {rss:.0f} MB passed the {limit_mb:.0f} MB limit during {run.current}")
                os._exit(3)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=list(SCALES), default="full")
    parser.add_argument("--floor-runs", type=int, default=3, help="runs of the floor query (one of them after)")
    parser.add_argument("--profile", action="store_true", help="time the sub-steps of the counted stages")
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    parser.add_argument(
        "--max-rss-mb", type=float, default=round(0.6 * memory_mb),
        help="stop the run when its RSS passes this (default: 60%% of the machine's memory)",
    )  # fmt: skip
    args = parser.parse_args()

    load_start = os.getloadavg()
    t = time.perf_counter()
    inputs = generate(args.scale)
    generation_s = time.perf_counter() - t
    sizes = {k: v.height for k, v in inputs.items() if v.height}
    generation_peak = _max_rss_mb()
    gc.collect()
    inputs_rss = _status_mb("VmRSS")
    reset = _reset_peak()
    print(f"generated {sizes} in {generation_s:.1f}s (peak {generation_peak:.0f} MB, resident after "
          f"{inputs_rss:.0f} MB)", flush=True)  # fmt: skip

    run = Run(args.profile)
    floor_times: list[float] = []
    skipped: dict[str, str] = {}

    def write(aborted: str | None = None) -> None:
        floor_s = statistics.median(floor_times) if floor_times else float("nan")
        marts_s = sum(v["seconds"] for v in run.stages.values() if v["counted"])
        result = {
            "date": dt.date.today().isoformat(),
            "scale": args.scale,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {memory_mb / 1024:.0f} GiB",
            "load_average_start_end": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
            "as_of": AS_OF.isoformat(),
            "sizes": sizes,
            "generation_s": round(generation_s, 2),
            "floor_s": round(floor_s, 3),
            "floor_runs_s": floor_times,
            "stages": {
                k: {
                    "seconds": v["seconds"],
                    "rows": v["rows"],
                    "counted": v["counted"],
                    "peak_rss_mb": v["peak_rss_mb"],
                }
                for k, v in run.stages.items()
            },  # fmt: skip
            "marts_s": round(marts_s, 3),
            "marts_over_floor": None if aborted else round(marts_s / floor_s, 2),
            "peak_rss_mb": round(run.phase_peak if reset else _max_rss_mb()),
            "peak_rss_scope": "floor and marts, inputs resident" if reset else "whole process, generation included",
            "inputs_rss_mb": round(inputs_rss),
            "generation_peak_rss_mb": round(generation_peak),
            "aborted": aborted,
            "skipped": skipped,
            "substeps": run.substeps,
            "targets": {"marts_over_floor": 3, "peak_rss_mb": 2048},
        }
        out = ROOT / "bench" / "results" / f"marts-{result['date']}-{args.scale}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        if aborted:
            print(f"\nABORTED: {aborted}", flush=True)
        print(f"written to {out.relative_to(ROOT)}", flush=True)

    _guard(args.max_rss_mb, run, write)
    before = max(1, args.floor_runs - 1)
    for n in range(before):
        run.floor_result = run.stage(f"floor (run {n + 1})", False, lambda: floor(inputs))
        floor_times.append(run.stages[f"floor (run {n + 1})"]["seconds"])
    skipped.update(run_marts(inputs, run))
    if args.floor_runs > 1:
        run.stage(f"floor (run {before + 1})", False, lambda: floor(inputs))
        floor_times.append(run.stages[f"floor (run {before + 1})"]["seconds"])
    floor_s = statistics.median(floor_times)

    marts_s = sum(v["seconds"] for v in run.stages.values() if v["counted"])
    print()
    print(f"{'stage':<34} {'seconds':>9} {'rows':>12} {'× floor':>8} {'peak MB':>8}")
    for name, v in run.stages.items():
        ratio = f"{v['seconds'] / floor_s:8.2f}" if v["counted"] else " " * 8
        print(f"{name:<34} {v['seconds']:9.2f} {v['rows']:>12,} {ratio} {v['peak_rss_mb']:>8}")
    print(f"{'marts (counted stages)':<34} {marts_s:9.2f} {'':>12} {marts_s / floor_s:8.2f}")
    print(f"floor median {floor_s:.2f}s of {floor_times}; marts / floor = {marts_s / floor_s:.2f} (target ≤ 3); "
          f"peak RSS {run.phase_peak:.0f} MB (target < 2048) with inputs resident at {inputs_rss:.0f} MB")  # fmt: skip
    for name, steps in run.substeps.items():
        outside = run.stages[name]["seconds"] - sum(x["seconds"] for x in steps if "peak_rss_mb" in x)
        print(f"{name}: {outside:.2f} s outside the timed sub-steps (printed above as they ran)")
    write()


if __name__ == "__main__":
    main()
