"""The one CSRF defence of every page form: a hidden field `csrf` that must carry a token this
browser was given. `RequireCsrf` checks it before the handler runs; `form_csrf` gives a page
the token for its forms.

Where the token lives depends on the page's door (`web.auth`):

- Operator pages: a random token in the signed session cookie `einvoice_session`
  (SessionMiddleware, SameSite=Strict), from the login form on. A form without the field is
  refused like any incomplete form (422), a wrong token with 403.
- Account, shop and chain pages: the session's own token once signed in; before that an
  HMAC (keyed with the session secret) of a random cookie, `einvoice_csrf`, so the login and
  registration forms are protected too. Outside local it is `__Host-einvoice_csrf` (Secure,
  Path=/, no Domain), which a sibling subdomain cannot plant. A missing or wrong token gets
  the "form expired" page (403).

Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from einvoice.sealing import same_secret
from gateway.config import GatewaySettings
from gateway.deps import StateDep
from gateway.web.auth import OPERATORS, MaybeSignedIn, PageError, SignedIn, door_of


class CsrfRejected(PageError):
    text_key = "acc_csrf"


def csrf_cookie_name(settings: GatewaySettings) -> str:
    return "einvoice_csrf" if settings.environment == "local" else "__Host-einvoice_csrf"


def _anonymous_token(settings: GatewaySettings, cookie: str) -> str:
    key = settings.session_secret.get_secret_value().encode()
    return hmac.new(key, b"account-form:" + cookie.encode(), hashlib.sha256).hexdigest()


def _anonymous_cookie(request: Request, settings: GatewaySettings) -> str | None:
    value = request.cookies.get(csrf_cookie_name(settings), "")
    return value if 32 <= len(value) <= 64 and value.isascii() else None


def _operator_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def form_csrf(
    request: Request, settings: GatewaySettings, signed: SignedIn | None
) -> tuple[str, str | None]:
    """The token for a page's forms, and a new anonymous cookie to set (or None)."""
    if door_of(request) is OPERATORS:
        return _operator_token(request), None
    if signed is not None:
        return signed.csrf, None
    cookie = _anonymous_cookie(request, settings)
    new = None if cookie else secrets.token_urlsafe(32)
    return _anonymous_token(settings, cookie or new or ""), new


async def require_csrf(
    request: Request,
    state: StateDep,
    signed: MaybeSignedIn,
    csrf: Annotated[str | None, Form()] = None,
) -> None:
    if door_of(request) is OPERATORS:
        if csrf is None:
            missing = {"type": "missing", "loc": ("body", "csrf"), "msg": "Field required"}
            raise RequestValidationError([missing | {"input": None}])
        if not same_secret(request.session.get("csrf", ""), csrf):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing CSRF token")
        return
    expected = []
    if signed is not None:
        expected.append(signed.csrf)
    if cookie := _anonymous_cookie(request, state.settings):
        expected.append(_anonymous_token(state.settings, cookie))
    if not csrf or not any(same_secret(e, csrf) for e in expected):
        raise CsrfRejected


RequireCsrf = Depends(require_csrf)
