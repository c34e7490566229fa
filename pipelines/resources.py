"""Dagster resources: the home (warehouse, folders, settings, run lock) and the mailer."""

import datetime as dt
import os
import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from pipelines import warehouse
from pipelines.home import Home, RunLock, Settings
from transforms.calendar import is_week_end, last_complete_week_end


class PmoHome(dg.ConfigurableResource):
    """Everything a run reads and writes lives under `home`; one run holds it at a time."""

    home: str = "var"
    inbox: str = ""  # default: <home>/inbox
    as_of: str = ""  # status date to report; default: the last complete week end in the data

    _lock: RunLock | None = PrivateAttr(default=None)

    @property
    def paths(self) -> Home:
        return Home(Path(self.home).resolve())

    @property
    def inbox_dir(self) -> Path:
        return Path(self.inbox).resolve() if self.inbox else self.paths.inbox

    def settings(self) -> Settings:
        return self.paths.settings()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.paths.prepare()
        lock = RunLock(self.paths.root)
        lock.acquire()
        self._lock = lock

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()

    @contextmanager
    def connect(self, read_only: bool = False):
        conn = warehouse.connect(self.paths.warehouse, read_only=read_only)
        try:
            yield conn
        finally:
            conn.close()

    def status_date(self, conn: duckdb.DuckDBPyConnection) -> dt.date:
        """The configured as-of date (which must be a week end), else the last complete week in the data."""
        week_ends_on = self.settings().pipeline.week_ends_on
        if self.as_of:
            day = dt.date.fromisoformat(self.as_of)
            if not is_week_end(day, week_ends_on):
                raise ValueError(f"as-of date {day} is not a status date: weeks end on {week_ends_on}")
            return day
        latest = conn.sql(
            "SELECT greatest((SELECT max(work_date) FROM staging.worklogs),"
            " (SELECT max(snapshot_date) FROM staging.work_items))"
        ).fetchall()[0][0]
        if latest is None:
            raise ValueError("no dated data (worklogs or work items) to choose an as-of date from; pass --as-of")
        return last_complete_week_end(latest, week_ends_on)


class Mailer(dg.ConfigurableResource):
    """Sends through SMTP when PMO_SMTP_HOST is set, else writes .eml files to the outbox.

    Connection details and credentials are read from the environment at send time, never stored:
    PMO_SMTP_HOST, PMO_SMTP_PORT (587), PMO_SMTP_SECURITY (starttls | ssl | none), PMO_SMTP_USER,
    PMO_SMTP_PASSWORD.
    """

    def deliver(self, message: EmailMessage, outbox: Path, name: str) -> str:
        host = os.environ.get("PMO_SMTP_HOST", "")
        if not host:
            outbox.mkdir(parents=True, exist_ok=True)
            target = outbox / f"{name}.eml"
            tmp = target.with_suffix(".eml.tmp")
            tmp.write_bytes(message.as_bytes())
            tmp.replace(target)
            return f"written to {target}"
        port = int(os.environ.get("PMO_SMTP_PORT", "587"))
        security = os.environ.get("PMO_SMTP_SECURITY", "starttls").lower()
        user, password = os.environ.get("PMO_SMTP_USER", ""), os.environ.get("PMO_SMTP_PASSWORD", "")
        context = ssl.create_default_context()
        smtp_cls = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
        kwargs = {"context": context} if security == "ssl" else {}
        with smtp_cls(host, port, timeout=30, **kwargs) as smtp:
            if security == "starttls":
                smtp.starttls(context=context)
            if user:
                smtp.login(user, password)
            smtp.send_message(message)
        return f"sent through {host}:{port} to {len(message.get_all('To', []))} recipient header(s)"
