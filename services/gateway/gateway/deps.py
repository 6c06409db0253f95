"""Request dependencies as typed aliases: the app state, the calling tenant, the client IP."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from einvoice import events
from gateway.state import AppState

_bearer = HTTPBearer(auto_error=False)


def get_state(request: Request) -> AppState:
    return request.app.state.app


StateDep = Annotated[AppState, Depends(get_state)]


def api_tenant(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> events.TenantConfig:
    """The tenant whose API key is in `Authorization: Bearer <key>`."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant = state.tenants.by_api_key(credentials.credentials)
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return tenant


TenantDep = Annotated[events.TenantConfig, Depends(api_tenant)]


def pos_key(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[events.TenantConfig, events.PosKey]:
    """The retail chain and the POS key (chain-wide or bound to a store) of a till."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing POS key (Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = state.tenants.by_pos_key(credentials.credentials)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown POS key", headers={"WWW-Authenticate": "Bearer"}
        )
    if found[0].kind != "retail":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the key's tenant is not a retail chain")
    return found


PosDep = Annotated[tuple[events.TenantConfig, events.PosKey], Depends(pos_key)]


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
