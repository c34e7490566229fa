"""The home directory that holds everything a run reads and writes, its settings file and its run lock.

<home>/inbox/  warehouse.duckdb  dagster/  published/  reports/  outbox/  pmo.toml
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
# Added to dagster.yaml when a home is seeded: Dagster's SQLite event log, at Dagster's own place for it in this home,
# with each database's engine kept open (pipelines/eventlog.py). A path, so only a seeded home's file has it.
EVENT_LOG = """
# Added by pmo when it seeded this file: Dagster's SQLite event log where Dagster keeps it, with each database's
# connection kept open between events (pipelines/eventlog.py), about 6 ms less per event. Delete this block to use
# Dagster's own class on the same files.
event_log_storage:
  module: pipelines.eventlog
  class: KeptEngineSqliteEventLogStorage
  config:
{base_dir}
"""
Address = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineSettings(_Strict):
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    week_ends_on: Weekday = "sunday"
    # DuckDB's memory cap for the warehouse (beyond it, work spills to <home>/warehouse.duckdb.tmp) and its worker
    # threads; empty and 0 leave DuckDB's defaults (80 % of RAM, one thread per core). 1 GiB by default: DuckDB would
    # otherwise keep up to 80 % of RAM as cache (7.2 GB at portfolio scale: docs/performance.md) for no time gained.
    memory_limit: str = Field("1GiB", pattern=r"^$|^\d+(\.\d+)? ?([KMGT]i?B)$")
    threads: int = Field(0, ge=0, le=1024)


class ScheduleSettings(_Strict):
    weekday: Weekday = "monday"
    time: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"
    # The first weekly partition (a week end, YYYY-MM-DD); default: the first week end of 2020.
    first_status_date: str = ""

    @field_validator("first_status_date")
    @classmethod
    def _a_date(cls, value: str) -> str:
        if value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
        return value


class EmailSettings(_Strict):
    """Who gets the weekly e-mails. Sponsors are named as in the project register's `sponsor` column."""

    sender: Address = "pmo-kpi@example.org"
    leadership: list[Address] = []  # the portfolio summary, one message each
    sponsors: dict[str, list[Address]] = {}  # sponsor → addresses that get that sponsor's projects
    shared_folder: str = ""  # where each audience's pack zip is also written; relative to the home
    subject_prefix: str = Field("", max_length=40)  # e.g. "[PMO]"
    max_attachment_mb: float = Field(10, gt=0)  # a larger pack is not attached: the message says where it is
    attention_rows: int = Field(10, ge=1)  # leadership's e-mail lists this many projects needing attention, worst first
    operator: Address | None = None  # who is told when a scheduled run fails (pipelines/notices.py)


Technique = Literal["0/100", "50/50", "percent_complete", "weighted_milestones", "level_of_effort"]


class EvmSettings(_Strict):
    """How earned value is measured (../shared/EVM.md). Per project settings live in the project register."""

    composite_weight: float = Field(0.8, ge=0, le=1)  # w in AC + (BAC - EV) / (w·CPI + (1 - w)·SPI)
    count_unapproved_hours: bool = True  # where the timesheet tool records approval
    direct_costs: Literal["purchase", "amortised"] = "amortised"  # assets and licences charged to projects
    asset_life_months: int = Field(36, ge=1)  # straight-line life of an asset without an end-of-life date
    techniques: dict[str, Technique] = {}  # item type → technique, e.g. {Epic = "level_of_effort"}
    absurd_hours_per_day: float = Field(16, gt=0)  # a person's hours in one day above this are flagged
    forecast_min_weeks: int = Field(6, ge=2)  # weeks of history before the p10/p50/p90 bands are given


class RiskSettings(_Strict):
    """How risk registers are read and banded into the 5 × 5 heat map."""

    probability_scale: Literal["fraction", "percent", "1-5"] = "fraction"
    # Impact band edges: an impact at or above the n-th edge is in band n + 1 (1..5).
    cost_bands: list[float] = Field([5_000, 20_000, 50_000, 100_000], min_length=4, max_length=4)
    days_bands: list[float] = Field([2, 5, 10, 20], min_length=4, max_length=4)
    blocked_days: int = Field(10, ge=1)  # a blocked item older than this is an operational risk


class TimesheetSettings(_Strict):
    contracted_hours_week: float = Field(40, gt=0)  # for people whose contracted hours are not given
    complete_at: float = Field(0.95, gt=0, le=1)  # a person-week at or above this share of expected hours


class ResourceSettings(_Strict):
    """People's time (marts.resource_utilisation) and what counts as operational work."""

    max_projects: int = Field(3, ge=1)  # a person on more projects than this in a week is spread thin
    service_desk_tools: list[str] = ["servicenow", "glpi"]  # hours on their tickets are operational work


class ServiceDeskSettings(_Strict):
    """Service desk flow (marts.ticket_flow)."""

    # Resolution targets in hours by priority, for tools whose export carries no SLA of its own.
    sla_hours: dict[Literal["critical", "high", "medium", "low", "planning"], float] = {}
    tools: list[str] = []  # ticketing tools in the flow, e.g. ["servicenow", "glpi"]; [] = every ticket export


class FreshnessSettings(_Strict):
    """How old a source's data may be at the status date (marts.source_freshness); older is stale, and the pack
    and e-mails then call the week's figures provisional. Reference data (the register, mapping, baselines, rate
    card, people, aliases, holidays, sprints, risk register) has no maximum unless `per_source` gives it one."""

    max_age_days: int = Field(14, ge=0)  # days between a source's newest data and the status date
    per_source: dict[str, Annotated[int, Field(ge=0)]] = {}  # export kind → its own maximum, e.g. {tempo_worklogs = 7}

    @field_validator("per_source")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        from data_contracts.contract import all_contracts  # lazy: the settings load before anything else

        unknown = sorted(set(value) - set(all_contracts()))
        if unknown:
            raise ValueError(f"unknown export kind {unknown} (kinds: {', '.join(sorted(all_contracts()))})")
        return value


class ReportSettings(_Strict):
    """How the pack judges and groups (reports.pack.Look)."""

    green: float = Field(0.95, gt=0)  # CPI or SPI(t) at or above this is green
    amber: float = Field(0.85, gt=0)  # at or above this amber, below it red
    min_group_size: int = Field(3, ge=1)  # figures about fewer people than this are not shown outside the PMO
    period: Literal["month", "quarter"] = "month"  # the month-end view's periods
    fiscal_year_start: int = Field(1, ge=1, le=12)  # first month of the fiscal year, for quarters

    @model_validator(mode="after")
    def _amber_below_green(self):
        if self.amber > self.green:
            raise ValueError(f"amber ({self.amber}) must not be above green ({self.green})")
        return self


class PrivacySettings(_Strict):
    """Columns left out of the analysts' published snapshot (<home>/published: the DuckDB file and the Parquet),
    by published table. Setting it replaces the defaults: repeat them to keep them. The defaults leave out people
    next to their hours or rates: the person and rate of a cost exception (its worklog's hours), a ticket's assignee
    (beside its hours spent and estimates), and who holds an asset. Business roles stay: project sponsor and
    manager, risk owner, status report author."""

    exclude_columns: dict[str, list[str]] = {
        "marts.cost_exceptions": ["person_id", "person_name", "hourly_rate"],
        "staging.work_items": ["assignee", "assignee_account_id"],
        "staging.assets": ["owner_id"],
    }

    @field_validator("exclude_columns")
    @classmethod
    def _known_columns(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from pipelines.publish import known_columns  # lazy: the settings load before anything else

        known = known_columns()
        for table, columns in value.items():
            if table not in known:
                raise ValueError(f"{table!r} is not a published table (tables: {', '.join(known)})")
            unknown = [c for c in columns if c not in known[table]]
            if unknown:
                raise ValueError(f"{table} has no column {unknown} (columns: {', '.join(known[table])})")
        return value


class RetentionSettings(_Strict):
    """How long a run keeps what it has already loaded (pipelines/retention.py); unset keeps it for ever. Figures
    already built never change: only rows no staging table uses any more, and files whose rows are in the
    warehouse, are removed, each with a row in audit.retention."""

    # Raw rows of an export that newer exports have replaced entirely (none of its rows loaded) are deleted this many
    # days after the export was loaded; its accounting, rejects and skipped rows stay.
    raw_days: int | None = Field(None, ge=0)
    # Files in the run's inbox are deleted this many days after they were loaded (their rows stay in raw.*).
    inbox_days: int | None = Field(None, ge=0)


class Settings(_Strict):
    """The schema of <home>/pmo.toml. Secrets never live here: SMTP credentials come from the environment."""

    pipeline: PipelineSettings = PipelineSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    email: EmailSettings = EmailSettings()
    evm: EvmSettings = EvmSettings()
    risk: RiskSettings = RiskSettings()
    timesheets: TimesheetSettings = TimesheetSettings()
    resources: ResourceSettings = ResourceSettings()
    service_desk: ServiceDeskSettings = ServiceDeskSettings()
    freshness: FreshnessSettings = FreshnessSettings()
    report: ReportSettings = ReportSettings()
    privacy: PrivacySettings = PrivacySettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _first_status_date_is_a_week_end(self):
        first, ends_on = self.schedule.first_status_date, self.pipeline.week_ends_on
        if first and get_args(Weekday)[dt.date.fromisoformat(first).weekday()] != ends_on:
            raise ValueError(f"schedule.first_status_date {first} is not a week end: weeks end on {ends_on}")
        return self


class SettingsError(ValueError):
    """pmo.toml is unreadable or breaks its schema; the message names the file, key and problem."""


def load_settings(path: Path) -> Settings:
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise SettingsError(f"{path}: {problems}") from None


class HomeLocked(RuntimeError):
    """Another run holds this home."""


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def settings_file(self) -> Path:
        return self.root / "pmo.toml"

    def settings(self) -> Settings:
        return load_settings(self.settings_file)

    def prepare(self) -> None:
        """Create the folders and seed DAGSTER_HOME: the repository's dagster.yaml and `EVENT_LOG`."""
        for folder in (self.inbox, self.dagster_home, self.published, self.reports, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.dagster_home / "dagster.yaml"
        base_dir = f"    base_dir: {json.dumps(str(self.dagster_home / 'history' / 'runs'))}"
        if not instance_yaml.exists():
            text = (REPO_ROOT / "dagster.yaml").read_text() + EVENT_LOG.format(base_dir=base_dir)
        else:  # a home copied or moved keeps its events in its own folder, not in the one it was seeded in
            text = instance_yaml.read_text()
            seeded = text.find(EVENT_LOG.split("{", 1)[0])
            if seeded < 0:
                return
            block = re.sub(r"(?m)^    base_dir: .*$", lambda _: base_dir, text[seeded:], count=1)
            if block == text[seeded:]:
                return
            text = text[:seeded] + block
        tmp = instance_yaml.with_name(".dagster.yaml.tmp")
        tmp.write_text(text)
        tmp.replace(instance_yaml)


class RunLock:
    """An exclusive lock on <home>/.run.lock, held for a whole run: one run per home at a time."""

    def __init__(self, home: Path):
        self.path = home / ".run.lock"
        self._fd: int | None = None

    def acquire(self, wait: float | None = None, on_wait: Callable[[], None] | None = None) -> None:
        """Take the lock, or raise HomeLocked. wait: seconds to wait for the holder to let go (None: do not wait;
        math.inf: as long as it takes); on_wait is called once, when the lock is found held and waiting starts."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if wait is None else time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    os.close(fd)
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise HomeLocked(f"another run holds {self.path.parent} (lock file {self.path}){waited}") from None
                if on_wait is not None and not told:
                    on_wait()
                told = True
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
