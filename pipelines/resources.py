"""Dagster resources: the home (warehouse, folders, settings, run lock) and the mailer."""

import base64
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
from transforms import duck
from transforms.calendar import is_week_end, last_complete_week_end


class PmoHome(dg.ConfigurableResource):
    """Everything a run reads and writes lives under `home`; one run holds it at a time."""

    home: str = "var"
    inbox: str = ""  # default: <home>/inbox
    as_of: str = ""  # status date to report; default: the last complete week end in the data
    wait_seconds: float = 0.0  # wait this long for another run to release the home (`--wait`); 0: fail at once

    _lock: RunLock | None = PrivateAttr(default=None)
    _warehouse: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)  # held from the run's first connect

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
        lock.acquire(self.wait_seconds or None)
        self._lock = lock

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            if self._warehouse is not None:
                self._warehouse.close()  # checkpoints what the run's steps wrote since the last checkpoint
                self._warehouse = None
        finally:
            if self._lock is not None:
                self._lock.release()

    @contextmanager
    def connect(self):
        """A connection to the warehouse. In a run (which holds the home), each step gets a cursor of one database
        the run opens at its first step and closes at its end, instead of opening and closing the database itself
        (reading its catalog, and a checkpoint of its few writes, at each of some 24 steps: about 0.8 of a weekly
        run's 11 s before the pack at portfolio scale). What DuckDB cached for the step is handed back when it ends,
        so the run's peak memory stays a step's (40-60 MB more, for the database held between steps). Outside a run
        (a test, a script), a database of its own."""
        pipeline = self.settings().pipeline
        if self._lock is None:
            with warehouse.connect(self.paths.warehouse, False, pipeline.memory_limit, pipeline.threads) as conn:
                yield conn
            return
        if self._warehouse is None:
            self._warehouse = warehouse.connect(self.paths.warehouse, False, pipeline.memory_limit, pipeline.threads)
        conn = self._warehouse.cursor()
        try:
            yield conn
        finally:
            conn.close()  # rolls back what the step left uncommitted
            duck.release_cache(self._warehouse, pipeline.memory_limit)

    def status_date(self, conn: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dt.date:
        """The run's status date: `as_of` (the run's partition key, from the asset's context: a resource cannot see
        the partition), else the configured as-of date (which must be a week end), else the last complete week in
        the data."""
        week_ends_on = self.settings().pipeline.week_ends_on
        if as_of is not None or self.as_of:
            day = as_of if as_of is not None else dt.date.fromisoformat(self.as_of)
            if not is_week_end(day, week_ends_on):
                raise ValueError(f"as-of date {day} is not a status date: weeks end on {week_ends_on}")
            return day
        return data_status_date(conn, week_ends_on)


def data_status_date(conn: duckdb.DuckDBPyConnection, week_ends_on: str) -> dt.date:
    """The last complete week in the data: the status date of a run that is given none."""
    latest = conn.sql(
        "SELECT greatest((SELECT max(work_date) FROM staging.worklogs),"
        " (SELECT max(snapshot_date) FROM staging.work_items))"
    ).fetchall()[0][0]
    if latest is None:
        raise ValueError("no dated data (worklogs or work items) to choose an as-of date from; pass --as-of")
    return last_complete_week_end(latest, week_ends_on)


class DeliveryError(RuntimeError):
    """A message did not go out. `maybe_sent` when the server may have taken it before the connection failed
    (during DATA): such a message is not tried again on its own."""

    def __init__(self, message: str, maybe_sent: bool):
        super().__init__(message)
        self.maybe_sent = maybe_sent


class Mailer(dg.ConfigurableResource):
    """Sends through SMTP when PMO_SMTP_HOST is set, else writes .eml files to the outbox (the dry run).

    Connection details and credentials are read from the environment at send time, never stored or logged:
    PMO_SMTP_HOST, PMO_SMTP_PORT (587; 465 for ssl), PMO_SMTP_SECURITY (starttls | ssl | none), PMO_SMTP_USER,
    PMO_SMTP_PASSWORD, PMO_SMTP_CAFILE (a CA bundle to trust besides the system's, e.g. an internal CA).
    """

    @property
    def transport(self) -> str:
        return "smtp" if os.environ.get("PMO_SMTP_HOST", "") else "outbox"

    def deliver(self, message: EmailMessage, outbox: Path, name: str) -> str:
        host = os.environ.get("PMO_SMTP_HOST", "")
        if not host:
            outbox.mkdir(parents=True, exist_ok=True)
            target = outbox / f"{name}.eml"
            tmp = target.with_suffix(".eml.tmp")
            tmp.write_bytes(message.as_bytes())
            tmp.replace(target)
            return f"written to {target}"
        security = os.environ.get("PMO_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in ("starttls", "ssl", "none"):
            raise DeliveryError(f"PMO_SMTP_SECURITY is {security!r}: use starttls, ssl or none", maybe_sent=False)
        port_text = os.environ.get("PMO_SMTP_PORT", "").strip() or ("465" if security == "ssl" else "587")
        if not port_text.isdigit():
            raise DeliveryError(f"PMO_SMTP_PORT is {port_text!r}: not a port number", maybe_sent=False)
        port = int(port_text)
        user, password = os.environ.get("PMO_SMTP_USER", ""), os.environ.get("PMO_SMTP_PASSWORD", "")
        where = f"{host}:{port}"
        try:
            context = ssl.create_default_context(cafile=os.environ.get("PMO_SMTP_CAFILE") or None)
            smtp = (
                smtplib.SMTP_SSL(host, port, timeout=30, context=context)
                if security == "ssl"
                else smtplib.SMTP(host, port, timeout=30)
            )
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot connect to {where}: {_reason(exc)}", maybe_sent=False) from None
        try:
            try:
                if security == "starttls":
                    smtp.starttls(context=context)
                if user:
                    _login(smtp, user, password)
            except smtplib.SMTPAuthenticationError:
                raise DeliveryError(f"{where} refused the login of PMO_SMTP_USER {user!r}", maybe_sent=False) from None
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(f"{where}: {_reason(exc)}", maybe_sent=False) from None
            try:
                refused = smtp.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                raise DeliveryError(f"{where} refused the message: {_reason(exc)}", maybe_sent=False) from None
            except (OSError, smtplib.SMTPException) as exc:
                # The connection broke while the message was being handed over: the server may have kept it.
                raise DeliveryError(f"{where}: {_reason(exc)} while sending", maybe_sent=True) from None
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()  # the message is delivered or not by now; a failed goodbye changes nothing
        if refused:
            raise DeliveryError(f"{where} refused {', '.join(sorted(refused))}", maybe_sent=False)
        return f"sent through {where}"


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, which sends only ASCII (a UnicodeEncodeError holding the password otherwise); a user or
    password with other characters goes as UTF-8 in AUTH PLAIN (RFC 4616), which every server offering PLAIN takes."""
    if user.isascii() and password.isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPException("the server offers no AUTH PLAIN; PMO_SMTP_USER or PMO_SMTP_PASSWORD is not ASCII")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _reason(exc: BaseException) -> str:
    """An SMTP or socket error in one line, without the server's multi-line banner."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    return " ".join(str(exc).split()) or type(exc).__name__
