"""invoice.issued -> PDF in object storage -> pdf.rendered."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from einvoice import events
from einvoice.bus import Outgoing, emit
from einvoice.storage import Objects, invoice_key

# (invoice, the tenant's branding: colours, logo, its own template) -> PDF bytes
Render = Callable[[events.InvoiceIssued, events.Branding | None], Awaitable[bytes]]


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
    invoice = events.parse_payload(event, events.InvoiceIssued)
    key = pdf_key(event.tenant_id, invoice)
    tenant = deps.tenants.get(event.tenant_id)
    pdf = await deps.render(invoice, tenant.branding if tenant else None)
    sha256, size = hashlib.sha256(pdf).hexdigest(), len(pdf)
    metadata = {"sha256": sha256, "invoice-id": invoice.invoice_id}
    # Written only if no object has the key yet (a conditional PUT): one request instead of
    # asking first, and a redelivery, which renders again, leaves the first PDF in place.
    if not await deps.store.put(key, pdf, "application/pdf", metadata, only_new=True):
        existing = await deps.store.head(key)
        if existing and existing["metadata"].get("sha256"):
            sha256, size = existing["metadata"]["sha256"], existing["size"]  # announce it
        else:  # an object without its digest (written by hand?): this render replaces it
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
    )
    return [emit(events.PDF_RENDERED, rendered, key=invoice.invoice_id, cause=event)]
