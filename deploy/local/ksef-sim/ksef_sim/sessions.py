"""Online (interactive) sessions: open, send an invoice, close; what batch sessions share."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from .deps import AccessDep, Sim, SimDep
from .errors import KsefError, TooManyRequests, invalid_input
from .invoices import encrypted_content, settle, verify
from .models import EncryptionInfo, FormCode, OpenOnlineSessionRequest, SendInvoiceRequest
from .numbers import reference_number
from .store import Grant, Session

router = APIRouter(prefix="/sessions/online")
FA3 = ("FA (3)", "1-0E", "FA")
MAX_INVOICES = 10_000


def limit(sim: Sim, request: Request, group: str, context: str) -> None:
    """429 with Retry-After when the (context, client IP) pair is over `group`'s limits."""
    client_ip = request.client.host if request.client else ""
    wait = sim.limiter.retry_after(group, context, client_ip)
    if wait is not None:
        raise TooManyRequests(
            wait, f"Przekroczono limit żądań ({group}). Spróbuj ponownie po {wait:.0f} sekundach."
        )


def session_of(sim: Sim, grant: Grant, reference: str, *, batch: bool | None = None) -> Session:
    """The caller's session (another context's session does not exist for the caller), of
    either kind or, with `batch`, only a batch (True) or an online (False) one."""
    session = sim.store.session(reference)
    if (
        session is None
        or session.nip != grant.nip
        or (batch is not None and (session.batch is not None) != batch)
    ):
        raise KsefError(
            21173,
            "Brak sesji o wskazanym numerze referencyjnym.",
            f"Sesja o numerze referencyjnym {reference} nie została odnaleziona.",
        )
    return session


def is_open(sim: Sim, session: Session) -> bool:
    return session.key is not None and session.closed is None and sim.now() < session.valid_until


def open_session_of(sim: Sim, grant: Grant, reference: str, action: str) -> Session:
    """The caller's online session, refused (21180) unless it is open."""
    session = session_of(sim, grant, reference, batch=False)
    if not is_open(sim, session):
        code = 415 if session.key is None else 170
        raise KsefError(
            21180,
            "Status sesji nie pozwala na wykonanie operacji.",
            f"Status sesji {code} uniemożliwia {action}.",
        )
    return session


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise invalid_input(f"{name}: {exc}") from exc


def session_key(
    sim: Sim, form_code: FormCode, encryption: EncryptionInfo
) -> tuple[bytes | None, bytes]:
    """The form code checked (FA (3) only, else 21405), the key id (21470) and the IV (16
    bytes); the AES key decrypted, or None when it does not decrypt to 32 bytes (the session
    then ends in status 415, as KSeF's does)."""
    form = (form_code.system_code, form_code.schema_version, form_code.value)
    if form != FA3:
        raise invalid_input(
            f"formCode {form}: the simulator accepts FA (3) 1-0E FA only.",
        )
    key_id = encryption.public_key_id
    if key_id is not None and key_id != sim.keys.public_key_id:
        raise KsefError(
            21470,
            "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
            f"Klucz o identyfikatorze {key_id} nie jest wspierany.",
        )
    iv = _b64(encryption.initialization_vector, "initializationVector")
    if len(iv) != 16:
        raise invalid_input(
            "initializationVector: 16 bytes expected.",
        )
    try:
        key: bytes | None = sim.keys.decrypt(
            _b64(encryption.encrypted_symmetric_key, "encryptedSymmetricKey")
        )
    except ValueError:
        key = None
    if key is not None and len(key) != 32:
        key = None
    return key, iv


@router.post("", status_code=201)
async def open_session(
    body: OpenOnlineSessionRequest, request: Request, sim: SimDep, grant: AccessDep
) -> dict[str, Any]:
    limit(sim, request, "onlineSession", grant.nip)
    key, iv = session_key(sim, body.form_code, body.encryption)
    now = sim.now()
    session = Session(
        reference_number("SO", now),
        grant.nip,
        grant.auth_reference,
        FA3,
        now,
        now,
        now + timedelta(hours=sim.settings.session_hours),
        key,
        iv,
    )
    sim.store.add_session(session)
    return {
        "referenceNumber": session.reference_number,
        "validUntil": session.valid_until.isoformat(),
    }


@router.post("/{referenceNumber}/invoices", status_code=202)
async def send_invoice(
    referenceNumber: str,
    body: SendInvoiceRequest,
    request: Request,
    sim: SimDep,
    grant: AccessDep,
) -> dict[str, Any]:
    limit(sim, request, "invoiceSend", grant.nip)
    session = open_session_of(sim, grant, referenceNumber, "wysyłkę faktur")
    if len(session.invoices) >= MAX_INVOICES:
        raise KsefError(
            21155,
            "Przekroczono dozwoloną liczbę faktur w sesji.",
            f"Sesja o numerze referencyjnym {referenceNumber} osiągnęła dozwolony limit"
            f" liczby faktur {MAX_INVOICES}.",
        )
    content = encrypted_content(body)
    now = sim.now()
    verdict = verify(session, body, content, now)
    delay = timedelta(seconds=sim.settings.processing_delay_seconds)
    invoice = settle(sim.store, session, verdict, body.invoice_hash, now, now + delay)
    return {"referenceNumber": invoice.reference_number}


@router.post("/{referenceNumber}/close", status_code=204)
async def close_session(
    referenceNumber: str, request: Request, sim: SimDep, grant: AccessDep
) -> Response:
    limit(sim, request, "onlineSession", grant.nip)
    session = open_session_of(sim, grant, referenceNumber, "zamknięcie sesji")
    now = sim.now()
    session.closed = session.updated = now
    session.upo_reference = reference_number("UP", now)
    return Response(status_code=204)
