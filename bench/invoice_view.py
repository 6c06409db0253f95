"""The invoices the renderer benchmark renders, and an issued invoice as the strings a
layout prints: the data a typst template (or a hand-drawn ReportLab/fpdf2 layout) gets,
formatted exactly as the HTML template's filters format it (pdf_renderer.render), so every
engine prints the same text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from einvoice import demo, events
from einvoice.events import InvoiceIssued
from invoice_builder.issuing import issue
from pdf_renderer.render import _brand
from pdf_renderer.view import invoice_view as service_view

# --- samples ------------------------------------------------------------------------------


def _issued(invoice: dict[str, Any]) -> InvoiceIssued:
    request = events.InvoiceRequested.model_validate(
        invoice | {"invoice_id": "bench", "batch_id": "bench"}
    )
    issued = issue(request)
    assert isinstance(issued, InvoiceIssued), issued
    return issued


def _with_lines(invoice: dict[str, Any], lines: int) -> dict[str, Any]:
    template = invoice["lines"][0]
    named = [dict(template, name=f"{template['name']} {i + 1}") for i in range(lines)]
    return invoice | {"lines": named}


def issued_sample(lines: int) -> InvoiceIssued:
    """bench/run.py's realistic utility invoice (as of its `issued_sample`): a demo water
    invoice whose first line is repeated `lines` times."""
    invoice = demo.demo_invoices(1, seed=lines, period=date(2026, 10, 31))[0]
    return _issued(_with_lines(invoice, lines))


def issued_variants(lines: int, count: int, skip: int = 0) -> list[InvoiceIssued]:
    """`count` different invoices of the same shape (other buyers, numbers, quantities and
    amounts), after the sample and `skip` more: no engine can reuse an earlier render's
    work on the same invoice (typst memoizes, process-wide)."""
    invoices = demo.demo_invoices(1 + skip + count, seed=lines, period=date(2026, 10, 31))
    return [_issued(_with_lines(invoice, lines)) for invoice in invoices[1 + skip :]]


def retail_sample() -> InvoiceIssued:
    """A chain's FP invoice for a receipt: a company buyer with NIP, gross prices, three VAT
    rates, paid by card at the till."""
    groceries = [g for g in demo._GROCERIES if g[0].startswith(("Chleb", "Ser", "Kanap", "Kawa"))]
    rates = {"A": "23", "B": "8", "C": "5"}
    invoice = {
        "number": "FV/2026/11/000042",
        "issue_date": "2026-11-20",
        "sale_date": "2026-11-19",
        "price_basis": "gross",
        "seller": demo.DEMO_CHAIN_SELLER,
        "buyer": {
            "name": "Pracownia Architektoniczna Żółkiewski i Wspólnicy sp.j.",
            "nip": "5261040828",
            "address": {
                "street": "ul. Świętokrzyska 18/4",
                "postal_code": "00-052",
                "city": "Warszawa",
            },
            "email": "faktury@zolkiewski.example.pl",
        },
        "lines": [
            {
                "name": name,
                "quantity": "2" if unit == "szt." else "0.535",
                "unit": unit,
                "unit_price": price,
                "vat_rate": rates[letter],
            }
            for name, unit, price, letter in groceries
        ],
        "payment": {"method": "karta"},
    }
    receipt = events.ReceiptRef(
        receipt_id="bench-receipt",
        number="000123",
        store_id=demo.DEMO_STORE,
        purchased_at=datetime(2026, 11, 19, 17, 42, tzinfo=UTC),
    )
    return _issued(invoice).model_copy(update={"receipt": receipt})


# --- the view ------------------------------------------------------------------------------


def _party(party: Any) -> dict[str, Any]:
    return {
        "name": party.name,
        "nip": party.nip,
        "street": party.address.street,
        "postal_code": party.address.postal_code,
        "city": party.address.city,
        "country": party.address.country,
        "email": party.email,
    }


def invoice_view(
    invoice: InvoiceIssued, branding: dict[str, Any] | None = None, logo: str | None = None
) -> dict[str, Any]:
    """The service's view (pdf_renderer.view), with what the prototypes print differently:
    parties with postal code, city and country apart, and `logo` as the path (inside the
    compile root) of the chain's logo."""
    brand = _brand(branding)
    return service_view(invoice) | {
        "brand": {"primary": brand["primary"], "accent": brand["accent"]},
        "logo": logo,
        "seller": _party(invoice.seller),
        "buyer": _party(invoice.buyer),
    }
