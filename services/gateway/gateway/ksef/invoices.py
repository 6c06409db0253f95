"""An invoice's KSeF state in the operator's and the chain's invoice lists (a badge, the KSeF
number, the filter) and its KSeF documents (the FA(3) XML, the UPO) for download.

read-tracker records them on the invoice's delivery (`ksef_status`: waiting, registered,
rejected or outside; `ksef_number`, `ksef_acquired_at`, `fa3_key`, `upo_key`; a rejection's
`ksef_rejection_code` and, with `failed_stage` "ksef", its `failure_reasons`). Records from
before KSeF have none of them: nothing is shown then. They are read by name from the
record, so that a list keeps working whichever of them a record has.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from fastapi import Request
from fastapi.responses import Response
from obstore.exceptions import NotFoundError

from einvoice import events
from einvoice.bus import TransientError
from einvoice.log import get_logger
from einvoice.readmodels import tracking
from gateway.state import AppState
from gateway.web.texts import texts

log = get_logger(__name__)

KSEF_STATUSES = ("registered", "waiting", "rejected", "outside")
Document = Literal["fa3", "upo"]


@dataclass(frozen=True)
class InvoiceKsef:
    """What a list shows of one invoice's KSeF state; `status` None: not known (an old
    record, or one KSeF has not been decided for)."""

    status: str | None = None
    number: str | None = None
    acquired_at: datetime | None = None
    reasons: list[str] = field(default_factory=list)
    code: int | None = None  # KSeF's status code of a rejection (e.g. 450)
    fa3: bool = False
    upo: bool = False


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _reasons(record: Mapping[str, object]) -> list[str]:
    found = record.get("ksef_reasons")
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list) and record.get("failed_stage") == "ksef":
        found = record.get("failure_reasons")
    if not isinstance(found, list):
        return []
    return [str(r) for r in found if r][:5]


def ksef_of(record: Mapping[str, object]) -> InvoiceKsef:
    status = _text(record.get("ksef_status"))
    number = _text(record.get("ksef_number"))
    if status not in KSEF_STATUSES:
        status = "registered" if number else None
    acquired = record.get("ksef_acquired_at")
    code = record.get("ksef_rejection_code")
    return InvoiceKsef(
        status=status,
        number=number,
        acquired_at=acquired if isinstance(acquired, datetime) else None,
        reasons=_reasons(record) if status == "rejected" else [],
        code=code if status == "rejected" and isinstance(code, int) else None,
        fa3=_text(record.get("fa3_key")) is not None,
        upo=_text(record.get("upo_key")) is not None,
    )


def ksef_by_invoice(rows: Iterable[tracking.Delivery]) -> dict[str, InvoiceKsef]:
    """Each listed invoice's KSeF state, by invoice id (for the templates)."""
    return {row["invoice_id"]: ksef_of(row) for row in rows}


def ksef_filter(value: str | None) -> str | None:
    """A `?ksef=` filter from the query; anything else is no filter (never an error page)."""
    return value if value in KSEF_STATUSES else None


def matching(rows: list[tracking.Delivery], status: str | None) -> list[tracking.Delivery]:
    if status is None:
        return rows
    return [row for row in rows if ksef_of(row).status == status]


def status_counts(rows: Iterable[tracking.Delivery]) -> dict[str, int]:
    """How many invoices are in each KSeF state (those without one are not counted)."""
    counted = Counter(status for row in rows if (status := ksef_of(row).status))
    return {status: counted[status] for status in KSEF_STATUSES if counted[status]}


def ksef_shown(tenant: events.TenantConfig, statuses: Iterable[str | None]) -> bool:
    """Whether a list shows KSeF (its column, its filter): once the tenant is connected, or
    when any listed invoice was ever bound for KSeF. A tenant that never connected has only
    invoices `outside` KSeF (or none from before KSeF): a column of those says nothing."""
    return tenant.ksef is not None or any(s and s != "outside" for s in statuses)


def _safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)[:80] or "faktura"


def _refusal(request: Request, text_key: str, status_code: int = 404) -> Response:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if status_code == 503:
        headers["Retry-After"] = "5"
    return Response(
        texts(request)[text_key],
        status_code=status_code,
        media_type="text/plain; charset=utf-8",
        headers=headers,
    )


async def document_response(
    request: Request, state: AppState, tenant_id: str, invoice_id: str, document: Document
) -> Response:
    """The invoice's FA(3) XML or UPO, from the object key on its delivery record; only the
    tenant's own invoice (the record is looked up under the tenant, and the object lies
    under the tenant's prefix), else 404 with the reason; checked against the SHA-256
    read-tracker recorded (as the billing API's documents are)."""
    found = None
    if 0 < len(invoice_id) <= 128:
        found = await tracking.delivery(state.mongo, tenant_id, invoice_id)
    record: Mapping[str, object] = found or {}
    key = _text(record.get(f"{document}_key")) or ""
    if not found or found["tenant_id"] != tenant_id or not key.startswith(f"{tenant_id}/"):
        return _refusal(request, f"ks_no_{document}")
    try:
        body = await state.store.get(key)
    except (NotFoundError, FileNotFoundError):
        log.error("document missing from object storage", key=key, invoice_id=invoice_id)
        return _refusal(request, f"ks_no_{document}")
    except TransientError:
        return _refusal(request, "ks_store_unavailable", 503)
    recorded = _text(record.get(f"{document}_sha256"))
    if recorded and hashlib.sha256(body).hexdigest() != recorded:
        log.error("stored document does not match its SHA-256", key=key, invoice_id=invoice_id)
        return _refusal(request, "ks_doc_damaged", 500)
    name = _safe_name(_text(record.get("number")) or invoice_id)
    filename = f"faktura-{name}-fa3.xml" if document == "fa3" else f"upo-{name}.xml"
    return Response(
        body,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
