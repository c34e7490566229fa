"""The home directory that holds everything a run reads and writes, its settings file and its run lock.

<home>/inbox/  warehouse.duckdb  dagster/  published/  reports/  outbox/  pmo.toml
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_ROOT = Path(__file__).resolve().parent.parent
Address = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineSettings(_Strict):
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    week_ends_on: Weekday = "sunday"


class ScheduleSettings(_Strict):
    weekday: Weekday = "monday"
    time: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"


class EmailSettings(_Strict):
    sender: Address = "pmo-kpi@example.org"
    leadership: list[Address] = []


class Settings(_Strict):
    """The schema of <home>/pmo.toml. Secrets never live here: SMTP credentials come from the environment."""

    pipeline: PipelineSettings = PipelineSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    email: EmailSettings = EmailSettings()


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
        """Create the folders and seed DAGSTER_HOME with the repository's dagster.yaml."""
        for folder in (self.inbox, self.dagster_home, self.published, self.reports, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)
        instance_yaml = self.dagster_home / "dagster.yaml"
        if not instance_yaml.exists():
            shutil.copyfile(REPO_ROOT / "dagster.yaml", instance_yaml)


class RunLock:
    """An exclusive lock on <home>/.run.lock, held for a whole run: one run per home at a time."""

    def __init__(self, home: Path):
        self.path = home / ".run.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HomeLocked(f"another run holds {self.path.parent} (lock file {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
