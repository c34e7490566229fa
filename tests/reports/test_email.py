"""The weekly e-mails end to end: `pmo run` on the small demo portfolio sends through a real SMTP server on
loopback (aiosmtpd, with a login), and the tests parse what arrived."""

import contextlib
import io
import os
import posixpath
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from pipelines.delivery import EMAIL_OP, NOT_SENT, weekly_email
from pipelines.resources import Mailer, PmoHome
from tests.conftest import SMALL, write_inbox
from tests.smtp import Received, Server, free_port, smtp_server
from transforms.demo_portfolio import generate

DAY = "2026-03-15"
PASSWORD = "s3cret-Smtp-pa55"
LEADERSHIP = ["cio@example.org", "cfo@example.org"]
# The small demo's sponsors (transforms/demo_portfolio.py): PRJ-001 Sponsor Almeida, PRJ-002 Sponsor Berg,
# PRJ-003 Sponsor Costa. The deputy follows two sponsors and gets one message with both projects.
SPONSORS = {
    "almeida@example.org": ["PRJ-001"],
    "berg@example.org": ["PRJ-002"],
    "costa@example.org": ["PRJ-003"],
    "deputy@example.org": ["PRJ-001", "PRJ-002"],
}
SETTINGS = """\
[email]
sender = "pmo-kpi@example.org"
leadership = ["cio@example.org", "cfo@example.org"]
shared_folder = "shared"
[email.sponsors]
"Sponsor Almeida" = ["almeida@example.org", "deputy@example.org"]
"sponsor berg " = ["berg@example.org", "deputy@example.org"]
"Sponsor Costa" = ["costa@example.org"]
"Sponsor Nobody" = ["nobody@example.org"]
"""


@dataclass
class Sent:
    home: Path
    inbox: Path
    server: Server
    first: list[Received]  # what the first run delivered
    ledger: list[tuple]  # history.deliveries after the first run
    output: str  # the first run's console output, stdout and stderr

    def by_recipient(self) -> dict[str, Received]:
        return {r.envelope_to[0]: r for r in self.first}


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    root = tmp_path_factory.mktemp("email")
    inbox = write_inbox(root / "inbox", generate(SMALL))
    home = root / "home"
    home.mkdir()
    (home / "pmo.toml").write_text(SETTINGS, encoding="utf-8")
    with smtp_server(credentials=("pmo-kpi", PASSWORD)) as server, pytest.MonkeyPatch.context() as env:
        for name in ("PMO_HOME", "DAGSTER_HOME", "PMO_SMTP_CAFILE"):  # restored afterwards: the CLI sets them
            env.setenv(name, os.environ.get(name, ""))
        for name, value in server.env().items():
            env.setenv(name, value)
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = main(["run", "--inbox", str(inbox), "--home", str(home)])
        assert code in (0, 3), output.getvalue()
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
            ledger = conn.sql(
                "SELECT audience, recipient, attempt, state, transport, message_id FROM history.deliveries ORDER BY ALL"
            ).fetchall()
        yield Sent(home, inbox, server, list(server.mailbox.received), ledger, output.getvalue())


def _parts(message) -> list:
    return [p for p in message.walk() if not p.is_multipart()]


def _zip(message) -> zipfile.ZipFile:
    [attachment] = [p for p in _parts(message) if p.get_content_type() == "application/zip"]
    return zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True)))


def _bodies(message) -> str:
    return "\n".join([str(message["Subject"]), message.get_body(("plain",)).get_content(),
                      message.get_body(("html",)).get_content()])  # fmt: skip


def test_each_list_gets_exactly_its_messages_one_per_recipient(sent):
    # 2 leadership addresses + 4 sponsor addresses; "Sponsor Nobody" has no project, so no message and a warning.
    assert sorted(r.envelope_to[0] for r in sent.first) == sorted([*LEADERSHIP, *SPONSORS])
    assert all(len(r.envelope_to) == 1 and r.envelope_from == "pmo-kpi@example.org" for r in sent.first)
    by = sent.by_recipient()
    for address in LEADERSHIP:
        assert str(by[address].message["Subject"]).startswith(f"Portfolio KPIs, week ending {DAY}")
    for address, projects in SPONSORS.items():
        html = by[address].message.get_body(("html",)).get_content()
        shown = sorted(set(re.findall(r"PRJ-\d{3}", html)))
        assert shown == projects, address
    assert "sponsor 'Sponsor Nobody' in [email] sponsors has no project reported on 2026-03-15" in sent.output
    assert "6 delivered; 0 already delivered before" in sent.output


def test_the_mime_tree_is_mixed_alternative_related_and_every_cid_resolves(sent):
    for received in sent.first:
        message = received.message
        assert message.get_content_type() == "multipart/mixed"
        alternative, attachment = message.iter_parts()
        assert alternative.get_content_type() == "multipart/alternative"
        assert attachment.get_content_type() == "application/zip" and attachment.get_filename().endswith(".zip")
        plain, related = alternative.iter_parts()
        assert plain.get_content_type() == "text/plain" and len(plain.get_content().strip()) > 100
        html, *images = related.iter_parts()
        assert related.get_content_type() == "multipart/related" and html.get_content_type() == "text/html"
        assert 1 <= len(images) <= 3 and {i.get_content_type() for i in images} == {"image/png"}
        assert all(i.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
        content_ids = {i["Content-ID"].strip("<>") for i in images}
        cids = set(re.findall(r'src="cid:([^"]+)"', html.get_content()))
        assert cids == content_ids, received.envelope_to  # every cid resolves, and every image is shown


def test_the_html_is_at_most_600_px_wide_with_inline_css_and_no_script(sent):
    for received in sent.first:
        html = received.message.get_body(("html",)).get_content()
        widths = [int(w) for w in re.findall(r'width="(\d+)"', html)]
        widths += [int(w) for w in re.findall(r"width:\s*(\d+)px", html)]
        assert widths and max(widths) <= 600, received.envelope_to
        assert "<style" not in html and "<script" not in html and "<link" not in html
        assert "<table" in html


def test_sponsor_zips_hold_only_their_projects_and_no_zip_holds_the_pmo_section(sent):
    by = sent.by_recipient()
    for address, projects in SPONSORS.items():
        names = _zip(by[address].message).namelist()
        assert sorted({m for n in names for m in re.findall(r"^projects/(PRJ-\d{3})\.html$", n)}) == projects
        assert "index.html" in names
    everything = _zip(by["cio@example.org"].message).namelist()
    assert {n for n in everything if re.match(r"^projects/PRJ-\d{3}\.html$", n)} == {
        "projects/PRJ-001.html", "projects/PRJ-002.html", "projects/PRJ-003.html",
    }  # fmt: skip
    for received in sent.first:
        archive = _zip(received.message)
        assert not [n for n in archive.namelist() if n.startswith("pmo/")]
        pages = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".html")]
        assert not [p for p in pages if 'href="pmo/' in p or 'href="../pmo/' in p]  # not linked either
        assert "pmo/" not in received.message.get_body(("html",)).get_content()


def test_the_attachments_are_also_in_the_shared_folder(sent):
    shared = sent.home / "shared"
    attachments = {
        p.get_filename(): p.get_payload(decode=True)
        for r in sent.first for p in _parts(r.message) if p.get_content_type() == "application/zip"
    }  # fmt: skip
    assert sorted(attachments) == sorted(p.name for p in shared.iterdir())
    assert all((shared / name).read_bytes() == content for name, content in attachments.items())
    assert f"pmo-kpi-{DAY}-portfolio.zip" in attachments


def test_no_message_names_a_person_or_shows_a_rate(sent):
    files = generate(SMALL)
    people = pl.read_csv(io.BytesIO(files["pmo/people.csv"])).get_column("display_name").to_list()
    rates = pl.read_csv(io.BytesIO(files["pmo/rate_card.csv"]), schema_overrides={"hourly_rate": pl.String})
    for received in sent.first:
        text = _bodies(received.message)
        assert not [name for name in people if name in text], received.envelope_to
        assert not [r for r in rates.get_column("hourly_rate").to_list() if re.search(rf"\b{re.escape(r)}\b", text)]


def test_the_ledger_records_one_sent_smtp_delivery_per_recipient_and_the_week_is_frozen(sent):
    received_ids = {r.envelope_to[0]: str(r.message["Message-ID"]).strip() for r in sent.first}
    assert sorted((a, r) for a, r, *_ in sent.ledger) == sorted(
        [("leadership", a) for a in LEADERSHIP] + [("sponsors", a) for a in SPONSORS]
    )
    for _, recipient, attempt, state, transport, message_id in sent.ledger:
        assert (attempt, state, transport) == (1, "sent", "smtp")
        assert message_id == received_ids[recipient]
    with duckdb.connect(str(sent.home / "warehouse.duckdb"), read_only=True) as conn:
        frozen = conn.sql("SELECT count(*) FROM history.evm_sent WHERE status_date = ?", params=[DAY]).fetchall()
    assert frozen == [(3,)]  # the leadership e-mail went out: the week's three projects are frozen as sent


def test_the_login_came_from_the_environment_and_the_password_is_nowhere(sent):
    assert sent.server.mailbox.logins == ["pmo-kpi"] * len(sent.first)  # one login per message
    secret = PASSWORD.encode()
    assert secret not in sent.output.encode()
    for path in sent.home.rglob("*"):  # outbox, warehouse, pack, shared folder, Dagster's run and event logs
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert all(secret not in r.content for r in sent.first)


def _copy(sent: Sent, tmp_path: Path) -> Path:
    """A copy of the home with an empty ledger, as if nothing had been sent yet."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sent.home / "pmo.toml", home / "pmo.toml")
    shutil.copy(sent.home / "warehouse.duckdb", home / "warehouse.duckdb")
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql("DELETE FROM history.deliveries")
        conn.sql("DELETE FROM history.evm_sent")
    return home


def _email_run(home: Path, config: dict | None = None):
    return dg.materialize(
        [weekly_email],
        resources={"pmo": PmoHome(home=str(home)), "mailer": Mailer()},
        run_config={"ops": {EMAIL_OP: {"config": config or {}}}},
        raise_on_error=False,
    )


def _metadata(result) -> dict:
    [materialization] = result.asset_materializations_for_node(EMAIL_OP)
    return {k: v.value for k, v in materialization.metadata.items()}


def test_a_run_not_started_by_the_schedule_or_pmo_run_sends_nothing(sent, tmp_path):
    home = _copy(sent, tmp_path)
    before = len(sent.server.mailbox.received)
    result = _email_run(home)  # as from the UI: no `send`
    assert result.success and _metadata(result)["delivery"] == NOT_SENT
    assert len(sent.server.mailbox.received) == before
    assert not (home / "outbox").exists() or not any((home / "outbox").iterdir())
    # The same home with `send`, as the schedule's run request and `pmo run` set it: all six go out.
    result = _email_run(home, {"send": True})
    assert result.success and len(sent.server.mailbox.received) == before + 6


def test_the_schedule_asks_for_the_e_mail_to_be_sent():
    import datetime as dt

    from pipelines.definitions import weekly_pack_schedule

    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 6, 29, 7, 0))
    assert weekly_pack_schedule(context).run_config["ops"][EMAIL_OP]["config"] == {"send": True}


def test_an_unreachable_server_is_recorded_as_failed_and_the_next_run_delivers(sent, tmp_path, monkeypatch):
    home = _copy(sent, tmp_path)
    monkeypatch.setenv("PMO_SMTP_PORT", str(free_port()))  # nothing listens there
    result = _email_run(home, {"send": True, "audience": "leadership"})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "2 e-mail(s) not delivered (the next run tries again)" in str(failure.event_specific_data.error.message)
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        assert conn.sql("SELECT DISTINCT attempt, state FROM history.deliveries").fetchall() == [(1, "failed")]
        assert conn.sql("SELECT count(*) FROM history.evm_sent").fetchall() == [(0,)]  # nothing went out
    monkeypatch.setenv("PMO_SMTP_PORT", str(sent.server.port))
    before = len(sent.server.mailbox.received)
    result = _email_run(home, {"send": True, "audience": "leadership"})
    assert result.success and len(sent.server.mailbox.received) == before + 2
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.sql("SELECT recipient, attempt, state FROM history.deliveries ORDER BY ALL").fetchall()
    assert rows == [(a, n, s) for a in sorted(LEADERSHIP) for n, s in ((1, "failed"), (2, "sent"))]


def test_a_message_that_cannot_be_built_stops_no_other_and_the_next_run_builds_it(sent, tmp_path, monkeypatch):
    import reports.email

    home = _copy(sent, tmp_path)
    drawn = reports.email.sponsor_charts

    def broken_for_costa(data, figures):  # a fault in one sponsor's charts (PRJ-003 is Sponsor Costa's only project)
        if figures.get_column("project_id").to_list() == ["PRJ-003"]:
            raise ValueError("chart spec broken")
        return drawn(data, figures)

    monkeypatch.setattr(reports.email, "sponsor_charts", broken_for_costa)
    before = len(sent.server.mailbox.received)
    result = _email_run(home, {"send": True})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "costa@example.org: not built (ValueError: chart spec broken)" in failure.event_specific_data.error.message
    arrived = [r.envelope_to[0] for r in sent.server.mailbox.received[before:]]
    assert sorted(arrived) == sorted([*LEADERSHIP, *(a for a in SPONSORS if a != "costa@example.org")])
    monkeypatch.setattr(reports.email, "sponsor_charts", drawn)
    result = _email_run(home, {"send": True})
    assert result.success
    assert [r.envelope_to[0] for r in sent.server.mailbox.received[before + len(arrived) :]] == ["costa@example.org"]


def test_a_stale_source_makes_the_e_mail_provisional(sent, tmp_path):
    home = _copy(sent, tmp_path)
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql("UPDATE marts.source_freshness SET stale = false")
        conn.sql("UPDATE marts.source_freshness SET stale = true WHERE source_kind = 'tempo_worklogs'")
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "to": "berg@example.org"}).success
    [received] = sent.server.mailbox.received[before:]
    assert str(received.message["Subject"]).endswith("(provisional)")
    assert "Provisional." in received.message.get_body(("html",)).get_content()
    assert "PROVISIONAL" in received.message.get_body(("plain",)).get_content()
    assert "(provisional)" not in str(sent.by_recipient()["berg@example.org"].message["Subject"])


def test_the_managers_rag_override_is_shown_beside_the_computed_one(sent, tmp_path):
    home = _copy(sent, tmp_path)
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        conn.sql(
            "INSERT INTO staging.status_reports BY NAME SELECT 'PRJ-002' AS project_id, DATE '2026-03-15' AS"
            " status_date, 'amber' AS rag_override, 'credit note agreed' AS override_reason, 'x' AS author"
        )
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "to": "berg@example.org"}).success
    [received] = sent.server.mailbox.received[before:]
    # PRJ-002's computed RAG is red (CPI 0.77 < 0.85); the manager says amber: both are shown.
    assert "RED (PM: AMBER)" in received.message.get_body(("plain",)).get_content()
    assert re.search(r">Red</span> PM: <span[^>]*>Amber</span>", received.message.get_body(("html",)).get_content())


def test_a_sponsors_zip_carries_the_weekly_packs_project_pages_with_the_links_of_their_pack(sent, tmp_path):
    home = _copy(sent, tmp_path)
    shutil.copytree(sent.home / "reports", home / "reports", symlinks=True)
    page = home / "reports" / DAY / "projects" / "PRJ-002.html"
    written = page.read_text(encoding="utf-8")
    page.write_text(written.replace("<main>", "<main><!-- as written -->", 1), encoding="utf-8")
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "to": "berg@example.org"}).success
    [received] = sent.server.mailbox.received[before:]
    archive = _zip(received.message)
    # Taken from the week's pack, not rendered again; its links are those of a pack with no IT pages.
    taken = archive.read("projects/PRJ-002.html").decode("utf-8")
    assert "<!-- as written -->" in taken and 'href="../it/service-desk.html"' in written
    assert "service-desk" not in taken and 'href="../methodology.html"' in taken
    assert archive.read("projects/PRJ-002.weeks.csv") == page.with_name("PRJ-002.weeks.csv").read_bytes()


def test_a_second_run_sends_nothing_new_an_unfinished_delivery_is_reported_and_pmo_send_resends(sent, capsys):
    warehouse = sent.home / "warehouse.duckdb"
    # A crash between 'sending' and 'sent' for the CFO's message: it may have gone out.
    with duckdb.connect(str(warehouse)) as conn:
        conn.sql("UPDATE history.deliveries SET state = 'sending', finished_at = NULL WHERE recipient = ?",
                 params=["cfo@example.org"])  # fmt: skip
    before = len(sent.server.mailbox.received)
    assert main(["run", "--inbox", str(sent.inbox), "--home", str(sent.home)]) in (0, 3)
    out = capsys.readouterr()
    assert len(sent.server.mailbox.received) == before  # nothing sent twice, nothing in doubt resent
    assert "0 delivered; 5 already delivered before; 1 may have been sent: not resent; `pmo send` resends" in out.out
    assert "leadership cfo@example.org: may have been sent: not resent; `pmo send` resends" in out.out
    assert "leadership cfo@example.org" in out.err  # the Dagster warning in the run's log

    code = main(["send", "--as-of", DAY, "--audience", "leadership", "--to", "cfo@example.org",
                 "--home", str(sent.home)])  # fmt: skip
    assert code == 0
    assert [r.envelope_to for r in sent.server.mailbox.received[before:]] == [["cfo@example.org"]]
    assert "e-mail: 1 delivered" in capsys.readouterr().out
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cfo = conn.sql(
            "SELECT attempt, state FROM history.deliveries WHERE recipient = 'cfo@example.org' ORDER BY attempt"
        ).fetchall()
    assert cfo == [(1, "sending"), (2, "sent")]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--as-of", "2026-03-08"], 2, "no pack for 2026-03-08"),
        (["--as-of", "2026-03-14"], 2, "--as-of 2026-03-14 is not a status date: weeks end on sunday"),
        (["--as-of", DAY, "--to", "stranger@example.org"], 2, "stranger@example.org is not on the [email] all lists"),
        (["--as-of", DAY, "--audience", "leadership", "--to", "berg@example.org"], 2, "not on the [email] leadership"),
    ],
)
def test_pmo_send_refuses_what_it_cannot_send(sent, capsys, args, code, says):
    before = len(sent.server.mailbox.received)
    assert main(["send", *args, "--home", str(sent.home)]) == code
    assert says in capsys.readouterr().out
    assert len(sent.server.mailbox.received) == before


def test_pmo_send_waits_for_no_one_when_a_run_holds_the_home(sent, capsys):
    from pipelines.home import RunLock

    lock = RunLock(sent.home)
    lock.acquire()
    try:
        assert main(["send", "--as-of", DAY, "--home", str(sent.home)]) == 4
    finally:
        lock.release()
    assert "another run holds" in capsys.readouterr().out


def test_a_pack_past_the_size_limit_is_not_attached_and_the_message_says_where_it_is(sent):
    from pipelines.pack import pack_data
    from reports.email import Attachment, leadership_email, project_figures

    data = pack_data(PmoHome(home=str(sent.home)))
    content = b"z" * 2_000  # 0.002 MB
    kinds = {}
    for limit in (0.001, 10.0):
        message = leadership_email(
            data, project_figures(data), sender="pmo@example.org", recipient="cio@example.org", images=[],
            attachment=Attachment("pack.zip", content, limit, "it is in the shared folder shared"), provisional=False,
        )  # fmt: skip
        text = message.get_body(("plain",)).get_content()
        kinds[limit] = ([p.get_content_type() for p in _parts(message)], text)
    too_big, fits = kinds[0.001], kinds[10.0]
    assert "application/zip" not in too_big[0] and "application/zip" in fits[0]
    assert "too large to attach" in too_big[1] and "shared folder shared" in too_big[1]
    assert "too large" not in fits[1]


def _with_the_weeks_pack(sent: Sent, tmp_path: Path) -> tuple[Path, bytes]:
    """A copy of the home with the week's written pack, and that pack zipped as leadership get it whole."""
    from reports.email import folder_zip

    home = _copy(sent, tmp_path)
    shutil.copytree(sent.home / "reports", home / "reports", symlinks=True)
    return home, folder_zip(home / "reports" / DAY)


def _email_settings(home: Path, lines: str) -> None:
    """Add `lines` to the home's [email] settings."""
    settings = home / "pmo.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("shared_folder", f"{lines}\nshared_folder"), encoding="utf-8")


def test_leadership_gets_a_summary_of_a_pack_too_large_to_attach_and_every_link_in_it_resolves(sent, tmp_path):
    from pipelines.pack import pack_data
    from reports.email import project_figures

    home, full = _with_the_weeks_pack(sent, tmp_path)
    # A limit one byte under the full pack: it is not attached. Its summary, one project page of three, fits.
    _email_settings(home, f"attention_rows = 1\nmax_attachment_mb = {(len(full) - 1) / 1_000_000}")
    figures = project_figures(pack_data(PmoHome(home=str(home))))
    projects = figures.get_column("project_id").to_list()
    worst = figures.filter(pl.col("severity") >= 2).get_column("project_id")[0]  # the one the e-mail lists
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "audience": "leadership"}).success
    received = sent.server.mailbox.received[before:]
    assert sorted(r.envelope_to[0] for r in received) == sorted(LEADERSHIP)
    name = f"pmo-kpi-{DAY}-portfolio-summary.zip"
    for r in received:
        assert [p.get_filename() for p in _parts(r.message) if p.get_content_type() == "application/zip"] == [name]
    archive = _zip(received[0].message)
    names = set(archive.namelist())
    assert {n for n in names if re.match(r"^projects/[^/]+\.html$", n)} == {f"projects/{worst}.html"}
    assert not [n for n in names if n.startswith("pmo/")]
    # Every portfolio page and CSV of the full pack is in it; no project's but the listed one.
    others = {n for n in zipfile.ZipFile(io.BytesIO(full)).namelist() if not n.startswith("projects/")}
    assert others <= names and len(names - others) > 1  # the page and its CSVs
    for page in (n for n in names if n.endswith(".html")):
        html = archive.read(page).decode("utf-8")
        for link in re.findall(r'(?:href|src)="([^"#:]+)', html):
            assert posixpath.normpath(posixpath.join(posixpath.dirname(page), link)) in names, (page, link)
    index = archive.read("index.html").decode("utf-8")
    assert all(f">{p}<" in index for p in projects)  # every project listed, one linked
    assert set(re.findall(r'href="projects/([^"]+)\.html"', index)) == {worst}
    assert f"holds the pages of 1 of the {len(projects)} projects" in " ".join(index.split())
    text = received[0].message.get_body(("plain",)).get_content()
    summary = "A summary of the pack (every portfolio page, and the page of each project listed above)"
    assert f"{summary} is attached ({name})" in text
    assert f"The full pack ({len(full) / 1_000_000:.1f} MB) is too large to attach" in text
    assert "it is in the shared folder shared" in text
    assert (home / "shared" / f"pmo-kpi-{DAY}-portfolio.zip").read_bytes() == full  # shared whole
    assert not (home / "shared" / name).exists()


def test_when_even_the_summary_is_too_large_leadership_is_told_where_the_full_pack_is(sent, tmp_path):
    home, full = _with_the_weeks_pack(sent, tmp_path)
    _email_settings(home, "max_attachment_mb = 0.001")
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "to": "cio@example.org"}).success
    [received] = sent.server.mailbox.received[before:]
    assert "application/zip" not in [p.get_content_type() for p in _parts(received.message)]
    text = received.message.get_body(("plain",)).get_content()
    assert f"The full pack ({len(full) / 1_000_000:.1f} MB) is too large to attach (the limit is 0.001 MB)" in text
    assert "it is in the shared folder shared" in text and "summary" not in text and "is attached" not in text


def _ranked_figures(data) -> pl.DataFrame:
    """Five projects in the shape of `project_figures`, given in no order: worst first they are P-A (red, CPI 0.70),
    P-B (red, lower ratio 0.80), P-D (amber, 0.90), P-C (computed green, the manager says amber: 1.00), P-E (green)."""
    from reports.email import project_figures
    from reports.pack import worst_first

    rows = [  # project, rag, override, severity, cpi, spi_t
        ("P-E", "green", None, 1, 1.00, 1.02),
        ("P-C", "green", "amber", 2, 1.00, 1.01),
        ("P-B", "red", None, 3, 0.80, 0.84),
        ("P-D", "amber", None, 2, 0.90, 1.00),
        ("P-A", "red", None, 3, 0.70, 0.90),
    ]
    schema = project_figures(data).schema
    frame = pl.DataFrame(
        [{"project_id": p, "name": f"Project {p}", "rag": rag, "rag_override": override, "severity": severity,
          "cpi": cpi, "spi_t": spi_t} for p, rag, override, severity, cpi, spi_t in rows],
    )  # fmt: skip
    return worst_first(pl.concat([pl.DataFrame(schema=schema), frame], how="diagonal_relaxed"))


@pytest.mark.parametrize("listed", [2, 10])
def test_leadership_counts_the_projects_needing_attention_and_lists_only_the_worst(sent, listed):
    from pipelines.pack import pack_data
    from reports.email import leadership_email

    data = pack_data(PmoHome(home=str(sent.home)))
    message = leadership_email(data, _ranked_figures(data), sender="pmo@example.org", recipient="cio@example.org",
                               images=[], attachment=None, provisional=False, listed=listed)  # fmt: skip
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # P-E is green: 4 of 5 need attention, 2 red (P-A, P-B) and 2 amber (P-D, and P-C by its manager's override).
    assert "4 of 5 projects need attention (2 red, 2 amber)" in text
    assert re.search(r"4 of 5 projects need attention <span[^>]*>2 red, 2 amber", html)
    listed_ids = re.findall(r"^- (P-\w) ", text, flags=re.MULTILINE)
    if listed == 2:  # the two worst, then how many more and where they are
        assert listed_ids == ["P-A", "P-B"]
        assert "; the 2 worst:" in text and "the 2 worst below" in html
        assert "- and 2 more: the pack's index lists every project." in text
        assert re.search(r"and 2 more: the pack(&#39;|')s index lists every project", html)
        assert "P-D" not in html and "P-C" not in html
    else:  # all four, worst first, and no "more"
        assert listed_ids == ["P-A", "P-B", "P-D", "P-C"]
        assert "worst" not in text and "more:" not in text and "more:" not in html
    assert "P-E" not in text and "P-E" not in html


def test_a_sponsor_gets_every_project_worst_first_under_how_many_need_attention(sent):
    from pipelines.pack import pack_data
    from reports.email import sponsor_email

    data = pack_data(PmoHome(home=str(sent.home)))
    message = sponsor_email(data, _ranked_figures(data), sender="pmo@example.org", recipient="sponsor@example.org",
                            images=[], attachment=None, provisional=False)  # fmt: skip
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # The sponsor owns all five: every one is listed, worst first (P-E, green, last), not by id (P-A, P-B, P-C...).
    assert re.findall(r"^- (P-\w) ", text, flags=re.MULTILINE) == ["P-A", "P-B", "P-D", "P-C", "P-E"]
    assert re.findall(r">(P-\w) Project", html) == ["P-A", "P-B", "P-D", "P-C", "P-E"]
    assert "4 of 5 projects need attention (2 red, 2 amber); worst first:" in text
    assert re.search(r"4 of 5 projects need attention <span[^>]*>2 red, 2 amber; worst first", html)
    assert "more:" not in text


def test_a_sponsor_of_one_project_gets_no_count(sent):
    from pipelines.pack import pack_data
    from reports.email import sponsor_email

    data = pack_data(PmoHome(home=str(sent.home)))
    one = _ranked_figures(data).filter(pl.col("project_id") == "P-A")
    message = sponsor_email(data, one, sender="pmo@example.org", recipient="sponsor@example.org", images=[],
                            attachment=None, provisional=False)  # fmt: skip
    assert message["Subject"].startswith("Project KPIs for P-A Project P-A,")
    assert "need attention" not in message.get_body(("plain",)).get_content()
    assert "need attention" not in message.get_body(("html",)).get_content()


def test_the_leadership_list_length_comes_from_the_settings(sent, tmp_path):
    from pipelines.pack import pack_data
    from reports.email import project_figures

    home = _copy(sent, tmp_path)
    _email_settings(home, "attention_rows = 1")
    figures = project_figures(pack_data(PmoHome(home=str(home))))
    watching = figures.filter(pl.col("severity") >= 2).get_column("project_id").to_list()
    assert len(watching) >= 2, "the demo has more than one project needing attention"
    before = len(sent.server.mailbox.received)
    assert _email_run(home, {"send": True, "to": "cio@example.org"}).success
    [received] = sent.server.mailbox.received[before:]
    text = received.message.get_body(("plain",)).get_content()
    assert re.findall(r"^- (\S+) ", text, flags=re.MULTILINE) == [watching[0], "and"]
    assert f"- and {len(watching) - 1} more" in text
