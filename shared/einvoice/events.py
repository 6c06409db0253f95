"""Every event the platform exchanges: the envelope, the topic names and the payload schemas.

This module is the single contract between services. `docs/events.md` is generated from it
(`einvoice schemas --markdown`), so a POS or billing system in any language can produce the
same events with a plain Kafka client.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1

# Topic names. The five from the design card are fixed; the rest complete the set.
RECEIPT_SCANNED = "receipt.scanned"
INVOICE_REQUESTED = "invoice.requested"
INVOICE_ISSUED = "invoice.issued"
INVOICE_REJECTED = "invoice.rejected"
PDF_RENDERED = "pdf.rendered"
MAIL_SENT = "mail.sent"
MAIL_FAILED = "mail.failed"
INVOICE_OPENED = "invoice.opened"
INVOICE_CONFIRMED = "invoice.confirmed"
TENANT_CONFIG = "tenant.config"
# Retail: a shopper's request goes first to receipt-ingest, the owner of the receipt lines,
# which reserves the picked quantities and hands invoice-builder a trusted invoice input.
RETAIL_REQUESTED = "retail.invoice.requested"
RETAIL_RESERVED = "retail.invoice.reserved"
# An operator's command: send the invoice's e-mail again with a new link, revoking the old.
MAIL_RESEND_REQUESTED = "mail.resend.requested"

EVENT_TOPICS = (
    RECEIPT_SCANNED,
    INVOICE_REQUESTED,
    INVOICE_ISSUED,
    INVOICE_REJECTED,
    PDF_RENDERED,
    MAIL_SENT,
    MAIL_FAILED,
    INVOICE_OPENED,
    INVOICE_CONFIRMED,
    RETAIL_REQUESTED,
    RETAIL_RESERVED,
    MAIL_RESEND_REQUESTED,
)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


# Lanes (ADR 0010). A shopper waits at a phone for one invoice while a utility's batch of
# 100,000 may be queued on the same topics. Work somebody waits for travels in the
# interactive lane: its events of the stages a batch floods go to `<type>.interactive`
# topics, which every service consumes in a loop of its own, so they never queue behind
# bulk records. The lane is set where the work starts and every caused event inherits it.
Lane = Literal["bulk", "interactive"]
BULK: Lane = "bulk"
INTERACTIVE: Lane = "interactive"
INTERACTIVE_SUFFIX = ".interactive"
LANED_TOPICS = (INVOICE_ISSUED, INVOICE_REJECTED, PDF_RENDERED, MAIL_SENT, MAIL_FAILED)
# Topics that only ever carry interactive work (they are consumed in the interactive loop).
INTERACTIVE_TOPICS = frozenset({RETAIL_REQUESTED, RETAIL_RESERVED, MAIL_RESEND_REQUESTED})


def topic_for(event_type: str, lane: str) -> str:
    """The topic an event of this type travels on in this lane."""
    if lane == INTERACTIVE and event_type in LANED_TOPICS:
        return event_type + INTERACTIVE_SUFFIX
    return event_type


def type_of_topic(topic: str) -> str:
    """The event type a topic carries (a lane's topic carries its base type)."""
    base = topic.removesuffix(INTERACTIVE_SUFFIX)
    return base if base in LANED_TOPICS else topic


def is_interactive_topic(topic: str) -> bool:
    return topic.endswith(INTERACTIVE_SUFFIX) or topic in INTERACTIVE_TOPICS


LANE_TOPICS = tuple(t + INTERACTIVE_SUFFIX for t in LANED_TOPICS)

# Partition counts bound each consumer group's parallelism; keep them explicit.
TOPIC_PARTITIONS: dict[str, int] = {topic: 6 for topic in (*EVENT_TOPICS, *LANE_TOPICS)}
TOPIC_PARTITIONS |= {dlq_topic(topic): 1 for topic in (*EVENT_TOPICS, *LANE_TOPICS)}
TOPIC_PARTITIONS[TENANT_CONFIG] = 1
# Which dead letters `einvoice dlq replay` sent back (einvoice_tools.dlq), keyed by dead letter.
DLQ_REPLAYED = "dlq.replayed"
TOPIC_PARTITIONS[DLQ_REPLAYED] = 1
COMPACTED_TOPICS = frozenset({TENANT_CONFIG, DLQ_REPLAYED})

MAX_EVENT_BYTES = 256 * 1024

# Ids that become parts of object keys (tenant, invoice): letters, digits and . _ : @ -, not
# starting with a dot and never "..". An id outside this is refused, not cleaned up.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:@-]{0,127}")


def unsafe_id(value: object) -> str | None:
    """Why `value` cannot be an id used in a storage key, or None if it can."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        return "must be 1-128 letters, digits or . _ : @ - (no '..', not starting with '.')"
    return None


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
VatRate = Literal["23", "8", "5", "0", "zw", "np"]


class EventModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=EventModel)


class Envelope(EventModel):
    """The wrapper every event travels in. The Kafka key is the invoice (or receipt) id."""

    event_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    schema_version: int = Field(ge=1)
    occurred_at: datetime
    tenant_id: ShortText
    correlation_id: ShortText = Field(description="The batch id or the receipt id.")
    causation_id: str | None = Field(default=None, description="The event that caused this one.")
    lane: Lane = Field(
        default="bulk",
        description="`interactive`: somebody waits for this work (a shopper, an operator).",
    )
    payload: dict[str, Any]


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


class EmailTemplate(EventModel):
    version: int = 1
    subject: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    html: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class PosKey(EventModel):
    """A till's API key (stored hashed), limited to one store or, without one, the chain."""

    sha256: str
    store_id: ShortText | None = None


class Branding(EventModel):
    primary_color: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] = "#1f3a5f"
    accent_color: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] = "#e8eef5"
    logo_png_base64: Annotated[str, StringConstraints(max_length=400_000)] | None = None
    invoice_template: Annotated[str, StringConstraints(max_length=200_000)] | None = None


class Mailbox(EventModel):
    """A tenant's own SMTP mailbox. The password is sealed (encrypted with the platform's
    sealing key, see `einvoice.sealing`) before it is published: the topic, its replicas and
    backups never hold it in clear."""

    host: ShortText
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "starttls"
    user: ShortText | None = None
    password_sealed: Annotated[str, StringConstraints(max_length=4000)] | None = None
    # The provider's sending limits; None: no limit of that length.
    per_minute: int | None = Field(default=None, ge=1, le=100_000)
    per_hour: int | None = Field(default=None, ge=1, le=1_000_000)
    per_day: int | None = Field(default=None, ge=1, le=10_000_000)


WEBHOOK_EVENTS = ("invoice.confirmed", "mail.failed")


class Webhook(EventModel):
    """Where a tenant's billing system hears about confirmations and failed deliveries.
    Every delivery is signed with HMAC-SHA256 over the timestamp and body, with a secret
    that is sealed here like a mailbox password."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
    secret_sealed: Annotated[str, StringConstraints(max_length=4000)]
    events: list[Literal["invoice.confirmed", "mail.failed"]] = Field(
        default_factory=lambda: list(WEBHOOK_EVENTS)
    )


class TenantConfig(EventModel):
    """The latest settings of one tenant; the compacted `tenant.config` topic keys it by id."""

    tenant_id: ShortText
    name: Text
    kind: Literal["utility", "retail"]
    api_key_sha256: list[str] = Field(default_factory=list)
    email_template: EmailTemplate | None = None
    mail_from: ShortText | None = None
    reply_to: ShortText | None = None
    link_ttl_days: int = Field(default=90, ge=1, le=3650)
    mailbox: Mailbox | None = Field(
        default=None, description="The tenant's own SMTP mailbox; None: the platform's."
    )
    webhook: Webhook | None = None
    # Retail chains:
    seller: Party | None = Field(default=None, description="The chain as the invoices' seller.")
    pos_keys: list[PosKey] = Field(default_factory=list)
    invoice_series: ShortText = Field(
        default="FV/{year}/{month:02d}/{seq:06d}",
        description="Number format; {year} and {month} of issue make the series.",
    )
    invoice_window_months: int = Field(
        default=3,
        ge=0,
        le=24,
        description=(
            "Receipts can be invoiced until the end of this many months after the purchase month."
        ),
    )
    accounting_email: Annotated[str, StringConstraints(max_length=254)] | None = None
    branding: Branding | None = None


PAYLOADS: dict[str, type[EventModel]] = {
    RECEIPT_SCANNED: ReceiptScanned,
    INVOICE_REQUESTED: InvoiceRequested,
    INVOICE_ISSUED: InvoiceIssued,
    INVOICE_REJECTED: InvoiceRejected,
    PDF_RENDERED: PdfRendered,
    MAIL_SENT: MailSent,
    MAIL_FAILED: MailFailed,
    INVOICE_OPENED: InvoiceOpened,
    INVOICE_CONFIRMED: InvoiceConfirmed,
    TENANT_CONFIG: TenantConfig,
    RETAIL_REQUESTED: RetailInvoiceRequested,
    RETAIL_RESERVED: RetailInvoiceReserved,
    MAIL_RESEND_REQUESTED: MailResendRequested,
}


def new_event_id() -> str:
    return str(uuid.uuid4())


def derived_event_id(cause_event_id: str, event_type: str, discriminator: str = "") -> str:
    """A stable id for an event caused by another: a redelivered cause yields the same id."""
    name = f"{cause_event_id}/{event_type}/{discriminator}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def envelope(
    event_type: str,
    payload: EventModel,
    *,
    tenant_id: str,
    correlation_id: str,
    cause: Envelope | None = None,
    event_id: str | None = None,
    discriminator: str = "",
    lane: Lane | None = None,
) -> Envelope:
    """Wrap a payload; an event caused by another gets a deterministic id, its causation and
    its lane (`discriminator` tells apart several events of one type from the same cause)."""
    if event_id is None:
        event_id = (
            derived_event_id(cause.event_id, event_type, discriminator) if cause else new_event_id()
        )
    return Envelope(
        event_id=event_id,
        type=event_type,
        schema_version=SCHEMA_VERSION,
        occurred_at=datetime.now(UTC),
        tenant_id=tenant_id,
        correlation_id=correlation_id,
        causation_id=cause.event_id if cause else None,
        lane=lane or (cause.lane if cause else BULK),
        payload=payload.model_dump(mode="json"),
    )


def parse_payload(event: Envelope, model: type[M]) -> M:
    return model.model_validate(event.payload)
