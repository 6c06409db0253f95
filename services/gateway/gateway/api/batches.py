"""The billing API's batches: publish one, follow its progress."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from einvoice.bus import Outgoing, publish
from einvoice.readmodels import tracking
from gateway.api.batch_events import batch_events
from gateway.api.body import json_body
from gateway.api.deps import TenantDep
from gateway.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["billing"])


class BatchAccepted(BaseModel):
    batch_id: str
    invoices: int
    status_url: str


class BatchBody(BaseModel):
    batch_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    invoices: list[Any]


@router.post("/batches", status_code=status.HTTP_202_ACCEPTED, response_model=BatchAccepted)
async def publish_batch(request: Request, state: StateDep, tenant: TenantDep) -> BatchAccepted:
    """Accept a batch of invoices; every invoice becomes one `invoice.requested` event."""
    body = await json_body(request, state.settings.max_body_bytes)
    try:
        batch = BatchBody.model_validate(body)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    batch_id = batch.batch_id or str(uuid.uuid4())
    envelopes, problems = batch_events(tenant.tenant_id, batch_id, batch.invoices)
    if problems:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            {
                "message": "the batch was not accepted; fix these invoices and send it again",
                "invoices": [p.as_dict() for p in problems],
            },
        )
    await publish(
        state.producer, (Outgoing.of(e, e.payload["invoice_id"]) for e in envelopes), "gateway"
    )
    return BatchAccepted(
        batch_id=batch_id, invoices=len(envelopes), status_url=f"/api/v1/batches/{batch_id}"
    )


@router.get("/batches/{batch_id}")
async def batch_progress(
    batch_id: str, state: StateDep, tenant: TenantDep, details: bool = False
) -> dict[str, Any]:
    """Progress by stage: requested, issued, rendered, mailed, opened, failed (with reasons),
    and by KSeF status (`ksef`: waiting, registered, rejected, outside). With `details=true`
    every invoice, with its stage, KSeF status and KSeF number (one invoice in full:
    `GET /api/v1/invoices/{invoice_id}`)."""
    summary = await tracking.batch_status(state.mongo, tenant.tenant_id, batch_id)
    if summary is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no batch {batch_id!r} yet (just published? try again shortly)",
        )
    if details:
        summary["invoices"] = [
            _public_row(r)
            for r in await tracking.batch_invoices(state.mongo, tenant.tenant_id, batch_id)
        ]
    return summary


def _public_row(row: tracking.Delivery) -> dict[str, object]:
    keep = (
        "invoice_id",
        "number",
        "stage",
        "buyer_name",
        "buyer_email",
        "recipient",
        "requested_at",
        "issued_at",
        "rendered_at",
        "mailed_at",
        "first_opened_at",
        "failed_stage",
        "failure_reasons",
        "total_gross",
        "ksef_status",
        "ksef_number",
        "ksef_acquired_at",
    )
    return {k: row.get(k) for k in keep}
