"""invoice.requested -> invoice.issued | invoice.rejected. Pure logic over a repository port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from einvoice import events
from einvoice.bus import Outgoing, PermanentError, emit
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from einvoice.storage import Objects
from invoice_builder.fa3_xml import build_valid, created_at_of, store_fa3
from invoice_builder.issuing import Rejection, issue
from invoice_builder.ksef_route import routed

log = get_logger(__name__)


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


class NoTenants:
    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return None


class InvoiceRepository(Protocol):
    async def get(self, tenant_id: str, invoice_id: str) -> dict[str, Any] | None: ...

    async def save_once(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store the record unless one with its id exists; return the stored one."""
        ...

    async def number_owner(self, tenant_id: str, number: str) -> str | None:
        """The invoice id that already uses this number in the tenant, if any."""
        ...


WARSAW = ZoneInfo("Europe/Warsaw")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    invoices: InvoiceRepository
    store: Objects  # where the FA(3) XML goes
    now: Callable[[], datetime] = field(default=utc_now)
    tenants: Tenants = field(default_factory=NoTenants)  # their KSeF settings


async def on_invoice_requested(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    invoice_id = _invoice_id(event)
    # One write in the common case: the insert itself finds a redelivery (the invoice's id
    # is taken: the stored decision wins) and a number used twice (the unique index).
    decided, xml = await _decide(event, invoice_id, deps)
    stored = await deps.invoices.save_once(decided)
    if stored.get("fa3_created_at") != decided.get("fa3_created_at"):
        xml = None  # an earlier decision: its XML is rebuilt from it
    return [await outcome(stored, event, deps.store, xml)]


async def _decide(
    event: events.Envelope, invoice_id: str, deps: Deps
) -> tuple[dict[str, Any], bytes | None]:
    """The decision to store and, for an issued invoice, its validated FA(3) XML."""
    base = {
        "tenant_id": event.tenant_id,
        "invoice_id": invoice_id,
        "batch_id": event.correlation_id,
        "request_event_id": event.event_id,
    }
    try:
        request = events.parse_payload(event, events.InvoiceRequested)
    except ValidationError as exc:
        reasons = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:20]]
        rejected = {
            "status": "rejected",
            "number": _text_or_none(event.payload.get("number")),
            "reasons": reasons,
        }
        return base | rejected, None
    base |= {"number": request.number, "batch_id": request.batch_id}
    now = deps.now()
    result = issue(request, today=now.astimezone(WARSAW).date())
    if isinstance(result, Rejection):
        return base | {"status": "rejected", "reasons": result.reasons}, None
    created_at = created_at_of(now)
    xml = build_valid(result, created_at)
    if isinstance(xml, list):
        return base | {"status": "rejected", "reasons": xml}, None
    result = routed(result, deps.tenants.get(event.tenant_id))
    issued = {"status": "issued", "invoice": result.model_dump(mode="json")}
    return base | issued | {"fa3_created_at": created_at}, xml


async def outcome(
    stored: dict[str, Any], cause: events.Envelope, store: Objects, xml: bytes | None = None
) -> Outgoing:
    """The stored decision's outcome event; an issued invoice's FA(3) XML is stored first
    (a decision from before FA(3) was made, without `fa3_created_at`, has none)."""
    fa3 = None
    if stored["status"] == "issued" and (created_at := stored.get("fa3_created_at")):
        invoice = events.InvoiceIssued.model_validate(stored["invoice"])
        fa3 = await store_fa3(store, stored["tenant_id"], invoice, created_at, xml)
    return outcome_event(stored, cause, fa3)


def outcome_event(
    stored: dict[str, Any], cause: events.Envelope, fa3: events.Fa3Document | None = None
) -> Outgoing:
    invoice_id = stored["invoice_id"]
    if stored["status"] == "issued":
        payload: events.EventModel = events.InvoiceIssued.model_validate(
            stored["invoice"] | ({"fa3": fa3.model_dump(mode="json")} if fa3 else {})
        )
        event_type = events.INVOICE_ISSUED
    else:
        STAGE_FAILURES.labels("invoice-builder", "issue", "invalid").inc()
        log.info("invoice rejected", invoice_id=invoice_id, reasons=stored["reasons"])
        payload = events.InvoiceRejected(
            invoice_id=invoice_id,
            batch_id=stored["batch_id"],
            number=stored.get("number"),
            reasons=stored["reasons"],
        )
        event_type = events.INVOICE_REJECTED
    # The outcome's id derives from the request that decided it, so a redelivered or
    # repeated request re-emits the very same event.
    decided_by = cause.model_copy(update={"event_id": stored["request_event_id"]})
    return emit(
        event_type, payload, key=invoice_id, cause=decided_by, correlation_id=stored["batch_id"]
    )


def _invoice_id(event: events.Envelope) -> str:
    invoice_id = event.payload.get("invoice_id")
    if (why := events.unsafe_id(invoice_id)) or not isinstance(invoice_id, str):
        raise PermanentError(f"payload.invoice_id {why}")
    return invoice_id


def _text_or_none(value: object) -> str | None:
    return value[:128] if isinstance(value, str) else None
