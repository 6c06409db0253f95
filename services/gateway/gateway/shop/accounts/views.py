"""Answers of the account pages: the short notice pages, the session cookie, redirects that
keep the chosen language, and e-mails sent after the response."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import BackgroundTasks, Request, status
from fastapi.responses import RedirectResponse, Response

from gateway.config import GatewaySettings
from gateway.shop.accounts.mail import AccountMail, SmtpSender, compose, deliver
from gateway.shop.accounts.service import LIMITED, Limits, Result
from gateway.shop.accounts.store import Account
from gateway.state import AppState
from gateway.web.auth import ACCOUNTS, NOTICE, SignedIn
from gateway.web.forms import page
from gateway.web.texts import language


def notice(
    request: Request,
    state: AppState,
    signed: SignedIn | None,
    title: str,
    message: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A short page: a title and a message (text keys), optionally `link` + `link_text`."""
    context = {"link": None, "link_text": None, "minutes": None} | context
    return page(
        request,
        state,
        signed,
        NOTICE,
        status_code=status_code,
        failed=status_code >= 400,
        title=title,
        message=message,
        **context,
    )


def too_many(request: Request, state: AppState, signed: SignedIn | None) -> Response:
    seconds = state.rate_limiter.retry_after(Limits.of(state.settings).window_seconds)
    response = notice(
        request,
        state,
        signed,
        "acc_limited_title",
        "acc_limited",
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        minutes=max(1, math.ceil(seconds / 60)),
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def localized(request: Request, path: str, **params: str) -> str:
    """`path` with the query, keeping an explicitly chosen language."""
    if request.query_params.get("lang"):
        params["lang"] = language(request)
    return f"{path}?{urlencode(params)}" if params else path


def redirect(request: Request, path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(localized(request, path, **params), status.HTTP_303_SEE_OTHER)


def landing(account: Account | None) -> str:
    return "/chain" if account and account.role == "chain" else "/me"


def safe_next(value: str | None) -> str | None:
    """Only a path on this site (no `//host`, no scheme) is a place to return to."""
    if not value or len(value) > 512 or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 0x20 for c in value) or value.startswith("/account"):
        return None
    return value


def start_session(response: Response, token: str, settings: GatewaySettings) -> None:
    ACCOUNTS.set_cookie(response, token, settings.account_session_days * 24 * 3600, settings)


def send_later(
    background: BackgroundTasks, request: Request, state: AppState, mail: AccountMail | None
) -> None:
    """Send after the response, so how long SMTP takes tells nothing about the account."""
    if mail is None:
        return
    settings = state.settings
    message = compose(
        mail, lang=language(request), base_url=settings.public_base_url, sender=settings.mail_from
    )
    background.add_task(deliver, SmtpSender(settings), message, mail.kind)


def check_inbox(
    request: Request,
    state: AppState,
    signed: SignedIn | None,
    background: BackgroundTasks,
    result: Result,
    message_key: str,
) -> Response:
    """The answer of a flow that may mail a link: the same page whether or not the address
    has an account (the mail goes out after the response), or 429 over the limit."""
    if result.status == LIMITED:
        return too_many(request, state, signed)
    send_later(background, request, state, result.mail)
    return notice(request, state, signed, "acc_check_inbox_title", message_key)
