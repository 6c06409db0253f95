"""Simulator-only paths under `/_sim/` — NOT part of KSeF.

- `POST /_sim/tokens {"nip"}`: a KSeF token for that NIP context (how the local stack seeds
  its demo tenants; in real KSeF a token is made under `/tokens` by an authenticated owner).
  Any ten digits are accepted, as the test environment's contexts are; invoices whose NIPs
  fail the checksum are still refused (450).
- `POST /_sim/faults {"outage", "delaySeconds"}` and `GET /_sim/faults`: the fault switches.
- `GET /_sim/storage/upo/{session}/{name}`: where `upoDownloadUrl` points (no access token,
  like the storage links KSeF hands out).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Response

from .deps import SimDep
from .models import SimFaultsRequest, SimTokenRequest
from .numbers import reference_number
from .status import registered, session_upo, upo_response
from .store import KsefToken

router = APIRouter(prefix="/_sim", tags=["simulator only, not KSeF"])


@router.post("/tokens", status_code=201)
async def issue_token(body: SimTokenRequest, sim: SimDep) -> dict[str, Any]:
    now = sim.now()
    ref = reference_number("EC", now)
    token = KsefToken(f"{ref}|nip-{body.nip}|{secrets.token_hex(32)}", body.nip, ref, now)
    sim.store.add_ksef_token(token)
    return {"token": token.token, "referenceNumber": ref, "nip": body.nip}


def _faults(sim: Any) -> dict[str, Any]:
    faults = sim.faults
    return {
        "outage": faults.outage,
        "delaySeconds": faults.delay_seconds,
        "throttleEvery": faults.throttle_every,
        "throttled": faults.throttled,
    }


@router.get("/faults")
async def get_faults(sim: SimDep) -> dict[str, Any]:
    return _faults(sim)


@router.post("/faults")
async def set_faults(body: SimFaultsRequest, sim: SimDep) -> dict[str, Any]:
    sim.faults.set(body.outage, body.delay_seconds, body.throttle_every)
    return _faults(sim)


@router.get("/storage/upo/{session_reference}/{name}")
async def download_upo(session_reference: str, name: str, sim: SimDep) -> Response:
    session = sim.store.session(session_reference)
    if session is None:
        return Response(status_code=404)
    if name == session.upo_reference:
        return session_upo(sim, session, name)
    invoice = sim.store.invoice(name)
    if invoice is None or invoice.session_reference != session_reference:
        return Response(status_code=404)
    return upo_response(sim, session, [registered(sim, invoice)])
