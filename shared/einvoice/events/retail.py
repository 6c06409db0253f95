"""Retail: a till's receipt, and a shopper's request for an invoice of some of its lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from einvoice.events.envelope import Amount, EventModel, ShortText, Text, VatRate
from einvoice.events.invoices import LineIn, Party

# The PTU letters Polish fiscal printers print next to each line.
PTU_RATES: dict[str, str] = {"A": "23", "B": "8", "C": "5", "D": "0", "E": "zw"}


def _rate_or_ptu(value: object) -> object:
    if isinstance(value, str):
        value = value.strip().removesuffix("%")
        return PTU_RATES.get(value.upper(), value)
    return value


ReceiptVatRate = Annotated[VatRate, BeforeValidator(_rate_or_ptu)]
ReceiptCode = Annotated[
    str,
    BeforeValidator(
        lambda v: v.replace("-", "").replace(" ", "").upper() if isinstance(v, str) else v
    ),
    StringConstraints(pattern=r"^[A-Z0-9]{10,32}$"),
]


class ReceiptLine(EventModel):
    name: Text
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
    unit: ShortText = "szt."
    unit_gross: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
    vat_rate: ReceiptVatRate = Field(description="23, 8, 5, 0, zw, np, or the PTU letter A-E")
    gross: Amount


class ReceiptRateTotal(EventModel):
    vat_rate: ReceiptVatRate
    gross: Amount


class ReceiptScanned(EventModel):
    """A till's receipt. `code` is printed on it as text and as a QR code; a shopper types or
    scans it to claim the receipt."""

    receipt_id: ShortText = Field(description="Unique in the chain; the record's key.")
    store_id: ShortText
    till_id: ShortText
    number: ShortText
    issued_at: datetime
    lines: list[ReceiptLine] = Field(min_length=1, max_length=500)
    totals: list[ReceiptRateTotal] = Field(min_length=1, description="Gross total per VAT rate.")
    total_gross: Amount
    payment_method: ShortText = "gotówka"
    buyer_nip: ShortText | None = Field(default=None, description="NIP given at the till.")
    code: ReceiptCode


class Pick(EventModel):
    line: int = Field(ge=0, lt=500, description="Index of the receipt line.")
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]


class RetailInvoiceRequested(EventModel):
    """A shopper asks for an invoice for some lines of a claimed receipt (key: receipt id)."""

    invoice_id: ShortText
    receipt_id: ShortText
    shopper_id: ShortText
    shopper_email: Annotated[str, StringConstraints(max_length=254)]
    buyer_kind: Literal["person", "company"]
    buyer: Party
    picks: list[Pick] = Field(min_length=1, max_length=500)


class RetailInvoiceReserved(EventModel):
    """receipt-ingest reserved the picked quantities: the invoice's input, taken from the
    stored receipt (never from the shopper), for invoice-builder to number and issue."""

    invoice_id: str
    receipt_id: str
    receipt_number: str
    store_id: str
    purchased_at: datetime
    shopper_id: str
    shopper_email: str
    buyer_kind: Literal["person", "company"]
    buyer: Party
    lines: list[LineIn]
    payment_method: str
