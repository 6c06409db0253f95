"""The operator's pages: batches, their progress, and receipt confirmations.

The operator signs in with the tenant's API key; the session lives on the server (the cookie
holds a random id) and remembers which key opened it.
Views and downloads here are never recorded as the customer's opens, and signing in marks
the browser so that its downloads through a customer's link never count either.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice import events, readmodels
from einvoice.bus import Outgoing, publish
from einvoice.sealing import same_secret
from einvoice.tenants import hash_api_key
from gateway.deps import StateDep
from gateway.links import mark_operator_browser
from gateway.pages import render
from gateway.spreadsheet import safe_cell, spreadsheet_csv
from gateway.state import AppState

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, submitted: str) -> None:
    if not same_secret(request.session.get("csrf", ""), submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing CSRF token")


class NotSignedIn(Exception):
    """Raised to send the browser to the login form."""


OPERATOR_COOKIE = "einvoice_operator"
OPERATOR_SESSION = timedelta(hours=8)


async def _signed_in_tenant(request: Request, state: AppState) -> events.TenantConfig | None:
    """The tenant of a live server-side operator session whose API key is still the
    tenant's: signing out, or replacing a leaked key, ends the sessions opened with it."""
    session = await state.operator_sessions.get(request.cookies.get(OPERATOR_COOKIE, "")[:128])
    if session is None:
        return None
    tenant_id, _, key_sha256 = session.account_id.partition("\x1f")
    tenant = state.tenants.get(tenant_id)
    if tenant is None or key_sha256 not in tenant.api_key_sha256:
        return None
    return tenant


async def operator_tenant(request: Request, state: StateDep) -> events.TenantConfig:
    tenant = await _signed_in_tenant(request, state)
    if tenant is None:
        raise NotSignedIn
    return tenant


OperatorDep = Annotated[events.TenantConfig, Depends(operator_tenant)]


@router.get("")
async def home(request: Request, state: StateDep) -> Response:
    tenant = await _signed_in_tenant(request, state)
    if tenant is None:
        return render(request, "operator_login.html", csrf=csrf_token(request), error=None)
    batches = await readmodels.recent_batches(state.mongo, tenant.tenant_id)
    return render(
        request, "operator_home.html", tenant=tenant, batches=batches, csrf=csrf_token(request)
    )


@router.post("/login")
async def login(
    request: Request, state: StateDep, api_key: Annotated[str, Form()], csrf: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf)
    tenant = state.tenants.by_api_key(api_key.strip())
    if tenant is None:
        return render(
            request,
            "operator_login.html",
            status_code=401,
            csrf=csrf_token(request),
            error="bad_key",
        )
    await _close(request, state)
    request.session.clear()
    token, _ = await state.operator_sessions.open(
        f"{tenant.tenant_id}\x1f{hash_api_key(api_key.strip())}", OPERATOR_SESSION
    )
    response = RedirectResponse("/operator", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        OPERATOR_COOKIE,
        token,
        max_age=int(OPERATOR_SESSION.total_seconds()),
        path="/operator",
        httponly=True,
        samesite="strict",
        secure=state.settings.environment != "local",
    )
    mark_operator_browser(response, state, tenant.tenant_id)
    return response


@router.post("/logout")
async def logout(request: Request, state: StateDep, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    await _close(request, state)
    request.session.clear()
    response = RedirectResponse("/operator", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(OPERATOR_COOKIE, path="/operator")
    return response


async def _close(request: Request, state: AppState) -> None:
    if token := request.cookies.get(OPERATOR_COOKIE, "")[:128]:
        await state.operator_sessions.close(token)


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
) -> Response:
    summary = await readmodels.batch_status(state.mongo, tenant.tenant_id, batch_id)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such batch")
    rows = await readmodels.batch_invoices(state.mongo, tenant.tenant_id, batch_id)
    if stage:
        rows = [r for r in rows if r["stage"] == stage]
    return render(
        request,
        "operator_batch.html",
        tenant=tenant,
        summary=summary,
        rows=rows[:PAGE_ROWS],
        total_rows=len(rows),
        stage=stage,
        failures=summary["failures"][:FAILURES_LISTED],
        csrf=csrf_token(request),
    )


@router.get("/confirmations")
async def confirmations_page(
    request: Request, state: StateDep, tenant: OperatorDep, batch_id: str | None = None
) -> Response:
    rows = await readmodels.confirmations(
        state.mongo, tenant.tenant_id, batch_id=batch_id, include_flagged=True
    )
    return render(
        request,
        "operator_confirmations.html",
        tenant=tenant,
        rows=rows,
        batch_id=batch_id,
        csrf=csrf_token(request),
    )


@router.post("/invoices/{invoice_id}/resend")
async def resend(
    invoice_id: str,
    request: Request,
    state: StateDep,
    tenant: OperatorDep,
    csrf: Annotated[str, Form()],
) -> Response:
    """Send the invoice's e-mail again with a new link; the old links stop working."""
    check_csrf(request, csrf)
    delivery = await readmodels.delivery(state.mongo, tenant.tenant_id, invoice_id)
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


CONFIRMATION_COLUMNS = (
    "numer",
    "otwarto (UTC)",
    "IP",
    "host",
    "przeglądarka",
    "potwierdza odbiór",
    "powody wątpliwości",
    "invoice_id",
)


@router.get("/confirmations.csv")
async def confirmations_csv(
    state: StateDep, tenant: OperatorDep, batch_id: str | None = None
) -> Response:
    """Every recorded open (also the scanners', marked) for a spreadsheet."""
    rows = await readmodels.confirmations(
        state.mongo, tenant.tenant_id, batch_id=batch_id, include_flagged=True, limit=100_000
    )
    body = spreadsheet_csv(
        CONFIRMATION_COLUMNS,
        (
            [
                safe_cell(r.get("number")),
                r["opened_at"].strftime("%Y-%m-%d %H:%M:%S"),
                safe_cell(r.get("ip")),
                safe_cell(r.get("host")),
                safe_cell(r.get("user_agent")),
                "nie" if r.get("flags") else "tak",
                safe_cell(", ".join(r.get("flags") or [])),
                safe_cell(r.get("invoice_id")),
            ]
            for r in rows
        ),
    )
    name = "potwierdzenia" + (f"-{re.sub(r'[^A-Za-z0-9._-]+', '_', batch_id)}" if batch_id else "")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/invoices/{invoice_id}/pdf")
async def operator_pdf(invoice_id: str, state: StateDep, tenant: OperatorDep) -> Response:
    delivery = await readmodels.delivery(state.mongo, tenant.tenant_id, invoice_id)
    if not delivery or not delivery.get("s3_key"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no PDF for this invoice yet")
    pdf = await state.store.get(delivery["s3_key"])
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": "inline", "Cache-Control": "no-store"},
    )
