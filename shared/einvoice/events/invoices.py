"""The invoice's journey: requested by billing (or a shopper), issued or rejected, rendered,
mailed or failed, opened and confirmed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from einvoice.events.billing import (
    BillingPeriod,
    Fa3Document,
    KsefTarget,
    MeterReading,
    VatExemption,
)
from einvoice.events.envelope import Amount, EventModel, ShortText, Text, VatRate

# --- shared parts -----------------------------------------------------------------------


class Address(EventModel):
    street: Text
    postal_code: ShortText
    city: ShortText
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "PL"


class Party(EventModel):
    name: Text
    nip: ShortText | None = Field(default=None, description="Polish tax id, 10 digits.")
    address: Address
    email: Annotated[str, StringConstraints(max_length=254)] | None = None


class Payment(EventModel):
    method: ShortText = "przelew"
    due_date: date | None = None
    bank_account: ShortText | None = None


class LineIn(EventModel):
    name: Text
    quantity: Annotated[Decimal, Field(max_digits=12, decimal_places=4)]
    unit: ShortText = "szt."
    unit_price: Annotated[Decimal, Field(max_digits=14, decimal_places=4)] = Field(
        description="Net or gross unit price, as `price_basis` says."
    )
    vat_rate: VatRate


class Totals(EventModel):
    net: Amount
    vat: Amount
    gross: Amount


# --- payloads ----------------------------------------------------------------------------


class InvoiceRequested(EventModel):
    """A billing system (or a shopper, via the gateway) asks for one invoice."""

    invoice_id: ShortText
    batch_id: ShortText
    batch_size: int | None = Field(default=None, ge=1, le=100_000)
    number: ShortText
    customer_id: ShortText | None = Field(
        default=None,
        description="The billing system's id of the customer (echoed back in confirmations).",
    )
    issue_date: date
    sale_date: date | None = None
    price_basis: Literal["net", "gross"] = "net"
    currency: Literal["PLN"] = "PLN"
    seller: Party
    buyer: Party
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    payment: Payment = Payment()
    declared_totals: Totals | None = Field(
        default=None, description="Totals from the billing system; checked against the lines."
    )
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    billing_period: BillingPeriod | None = Field(
        default=None,
        description="The period a utility bills (FA(3) `OkresFa`); instead of `sale_date`.",
    )
    exemption: VatExemption | None = Field(
        default=None, description="The legal basis of the exemption; required with `zw` lines."
    )
    split_payment: bool = Field(
        default=False,
        description="Split payment (MPP, FA(3) `P_18A`): the law requires it for goods and "
        "services of annex 15 to the VAT act above 15,000 PLN gross to a business.",
    )
    buyer_jst: bool = Field(
        default=False,
        description="The invoice concerns a subordinate unit of a local government (JST "
        "marker); `buyer_unit` names the unit.",
    )
    buyer_vat_group: bool = Field(
        default=False,
        description="The invoice concerns a member of a VAT group (GV marker); `buyer_unit` "
        "names the member.",
    )
    buyer_unit: Party | None = Field(
        default=None,
        description="With `buyer_jst` or `buyer_vat_group`: the unit or member (with its NIP) "
        "the invoice concerns (FA(3) `Podmiot3`, role 8 or 10).",
    )
    meter_readings: list[MeterReading] = Field(
        default_factory=list, max_length=50, description="Meter readings, printed on the PDF."
    )


class LineOut(EventModel):
    position: int
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: VatRate
    net: Amount
    vat: Amount
    gross: Amount


class VatSummaryRow(EventModel):
    vat_rate: VatRate
    net: Amount
    vat: Amount
    gross: Amount


class ReceiptRef(EventModel):
    """The receipt a retail invoice was issued for (marked FP in KSeF's FA(3))."""

    receipt_id: str
    number: str
    store_id: str
    purchased_at: datetime


class InvoiceIssued(EventModel):
    """An invoice that passed validation, with every amount computed to the grosz."""

    invoice_id: str
    batch_id: str
    number: str
    issue_date: date
    sale_date: date | None
    price_basis: Literal["net", "gross"]
    currency: str
    seller: Party
    buyer: Party
    lines: list[LineOut]
    vat_summary: list[VatSummaryRow]
    totals: Totals
    payment: Payment
    notes: str | None = None
    receipt: ReceiptRef | None = Field(default=None, description="Set: issued for a receipt.")
    recipients: list[str] = Field(
        default_factory=list, description="Who gets the e-mail; empty: the buyer's e-mail."
    )
    customer_id: str | None = Field(
        default=None, description="The billing system's id of the customer (FA(3) `NrKlienta`)."
    )
    billing_period: BillingPeriod | None = None
    exemption: VatExemption | None = None
    split_payment: bool = False
    buyer_jst: bool = False
    buyer_vat_group: bool = False
    buyer_unit: Party | None = None
    meter_readings: list[MeterReading] = Field(default_factory=list)
    fa3: Fa3Document | None = Field(
        default=None, description="The FA(3) XML, stored when the invoice was issued."
    )
    ksef: KsefTarget | None = Field(
        default=None,
        description=(
            "Set: the invoice goes to KSeF and is rendered once it has its KSeF number "
            "(`invoice.registered`); None: it stays outside KSeF (a consumer invoice, or a "
            "tenant without KSeF) and is rendered at once."
        ),
    )


class InvoiceRejected(EventModel):
    invoice_id: str
    batch_id: str
    number: str | None = None
    reasons: list[str] = Field(min_length=1)


class PdfRendered(EventModel):
    invoice_id: str
    batch_id: str
    number: str
    issue_date: date
    s3_bucket: str
    s3_key: str
    sha256: str
    size_bytes: int
    seller_name: str
    buyer_name: str
    buyer_email: str | None
    total_gross: Amount
    currency: str
    due_date: date | None
    recipients: list[str] = Field(default_factory=list, description="Empty: buyer_email.")
    ksef_number: str | None = Field(
        default=None, description="The invoice's KSeF number; None: outside KSeF."
    )


class MailSent(EventModel):
    invoice_id: str
    batch_id: str
    recipient: str
    message_id: str
    link_id: str
    link_expires_at: datetime
    template_version: int


class MailFailed(EventModel):
    invoice_id: str
    batch_id: str
    recipient: str | None
    reason: str
    permanent: bool


class MailResendRequested(EventModel):
    """Send the invoice's e-mail again (to the same recipients) with a new link; every
    earlier link of the invoice is revoked."""

    invoice_id: ShortText
    batch_id: ShortText
    request_id: ShortText


class InvoiceOpened(EventModel):
    invoice_id: str
    batch_id: str
    link_id: str
    action: Literal["download", "view"]
    opened_at: datetime
    ip: str
    user_agent: str | None
    browser_signals: list[str] = Field(
        default_factory=list,
        description="What only a person's browser sends: accept-language, sec-fetch-user "
        "(a click), landing-cookie (the landing page was shown before the download).",
    )
    operator_view: bool = Field(
        default=False,
        description="The browser belongs to an operator of the invoice's tenant (it signed "
        "in to the operator pages): recorded, never a confirmation.",
    )


class InvoiceConfirmed(EventModel):
    """Feed for billing: a customer really opened the invoice."""

    invoice_id: str
    batch_id: str
    opened_at: datetime
    ip: str
    host: str | None
    user_agent: str | None
    first_open: bool


# --- KSeF ---------------------------------------------------------------------------------


class InvoiceRegistered(EventModel):
    """KSeF accepted the invoice: its KSeF number, when KSeF took it, and its UPO."""

    invoice: InvoiceIssued = Field(description="The invoice as issued (what the PDF shows).")
    ksef_number: str = Field(description="`<NIP>-<YYYYMMDD>-<12 hex>-<CRC-8 hex>`.")
    acquired_at: datetime = Field(description="When KSeF took the invoice (acquisitionDate).")
    mode: Literal["online", "batch"]
    session_reference: str
    invoice_reference: str
    verification_url: str = Field(description="KOD I: the link the PDF's QR code holds.")
    upo: Fa3Document | None = Field(
        default=None, description="The UPO (official receipt, XML) in object storage."
    )


class InvoiceKsefRejected(EventModel):
    """KSeF refused the invoice (or it could not be submitted for good): it is not a valid
    invoice and is neither rendered nor mailed; billing corrects and issues it again."""

    invoice_id: str
    batch_id: str
    number: str
    code: int = Field(description="KSeF's status code (e.g. 450: the XML is invalid).")
    reasons: list[str] = Field(min_length=1)
    session_reference: str | None = None
    invoice_reference: str | None = None
