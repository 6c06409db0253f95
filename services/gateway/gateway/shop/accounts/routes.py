"""The account pages as one router, and the answer to a `PageError` (see `deps`)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gateway.accounts import recovery, signin, signup
from gateway.accounts.deps import PageError, SignInRequired
from gateway.pages import render

router = APIRouter(tags=["accounts"], include_in_schema=False)
for _part in (signup.router, signin.router, recovery.router):
    router.include_router(_part)


async def page_error(request: Request, exc: PageError) -> Response:
    """Pages: sign-in redirects to the login form (and back), the rest is a short page.
    Under /api/: JSON with the status."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.text_key}, status_code=exc.status_code)
    if isinstance(exc, SignInRequired):
        params = {"next": request.url.path}
        if lang := request.query_params.get("lang"):
            params["lang"] = lang
        return RedirectResponse(
            f"/account/login?{urlencode(params)}", status_code=status.HTTP_303_SEE_OTHER
        )
    response = render(
        request,
        "account_notice.html",
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
