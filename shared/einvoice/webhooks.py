"""Webhooks to tenants' billing systems: the payloads, and their HMAC signature.

Every delivery is a POST of a JSON body with the header

    X-Einvoice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

made with the tenant's webhook secret. A receiver recomputes it over the raw body (`verify`)
and refuses stale timestamps, so a captured delivery cannot be replayed later.
`docs/webhooks.md` is the receivers' guide.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from einvoice import events
from einvoice.readmodels.tracking import Delivery
from einvoice.sealing import same_secret

SIGNATURE_HEADER = "X-Einvoice-Signature"
EVENT_HEADER = "X-Einvoice-Event"
DELIVERY_HEADER = "X-Einvoice-Delivery"
SCHEME = "v1"


class SignatureError(ValueError):
    """A signature header that is missing, malformed, stale or does not match the body."""


def new_secret() -> str:
    """A fresh signing secret (256 bits), as the tenant's operator copies it."""
    return "whsec_" + secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    raw = body.encode() if isinstance(body, str) else body
    return f"t={int(timestamp)},{SCHEME}={_digest(secret, int(timestamp), raw)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> int:
    """Check a signature header against the raw body; returns its timestamp, or raises
    SignatureError. Timestamps more than `tolerance` seconds from `now` are refused."""
    if not header:
        raise SignatureError("no signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance (a stale or replayed delivery)")
    raw = body.encode() if isinstance(body, str) else body
    expected = _digest(secret, timestamp, raw)
    # Several v1 values may be sent while a secret is being rotated; any match will do.
    if not any(same_secret(expected, c) for c in candidates):
        raise SignatureError("signature does not match the body")
    return timestamp


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(
    delivery_id: str, event_type: str, tenant_id: str, occurred_at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """The envelope of every webhook body; `id` stays the same across retries."""
    return {
        "id": delivery_id,
        "type": event_type,
        "tenant_id": tenant_id,
        "occurred_at": _iso(occurred_at),
        "data": data,
    }


def confirmed_payload(
    delivery_id: str,
    tenant_id: str,
    occurred_at: datetime,
    confirmed: events.InvoiceConfirmed,
    item: dict[str, Any],
) -> dict[str, Any]:
    """`invoice.confirmed`: the fields of the confirmations feed (`item`, the first open's
    IP, host and agent, and the count of counted opens) plus this open's own time and
    whether it was the first."""
    # The first open was stored before this is built; fall back to this open if not found.
    first = item if item.get("ip") else confirmed.model_dump()
    data = {
        "invoice_id": confirmed.invoice_id,
        "batch_id": confirmed.batch_id,
        "number": item.get("number"),
        "customer_id": item.get("customer_id"),
        "first_opened_at": _iso(item.get("first_opened_at") or confirmed.opened_at),
        "ip": first.get("ip"),
        "host": first.get("host"),
        "user_agent": first.get("user_agent"),
        "open_count": max(1, int(item.get("open_count") or 0)),
        "opened_at": _iso(confirmed.opened_at),
        "first_open": confirmed.first_open,
    }
    return payload(delivery_id, events.INVOICE_CONFIRMED, tenant_id, occurred_at, data)


def failed_payload(
    delivery_id: str,
    tenant_id: str,
    occurred_at: datetime,
    failed: events.MailFailed,
    delivery: Delivery | None,
) -> dict[str, Any]:
    """`mail.failed`: the invoice's e-mail could not be delivered, with the reason."""
    data = {
        "invoice_id": failed.invoice_id,
        "batch_id": failed.batch_id,
        "number": delivery.get("number") if delivery else None,
        "customer_id": delivery.get("customer_id") if delivery else None,
        "recipient": failed.recipient,
        "reason": failed.reason,
        "permanent": failed.permanent,
        "failed_at": _iso(occurred_at),
    }
    return payload(delivery_id, events.MAIL_FAILED, tenant_id, occurred_at, data)


def body_of(document: dict[str, Any]) -> str:
    """The exact bytes that are signed and sent (kept, so every retry sends the same)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
