"""SMTP settings and sending, shared by the mailer (invoices) and the gateway (account mail)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from pydantic import SecretStr

from einvoice.settings import Settings

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand a message over: the platform's server or a tenant's mailbox."""

    host: str
    port: int
    tls: TlsMode = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 20.0

    @property
    def mailbox_id(self) -> str:
        """Names the mailbox whose sending limits apply (not the password)."""
        spec = f"{self.host.lower()}:{self.port}:{(self.user or '').lower()}"
        return hashlib.sha256(spec.encode()).hexdigest()[:24]


class SmtpSettings(Settings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: TlsMode = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "einvoice <faktury@einvoice.local>"

    def smtp_server(self) -> SmtpServer:
        return SmtpServer(
            host=self.smtp_host,
            port=self.smtp_port,
            tls=self.smtp_tls,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            timeout=self.smtp_timeout,
        )


async def send_message(server: SmtpServer, message: EmailMessage) -> None:
    """One message over one connection; aiosmtplib's errors pass through to the caller."""
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        timeout=server.timeout,
        use_tls=server.tls == "tls",
        start_tls=server.tls == "starttls",
        username=server.user,
        password=server.password,
    )
