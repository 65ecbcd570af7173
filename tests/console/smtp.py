"""A real SMTP server for the console's mail (aiosmtpd, in a thread of the test process): it
offers STARTTLS with a certificate made for the test (the gateway trusts it through
``SSL_CERT_FILE``), requires it before AUTH, checks one account, and keeps every message."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import free_port

SMTP_USER = "bytespike-mailer"
SMTP_PASSWORD = "mail-secret-42"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Delivered:
    """One accepted message: the envelope as the client sent it, and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()


@dataclass
class SmtpServer:
    directory: Path
    """Where the certificate is written; ``cert_path`` is what clients must trust."""
    messages: list[Delivered] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    cert_path: Path | None = None
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        """``BYTESPIKE_SMTP_URL`` for this server (plain SMTP, with the account's credentials)."""
        return f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            Delivered(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                login,
                message_from_bytes(envelope.content, policy=policy.default),  # type: ignore[arg-type]
            )
        )
        return "250 Message accepted for delivery"

    @staticmethod
    def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def start(self) -> None:
        self.cert_path, key_path = make_certificate(self.directory)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert_path, key_path)
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_required=True,
            tls_context=tls,
            require_starttls=True,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    async def mail_to(self, address: str, subject_contains: str, wait_s: float = 10) -> Delivered:
        """The latest message to ``address`` whose subject contains ``subject_contains``."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for delivered in reversed(self.messages):
                if address in delivered.rcpt_tos and subject_contains in str(delivered.message["Subject"]):
                    return delivered
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {address} about {subject_contains!r}: {self.messages}")
