"""invoice.issued -> PDF in object storage -> pdf.rendered; an invoice that goes to KSeF
waits for invoice.registered and is rendered with its KSeF mark."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

from einvoice import events
from einvoice.bus import Outgoing, emit
from einvoice.storage import Objects, invoice_key
from invoice_pdf.ksef import KsefMark


class Render(Protocol):
    """(invoice, the tenant's branding: colours, logo, its own template, and the KSeF mark of
    an invoice registered in KSeF) -> PDF bytes (`invoice_pdf.drawn.render_for`)."""

    def __call__(
        self,
        invoice: events.InvoiceIssued,
        branding: events.Branding | None,
        /,
        ksef: KsefMark | None = None,
    ) -> Awaitable[bytes]: ...


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


class NoTenants:
    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return None


@dataclass
class Deps:
    store: Objects
    render: Render
    tenants: Tenants = field(default_factory=NoTenants)


def pdf_key(tenant_id: str, invoice: events.InvoiceIssued) -> str:
    """Deterministic: one PDF object per invoice, whatever the number of redeliveries."""
    return invoice_key(tenant_id, invoice, "pdf")


async def on_invoice_issued(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """Render an invoice outside KSeF at once. One that goes to KSeF (`ksef` set) is not a
    valid invoice until KSeF gives it a number: it is rendered on `invoice.registered`."""
    if event.payload.get("ksef"):
        return []  # rendered once registered in KSeF (not parsed here: that comes then)
    invoice = events.parse_payload(event, events.InvoiceIssued)
    return await _render(event, invoice, deps, None)


async def on_invoice_registered(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    """KSeF took the invoice: render it with its mark (the QR code of KOD I and the KSeF
    number under it), under the invoice's one key, and announce it with its KSeF number."""
    registered = events.parse_payload(event, events.InvoiceRegistered)
    mark = KsefMark(number=registered.ksef_number, url=registered.verification_url)
    return await _render(event, registered.invoice, deps, mark)


# The object's metadata key that names the KSeF number its PDF shows.
KSEF_METADATA = "ksef-number"


def _kept(metadata: dict[str, str], mark: KsefMark | None) -> bool:
    """Whether a stored PDF is the one to announce: it has its digest and, for an invoice
    registered in KSeF, shows this KSeF number. Otherwise (written by hand? drawn before KSeF
    numbered the invoice?) this render replaces it."""
    if not metadata.get("sha256"):
        return False
    return mark is None or metadata.get(KSEF_METADATA) == mark.number


async def _render(
    event: events.Envelope,
    invoice: events.InvoiceIssued,
    deps: Deps,
    mark: KsefMark | None,
) -> list[Outgoing]:
    key = pdf_key(event.tenant_id, invoice)
    tenant = deps.tenants.get(event.tenant_id)
    branding = tenant.branding if tenant else None
    if mark is None:
        pdf = await deps.render(invoice, branding)
    else:
        pdf = await deps.render(invoice, branding, ksef=mark)
    sha256, size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    metadata = {"sha256": sha256, "invoice-id": invoice.invoice_id}
    if mark is not None:
        metadata[KSEF_METADATA] = mark.number
    # Written only if no object has the key yet (a conditional PUT): one request instead of
    # asking first, and a redelivery, which renders again, leaves the first PDF in place.
    if not await deps.store.put(key, pdf, "application/pdf", metadata, only_new=True):
        existing = await deps.store.head(key)
        if existing and _kept(existing["metadata"], mark):
            sha256, size = existing["metadata"]["sha256"], existing["size"]  # announce it
        else:
            await deps.store.put(key, pdf, "application/pdf", metadata)
    rendered = events.PdfRendered(
        invoice_id=invoice.invoice_id,
        batch_id=invoice.batch_id,
        number=invoice.number,
        issue_date=invoice.issue_date,
        s3_bucket=deps.store.bucket,
        s3_key=key,
        sha256=sha256,
        size_bytes=size,
        seller_name=invoice.seller.name,
        buyer_name=invoice.buyer.name,
        buyer_email=invoice.buyer.email,
        total_gross=invoice.totals.gross,
        currency=invoice.currency,
        due_date=invoice.payment.due_date,
        recipients=invoice.recipients,
        ksef_number=mark.number if mark else None,
    )
    return [emit(events.PDF_RENDERED, rendered, key=invoice.invoice_id, cause=event)]
