"""Reading sessions back: their status, their invoices' statuses and the UPO documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from . import upo
from .deps import AccessDep, Sim, SimDep
from .errors import invalid_input
from .invoices import b64_sha256
from .sessions import limit, session_of
from .store import Invoice, Session

router = APIRouter(prefix="/sessions")
LINK_LIFETIME = timedelta(hours=1)


def _ready(sim: Sim, invoice: Invoice) -> bool:
    return sim.now() >= invoice.ready_at


def _invoices(sim: Sim, session: Session) -> list[Invoice]:
    found = (sim.store.invoice(ref) for ref in session.invoices)
    return [invoice for invoice in found if invoice is not None]


def _upo_link(sim: Sim, session: Session, name: str) -> dict[str, str]:
    expires = sim.now() + LINK_LIFETIME
    url = f"{sim.settings.base_url}/_sim/storage/upo/{session.reference_number}/{name}"
    return {"url": url, "expires": expires.isoformat()}


def invoice_status(sim: Sim, session: Session, invoice: Invoice) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ordinalNumber": invoice.ordinal,
        "referenceNumber": invoice.reference_number,
        "invoiceHash": invoice.invoice_hash,
        "invoicingDate": invoice.received.isoformat(),
        "invoicingMode": "Offline" if session.batch and session.batch.offline_mode else "Online",
    }
    if invoice.file_name:
        body["invoiceFileName"] = invoice.file_name
    if not _ready(sim, invoice):
        body["status"] = {"code": 150, "description": "Trwa przetwarzanie"}
        return body
    status: dict[str, Any] = {
        "code": invoice.status_code,
        "description": invoice.status_description,
    }
    if invoice.details:
        status["details"] = invoice.details
    if invoice.extensions:
        status["extensions"] = invoice.extensions
    body["status"] = status
    if invoice.invoice_number:
        body["invoiceNumber"] = invoice.invoice_number
    if invoice.ksef_number and invoice.acquired:
        link = _upo_link(sim, session, invoice.reference_number)
        body |= {
            "ksefNumber": invoice.ksef_number,
            "acquisitionDate": invoice.acquired.isoformat(),
            "permanentStorageDate": invoice.acquired.isoformat(),
            "upoDownloadUrl": link["url"],
            "upoDownloadUrlExpirationDate": link["expires"],
        }
    return body


def _batch_status(sim: Sim, session: Session) -> tuple[int, str, list[str]]:
    """A batch session's status (`faktury/sesje/sesja-wsadowa-diagram-stanow.png`)."""
    assert session.batch is not None
    if session.closed is None:
        if sim.now() < session.valid_until:
            return 100, "Sesja wsadowa rozpoczęta", []
        return 440, "Sesja anulowana", ["Przekroczono czas wysyłki"]
    if session.batch.processed is None:
        return 150, "Trwa przetwarzanie", []
    if session.batch.error is not None:
        return session.batch.error
    invoices = _invoices(sim, session)
    if not all(_ready(sim, invoice) for invoice in invoices):
        return 150, "Trwa przetwarzanie", []
    if not any(invoice.ksef_number for invoice in invoices):
        return 445, "Błąd weryfikacji, brak poprawnych faktur", []
    return 200, "Sesja wsadowa przetworzona pomyślnie", []


def session_status(sim: Sim, session: Session) -> tuple[int, str, list[str]]:
    if session.batch is not None:
        return _batch_status(sim, session)
    invoices = _invoices(sim, session)
    if session.key is None:
        return 415, "Błąd odszyfrowania dostarczonego klucza", []
    if session.closed is None and sim.now() < session.valid_until:
        return 100, "Sesja interaktywna otwarta", []
    if not invoices:
        return 440, "Sesja anulowana", ["Nie przesłano faktur"]
    if not all(_ready(sim, invoice) for invoice in invoices):
        return 170, "Sesja interaktywna zamknięta", []
    if not any(invoice.ksef_number for invoice in invoices):
        return 445, "Błąd weryfikacji, brak poprawnych faktur", []
    return 200, "Sesja interaktywna przetworzona pomyślnie", []


@router.get("/{referenceNumber}")
async def get_session(
    referenceNumber: str, request: Request, sim: SimDep, grant: AccessDep
) -> dict[str, Any]:
    limit(sim, request, "sessionMisc", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    code, description, details = session_status(sim, session)
    ready = [invoice for invoice in _invoices(sim, session) if _ready(sim, invoice)]
    succeeded = sum(1 for invoice in ready if invoice.ksef_number)
    body: dict[str, Any] = {
        "status": {"code": code, "description": description}
        | ({"details": details} if details else {}),
        "dateCreated": session.created.isoformat(),
        "dateUpdated": session.updated.isoformat(),
        "validUntil": session.valid_until.isoformat(),
        "invoiceCount": len(session.invoices),
        "successfulInvoiceCount": succeeded,
        "failedInvoiceCount": len(ready) - succeeded,
    }
    if code == 200 and session.upo_reference:
        link = _upo_link(sim, session, session.upo_reference)
        page = {
            "referenceNumber": session.upo_reference,
            "downloadUrl": link["url"],
            "downloadUrlExpirationDate": link["expires"],
        }
        body["upo"] = {"pages": [page]}
    return body


PageSize = Annotated[int, Query(ge=10, le=1000)]
Continuation = Annotated[str | None, Header(alias="x-continuation-token")]


def _page(
    sim: Sim, session: Session, invoices: list[Invoice], size: int, token: str | None
) -> dict[str, Any]:
    """One page of invoice statuses; the continuation token is the next page's offset."""
    start = int(token) if token and token.isdigit() else 0
    page = invoices[start : start + size]
    body: dict[str, Any] = {"invoices": [invoice_status(sim, session, i) for i in page]}
    if start + size < len(invoices):
        body["continuationToken"] = str(start + size)
    return body


@router.get("/{referenceNumber}/invoices")
async def list_invoices(
    referenceNumber: str,
    request: Request,
    sim: SimDep,
    grant: AccessDep,
    pageSize: PageSize = 10,
    continuation: Continuation = None,
) -> dict[str, Any]:
    limit(sim, request, "sessionInvoiceList", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    return _page(sim, session, _invoices(sim, session), pageSize, continuation)


# Declared before `/invoices/{invoiceReferenceNumber}`, which would otherwise take "failed".
@router.get("/{referenceNumber}/invoices/failed")
async def list_failed_invoices(
    referenceNumber: str,
    request: Request,
    sim: SimDep,
    grant: AccessDep,
    pageSize: PageSize = 10,
    continuation: Continuation = None,
) -> dict[str, Any]:
    limit(sim, request, "sessionInvoiceList", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    failed = [i for i in _invoices(sim, session) if _ready(sim, i) and i.status_code >= 400]
    return _page(sim, session, failed, pageSize, continuation)


def invoice_of(sim: Sim, session: Session, reference: str) -> Invoice:
    invoice = sim.store.invoice(reference)
    if invoice is None or invoice.session_reference != session.reference_number:
        raise invalid_input(
            f"Faktura o numerze referencyjnym {reference} nie została odnaleziona.",
        )
    return invoice


@router.get("/{referenceNumber}/invoices/{invoiceReferenceNumber}")
async def get_invoice(
    referenceNumber: str,
    invoiceReferenceNumber: str,
    request: Request,
    sim: SimDep,
    grant: AccessDep,
) -> dict[str, Any]:
    limit(sim, request, "invoiceStatus", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    return invoice_status(sim, session, invoice_of(sim, session, invoiceReferenceNumber))


def upo_response(sim: Sim, session: Session, invoices: list[Invoice]) -> Response:
    auth = sim.store.auth(session.auth_reference)
    document = upo.render(session, auth.token_reference if auth else None, invoices)
    return Response(
        document, media_type="application/xml", headers={"x-ms-meta-hash": b64_sha256(document)}
    )


def registered(sim: Sim, invoice: Invoice) -> Invoice:
    if not _ready(sim, invoice) or not invoice.ksef_number:
        raise invalid_input(
            f"UPO faktury {invoice.reference_number} nie jest dostępne.",
        )
    return invoice


@router.get("/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo")
async def invoice_upo(
    referenceNumber: str,
    invoiceReferenceNumber: str,
    request: Request,
    sim: SimDep,
    grant: AccessDep,
) -> Response:
    limit(sim, request, "sessionMisc", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    return upo_response(
        sim, session, [registered(sim, invoice_of(sim, session, invoiceReferenceNumber))]
    )


@router.get("/{referenceNumber}/invoices/ksef/{ksefNumber}/upo")
async def invoice_upo_by_ksef_number(
    referenceNumber: str, ksefNumber: str, request: Request, sim: SimDep, grant: AccessDep
) -> Response:
    limit(sim, request, "sessionMisc", grant.nip)
    session = session_of(sim, grant, referenceNumber)
    for invoice in _invoices(sim, session):
        if invoice.ksef_number == ksefNumber and _ready(sim, invoice):
            return upo_response(sim, session, [invoice])
    raise invalid_input(
        f"Faktura o numerze KSeF {ksefNumber} nie została odnaleziona w sesji.",
    )


def session_upo(sim: Sim, session: Session, upo_reference: str) -> Response:
    if session_status(sim, session)[0] != 200 or session.upo_reference != upo_reference:
        raise invalid_input(
            f"UPO {upo_reference} nie zostało odnalezione.",
        )
    return upo_response(
        sim, session, [invoice for invoice in _invoices(sim, session) if invoice.ksef_number]
    )


@router.get("/{referenceNumber}/upo/{upoReferenceNumber}")
async def get_session_upo(
    referenceNumber: str, upoReferenceNumber: str, request: Request, sim: SimDep, grant: AccessDep
) -> Response:
    limit(sim, request, "sessionMisc", grant.nip)
    return session_upo(sim, session_of(sim, grant, referenceNumber), upoReferenceNumber)
