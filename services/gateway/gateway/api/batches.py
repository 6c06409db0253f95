"""The billing API: publish a batch, follow its progress, read the receipt confirmations."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from einvoice import readmodels
from einvoice.batches import batch_events
from einvoice.bus import Outgoing, publish
from gateway.deps import StateDep, TenantDep

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
    body = await _json_body(request, state.settings.max_body_bytes)
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
    """Progress by stage: requested, issued, rendered, mailed, opened, failed (with reasons)."""
    summary = await readmodels.batch_status(state.mongo, tenant.tenant_id, batch_id)
    if summary is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no batch {batch_id!r} yet (just published? try again shortly)",
        )
    if details:
        summary["invoices"] = [
            _public_row(r)
            for r in await readmodels.batch_invoices(state.mongo, tenant.tenant_id, batch_id)
        ]
    return summary


@router.get("/confirmations")
async def list_confirmations(
    state: StateDep,
    tenant: TenantDep,
    batch_id: str | None = None,
    invoice_id: str | None = None,
    include_flagged: bool = False,
) -> dict[str, Any]:
    """Every open that confirms receipt: time, IP, reverse-DNS host and user agent. With
    `include_flagged=true` also the opens flagged as link scanners (with their `flags`)."""
    rows = await readmodels.confirmations(
        state.mongo,
        tenant.tenant_id,
        batch_id=batch_id,
        invoice_id=invoice_id,
        include_flagged=include_flagged,
    )
    return {"confirmations": rows}


@router.get("/confirmations/feed")
async def confirmation_feed(
    state: StateDep, tenant: TenantDep, since: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """What billing needs to hear, oldest first. `status: confirmed`: invoice number, customer
    id, first-open time, IP, host, user agent and open count. `status: failed`: the stage that
    failed (`mail` for an e-mail the server refused for good) and the reasons. Keep `next` and
    ask with `?since=<next>`."""
    try:
        items, next_cursor = await readmodels.confirmation_feed(
            state.mongo, tenant.tenant_id, since, max(1, min(limit, 1000))
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid `since` cursor") from exc
    return {"items": items, "next": next_cursor}


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
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
    )
    return {k: row.get(k) for k in keep}


async def _json_body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
    except RecursionError as exc:  # [[[[... a few hundred thousand deep
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is nested too deeply") from exc
