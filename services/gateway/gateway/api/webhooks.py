"""The billing API's webhook delivery log (read-tracker sends the deliveries and keeps the
log; the operator's page is `operator/webhook.py`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from einvoice.readmodels import billing_feed
from gateway.api.deps import TenantDep
from gateway.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["billing"])
LOG_ROWS = 100


@router.get("/webhook/deliveries")
async def webhook_deliveries(
    state: StateDep, tenant: TenantDep, limit: int = LOG_ROWS
) -> dict[str, Any]:
    """The latest webhook deliveries, newest first: event, invoice, state (queued, working,
    done, failed), attempts, the last HTTP status or error, and every attempt in `log`
    (time, status or error, duration in ms)."""
    rows = await billing_feed.webhook_deliveries(
        state.mongo, tenant.tenant_id, max(1, min(limit, 1000))
    )
    return {"deliveries": rows}
