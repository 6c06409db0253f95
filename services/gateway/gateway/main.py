"""Assembles the gateway: routers, middleware, lifespan."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.sessions import SessionMiddleware

from gateway import api, chain, email_templates, links, mailbox, operator, pos, shop, webhook_pages
from gateway.accounts import web as accounts
from gateway.config import GatewaySettings
from gateway.state import lifespan


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(title="einvoice gateway", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="einvoice_session",
        same_site="strict",
        https_only=settings.environment != "local",
        max_age=8 * 3600,
    )
    for router in (
        api.router,
        links.router,
        operator.router,
        email_templates.router,
        mailbox.router,
        pos.router,
        shop.router,
        chain.router,
        webhook_pages.router,
        webhook_pages.api_router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(accounts.router)
    app.add_exception_handler(accounts.PageError, accounts.page_error)

    @app.exception_handler(operator.NotSignedIn)
    async def to_login(request: Request, exc: operator.NotSignedIn) -> Response:
        return RedirectResponse("/operator", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
