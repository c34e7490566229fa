"""The earned value and KPI marts: Dagster assets that read the warehouse, call the pure transforms and write
marts.* tables (../shared/EVM.md). Asset keys are [layer, table] and equal the DuckDB schema.table they write."""

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import dagster as dg
import duckdb
import polars as pl

from pipelines import changes, warehouse
from pipelines.partitions import WEEKLY_ASSET, status_dates
from pipelines.plans import freeze_missing
from pipelines.resources import PmoHome, data_status_date
from transforms import baselines as bl
from transforms import (
    calendar,
    canonical,
    capacity,
    duck,
    forecast,
    numbering,
    people_weeks,
    progress,
    resource_utilisation,
    risk,
    ticket_flow,
)
from transforms import earned_value as earned_value_module
from transforms import evm_flags as evm_flags_module
from transforms import itam as itam_module
from transforms import milestones as milestones_module
from transforms import planned_value as planned_value_module
from transforms import rates as rates_module
from transforms.actual_cost import labour_days_sql, worklog_costs_sql
from transforms.backtest import backtest_summary, eac_backtest
from transforms.calendar import working_day_index
from transforms.earned_value import EvmOptions, compute
from transforms.evm_flags import evm_flags, flag_candidates_sql, person_day_hours_sql
from transforms.forecast import evm_forecast
from transforms.freshness import DATED, DATED_COLUMNS, source_freshness
from transforms.itam import itam_cost, itam_due_dates, itam_gaps, itam_renewals
from transforms.milestones import Kept, kept_projects, milestone_variance
from transforms.people_weeks import weekly_hours_sql
from transforms.planned_value import Curves
from transforms.portfolio import portfolio_weekly
from transforms.progress import progress_digests_sql
from transforms.project_closure import closure_drivers, project_closure
from transforms.rates import rate_steps_sql
from transforms.resource_utilisation import (
    person_week_hours_sql,
    team_utilisation,
    utilisation_by_project_sql,
    utilisation_from_hours,
)
from transforms.restatements import restatements
from transforms.timesheet_completeness import (
    LOOKBACK_WEEKS,
    project_timesheet_completeness_sql,
    timesheet_completeness,
)


def staging_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", table])


EVM_INPUTS = ["projects", "baselines", "evm_status", "work_items", "worklogs", "assets", "licences", "people",
              "rates", "holidays", "sprints", "risks"]  # fmt: skip
KEYS = {
    "marts.evm_weekly": ["project_id", "status_date"],
    "marts.baseline_versions": ["project_id", "baseline_version"],
    "marts.actual_cost_weekly": ["project_id", "status_date", "cost_category"],
    "marts.planned_value_weekly": ["project_id", "status_date"],
    "marts.evm_progress": progress.STATE_KEY,
}
PROGRESS = "marts.evm_progress"  # the progress earned value keeps (transforms.progress)
MILESTONES = {  # the milestone marts in their key order (transforms.milestones)
    "marts.milestone_variance": ["project_id", "item_key"],
    "marts.milestone_slips": ["project_id", "status_date"],
    "marts.milestone_history": ["project_id", "item_key", "status_date"],
    "marts.milestone_state": ["project_id"],
}


# bl.assemble's order of baseline elements (polars sorts nulls first)
ELEMENT_ORDER = "project_id NULLS FIRST, baseline_version NULLS FIRST, element_key NULLS FIRST"


def _read(conn, *tables: str) -> dict[str, pl.DataFrame]:
    return {t: warehouse.read(conn, f"staging.{t}") for t in tables}


def _options(pmo: PmoHome, as_of: dt.date) -> EvmOptions:
    s = pmo.settings()
    return EvmOptions(
        as_of=as_of,
        week_ends_on=s.pipeline.week_ends_on,
        composite_weight=s.evm.composite_weight,
        techniques=dict(s.evm.techniques),
        direct_costs=s.evm.direct_costs,
        asset_life_months=s.evm.asset_life_months,
        probability_scale=s.risk.probability_scale,
        cost_bands=tuple(s.risk.cost_bands),
        days_bands=tuple(s.risk.days_bands),
    )


COSTS = "marts.worklog_costs"


def write_worklog_costs(conn, settings) -> tuple[int, int, float, int]:
    """marts.worklog_costs and marts.cost_exceptions from staging (also `pmo forget`, after it rebuilds staging), in
    DuckDB: the worklogs never leave it. The costs mirror staging.worklogs row for row, in its load order, so a week's
    new and changed worklogs are costed and patched in (pipelines/changes.py) instead of 10M rows written again; the
    costs are written whole when anything else they read changed. Returns the rows of each, the exceptions' hours and
    the worklogs costed. The caller holds the transaction."""
    with _desk_items(conn, settings.resources.service_desk_tools) as desk:

        def costs(worklogs: str) -> str:
            return worklog_costs_sql(worklogs, "staging.people", "staging.rates", desk,
                                     count_unapproved=settings.evm.count_unapproved_hours)  # fmt: skip

        # a person's team or name does not change a cost; their rates in force do
        steps = f"({rate_steps_sql('staging.people', 'staging.rates')})"
        inputs = changes.fingerprint(conn, costs("staging.worklogs"), steps, desk)
        touched = changes.pending(conn, COSTS, "staging.worklogs", inputs)
        if touched is None or not warehouse.in_load_order(conn, COSTS):
            costed = recosted = warehouse.replace_query(conn, COSTS, costs("staging.worklogs"), warehouse.LOAD_ORDER)
        else:
            recosted = _patch_costs(conn, touched, costs)
            costed = conn.sql(f"SELECT count(*) FROM {COSTS}").fetchall()[0][0]
        changes.mark(conn, COSTS, inputs)
    exceptions = warehouse.replace_query(
        conn, "marts.cost_exceptions", f"SELECT * FROM {COSTS} WHERE exception IS NOT NULL", ["worklog_id"]
    )
    hours = conn.sql("SELECT CAST(coalesce(sum(hours), 0) AS DOUBLE) FROM marts.cost_exceptions").fetchall()[0][0]
    return costed, exceptions, hours, recosted


def _patch_costs(conn, touched: str, costs) -> int:
    """Cost again the worklogs of the lineage `touched` and patch them into marts.worklog_costs: the ones staging no
    longer has deleted, the ones it still has set again, the new ones (after every row: new files) appended. Returns
    how many were costed."""
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _touched AS {touched}")
    worklogs = "(SELECT * FROM staging.worklogs SEMI JOIN temp.main._touched USING (_source_file, _line))"
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _recosted AS {costs(worklogs)}")
    recosted = conn.sql("SELECT count(*) FROM temp.main._recosted").fetchall()[0][0]
    last = conn.sql(f"SELECT _source_file, _line FROM {COSTS} ORDER BY ALL DESC LIMIT 1").fetchall()
    file, line = last[0] if last else (-1, -1)
    held = f"(_source_file < {int(file)} OR (_source_file = {int(file)} AND _line <= {int(line)}))"
    rows = warehouse.patch_in_load_order(
        conn, COSTS, gone="FROM temp.main._touched ANTI JOIN temp.main._recosted USING (_source_file, _line)",
        updates=f"FROM temp.main._recosted WHERE {held}", added=f"FROM temp.main._recosted WHERE NOT {held}",
    )  # fmt: skip
    conn.sql("DROP TABLE temp.main._touched")
    conn.sql("DROP TABLE temp.main._recosted")
    staged = conn.sql("SELECT count(*) FROM staging.worklogs").fetchall()[0][0]
    if rows != staged:  # a guard against a mart out of step or an engine fault: the caller's transaction rolls back
        raise RuntimeError(f"{COSTS} holds {rows} rows after the patch; staging.worklogs holds {staged}: not saved")
    return recosted


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "worklog_costs"], deps=[staging_key(t) for t in ("worklogs", "people", "rates",
                                                                                "work_items")],
                     kinds={"duckdb"}, description="One row per worklog: hours × the rate in force on the work date."),
        dg.AssetSpec(["marts", "cost_exceptions"], deps=[staging_key("worklogs")], kinds={"duckdb"},
                     description="Hours not in AC or costed with a caveat (unknown project, unmatched person, no "
                                 "rate, unapproved), one row per worklog, with the reason. Never dropped."),
    ],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def actual_cost(pmo: PmoHome):
    """Cost every worklog; set the ones that cannot be costed aside as exceptions."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        costed, exceptions, hours, recosted = write_worklog_costs(conn, pmo.settings())
    yield dg.MaterializeResult(asset_key=["marts", "worklog_costs"],
                               metadata={"dagster/row_count": costed, "costed this run": recosted})  # fmt: skip
    yield dg.MaterializeResult(asset_key=["marts", "cost_exceptions"],
                               metadata={"dagster/row_count": exceptions, "hours": hours})  # fmt: skip


EVM_SPECS = {
    "evm_weekly": "Earned value per project per status date: PV, EV, AC, the EAC family, TCPI, earned schedule, "
    "risk exposure (../shared/EVM.md), from the first baseline week to the as-of date.",
    "baseline_versions": "One row per baseline version: effective from, reason, source, BAC, management reserve and "
    "contingency beside it.",
    "actual_cost_weekly": "Cumulative actual cost per project, status date and cost category, and whether the "
    "baseline in force budgets that category (only budgeted categories are in CPI).",
    "planned_value_weekly": "The planned value curve in force per project and status date, future weeks included.",
    "evm_progress": "Per project, its progress at the weeks it changes (any status date's EV reads it), and a digest "
    "of its inputs: computed again only for the projects whose inputs changed.",
}


def _progress_shared(options: EvmOptions) -> str:
    """What every project's progress depends on beside its own rows: the techniques per item type, the week end,
    the code, and the releases of DuckDB (its hashes) and polars."""
    code = changes.source_digest(*(m.__file__ for m in (progress, earned_value_module, bl, numbering, calendar,
                                                         duck)))  # fmt: skip
    shared = (sorted(options.techniques.items()), options.week_ends_on, code, duckdb.__version__, pl.__version__)
    return hashlib.md5(repr(shared).encode()).hexdigest()


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", name], kinds={"duckdb", "polars"}, description=text,
                        deps=[["marts", "worklog_costs"], *[staging_key(t) for t in EVM_INPUTS]])
           for name, text in EVM_SPECS.items()],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def earned_value(context: dg.AssetExecutionContext, pmo: PmoHome):
    """The weekly earned value of every project, measured against the baseline version in force."""
    with pmo.connect() as conn:
        # Every week up to the run's (latest) status date, or to the last complete week in the data when that is
        # later: a backfill's range is computed once, here, and a run for an older week (its pack again) never cuts
        # the later weeks from the marts and the analysts' copy, nor shows their sent figures as restated to none.
        as_of = pmo.status_date(conn, max(status_dates(context), default=None))
        with suppress(ValueError):  # no dated data: the run's status date
            as_of = max(as_of, data_status_date(conn, pmo.settings().pipeline.week_ends_on))
        frozen = freeze_missing(conn, as_of, "derived from ticket estimates (first freeze, automatic)")
        for project_id in frozen:
            context.log.info(f"{project_id}: baseline version 1 frozen from ticket estimates")
        # The big tables narrowed in SQL to what compute reads: the worklogs only for each item's first work date
        # (min per item: the same minimum), the costed worklogs only those in AC, the tickets' used columns.
        inputs = _read(conn, *(t for t in EVM_INPUTS if t not in ("worklogs", "work_items", "baselines")))
        # in bl.assemble's order, which then keeps them as they are instead of sorting a copy: as stored when the
        # table was written in its key order (not sorted again), else sorted here
        stored = warehouse.in_order(conn, "staging.baselines", list(canonical.KEYS["baselines"]))
        inputs["baselines"] = conn.sql(
            f"SELECT * FROM staging.baselines{'' if stored else f' ORDER BY {ELEMENT_ORDER}'}"
        ).pl()
        with warehouse.transaction(conn):
            read = write_first_work(conn)
            days = write_labour_days(conn)
        folded = "every worklog read" if read is None else f"{read} worklog(s) folded in"
        context.log.info(f"first work dates: {folded}")
        summed = "every day" if days is None else f"{len(days)} day(s)"
        context.log.info(f"labour cost per project and day: {summed} summed again")
        inputs["worklogs"] = conn.sql(f"SELECT * FROM {FIRST_WORK}").pl()
        inputs["work_items"] = conn.sql(
            "SELECT item_key, snapshot_date, project_id, type, status_category, resolved, remaining_estimate_h, "
            "time_spent_h, story_points, assignee, assignee_account_id FROM staging.work_items"
        ).pl()
        inputs["frozen_versions"] = warehouse.read(conn, "plans.baseline_versions")
        inputs["frozen_elements"] = warehouse.read(conn, "plans.baselines")
        # AC reads only the costs in AC per project and day (kept, exactly: DECIMAL; summed by week, in any order),
        # not 10M rows
        inputs["costed"] = conn.sql(f"SELECT *, true AS in_ac FROM {LABOUR_DAYS}").pl()
        options = _options(pmo, as_of)
        # The progress of the projects whose inputs to it are unchanged is kept (transforms.progress).
        digests = conn.sql(progress_digests_sql(
            baselines="staging.baselines", frozen_elements="plans.baselines", projects="staging.projects",
            work_items="staging.work_items", first_work=FIRST_WORK, shared=_progress_shared(options),
        )).pl()  # fmt: skip
        prior = warehouse.read(conn, PROGRESS) if warehouse.table_exists(conn, "marts", "evm_progress") else None
        prior_plan = _read_curves(conn)
    # Computed with the warehouse closed: DuckDB's cache of what it read goes back to the system first (the step's
    # peak is its inputs and its work, not also DuckDB's cache).
    result = compute(**inputs, options=options, progress_digests=digests, prior_progress=prior,
                     plan_shared=_plan_shared(), prior_plan=prior_plan)  # fmt: skip
    del inputs, prior
    same_plan = prior_plan is not None and prior_plan.digest == result.curves.digest
    context.log.info(f"planned value curves: {'kept, their inputs unchanged' if same_plan else 'computed'}")
    with pmo.connect() as conn:
        if not same_plan:
            _write_curves(conn, result.curves)
        tables = {
            "marts.evm_weekly": result.evm,
            "marts.baseline_versions": result.versions,
            "marts.actual_cost_weekly": result.costs,
            "marts.planned_value_weekly": result.plan,
            PROGRESS: result.progress,
        }
        for name, frame in tables.items():
            warehouse.replace_table(conn, name, frame, KEYS[name])
    for name, frame in tables.items():
        yield dg.MaterializeResult(asset_key=name.split("."), metadata={"dagster/row_count": frame.height})


# Earned value's cache of every baseline version's planned value curve, with the digest of its inputs: pipeline
# state beside audit.item_first_work, not a mart.
CURVES = "audit.evm_curves"


def _plan_shared() -> str:
    """What the planned value curves depend on beside their inputs: the code and the releases of DuckDB and polars."""
    code = changes.source_digest(*(m.__file__ for m in (planned_value_module, calendar, duck)))
    return hashlib.md5(repr((code, duckdb.__version__, pl.__version__)).encode()).hexdigest()


def _read_curves(conn: duckdb.DuckDBPyConnection) -> Curves | None:
    """The curves an earlier run computed (audit.evm_curves), None when there are none."""
    if not warehouse.table_exists(conn, *CURVES.split(".")):
        return None
    digest = conn.sql(f"SELECT any_value(digest) FROM {CURVES}").fetchall()[0][0]
    return None if digest is None else Curves(digest, conn.sql(f"SELECT * EXCLUDE (digest) FROM {CURVES}").pl())


def _write_curves(conn: duckdb.DuckDBPyConnection, curves: Curves) -> None:
    """Replace audit.evm_curves with `curves`, in one statement: the rows and their digest, or the table as it was."""
    conn.register("_curves", curves.rows)
    try:
        conn.sql(f"CREATE OR REPLACE TABLE {CURVES} AS SELECT ? AS digest, * FROM _curves", params=[curves.digest])
    finally:
        conn.unregister("_curves")


# Earned value's cache of each item's first work date, beside the marks of what staging changed (audit.mart_marks):
# pipeline state, not a mart (not published); in no key order, as new items are appended to it.
FIRST_WORK = "audit.item_first_work"
_FIRST_WORK = "SELECT item_key, min(work_date) AS work_date FROM {} WHERE item_key IS NOT NULL GROUP BY item_key"


def write_first_work(conn: duckdb.DuckDBPyConnection) -> int | None:
    """audit.item_first_work: each item's first work date (its earliest worklog's), which earned value reads, kept
    from run to run instead of a minimum over every worklog (10M at portfolio scale). The worklogs staging appended
    or set again since (pipelines/changes.py) are folded in: a worklog is only ever added by a later file, and
    setting one again changes its resolved columns, never its item or date (pipelines/ingest.py `_append_worklogs`),
    so an item's first date can only come earlier. When staging deleted a worklog (a newer export replaced it), wrote
    the worklogs whole, or the query changed, it is computed again from every worklog. Returns how many worklogs were
    folded in, None when every worklog was read. The caller holds the transaction."""
    inputs = changes.fingerprint(conn, _FIRST_WORK)
    touched = changes.pending(conn, FIRST_WORK, "staging.worklogs", inputs)
    folded = None
    if touched is not None and warehouse.table_exists(conn, *FIRST_WORK.split(".")):
        folded = _fold_first_work(conn, touched)
    if folded is None:
        conn.sql(f"CREATE OR REPLACE TABLE {FIRST_WORK} AS {_FIRST_WORK.format('staging.worklogs')}")
    changes.mark(conn, FIRST_WORK, inputs)
    return folded


def _fold_first_work(conn: duckdb.DuckDBPyConnection, touched: str) -> int | None:
    """Fold the worklogs of the lineage `touched` into audit.item_first_work; the worklogs folded in, or None,
    having changed nothing, when one of them is no longer in staging (deleted: its item's first date may be later)."""
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _touched_work AS {touched}")
    files = ", ".join(str(int(f)) for (f,) in conn.sql(
        "SELECT DISTINCT _source_file FROM temp.main._touched_work ORDER BY 1").fetchall())  # fmt: skip
    # read only from the files they are in: staging.worklogs is in load order, so the other row groups are skipped
    conn.sql(
        "CREATE OR REPLACE TEMP TABLE _touched_rows AS SELECT item_key, work_date FROM staging.worklogs SEMI"
        f" JOIN temp.main._touched_work USING (_source_file, _line) WHERE _source_file IN ({files or 'NULL'})"
    )
    lineage, found = conn.sql("SELECT (FROM temp.main._touched_work SELECT count(*)),"
                              " (FROM temp.main._touched_rows SELECT count(*))").fetchall()[0]  # fmt: skip
    if found == lineage:
        conn.sql(f"CREATE OR REPLACE TEMP TABLE _earlier AS {_FIRST_WORK.format('temp.main._touched_rows')}")
        # min() passes over NULL dates: a date comes before none
        conn.sql(f"DELETE FROM {FIRST_WORK} f USING temp.main._earlier e WHERE f.item_key = e.item_key"
                 " AND e.work_date IS NOT NULL AND (f.work_date IS NULL OR e.work_date < f.work_date)")  # fmt: skip
        duck.insert(conn, FIRST_WORK, f"FROM temp.main._earlier ANTI JOIN {FIRST_WORK} USING (item_key)")
        conn.sql("DROP TABLE temp.main._earlier")
    for name in ("_touched_work", "_touched_rows"):
        conn.sql(f"DROP TABLE temp.main.{name}")
    return found if found == lineage else None


def _evm(conn, *columns: str) -> pl.DataFrame:
    """marts.evm_weekly: only `columns` when given (a mart reading the grid need not read 40 columns of it)."""
    if not columns:
        return warehouse.read(conn, "marts.evm_weekly")
    return conn.sql(f"SELECT {', '.join(columns)} FROM marts.evm_weekly").pl()


@dg.asset(key=["marts", "portfolio_weekly"], deps=[["marts", "evm_weekly"], ["marts", "planned_value_weekly"]],
          kinds={"duckdb"}, pool="warehouse", **WEEKLY_ASSET)  # fmt: skip
def portfolio_weekly_mart(pmo: PmoHome) -> dg.MaterializeResult:
    """Earned value per portfolio, programme and in total per status date, from summed PV, EV, AC and BAC (never
    averaged ratios); earned schedule on the summed PV curve; eac_sum beside the roll-up's EAC."""
    with pmo.connect() as conn:
        frame = portfolio_weekly(
            _evm(conn), warehouse.read(conn, "staging.projects"), warehouse.read(conn, "marts.planned_value_weekly"),
            composite_weight=pmo.settings().evm.composite_weight,
        )  # fmt: skip
        warehouse.replace_table(conn, "marts.portfolio_weekly", frame, ["group_level", "group_key", "status_date"])
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


@dg.asset(key=["marts", "risk_exposure"], kinds={"duckdb"}, pool="warehouse", **WEEKLY_ASSET,
          deps=[["marts", "evm_weekly"], staging_key("risks"), staging_key("assets"), staging_key("licences"),
                staging_key("work_items")])  # fmt: skip
def risk_exposure_mart(pmo: PmoHome) -> dg.MaterializeResult:
    """Open register risks per status date (probability × cost and schedule impact, heat-map band) and the
    operational risks derived from assets, licences and tickets, each traceable to its source row."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_risk_exposure(conn, pmo.settings())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "weeks computed this run": computed})


RISK = "marts.risk_exposure"
RISK_ORDER = ["status_date", "project_id", "risk_id"]
RISK_GRID = "project_id, status_date, forecast_finish"  # the marts.evm_weekly columns the risks read


def write_risk_exposure(conn, settings) -> tuple[int, int]:
    """marts.risk_exposure at the status dates of marts.evm_weekly, computed again only from the first week that
    changed on: the first whose grid rows (each project's status date and forecast finish) differ from those it was
    computed from, or the week holding the earliest day staging.work_items recorded for a change (a week's ticket
    risks come from the snapshots exported on or before its status date). Written whole when the register, the
    assets, the licences, the settings or the code changed. Returns its rows and the weeks computed; the caller holds
    the transaction."""
    weeks, digests = changes.week_digests(conn, f"SELECT {RISK_GRID} FROM marts.evm_weekly")
    text = repr((settings.risk, changes.source_digest(__file__, risk.__file__)))
    inputs = changes.fingerprint(conn, text, "staging.risks", "staging.assets", "staging.licences")
    since = min((day for day in (_changed_from(conn, RISK, RISK_ORDER, inputs, weeks, digests),
                                 _stale_from(conn, {RISK: RISK_ORDER}, inputs, weeks, "staging.work_items"))
                 if day is not None), default=None)  # fmt: skip
    computed = [w for w in weeks if since is not None and w >= since]
    if since is not None:
        s = settings.risk
        grid = conn.sql(f"SELECT {RISK_GRID} FROM marts.evm_weekly WHERE status_date >= ?", params=[since]).pl()
        as_of = weeks[-1] if weeks else None
        read = _read(conn, "risks", "assets", "licences")
        # only the tickets a derived risk can come from, with their next snapshot's date
        read["work_items"] = conn.sql(risk.ITEMS_SQL.format(source="staging.work_items"),
                                      params={"as_of": as_of}).pl()  # fmt: skip
        register = risk.register_risks(read["risks"], grid.select("project_id", "status_date"),
                                       probability_scale=s.probability_scale, cost_bands=s.cost_bands,
                                       days_bands=s.days_bands)  # fmt: skip
        operational = risk.operational_risks(grid_forecast=grid, assets=read["assets"], licences=read["licences"],
                                             work_items=read["work_items"], as_of=as_of,
                                             blocked_days=s.blocked_days)  # fmt: skip
        _write_weeks(conn, RISK, RISK_ORDER, risk.risk_exposure_mart(register, operational), since)
    changes.mark(conn, RISK, inputs, weeks, digests)
    return conn.sql(f"SELECT count(*) FROM {RISK}").fetchall()[0][0], len(computed)


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "milestone_variance"], kinds={"duckdb"},
                        description="Per milestone or due-dated item at the as-of date: baseline vs forecast or "
                                    "actual date and the slip in working days.",
                        deps=[["marts", "evm_weekly"], staging_key("work_items"), staging_key("holidays")]),
           dg.AssetSpec(["marts", "milestone_slips"], kinds={"duckdb"}, deps=[["marts", "evm_weekly"]],
                        description="Per project and week: items due, slipped, overdue and the slip trend."),
           dg.AssetSpec(["marts", "milestone_history"], kinds={"duckdb"}, deps=[["marts", "evm_weekly"]],
                        description="Per milestone and week: its baseline, forecast and actual dates, slip and "
                                    "state as of that week (the milestone trend; the pack of that week)."),
           dg.AssetSpec(["marts", "milestone_state"], kinds={"duckdb"}, deps=[["marts", "evm_weekly"]],
                        description="Per project, the as-of date of its milestone rows and a digest of their inputs: "
                                    "a project whose inputs did not change is carried forward, not computed again.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def milestones(pmo: PmoHome):
    with pmo.connect() as conn:
        evm = _evm(conn, "project_id", "status_date")
        grid, as_of = evm.select("project_id", "status_date"), evm["status_date"].max()
        read = _read(conn, "holidays", "projects")
        digests = conn.sql(milestones_module.digests_sql(
            baselines="staging.baselines", frozen_elements="plans.baselines", versions="marts.baseline_versions",
            projects="staging.projects", work_items="staging.work_items", shared=_milestones_shared(conn),
        ), params={"as_of": as_of}).pl()  # fmt: skip
        kept = _kept_milestones(conn, digests, grid, as_of)
        # Only what the projects computed again read (the READS columns the digests are of): their elements, and every
        # export of their keys' items.
        changed = None if kept is None else sorted(set(grid["project_id"]) - set(kept.state["project_id"]))
        read["work_items"] = _milestone_items(conn, changed)
        versions = warehouse.read(conn, "marts.baseline_versions")
        elements = _elements(conn, "project_id", *milestones_module.READS["elements"], projects=changed).join(
            versions.select("project_id", "baseline_version", "effective_from"), on=["project_id", "baseline_version"]
        )  # fmt: skip
        projects = read["projects"].with_columns(pl.col("calendar_id").fill_null("default"))
        held = [] if kept is None else [kept.variance[c] for c in ("baseline_date", "forecast_date", "actual_date")]
        dates = pl.concat([read["work_items"]["due"], read["work_items"]["resolved"], elements["planned_finish"],
                           evm["status_date"], *held]).drop_nulls()  # fmt: skip
        cal = working_day_index(read["holidays"], sorted(set(projects["calendar_id"]) | {"default"}),
                                dates.min() - dt.timedelta(days=1), dates.max() + dt.timedelta(days=1))  # fmt: skip
    # computed with the warehouse closed, as earned value
    items, slips, history = milestone_variance(
        elements=elements, work_items=read["work_items"], cal=cal, projects=projects, grid=grid, as_of=as_of, kept=kept
    )  # fmt: skip
    state = digests.join(grid, on="project_id", how="semi").select(
        "project_id", pl.lit(as_of, pl.Date).alias("as_of"), "digest"
    )
    del read, elements, kept
    with pmo.connect() as conn:
        for (name, order), frame in zip(MILESTONES.items(), (items, slips, history, state), strict=True):
            warehouse.replace_table(conn, name, frame, order)
    for name, frame in zip(MILESTONES, (items, slips, history, state), strict=True):
        yield dg.MaterializeResult(asset_key=name.split("."), metadata={"dagster/row_count": frame.height})


def _milestones_shared(conn) -> str:
    """What every project's milestone rows depend on beside its own inputs: the holidays, the code, and the releases
    of DuckDB (its hashes) and polars."""
    code = changes.source_digest(*(m.__file__ for m in (milestones_module, calendar, numbering)))
    return changes.fingerprint(conn, repr((code, duckdb.__version__, pl.__version__)), "staging.holidays")


def _kept_milestones(conn, digests: pl.DataFrame, grid: pl.DataFrame, as_of: dt.date) -> Kept | None:
    """The milestone rows of the projects that are carried forward (`kept_projects`), None when there are none
    (also when a milestone table is missing or not written in its key order)."""
    if not all(warehouse.in_order(conn, name, order) for name, order in MILESTONES.items()):
        return None
    state = warehouse.read(conn, "marts.milestone_state")
    slips = warehouse.read(conn, "marts.milestone_slips")
    ids = kept_projects(digests, state, slips, grid, as_of)
    if ids.is_empty():
        return None
    of = pl.col("project_id").is_in(ids.implode())
    return Kept(state=state.filter(of), variance=warehouse.read(conn, "marts.milestone_variance").filter(of),
                slips=slips.filter(of), history=warehouse.read(conn, "marts.milestone_history").filter(of),
                grid=grid.filter(of))  # fmt: skip


def _milestone_items(conn, projects: list[str] | None) -> pl.DataFrame:
    """The ticket columns milestone_variance reads: of every export, or (`projects`) of every export of the items
    those projects' keys are of (their milestone elements, their due-dated tickets), wherever exported."""
    columns = ", ".join(milestones_module.READS["work_items"])
    if projects is None:
        return conn.sql(f"SELECT {columns} FROM staging.work_items").pl()
    conn.register("_changed", pl.DataFrame({"project_id": projects}, schema={"project_id": pl.String}))
    try:
        return conn.sql(f"""
            WITH named AS (
                SELECT element_key AS item_key FROM staging.baselines SEMI JOIN _changed USING (project_id)
                WHERE is_milestone
                UNION SELECT element_key FROM plans.baselines SEMI JOIN _changed USING (project_id) WHERE is_milestone
                UNION SELECT item_key FROM staging.work_items SEMI JOIN _changed USING (project_id)
                WHERE due IS NOT NULL
            )
            SELECT {columns} FROM staging.work_items SEMI JOIN named USING (item_key)
        """).pl()  # fmt: skip
    finally:
        conn.unregister("_changed")


def _elements(conn, *columns: str, projects: list[str] | None = None) -> pl.DataFrame:
    """The given columns of every element of every baseline version (of the `projects` only, when given), from the
    files and the freezes, in the order `bl.assemble` gives them (a million rows at portfolio scale: only the columns
    a mart reads)."""
    of = "" if projects is None else " WHERE list_contains($projects::VARCHAR[], project_id)"
    return conn.sql(
        f"{_elements_sql(*columns, where=of)} ORDER BY {ELEMENT_ORDER}",
        params=None if projects is None else {"projects": projects},
    ).pl()


def _elements_sql(*columns: str, where: str = "") -> str:
    """The query of the given columns of every element of every baseline version, from the files and the freezes."""
    cols = ", ".join(columns)
    return f"SELECT {cols} FROM staging.baselines{where} UNION ALL SELECT {cols} FROM plans.baselines{where}"


def _evm_weeks(conn) -> list[dt.date]:
    """The status dates of marts.evm_weekly, sorted (without reading the rest of the table)."""
    return [row[0] for row in conn.sql("SELECT DISTINCT status_date FROM marts.evm_weekly ORDER BY 1").fetchall()]


@contextmanager
def _weekly_hours(conn, weeks: list[dt.date], desk_kinds: tuple[str, ...] = ()) -> Iterator[str]:
    """The temporary table of the worklogs' hours per person, project, status date of `weeks` and whether they are
    on a ticket of `desk_kinds` (`people_weeks.weekly_hours_sql`): a few million rows, in DuckDB, dropped after use.
    A week's days are the 7 up to its status date (they are week ends), so any run of weeks gives the same rows."""
    first = min(weeks, default=dt.date.max) - dt.timedelta(days=6)  # the worklogs before are in none of the weeks
    worklogs = f"(SELECT * FROM staging.worklogs WHERE work_date >= DATE '{first.isoformat()}')"
    conn.sql("CREATE OR REPLACE TEMP TABLE _weeks AS SELECT unnest(CAST(? AS DATE[])) AS status_date", params=[weeks])
    with _desk_items(conn, desk_kinds) as desk:
        query = weekly_hours_sql(worklogs, "temp.main._weeks", desk)
        conn.sql(f"CREATE OR REPLACE TEMP TABLE _weekly_hours AS {query}")
    try:
        yield "temp.main._weekly_hours"
    finally:
        conn.sql("DROP TABLE IF EXISTS temp.main._weekly_hours")
        conn.sql("DROP TABLE IF EXISTS temp.main._weeks")


@contextmanager
def _desk_items(conn, kinds) -> Iterator[str]:
    """A temporary table of the items of the service-desk tools `kinds`, dropped after use."""
    conn.sql("CREATE OR REPLACE TEMP TABLE _desk_items AS SELECT DISTINCT item_key FROM staging.work_items "
             "WHERE list_contains(CAST(? AS VARCHAR[]), source_kind)", params=[list(kinds)])  # fmt: skip
    try:
        yield "temp.main._desk_items"
    finally:
        conn.sql("DROP TABLE IF EXISTS temp.main._desk_items")


# Marts with rows per status date written from the first week that changed on (`_stale_from`), in status date order.
TIMESHEETS = {"marts.timesheet_completeness": ["status_date", "person_id"],
              "marts.project_timesheet_completeness": ["status_date", "project_id"]}  # fmt: skip
UTILISATION = {"marts.resource_utilisation": ["status_date", "person_id"],
               "marts.utilisation_by_project": ["status_date", "person_id", "project_id"],
               "marts.team_utilisation": ["status_date", "team"]}  # fmt: skip
PEOPLE_WEEKS_CODE = (__file__, capacity.__file__, people_weeks.__file__, calendar.__file__)


def _stale_from(conn, tables: dict[str, list[str]], inputs: str, weeks: list[dt.date],
                staging: str = "staging.worklogs") -> dt.date | None:  # fmt: skip
    """The status date from which the marts `tables` (name → order), marked under the first one's name, are computed
    again (`changes.stale_from` from `staging`); dt.date.min when they are written whole, also when one of them is
    missing or not in its order; None when no week changed."""
    if not all(warehouse.in_order(conn, name, order) for name, order in tables.items()):
        return dt.date.min
    return changes.stale_from(conn, next(iter(tables)), staging, inputs, weeks)


def _changed_from(conn, mart: str, order: list[str], inputs: str, weeks: list[dt.date],
                  digests: list[str]) -> dt.date | None:  # fmt: skip
    """The status date from which the mart (in `order`) is computed again (`changes.changed_from`); dt.date.min when it
    is written whole, also when it is missing or not in its order; None when no week changed."""
    if not warehouse.in_order(conn, mart, order):
        return dt.date.min
    return changes.changed_from(conn, mart, inputs, weeks, digests)


def _write_weeks(conn, name: str, order_by: list[str], rows: str | pl.DataFrame, since: dt.date) -> int:
    """Write a mart's rows of the status dates from `since` on (a query or a frame): the whole table when `since` is
    dt.date.min or none of its rows is earlier, else in place of its rows from then on (`warehouse.replace_from`)."""
    early = (
        since != dt.date.min
        and conn.sql(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE status_date < ?)", params=[since]).fetchall()[0][0]
    )
    if early:
        return warehouse.replace_from(conn, name, rows, order_by, since)
    if isinstance(rows, pl.DataFrame):
        return warehouse.replace_table(conn, name, rows, order_by)
    return warehouse.replace_query(conn, name, rows, order_by)


def write_timesheets(conn, settings) -> tuple[dict[str, int], int]:
    """marts.timesheet_completeness and marts.project_timesheet_completeness for the status dates of
    marts.evm_weekly, computed again only from the first week whose worklogs changed (or that is new) on, unless the
    people, holidays, settings or code changed. Returns each table's rows and the weeks computed; the caller holds
    the transaction."""
    weeks = _evm_weeks(conn)
    text = repr((settings.timesheets, settings.pipeline.week_ends_on, changes.source_digest(*PEOPLE_WEEKS_CODE)))
    inputs = changes.fingerprint(conn, text, "staging.people", "staging.holidays")
    since = _stale_from(conn, TIMESHEETS, inputs, weeks)
    computed = [w for w in weeks if since is not None and w >= since]
    if since is not None:
        # a person is on a project in a week when they logged on it then or in the LOOKBACK_WEEKS before
        context = [w for w in weeks if w + dt.timedelta(weeks=LOOKBACK_WEEKS) >= since]
        with _weekly_hours(conn, context) as weekly:
            read = _read(conn, "people", "holidays")
            # the hours per person-week (the transform dates them on their week's status date)
            logs = conn.sql(f"SELECT person_id, status_date AS work_date, sum(hours) AS hours FROM {weekly} "
                            "WHERE status_date >= ? GROUP BY person_id, status_date", params=[since]).pl()  # fmt: skip
            cap = capacity.weekly_capacity(read["people"], read["holidays"], computed,
                                           week_ends_on=settings.pipeline.week_ends_on,
                                           default_hours_week=settings.timesheets.contracted_hours_week)  # fmt: skip
            people = timesheet_completeness(cap, logs, read["people"], complete_at=settings.timesheets.complete_at)
            (person, project), (person_order, project_order) = TIMESHEETS, TIMESHEETS.values()
            _write_weeks(conn, person, person_order, people, since)
            projects = project_timesheet_completeness_sql(weekly, person)
            from_since = f"SELECT * FROM ({projects}) WHERE status_date >= DATE '{since.isoformat()}'"
            _write_weeks(conn, project, project_order, from_since, since)
    changes.mark(conn, next(iter(TIMESHEETS)), inputs, weeks)
    return {name: conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in TIMESHEETS}, len(computed)


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "timesheet_completeness"], kinds={"duckdb"},
                        description="Expected vs logged hours per person-week (PMO eyes only: per-person data).",
                        deps=[["marts", "evm_weekly"], *[staging_key(t) for t in ("people", "worklogs", "holidays")]]),
           dg.AssetSpec(["marts", "project_timesheet_completeness"], kinds={"duckdb"},
                        deps=[["marts", "timesheet_completeness"]],
                        description="Per project and week: how complete the timesheets of its people are, shown "
                                    "beside CPI.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def timesheets(pmo: PmoHome):
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_timesheets(conn, pmo.settings())
    for name, count in rows.items():
        metadata = {"dagster/row_count": count, "weeks computed this run": computed}
        yield dg.MaterializeResult(asset_key=name.split("."), metadata=metadata)


FORECAST = "marts.evm_forecast"
FORECAST_ORDER = ["status_date", "project_id"]
# The marts.evm_weekly columns the forecast reads.
FORECAST_INPUTS = ("project_id", "status_date", "baseline_start", "bac", "ev", "ac", "at_weeks", "pd_weeks",
                   "es_weeks")  # fmt: skip


def write_forecast(conn, settings) -> tuple[int, int]:
    """marts.evm_forecast, computed again only from the first status date whose earned value rows changed (or that is
    new) on: a project's bands at a date come from its own rows up to then (transforms/forecast.py), so the rows of
    the weeks before are what they were. Written whole when the settings or the code changed. Returns the rows and
    the weeks computed; the caller holds the transaction."""
    columns = ", ".join(FORECAST_INPUTS)
    weeks, digests = changes.week_digests(conn, f"SELECT {columns} FROM marts.evm_weekly")
    min_weeks = settings.evm.forecast_min_weeks
    inputs = changes.fingerprint(conn, repr((min_weeks, changes.source_digest(forecast.__file__))))
    since = _changed_from(conn, FORECAST, FORECAST_ORDER, inputs, weeks, digests)
    computed = [w for w in weeks if since is not None and w >= since]
    if since is not None:
        evm = conn.sql(f"SELECT {columns} FROM marts.evm_weekly").pl()
        _write_weeks(conn, FORECAST, FORECAST_ORDER, evm_forecast(evm, min_weeks=min_weeks, since=since), since)
    changes.mark(conn, FORECAST, inputs, weeks, digests)
    return conn.sql(f"SELECT count(*) FROM {FORECAST}").fetchall()[0][0], len(computed)


@dg.asset(
    key=["marts", "evm_forecast"], deps=[["marts", "evm_weekly"]], kinds={"duckdb"}, pool="warehouse", **WEEKLY_ASSET
)
def evm_forecast_mart(pmo: PmoHome) -> dg.MaterializeResult:
    """p10/p50/p90 of EAC and of the finish date from each project's own week-to-week CPI and SPI(t)."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_forecast(conn, pmo.settings())
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "weeks computed this run": computed})


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "eac_backtest"], kinds={"duckdb"}, deps=[["marts", "evm_weekly"]],
                        description="For closed projects: each EAC method's error at 25/50/75 % complete against "
                                    "the final cost."),
           dg.AssetSpec(["marts", "eac_backtest_summary"], kinds={"duckdb"}, deps=[["marts", "eac_backtest"]],
                        description="Per EAC method and checkpoint over all closed projects: mean and median "
                                    "error and the method's rank.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def backtest(pmo: PmoHome):
    with pmo.connect() as conn:
        frame = eac_backtest(_evm(conn), warehouse.read(conn, "staging.projects"))
        summary = backtest_summary(frame)
        warehouse.replace_table(conn, "marts.eac_backtest", frame, ["project_id", "eac_method", "checkpoint"])
        warehouse.replace_table(conn, "marts.eac_backtest_summary", summary, ["eac_method", "checkpoint"])
    yield dg.MaterializeResult(asset_key=["marts", "eac_backtest"], metadata={"dagster/row_count": frame.height})
    yield dg.MaterializeResult(asset_key=["marts", "eac_backtest_summary"],
                               metadata={"dagster/row_count": summary.height})  # fmt: skip


@dg.asset(key=["marts", "evm_flags"], deps=[["marts", "evm_weekly"], ["marts", "worklog_costs"]], kinds={"duckdb"},
          pool="warehouse", **WEEKLY_ASSET)  # fmt: skip
def evm_flags_mart(pmo: PmoHome) -> dg.MaterializeResult:
    """Findings beside the figures: EV > BAC, EV without AC, AC ≥ BAC, worklogs outside the project's dates,
    negative or absurd hours, unbaselined work (scope change), weeks not reconstructable."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        computed = write_evm_flags(conn, pmo.settings())
        findings = dict(conn.sql(f"SELECT finding, count(*) FROM {FLAGS} GROUP BY ALL ORDER BY 1").fetchall())
    return dg.MaterializeResult(metadata={"dagster/row_count": sum(findings.values()), "findings": findings,
                                          "weeks computed this run": computed})  # fmt: skip


FLAGS = "marts.evm_flags"
FLAGS_ORDER = ["status_date", "project_id", "finding"]
# the marts.evm_weekly columns the flags read
FLAGS_GRID = "project_id, status_date, bac, ev, ac, baseline_start, reconstructable"
# What every week's findings read of marts.evm_weekly: each project's first status date, where its earlier worklogs are
# placed, and its baseline start, which they are measured from.
FLAGS_STARTS = ("(SELECT project_id, min(status_date) AS first_week, min(baseline_start) AS baseline_start"
                " FROM marts.evm_weekly GROUP BY ALL)")  # fmt: skip


def write_evm_flags(conn, settings) -> int:
    """marts.evm_flags at the status dates of marts.evm_weekly, computed again only from the first week that changed
    on: the first whose figures differ from those it was computed from, or the week holding the earliest day staging
    recorded for a change of the worklogs or the tickets (a worklog's finding is on its week, or on its project's first
    status date when earlier; a ticket's scope change on the week of its export), and the last week (the items not
    budgeted are there). Written whole when what every week reads changed: the projects, people, rates, baselines
    (files, freezes and versions), a project's first status date or baseline start, the settings or the code. Returns
    the weeks computed; the caller holds the transaction."""
    weeks, digests = changes.week_digests(conn, f"SELECT {FLAGS_GRID} FROM marts.evm_weekly")
    text = repr((settings.evm.absurd_hours_per_day, settings.pipeline.week_ends_on,
                 changes.source_digest(__file__, evm_flags_module.__file__, bl.__file__, rates_module.__file__,
                                       duck.__file__)))  # fmt: skip
    elements = f"({_elements_sql('project_id', 'baseline_version', 'element_key')})"  # the columns read of a million
    inputs = changes.fingerprint(conn, text, "staging.projects", "staging.people", "staging.rates", elements,
                                 "marts.baseline_versions", FLAGS_STARTS)  # fmt: skip
    since = min((day for day in (_changed_from(conn, FLAGS, FLAGS_ORDER, inputs, weeks, digests),
                                 *(_stale_from(conn, {FLAGS: FLAGS_ORDER}, inputs, weeks, staging)
                                   for staging in ("staging.worklogs", "staging.work_items")))
                 if day is not None), default=None)  # fmt: skip
    if since is not None and weeks:
        since = min(since, weeks[-1])  # a run for an earlier week: its last week gains the items not budgeted
    computed = [w for w in weeks if since is not None and w >= since]
    write_person_days(conn)
    if since is not None:
        _compute_flags(conn, settings, None if since == dt.date.min else since)
    changes.mark(conn, FLAGS, inputs, weeks, digests)
    return len(computed)


def _compute_flags(conn, settings, since: dt.date | None) -> None:
    """Write marts.evm_flags from status date `since` on (None: every week)."""
    evm = conn.sql(f"SELECT {FLAGS_GRID} FROM marts.evm_weekly").pl()
    read = _read(conn, "projects", "people", "rates")
    versions = warehouse.read(conn, "marts.baseline_versions")
    from_tickets = read["projects"].join(versions.filter(pl.col("source") == "tickets"), on="project_id", how="semi")
    # The derived baselines read only their projects' tickets, and only the columns they read.
    items = conn.sql(
        "SELECT item_key, snapshot_date, project_id, summary, assignee, assignee_account_id, original_estimate_h, "
        "planned_start, due, is_milestone FROM staging.work_items "
        "WHERE list_contains($projects::VARCHAR[], project_id)",
        params={"projects": from_tickets.get_column("project_id").to_list()},
    ).pl()  # fmt: skip
    _, undated = bl.derive_from_tickets(items, read["people"], read["rates"], from_tickets,
                                        as_of=evm["status_date"].max())  # fmt: skip
    grid = bl.in_force(evm.select("project_id", "status_date"), versions)
    # Only the worklogs a flag can use, once (a few, of millions), and of the weeks computed only, unless a project's
    # first status date is one of them (its earlier worklogs are placed there); the elements and tickets read in the
    # warehouse.
    late = since is not None and conn.sql(f"SELECT EXISTS (FROM {FLAGS_STARTS} WHERE first_week >= ?)",
                                          params=[since]).fetchall()[0][0]  # fmt: skip
    candidates = flag_candidates_sql(COSTS, "marts.evm_weekly", "staging.projects", person_days=PERSON_DAYS,
                                     since=None if late else since)  # fmt: skip
    conn.sql(f"CREATE OR REPLACE TEMP TABLE _flag_candidates AS {candidates}",
             params={"absurd": settings.evm.absurd_hours_per_day})  # fmt: skip
    frame = evm_flags(
        evm=evm, projects=read["projects"], costed="SELECT * FROM temp.main._flag_candidates",
        elements=_elements_sql("project_id", "baseline_version", "element_key"), grid=grid,
        work_items="SELECT project_id, item_key, parent_key, epic_key, snapshot_date FROM staging.work_items",
        undated=undated, absurd_hours_per_day=settings.evm.absurd_hours_per_day,
        week_ends_on=settings.pipeline.week_ends_on, conn=conn, since=since,
    )  # fmt: skip
    conn.sql("DROP TABLE temp.main._flag_candidates")
    if since is not None:  # the items not budgeted of an earlier last week are no longer at the last week
        conn.sql(f"DELETE FROM {FLAGS} WHERE finding = 'items_not_budgeted' AND status_date < ?", params=[since])
    _write_weeks(conn, FLAGS, FLAGS_ORDER, frame, since or dt.date.min)


# Sums per day of the costed worklogs, kept from run to run beside the marks of what staging changed
# (audit.mart_marks): pipeline state, not marts (not published); in no key order, as new days are appended to them.
# The flags' hours per person and day on projects, and earned value's labour cost in AC per project and day.
PERSON_DAYS = "audit.person_day_hours"
LABOUR_DAYS = "audit.labour_day_costs"


def write_person_days(conn: duckdb.DuckDBPyConnection) -> list[dt.date] | None:
    """audit.person_day_hours (`person_day_hours_sql`), which the absurd-hours flag compares with its limit: see
    `_write_day_sums`."""
    return _write_day_sums(conn, PERSON_DAYS, lambda days: person_day_hours_sql(COSTS, days))


def write_labour_days(conn: duckdb.DuckDBPyConnection) -> list[dt.date] | None:
    """audit.labour_day_costs (`labour_days_sql`), all that earned value's actual cost reads of the costed worklogs:
    see `_write_day_sums`."""
    return _write_day_sums(conn, LABOUR_DAYS, lambda days: labour_days_sql(COSTS, days))


def _write_day_sums(conn: duckdb.DuckDBPyConnection, table: str,
                    sums: Callable[[list[dt.date] | None], str]) -> list[dt.date] | None:  # fmt: skip
    """`table`: `sums` of marts.worklog_costs per day (of the days given, or every day for None), kept from run to
    run instead of summed over every costed worklog (10M at portfolio scale). Only the days of the worklogs staging
    deleted, set again or appended since (pipelines/changes.py) are summed again, from the costs, which mirror staging
    row for row and are brought up to date first (the actual_cost step): a worklog set again keeps its date
    (pipelines/ingest.py `_append_worklogs`) and a deleted one's change holds the date it had. Summed whole when staging
    was written whole, or the costs were from other inputs (their mark's, or the query). When the costs are behind
    staging (a mart materialised alone, after an ingest), every day is summed from the costs as they are and the mark
    stays where it was, so the next run still sums again the days of the changes they catch up on. Returns the days
    summed again, None when every day was. The caller holds the transaction."""
    costs_from = conn.sql("SELECT inputs FROM audit.mart_marks WHERE mart = ?", params=[COSTS]).fetchall()
    inputs = changes.fingerprint(conn, repr((sums(None), costs_from)))
    current = changes.caught_up(conn, COSTS, "staging.worklogs")
    days = changes.pending_days(conn, table, "staging.worklogs", inputs) if current else None
    if days is None or not warehouse.table_exists(conn, *table.split(".")):
        days = None
        conn.sql(f"CREATE OR REPLACE TABLE {table} AS {sums(None)}")
    elif days:
        conn.sql(f"DELETE FROM {table} WHERE list_contains($days::DATE[], work_date)", params={"days": days})
        duck.insert(conn, table, sums(days))
    if current:
        changes.mark(conn, table, inputs)
    return days


@dg.asset(
    key=["marts", "evm_restatements"],
    deps=[["marts", "evm_weekly"]],
    kinds={"duckdb"},
    pool="warehouse",
    **WEEKLY_ASSET,
)
def evm_restatements(pmo: PmoHome) -> dg.MaterializeResult:
    """Figures of weeks already sent that have changed since: as sent, restated, and the difference."""
    with pmo.connect() as conn:
        frame = restatements(warehouse.read(conn, "history.evm_sent"), _evm(conn))
        warehouse.replace_table(conn, "marts.evm_restatements", frame, ["project_id", "status_date", "measure"])
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


def record_sent(conn, status_date: dt.date) -> int:
    """Freeze the figures of `status_date` as sent (once: a week already recorded keeps its first sending)."""
    conn.sql(
        "INSERT INTO history.evm_sent BY NAME SELECT project_id, status_date, now()::TIMESTAMP AS sent_at,"
        " baseline_version, bac, pv, ev, ac, eac, cpi, spi, spi_t, forecast_finish FROM marts.evm_weekly"
        " WHERE status_date = ? ON CONFLICT DO NOTHING",
        params=[status_date],
    )
    return conn.sql("SELECT count(*) FROM history.evm_sent WHERE status_date = ?", params=[status_date]).fetchall()[0][
        0
    ]


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "project_closure"], kinds={"duckdb"},
                        deps=[["marts", "evm_weekly"], ["marts", "eac_backtest"], staging_key("projects")],
                        description="One row per closed project: final CPI and SPI(t), variances at completion, "
                                    "from which % complete each EAC method was within 10 %, lessons learned."),
           dg.AssetSpec(["marts", "closure_drivers"], kinds={"duckdb"},
                        deps=[["marts", t] for t in ("project_closure", "worklog_costs", "actual_cost_weekly")],
                        description="Per closed project: budget vs actual by work type, team and cost category, "
                                    "ranked by the size of the variance.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def closure(pmo: PmoHome):
    """What the closed projects' numbers say at the end, and what drove their variance."""
    with pmo.connect() as conn:
        read = _read(conn, "projects", "people")
        frame = project_closure(_evm(conn), read["projects"], warehouse.read(conn, "marts.eac_backtest"))
        # Only what the drivers read: the closed projects' costed worklogs in AC and baseline elements, the tickets'
        # used columns.
        closed = list(frame.get_column("project_id").unique())
        costed = conn.sql(
            "SELECT project_id, person_id, item_key, work_date, cost, in_ac FROM marts.worklog_costs "
            "WHERE in_ac AND list_contains(CAST(? AS VARCHAR[]), project_id)",
            params=[closed],
        ).pl()
        items = conn.sql("SELECT item_key, snapshot_date, type, assignee_account_id FROM staging.work_items").pl()
        elements = _elements(conn, "project_id", "baseline_version", "element_key", "cost_category", "budget",
                             projects=closed)  # fmt: skip
        drivers = closure_drivers(frame, elements, costed, warehouse.read(conn, "marts.actual_cost_weekly"),
                                  items, read["people"])  # fmt: skip
        warehouse.replace_table(conn, "marts.project_closure", frame, ["project_id"])
        warehouse.replace_table(conn, "marts.closure_drivers", drivers, ["project_id", "dimension", "rank", "key"])
    yield dg.MaterializeResult(asset_key=["marts", "project_closure"], metadata={"dagster/row_count": frame.height})
    yield dg.MaterializeResult(asset_key=["marts", "closure_drivers"], metadata={"dagster/row_count": drivers.height})


def write_utilisation(conn, settings) -> tuple[dict[str, int], int]:
    """marts.resource_utilisation, marts.utilisation_by_project and marts.team_utilisation for the status dates of
    marts.evm_weekly, computed again only from the first week whose worklogs changed (or that is new) on, unless the
    people, holidays, service-desk tickets, settings or code changed. Returns each table's rows and the weeks
    computed; the caller holds the transaction."""
    tools = tuple(settings.resources.service_desk_tools)
    weeks = _evm_weeks(conn)
    text = repr((settings.resources, settings.timesheets.contracted_hours_week, settings.pipeline.week_ends_on,
                 changes.source_digest(*PEOPLE_WEEKS_CODE, resource_utilisation.__file__)))  # fmt: skip
    with _desk_items(conn, tools) as desk:
        inputs = changes.fingerprint(conn, text, "staging.people", "staging.holidays", desk)
    since = _stale_from(conn, UTILISATION, inputs, weeks)
    computed = [w for w in weeks if since is not None and w >= since]
    if since is not None:
        with _weekly_hours(conn, computed, tools) as weekly:
            read = _read(conn, "people", "holidays")
            cap = capacity.weekly_capacity(read["people"], read["holidays"], computed,
                                           week_ends_on=settings.pipeline.week_ends_on,
                                           default_hours_week=settings.timesheets.contracted_hours_week)  # fmt: skip
            people = utilisation_from_hours(cap, conn.sql(person_week_hours_sql(weekly)).pl(),
                                            max_projects=settings.resources.max_projects)  # fmt: skip
            (person, split, team), orders = UTILISATION, list(UTILISATION.values())
            _write_weeks(conn, person, orders[0], people, since)
            _write_weeks(conn, split, orders[1], utilisation_by_project_sql(weekly), since)
            _write_weeks(conn, team, orders[2], team_utilisation(people), since)
    changes.mark(conn, next(iter(UTILISATION)), inputs, weeks)
    return {name: conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in UTILISATION}, len(computed)


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "resource_utilisation"], kinds={"duckdb"},
                        deps=[["marts", "evm_weekly"], *[staging_key(t) for t in ("people", "worklogs", "holidays")]],
                        description="Per person and week: capacity, logged hours, utilisation, project vs "
                                    "operational work, over-allocated, spread thin (PMO eyes only)."),
           dg.AssetSpec(["marts", "utilisation_by_project"], kinds={"duckdb"}, deps=[["marts", "resource_utilisation"]],
                        description="Per person, week and project: the split of each person's hours (PMO only)."),
           dg.AssetSpec(["marts", "team_utilisation"], kinds={"duckdb"}, deps=[["marts", "resource_utilisation"]],
                        description="Per team and week: capacity, logged hours and utilisation as ratios of sums, "
                                    "people over-allocated or spread thin — the leadership view.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def utilisation(pmo: PmoHome):
    """People's time: capacity from the calendar and contracted hours (the same transform as timesheet
    completeness) against the hours logged."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_utilisation(conn, pmo.settings())
    for name, count in rows.items():
        metadata = {"dagster/row_count": count, "weeks computed this run": computed}
        yield dg.MaterializeResult(asset_key=name.split("."), metadata=metadata)


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "itam_cost"], kinds={"duckdb"},
                        deps=[["marts", "evm_weekly"], staging_key("assets"), staging_key("licences")],
                        description="Per week, project and cost centre: asset purchase and amortised cost, licence "
                                    "cost, seats owned, assigned and free."),
           dg.AssetSpec(["marts", "itam_due_dates"], kinds={"duckdb"}, deps=[["marts", "itam_cost"]],
                        description="Every licence expiry, warranty end and end of life, with its cost: what each "
                                    "week's pack counts its renewals from."),
           dg.AssetSpec(["marts", "itam_renewals"], kinds={"duckdb"}, deps=[["marts", "itam_due_dates"]],
                        description="Licence expiries, warranty ends and ends of life in the next 30/90/180 days, "
                                    "with their cost."),
           dg.AssetSpec(["marts", "itam_gaps"], kinds={"duckdb"}, deps=[["marts", "itam_cost"]],
                        description="Assets without an owner or a location.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def itam(pmo: PmoHome):
    """Assets and licences: what they cost by project and cost centre, and what expires soon."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_itam(conn, pmo.settings())
    for name, count in rows.items():
        metadata = {"dagster/row_count": count} | ({"weeks computed this run": computed} if name == ITAM_COST else {})
        yield dg.MaterializeResult(asset_key=name.split("."), metadata=metadata)


ITAM_COST = "marts.itam_cost"
ITAM_COST_ORDER = ["status_date", "group_level", "group_key"]
ITAM_DUE = "marts.itam_due_dates"
RENEWAL_ORDER = ["due_date", "kind", "key"]


def write_itam(conn, settings) -> tuple[dict[str, int], int]:
    """marts.itam_cost for the status dates of marts.evm_weekly, computed only for the weeks it does not hold yet
    (a week's rows come from the assets, the licences and its date alone), unless the assets, licences, settings
    or code changed; marts.itam_due_dates when those changed; marts.itam_renewals at the last of the weeks, and
    marts.itam_gaps. Returns each table's rows and the weeks of cost computed; the caller holds the transaction."""
    weeks, digests = changes.week_digests(conn, "SELECT DISTINCT status_date FROM marts.evm_weekly")
    text = repr((settings.evm.direct_costs, settings.evm.asset_life_months, settings.pipeline.week_ends_on,
                 changes.source_digest(itam_module.__file__)))  # fmt: skip
    inputs = changes.fingerprint(conn, text, "staging.assets", "staging.licences")
    since = _changed_from(conn, ITAM_COST, ITAM_COST_ORDER, inputs, weeks, digests)
    computed = [w for w in weeks if since is not None and w >= since]
    read = _read(conn, "assets", "licences")
    if since is not None:
        cost = itam_cost(read["assets"], read["licences"], computed, mode=settings.evm.direct_costs,
                         asset_life_months=settings.evm.asset_life_months,
                         week_ends_on=settings.pipeline.week_ends_on)  # fmt: skip
        _write_weeks(conn, ITAM_COST, ITAM_COST_ORDER, cost, since)
    changes.mark(conn, ITAM_COST, inputs, weeks, digests)
    if _changed_from(conn, ITAM_DUE, RENEWAL_ORDER, inputs, [], []) is None:  # same assets, licences and code
        due = warehouse.read(conn, ITAM_DUE)
    else:
        due = itam_due_dates(read["assets"], read["licences"])
        warehouse.replace_table(conn, ITAM_DUE, due, RENEWAL_ORDER)
        changes.mark(conn, ITAM_DUE, inputs, [], [])
    warehouse.replace_table(conn, "marts.itam_renewals", itam_renewals(due, weeks[-1]), RENEWAL_ORDER)
    warehouse.replace_table(conn, "marts.itam_gaps", itam_gaps(read["assets"]), ["asset_tag"])
    names = (ITAM_COST, ITAM_DUE, "marts.itam_renewals", "marts.itam_gaps")
    return {name: conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in names}, len(computed)


# The staging.work_items columns ticket_flow and ticket_flow_items read.
TICKET_COLUMNS = ("item_key", "snapshot_date", "source_kind", "project_id", "assignment_group", "priority",
                  "status_category", "created", "created_at", "resolved", "resolved_at", "reopen_count",
                  "sla_due_at", "sla_breached", "_source_file", "_line")  # fmt: skip


@dg.multi_asset(
    specs=[dg.AssetSpec(["marts", "ticket_flow"], kinds={"duckdb"},
                        deps=[["marts", "evm_weekly"], staging_key("work_items")],
                        description="Service desk flow per project or assignment group, priority and week: created, "
                                    "resolved, backlog and its age, time to resolve, reopened, SLA breaches."),
           dg.AssetSpec(["marts", "ticket_flow_items"], kinds={"duckdb"}, deps=[["marts", "ticket_flow"]],
                        description="The tickets behind each SLA breach and reopen, with their export row.")],
    pool="warehouse", **WEEKLY_ASSET,
)  # fmt: skip
def service_desk(pmo: PmoHome):
    """Is the service desk keeping up: ticket flow from the ticket exports' snapshots."""
    with pmo.connect() as conn, warehouse.transaction(conn):
        rows, computed = write_service_desk(conn, pmo.settings())
    for name, count in rows.items():
        metadata = {"dagster/row_count": count, "weeks computed this run": computed}
        yield dg.MaterializeResult(asset_key=name.split("."), metadata=metadata)


# The service desk marts, with rows per status date written from the first week that changed on, in status date order.
DESK = {"marts.ticket_flow": ["status_date", "group_level", "group_key", "priority"],
        "marts.ticket_flow_items": ["status_date", "item_key"]}  # fmt: skip


def write_service_desk(conn, settings) -> tuple[dict[str, int], int]:
    """marts.ticket_flow and marts.ticket_flow_items at the status dates of marts.evm_weekly, computed again only from
    the first week whose tickets changed (or that is new) on: the week holding the earliest day staging.work_items
    recorded for a change (pipelines/ingest.py `_work_items_lineage`; the last week when every change is later), or
    an earlier one where a cell of the flow now starts at another week (a ticket moved into a group brings its
    creation date). Written whole when the settings or the code changed. Returns each table's rows and the weeks
    computed."""
    options = {
        "sla_hours": dict(settings.service_desk.sla_hours) or None,
        "kinds": tuple(settings.service_desk.tools) or None,
        "week_ends_on": settings.pipeline.week_ends_on,
    }
    weeks = _evm_weeks(conn)
    text = repr((options, TICKET_COLUMNS, changes.source_digest(__file__, ticket_flow.__file__, calendar.__file__)))
    inputs = changes.fingerprint(conn, text)
    since = _stale_from(conn, DESK, inputs, weeks, "staging.work_items")
    if since is None and weeks:
        # tickets changed after the last week only: no week holds them, but a ticket moved into a new cell brings the
        # cell's rows from its creation on (the check below)
        pending = changes.pending(conn, next(iter(DESK)), "staging.work_items", inputs)
        since = weeks[-1] if conn.sql(f"SELECT EXISTS ({pending})").fetchall()[0][0] else None
    computed = [w for w in weeks if since is not None and w >= since]
    if since is not None:
        # only the tickets of the tools in the flow, and only the columns it reads
        where = "" if options["kinds"] is None else " WHERE list_contains($kinds::VARCHAR[], source_kind)"
        params = {} if options["kinds"] is None else {"kinds": list(options["kinds"])}
        source = f"(SELECT * FROM staging.work_items{where})"
        grid_weeks = ticket_flow.status_weeks(weeks, options["week_ends_on"])
        # every cell's first week, from every ticket (in SQL: a row per cell); a cell now starting at another week
        # than the stored mart's brings its rows from there on
        starts = ticket_flow.cell_starts(conn.sql(ticket_flow.CELLS_SQL.format(source=source), params=params).pl(),
                                         grid_weeks)  # fmt: skip
        if since != dt.date.min:
            since = min(since, _first_moved(conn, starts) or since)
            computed = [w for w in weeks if w >= since]
        partial = None if since == dt.date.min else since
        read = f"SELECT {', '.join(TICKET_COLUMNS)} FROM {source}"
        if partial is not None:  # only the tickets that can count from then on (every snapshot of each)
            read += f" WHERE item_key IN ({ticket_flow.COUNTING_SQL.format(source=source)})"
            params |= {"since": partial}
        prepared = ticket_flow.snapshots(conn.sql(read, params=params).pl(), weeks, **options)
        flow = ticket_flow.flow_of(*prepared, since=partial, starts=starts)
        behind = ticket_flow.items_of(*prepared, since=partial)
        del prepared
        for (name, order), frame in zip(DESK.items(), (flow, behind), strict=True):
            _write_weeks(conn, name, order, frame, since)
    changes.mark(conn, next(iter(DESK)), inputs, weeks)
    return {name: conn.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in DESK}, len(computed)


def _dated_rows_sql(table: str) -> str:
    """The query of what `source_freshness` reads of a staging table (freshness.DATED_COLUMNS): of a table whose every
    row counts, each file's newest date only (the newest of the newest is the newest), so that the 10M worklogs stay
    in DuckDB (0.06-0.17 s to hand them to polars at portfolio scale, 0.02-0.03 s to take each file's newest); of the
    others, every row, which decides whether it counts."""
    columns = DATED_COLUMNS[table]
    if DATED[table][1] is not None:
        return f"SELECT _source_file, {', '.join(columns)} FROM staging.{table}"
    (column,) = columns
    return f"SELECT _source_file, max({column}) AS {column} FROM staging.{table} GROUP BY _source_file"


def _first_moved(conn, starts: pl.DataFrame) -> dt.date | None:
    """The earliest first status date of a cell of marts.ticket_flow that `starts` (ticket_flow.cell_starts) and the
    stored mart do not share: a cell new, gone, or starting at another week."""
    key = [*ticket_flow.KEY, "status_date"]
    stored = conn.sql("SELECT group_level, group_key, priority, min(status_date) AS status_date "
                      "FROM marts.ticket_flow GROUP BY ALL").pl()  # fmt: skip
    moved = pl.concat([starts.join(stored, on=key, how="anti"), stored.join(starts, on=key, how="anti")])
    return moved.get_column("status_date").min()


@dg.asset(key=["marts", "source_freshness"], kinds={"duckdb", "polars"}, pool="warehouse", **WEEKLY_ASSET,
          deps=[["audit", "files"], *[staging_key(t) for t in DATED_COLUMNS]])  # fmt: skip
def source_freshness_mart(context: dg.AssetExecutionContext, pmo: PmoHome) -> dg.MaterializeResult:
    """How fresh each source is at the status date: one row per export kind with files, the newest day its data
    covers (from its rows, else the date in its file name), its age, the maximum age allowed ([freshness]) and
    whether it is stale. A stale source makes the week's figures provisional. A backfill has one set of rows
    per status date of its range."""
    settings = pmo.settings().freshness
    with pmo.connect() as conn:
        days = status_dates(context) or [pmo.status_date(conn)]
        files = conn.sql("SELECT file_id, path, source_kind, status FROM audit.files").pl()
        dated = {t: conn.sql(_dated_rows_sql(t)).pl() for t in DATED_COLUMNS}
        frame = pl.concat([source_freshness(files, dated, day, max_age_days=settings.max_age_days,
                                            per_source=dict(settings.per_source))
                           for day in days])  # one frame per week of the run, not per row  # fmt: skip
        warehouse.replace_table(conn, "marts.source_freshness", frame, ["status_date", "source_kind"])
    stale = frame.filter(pl.col("stale") & (pl.col("status_date") == days[-1])).get_column("source_kind").to_list()
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "stale": ", ".join(stale) or "none"})


ASSETS = [actual_cost, earned_value, portfolio_weekly_mart, risk_exposure_mart, milestones, timesheets,
          evm_forecast_mart, backtest, closure, evm_flags_mart, evm_restatements,
          utilisation, itam, service_desk, source_freshness_mart]  # fmt: skip
