"""A tenant's configuration, published on the compacted `tenant.config` topic: keys, branding,
the e-mail template, the sending mailbox and the webhook."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from einvoice.events.billing import KsefEnvironment
from einvoice.events.envelope import EventModel, ShortText, Text
from einvoice.events.invoices import Party


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


WebhookEvent = Literal["invoice.confirmed", "mail.failed"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("invoice.confirmed", "mail.failed")


class Webhook(EventModel):
    """Where a tenant's billing system hears about confirmations and failed deliveries.
    Every delivery is signed with HMAC-SHA256 over the timestamp and body, with a secret
    that is sealed here like a mailbox password."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)]
    secret_sealed: Annotated[str, StringConstraints(max_length=4000)]
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WEBHOOK_EVENTS))


class KsefSettings(EventModel):
    """A tenant's KSeF connection. The KSeF token is sealed like a mailbox password."""

    environment: KsefEnvironment = "test"
    context_nip: Annotated[str, StringConstraints(pattern=r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")]
    token_sealed: Annotated[str, StringConstraints(max_length=4000)]
    start_date: date = Field(
        description="Invoices issued (Europe/Warsaw) from this day on go to KSeF."
    )
    consumers: Literal["outside", "ksef"] = Field(
        default="outside",
        description="Invoices to consumers (no NIP): outside KSeF (the default) or in it.",
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
    ksef: KsefSettings | None = Field(
        default=None, description="The tenant's KSeF connection; None: nothing goes to KSeF."
    )
