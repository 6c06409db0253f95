"""Assembles the gateway: middleware, the routers of each audience, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from gateway import probes
from gateway.api import routes as api
from gateway.chain import routes as chain
from gateway.config import GatewaySettings
from gateway.links import routes as links
from gateway.operator import routes as operator
from gateway.shop import routes as shop
from gateway.state import lifespan
from gateway.web.auth import PageError, page_error


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(
        title="einvoice gateway",
        version="0.1.0",
        lifespan=lifespan,
        exception_handlers={PageError: page_error},
    )
    app.state.settings = settings
    # Carries the operator pages' form token (`web.csrf`); the sessions themselves are
    # server-side (`web.auth`).
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="einvoice_session",
        same_site="strict",
        https_only=settings.environment != "local",
        max_age=8 * 3600,
    )
    for part in (api, links, operator, shop, chain, probes):
        app.include_router(part.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web/static"), name="static")
    return app
