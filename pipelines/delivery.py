"""E-mail delivery of the weekly pack: leadership's portfolio summary and each sponsor's projects, one message
per recipient, at most once per (status date, audience, recipient), recorded in history.deliveries."""

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dagster as dg
import duckdb
import polars as pl

from pipelines.home import EmailSettings
from pipelines.marts import record_sent
from pipelines.pack import pack_data, runtime_cache
from pipelines.partitions import WEEKLY_ASSET, status_dates
from pipelines.resources import DeliveryError, Mailer, PmoHome

NOT_SENT = "not sent: only the weekly schedule and `pmo run` send e-mail"
NOT_SENT_BACKFILL = "not sent: a run over several weeks (a backfill) never sends"
IN_DOUBT = "may have been sent: not resent; `pmo send` resends"
EMAIL_OP = "reports__email"  # the asset's op name, for run_config


class EmailConfig(dg.Config):
    """Whether this run delivers. Only the weekly schedule and `pmo run` set `send`; `pmo send` sets `resend`."""

    send: bool = False
    resend: bool = False  # deliver again on purpose, as a further attempt
    audience: Literal["leadership", "sponsors", "all"] = "all"
    to: str = ""  # only this recipient


@dataclass(frozen=True)
class Recipient:
    audience: str  # leadership | sponsors
    address: str
    sponsors: tuple[str, ...] = ()  # for a sponsor message: whose projects it carries


@dataclass
class Outcome:
    """What a run did with each planned message, for the log, the asset's metadata and the CLI."""

    delivered: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.delivered)} delivered", f"{len(self.already)} already delivered before"]
        if self.in_doubt:
            parts.append(f"{len(self.in_doubt)} {IN_DOUBT}")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return "; ".join(parts)


def plan(
    settings: EmailSettings, register: pl.DataFrame, with_figures: list[str], audience: str, to: str
) -> tuple[list[Recipient], dict[str, list[str]], list[str]]:
    """The messages to deliver: one per leadership address and one per sponsor-list address (covering every
    sponsor that lists it). Also each recipient's projects and the sponsors named in the settings with no
    project reported this week. Sponsor names match the register's `sponsor` column, ignoring case and spaces."""
    lists = pl.DataFrame(
        [(sponsor, address) for sponsor, addresses in settings.sponsors.items() for address in addresses],
        schema={"sponsor": pl.String, "address": pl.String},
        orient="row",
    ).with_columns(key=pl.col("sponsor").str.strip_chars().str.to_lowercase())
    projects = register.filter(pl.col("project_id").is_in(with_figures)).select(
        "project_id", key=pl.col("sponsor").str.strip_chars().str.to_lowercase()
    )
    matched = lists.join(projects, on="key", how="inner")
    per_address = matched.group_by("address").agg(
        pl.col("sponsor").unique().sort(), pl.col("project_id").unique().sort()
    )
    idle = sorted(set(lists.get_column("sponsor")) - set(matched.get_column("sponsor")))
    recipients = []
    if audience in ("leadership", "all"):
        recipients += [Recipient("leadership", a) for a in dict.fromkeys(settings.leadership)]
    if audience in ("sponsors", "all"):
        rows = per_address.sort("address").iter_rows(named=True)  # one row per configured address, not data
        recipients += [Recipient("sponsors", r["address"], tuple(r["sponsor"])) for r in rows]
    if to:
        recipients = [r for r in recipients if r.address.lower() == to.strip().lower()]
    projects_of = {r["address"]: r["project_id"] for r in per_address.iter_rows(named=True)}
    return recipients, projects_of, idle


def history(conn: duckdb.DuckDBPyConnection, status_date: dt.date, recipient: Recipient) -> list[tuple]:
    """(attempt, state, transport) of every earlier delivery of this message."""
    return conn.sql(
        "SELECT attempt, state, transport FROM history.deliveries WHERE status_date = ? AND audience = ?"
        " AND recipient = ? ORDER BY attempt",
        params=[status_date, recipient.audience, recipient.address],
    ).fetchall()


def record(conn: duckdb.DuckDBPyConnection, key: list, state: str, detail: str, **fields) -> None:
    """Insert the 'sending' row (with fields) or move an attempt to 'sent' or 'failed'. Each statement commits."""
    if state == "sending":
        conn.sql(
            "INSERT INTO history.deliveries (status_date, audience, recipient, attempt, state, transport, message_id,"
            " subject, detail, started_at) VALUES (?, ?, ?, ?, 'sending', ?, ?, ?, ?, now()::TIMESTAMP)",
            params=[*key, fields["transport"], fields["message_id"], fields["subject"], detail],
        )
        return
    conn.sql(
        "UPDATE history.deliveries SET state = ?, detail = ?, finished_at = now()::TIMESTAMP"
        " WHERE status_date = ? AND audience = ? AND recipient = ? AND attempt = ?",
        params=[state, detail, *key],
    )


class Messages:
    """Builds each message on demand; charts and attachments are made once per project set. `prefetch` starts
    drawing the charts in worker processes (reports.charts.PngRenderer) while this one renders and zips the packs.
    The sponsors' packs take their project pages from the week's written pack (`pack`) when it is of the same
    inputs, else share one rendering of them; and one split of the data by recipient."""

    def __init__(self, data, settings: EmailSettings, figures: pl.DataFrame, projects_of, stale: bool, pack: Path,
                 runtime_cache: Path | None = None):  # fmt: skip
        from reports.charts import PngRenderer

        self.data, self.settings, self.figures, self.projects_of = data, settings, figures, projects_of
        self.pack_folder = pack
        self.runtime_cache = runtime_cache  # the pack's Vega script, kept between runs (pipelines/pack.py)
        self.stale = stale
        self.attachments: dict[str, object] = {}
        self._images: dict[tuple | str, list[tuple[Callable[[], bytes], str]]] = {}
        self._renderer = PngRenderer()
        self._project_pages = None
        self._of: dict[str, object] | None = None
        self._summary = None  # leadership's, when the pack is too large to attach

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._renderer.close()

    def prefetch(self, recipients: list[Recipient]) -> None:
        """Start drawing each message's charts, in sending order, while this thread renders and zips the packs. A
        message whose charts cannot be made is left for `build` to fail on alone: it never stops the others."""
        for recipient in recipients:
            with contextlib.suppress(Exception):
                self._charts(recipient)

    def data_of(self, recipient: Recipient):
        """The data as this sponsor's pack and charts see it: only their projects' rows (split once for all)."""
        from reports.email import by_recipient

        if self._of is None:
            self._of = by_recipient(self.data, self.projects_of)
        return self._of[recipient.address]

    def _pages(self):
        """The project pages of every sponsor's projects, shaped and split once for all their packs (on the first
        page the written pack does not have)."""
        from reports.pack import ProjectPages, pack_frames

        if self._project_pages is None:
            mine = {p for ids in self.projects_of.values() for p in ids}
            self._project_pages = ProjectPages(self.data, *pack_frames(self.data, mine))
        return self._project_pages

    def _name(self, recipient: Recipient) -> str:
        from reports.email import slug

        day = self.data.status_date.isoformat()
        leadership = recipient.audience == "leadership"
        return f"pmo-kpi-{day}-{'portfolio' if leadership else slug('+'.join(recipient.sponsors))}.zip"

    def _charts(self, recipient: Recipient) -> list[tuple[Callable[[], bytes], str]]:
        from reports.email import leadership_charts, sponsor_charts

        key = "leadership" if recipient.audience == "leadership" else tuple(self.projects_of[recipient.address])
        if key not in self._images:
            if key == "leadership":
                drawn = leadership_charts(self.data, self.figures)
            else:
                drawn = sponsor_charts(self.data_of(recipient), self.figures.filter(pl.col("project_id").is_in(key)))
            self._images[key] = [(self._renderer.submit(chart), alt) for chart, alt in drawn]
        return self._images[key]

    def attachment(self, recipient: Recipient):
        """The pack for this recipient, zipped once per run: leadership's is the weekly pack as written (without
        pmo/), a sponsor's is rendered for their projects (their project pages taken from the weekly pack as
        written). Past [email] max_attachment_mb it is not attached and the message says where the pack is;
        leadership then gets a summary of it if that fits: every portfolio page, and the pages of the projects
        their e-mail lists (a thousand project pages make a pack of some 20 MB)."""
        from reports.charts import runtime
        from reports.email import Attachment, folder_zip, pack_zip, watch_list

        name = self._name(recipient)
        limit = self.settings.max_attachment_mb
        if name not in self.attachments:
            if recipient.audience == "leadership":
                content = folder_zip(self.pack_folder)
            else:
                content = pack_zip(self.data_of(recipient), set(self.projects_of[recipient.address]), self._pages,
                                   runtime(self.runtime_cache), written=self.pack_folder)  # fmt: skip
            where = (f"it is in the shared folder {self.settings.shared_folder}" if self.settings.shared_folder
                     else "ask the PMO for it")  # fmt: skip
            self.attachments[name] = Attachment(name, content, limit, where)
        pack = self.attachments[name]
        if recipient.audience != "leadership" or pack.attached:
            return pack
        if self._summary is None:
            listed = set(watch_list(self.figures, self.settings.attention_rows).get_column("project_id"))
            content = pack_zip(self.data, runtime=runtime(self.runtime_cache), written=self.pack_folder,
                               pages_of=listed)  # fmt: skip
            self._summary = Attachment(name.removesuffix(".zip") + "-summary.zip", content, limit, full=pack)
        return self._summary if self._summary.attached else pack

    def build(self, recipient: Recipient):
        from reports.email import Image, leadership_email, sponsor_email

        common = {"sender": self.settings.sender, "recipient": recipient.address, "provisional": self.stale,
                  "subject_prefix": self.settings.subject_prefix, "attachment": self.attachment(recipient)}  # fmt: skip
        images = [Image(png(), alt) for png, alt in self._charts(recipient)]
        if recipient.audience == "leadership":
            return leadership_email(self.data, self.figures, images=images, listed=self.settings.attention_rows,
                                    **common)  # fmt: skip
        mine = self.figures.filter(pl.col("project_id").is_in(tuple(self.projects_of[recipient.address])))
        return sponsor_email(self.data, mine, images=images, **common)


def deliver_all(context, conn, pmo: PmoHome, mailer: Mailer, messages: Messages, recipients, resend: bool) -> Outcome:
    """Each message at most once: skip what was delivered, report (never resend) what may have been, and write
    'sending' before the hand-over and 'sent' after. `resend` delivers again as a further attempt."""
    from reports.email import slug

    outcome, transport = Outcome(), mailer.transport
    day = messages.data.status_date
    due = []
    for recipient in recipients:  # one per configured recipient, not per data row
        label = f"{recipient.audience} {recipient.address}"
        earlier = history(conn, day, recipient)
        same = [state for _, state, via in earlier if via == transport]
        if not resend and "sent" in same:
            outcome.already.append(label)
            continue
        if not resend and "sending" in same:
            context.log.warning(f"e-mail to {label} for {day} {IN_DOUBT}")
            outcome.in_doubt.append(label)
            continue
        due.append((recipient, label, max((a for a, _, _ in earlier), default=0) + 1))
    messages.prefetch([recipient for recipient, _, _ in due])
    for recipient, label, attempt in due:
        try:
            message = messages.build(recipient)
        except Exception as exc:  # this message only; not attempted, so the next run builds it again
            context.log.error(f"e-mail to {label} not built: {type(exc).__name__}: {exc}")
            outcome.failed.append(f"{label}: not built ({type(exc).__name__}: {exc})")
            continue
        key = [day, recipient.audience, recipient.address, attempt]
        record(conn, key, "sending", "", transport=transport, message_id=str(message["Message-ID"]),
               subject=str(message["Subject"]))  # fmt: skip
        name = f"{day.isoformat()}-{recipient.audience}-{slug(recipient.address)}"
        try:
            detail = mailer.deliver(message, pmo.paths.outbox, name if attempt == 1 else f"{name}-attempt-{attempt}")
        except DeliveryError as exc:
            if exc.maybe_sent:  # left as 'sending': the next run reports it instead of sending it twice
                context.log.warning(f"e-mail to {label}: {exc}; it {IN_DOUBT}")
                outcome.in_doubt.append(label)
            else:
                record(conn, key, "failed", str(exc))
                context.log.error(f"e-mail to {label} not delivered: {exc}")
                outcome.failed.append(f"{label}: {exc}")
            continue
        record(conn, key, "sent", detail)
        outcome.delivered.append(label if attempt == 1 else f"{label} (attempt {attempt})")
    return outcome


def freeze(conn: duckdb.DuckDBPyConnection, status_date: dt.date) -> int | None:
    """Freeze the week's figures as sent once its leadership e-mail has gone out, the first time only: a week
    already frozen keeps its figures (later changes are restatements). Also catches up a run that stopped between
    the leadership e-mail and the freeze."""
    query = "SELECT count(*) FROM {} WHERE status_date = ?{}"
    delivered = conn.sql(query.format("history.deliveries", " AND audience = 'leadership' AND state = 'sent'"),
                         params=[status_date]).fetchall()[0][0]  # fmt: skip
    frozen = conn.sql(query.format("history.evm_sent", ""), params=[status_date]).fetchall()[0][0]
    return record_sent(conn, status_date) if delivered and not frozen else None


def share(folder: str, home: Path, attachments: dict) -> list[str]:
    """Write each attachment built in this run to the shared folder too (relative to the home), whole."""
    if not folder:
        return []
    target = home / Path(folder).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    for name, attachment in attachments.items():
        tmp = target / f".{name}.tmp"
        tmp.write_bytes(attachment.content)
        tmp.replace(target / name)
    return [str(target / name) for name in attachments]


@dg.asset(key=["reports", "email"], deps=[["reports", "pack"]], kinds={"email"}, pool="warehouse", **WEEKLY_ASSET)
def weekly_email(
    context: dg.AssetExecutionContext, config: EmailConfig, pmo: PmoHome, mailer: Mailer
) -> dg.MaterializeResult:
    """The weekly e-mails: leadership gets the portfolio summary, each sponsor their projects, each with the pack
    (zip, no PMO-only pages) attached; one message per recipient, sent by SMTP when configured, else written to
    <home>/outbox/. At most once per status date, audience and recipient (history.deliveries)."""
    from reports.email import project_figures

    if not (config.send or config.resend):
        context.log.info(NOT_SENT)
        return dg.MaterializeResult(metadata={"delivery": NOT_SENT})
    days = status_dates(context)
    if len(days) > 1:
        context.log.info(NOT_SENT_BACKFILL)
        return dg.MaterializeResult(metadata={"delivery": NOT_SENT_BACKFILL})
    data, settings = pack_data(pmo, days[0] if days else None), pmo.settings().email
    with pmo.connect() as conn:
        figures = project_figures(data)
        recipients, projects_of, idle = plan(
            settings, data.projects, figures.get_column("project_id").to_list(), config.audience, config.to
        )
        if config.to and not recipients:
            raise dg.Failure(f"{config.to} is not on the {config.audience} e-mail lists for {data.status_date}")
        pack = pmo.paths.reports / data.status_date.isoformat()
        with Messages(data, settings, figures, projects_of, data.provisional, pack,
                      runtime_cache=runtime_cache(pmo)) as messages:  # fmt: skip
            outcome = deliver_all(context, conn, pmo, mailer, messages, recipients, config.resend)
        frozen = freeze(conn, data.status_date) if not config.resend else None
    shared = share(settings.shared_folder, pmo.paths.root, messages.attachments)
    for sponsor in idle:
        context.log.warning(f"sponsor {sponsor!r} in [email] sponsors has no project reported on {data.status_date}")
    if not recipients:
        context.log.warning("no e-mail recipients: set [email] leadership and sponsors in pmo.toml")
    context.log.info(f"e-mail for {data.status_date} by {mailer.transport}: {outcome.summary()}")
    if frozen is not None:
        context.log.info(f"figures of {data.status_date} frozen as sent for {frozen} project(s)")
    if outcome.failed:
        raise dg.Failure(
            f"{len(outcome.failed)} e-mail(s) not delivered (the next run tries again): " + "; ".join(outcome.failed)
        )
    return dg.MaterializeResult(
        metadata={
            "status_date": data.status_date.isoformat(),
            "transport": mailer.transport,
            "summary": outcome.summary(),
            "delivered": dg.MetadataValue.json(outcome.delivered),
            "already_delivered": len(outcome.already),
            "in_doubt": dg.MetadataValue.json(outcome.in_doubt),
            "provisional": messages.stale,
            "shared": dg.MetadataValue.json(shared),
        }
    )
