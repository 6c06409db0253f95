"""Typed dependencies for account pages: who is signed in, in which role, and the CSRF check.

    async def page(account: ShopperDep): ...          # a signed-in shopper, else login/403
    async def page(user: ChainUserDep): ...           # user.account, user.tenant (retail)
    @router.post("/x", dependencies=[RequireCsrf])    # form field `csrf` must match

A missing sign-in raises `SignInRequired`: pages redirect to /account/login?next=...,
paths under /api/ get 401. The form token is the session's when signed in; before sign-in
it is an HMAC of a random cookie (`einvoice_csrf`), so login forms are protected too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request

from einvoice import events
from einvoice.sealing import same_secret
from gateway.accounts.sessions import Session
from gateway.accounts.store import Account
from gateway.config import GatewaySettings
from gateway.deps import StateDep

SESSION_COOKIE = "einvoice_account"


class PageError(Exception):
    """Answered by `web.page_error` with a short page (or JSON under /api/)."""

    status_code = 403
    text_key = "acc_forbidden"


class SignInRequired(PageError):
    status_code = 401
    text_key = "acc_sign_in_required"


class Forbidden(PageError):
    pass


class CsrfRejected(PageError):
    text_key = "acc_csrf"


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: Session

    @property
    def csrf(self) -> str:
        return self.session.csrf


@dataclass(frozen=True)
class ChainUser:
    account: Account
    tenant: events.TenantConfig


async def optional_signed_in(request: Request, state: StateDep) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 128:
        return None
    session = await state.accounts.sessions.get(token)
    account = await state.accounts.get(session.account_id) if session else None
    if session is None or account is None or not account.verified:
        return None
    return SignedIn(account, session)


MaybeSignedIn = Annotated[SignedIn | None, Depends(optional_signed_in)]


async def signed_in(signed: MaybeSignedIn) -> SignedIn:
    if signed is None:
        raise SignInRequired
    return signed


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


async def current_account(signed: SignedInDep) -> Account:
    return signed.account


CurrentAccount = Annotated[Account, Depends(current_account)]


async def shopper(account: CurrentAccount) -> Account:
    if account.role != "shopper":
        raise Forbidden
    return account


ShopperDep = Annotated[Account, Depends(shopper)]


async def chain_user(account: CurrentAccount, state: StateDep) -> ChainUser:
    tenant = state.tenants.get(account.tenant_id or "")
    if account.role != "chain" or tenant is None or tenant.kind != "retail":
        raise Forbidden
    return ChainUser(account, tenant)


ChainUserDep = Annotated[ChainUser, Depends(chain_user)]


# --- CSRF -------------------------------------------------------------------------------


def csrf_cookie_name(settings: GatewaySettings) -> str:
    # `__Host-` (Secure, Path=/, no Domain): a sibling subdomain cannot plant this cookie.
    return "einvoice_csrf" if settings.environment == "local" else "__Host-einvoice_csrf"


def _anonymous_token(settings: GatewaySettings, cookie: str) -> str:
    key = settings.session_secret.get_secret_value().encode()
    return hmac.new(key, b"account-form:" + cookie.encode(), hashlib.sha256).hexdigest()


def _anonymous_cookie(request: Request, settings: GatewaySettings) -> str | None:
    value = request.cookies.get(csrf_cookie_name(settings), "")
    return value if 32 <= len(value) <= 64 and value.isascii() else None


def form_csrf(
    request: Request, settings: GatewaySettings, signed: SignedIn | None
) -> tuple[str, str | None]:
    """The token for a page's forms, and a new anonymous cookie to set (or None)."""
    if signed is not None:
        return signed.csrf, None
    cookie = _anonymous_cookie(request, settings)
    new = None if cookie else secrets.token_urlsafe(32)
    return _anonymous_token(settings, cookie or new or ""), new


async def require_csrf(
    request: Request, state: StateDep, signed: MaybeSignedIn, csrf: Annotated[str, Form()] = ""
) -> None:
    expected = []
    if signed is not None:
        expected.append(signed.csrf)
    if cookie := _anonymous_cookie(request, state.settings):
        expected.append(_anonymous_token(state.settings, cookie))
    if not csrf or not any(same_secret(e, csrf) for e in expected):
        raise CsrfRejected


RequireCsrf = Depends(require_csrf)
