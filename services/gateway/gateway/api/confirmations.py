"""The billing API's receipt confirmations: every confirming open, and the feed billing
follows (confirmed and failed invoices, oldest first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from einvoice.readmodels import billing_feed, tracking
from gateway.api.deps import TenantDep
from gateway.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["billing"])


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
    rows = await tracking.confirmations(
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
    failed (`mail` for an e-mail the server refused for good, `ksef` for an invoice KSeF
    refused, with `ksef_rejection_code`) and the reasons. Every item carries `ksef_number`
    (once KSeF registered the invoice) and `ksef_status` (`outside`: not a KSeF invoice).
    Keep `next` and ask with `?since=<next>`."""
    try:
        items, next_cursor = await billing_feed.confirmation_feed(
            state.mongo, tenant.tenant_id, since, max(1, min(limit, 1000))
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid `since` cursor") from exc
    return {"items": items, "next": next_cursor}
