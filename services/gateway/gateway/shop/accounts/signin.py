"""Signing in and out. A wrong password and an unknown address get the same answer; an
unconfirmed account is told so only after the right password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.deps import ClientIpDep, StateDep
from gateway.shop.accounts import service
from gateway.shop.accounts.views import (
    landing,
    localized,
    redirect,
    safe_next,
    start_session,
    too_many,
)
from gateway.web.auth import ACCOUNTS, MaybeSignedIn
from gateway.web.csrf import RequireCsrf
from gateway.web.forms import FormText, page

router = APIRouter(prefix="/account")


@router.get("")
async def account_home(request: Request, signed: MaybeSignedIn) -> Response:
    return redirect(request, landing(signed.account) if signed else "/account/login")


@router.get("/login")
async def login_form(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    next: str = "",
    verified: str = "",
    reset: str = "",
) -> Response:
    if signed is not None:
        return redirect(request, safe_next(next) or landing(signed.account))
    done = "acc_verified_now" if verified else "acc_password_changed" if reset else None
    return _login_page(request, state, signed, next=next, done=done)


@router.post("/login", dependencies=[RequireCsrf])
async def login(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    ip: ClientIpDep,
    email: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    limits = service.Limits.of(state.settings)
    result = await service.sign_in(
        state.accounts, state.rate_limiter, limits, email=email, password=password, ip=ip
    )
    if result.status == service.LIMITED:
        return too_many(request, state, signed)
    if result.status == service.UNVERIFIED:
        resend = localized(request, "/account/resend", email=email.strip())
        return _login_page(
            request, state, signed, 403, email=email, next=next, error=result.status, resend=resend
        )
    if not result.ok or result.account is None or result.session_token is None:
        return _login_page(request, state, signed, 401, email=email, next=next, error=result.status)
    if old := ACCOUNTS.token(request):  # no session fixation: always a new one
        await state.accounts.sessions.close(old)
    response = redirect(request, safe_next(next) or landing(result.account))
    start_session(response, result.session_token, state.settings)
    return response


@router.post("/logout", dependencies=[RequireCsrf])
async def logout(request: Request, state: StateDep) -> Response:
    if token := ACCOUNTS.token(request):
        await state.accounts.sessions.close(token)
    response = redirect(request, "/account/login")
    ACCOUNTS.delete_cookie(response, state.settings)
    return response


def _login_page(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    status_code: int = 200,
    *,
    email: str = "",
    next: str = "",
    error: str | None = None,
    done: str | None = None,
    resend: str | None = None,
) -> Response:
    return page(
        request,
        state,
        signed,
        "accounts/login.html",
        status_code=status_code,
        email=email,
        next=safe_next(next) or "",
        error=error,
        done=done,
        resend=resend,
    )
