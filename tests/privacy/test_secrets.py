"""The SMTP password never leaves the environment: after a real run that logs in with it (and one whose login is
refused), it is in no file of the home (warehouse, Dagster's run and event storage and compute logs, published
snapshot, packs, outbox, shared folder), in no text cell of a DuckDB or Parquet file, in nothing the run printed,
in no message the server received, and not in the failure notice. PMO_SMTP_PASSWORD is the only secret the product
reads (`os.environ` in pipelines/: the other PMO_SMTP_* variables are where and who, and a refused login names the
user on purpose). The password is a fresh canary per session, also looked for as the AUTH PLAIN and AUTH LOGIN
tokens that carry it over the wire (base64)."""

import base64
from email.message import EmailMessage

import dagster as dg
import pytest

from pipelines.notices import failure_message
from pipelines.resources import DeliveryError, Mailer
from tests.privacy.conftest import USER, Run
from tests.privacy.scan import duckdb_containing, email_texts, files_containing, parquet_containing
from tests.smtp import smtp_server


def _needles(password: str) -> list[bytes]:
    return [
        password.encode(),
        base64.b64encode(f"\0{USER}\0{password}".encode()),  # AUTH PLAIN
        base64.b64encode(password.encode()),  # AUTH LOGIN
    ]


def _nowhere(run: Run) -> None:
    needles = _needles(run.password)
    assert files_containing(run.home, needles) == []
    for database in [run.home / "warehouse.duckdb", *run.home.glob("published/.builds/*/pmo.duckdb")]:
        assert duckdb_containing(database, run.password) == [], database
    assert parquet_containing(run.home / "published", run.password) == []
    assert not any(n.decode() in run.output for n in needles)
    assert not any(n in r.content for r in run.received for n in needles)


def test_a_run_that_logs_in_keeps_the_password_nowhere(runs):
    good = runs.good
    assert good.server.mailbox.logins == [USER] * 3  # the canary was the live password: three logins with it
    assert len(good.received) == 3
    storage = [p.name for p in (good.home / "dagster").rglob("*") if p.is_file()]
    assert any(name.endswith(".db") for name in storage)  # Dagster's run and event storage is among the files read
    assert any(name.endswith((".out", ".err")) for name in storage)  # and the steps' compute logs
    _nowhere(good)


def test_a_refused_login_names_the_user_keeps_the_password_nowhere_and_shows_no_stack_trace(runs):
    bad = runs.bad
    assert bad.received == [] and bad.server.mailbox.logins == []
    assert f"refused the login of PMO_SMTP_USER '{USER}'" in bad.output
    assert "error: 3 e-mail(s) not delivered (the next run tries again)" in bad.output
    assert "Stack Trace" not in bad.output and "Traceback" not in bad.output and "dagster._core" not in bad.output
    _nowhere(bad)


def test_the_failure_notice_of_the_refused_run_names_the_step_and_not_the_password(runs, monkeypatch):
    bad = runs.bad
    monkeypatch.setenv("PMO_SMTP_PASSWORD", bad.password)
    with dg.DagsterInstance.from_config(str(bad.home / "dagster")) as instance:
        [record] = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        run = record.dagster_run
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="failure_notice", dagster_event=failure, dagster_instance=instance, dagster_run=run
        ).for_run_failure()
        notice = failure_message(context, "pmo-kpi@example.org", "ops@example.org", "")
    body = notice.get_content()
    assert "Failing step: reports__email" in body
    assert f"refused the login of PMO_SMTP_USER '{USER}'" in body  # the error is told ...
    assert not any(n in notice.as_bytes() for n in _needles(bad.password))  # ... its secret is not


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "KPIs", "pmo@example.org", "cio@example.org"
    message.set_content("body")
    return message


def test_a_password_beyond_ascii_logs_in_and_a_refused_one_is_never_in_the_error(monkeypatch, tmp_path):
    # smtplib sends logins as ASCII only: a password with "ä" raised UnicodeEncodeError, whose repr holds the
    # whole "\0user\0password" string, out of the mailer as a traceback.
    right, wrong = "pässwörd-Ünïcode-right", "pässwörd-Ünïcode-wrong"
    with smtp_server(credentials=("pmö", right)) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        assert Mailer().deliver(_message(), tmp_path, "week") == f"sent through 127.0.0.1:{server.port}"
        monkeypatch.setenv("PMO_SMTP_PASSWORD", wrong)
        with pytest.raises(DeliveryError) as refused:
            Mailer().deliver(_message(), tmp_path, "week")
    assert server.mailbox.logins == ["pmö"] and len(server.mailbox.received) == 1
    assert "refused the login of PMO_SMTP_USER 'pmö'" in str(refused.value)
    assert wrong not in repr(refused.value) and refused.value.__cause__ is None and refused.value.__suppress_context__


def test_every_message_the_run_sent_is_readable_and_none_carries_it(runs):
    # The scan above reads the raw SMTP data; this reads each message as a recipient does, attachments unzipped.
    for received in runs.good.received:
        texts = email_texts(received.content)
        assert any(name.endswith("index.html") for name in texts)  # the pack's pages were read too
        assert not [name for name, text in texts.items() if runs.good.password in text]
