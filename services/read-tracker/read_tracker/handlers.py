"""Delivery status of every invoice, stage by stage, its KSeF status, and every recorded open.

Stages arrive on different topics, so their order across topics is not guaranteed: each stage
writes its own timestamp and readers derive the furthest stage reached. The KSeF status is
stored (the operator's pages filter on it), so it is only ever raised to a stronger one
(`tracking.KSEF_RANK`): the same status whatever order the events come in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from einvoice import events
from einvoice.bus import Outgoing
from einvoice.log import get_logger
from einvoice.readmodels import tracking
from read_tracker.scanners import scanner_flags

log = get_logger(__name__)


class Deliveries(Protocol):
    async def update(
        self,
        tenant_id: str,
        invoice_id: str,
        fields: tracking.DeliveryFields,
        on_insert: dict[str, str],
    ) -> None: ...
    async def get(self, tenant_id: str, invoice_id: str) -> tracking.Delivery | None: ...
    async def raise_ksef_status(
        self, tenant_id: str, invoice_id: str, status: tracking.KsefStatus
    ) -> None:
        """Set the delivery's `ksef_status` unless it has one as strong or stronger
        (`tracking.ksef_outranking`); the delivery exists (an `update` came first)."""
        ...

    async def register_batch(
        self, tenant_id: str, batch_id: str, size: int | None, at: datetime
    ) -> None:
        """Remember a batch (its first sighting wins)."""
        ...

    async def add_open(self, record: tracking.Open) -> bool:
        """Store an open once (by event id); False when it was already stored."""
        ...


class Webhooks(Protocol):
    """Enqueues webhook deliveries for tenants subscribed to the event (read_tracker.webhooks)."""

    async def invoice_confirmed(
        self, confirmation: events.Envelope, confirmed: events.InvoiceConfirmed
    ) -> bool: ...
    async def mail_failed(self, event: events.Envelope, failed: events.MailFailed) -> bool: ...


ReverseDns = Callable[[str], Awaitable[str | None]]


class StageHandler(Protocol):
    async def __call__(self, event: events.Envelope, deps: Deps) -> list[Outgoing]: ...


@dataclass
class Deps:
    deliveries: Deliveries
    reverse_dns: ReverseDns
    # An open this soon after sending, from a data-centre range, is a scanner's.
    scanner_window_seconds: int = 120
    webhooks: Webhooks | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _base(event: events.Envelope, batch_id: str) -> dict[str, str]:
    return {"tenant_id": event.tenant_id, "batch_id": batch_id}


async def on_requested(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    payload = event.payload
    invoice_id = payload.get("invoice_id")
    if not isinstance(invoice_id, str) or not invoice_id.strip() or len(invoice_id) > 128:
        return []  # the builder dead-letters it; nothing to account to a batch
    size = payload.get("batch_size")
    await deps.deliveries.register_batch(
        event.tenant_id,
        event.correlation_id,
        size if isinstance(size, int) else None,
        event.occurred_at,
    )
    buyer = payload.get("buyer")
    fields: tracking.DeliveryFields = {
        "requested_at": event.occurred_at,
        "number": _text(payload.get("number")),
        "customer_id": _text(payload.get("customer_id")),
        "buyer_name": _text(buyer.get("name")) if isinstance(buyer, dict) else None,
        "buyer_email": _text(buyer.get("email")) if isinstance(buyer, dict) else None,
    }
    await deps.deliveries.update(
        event.tenant_id, invoice_id, fields, _base(event, event.correlation_id)
    )
    return []


# The payloads of the stages recorded by `_stage_handler`: each names its invoice.
Stage = TypeVar(
    "Stage",
    events.InvoiceIssued,
    events.RetailInvoiceRequested,
    events.InvoiceRejected,
    events.InvoiceKsefRejected,
    events.PdfRendered,
    events.MailSent,
    events.MailFailed,
)


def _stage_handler(
    model: type[Stage],
    fields: Callable[[events.Envelope, Stage], tracking.DeliveryFields],
    ksef_status: Callable[[Stage], tracking.KsefStatus | None] = lambda p: None,
) -> StageHandler:
    """A handler that records one stage's fields on the invoice's delivery, and raises its
    KSeF status when the stage tells one."""

    async def handle(event: events.Envelope, deps: Deps) -> list[Outgoing]:
        p = events.parse_payload(event, model)
        await deps.deliveries.update(
            event.tenant_id,
            p.invoice_id,
            fields(event, p),
            _base(event, getattr(p, "batch_id", None) or event.correlation_id),
        )
        if status := ksef_status(p):
            await deps.deliveries.raise_ksef_status(event.tenant_id, p.invoice_id, status)
        return []

    return handle


def _issued_fields(p: events.InvoiceIssued) -> tracking.DeliveryFields:
    """What an issued invoice tells, from `invoice.issued` or the copy in
    `invoice.registered` (whichever comes first)."""
    fields: tracking.DeliveryFields = {
        "number": p.number,
        "issue_date": p.issue_date.isoformat(),
        "total_gross": str(p.totals.gross),
        "seller_name": p.seller.name,
        "buyer_name": p.buyer.name,
        "buyer_nip": p.buyer.nip,
        "store_id": p.receipt.store_id if p.receipt else None,
    }
    if p.fa3:
        fields |= {"fa3_key": p.fa3.s3_key, "fa3_sha256": p.fa3.sha256}
    if p.ksef:
        fields["ksef_environment"] = p.ksef.environment
    return fields


on_issued = _stage_handler(
    events.InvoiceIssued,
    lambda e, p: {"issued_at": e.occurred_at, **_issued_fields(p)},
    # Decided at issue: KSeF-bound invoices wait for their KSeF number, the others never.
    lambda p: "waiting" if p.ksef else "outside",
)


async def on_registered(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """KSeF took the invoice: its KSeF number, KSeF's time, the session and the UPO."""
    p = events.parse_payload(event, events.InvoiceRegistered)
    invoice = p.invoice
    fields: tracking.DeliveryFields = {
        **_issued_fields(invoice),
        "ksef_registered_at": event.occurred_at,
        "ksef_number": p.ksef_number,
        "ksef_acquired_at": p.acquired_at,
        "ksef_mode": p.mode,
        "ksef_session": p.session_reference,
        "ksef_invoice_reference": p.invoice_reference,
        "ksef_verification_url": p.verification_url,
    }
    if p.upo:
        fields |= {"upo_key": p.upo.s3_key, "upo_sha256": p.upo.sha256}
    await deps.deliveries.update(
        event.tenant_id, invoice.invoice_id, fields, _base(event, invoice.batch_id)
    )
    await deps.deliveries.raise_ksef_status(event.tenant_id, invoice.invoice_id, "registered")
    return []


# KSeF refused the invoice: it is failed (stage `ksef`), neither rendered nor mailed.
on_ksef_rejected = _stage_handler(
    events.InvoiceKsefRejected,
    lambda e, p: {
        "failed_at": e.occurred_at,
        "failed_stage": "ksef",
        "failure_reasons": p.reasons,
        "ksef_rejection_code": p.code,
        "number": p.number,
    },
    lambda p: "rejected",
)
# A shopper's request: its invoice is followed by the shopper (and the chain) by invoice id;
# its "batch" is the receipt.
on_retail_requested = _stage_handler(
    events.RetailInvoiceRequested,
    lambda e, p: {
        "requested_at": e.occurred_at,
        "kind": "retail",
        "shopper_id": p.shopper_id,
        "receipt_id": p.receipt_id,
        "buyer_name": p.buyer.name,
        "buyer_email": p.shopper_email,
        "buyer_nip": p.buyer.nip,
    },
)
on_rejected = _stage_handler(
    events.InvoiceRejected,
    lambda e, p: {
        "failed_at": e.occurred_at,
        "failed_stage": "issue",
        "failure_reasons": p.reasons,
    },
)
on_rendered = _stage_handler(
    events.PdfRendered,
    lambda e, p: {
        "rendered_at": e.occurred_at,
        "s3_key": p.s3_key,
        # A KSeF-bound invoice is rendered once registered, with its KSeF number.
        **({"ksef_number": p.ksef_number} if p.ksef_number else {}),
    },
    lambda p: "registered" if p.ksef_number else None,
)
on_mail_sent = _stage_handler(
    events.MailSent,
    lambda e, p: {
        "mailed_at": e.occurred_at,
        "recipient": p.recipient,
        "message_id": p.message_id,
    },
)
_record_mail_failed = _stage_handler(
    events.MailFailed,
    lambda e, p: {
        "failed_at": e.occurred_at,
        "failed_stage": "mail",
        "failure_reasons": [p.reason],
        "recipient": p.recipient,
    },
)


async def on_mail_failed(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """Record the failure; tell the tenant's webhook, if it listens for failures."""
    out = await _record_mail_failed(event, deps)
    if deps.webhooks:
        await deps.webhooks.mail_failed(event, events.parse_payload(event, events.MailFailed))
    return out


async def on_opened(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """Record every open; only one that looks like a person confirms the invoice."""
    p = events.parse_payload(event, events.InvoiceOpened)
    host = await deps.reverse_dns(p.ip)
    delivery = await deps.deliveries.get(event.tenant_id, p.invoice_id)
    mailed_at = delivery.get("mailed_at") if delivery else None
    flags = scanner_flags(p, mailed_at, window_seconds=deps.scanner_window_seconds)
    record: tracking.Open = {
        "_id": event.event_id,
        "tenant_id": event.tenant_id,
        "invoice_id": p.invoice_id,
        "batch_id": p.batch_id,
        "link_id": p.link_id,
        "action": p.action,
        "opened_at": p.opened_at,
        "ip": p.ip,
        "host": host,
        "user_agent": p.user_agent,
        "flags": flags,
        "counted": not flags,
    }
    await deps.deliveries.add_open(record)
    if flags:
        return []  # recorded for the operator, never a confirmation
    earlier = delivery.get("first_opened_at") if delivery else None
    # MongoDB keeps milliseconds: a redelivered first open compares equal within one.
    first_open = earlier is None or abs(earlier - p.opened_at) < timedelta(milliseconds=1)
    fields: tracking.DeliveryFields = {"last_opened_at": p.opened_at}
    if first_open:
        fields["first_opened_at"] = p.opened_at
        # When billing's feed learns of it: the feed's cursor runs on this.
        confirmed_at = delivery.get("confirmed_at") if delivery else None
        fields["confirmed_at"] = confirmed_at or deps.now()
    await deps.deliveries.update(event.tenant_id, p.invoice_id, fields, _base(event, p.batch_id))
    confirmed = events.InvoiceConfirmed(
        invoice_id=p.invoice_id,
        batch_id=p.batch_id,
        opened_at=p.opened_at,
        ip=p.ip,
        host=host,
        user_agent=p.user_agent,
        first_open=first_open,
    )
    confirmation = events.envelope(
        events.INVOICE_CONFIRMED,
        confirmed,
        tenant_id=event.tenant_id,
        correlation_id=event.correlation_id,
        cause=event,
    )
    if deps.webhooks:
        await deps.webhooks.invoice_confirmed(confirmation, confirmed)
    return [Outgoing.of(confirmation, p.invoice_id)]


async def on_dead_letter(record: ConsumerRecord, deps: Deps) -> list[Outgoing]:
    """A stage gave up on an event: show it in its batch as failed, with the reason."""
    try:
        dead = json.loads(record.value)
        event = events.Envelope.model_validate_json(dead["value"])
        failed_at = datetime.fromisoformat(dead["failed_at"])
    except (ValueError, TypeError, KeyError, ValidationError):
        log.warning(
            "dead letter without a readable envelope", topic=record.topic, offset=record.offset
        )
        return []
    # invoice.registered names its invoice inside the issued invoice it carries.
    inner = event.payload.get("invoice")
    invoice_id = (
        event.payload.get("invoice_id")
        or (inner.get("invoice_id") if isinstance(inner, dict) else None)
        or dead.get("key")
    )
    if not isinstance(invoice_id, str) or not invoice_id:
        return []
    batch_id = (
        event.payload.get("batch_id")
        or (inner.get("batch_id") if isinstance(inner, dict) else None)
        or event.correlation_id
    )
    fields: tracking.DeliveryFields = {
        "dead_letter_at": failed_at,
        "dead_letter_topic": record.topic,
        "dead_letter_reason": dead.get("reason"),
    }
    await deps.deliveries.update(
        event.tenant_id,
        invoice_id,
        fields,
        {"tenant_id": event.tenant_id, "batch_id": str(batch_id)},
    )
    return []


HANDLERS = {
    events.INVOICE_REQUESTED: on_requested,
    events.INVOICE_ISSUED: on_issued,
    events.INVOICE_REJECTED: on_rejected,
    events.INVOICE_REGISTERED: on_registered,
    events.INVOICE_KSEF_REJECTED: on_ksef_rejected,
    events.PDF_RENDERED: on_rendered,
    events.MAIL_SENT: on_mail_sent,
    events.MAIL_FAILED: on_mail_failed,
    events.INVOICE_OPENED: on_opened,
    events.RETAIL_REQUESTED: on_retail_requested,
}
DEAD_LETTER_TOPICS = [
    events.dlq_topic(t)
    for t in (
        events.INVOICE_REQUESTED,
        events.INVOICE_ISSUED,
        # pdf-renderer's: a registered invoice it could not take shows as failed
        events.INVOICE_REGISTERED,
        events.PDF_RENDERED,
        events.RETAIL_REQUESTED,
        events.RETAIL_RESERVED,
    )
]


def _text(value: object) -> str | None:
    return value[:512] if isinstance(value, str) else None
