"""Registration, e-mail confirmation (GET shows a button, only POST confirms, so link
scanners cannot use the link up) and resending the confirmation link."""

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
    send_later,
    too_many,
)
from gateway.web.auth import MaybeSignedIn
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import FormText, page

router = APIRouter(prefix="/account")


@router.get("/register")
async def register_form(request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    return page(request, state, signed, "accounts/register.html", email="", error=None)


@router.post("/register", dependencies=[RequireCsrf])
async def register(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    ip: ClientIpDep,
    background: BackgroundTasks,
    email: FormText = "",
    password: FormText = "",
) -> Response:
    limits = service.Limits.of(state.settings)
    result = await service.register(
        state.accounts, state.rate_limiter, limits, email=email, password=password, ip=ip
    )
    if result.status == service.LIMITED:
        return too_many(request, state, signed)
    if not result.ok:
        return page(
            request,
            state,
            signed,
            "accounts/register.html",
            status_code=400,
            email=email,
            error=result.status,
        )
    send_later(background, request, state, result.mail)
    return notice(request, state, signed, "acc_check_inbox_title", "acc_check_inbox")


@router.get("/verify/{token}")
async def verify_page(
    token: str, request: Request, state: StateDep, signed: MaybeSignedIn
) -> Response:
    """Only shows the button: mail scanners prefetching the link confirm nothing."""
    if await state.accounts.tokens.peek(token, tokens.VERIFY) is None:
        return _invalid_link(request, state, signed)
    return page(request, state, signed, "accounts/verify.html", token=token)


@router.post("/verify/{token}", dependencies=[RequireCsrf])
async def verify(token: str, request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    result = await service.confirm_email(state.accounts, token)
    if not result.ok:
        return _invalid_link(request, state, signed)
    return redirect(request, "/account/login", verified="1")


@router.get("/resend")
async def resend_form(
    request: Request, state: StateDep, signed: MaybeSignedIn, email: str = ""
) -> Response:
    return page(request, state, signed, "accounts/resend.html", email=email[:254])


@router.post("/resend", dependencies=[RequireCsrf])
async def resend(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    ip: ClientIpDep,
    background: BackgroundTasks,
    email: FormText = "",
) -> Response:
    limits = service.Limits.of(state.settings)
    result = await service.resend_verification(
        state.accounts, state.rate_limiter, limits, email=email, ip=ip
    )
    return check_inbox(request, state, signed, background, result, "acc_resend_sent")


def _invalid_link(request: Request, state: StateDep, signed: MaybeSignedIn) -> Response:
    return notice(
        request,
        state,
        signed,
        "acc_link_invalid_title",
        "acc_link_invalid",
        status_code=404,
        link=localized(request, "/account/resend"),
        link_text="acc_resend_link",
    )
