"""SMTP and MongoDB adapters of the mailer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any

import aiosmtplib
from pymongo import ASCENDING, DESCENDING

from einvoice.bus import TransientError
from einvoice.mongo import CoalescedUpdates, Collection
from einvoice.readmodels.mailing import Link
from einvoice.smtp import SmtpPool, SmtpServer
from mailer.handlers import PermanentSmtpError


@dataclass
class MongoSendLog:
    """The links, and the finished and queued e-mails (the outbox's jobs) for resends."""

    sends: Collection
    links: Collection
    _link_writes: CoalescedUpdates = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # One insert command for the links of all the e-mails handled at once.
        self._link_writes = CoalescedUpdates(self.links)

    async def setup(self) -> None:
        await self.links.create_index("invoice_id")
        await self.sends.create_index([("tenant_id", ASCENDING), ("invoice_id", ASCENDING)])
        # The batch status asks how many of a batch's e-mails wait, and until when
        # (mailing.mail_waiting): without this index it scans every job (ADR 0007).
        await self.sends.create_index(
            [
                ("tenant_id", ASCENDING),
                ("batch_id", ASCENDING),
                ("state", ASCENDING),
                ("waiting_for", ASCENDING),
                ("due_at", ASCENDING),
            ]
        )

    async def save_link(self, record: Link) -> None:
        await self._link_writes.insert_one(dict(record))

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
    """Hands a message to an SMTP server over a pooled connection and sorts its refusals
    into permanent and temporary ones."""

    pool: SmtpPool = field(default_factory=SmtpPool)

    async def send(self, server: SmtpServer, message: Message) -> None:
        try:
            await self.pool.send(server, message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            said = "; ".join(f"SMTP {r.code} {r.message} ({r.recipient})" for r in exc.recipients)
            if exc.recipients and all(400 <= r.code < 500 for r in exc.recipients):
                raise TransientError(f"recipient deferred: {said}") from exc
            raise PermanentSmtpError(f"recipient refused: {said}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSmtpError(f"SMTP {exc.code}: {exc.message}") from exc
            raise TransientError(f"SMTP {exc.code}: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP unavailable: {exc!r}") from exc
