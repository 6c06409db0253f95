"""A realistic utility invoice for the PDF tests, and what a reader finds in a PDF: its
text, and the fonts its text is drawn in."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from pypdf import PdfReader
from pypdf.generic import ContentStream

from einvoice.events import (
    Address,
    InvoiceIssued,
    LineOut,
    Party,
    Payment,
    Totals,
    VatExemption,
    VatSummaryRow,
)

D = Decimal

SELLER = "Zakład Gospodarki Komunalnej Łódź Sp. z o.o."
BUYER = "Józef Żółć-Ślęzak"
BUYER_NIP = "5261040828"
NUMBER = "FV/2024/01/000123"


def invoice_line(
    pos: int, name: str, qty: str, unit: str, price: str, rate: str, net: str, vat: str, gross: str
) -> LineOut:
    return LineOut(
        position=pos,
        name=name,
        quantity=D(qty),
        unit=unit,
        unit_price=D(price),
        vat_rate=rate,
        net=D(net),
        vat=D(vat),
        gross=D(gross),
    )  # type: ignore[arg-type]


def make_invoice(**changes: object) -> InvoiceIssued:
    invoice = InvoiceIssued(
        invoice_id="inv-1",
        batch_id="batch-1",
        number=NUMBER,
        issue_date=date(2024, 1, 31),
        sale_date=date(2024, 1, 30),
        price_basis="net",
        currency="PLN",
        seller=Party(
            name=SELLER,
            nip="7251234567",
            address=Address(street="ul. Piotrkowska 104", postal_code="90-926", city="Łódź"),
            email="faktury@zgk-lodz.pl",
        ),
        buyer=Party(
            name=BUYER,
            nip=BUYER_NIP,
            address=Address(street="ul. Źródlana 5", postal_code="80-001", city="Gdańsk"),
        ),
        lines=[
            invoice_line(1, "Dostawa wody", "12.5", "m³", "8.42", "8", "105.25", "8.42", "113.67"),
            invoice_line(
                2, "Odprowadzanie ścieków", "12.5", "m³", "11.30", "8", "141.25", "11.30", "152.55"
            ),
            invoice_line(
                3, "Opłata abonamentowa", "1", "szt.", "850", "23", "850.00", "195.50", "1045.50"
            ),
            invoice_line(
                4, "Wywóz nieczystości", "1", "usł.", "50", "zw", "50.00", "0.00", "50.00"
            ),
        ],
        vat_summary=[
            VatSummaryRow(vat_rate="23", net=D("850.00"), vat=D("195.50"), gross=D("1045.50")),
            VatSummaryRow(vat_rate="8", net=D("246.50"), vat=D("19.72"), gross=D("266.22")),
            VatSummaryRow(vat_rate="zw", net=D("50.00"), vat=D("0.00"), gross=D("50.00")),
        ],
        totals=Totals(net=D("1146.50"), vat=D("215.22"), gross=D("1361.72")),
        payment=Payment(
            method="przelew", due_date=date(2024, 2, 14), bank_account="61109010140000071219812874"
        ),
        notes="Zażółć gęślą jaźń. ZAŻÓŁĆ GĘŚLĄ JAŹŃ.",
        exemption=VatExemption(basis="act", text="art. 43 ust. 1 pkt 22 ustawy o VAT"),
    )
    return invoice.model_copy(update=changes) if changes else invoice


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts_drawing_text(reader: PdfReader) -> dict[str, dict]:
    """Every font a text-showing operator (Tj, TJ, ', ") actually uses, by resource name."""
    used: dict[str, dict] = {}
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
            elif operator in (b"Tj", b"TJ", b"'", b'"') and current is not None:
                shown = operands[-1]
                if isinstance(shown, list):
                    shown = b"".join(
                        bytes(part.original_bytes if hasattr(part, "original_bytes") else b"")
                        for part in shown
                    )
                elif hasattr(shown, "original_bytes"):
                    shown = shown.original_bytes
                if shown and bytes(shown).strip():
                    used[current] = fonts[current].get_object()
    return used
