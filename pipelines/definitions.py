"""The one Definitions object: assets from raw exports to the report pack, resources, job and schedule.

Load it with `dagster dev` from the repository root (pyproject's [tool.dagster]) or `make dev`.
The documented exception to "nothing runs at import time": the home's settings file is read once here,
because the schedule's weekday, time and time zone are arguments of the definitions themselves.
"""

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from pipelines import assets, checks, delivery, marts, notices, pack, partitions, sensors
from pipelines.home import Home
from pipelines.progress import progress_logger
from pipelines.resources import Mailer, PmoHome
from transforms.calendar import isodow, week_end

HOME = os.environ.get("PMO_HOME", "var")
SETTINGS = Home(Path(HOME)).settings()

weekly_pack = dg.define_asset_job(
    "weekly_pack",
    selection=dg.AssetSelection.all(),
    description="Ingest the inbox, build the marts, publish the analysts' snapshot, render the pack, e-mail it.",
)


def _cron(weekday: str, time: str) -> str:
    hour, minute = time.split(":")
    return f"{int(minute)} {int(hour)} * * {isodow(weekday) % 7}"


@dg.schedule(
    job=weekly_pack,
    cron_schedule=_cron(SETTINGS.schedule.weekday, SETTINGS.schedule.time),
    execution_timezone=SETTINGS.schedule.timezone,
    name="weekly_pack_schedule",
)
def weekly_pack_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Every week: the pack for the week that has just ended, i.e. that week's partition (keyed by its status
    date, pipelines/partitions.py)."""
    tick = context.scheduled_execution_time.date()
    week_ends_on = SETTINGS.pipeline.week_ends_on
    status_date = week_end(tick, week_ends_on)
    if status_date >= tick:
        status_date -= dt.timedelta(days=7)
    if status_date < partitions.first_status_date(SETTINGS):
        return dg.SkipReason(f"{status_date} is before [schedule] first_status_date")
    return dg.RunRequest(
        run_key=status_date.isoformat(),
        partition_key=status_date.isoformat(),
        run_config={"ops": {delivery.EMAIL_OP: {"config": {"send": True}}}},  # only the schedule and `pmo run` send
        tags={"status_date": status_date.isoformat()},
    )


defs = dg.Definitions(
    assets=[
        assets.exports,
        assets.contract_validations,
        *marts.ASSETS,
        assets.published_snapshot,
        pack.report_pack,
        delivery.weekly_email,
    ],
    asset_checks=[checks.source_freshness_checks],
    jobs=[weekly_pack, sensors.ingest_inbox, sensors.weekly_build],
    schedules=[weekly_pack_schedule],
    sensors=[
        notices.failure_notice,
        sensors.inbox_sensor(Path(HOME).resolve() / "inbox"),
        sensors.after_ingestion(Path(HOME).resolve()),
    ],
    resources={"pmo": PmoHome(home=HOME), "mailer": Mailer()},
    loggers={"console": dg.colored_console_logger, "progress": progress_logger},
)
