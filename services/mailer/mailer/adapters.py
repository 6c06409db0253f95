"""SMTP and MongoDB adapters of the mailer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from einvoice.bus import TransientError
from einvoice.smtp import send_message
from mailer.config import MailerSettings
from mailer.handlers import PermanentSmtpError


@dataclass
class MongoSendLog:
    sends: AsyncCollection
    links: AsyncCollection

    async def setup(self) -> None:
        await self.links.create_index("invoice_id")

    async def get(self, send_id: str) -> dict[str, Any] | None:
        return await self.sends.find_one({"_id": send_id})

    async def save_link(self, record: dict[str, Any]) -> None:
        await self.links.insert_one(record)

    async def mark(self, send_id: str, record: dict[str, Any]) -> None:
        await self.sends.replace_one({"_id": send_id}, record, upsert=True)

    async def last_pdf(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
        found = await self.sends.find_one(
            {"tenant_id": tenant_id, "invoice_id": invoice_id, "pdf": {"$exists": True}},
            sort=[("at", DESCENDING)],
        )
        return found["pdf"] if found else None

    async def revoke_links(
        self, tenant_id: str, invoice_id: str, before: datetime, keep_cause: str
    ) -> None:
        await self.links.update_many(
            {
                "tenant_id": tenant_id,
                "invoice_id": invoice_id,
                "created_at": {"$lt": before},
                "cause_event_id": {"$ne": keep_cause},
            },
            {"$set": {"revoked": True}},
        )


@dataclass
class SmtpSender:
    settings: MailerSettings

    async def send(self, message: EmailMessage) -> None:
        try:
            await send_message(self.settings, message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentSmtpError(f"recipient refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSmtpError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP unavailable: {exc!r}") from exc
