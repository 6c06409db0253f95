"""The mailer's collections the gateway reads: invoice links (by their token's hash) and the
outbox of e-mails (one job per e-mail, to show what waits for a mailbox's limit or a retry).
The mailer is their only writer and names them through this module."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict, cast

from einvoice.mongo import Client, Database, service_db

LINKS = "links"

SENDS = "sends"  # the outbox: one job per e-mail


class Link(TypedDict):
    """An invoice link as the mailer stores it in LINKS, by its token's hash."""

    _id: str  # token_hash(token)
    link_id: str
    tenant_id: str
    invoice_id: str
    number: str
    batch_id: str
    s3_key: str
    recipient: str
    created_at: datetime
    expires_at: datetime
    revoked: bool
    cause_event_id: NotRequired[str]  # the event whose e-mail carries the link
    ksef_number: NotRequired[str | None]  # the invoice's KSeF number (pdf.rendered's)


def token_hash(token: str) -> str:
    """Links are stored by this hash only; the token itself lives in the e-mail."""
    return hashlib.sha256(token.encode()).hexdigest()


def mailer_db(client: Client) -> Database:
    return service_db(client, "mailer")


async def find_link(client: Client, token_hash: str) -> Link | None:
    """A live link by its token's hash (expired and revoked links are not returned)."""
    # LINKS holds only what the mailer stored through `Link`.
    link = cast(Link | None, await mailer_db(client)[LINKS].find_one({"_id": token_hash}))
    if not link or link.get("revoked"):
        return None
    expires = link["expires_at"]
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return link if expires > datetime.now(UTC) else None


async def mail_waiting(client: Client, tenant_id: str, batch_id: str) -> dict[str, Any]:
    """E-mails of the batch the mailer holds back: for a free slot of the mailbox (its
    sending limits), or for a retry after a temporary SMTP error; with the earliest time."""
    jobs = mailer_db(client)[SENDS]
    waiting: dict[str, Any] = {}
    for name, reason in (("for_mailbox_limit", "mailbox limit"), ("for_retry", "retry")):
        query = {
            "tenant_id": tenant_id,
            "batch_id": batch_id,
            "state": "queued",
            "waiting_for": reason,
        }
        first = await jobs.find_one(query, sort=[("due_at", 1)])
        waiting[name] = await jobs.count_documents(query) if first else 0
        waiting[f"{name}_next_at"] = first["due_at"] if first else None
    return waiting
