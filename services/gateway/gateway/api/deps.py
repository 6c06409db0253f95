"""Who calls the API: a tenant by its API key, or a till by its POS key, both in
`Authorization: Bearer <key>`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from einvoice import events
from gateway.deps import StateDep

_bearer = HTTPBearer(auto_error=False)


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
