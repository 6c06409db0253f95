"""The operator's home page (the tenant's recent batches, or the login form) and signing in
and out with the tenant's API key.

The session lives on the server (the cookie holds a random token) and remembers which key
opened it. Signing in also marks the browser, so that its downloads through a customer's
link are never counted as the customer's opens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice.readmodels import tracking
from gateway.deps import StateDep
from gateway.links.marks import mark_operator_browser
from gateway.state import AppState
from gateway.web.auth import OPERATORS, MaybeSignedIn, operator_principal
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import page

router = APIRouter(prefix="/operator", tags=["operator"], include_in_schema=False)

OPERATOR_SESSION = timedelta(hours=8)


@router.get("")
async def home(request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    if signed is None or signed.tenant is None:
        return page(request, state, None, "operator/login.html", error=None)
    tenant = signed.tenant
    batches = await tracking.recent_batches(state.mongo, tenant.tenant_id)
    return page(request, state, None, "operator/home.html", tenant=tenant, batches=batches)


@router.post("/login", dependencies=[RequireCsrf])
async def login(request: Request, state: StateDep, api_key: Annotated[str, Form()]) -> Response:
    tenant = state.tenants.by_api_key(api_key.strip())
    if tenant is None:
        return page(request, state, None, "operator/login.html", status_code=401, error="bad_key")
    await _close(request, state)
    request.session.clear()
    principal = operator_principal(tenant.tenant_id, api_key.strip())
    token, _ = await state.operator_sessions.open(principal, OPERATOR_SESSION)
    response = RedirectResponse("/operator", status_code=status.HTTP_303_SEE_OTHER)
    OPERATORS.set_cookie(response, token, int(OPERATOR_SESSION.total_seconds()), state.settings)
    mark_operator_browser(response, state, tenant.tenant_id)
    return response


@router.post("/logout", dependencies=[RequireCsrf])
async def logout(request: Request, state: StateDep) -> Response:
    await _close(request, state)
    request.session.clear()
    response = RedirectResponse("/operator", status_code=status.HTTP_303_SEE_OTHER)
    OPERATORS.delete_cookie(response, state.settings)
    return response


async def _close(request: Request, state: AppState) -> None:
    if token := OPERATORS.token(request):
        await state.operator_sessions.close(token)
