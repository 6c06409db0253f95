"""The KSeF connection page's requests, the same for both portals: each portal's routes sign
the person in and check the form token, then call `show` and `submit` with its `Frame` (its
template, its path, its own context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, status
from fastapi.responses import RedirectResponse, Response

from einvoice import events
from gateway.ksef.connection import (
    CONSUMERS,
    ENVIRONMENTS,
    TEST_BUDGET,
    Outcome,
    form_values,
    read_form,
    settings_from,
    try_connection,
)
from gateway.state import AppState
from gateway.tenant_settings import secret_sealer
from gateway.web.auth import SignedIn
from gateway.web.forms import page
from gateway.web.texts import texts

MESSAGES = {"saved": "ks_saved", "disconnected": "ks_disconnected"}


@dataclass(frozen=True)
class Frame:
    """Where the page lives: its template (which includes `ksef/connection.html`), its path,
    the session (None on the operator's pages) and whatever else its frame shows."""

    template: str
    path: str
    signed: SignedIn | None = None
    context: dict[str, Any] = field(default_factory=dict)


def _lang_suffix(request: Request, first: bool) -> str:
    lang = request.query_params.get("lang")
    if lang not in ("pl", "en"):
        return ""
    return f"{'?' if first else '&'}lang={lang}"


def show(
    request: Request,
    state: AppState,
    tenant: events.TenantConfig,
    frame: Frame,
    values: dict[str, Any] | None = None,
    *,
    problems: list[str] | None = None,
    outcome: Outcome | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    ksef = {
        "values": values if values is not None else form_values(tenant),
        "current": tenant.ksef,
        "problems": problems or [],
        "outcome": outcome,
        "message": message,
        "action": frame.path + _lang_suffix(request, True),
        "environments": ENVIRONMENTS,
        "consumers": CONSUMERS,
    }
    return page(
        request,
        state,
        frame.signed,
        frame.template,
        status_code=status_code,
        tenant=tenant,
        ksef=ksef,
        **frame.context,
    )


def show_saved(
    request: Request, state: AppState, tenant: events.TenantConfig, frame: Frame
) -> Response:
    """The page as it is (GET), with the message of the save it follows, if any."""
    message = MESSAGES.get(request.query_params.get("saved") or "")
    return show(request, state, tenant, frame, message=message)


def _redirect(request: Request, frame: Frame, saved: str) -> Response:
    location = f"{frame.path}?saved={saved}{_lang_suffix(request, False)}"
    return RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER)


async def submit(
    request: Request, state: AppState, tenant: events.TenantConfig, frame: Frame
) -> Response:
    """`action`: `save` (the default), `test` (authenticate with KSeF, save nothing) or
    `disconnect` (drop the connection and its token)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    action = form.get("action", "save")
    if action not in ("save", "test", "disconnect"):
        return show(request, state, tenant, frame, status_code=422)
    if action == "disconnect":
        await state.tenants.update(state.producer, tenant.tenant_id, ksef=None)
        return _redirect(request, frame, "disconnected")
    t = texts(request)
    current = tenant.ksef
    submitted = read_form(form, current, t)
    sealer = secret_sealer(state.settings)
    if action == "test" and not submitted.problems:
        if await state.rate_limiter.hit("ksef-test", tenant.tenant_id, *TEST_BUDGET):
            outcome = await try_connection(state.settings, submitted, current, sealer, t)
        else:
            minutes = max(1, state.rate_limiter.retry_after(TEST_BUDGET[1]) // 60)
            outcome = Outcome(False, t["acc_limited"].format(minutes=minutes))
        return show(request, state, tenant, frame, submitted.values, outcome=outcome)
    settings, problems = settings_from(submitted, current, sealer, t)
    if settings is None:
        return show(
            request,
            state,
            tenant,
            frame,
            submitted.values,
            problems=problems,
            status_code=422,
        )
    await state.tenants.update(state.producer, tenant.tenant_id, ksef=settings)
    return _redirect(request, frame, "saved")
