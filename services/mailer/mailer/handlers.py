"""pdf.rendered -> one e-mail per recipient and invoice -> mail.sent | mail.failed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from jinja2 import TemplateError

from einvoice import events
from einvoice.bus import Outgoing, emit
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from mailer.composer import build_message, compose, default_template
from mailer.links import new_link

log = get_logger(__name__)


class PermanentSmtpError(Exception):
    """The server refused the message for good (5xx, invalid address)."""


class SendLog(Protocol):
    async def get(self, send_id: str) -> dict[str, Any] | None: ...
    async def last_pdf(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None: ...
    async def revoke_links(
        self, tenant_id: str, invoice_id: str, before: datetime, keep_cause: str
    ) -> None:
        """Revoke the invoice's links made before `before`, except those `keep_cause` made
        (a redelivered resend must not revoke the link it sent)."""
        ...

    async def save_link(self, record: dict[str, Any]) -> None: ...
    async def mark(self, send_id: str, record: dict[str, Any]) -> None: ...


class Smtp(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


@dataclass
class Deps:
    log: SendLog
    smtp: Smtp
    tenants: Tenants
    public_base_url: str
    default_sender: str
    message_domain: str = "einvoice.local"


async def on_pdf_rendered(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    pdf = events.parse_payload(event, events.PdfRendered)
    recipients = pdf.recipients or ([pdf.buyer_email] if pdf.buyer_email else [])
    if not recipients:
        return [_failed(event, pdf, None, "the buyer has no e-mail address")]
    # Several recipients (a shopper and the chain's accounting): one event each, told apart.
    tell_apart = len(recipients) > 1
    return [
        await _send_to(event, pdf, recipient, deps, recipient.lower() if tell_apart else "")
        for recipient in recipients
    ]


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
    return [
        await _send_to(
            event,
            pdf,
            recipient,
            deps,
            recipient.lower(),
            send_id=f"{event.tenant_id}/{pdf.invoice_id}/{recipient.lower()}/resend/"
            f"{request.request_id}",
        )
        for recipient in recipients
    ]


async def _send_to(
    event: events.Envelope,
    pdf: events.PdfRendered,
    recipient: str,
    deps: Deps,
    tag: str,
    send_id: str | None = None,
) -> Outgoing:
    send_id = send_id or f"{event.tenant_id}/{pdf.invoice_id}/{recipient.lower()}"
    done = await deps.log.get(send_id)
    if done and done["status"] in {"sent", "failed"}:
        return _outcome(event, pdf, done, tag)

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
    )
    url = f"{deps.public_base_url.rstrip('/')}/i/{link.token}"
    try:
        composed = compose(template, pdf, url, link.record["expires_at"].strftime("%d.%m.%Y"))
    except TemplateError as exc:  # the tenant's template is broken: no retry will help
        # Not written to the send log: once the template is fixed, a replay sends the mail.
        return _failed(event, pdf, recipient, f"the e-mail template does not render: {exc}", tag)
    await deps.log.save_link(
        link.record | {"cause_event_id": event.event_id}
    )  # before sending: the link works on arrival
    digest = hashlib.sha256(send_id.encode()).hexdigest()[:16]
    message_id = f"<{pdf.invoice_id}.{digest}@{deps.message_domain}>"
    sender = (tenant.mail_from if tenant and tenant.mail_from else None) or deps.default_sender
    message = build_message(
        composed,
        sender=sender,
        recipient=recipient,
        message_id=message_id,
        reply_to=tenant.reply_to if tenant else None,
    )
    record: dict[str, Any] = {
        "tenant_id": event.tenant_id,
        "invoice_id": pdf.invoice_id,
        "batch_id": pdf.batch_id,
        "recipient": recipient,
        "message_id": message_id,
        "link_id": link.record["link_id"],
        "link_expires_at": link.record["expires_at"],
        "template_version": composed.template_version,
        "cause_event_id": event.event_id,
        "at": now,
        "pdf": pdf.model_dump(mode="json"),  # what a resend composes the e-mail from
    }
    try:
        await deps.smtp.send(message)
    except PermanentSmtpError as exc:
        record |= {"status": "failed", "reason": str(exc)}
    else:
        record |= {"status": "sent"}
    await deps.log.mark(send_id, record)
    return _outcome(event, pdf, record, tag)


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
