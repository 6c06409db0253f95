"""A shopper's request for an invoice: reserve the picked quantities of the receipt, or refuse.

retail.invoice.requested -> retail.invoice.reserved (for invoice-builder) | invoice.rejected.
invoice.rejected of a reserved request (the builder refused it) -> the quantities come back.

Requests are keyed by receipt, so one receipt's requests arrive in order on one partition;
the reservation is still a compare-and-set on the receipt's version, so two replicas (or a
rebalance) can never invoice a line beyond its quantity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from einvoice import events
from einvoice.bus import Outgoing, TransientError, emit
from einvoice.receipts import receipt_key
from receipt_ingest.reservations import decide, invoice_lines

CAS_ATTEMPTS = 20


class Reservations(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def reserve(
        self,
        key: str,
        version: int,
        invoice_id: str,
        picks: dict[int, Decimal],
        invoiced: list[str],
    ) -> bool:
        """Set `invoiced` and record the reservation if the receipt is still at `version`."""
        ...

    async def release(self, key: str, version: int, invoice_id: str, invoiced: list[str]) -> bool:
        """Give a reservation's quantities back if the receipt is still at `version`."""
        ...

    async def decided(self, invoice_id: str) -> dict[str, Any] | None: ...

    async def refuse_once(self, invoice_id: str, reasons: list[str]) -> dict[str, Any]:
        """Record a refusal unless one exists; return the recorded one."""
        ...


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


@dataclass
class RetailDeps:
    receipts: Reservations
    tenants: Tenants
    now: Callable[[], datetime]


def _reservation(doc: dict[str, Any], invoice_id: str) -> dict[str, Any] | None:
    return next((r for r in doc.get("reservations", []) if r["invoice_id"] == invoice_id), None)


async def on_retail_requested(event: events.Envelope, deps: RetailDeps) -> list[Outgoing]:
    request = events.parse_payload(event, events.RetailInvoiceRequested)
    key = receipt_key(event.tenant_id, request.receipt_id)
    refused = await deps.receipts.decided(request.invoice_id)
    if refused:
        return [_rejected(event, request, refused["reasons"])]
    chain = deps.tenants.get(event.tenant_id)
    window = chain.invoice_window_months if chain else 3
    for _ in range(CAS_ATTEMPTS):
        doc = await deps.receipts.get(key)
        if doc is None:
            return [await _refuse(event, request, ["no such receipt"], deps)]
        done = _reservation(doc, request.invoice_id)
        if done:
            picks = {int(i): Decimal(q) for i, q in done["picks"].items()}
            return [_reserved(event, request, doc, picks)]
        decision = decide(doc, request, window, deps.now())
        if decision.problems:
            return [await _refuse(event, request, decision.problems, deps)]
        invoiced = [
            str(Decimal(done_qty) + decision.picks.get(i, Decimal(0)))
            for i, done_qty in enumerate(doc["invoiced"])
        ]
        if await deps.receipts.reserve(
            key, doc["version"], request.invoice_id, decision.picks, invoiced
        ):
            return [_reserved(event, request, doc, decision.picks)]
    raise TransientError(f"receipt {request.receipt_id} kept changing while reserving")


async def on_invoice_rejected(event: events.Envelope, deps: RetailDeps) -> list[Outgoing]:
    """The builder refused a reserved request: its quantities can be invoiced again."""
    rejected = events.parse_payload(event, events.InvoiceRejected)
    key = receipt_key(event.tenant_id, rejected.batch_id)
    for _ in range(CAS_ATTEMPTS):
        doc = await deps.receipts.get(key)
        reservation = _reservation(doc, rejected.invoice_id) if doc else None
        if doc is None or reservation is None or reservation.get("released"):
            return []  # a billing invoice, a refusal of ours, or released already
        invoiced = [
            str(Decimal(done_qty) - Decimal(reservation["picks"].get(str(i), "0")))
            for i, done_qty in enumerate(doc["invoiced"])
        ]
        if await deps.receipts.release(key, doc["version"], rejected.invoice_id, invoiced):
            return []
    raise TransientError(f"receipt {rejected.batch_id} kept changing while releasing")


async def _refuse(
    event: events.Envelope,
    request: events.RetailInvoiceRequested,
    reasons: list[str],
    deps: RetailDeps,
) -> Outgoing:
    recorded = await deps.receipts.refuse_once(request.invoice_id, reasons)
    return _rejected(event, request, recorded["reasons"])


def _rejected(
    event: events.Envelope, request: events.RetailInvoiceRequested, reasons: list[str]
) -> Outgoing:
    payload = events.InvoiceRejected(
        invoice_id=request.invoice_id, batch_id=request.receipt_id, reasons=reasons
    )
    return emit(events.INVOICE_REJECTED, payload, key=request.invoice_id, cause=event)


def _reserved(
    event: events.Envelope,
    request: events.RetailInvoiceRequested,
    doc: dict[str, Any],
    picks: dict[int, Decimal],
) -> Outgoing:
    receipt = events.ReceiptScanned.model_validate(doc["receipt"])
    buyer = request.buyer
    if not buyer.email:
        buyer = buyer.model_copy(update={"email": request.shopper_email})
    payload = events.RetailInvoiceReserved(
        invoice_id=request.invoice_id,
        receipt_id=request.receipt_id,
        receipt_number=receipt.number,
        store_id=receipt.store_id,
        purchased_at=receipt.issued_at,
        shopper_id=request.shopper_id,
        shopper_email=request.shopper_email,
        buyer_kind=request.buyer_kind,
        buyer=buyer,
        lines=invoice_lines(doc, picks),
        payment_method=receipt.payment_method,
    )
    return emit(events.RETAIL_RESERVED, payload, key=request.invoice_id, cause=event)
