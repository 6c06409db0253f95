"""SMTP settings and sending, shared by the mailer (invoices) and the gateway (account mail)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from pydantic import SecretStr

from einvoice.settings import Settings


class SmtpSettings(Settings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "einvoice <faktury@einvoice.local>"


async def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """One message over one connection; aiosmtplib's errors pass through to the caller."""
    s = settings
    await aiosmtplib.send(
        message,
        hostname=s.smtp_host,
        port=s.smtp_port,
        timeout=s.smtp_timeout,
        use_tls=s.smtp_tls == "tls",
        start_tls=s.smtp_tls == "starttls",
        username=s.smtp_user,
        password=s.smtp_password.get_secret_value() if s.smtp_password else None,
    )
