"""The customer's link: a landing page (never an open) and the explicit download (an open)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from einvoice import events
from einvoice.bus import Outgoing, publish
from einvoice.log import get_logger
from einvoice.readmodels import mailing, tracking
from einvoice.sealing import same_secret
from gateway.deps import ClientIpDep, StateDep
from gateway.links.marks import (
    OPERATOR_MARK,
    SEEN_COOKIE,
    browser_signals,
    operator_mark,
    seen_mark,
)
from gateway.web.pages import render

router = APIRouter(tags=["links"])
log = get_logger(__name__)


@router.api_route("/i/{token}", methods=["GET", "HEAD"], include_in_schema=False)
async def landing(token: str, request: Request, state: StateDep) -> Response:
    """Link scanners fetch this page too: showing it records nothing."""
    link = await mailing.find_link(state.mongo, mailing.token_hash(token))
    if link is None:
        return render(request, "links/invalid.html", status_code=404)
    delivery = await tracking.delivery(state.mongo, link["tenant_id"], link["invoice_id"])
    tenant = state.tenants.get(link["tenant_id"])
    response = render(
        request,
        "links/landing.html",
        token=token,
        delivery=delivery or {},
        seller=tenant.name if tenant else "",
        # read-tracker's record, or the link's (the mailer copies it from pdf.rendered)
        ksef_number=(delivery.get("ksef_number") if delivery else None) or link.get("ksef_number"),
    )
    # A browser that showed this page sends the cookie back with the download; a scanner
    # that posts the form without rendering the page usually does not.
    response.set_cookie(
        SEEN_COOKIE,
        seen_mark(state, token),
        max_age=7 * 24 * 3600,
        path=f"/i/{token}",
        httponly=True,
        samesite="lax",
        secure=state.settings.environment != "local",
    )
    return response


@router.post("/i/{token}/download", include_in_schema=False)
async def download(token: str, request: Request, state: StateDep, ip: ClientIpDep) -> Response:
    """The explicit action: serve the PDF and record the open."""
    link = await mailing.find_link(state.mongo, mailing.token_hash(token))
    if link is None:
        return render(request, "links/invalid.html", status_code=404)
    pdf = await state.store.get(link["s3_key"])
    opened = events.InvoiceOpened(
        invoice_id=link["invoice_id"],
        batch_id=link["batch_id"],
        link_id=link["link_id"],
        action="download",
        opened_at=datetime.now(UTC),
        ip=ip,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        browser_signals=browser_signals(request, state, token),
        operator_view=same_secret(
            operator_mark(state, link["tenant_id"]), request.cookies.get(OPERATOR_MARK, "")
        ),
    )
    event = events.envelope(
        events.INVOICE_OPENED, opened, tenant_id=link["tenant_id"], correlation_id=link["batch_id"]
    )
    try:
        await publish(state.producer, [Outgoing.of(event, link["invoice_id"])], "gateway")
    except Exception:  # the customer still gets the invoice; the gap is logged and counted
        log.exception("could not record an open", invoice_id=link["invoice_id"])
    safe_number = re.sub(r"[^A-Za-z0-9._-]+", "_", link.get("number") or link["invoice_id"])
    filename = f"faktura-{safe_number}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
