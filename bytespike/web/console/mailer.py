"""Outgoing mail of the console (verification codes, password-reset links).

With ``BYTESPIKE_SMTP_URL`` set (``smtp://user:password@host:587`` uses STARTTLS when the server
offers it; ``smtps://…:465`` is TLS from the first byte) each message goes out through
``smtplib`` in a worker thread. Without it, the local development default writes the whole
message to the log, so a first run needs no mail server to sign up.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger("bytespike.console.mail")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer:
    def __init__(self, smtp_url: str | None, sender: str) -> None:
        self._url = urlsplit(smtp_url) if smtp_url else None
        self.sender = sender
        if self._url is not None and self._url.scheme not in ("smtp", "smtps"):
            raise ValueError("BYTESPIKE_SMTP_URL must start with smtp:// or smtps://")

    @property
    def delivers(self) -> bool:
        """False on the development default (mail goes to the log)."""
        return self._url is not None

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        if self._url is None:
            log.warning(
                "mail (no BYTESPIKE_SMTP_URL, logged instead of sent):\nFrom: %s\nTo: %s\nSubject: %s\n\n%s",
                self.sender,
                mail.to,
                mail.subject,
                mail.body,
            )
            return
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        url = self._url
        assert url is not None
        host = url.hostname or "localhost"
        context = ssl.create_default_context()
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=20, context=context)
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=20)
        with client:
            if url.scheme == "smtp":
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
