"""The KSeF API 2.0 calls of online and batch sessions, on httpx (asyncio) and cryptography.

Paths and payloads are those of the Ministry's OpenAPI (2.6.0); `base_url` ends in `/v2`
(`https://api-test.ksef.mf.gov.pl/v2` on the test environment). Nothing here retries: a 429
or a 5xx is a `RetryableError` carrying the server's wait, for the caller's own limiter.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from ksef_api.batch import (
    MAX_PART_BYTES,
    BatchPackage,
    BatchPart,
    aes_cbc_encrypt,
    b64_sha256,
    build_batch,
)

OAEP = asym_padding.OAEP(
    mgf=asym_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
FA3_FORM = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
# A status below this is still in progress (100 open/started, 150 processing, 170 closing).
SETTLED = 200
DUPLICATE = 440


class KsefError(Exception):
    """KSeF answered with an error: its HTTP status, exception codes and descriptions."""

    def __init__(self, http_status: int, codes: list[int], message: str) -> None:
        super().__init__(f"KSeF {http_status} {codes}: {message}")
        self.http_status = http_status
        self.codes = codes
        self.message = message


class RetryableError(KsefError):
    """429 (a rate limit) or 5xx (an outage): try again after `retry_after` seconds (the
    server's `Retry-After`, 1 when it sent none)."""

    def __init__(self, http_status: int, codes: list[int], message: str, retry_after: float):
        super().__init__(http_status, codes, message)
        self.retry_after = retry_after


class AuthenticationFailed(Exception):
    """The authentication operation ended in a KSeF status other than 200: `450` a wrong or
    unknown token, `415` no permissions in the context, and so on."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"KSeF authentication {code}: {description}")
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Tokens:
    access_token: str
    access_valid_until: str
    refresh_token: str
    refresh_valid_until: str


@dataclass(frozen=True)
class OnlineSession:
    reference_number: str
    valid_until: str
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)


@dataclass(frozen=True)
class InvoiceStatus:
    """An invoice's status in a session (`GET /sessions/{ref}/invoices/{invoiceRef}`)."""

    reference_number: str
    code: int
    description: str
    details: list[str]
    ksef_number: str | None
    acquisition_date: str | None
    upo_download_url: str | None
    original_ksef_number: str | None
    original_session_reference_number: str | None
    ordinal_number: int | None = None
    invoice_number: str | None = None
    invoice_hash: str | None = None
    invoice_file_name: str | None = None  # a batch invoice's file in the package

    @property
    def settled(self) -> bool:
        return self.code >= SETTLED

    @property
    def registered(self) -> bool:
        return self.code == SETTLED and self.ksef_number is not None

    @property
    def already_registered(self) -> bool:
        """KSeF's duplicate answer (440): the invoice is registered under `original_ksef_number`."""
        return self.code == DUPLICATE and self.original_ksef_number is not None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> InvoiceStatus:
        status = body["status"]
        extensions = status.get("extensions") or {}
        return cls(
            reference_number=body["referenceNumber"],
            code=status["code"],
            description=status.get("description", ""),
            details=list(status.get("details") or []),
            ksef_number=body.get("ksefNumber"),
            acquisition_date=body.get("acquisitionDate"),
            upo_download_url=body.get("upoDownloadUrl"),
            original_ksef_number=extensions.get("originalKsefNumber"),
            original_session_reference_number=extensions.get("originalSessionReferenceNumber"),
            ordinal_number=body.get("ordinalNumber"),
            invoice_number=body.get("invoiceNumber"),
            invoice_hash=body.get("invoiceHash"),
            invoice_file_name=body.get("invoiceFileName"),
        )


@dataclass(frozen=True)
class PartUpload:
    """Where and how to send one part (`partUploadRequests[]`): no access token goes there."""

    ordinal_number: int
    method: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class BatchSession:
    reference_number: str
    part_uploads: list[PartUpload]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _error(response: httpx.Response) -> KsefError:
    codes: list[int] = []
    message = response.text[:500]
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        details = (body.get("exception") or {}).get("exceptionDetailList") or []
        codes = [d["exceptionCode"] for d in details if "exceptionCode" in d]
        texts = [d.get("exceptionDescription", "") for d in details]
        if isinstance(body.get("status"), dict):  # TooManyRequestsResponse
            texts += [body["status"].get("description", "")] + body["status"].get("details", [])
        message = "; ".join(t for t in texts if t) or body.get("title", message)
    if response.status_code == 429 or response.status_code >= 500:
        return RetryableError(response.status_code, codes, message, _retry_after(response))
    return KsefError(response.status_code, codes, message)


class KsefApi:
    """One KSeF environment (`base_url` ending in `/v2`) over one `httpx.AsyncClient`."""

    def __init__(
        self, base_url: str, *, http: httpx.AsyncClient | None = None, timeout: float = 30
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> KsefApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        bearer: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = await self._http.request(
            method,
            f"{self.base_url}{path}",
            headers=sent | (headers or {}),
            json=json,
            params=params,
        )
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def public_key(self, usage: str) -> rsa.RSAPublicKey:
        """The Ministry's key for `KsefTokenEncryption` or `SymmetricKeyEncryption` (cached)."""
        if usage not in self._keys:
            response = await self._call("GET", "/security/public-key-certificates")
            for certificate in response.json():
                key = x509.load_der_x509_certificate(
                    base64.b64decode(certificate["certificate"])
                ).public_key()
                if isinstance(key, rsa.RSAPublicKey):
                    for each in certificate["usage"]:
                        self._keys.setdefault(each, key)
        return self._keys[usage]

    async def authenticate(
        self, nip: str, ksef_token: str, *, poll_interval: float = 0.1, max_wait: float = 60
    ) -> Tokens:
        """Challenge, the encrypted `token|timestampMs`, the operation's status, redeem."""
        challenge = (await self._call("POST", "/auth/challenge")).json()
        plain = f"{ksef_token}|{challenge['timestampMs']}".encode()
        encrypted = (await self.public_key("KsefTokenEncryption")).encrypt(plain, OAEP)
        started = (
            await self._call(
                "POST",
                "/auth/ksef-token",
                json={
                    "challenge": challenge["challenge"],
                    "contextIdentifier": {"type": "Nip", "value": nip},
                    "encryptedToken": base64.b64encode(encrypted).decode(),
                },
            )
        ).json()
        operation = started["authenticationToken"]["token"]
        async with asyncio.timeout(max_wait):
            while True:
                path = f"/auth/{started['referenceNumber']}"
                status = (await self._call("GET", path, bearer=operation)).json()["status"]
                if status["code"] == SETTLED:
                    break
                if status["code"] != 100:
                    texts = [status["description"], *status.get("details", [])]
                    raise AuthenticationFailed(status["code"], "; ".join(texts))
                await asyncio.sleep(poll_interval)
        tokens = (await self._call("POST", "/auth/token/redeem", bearer=operation)).json()
        return Tokens(
            access_token=tokens["accessToken"]["token"],
            access_valid_until=tokens["accessToken"]["validUntil"],
            refresh_token=tokens["refreshToken"]["token"],
            refresh_valid_until=tokens["refreshToken"]["validUntil"],
        )

    async def refresh(self, refresh_token: str) -> str:
        """A new access token for a refresh token."""
        body = (await self._call("POST", "/auth/token/refresh", bearer=refresh_token)).json()
        token: str = body["accessToken"]["token"]
        return token

    async def _encryption(self, key: bytes, iv: bytes) -> dict[str, str]:
        """`EncryptionInfo`: the AES key RSA-OAEP encrypted with the Ministry's key, the IV."""
        encrypted_key = (await self.public_key("SymmetricKeyEncryption")).encrypt(key, OAEP)
        return {
            "encryptedSymmetricKey": base64.b64encode(encrypted_key).decode(),
            "initializationVector": base64.b64encode(iv).decode(),
        }

    async def open_online_session(self, access_token: str) -> OnlineSession:
        """An FA(3) online session under a fresh AES-256 key, sent RSA-OAEP encrypted."""
        key, iv = secrets.token_bytes(32), secrets.token_bytes(16)
        body = (
            await self._call(
                "POST",
                "/sessions/online",
                bearer=access_token,
                json={"formCode": FA3_FORM, "encryption": await self._encryption(key, iv)},
            )
        ).json()
        return OnlineSession(body["referenceNumber"], body["validUntil"], key, iv)

    async def send_invoice(self, access_token: str, session: OnlineSession, xml: bytes) -> str:
        """Send one invoice's exact bytes, encrypted; its reference number in the session."""
        encrypted = aes_cbc_encrypt(session.key, session.iv, xml)
        body = (
            await self._call(
                "POST",
                f"/sessions/online/{session.reference_number}/invoices",
                bearer=access_token,
                json={
                    "invoiceHash": b64_sha256(xml),
                    "invoiceSize": len(xml),
                    "encryptedInvoiceHash": b64_sha256(encrypted),
                    "encryptedInvoiceSize": len(encrypted),
                    "encryptedInvoiceContent": base64.b64encode(encrypted).decode(),
                },
            )
        ).json()
        reference: str = body["referenceNumber"]
        return reference

    async def close_online_session(self, access_token: str, session_reference: str) -> None:
        await self._call("POST", f"/sessions/online/{session_reference}/close", bearer=access_token)

    async def session_status(self, access_token: str, session_reference: str) -> dict[str, Any]:
        """`GET /sessions/{ref}`: status, invoice counts, `upo.pages` once processed."""
        body: dict[str, Any] = (
            await self._call("GET", f"/sessions/{session_reference}", bearer=access_token)
        ).json()
        return body

    async def invoice_status(
        self, access_token: str, session_reference: str, invoice_reference: str
    ) -> InvoiceStatus:
        path = f"/sessions/{session_reference}/invoices/{invoice_reference}"
        response = await self._call("GET", path, bearer=access_token)
        return InvoiceStatus.parse(response.json())

    async def settled_invoice(
        self,
        access_token: str,
        session_reference: str,
        invoice_reference: str,
        *,
        poll_interval: float = 0.1,
        max_wait: float = 60,
    ) -> InvoiceStatus:
        """The invoice's status once past 100/150 (registered, already registered or refused);
        `TimeoutError` after `max_wait` seconds."""
        async with asyncio.timeout(max_wait):
            while True:
                status = await self.invoice_status(
                    access_token, session_reference, invoice_reference
                )
                if status.settled:
                    return status
                await asyncio.sleep(poll_interval)

    async def invoice_upo(
        self, access_token: str, session_reference: str, invoice_reference: str
    ) -> bytes:
        """The invoice's UPO (v4-3 XML)."""
        path = f"/sessions/{session_reference}/invoices/{invoice_reference}/upo"
        return (await self._call("GET", path, bearer=access_token)).content

    async def invoice_upo_by_ksef_number(
        self, access_token: str, session_reference: str, ksef_number: str
    ) -> bytes:
        """The UPO of the invoice KSeF registered under `ksef_number` in that session (the
        way to an invoice's UPO when KSeF answered 440 with the original's number)."""
        path = f"/sessions/{session_reference}/invoices/ksef/{ksef_number}/upo"
        return (await self._call("GET", path, bearer=access_token)).content

    async def session_upo(
        self, access_token: str, session_reference: str, upo_reference: str
    ) -> bytes:
        """One page of a closed session's UPO (v4-3 XML)."""
        path = f"/sessions/{session_reference}/upo/{upo_reference}"
        return (await self._call("GET", path, bearer=access_token)).content

    async def iter_session_invoices(
        self,
        access_token: str,
        session_reference: str,
        *,
        failed_only: bool = False,
        page_size: int = 1000,
    ) -> AsyncIterator[InvoiceStatus]:
        """Every invoice of a session (`GET /sessions/{ref}/invoices`, or `.../failed`), page
        by page (`pageSize` 10-1000), following `continuationToken` until there is none."""
        path = f"/sessions/{session_reference}/invoices" + ("/failed" if failed_only else "")
        token: str | None = None
        while True:
            headers = {"x-continuation-token": token} if token else None
            body = (
                await self._call(
                    "GET",
                    path,
                    bearer=access_token,
                    params={"pageSize": page_size},
                    headers=headers,
                )
            ).json()
            for invoice in body.get("invoices") or []:
                yield InvoiceStatus.parse(invoice)
            token = body.get("continuationToken")
            if not token:
                return

    async def session_invoices(
        self,
        access_token: str,
        session_reference: str,
        *,
        failed_only: bool = False,
        page_size: int = 1000,
    ) -> list[InvoiceStatus]:
        """All of `iter_session_invoices` in one list."""
        return [
            status
            async for status in self.iter_session_invoices(
                access_token, session_reference, failed_only=failed_only, page_size=page_size
            )
        ]

    async def settled_session(
        self,
        access_token: str,
        session_reference: str,
        *,
        poll_interval: float = 0.2,
        max_wait: float = 300,
    ) -> dict[str, Any]:
        """The session's status once past 100/150/170 (200, or a failure such as 405, 415,
        420, 430, 435, 440, 445); `TimeoutError` after `max_wait` seconds. A session still
        open (100) is waited for too: close it first."""
        async with asyncio.timeout(max_wait):
            while True:
                state = await self.session_status(access_token, session_reference)
                if state["status"]["code"] >= SETTLED:
                    return state
                await asyncio.sleep(poll_interval)

    async def open_batch_session(
        self, access_token: str, package: BatchPackage, *, offline_mode: bool = False
    ) -> BatchSession:
        """`POST /sessions/batch`: an FA(3) batch session declaring `package` (see
        `build_batch`), its key RSA-OAEP encrypted; where to upload each part."""
        body = (
            await self._call(
                "POST",
                "/sessions/batch",
                bearer=access_token,
                json={
                    "formCode": FA3_FORM,
                    "batchFile": package.declaration(),
                    "encryption": await self._encryption(package.key, package.iv),
                    "offlineMode": offline_mode,
                },
            )
        ).json()
        uploads = [
            PartUpload(
                ordinal_number=each["ordinalNumber"],
                method=each["method"],
                url=each["url"],
                headers={k: v for k, v in (each.get("headers") or {}).items() if v is not None},
            )
            for each in body["partUploadRequests"]
        ]
        return BatchSession(body["referenceNumber"], uploads)

    async def upload_part(self, upload: PartUpload, part: BatchPart) -> None:
        """One encrypted part to its pre-signed URL, exactly as KSeF said (method, headers),
        without the access token. Any host KSeF names is used, loopback included."""
        if upload.ordinal_number != part.ordinal_number:
            raise ValueError(f"part {part.ordinal_number} sent to {upload.ordinal_number}'s URL")
        response = await self._http.request(
            upload.method, upload.url, headers=upload.headers, content=part.content
        )
        if response.status_code >= 400:
            raise _error(response)

    async def upload_parts(
        self, session: BatchSession, package: BatchPackage, *, concurrency: int = 4
    ) -> None:
        """Every part of `package` to its URL, up to `concurrency` at a time (the uploads are
        outside KSeF's rate limits; the Ministry suggests sending parts in parallel). The
        first failure (`KsefError`, `RetryableError`) is raised, the other uploads cancelled."""
        uploads = {upload.ordinal_number: upload for upload in session.part_uploads}
        if sorted(uploads) != [part.ordinal_number for part in package.parts]:
            raise ValueError("the session's upload requests do not match the package's parts")
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(part: BatchPart) -> None:
            async with gate:
                await self.upload_part(uploads[part.ordinal_number], part)

        try:
            async with asyncio.TaskGroup() as group:
                for part in package.parts:
                    group.create_task(one(part))
        except ExceptionGroup as failed:  # the others were cancelled; report the first
            raise failed.exceptions[0] from failed

    async def close_batch_session(self, access_token: str, session_reference: str) -> None:
        """`POST /sessions/batch/{ref}/close`: KSeF starts processing the package."""
        await self._call("POST", f"/sessions/batch/{session_reference}/close", bearer=access_token)

    async def send_batch(
        self,
        access_token: str,
        files: Iterable[tuple[str, bytes]],
        *,
        max_part_bytes: int = MAX_PART_BYTES,
        concurrency: int = 4,
    ) -> tuple[str, BatchPackage]:
        """Build the package of `(file name, invoice XML)` pairs, open a batch session, upload
        every part and close it: the session's reference and the package (its
        `invoice_hashes` tie KSeF's statuses back to the files)."""
        package = build_batch(files, max_part_bytes=max_part_bytes)
        session = await self.open_batch_session(access_token, package)
        await self.upload_parts(session, package, concurrency=concurrency)
        await self.close_batch_session(access_token, session.reference_number)
        return session.reference_number, package
