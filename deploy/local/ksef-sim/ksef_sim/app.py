"""The simulator's application: KSeF API 2.0 routes under `/v2`, its own under `/_sim`."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, FastAPI

from . import admin, auth, batch, faults, sessions, status
from .config import SimSettings
from .deps import Sim, SimDep
from .errors import HANDLERS
from .faults import Faults
from .keys import load_or_create
from .limits import Limiter, limiter_for
from .store import MemoryStore, Store

API_PREFIX = "/v2"  # as the OpenAPI's server says: https://api-test.ksef.mf.gov.pl/v2
security = APIRouter(prefix="/security")


@security.get("/public-key-certificates")
async def public_key_certificates(sim: SimDep) -> list[dict[str, Any]]:
    answer = []
    for usage, cert in sim.keys.certificates.items():
        der = cert.public_bytes(serialization.Encoding.DER)
        answer.append(
            {
                "certificate": base64.b64encode(der).decode(),
                "certificateId": base64.b64encode(cert.serial_number.to_bytes(20, "big")).decode(),
                "publicKeyId": sim.keys.public_key_id,
                "validFrom": cert.not_valid_before_utc.isoformat(),
                "validTo": cert.not_valid_after_utc.isoformat(),
                "usage": [usage],
            }
        )
    return answer


def create_app(
    settings: SimSettings, store: Store | None = None, limiter: Limiter | None = None
) -> FastAPI:
    sim = Sim(
        settings,
        store or MemoryStore(),
        load_or_create(settings.data_dir),
        limiter or limiter_for(settings.rate_limits),
        Faults(),
    )
    app = FastAPI(
        title="KSeF 2.0 simulator (einvoice)",
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
    )
    app.state.sim = sim
    for router in (security, auth.router, sessions.router, batch.router, status.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(batch.storage)  # the pre-signed part uploads, outside the API
    app.include_router(admin.router)
    for exc_type, handler in HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    app.middleware("http")(faults.middleware(sim.faults))
    return app
