"""The mailer against a real SMTP server on loopback (aiosmtpd): plain, STARTTLS and implicit TLS with a
certificate made for the test, logins from the environment, and failures that say whether a message may have
gone out."""

import email
from email import policy
from email.message import EmailMessage

import pytest

from pipelines.resources import DeliveryError, Mailer
from tests.smtp import free_port, smtp_server

SMTP_VARIABLES = ("PMO_SMTP_HOST", "PMO_SMTP_PORT", "PMO_SMTP_SECURITY", "PMO_SMTP_USER", "PMO_SMTP_PASSWORD",
                  "PMO_SMTP_CAFILE")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SMTP_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _message(to="cio@example.org"):
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "KPIs", "pmo@example.org", to
    msg.set_content("body")
    return msg


def test_sends_through_smtp_when_configured(monkeypatch, tmp_path):
    with smtp_server() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        assert Mailer().transport == "smtp"
        outcome = Mailer().deliver(_message("cio@example.org, cfo@example.org"), tmp_path / "outbox", "week")
    assert outcome == f"sent through 127.0.0.1:{server.port}"
    [received] = server.mailbox.received
    assert sorted(received.envelope_to) == ["cfo@example.org", "cio@example.org"]
    assert received.envelope_from == "pmo@example.org"
    assert received.message["Subject"] == "KPIs"
    assert not (tmp_path / "outbox").exists()


def test_writes_eml_without_smtp(tmp_path):
    assert Mailer().transport == "outbox"
    Mailer().deliver(_message(), tmp_path / "outbox", "week")
    written = email.message_from_bytes((tmp_path / "outbox" / "week.eml").read_bytes(), policy=policy.default)
    assert written["To"] == "cio@example.org"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_logs_in_over_tls_trusting_the_configured_ca_file(monkeypatch, tmp_path, security):
    with smtp_server(credentials=("pmo", "pa55-w0rd!"), tls=security, folder=tmp_path) as server:
        for name, value in server.env(security).items():
            monkeypatch.setenv(name, value)
        Mailer().deliver(_message(), tmp_path / "outbox", "week")
    assert server.mailbox.logins == ["pmo"]
    assert len(server.mailbox.received) == 1


def test_an_untrusted_certificate_stops_the_message_before_it_leaves(monkeypatch, tmp_path):
    with smtp_server(tls="starttls", folder=tmp_path) as server:
        for name, value in server.env("starttls").items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("PMO_SMTP_CAFILE")  # the test's certificate is in no trust store
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as failure:
            Mailer().deliver(_message(), tmp_path / "outbox", "week")
    assert failure.value.maybe_sent is False
    assert server.mailbox.received == []


def test_a_refused_login_names_the_user_never_the_password(monkeypatch, tmp_path):
    with smtp_server(credentials=("pmo", "right-password")) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PMO_SMTP_PASSWORD", "wrong-password")
        with pytest.raises(DeliveryError) as failure:
            Mailer().deliver(_message(), tmp_path / "outbox", "week")
    assert "refused the login of PMO_SMTP_USER 'pmo'" in str(failure.value)
    assert "wrong-password" not in str(failure.value) and failure.value.maybe_sent is False
    assert server.mailbox.received == []


def test_an_unreachable_server_is_certainly_not_sent(monkeypatch, tmp_path):
    monkeypatch.setenv("PMO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PMO_SMTP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("PMO_SMTP_SECURITY", "none")
    with pytest.raises(DeliveryError, match="cannot connect to 127.0.0.1") as failure:
        Mailer().deliver(_message(), tmp_path / "outbox", "week")
    assert failure.value.maybe_sent is False


def test_a_bad_security_setting_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PMO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PMO_SMTP_SECURITY", "tls1.3")
    with pytest.raises(DeliveryError, match="PMO_SMTP_SECURITY is 'tls1.3': use starttls, ssl or none"):
        Mailer().deliver(_message(), tmp_path / "outbox", "week")
