"""Invoice links: 256 random bits, shown once in the e-mail, stored only as a SHA-256 hash.

The record the gateway's landing page reads (`einvoice.readmodels.mailing.LINKS`) also names
the invoice's KSeF number, ``ksef_number``, when the invoice is in KSeF (left out otherwise).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from einvoice.readmodels.mailing import Link, token_hash


@dataclass(frozen=True)
class NewLink:
    token: str
    record: Link


def new_link(
    *,
    tenant_id: str,
    invoice_id: str,
    number: str,
    batch_id: str,
    s3_key: str,
    recipient: str,
    now: datetime,
    ttl_days: int,
    ksef_number: str | None = None,
) -> NewLink:
    token = secrets.token_urlsafe(32)
    record: Link = {
        "_id": token_hash(token),
        "link_id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "invoice_id": invoice_id,
        "number": number,
        "batch_id": batch_id,
        "s3_key": s3_key,
        "recipient": recipient,
        "created_at": now,
        "expires_at": now + timedelta(days=ttl_days),
        "revoked": False,
    }
    if ksef_number:
        record["ksef_number"] = ksef_number
    return NewLink(token=token, record=record)
