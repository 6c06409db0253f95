"""An issued invoice as the strings a layout prints.

Every value is formatted once, here, with `invoice_pdf.render`'s own filters, so the
drawn default layout (`invoice_pdf.drawn`), the HTML template and a later typst template
print the same text ("1 234,56", "23%", ISO dates, the grouped bank account, "Słownie").
A layout only places these strings; it never does arithmetic on money.
"""

from __future__ import annotations

from typing import Any

from einvoice.events import Branding, InvoiceIssued, Party
from invoice_pdf.ksef import KsefMark
from invoice_pdf.render import (
    PRICE_LABELS,
    _brand,
    format_bank_account,
    format_date,
    format_money,
    format_quantity,
    format_unit_price,
    format_vat_rate,
)
from invoice_pdf.words import amount_in_words

__all__ = ["invoice_view"]


def _party(party: Party) -> dict[str, Any]:
    address = party.address
    city = f"{address.postal_code} {address.city}"
    if address.country != "PL":
        city += f", {address.country}"
    return {
        "name": party.name,
        "nip": party.nip,
        "street": address.street,
        "city": city,
        "email": party.email,
    }


def invoice_view(
    invoice: InvoiceIssued, branding: Branding | None = None, ksef: KsefMark | None = None
) -> dict[str, Any]:
    """Plain JSON-able data; ``logo`` is the brand's PNG as base64 (or None); ``ksef`` the
    KSeF mark (``number``, and ``url``: KOD I, which the QR code holds), or None."""
    brand = _brand(branding.model_dump() if branding else None)
    money = format_money
    return {
        "title": f"Faktura VAT nr {invoice.number}",
        "number": invoice.number,
        "issue_date": format_date(invoice.issue_date),
        "sale_date": format_date(invoice.sale_date or invoice.issue_date),
        "price_label": PRICE_LABELS[invoice.price_basis],
        "currency": invoice.currency,
        "brand": {"primary": brand["primary"], "accent": brand["accent"]},
        "logo": branding.logo_png_base64 if branding else None,
        "seller": _party(invoice.seller),
        "buyer": _party(invoice.buyer),
        "lines": [
            {
                "position": str(line.position),
                "name": line.name,
                "quantity": format_quantity(line.quantity),
                "unit": line.unit,
                "unit_price": format_unit_price(line.unit_price),
                "net": money(line.net),
                "vat_rate": format_vat_rate(line.vat_rate),
                "vat": money(line.vat),
                "gross": money(line.gross),
            }
            for line in invoice.lines
        ],
        "vat_summary": [
            {
                "vat_rate": format_vat_rate(row.vat_rate),
                "net": money(row.net),
                "vat": money(row.vat),
                "gross": money(row.gross),
            }
            for row in invoice.vat_summary
        ],
        "totals": {
            "net": money(invoice.totals.net),
            "vat": money(invoice.totals.vat),
            "gross": money(invoice.totals.gross),
        },
        "amount_in_words": amount_in_words(invoice.totals.gross, invoice.currency),
        "payment": {
            "method": invoice.payment.method,
            "due_date": format_date(invoice.payment.due_date) or "—",
            "bank_account": format_bank_account(invoice.payment.bank_account) or None,
        },
        "receipt": (
            {
                "number": invoice.receipt.number,
                "purchased_on": format_date(invoice.receipt.purchased_at),
            }
            if invoice.receipt
            else None
        ),
        "exemption": invoice.exemption.text if invoice.exemption else None,
        "notes": invoice.notes,
        "ksef": {"number": ksef.number, "url": ksef.url} if ksef else None,
    }
