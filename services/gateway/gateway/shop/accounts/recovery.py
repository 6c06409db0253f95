"""Password reset: request a link (the same answer whether or not the account exists), then
set a new password with it (single use, 1 hour), which ends every session of the account."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from gateway.deps import ClientIpDep, StateDep
from gateway.shop.accounts import service, tokens
from gateway.shop.accounts.views import (
    check_inbox,
    localized,
    notice,
    redirect,
)
from gateway.web.auth import MaybeSignedIn
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import FormText, page

router = APIRouter(prefix="/account")


@router.get("/reset")
async def reset_request_form(request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    return page(request, state, signed, "accounts/reset_request.html")


@router.post("/reset", dependencies=[RequireCsrf])
async def reset_request(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    ip: ClientIpDep,
    background: BackgroundTasks,
    email: FormText = "",
) -> Response:
    limits = service.Limits.of(state.settings)
    result = await service.request_reset(
        state.accounts, state.rate_limiter, limits, email=email, ip=ip
    )
    return check_inbox(request, state, signed, background, result, "acc_reset_sent")


@router.get("/reset/{token}")
async def new_password_form(
    token: str, request: Request, state: StateDep, signed: MaybeSignedIn
) -> Response:
    if await state.accounts.tokens.peek(token, tokens.RESET) is None:
        return _invalid_link(request, state, signed)
    return page(request, state, signed, "accounts/reset_form.html", token=token, error=None)


@router.post("/reset/{token}", dependencies=[RequireCsrf])
async def new_password(
    token: str,
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    password: FormText = "",
) -> Response:
    result = await service.reset_password(state.accounts, token=token, password=password)
    if result.status == service.INVALID_TOKEN:
        return _invalid_link(request, state, signed)
    if not result.ok:
        return page(
            request,
            state,
            signed,
            "accounts/reset_form.html",
            status_code=400,
            token=token,
            error=result.status,
        )
    return redirect(request, "/account/login", reset="1")


def _invalid_link(request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    return notice(
        request,
        state,
        signed,
        "acc_link_invalid_title",
        "acc_link_invalid",
        status_code=404,
        link=localized(request, "/account/reset"),
        link_text="acc_reset_again",
    )
