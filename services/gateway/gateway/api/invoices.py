"""The billing API's invoices: one invoice's stages with their times and its KSeF status,
and its two documents from object storage, the FA(3) XML and KSeF's UPO (read-tracker's
`deliveries` says where they are; `einvoice.readmodels.tracking`)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response
from obstore.exceptions import NotFoundError
from pydantic import BaseModel, Field

from einvoice.bus import TransientError
from einvoice.log import get_logger
from einvoice.readmodels import tracking
from gateway.api.deps import TenantDep
from gateway.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["billing"])
log = get_logger(__name__)

XML = "application/xml"
NOT_REGISTERED = "not registered in KSeF yet"

StageName = Literal["requested", "issued", "registered", "rendered", "mailed", "opened"]


def _stage_times(d: tracking.Delivery) -> list[tuple[StageName, datetime | None]]:
    """Each stage's time on the delivery, in the pipeline's order (`registered`: in KSeF)."""
    return [
        ("requested", d.get("requested_at")),
        ("issued", d.get("issued_at")),
        ("registered", d.get("ksef_registered_at")),
        ("rendered", d.get("rendered_at")),
        ("mailed", d.get("mailed_at")),
        ("opened", d.get("first_opened_at")),
    ]


class StageReached(BaseModel):
    stage: StageName
    at: datetime = Field(description="When the stage's event happened (UTC).")


class Problem(BaseModel):
    detail: str = Field(description="Why, in words.")


class KsefState(BaseModel):
    """Where the invoice stands with KSeF."""

    status: tracking.KsefStatus | None = Field(
        description="`waiting` (goes to KSeF, no KSeF number yet), `registered`, `rejected` "
        "(KSeF refused it: see `failure_reasons`), `outside` (does not go to KSeF); None "
        "until the invoice is issued."
    )
    number: str | None = Field(description="The KSeF number, once registered.")
    acquired_at: datetime | None = Field(description="When KSeF took the invoice.")
    mode: Literal["online", "batch"] | None = Field(description="The KSeF session's kind.")
    session: str | None = Field(description="The KSeF session's reference number.")
    verification_url: str | None = Field(description="KOD I: the link the PDF's QR code holds.")
    rejection_code: int | None = Field(description="KSeF's status code of a refusal.")


class InvoiceStatus(BaseModel):
    """One invoice as read-tracker follows it."""

    invoice_id: str
    batch_id: str
    number: str | None
    stage: tracking.Stage | Literal["failed"] = Field(
        description="The furthest stage reached, or `failed`."
    )
    stages: list[StageReached] = Field(
        description="Every stage reached so far, in the pipeline's order: requested, issued, "
        "registered (in KSeF; KSeF-bound invoices only), rendered, mailed, opened (first "
        "opened by a person)."
    )
    failed_stage: str | None = Field(
        description="`issue` (refused by invoice-builder), `ksef` (refused by KSeF), `mail` "
        "(the e-mail could not be delivered), or the dead-letter topic of a technical "
        "failure; None unless `stage` is `failed`."
    )
    failure_reasons: list[str]
    failed_at: datetime | None
    ksef: KsefState
    pdf_key: str | None = Field(description="The PDF in object storage, once rendered.")
    fa3_sha256: str | None = Field(description="SHA-256 of the FA(3) XML, hexadecimal.")
    upo_sha256: str | None = Field(description="SHA-256 of the UPO XML, hexadecimal.")
    fa3_url: str | None = Field(description="The FA(3) XML; None when none is stored.")
    upo_url: str | None = Field(description="KSeF's UPO; None until the invoice has one.")


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No API key, or an unknown one."},
    404: {"model": Problem, "description": "No such invoice of this tenant (or no document)."},
}


def _xml_response(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {XML: {"schema": {"type": "string", "format": "binary"}}},
        },
        **_NOT_FOUND,
    }


async def _delivery(state: StateDep, tenant: TenantDep, invoice_id: str) -> tracking.Delivery:
    """The tenant's own invoice; any other is unknown (the same answer as a made-up id)."""
    found = await tracking.delivery(state.mongo, tenant.tenant_id, invoice_id)
    if found is None or found.get("tenant_id") != tenant.tenant_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no invoice {invoice_id!r}")
    return found


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceStatus,
    responses=_NOT_FOUND,
)
async def invoice_status(invoice_id: str, state: StateDep, tenant: TenantDep) -> InvoiceStatus:
    """One invoice: its stages with their times, its KSeF status, number and acquisition
    time, why it failed, and where to download its FA(3) XML and its UPO."""
    d = await _delivery(state, tenant, invoice_id)
    stage = tracking.stage_of(d)
    failed_stage, reasons = tracking.failure_of(d) if stage == "failed" else (None, [])
    failed_at = (d.get("failed_at") or d.get("dead_letter_at")) if stage == "failed" else None
    base = f"/api/v1/invoices/{quote(d['invoice_id'], safe='')}"
    return InvoiceStatus(
        invoice_id=d["invoice_id"],
        batch_id=d["batch_id"],
        number=d.get("number"),
        stage=stage,
        stages=[
            StageReached(stage=name, at=tracking.aware(at)) for name, at in _stage_times(d) if at
        ],
        failed_stage=failed_stage,
        failure_reasons=reasons,
        failed_at=tracking.aware(failed_at) if failed_at else None,
        ksef=KsefState(
            status=d.get("ksef_status"),
            number=d.get("ksef_number"),
            acquired_at=_aware(d.get("ksef_acquired_at")),
            mode=d.get("ksef_mode"),
            session=d.get("ksef_session"),
            verification_url=d.get("ksef_verification_url"),
            rejection_code=d.get("ksef_rejection_code"),
        ),
        pdf_key=d.get("s3_key"),
        fa3_sha256=d.get("fa3_sha256"),
        upo_sha256=d.get("upo_sha256"),
        fa3_url=f"{base}/fa3.xml" if d.get("fa3_key") else None,
        upo_url=f"{base}/upo.xml" if d.get("upo_key") else None,
    )


@router.get(
    "/invoices/{invoice_id}/fa3.xml",
    response_class=Response,
    responses=_xml_response("The FA(3) XML exactly as stored: the bytes KSeF and KOD I hash."),
)
async def fa3_xml(invoice_id: str, state: StateDep, tenant: TenantDep) -> Response:
    """The invoice's FA(3) XML, byte for byte as stored (`ETag`: its SHA-256)."""
    d = await _delivery(state, tenant, invoice_id)
    key = d.get("fa3_key")
    if not key:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"invoice {invoice_id!r} has no FA(3) XML (not issued yet, or issued before "
            "FA(3) XML was stored)",
        )
    return await _document(state, tenant.tenant_id, d, key, d.get("fa3_sha256"), "fa3")


@router.get(
    "/invoices/{invoice_id}/upo.xml",
    response_class=Response,
    responses=_xml_response("KSeF's UPO (official receipt) of the invoice, as stored."),
)
async def upo_xml(invoice_id: str, state: StateDep, tenant: TenantDep) -> Response:
    """KSeF's UPO of the invoice (`ETag`: its SHA-256); 404 with the reason until there is
    one (not registered in KSeF yet, refused by KSeF, or outside KSeF)."""
    d = await _delivery(state, tenant, invoice_id)
    key = d.get("upo_key")
    if not key:
        why = {
            "outside": "is outside KSeF: it has no UPO",
            "rejected": "was rejected by KSeF: it has no UPO",
            "registered": "is registered in KSeF, but its UPO is not stored yet",
        }.get(d.get("ksef_status") or "", f"is {NOT_REGISTERED}")
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"invoice {invoice_id!r} {why}")
    return await _document(state, tenant.tenant_id, d, key, d.get("upo_sha256"), "upo")


async def _document(
    state: StateDep,
    tenant_id: str,
    delivery: tracking.Delivery,
    key: str,
    sha256: str | None,
    kind: Literal["fa3", "upo"],
) -> Response:
    """The stored object, checked against the SHA-256 read-tracker recorded."""
    name = "FA(3) XML" if kind == "fa3" else "UPO"
    invoice_id = delivery["invoice_id"]
    if not key.startswith(f"{tenant_id}/"):  # keys are `<tenant>/...`; never another's
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no invoice {invoice_id!r}")
    try:
        body = await state.store.get(key)
    except (FileNotFoundError, NotFoundError) as exc:
        log.error("document missing from object storage", key=key, invoice_id=invoice_id)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the {name} of invoice {invoice_id!r} is not in object storage",
        ) from exc
    except TransientError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "object storage is unavailable; try again shortly",
            headers={"Retry-After": "5"},
        ) from exc
    actual = hashlib.sha256(body).hexdigest()
    if sha256 and actual != sha256:
        log.error("stored document does not match its SHA-256", key=key, invoice_id=invoice_id)
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"the stored {name} of invoice {invoice_id!r} does not match its SHA-256",
        )
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", delivery.get("number") or invoice_id)
    return Response(
        body,
        media_type=XML,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.{kind}.xml"',
            "ETag": f'"{actual}"',
            "Cache-Control": "private, no-store",
        },
    )


def _aware(value: datetime | None) -> datetime | None:
    return tracking.aware(value) if value else None
