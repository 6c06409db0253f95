"""Who is signed in: one server-side session mechanism (`web.sessions`) for every page, with
two doors.

- `OPERATORS` (/operator): a tenant's staff sign in with the tenant's API key. The session
  remembers the key's hash, so signing out, or replacing a leaked key, ends the sessions
  opened with it. Cookie `einvoice_operator`, Path=/operator, SameSite=Strict.
- `ACCOUNTS` (every other page): shoppers and chain users sign in with an account
  (`shop.accounts`); only a verified account counts. Cookie `einvoice_account`, Path=/,
  SameSite=Lax.

Both cookies are HttpOnly, and Secure unless EINVOICE_ENVIRONMENT=local. A page that needs a
sign-in and gets none raises `SignInRequired`: operator pages send the browser to /operator,
the others to /account/login?next=<path>, and paths under /api/ answer 401 in JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from einvoice import events
from einvoice.tenants import hash_api_key
from gateway.config import GatewaySettings
from gateway.deps import StateDep
from gateway.shop.accounts.store import Account
from gateway.state import AppState
from gateway.web.pages import render
from gateway.web.sessions import Session, SessionStore


@dataclass(frozen=True)
class Door:
    """A signed-in area: the cookie that carries its session token, the store of its
    sessions, and the page where a browser without a session signs in."""

    cookie: str
    path: str
    same_site: Literal["strict", "lax"]
    sessions: Callable[[AppState], SessionStore]
    login_path: str

    def token(self, request: Request) -> str | None:
        value = request.cookies.get(self.cookie, "")
        return value if 0 < len(value) <= 128 else None

    async def session(self, request: Request, state: AppState) -> Session | None:
        token = self.token(request)
        return await self.sessions(state).get(token) if token else None

    def set_cookie(
        self, response: Response, token: str, max_age: int, settings: GatewaySettings
    ) -> None:
        response.set_cookie(
            self.cookie,
            token,
            max_age=max_age,
            path=self.path,
            secure=settings.environment != "local",
            httponly=True,
            samesite=self.same_site,
        )

    def delete_cookie(self, response: Response, settings: GatewaySettings) -> None:
        response.delete_cookie(
            self.cookie,
            path=self.path,
            secure=settings.environment != "local",
            httponly=True,
            samesite=self.same_site,
        )


OPERATORS = Door(
    "einvoice_operator", "/operator", "strict", lambda state: state.operator_sessions, "/operator"
)
ACCOUNTS = Door(
    "einvoice_account", "/", "lax", lambda state: state.accounts.sessions, "/account/login"
)


def door_of(request: Request) -> Door:
    """The operator's pages are /operator and below, the only paths its cookie is sent to."""
    path = request.url.path
    return OPERATORS if path == "/operator" or path.startswith("/operator/") else ACCOUNTS


def operator_principal(tenant_id: str, api_key: str) -> str:
    """What an operator's session records: the tenant and the hash of the key it opened with."""
    return f"{tenant_id}\x1f{hash_api_key(api_key)}"


def _operator_tenant(state: AppState, principal: str) -> events.TenantConfig | None:
    tenant_id, _, key_sha256 = principal.partition("\x1f")
    tenant = state.tenants.get(tenant_id)
    if tenant is None or key_sha256 not in tenant.api_key_sha256:
        return None
    return tenant


@dataclass(frozen=True)
class SignedIn:
    """A live session and whose it is: an account (shopper or chain user), or on the operator
    pages a tenant's operator (`tenant` set, no account)."""

    account: Account | None
    session: Session
    tenant: events.TenantConfig | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf


async def optional_signed_in(request: Request, state: StateDep) -> SignedIn | None:
    """The session this browser holds at the page's door, if its owner may still use it."""
    door = door_of(request)
    session = await door.session(request, state)
    if session is None:
        return None
    if door is OPERATORS:
        tenant = _operator_tenant(state, session.account_id)
        return SignedIn(None, session, tenant) if tenant else None
    account = await state.accounts.get(session.account_id)
    if account is None or not account.verified:
        return None
    return SignedIn(account, session)


MaybeSignedIn = Annotated[SignedIn | None, Depends(optional_signed_in)]


async def signed_in(signed: MaybeSignedIn) -> SignedIn:
    if signed is None:
        raise SignInRequired
    return signed


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


# --- refusals -------------------------------------------------------------------------------


class PageError(Exception):
    """Answered by `page_error` with a short page (or JSON under /api/)."""

    status_code = 403
    text_key = "acc_forbidden"


class SignInRequired(PageError):
    status_code = 401
    text_key = "acc_sign_in_required"


class Forbidden(PageError):
    pass


# The short page of the account area; refusals on the shop's and the chain's pages use it too.
NOTICE = "accounts/notice.html"


async def page_error(request: Request, exc: PageError) -> Response:
    """Pages: no sign-in redirects to the door's login page (accounts come back with
    `next`), the rest is a short page. Under /api/: JSON with the status."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.text_key}, status_code=exc.status_code)
    if isinstance(exc, SignInRequired):
        door = door_of(request)
        if door is OPERATORS:
            return RedirectResponse(door.login_path, status_code=status.HTTP_303_SEE_OTHER)
        params = {"next": request.url.path}
        if lang := request.query_params.get("lang"):
            params["lang"] = lang
        return RedirectResponse(
            f"{door.login_path}?{urlencode(params)}", status_code=status.HTTP_303_SEE_OTHER
        )
    response = render(
        request,
        NOTICE,
        status_code=exc.status_code,
        title="acc_forbidden_title",
        message=exc.text_key,
        failed=True,
        link=None,
        link_text=None,
        minutes=None,
        signed=None,
        csrf="",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
