"""A real SMTP server on loopback (aiosmtpd) for the mailer and e-mail tests: what it received, who logged in,
and optionally STARTTLS or implicit TLS with a self-signed certificate made for the test."""

import contextlib
import datetime as dt
import email
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    content: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)


@dataclass
class Mailbox:
    """The aiosmtpd handler: every message the server accepted, and every login it saw."""

    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    credentials: tuple[str, str] | None = None

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (user, password) == self.credentials
        if ok:
            self.logins.append(user)
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 on failure


@dataclass
class Server:
    port: int
    mailbox: Mailbox
    cafile: Path | None = None

    def env(self, security: str = "none") -> dict[str, str]:
        """The PMO_SMTP_* variables that point the mailer at this server."""
        values = {"PMO_SMTP_HOST": "127.0.0.1", "PMO_SMTP_PORT": str(self.port), "PMO_SMTP_SECURITY": security}
        if self.mailbox.credentials:
            values |= {"PMO_SMTP_USER": self.mailbox.credentials[0], "PMO_SMTP_PASSWORD": self.mailbox.credentials[1]}
        if self.cafile:
            values["PMO_SMTP_CAFILE"] = str(self.cafile)
        return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key; the certificate is its own CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextlib.contextmanager
def smtp_server(credentials: tuple[str, str] | None = None, tls: str = "", folder: Path | None = None):
    """Run a server for the duration of the block. tls: "" (plain), "starttls" (required) or "ssl" (implicit)."""
    mailbox = Mailbox(credentials=credentials)
    kwargs: dict = {"auth_require_tls": False}
    if credentials:
        kwargs["authenticator"] = mailbox.authenticate
    cafile = None
    if tls:
        cafile, keyfile = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cafile, keyfile)
        kwargs |= {"tls_context": context, "require_starttls": True} if tls == "starttls" else {"ssl_context": context}
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield Server(controller.port, mailbox, cafile)
    finally:
        controller.stop()
