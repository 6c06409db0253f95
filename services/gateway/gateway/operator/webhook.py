"""The tenant's webhook: an operator page to set it up, with its delivery log.

The operator sets the URL and the events; the first save, and every "new secret", generates
a signing secret that is shown once, sealed (`einvoice.sealing`) and published with the
tenant's `TenantConfig` on `tenant.config`. read-tracker sends the deliveries and keeps
their log; the gateway only reads it (`billing_feed.webhook_deliveries`; the API's copy is
`api/webhooks.py`). docs/webhooks.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response

from einvoice import events, webhooks
from einvoice.readmodels import billing_feed
from gateway.deps import StateDep
from gateway.operator.auth import OperatorDep, OperatorFormDep
from gateway.state import AppState
from gateway.tenant_settings import secret_sealer
from gateway.web.forms import page
from gateway.web.texts import texts

router = APIRouter(prefix="/operator/webhook", include_in_schema=False)

LOG_ROWS = 100
URL_MAX = 2000


@router.get("")
async def webhook_page(request: Request, state: StateDep, tenant: OperatorDep) -> Response:
    return await _page(request, state, _current(state, tenant))


@router.post("")
async def save_webhook(
    request: Request,
    state: StateDep,
    tenant: OperatorFormDep,
    url: Annotated[str, Form()] = "",
    subscribed: Annotated[list[str] | None, Form(alias="events")] = None,
) -> Response:
    """Set or change the URL and the events; the first save also makes the secret."""
    current = _current(state, tenant)
    t = texts(request)
    url = url.strip()
    chosen = [e for e in events.WEBHOOK_EVENTS if e in (subscribed or [])]
    error = _url_problem(url, t) or (None if chosen else t["wh_err_events"])
    if error:
        draft = {"url": url, "events": chosen}
        return await _page(request, state, current, error=error, draft=draft, code=422)
    secret = None
    if current.webhook is None:
        secret = webhooks.new_secret()
        sealed = _seal(state, secret)
        if sealed is None:
            return await _page(request, state, current, error=t["wh_err_sealing"], code=503)
    else:
        sealed = current.webhook.secret_sealed
    hook = events.Webhook(url=url, secret_sealed=sealed, events=chosen)
    config = await state.tenants.update(state.producer, current.tenant_id, webhook=hook)
    return await _page(request, state, config, secret=secret, saved=True)


@router.post("/secret")
async def new_secret(request: Request, state: StateDep, tenant: OperatorFormDep) -> Response:
    """A new signing secret, shown once; the old one stops working at once."""
    current = _current(state, tenant)
    if current.webhook is None:
        return await _page(request, state, current, error=texts(request)["wh_err_none"], code=409)
    secret = webhooks.new_secret()
    sealed = _seal(state, secret)
    if sealed is None:
        error = texts(request)["wh_err_sealing"]
        return await _page(request, state, current, error=error, code=503)
    hook = current.webhook.model_copy(update={"secret_sealed": sealed})
    config = await state.tenants.update(state.producer, current.tenant_id, webhook=hook)
    return await _page(request, state, config, secret=secret, saved=True)


@router.post("/delete")
async def remove_webhook(request: Request, state: StateDep, tenant: OperatorFormDep) -> Response:
    """No more deliveries; those still waiting for a retry end as failed."""
    config = await state.tenants.update(state.producer, tenant.tenant_id, webhook=None)
    return await _page(request, state, config, removed=True)


def _current(state: AppState, tenant: events.TenantConfig) -> events.TenantConfig:
    """The newest settings this gateway has seen (another page may have published since)."""
    return state.tenants.get(tenant.tenant_id) or tenant


def _seal(state: AppState, secret: str) -> str | None:
    found = secret_sealer(state.settings)
    return found.seal(secret) if found else None


def _url_problem(url: str, t: dict[str, str]) -> str | None:
    """The model checks the scheme; this also wants a host and no spaces or controls."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if scheme.lower() not in ("http", "https") or not host or len(url) > URL_MAX:
        return t["wh_err_url"]
    if any(c.isspace() or ord(c) < 32 for c in url):
        return t["wh_err_url"]
    return None


async def _page(
    request: Request,
    state: AppState,
    tenant: events.TenantConfig,
    *,
    code: int = status.HTTP_200_OK,
    draft: dict[str, Any] | None = None,
    **shown: Any,
) -> Response:
    hook = tenant.webhook
    values = draft or {
        "url": hook.url if hook else "",
        "events": list(hook.events if hook else events.WEBHOOK_EVENTS),
    }
    response = page(
        request,
        state,
        None,
        "operator/webhook.html",
        status_code=code,
        tenant=tenant,
        hook=hook,
        values=values,
        all_events=events.WEBHOOK_EVENTS,
        deliveries=await billing_feed.webhook_deliveries(state.mongo, tenant.tenant_id, LOG_ROWS),
        **shown,
    )
    return response  # never cached (`page`): a new secret is on the page once
