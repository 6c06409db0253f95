"""invoice.issued -> a submission job (one per KSeF-bound invoice) -> invoice.registered or
invoice.ksef.rejected.

The Kafka handler only enqueues: KSeF is an outside system with sessions, rate limits and
minutes-long batch processing, so the submission happens in the dispatcher (`dispatch.py`)
from the outbox in MongoDB, where waiting survives restarts and is shared by replicas
(`einvoice.outbox`). The job's id is the invoice's id, so a redelivered `invoice.issued`
adds nothing; the outcome event's id derives from the issuing event's, so reporting it twice
(a crash between publishing and marking it published) repeats the same event.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypedDict

import fa3.qr
from einvoice import events
from einvoice.bus import Outgoing, PermanentError, emit
from einvoice.outbox import DONE, OutboxJob

INTERACTIVE_PRIORITY, BULK_PRIORITY = 0, 1


class SubmissionFields(TypedDict):
    tenant_id: str
    invoice_id: str
    batch_id: str
    number: str
    lane: str
    environment: events.KsefEnvironment
    context_nip: str
    fa3: dict[str, Any]  # events.Fa3Document
    # The invoice.issued event as it came (JSON): the outcome's cause and its invoice. Kept
    # as one opaque value, not a nested document: the database never looks into it, and a
    # pure-Python server (the local stack's) would decode and re-encode every field of it
    # on each of the job's writes.
    issued: bytes


class SubmissionOutcome(TypedDict, total=False):
    # Recorded as soon as KSeF took the invoice into a session: a replica that takes the
    # job over asks about it there instead of sending it again.
    mode: Literal["online", "batch"]
    session_reference: str
    invoice_reference: str
    # The end.
    ksef_number: str
    acquired_at: datetime
    upo: dict[str, Any]  # events.Fa3Document of the UPO
    code: int
    reasons: list[str]


class SubmissionJob(SubmissionFields, SubmissionOutcome, OutboxJob):
    pass


class Jobs(Protocol):
    async def enqueue(
        self,
        job_id: str,
        job: SubmissionFields,
        priority: int = 1,
        *,
        hold: timedelta | None = None,
    ) -> SubmissionJob | None: ...


@dataclass
class Deps:
    jobs: Jobs
    gather: timedelta  # how long a utility's invoices gather to travel together
    queued: Callable[[float], None] = lambda delay: None  # wakes the dispatcher then (s)


async def on_invoice_issued(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    if not event.payload.get("ksef"):
        return []  # outside KSeF (pdf-renderer renders it at once): not even parsed here
    invoice = events.parse_payload(event, events.InvoiceIssued)
    if invoice.ksef is None:
        return []
    if invoice.fa3 is None:
        raise PermanentError("a KSeF-bound invoice without its FA(3) XML (invoice.fa3)")
    job: SubmissionFields = {
        "tenant_id": event.tenant_id,
        "invoice_id": invoice.invoice_id,
        "batch_id": invoice.batch_id,
        "number": invoice.number,
        "lane": event.lane,
        "environment": invoice.ksef.environment,
        "context_nip": invoice.ksef.context_nip,
        "fa3": invoice.fa3.model_dump(mode="json"),
        "issued": event.model_dump_json().encode(),
    }
    interactive = event.lane == events.INTERACTIVE
    stored = await deps.jobs.enqueue(
        invoice.invoice_id, job, INTERACTIVE_PRIORITY if interactive else BULK_PRIORITY
    )
    if stored is not None:
        deps.queued(0.0 if interactive else deps.gather.total_seconds())
    return []


def issued_event(job: SubmissionFields) -> events.Envelope:
    """The job's invoice.issued event."""
    return events.Envelope.model_validate_json(job["issued"])


def base64url_of_hex(sha256_hex: str) -> str:
    """A SHA-256 as KOD I writes it: Base64URL without padding."""
    return base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).decode().rstrip("=")


def outcome(job: SubmissionJob) -> Outgoing:
    """The event that reports a finished job: the same event id however often it is made."""
    cause = issued_event(job)
    if job["state"] == DONE:
        invoice = events.InvoiceIssued.model_validate(cause.payload)
        document = events.Fa3Document.model_validate(job["fa3"])
        if invoice.seller.nip is None:  # FA(3) and KSeF need it: never issued without
            raise ValueError(f"invoice {invoice.invoice_id} has no seller NIP")
        registered = events.InvoiceRegistered(
            invoice=invoice,
            ksef_number=job["ksef_number"],
            acquired_at=job["acquired_at"],
            mode=job["mode"],
            session_reference=job["session_reference"],
            invoice_reference=job["invoice_reference"],
            verification_url=fa3.qr.link(
                invoice.seller.nip,
                invoice.issue_date,
                base64url_of_hex(document.sha256),
                job["environment"],
            ),
            upo=events.Fa3Document.model_validate(job["upo"]) if job.get("upo") else None,
        )
        return emit(events.INVOICE_REGISTERED, registered, key=job["invoice_id"], cause=cause)
    rejected = events.InvoiceKsefRejected(
        invoice_id=job["invoice_id"],
        batch_id=job["batch_id"],
        number=job["number"],
        code=job.get("code", 0),
        reasons=job.get("reasons") or ["KSeF did not accept the invoice"],
        session_reference=job.get("session_reference"),
        invoice_reference=job.get("invoice_reference"),
    )
    return emit(events.INVOICE_KSEF_REJECTED, rejected, key=job["invoice_id"], cause=cause)
