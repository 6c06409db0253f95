"""Which invoices go to KSeF, decided once, when the invoice is issued, from the tenant's KSeF
settings at that moment, and carried in `invoice.issued` (`ksef`): a later change of the
settings never moves an invoice already issued, and billing can report each invoice's route."""

from __future__ import annotations

from einvoice import events


def ksef_target(
    settings: events.KsefSettings | None, invoice: events.InvoiceIssued
) -> events.KsefTarget | None:
    """Where the invoice goes in KSeF; None: it stays outside KSeF.

    Business buyers (with a NIP) always go, from the tenant's start date (the issue date,
    `P_1`, a Europe/Warsaw day); consumers only when the tenant chose so."""
    if settings is None or invoice.issue_date < settings.start_date:
        return None
    if invoice.buyer.nip is None and settings.consumers == "outside":
        return None
    return events.KsefTarget(environment=settings.environment, context_nip=settings.context_nip)


def routed(
    invoice: events.InvoiceIssued, tenant: events.TenantConfig | None
) -> events.InvoiceIssued:
    """The invoice with its KSeF route."""
    target = ksef_target(tenant.ksef if tenant else None, invoice)
    return invoice.model_copy(update={"ksef": target}) if target else invoice
