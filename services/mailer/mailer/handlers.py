"""pdf.rendered -> one e-mail per recipient and invoice, queued in the mailer's outbox.

The dispatcher (mailer.dispatch) sends queued e-mails within each mailbox's limits and
reports `mail.sent` or `mail.failed`."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any, NotRequired, Protocol, TypedDict

from jinja2 import TemplateError

from einvoice import events
from einvoice.bus import Outgoing, emit
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from einvoice.outbox import OutboxJob
from einvoice.readmodels.mailing import Link
from mailer.composer import Composed, build_message, compose, default_template
from mailer.links import new_link

log = get_logger(__name__)


class PermanentSmtpError(Exception):
    """The server refused the message for good (5xx, invalid address)."""


class MailFields(TypedDict):
    """One e-mail as the handlers queue it: composed, with what its report needs."""

    tenant_id: str
    invoice_id: str
    batch_id: str
    recipient: str
    message_id: str
    sender: str
    reply_to: str | None
    subject: str
    # The bodies; left out of the jobs read for their report (Outbox.unpublished's without).
    html: NotRequired[str]
    text: NotRequired[str]
    link_id: str
    link_expires_at: datetime
    template_version: int
    cause: dict[str, Any]  # the event that asked for the e-mail (events.Envelope, as JSON)
    tag: str  # tells the reports of one event's several recipients apart
    at: datetime
    pdf: dict[str, Any]  # what a resend composes the e-mail from (events.PdfRendered, as JSON)


class MailOutcome(TypedDict, total=False):
    """What a finished e-mail records: when the server took it, or why it failed."""

    sent_at: datetime
    reason: str


class MailJob(MailFields, MailOutcome, OutboxJob):
    """A job of the mailer's outbox (mailing.SENDS): one per e-mail and recipient."""


class Jobs(Protocol):
    """The mailer's outbox (einvoice.outbox.Outbox): one job per e-mail."""

    async def get(self, job_id: str) -> MailJob | None: ...
    async def enqueue(
        self,
        job_id: str,
        job: MailFields,
        priority: int = 1,
        *,
        hold: timedelta | None = None,
    ) -> MailJob | None: ...


class SendLog(Protocol):
    async def last_pdf(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None: ...
    async def revoke_links(
        self, tenant_id: str, invoice_id: str, before: datetime, keep_cause: str
    ) -> None:
        """Revoke the invoice's links made before `before`, except those `keep_cause` made
        (a redelivered resend must not revoke the link it sent)."""
        ...

    async def save_link(self, record: Link) -> None: ...


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


@dataclass
class Deps:
    log: SendLog
    jobs: Jobs
    tenants: Tenants
    public_base_url: str
    default_sender: str
    message_domain: str = "einvoice.local"
    # hands a queued job to this replica's dispatcher (mailer.dispatch.Dispatcher.queued)
    queued: Callable[[MailJob], Awaitable[None]] | None = None
    # how long a batch's job handed to `queued` is stored claimed by this replica
    # (mailer.dispatch.Dispatcher.handoff_lease); None: stored queued, claimed when sent
    handoff_lease: timedelta | None = None


# Shoppers wait at a phone for their invoice, and an operator's resend is a person waiting
# too: their e-mails (the interactive lane) go before a utility's monthly batch.
INTERACTIVE, BULK = 0, 1


async def on_pdf_rendered(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    pdf = events.parse_payload(event, events.PdfRendered)
    recipients = pdf.recipients or ([pdf.buyer_email] if pdf.buyer_email else [])
    if not recipients:
        return [_failed(event, pdf, None, "the buyer has no e-mail address")]
    priority = INTERACTIVE if event.lane == events.INTERACTIVE else BULK
    # Several recipients (a shopper and the chain's accounting): one event each, told apart.
    tell_apart = len(recipients) > 1
    out: list[Outgoing] = []
    for recipient in recipients:
        tag = recipient.lower() if tell_apart else ""
        out += await _enqueue(event, pdf, recipient, deps, tag, priority=priority)
    return out


async def on_resend_requested(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """The operator asked to send the e-mail again: a new link for each recipient, and every
    link of the invoice made before this request revoked."""
    request = events.parse_payload(event, events.MailResendRequested)
    stored = await deps.log.last_pdf(event.tenant_id, request.invoice_id)
    if stored is None:
        log.warning("nothing to send again yet", invoice_id=request.invoice_id)
        return []
    pdf = events.PdfRendered.model_validate(stored)
    await deps.log.revoke_links(
        event.tenant_id, request.invoice_id, before=event.occurred_at, keep_cause=event.event_id
    )
    recipients = pdf.recipients or ([pdf.buyer_email] if pdf.buyer_email else [])
    out: list[Outgoing] = []
    for recipient in recipients:
        send_id = (
            f"{event.tenant_id}/{pdf.invoice_id}/{recipient.lower()}/resend/{request.request_id}"
        )
        out += await _enqueue(
            event, pdf, recipient, deps, recipient.lower(), send_id=send_id, priority=INTERACTIVE
        )
    return out


async def _enqueue(
    event: events.Envelope,
    pdf: events.PdfRendered,
    recipient: str,
    deps: Deps,
    tag: str,
    *,
    priority: int,
    send_id: str | None = None,
) -> list[Outgoing]:
    """Compose the e-mail with a fresh link and queue it; the dispatcher sends it within the
    mailbox's limits and reports `mail.sent` or `mail.failed`."""
    send_id = send_id or f"{event.tenant_id}/{pdf.invoice_id}/{recipient.lower()}"
    if await deps.jobs.get(send_id) is not None:
        return []  # a redelivery: the job exists and reports its own outcome

    tenant = deps.tenants.get(event.tenant_id)
    template = (tenant.email_template if tenant else None) or default_template()
    now = datetime.now(UTC)
    link = new_link(
        tenant_id=event.tenant_id,
        invoice_id=pdf.invoice_id,
        number=pdf.number,
        batch_id=pdf.batch_id,
        s3_key=pdf.s3_key,
        recipient=recipient,
        now=now,
        ttl_days=tenant.link_ttl_days if tenant else 90,
        ksef_number=pdf.ksef_number,
    )
    url = f"{deps.public_base_url.rstrip('/')}/i/{link.token}"
    try:
        composed = compose(template, pdf, url, link.record["expires_at"].strftime("%d.%m.%Y"))
    except TemplateError as exc:  # the tenant's template is broken: no retry will help
        # Nothing is queued: once the template is fixed, a replay sends the mail.
        return [_failed(event, pdf, recipient, f"the e-mail template does not render: {exc}", tag)]
    await deps.log.save_link(
        link.record | {"cause_event_id": event.event_id}
    )  # before sending: the link works on arrival
    digest = hashlib.sha256(send_id.encode()).hexdigest()[:16]
    job: MailFields = {
        "tenant_id": event.tenant_id,
        "invoice_id": pdf.invoice_id,
        "batch_id": pdf.batch_id,
        "recipient": recipient,
        "message_id": f"<{pdf.invoice_id}.{digest}@{deps.message_domain}>",
        "sender": (tenant.mail_from if tenant and tenant.mail_from else None)
        or deps.default_sender,
        "reply_to": tenant.reply_to if tenant else None,
        "subject": composed.subject,
        "html": composed.html,
        "text": composed.text,
        "link_id": link.record["link_id"],
        "link_expires_at": link.record["expires_at"],
        "template_version": composed.template_version,
        "cause": event.model_dump(mode="json"),
        "tag": tag,
        "at": now,
        "pdf": pdf.model_dump(mode="json"),  # what a resend composes the e-mail from
    }
    # A batch's job handed to this replica's dispatcher is stored claimed by this replica,
    # under a lease long enough for the hand-off's wait: no claim write later. A shopper's
    # or operator's job stays queued, for any replica to take at once should this one die.
    hold = deps.handoff_lease if deps.queued is not None and priority == BULK else None
    stored = await deps.jobs.enqueue(send_id, job, priority=priority, hold=hold)
    if stored is not None and deps.queued is not None:
        await deps.queued(stored)
    return []


def message_of(job: MailJob) -> Message:
    composed = Composed(job["subject"], job["html"], job["text"], job["template_version"])
    return build_message(
        composed,
        sender=job["sender"],
        recipient=job["recipient"],
        message_id=job["message_id"],
        reply_to=job.get("reply_to"),
    )


def outcome(job: MailJob) -> Outgoing:
    """The event that reports a finished job: the same event id however often it is made."""
    cause = events.Envelope.model_validate(job["cause"])
    pdf = events.PdfRendered.model_validate(job["pdf"])
    record = {"status": "sent" if job["state"] == "done" else "failed"} | job
    return _outcome(cause, pdf, record, job.get("tag", ""))


def _outcome(
    event: events.Envelope, pdf: events.PdfRendered, record: dict[str, Any], tag: str = ""
) -> Outgoing:
    if record["status"] == "failed":
        return _failed(event, pdf, record["recipient"], record["reason"], tag)
    sent = events.MailSent(
        invoice_id=pdf.invoice_id,
        batch_id=pdf.batch_id,
        recipient=record["recipient"],
        message_id=record["message_id"],
        link_id=record["link_id"],
        link_expires_at=record["link_expires_at"],
        template_version=record["template_version"],
    )
    return emit(events.MAIL_SENT, sent, key=pdf.invoice_id, cause=event, discriminator=tag)


def _failed(
    event: events.Envelope,
    pdf: events.PdfRendered,
    recipient: str | None,
    reason: str,
    tag: str = "",
) -> Outgoing:
    STAGE_FAILURES.labels("mailer", "mail", "permanent").inc()
    log.info("mail failed", invoice_id=pdf.invoice_id, reason=reason)
    failed = events.MailFailed(
        invoice_id=pdf.invoice_id,
        batch_id=pdf.batch_id,
        recipient=recipient,
        reason=reason,
        permanent=True,
    )
    return emit(events.MAIL_FAILED, failed, key=pdf.invoice_id, cause=event, discriminator=tag)
