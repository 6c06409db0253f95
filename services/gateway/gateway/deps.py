"""Request dependencies every part of the gateway uses, as typed aliases: the app state and
the client IP."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from gateway.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.app  # set by `state.lifespan`
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def client_ip(request: Request, state: StateDep) -> str:
    """The peer address; behind a trusted proxy, the last address no trusted proxy added."""
    peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104
    networks = state.settings.trusted_proxies

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not trusted(peer):
        return peer
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not trusted(address):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return peer
    return peer


ClientIpDep = Annotated[str, Depends(client_ip)]
