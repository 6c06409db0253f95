"""The account e-mails (verification, password reset, "you already have an account"),
composed from the texts in `shop/accounts/texts.py` and sent through SMTP after the response."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

import aiosmtplib

from einvoice.log import get_logger
from einvoice.smtp import send_message
from gateway.config import GatewaySettings
from gateway.web.texts import TEXTS

log = get_logger(__name__)

MailKind = Literal["verify", "reset", "already_registered"]


@dataclass(frozen=True)
class AccountMail:
    kind: MailKind
    to: str
    token: str | None = None


class Sender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(mail: AccountMail, *, lang: str, base_url: str, sender: str) -> EmailMessage:
    t = TEXTS.get(lang, TEXTS["pl"])
    base = base_url.rstrip("/")
    query = "?lang=en" if lang == "en" else ""
    links = {
        "verify": f"{base}/account/verify/{mail.token}{query}",
        "reset": f"{base}/account/reset/{mail.token}{query}",
        "login": f"{base}/account/login{query}",
        "reset_request": f"{base}/account/reset{query}",
    }
    subject, body = {
        "verify": (t["acc_mail_verify_subject"], t["acc_mail_verify_body"]),
        "reset": (t["acc_mail_reset_subject"], t["acc_mail_reset_body"]),
        "already_registered": (t["acc_mail_exists_subject"], t["acc_mail_exists_body"]),
    }[mail.kind]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="einvoice.local")
    message.set_content(body.format(**links))
    return message


@dataclass
class SmtpSender:
    settings: GatewaySettings

    async def send(self, message: EmailMessage) -> None:
        await send_message(self.settings.smtp_server(), message)


async def deliver(sender: Sender, message: EmailMessage, kind: str) -> None:
    """Runs after the response: a failure is logged (without the address), not shown."""
    try:
        await sender.send(message)
    except (aiosmtplib.SMTPException, OSError):
        log.exception("could not send an account e-mail", kind=kind)
