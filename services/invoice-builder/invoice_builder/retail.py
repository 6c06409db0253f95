"""retail.invoice.reserved -> an invoice in the chain's series, issued for a receipt (FP).

receipt-ingest has already reserved the picked quantities and checked the receipt's rules;
this handler validates the invoice like any other (VAT from gross prices, per rate), and only
then takes the next number of the chain's series, so a rejected request never uses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from einvoice import events
from einvoice.bus import Outgoing
from einvoice.storage import Objects
from invoice_builder.fa3_xml import build_valid, created_at_of
from invoice_builder.handlers import InvoiceRepository, Tenants, outcome, utc_now
from invoice_builder.issuing import Rejection, issue
from invoice_builder.ksef_route import routed

WARSAW = ZoneInfo("Europe/Warsaw")
PENDING_NUMBER = "(numer nadany przy wystawieniu)"


class NumberedInvoices(InvoiceRepository, Protocol):
    async def issue_numbered(
        self, record: dict[str, Any], series: str, number_of: Callable[[int], str]
    ) -> dict[str, Any]:
        """Store an issued invoice under the next number of `series` (gapless, unique);
        the stored record if the invoice was decided before."""
        ...


@dataclass
class RetailDeps:
    invoices: NumberedInvoices
    tenants: Tenants
    today: Callable[[], date]
    store: Objects  # where the FA(3) XML goes
    now: Callable[[], datetime] = field(default=utc_now)


def series_of(template: str, issued: date) -> tuple[str, Callable[[int], str]]:
    """The series key (the number without its sequence) and the number of each sequence."""

    def number_of(seq: int) -> str:
        return template.format(year=issued.year, month=issued.month, seq=seq)

    return template.format(year=issued.year, month=issued.month, seq=0), number_of


async def on_retail_reserved(event: events.Envelope, deps: RetailDeps) -> list[Outgoing]:
    reserved = events.parse_payload(event, events.RetailInvoiceReserved)
    stored = await deps.invoices.get(event.tenant_id, reserved.invoice_id)
    if stored is None:
        stored = await _decide(event, reserved, deps)
    return [await outcome(stored, event, deps.store)]


async def _decide(
    event: events.Envelope, reserved: events.RetailInvoiceReserved, deps: RetailDeps
) -> dict[str, Any]:
    base = {
        "tenant_id": event.tenant_id,
        "invoice_id": reserved.invoice_id,
        "batch_id": reserved.receipt_id,
        "request_event_id": event.event_id,
        "kind": "retail",
    }
    chain = deps.tenants.get(event.tenant_id)
    if chain is None or chain.seller is None:
        return base | {"status": "rejected", "reasons": ["the chain has no seller data configured"]}
    issued_on = deps.today()
    purchased = reserved.purchased_at.astimezone(WARSAW)
    request = events.InvoiceRequested(
        invoice_id=reserved.invoice_id,
        batch_id=reserved.receipt_id,
        number=PENDING_NUMBER,
        issue_date=issued_on,
        sale_date=purchased.date(),
        price_basis="gross",
        seller=chain.seller,
        buyer=reserved.buyer,
        lines=reserved.lines,
        payment=events.Payment(method=reserved.payment_method),
        notes=(
            f"Faktura do paragonu nr {reserved.receipt_number} z dnia "
            f"{purchased:%d.%m.%Y %H:%M}, sklep {reserved.store_id}."
        ),
    )
    result = issue(request)
    if isinstance(result, Rejection):
        return base | {"status": "rejected", "reasons": result.reasons}
    recipients = [reserved.shopper_email]
    if chain.accounting_email and chain.accounting_email not in recipients:
        recipients.append(chain.accounting_email)
    invoice = result.model_copy(
        update={
            "receipt": events.ReceiptRef(
                receipt_id=reserved.receipt_id,
                number=reserved.receipt_number,
                store_id=reserved.store_id,
                purchased_at=reserved.purchased_at,
            ),
            "recipients": recipients,
        }
    )
    invoice = routed(invoice, chain)
    # Validated with the placeholder number; the XML is built again once numbered.
    created_at = created_at_of(deps.now())
    xml = build_valid(invoice, created_at)
    if isinstance(xml, list):
        return base | {"status": "rejected", "reasons": xml}
    series, number_of = series_of(chain.invoice_series, issued_on)
    record = base | {
        "status": "issued",
        "invoice": invoice.model_dump(mode="json"),
        "fa3_created_at": created_at,
    }
    return await deps.invoices.issue_numbered(record, series, number_of)


def warsaw_today() -> date:
    from datetime import datetime

    return datetime.now(WARSAW).date()
