"""Authentication with a KSeF token: challenge, encrypted token, status, redeem, refresh."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .deps import Sim, SimDep, bearer, grant_of
from .errors import KsefError, Unauthorized, invalid_input
from .models import KsefTokenAuthRequest
from .numbers import reference_number
from .store import AuthOperation, Challenge, Grant

router = APIRouter(prefix="/auth")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REJECTED_TOKEN_TEXT = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu"  # noqa: S105  # a status text
AUTH_METHOD_INFO = {"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"}


def _ms(challenge: Challenge) -> int:
    return (challenge.timestamp - EPOCH) // timedelta(milliseconds=1)


@router.post("/challenge")
async def challenge(request: Request, sim: SimDep) -> dict[str, Any]:
    # Whole milliseconds, so that `timestamp` and `timestampMs` name the same instant.
    now = sim.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    issued = Challenge(reference_number("CR", now), now)
    sim.store.add_challenge(issued)
    return {
        "challenge": issued.challenge,
        "timestamp": now.isoformat(),
        "timestampMs": _ms(issued),
        "clientIp": request.client.host if request.client else "127.0.0.1",
    }


def _verdict(
    sim: Sim, body: KsefTokenAuthRequest, issued: Challenge
) -> tuple[int, str, list[str], str | None]:
    """Decrypt `token|timestampMs` and check it: (status code, description, details, token ref)."""
    try:
        plain = sim.keys.decrypt(base64.b64decode(body.encrypted_token, validate=True)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return 450, REJECTED_TOKEN_TEXT, ["Nieprawidłowy token."], None
    token, _, stamp = plain.rpartition("|")
    known = sim.store.ksef_token(token)
    if known is None:
        return 450, REJECTED_TOKEN_TEXT, ["Nieprawidłowy token."], None
    if stamp != str(_ms(issued)):
        return 450, REJECTED_TOKEN_TEXT, ["Nieprawidłowy czas tokena."], known.reference_number
    if body.context_identifier.type != "Nip" or body.context_identifier.value != known.nip:
        return (
            415,
            "Uwierzytelnianie zakończone niepowodzeniem",
            ["Brak przypisanych uprawnień."],
            known.reference_number,
        )
    return 200, "Uwierzytelnianie zakończone sukcesem", [], known.reference_number


@router.post("/ksef-token", status_code=202)
async def ksef_token(body: KsefTokenAuthRequest, sim: SimDep) -> dict[str, Any]:
    now = sim.now()
    if body.public_key_id is not None and body.public_key_id != sim.keys.public_key_id:
        raise KsefError(
            21470,
            "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
            f"Klucz o identyfikatorze {body.public_key_id} nie jest wspierany.",
        )
    issued = sim.store.challenge(body.challenge)
    lifetime = timedelta(minutes=sim.settings.challenge_minutes)
    if issued is None or issued.used or issued.timestamp + lifetime < now:
        raise KsefError(21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
    issued.used = True
    code, description, details, token_ref = _verdict(sim, body, issued)
    ref = reference_number("AU", now)
    valid_until = now + timedelta(minutes=sim.settings.challenge_minutes)
    auth_token = sim.jwt(
        {"token-type": "OperationToken", "ref": ref, "exp": int(valid_until.timestamp())}
    )
    operation = AuthOperation(
        ref, auth_token, body.context_identifier.value, now, code, description, details, token_ref
    )
    sim.store.add_auth(operation)
    return {
        "referenceNumber": ref,
        "authenticationToken": {"token": auth_token, "validUntil": valid_until.isoformat()},
    }


def _operation(sim: Sim, request: Request) -> AuthOperation:
    """The operation whose authentication token the request carries."""
    token = bearer(request)
    for ref in _ref_claims(token):
        operation = sim.store.auth(ref)
        if operation is not None and operation.authentication_token == token:
            return operation
    raise Unauthorized("Nieprawidłowy token operacji uwierzytelnienia.")


def _ref_claims(token: str) -> list[str]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return []
    ref = claims.get("ref") if isinstance(claims, dict) else None
    return [ref] if isinstance(ref, str) else []


@router.get("/{referenceNumber}")
async def status(referenceNumber: str, request: Request, sim: SimDep) -> dict[str, Any]:
    operation = _operation(sim, request)
    if operation.reference_number != referenceNumber:
        raise KsefError(
            21304,
            "Brak uwierzytelnienia.",
            f"Operacja uwierzytelniania o numerze referencyjnym {referenceNumber}"
            " nie została znaleziona.",
        )
    body: dict[str, Any] = {
        "startDate": operation.started.isoformat(),
        "authenticationMethod": "Token",
        "authenticationMethodInfo": AUTH_METHOD_INFO,
        "status": {"code": operation.status_code, "description": operation.status_description},
        "isTokenRedeemed": operation.redeemed,
    }
    if operation.details:
        body["status"]["details"] = operation.details
    if operation.last_refresh:
        body["lastTokenRefreshDate"] = operation.last_refresh.isoformat()
    if operation.refresh_valid_until:
        body["refreshTokenValidUntil"] = operation.refresh_valid_until.isoformat()
    return body


def _grant(sim: Sim, operation: AuthOperation, kind: str, lifetime: timedelta) -> Grant:
    valid_until = sim.now() + lifetime
    claims = {
        "token-type": "ContextToken" if kind == "access" else "RefreshToken",
        "context-identifier-type": "Nip",
        "context-identifier-value": operation.nip,
        "ref": operation.reference_number,
        "exp": int(valid_until.timestamp()),
    }
    grant = Grant(sim.jwt(claims), kind, operation.nip, operation.reference_number, valid_until)
    sim.store.add_grant(grant)
    return grant


def _info(grant: Grant) -> dict[str, str]:
    return {"token": grant.token, "validUntil": grant.valid_until.isoformat()}


@router.post("/token/redeem")
async def redeem(request: Request, sim: SimDep) -> dict[str, Any]:
    operation = _operation(sim, request)
    ref = operation.reference_number
    if operation.redeemed:
        raise KsefError(
            21301,
            "Brak autoryzacji.",
            f"Tokeny dla operacji uwierzytelniania {ref} zostały już pobrane.",
        )
    if operation.status_code != 200:
        raise KsefError(
            21301,
            "Brak autoryzacji.",
            f"Status uwierzytelniania ({operation.status_code}) nie pozwala na pobranie tokenów.",
        )
    operation.redeemed = True
    access = _grant(sim, operation, "access", timedelta(minutes=sim.settings.access_token_minutes))
    refresh = _grant(sim, operation, "refresh", timedelta(days=sim.settings.refresh_token_days))
    operation.refresh_valid_until = refresh.valid_until
    return {"accessToken": _info(access), "refreshToken": _info(refresh)}


@router.post("/token/refresh")
async def refresh(request: Request, sim: SimDep) -> JSONResponse:
    grant = grant_of(sim, request, "refresh")
    operation = sim.store.auth(grant.auth_reference)
    if operation is None:
        raise invalid_input()
    operation.last_refresh = sim.now()
    access = _grant(sim, operation, "access", timedelta(minutes=sim.settings.access_token_minutes))
    return JSONResponse({"accessToken": _info(access)})
