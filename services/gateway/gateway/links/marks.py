"""The two cookies that tell a person's download from a link scanner's or an operator's.

A browser that showed the landing page has the page's cookie (`einvoice_seen`); a browser an
operator signed in with carries the operator mark (`einvoice_operator_browser`), kept after
sign-out. Both are HMACs of the session secret, so neither can be forged.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from fastapi.responses import Response

from einvoice.sealing import same_secret
from gateway.state import AppState

SEEN_COOKIE = "einvoice_seen"


def seen_mark(state: AppState, token: str) -> str:
    key = state.settings.session_secret.get_secret_value().encode()
    return hmac.new(key, b"seen:" + token.encode(), hashlib.sha256).hexdigest()[:32]


# Set on every operator sign-in and kept after sign-out: this browser belongs to an operator
# of the tenant, so its downloads through customers' links are recorded but never count.
OPERATOR_MARK = "einvoice_operator_browser"
OPERATOR_MARK_AGE = 365 * 24 * 3600


def operator_mark(state: AppState, tenant_id: str) -> str:
    key = state.settings.session_secret.get_secret_value().encode()
    return hmac.new(key, b"operator:" + tenant_id.encode(), hashlib.sha256).hexdigest()[:32]


def mark_operator_browser(response: Response, state: AppState, tenant_id: str) -> None:
    response.set_cookie(
        OPERATOR_MARK,
        operator_mark(state, tenant_id),
        max_age=OPERATOR_MARK_AGE,
        path="/i/",
        httponly=True,
        samesite="lax",
        secure=state.settings.environment != "local",
    )


def browser_signals(request: Request, state: AppState, token: str) -> list[str]:
    """What a person's browser sends with the download and a script rarely does."""
    signals = []
    if request.headers.get("accept-language"):
        signals.append("accept-language")
    if request.headers.get("sec-fetch-user") == "?1":  # a navigation the user activated
        signals.append("sec-fetch-user")
    if same_secret(seen_mark(state, token), request.cookies.get(SEEN_COOKIE, "")):
        signals.append("landing-cookie")
    return signals
