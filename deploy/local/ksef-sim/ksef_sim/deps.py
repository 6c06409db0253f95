"""What every route needs: the simulator's state, the clock and the caller's grant."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from .config import SimSettings
from .errors import Unauthorized
from .faults import Faults
from .keys import KeyMaterial
from .limits import Limiter
from .store import Grant, Store


@dataclass
class Sim:
    settings: SimSettings
    store: Store
    keys: KeyMaterial
    limiter: Limiter
    faults: Faults
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Signs the JWTs handed out; they are also looked up in the store, so per process is enough.
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # Batch packages being processed (a reference each, so none is collected mid-way).
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def now(self) -> datetime:
        return self.clock()

    def jwt(self, claims: dict[str, Any]) -> str:
        """An HS256 JWT carrying `claims` and a unique id."""

        def part(value: dict[str, Any]) -> str:
            raw = json.dumps(value, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = part({"alg": "HS256", "typ": "JWT"})
        body = f"{header}.{part(claims | {'jti': secrets.token_hex(16)})}"
        signature = hmac.new(self.secret, body.encode(), hashlib.sha256).digest()
        return f"{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def get_sim(request: Request) -> Sim:
    sim = request.app.state.sim
    assert isinstance(sim, Sim)
    return sim


SimDep = Annotated[Sim, Depends(get_sim)]


def bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Brak tokenu w nagłówku Authorization (Bearer).")
    return token.strip()


def grant_of(sim: Sim, request: Request, kind: str) -> Grant:
    """The live access (or refresh) grant named by the request's bearer token."""
    grant = sim.store.grant(bearer(request))
    if grant is None or grant.kind != kind:
        raise Unauthorized(f"Nieprawidłowy token ({kind}).")
    if grant.valid_until <= sim.now():
        raise Unauthorized(f"Token ({kind}) wygasł.")
    return grant


def access_grant(request: Request, sim: SimDep) -> Grant:
    return grant_of(sim, request, "access")


AccessDep = Annotated[Grant, Depends(access_grant)]
