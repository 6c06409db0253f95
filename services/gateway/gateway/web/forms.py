"""Pages with forms: rendered with the form token (`web.csrf`), never cached."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import Response

from gateway.state import AppState
from gateway.web.auth import SignedIn
from gateway.web.csrf import csrf_cookie_name, form_csrf
from gateway.web.pages import render

# A text field of a page's form; longer values are refused (422) before any handler runs.
FormText = Annotated[str, Form(max_length=2048)]


def page(
    request: Request,
    state: AppState,
    signed: SignedIn | None,
    name: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """Render `name` with `csrf` (the form token) and `signed` in its context; a browser
    without a form cookie gets one (account pages before sign-in)."""
    settings = state.settings
    csrf, new_cookie = form_csrf(request, settings, signed)
    response = render(request, name, status_code=status_code, csrf=csrf, signed=signed, **context)
    if new_cookie:
        response.set_cookie(
            csrf_cookie_name(settings),
            new_cookie,
            max_age=7 * 24 * 3600,
            path="/",
            secure=settings.environment != "local",
            httponly=True,
            samesite="lax",
        )
    response.headers["Cache-Control"] = "no-store"
    return response
