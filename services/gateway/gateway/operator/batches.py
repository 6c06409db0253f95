"""The operator's batch page (progress by stage, the invoices with their KSeF state, every
failure with its reasons), resending an invoice's e-mail, and an invoice's PDF (its FA(3)
XML and UPO: `operator/ksef.py`).

Views and downloads here are never recorded as the customer's opens.
"""

from __future__ import annotations

import secrets
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice import events
from einvoice.bus import Outgoing, publish
from einvoice.readmodels import tracking
from gateway.deps import StateDep
from gateway.ksef.invoices import (
    KSEF_STATUSES,
    ksef_by_invoice,
    ksef_filter,
    ksef_shown,
    matching,
    status_counts,
)
from gateway.operator.auth import OperatorDep, OperatorFormDep
from gateway.web.forms import page

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)

# A batch page lists at most this many invoices (a batch may hold 100,000); the stage filter
# narrows the list, and every failed invoice is listed with its reasons regardless.
PAGE_ROWS = 500
FAILURES_LISTED = 200
PageStage = Literal["requested", "issued", "rendered", "mailed", "opened", "failed"]


@router.get("/batches/{batch_id}")
async def batch_page(
    batch_id: str,
    request: Request,
    state: StateDep,
    tenant: OperatorDep,
    stage: PageStage | None = None,
    ksef: str | None = None,
) -> Response:
    summary = await tracking.batch_status(state.mongo, tenant.tenant_id, batch_id)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such batch")
    rows = await tracking.batch_invoices(state.mongo, tenant.tenant_id, batch_id)
    ksef_counts = status_counts(rows)
    if stage:
        rows = [r for r in rows if r["stage"] == stage]
    ksef_status = ksef_filter(ksef)
    rows = matching(rows, ksef_status)
    return page(
        request,
        state,
        None,
        "operator/batch.html",
        tenant=tenant,
        summary=summary,
        rows=rows[:PAGE_ROWS],
        total_rows=len(rows),
        stage=stage,
        failures=summary["failures"][:FAILURES_LISTED],
        # KSeF: the column and the filter show once the tenant is connected or an invoice of
        # the batch was bound for KSeF (an old batch or a tenant without KSeF: nothing).
        ksef_rows=ksef_by_invoice(rows[:PAGE_ROWS]),
        ksef_counts=ksef_counts,
        ksef_status=ksef_status,
        ksef_statuses=KSEF_STATUSES,
        show_ksef=ksef_shown(tenant, ksef_counts) or ksef_status is not None,
    )


@router.post("/invoices/{invoice_id}/resend")
async def resend(invoice_id: str, state: StateDep, tenant: OperatorFormDep) -> Response:
    """Send the invoice's e-mail again with a new link; the old links stop working."""
    delivery = await tracking.delivery(state.mongo, tenant.tenant_id, invoice_id)
    if not delivery or not delivery.get("mailed_at"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no e-mail was sent for this invoice yet")
    command = events.MailResendRequested(
        invoice_id=invoice_id, batch_id=delivery["batch_id"], request_id=secrets.token_hex(8)
    )
    event = events.envelope(
        events.MAIL_RESEND_REQUESTED,
        command,
        tenant_id=tenant.tenant_id,
        correlation_id=delivery["batch_id"],
        lane=events.INTERACTIVE,  # the operator waits for it
    )
    await publish(state.producer, [Outgoing.of(event, invoice_id)], "gateway")
    return RedirectResponse(
        f"/operator/batches/{delivery['batch_id']}?resent={invoice_id}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.get("/invoices/{invoice_id}/pdf")
async def operator_pdf(invoice_id: str, state: StateDep, tenant: OperatorDep) -> Response:
    delivery = await tracking.delivery(state.mongo, tenant.tenant_id, invoice_id)
    if not delivery or not delivery.get("s3_key"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no PDF for this invoice yet")
    pdf = await state.store.get(delivery["s3_key"])
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": "inline", "Cache-Control": "no-store"},
    )
