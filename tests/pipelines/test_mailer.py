"""The mailer against a real SMTP server on loopback (aiosmtpd)."""

import email
import socket
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from pipelines.resources import Mailer


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def _message():
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = "KPIs", "pmo@example.org", "cio@example.org, cfo@example.org"
    msg.set_content("body")
    return msg


def test_sends_through_smtp_when_configured(smtp_server, monkeypatch, tmp_path):
    port, handler = smtp_server
    monkeypatch.setenv("PMO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PMO_SMTP_PORT", str(port))
    monkeypatch.setenv("PMO_SMTP_SECURITY", "none")
    outcome = Mailer().deliver(_message(), tmp_path / "outbox", "week")
    assert outcome.startswith("sent through 127.0.0.1")
    [(recipients, content)] = handler.received
    assert sorted(recipients) == ["cfo@example.org", "cio@example.org"]
    assert email.message_from_bytes(content, policy=policy.default)["Subject"] == "KPIs"
    assert not (tmp_path / "outbox").exists()


def test_writes_eml_without_smtp(monkeypatch, tmp_path):
    monkeypatch.delenv("PMO_SMTP_HOST", raising=False)
    Mailer().deliver(_message(), tmp_path / "outbox", "week")
    written = email.message_from_bytes((tmp_path / "outbox" / "week.eml").read_bytes(), policy=policy.default)
    assert written["To"] == "cio@example.org, cfo@example.org"
