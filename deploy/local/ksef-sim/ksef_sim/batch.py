"""Batch sessions (`sesja-wsadowa.md`): open with the package's declaration, PUT each
encrypted part to its pre-signed URL, close; then the package is processed in the background.

The pre-signed URLs point at this process (`/storage/{session}/batch-parts/{n}`, the shape of
KSeF's Azure storage links), signed with an HMAC of the session, the part and the expiry,
and usable without an access token until 20 minutes per declared part have passed. Each
upload's size and SHA-256 must be those declared for that part.

Processing (`faktury/sesje/sesja-wsadowa-diagram-stanow.png`): the key (415), the parts
decrypted with the session's key and IV (435), joined and checked against `batchFile`'s size
and hash (405), unpacked (430), counted (440 when empty, 420 over 10,000), then every file
goes through the online path's `verify_plain` and `settle`: the same checks, the same
duplicate register, KSeF numbers and UPOs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import tarfile
import zipfile
import zlib
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from fastapi import APIRouter, Query, Request, Response

from .deps import AccessDep, Sim, SimDep
from .errors import KsefError, invalid_input
from .invoices import Verdict, b64_sha256, decrypt, settle, verify_plain
from .models import OpenBatchSessionRequest
from .numbers import reference_number
from .sessions import FA3, MAX_INVOICES, limit, session_key, session_of
from .status import session_status
from .store import BatchPackage, BatchPart, Session

router = APIRouter(prefix="/sessions/batch")
storage = APIRouter(prefix="/storage", tags=["batch part uploads (pre-signed, no token)"])

MAX_PARTS = 50
MAX_PART_BYTES = 100_000_000  # a part before encryption (`weryfikacja-faktury.md`)
# Encrypted: PKCS#7 adds up to 16 bytes, an IV prefix (accepted, see `_join`) 16 more.
MAX_ENCRYPTED_PART_BYTES = MAX_PART_BYTES + 32
UPLOAD_MINUTES_PER_PART = 20
COMPRESSIONS = ("Zip", "TarGz")
BLOB_HEADERS = {"x-ms-blob-type": "BlockBlob"}
# The storage API version in the URL, as in the OpenAPI's example (not checked).
STORAGE_VERSION = "2025-01-05"

PackageError = tuple[int, str, list[str]]
Entry = tuple[str, str, Verdict]  # file name, invoice hash, verdict


def _signature(sim: Sim, session_reference: str, ordinal: int, expires: str) -> str:
    message = f"{session_reference}/{ordinal}/{expires}".encode()
    mac = hmac.new(sim.secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def upload_url(sim: Sim, session: Session, ordinal: int) -> str:
    """The part's pre-signed URL: `se` its expiry, `sig` the simulator's signature."""
    assert session.batch is not None
    expires = f"{session.batch.upload_until:%Y-%m-%dT%H:%M:%SZ}"
    query = {
        "sv": STORAGE_VERSION,
        "se": expires,
        "sr": "b",
        "sp": "w",
        "sig": _signature(sim, session.reference_number, ordinal, expires),
    }
    base = sim.settings.upload_base_url
    return f"{base}/storage/{session.reference_number}/batch-parts/{ordinal}?{urlencode(query)}"


@router.post("", status_code=201)
async def open_batch_session(
    body: OpenBatchSessionRequest, request: Request, sim: SimDep, grant: AccessDep
) -> dict[str, Any]:
    limit(sim, request, "batchSession", grant.nip)
    key, iv = session_key(sim, body.form_code, body.encryption)
    declared = body.batch_file
    compression = declared.compression_type or "Zip"
    if compression not in COMPRESSIONS:
        raise invalid_input(f"compressionType {compression!r}: Zip or TarGz expected.")
    parts = declared.file_parts
    if len(parts) > MAX_PARTS:
        raise KsefError(
            21161,
            "Przekroczono dozwoloną liczbę części pakietu.",
            f"Zadeklarowano {len(parts)} części pakietu; dozwolona liczba to {MAX_PARTS}.",
        )
    if sorted(part.ordinal_number for part in parts) != list(range(1, len(parts) + 1)):
        raise invalid_input("fileParts: ordinalNumber must number the parts 1..n, each once.")
    for part in parts:
        if part.file_size > MAX_ENCRYPTED_PART_BYTES:
            raise KsefError(
                21157,
                "Nieprawidłowy rozmiar części pakietu.",
                f"Rozmiar części {part.ordinal_number} przekroczył dozwolony rozmiar 100MB.",
            )
        if part.file_size % 16:
            raise KsefError(
                21157,
                "Nieprawidłowy rozmiar części pakietu.",
                f"Rozmiar części {part.ordinal_number} ({part.file_size} B) nie jest"
                " wielokrotnością bloku AES (16 B).",
            )
    now = sim.now()
    package = BatchPackage(
        declared.file_size,
        declared.file_hash,
        compression,
        {p.ordinal_number: BatchPart(p.ordinal_number, p.file_size, p.file_hash) for p in parts},
        now + timedelta(minutes=UPLOAD_MINUTES_PER_PART * len(parts)),
        body.offline_mode,
    )
    session = Session(
        reference_number("SB", now),
        grant.nip,
        grant.auth_reference,
        FA3,
        now,
        now,
        now + timedelta(hours=sim.settings.session_hours),
        key,
        iv,
        batch=package,
    )
    sim.store.add_session(session)
    uploads = [
        {
            "ordinalNumber": ordinal,
            "method": "PUT",
            "url": upload_url(sim, session, ordinal),
            "headers": dict(BLOB_HEADERS),
        }
        for ordinal in sorted(package.parts)
    ]
    return {"referenceNumber": session.reference_number, "partUploadRequests": uploads}


def _storage_error(status: int, code: str, message: str) -> Response:
    """An error as blob storage answers it (XML), not a KSeF API exception."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


@storage.put("/{referenceNumber}/batch-parts/{ordinal}")
async def upload_part(
    referenceNumber: str,
    ordinal: int,
    request: Request,
    sim: SimDep,
    se: Annotated[str, Query()] = "",
    sig: Annotated[str, Query()] = "",
) -> Response:
    """201 when the part is stored; 401 a URL this simulator did not sign, 403 past its
    expiry or once the session is closed, 400 a missing header or a size or hash other
    than the declared ones (the part is then not stored)."""
    session = sim.store.session(referenceNumber)
    package = session.batch if session is not None else None
    part = package.parts.get(ordinal) if package is not None else None
    expected = _signature(sim, referenceNumber, ordinal, se)
    if session is None or package is None or part is None or not hmac.compare_digest(sig, expected):
        return _storage_error(
            401, "AuthenticationFailed", "Nieprawidłowy podpis adresu przesyłania części."
        )
    now = sim.now()
    if session.closed is not None or now >= package.upload_until:
        return _storage_error(
            403, "AuthorizationFailure", "Upłynął czas na zapis części lub sesja jest zamknięta."
        )
    for name, value in BLOB_HEADERS.items():
        if request.headers.get(name) != value:
            return _storage_error(400, "MissingRequiredHeader", f"Nagłówek {name}: {value}.")
    declared_length = request.headers.get("content-length", "")
    if declared_length.isdigit() and int(declared_length) != part.size:
        return _storage_error(
            400,
            "InvalidPartSize",
            f"Rozmiar części {ordinal} ({declared_length} B) nie zgadza się z zadeklarowanym"
            f" ({part.size} B).",
        )
    content = await request.body()
    if len(content) != part.size:
        return _storage_error(
            400,
            "InvalidPartSize",
            f"Rozmiar części {ordinal} ({len(content)} B) nie zgadza się z zadeklarowanym"
            f" ({part.size} B).",
        )
    if b64_sha256(content) != part.file_hash:
        return _storage_error(
            400, "InvalidPartHash", f"Skrót części {ordinal} nie zgadza się z zadeklarowanym."
        )
    part.content = content
    session.updated = now
    return Response(status_code=201)


@router.post("/{referenceNumber}/close", status_code=204)
async def close_batch_session(
    referenceNumber: str, request: Request, sim: SimDep, grant: AccessDep
) -> Response:
    limit(sim, request, "batchSession", grant.nip)
    session = session_of(sim, grant, referenceNumber, batch=True)
    assert session.batch is not None
    now = sim.now()
    if session.closed is not None:
        raise KsefError(
            21180,
            "Status sesji nie pozwala na wykonanie operacji.",
            f"Status sesji {session_status(sim, session)[0]} uniemożliwia jej zamknięcie.",
        )
    if now >= session.valid_until:
        raise KsefError(
            21208,
            "Czas oczekiwania na requesty upload lub finish został przekroczony.",
            "Sesja anulowana, przekroczony czas wysyłki.",
        )
    missing = [n for n, part in sorted(session.batch.parts.items()) if part.content is None]
    if missing:
        raise KsefError(
            21205,
            "Pakiet nie może być pusty.",
            *(f"Nie przesłano zadeklarowanej '{n}' części pliku." for n in missing),
        )
    session.closed = session.updated = now
    session.upo_reference = reference_number("UP", now)
    task = asyncio.create_task(process(sim, session))
    sim.tasks.add(task)
    task.add_done_callback(sim.tasks.discard)
    return Response(status_code=204)


async def process(sim: Sim, session: Session) -> None:
    """The closed package's verdicts: after the configured delay, the pure work (decrypting,
    unpacking, the XSD) in a worker thread, then each invoice settled on the event loop,
    where the duplicate register is read and written without an await in between."""
    package = session.batch
    assert package is not None
    await asyncio.sleep(sim.settings.batch_processing_delay_seconds)
    now = sim.now()
    try:
        outcome = await asyncio.to_thread(
            unpack, session.key, session.iv, package, session.nip, now
        )
    except Exception as exc:  # noqa: BLE001 - KSeF's own "500 Nieznany błąd"
        outcome = (500, f"Nieznany błąd ({type(exc).__name__})", [str(exc)[:200]])
    now = sim.now()
    if isinstance(outcome, tuple):
        package.error = outcome
    else:
        ready_at = now + timedelta(seconds=sim.settings.processing_delay_seconds)
        for name, invoice_hash, verdict in outcome:
            settle(sim.store, session, verdict, invoice_hash, now, ready_at, name)
    package.processed = session.updated = now
    for part in package.parts.values():
        part.content = None  # processed: the package is not kept


def _join(key: bytes, iv: bytes, package: BatchPackage) -> bytes | PackageError:
    """The parts decrypted in order and joined: the archive, or 435/405. A part may carry
    the IV as a prefix (as `sesja-wsadowa.md` describes it); that form is accepted too."""
    contents = [package.parts[n].content or b"" for n in sorted(package.parts)]
    forms = [contents]
    if all(content[:16] == iv for content in contents):
        forms.append([content[16:] for content in contents])
    joined = None
    for form in forms:
        plain = [decrypt(key, iv, content) for content in form]
        if any(part is None for part in plain):
            continue
        joined = b"".join(part for part in plain if part is not None)
        if len(joined) == package.size and b64_sha256(joined) == package.file_hash:
            return joined
    if joined is None:
        return 435, "Błąd odszyfrowania zaszyfrowanych części archiwum", []
    return (
        405,
        "Błąd weryfikacji poprawności dostarczonych elementów paczki",
        [
            f"Paczka po odszyfrowaniu ma {len(joined)} B i skrót {b64_sha256(joined)};"
            f" zadeklarowano {package.size} B i skrót {package.file_hash}."
        ],
    )


def read_archive(archive: bytes, compression: str) -> list[tuple[str, bytes]]:
    """The files of a ZIP or tar.gz archive, in the archive's order (directories skipped)."""
    if compression == "TarGz":
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            files = []
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files.append((member.name, extracted.read()))
            return files
    with zipfile.ZipFile(io.BytesIO(archive)) as package:
        return [
            (info.filename, package.read(info)) for info in package.infolist() if not info.is_dir()
        ]


def unpack(
    key: bytes | None, iv: bytes, package: BatchPackage, context_nip: str, now: datetime
) -> PackageError | list[Entry]:
    """The package's error, or each file's name, hash and verdict (pure: no store)."""
    if key is None:
        return 415, "Błąd odszyfrowania dostarczonego klucza", []
    archive = _join(key, iv, package)
    if isinstance(archive, tuple):
        return archive
    try:
        files = read_archive(archive, package.compression)
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        EOFError,
        OSError,
        RuntimeError,
    ) as exc:
        return 430, "Błąd dekompresji pierwotnego archiwum", [str(exc)[:200]]
    if not files:
        return 440, "Sesja anulowana", ["Nie przesłano faktur"]
    if len(files) > MAX_INVOICES:
        return (
            420,
            "Przekroczony limit faktur w sesji",
            [f"Paczka zawiera {len(files)} faktur; dozwolona liczba to {MAX_INVOICES}."],
        )
    return [(name, b64_sha256(xml), verify_plain(xml, context_nip, now)) for name, xml in files]
