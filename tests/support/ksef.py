"""A KSeF client as a real one works (httpx + cryptography), and the simulator's process.

Nothing here imports `ksef_sim`: the tests talk to it over HTTP only, and check its KSeF
numbers with their own CRC-8.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.support import PYTHON, ROOT
from tests.support.openapi import check

T = TypeVar("T")
OAEP = asym_padding.OAEP(
    mgf=asym_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
KSEF_NUMBER = re.compile(r"^(\d{10})-(\d{8})-([0-9A-F]{12})-([0-9A-F]{2})$")


def until(check_: Callable[[], T | None], *, timeout: float = 20, what: str = "condition") -> T:
    """Poll `check_` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check_()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def crc8_reference(data: bytes) -> int:
    """CRC-8 (poly 0x07, init 0) as long division of the message times x^8 by x^8+x^2+x+1."""
    value = int.from_bytes(data, "big") << 8
    divisor = 0x107
    for shift in range(value.bit_length() - 9, -1, -1):
        if value >> (shift + 8) & 1:
            value ^= divisor << shift
    return value


def ksef_number_ok(number: str) -> bool:
    return (
        bool(KSEF_NUMBER.match(number))
        and f"{crc8_reference(number[:32].encode()):02X}" == number[33:]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Simulator:
    base_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_simulator(data_dir: Path, **env: str) -> Simulator:
    """`python -m ksef_sim` on a free loopback port, answering before this returns."""
    port = free_port()
    environment = (
        os.environ
        | {
            "KSEF_SIM_PORT": str(port),
            "KSEF_SIM_DATA_DIR": str(data_dir),
        }
        | env
    )
    process = subprocess.Popen([str(PYTHON), "-m", "ksef_sim"], cwd=ROOT, env=environment)
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"ksef_sim exited with {process.returncode}")
        try:
            return httpx.post(f"{base_url}/v2/auth/challenge", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    until(answers, timeout=30, what="the simulator to answer")
    return Simulator(base_url, process)


def aes_encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class KsefClient:
    """What a KSeF client does, each answer checked against the OpenAPI."""

    base_url: str
    http: httpx.Client = field(init=False)
    access_token: str = ""
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    iv: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=f"{self.base_url}/v2", timeout=10)

    def call(self, method: str, path: str, template: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        check(response, method, template)
        return response

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def public_key(self, usage: str) -> rsa.RSAPublicKey:
        certificates = self.call(
            "GET", "/security/public-key-certificates", "/security/public-key-certificates"
        ).json()
        chosen = next(c for c in certificates if usage in c["usage"])
        key = x509.load_der_x509_certificate(base64.b64decode(chosen["certificate"])).public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        return key

    def start_auth(self, ksef_token: str, nip: str, *, stamp_shift_ms: int = 0) -> dict[str, Any]:
        """Challenge, then the encrypted `token|timestampMs`: the 202 answer's body."""
        challenge = self.call("POST", "/auth/challenge", "/auth/challenge").json()
        plain = f"{ksef_token}|{challenge['timestampMs'] + stamp_shift_ms}".encode()
        encrypted = self.public_key("KsefTokenEncryption").encrypt(plain, OAEP)
        body = {
            "challenge": challenge["challenge"],
            "contextIdentifier": {"type": "Nip", "value": nip},
            "encryptedToken": base64.b64encode(encrypted).decode(),
        }
        answer: dict[str, Any] = self.call(
            "POST", "/auth/ksef-token", "/auth/ksef-token", json=body
        ).json()
        return answer

    def auth_status(self, started: dict[str, Any]) -> dict[str, Any]:
        ref, token = started["referenceNumber"], started["authenticationToken"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        status: dict[str, Any] = self.call(
            "GET", f"/auth/{ref}", "/auth/{referenceNumber}", headers=headers
        ).json()
        return status

    def authenticate(self, ksef_token: str, nip: str) -> dict[str, Any]:
        started = self.start_auth(ksef_token, nip)
        until(lambda: self.auth_status(started)["status"]["code"] == 200, what="auth 200")
        headers = {"Authorization": f"Bearer {started['authenticationToken']['token']}"}
        tokens: dict[str, Any] = self.call(
            "POST", "/auth/token/redeem", "/auth/token/redeem", headers=headers
        ).json()
        self.access_token = tokens["accessToken"]["token"]
        return tokens

    def encryption(self) -> dict[str, str]:
        """The session key encrypted with the simulator's public key, and the IV."""
        encrypted_key = self.public_key("SymmetricKeyEncryption").encrypt(self.key, OAEP)
        return {
            "encryptedSymmetricKey": base64.b64encode(encrypted_key).decode(),
            "initializationVector": base64.b64encode(self.iv).decode(),
        }

    def request_session(self, encryption: dict[str, str]) -> httpx.Response:
        body = {
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": encryption,
        }
        return self.call(
            "POST", "/sessions/online", "/sessions/online", json=body, headers=self.auth_headers()
        )

    def open_session(self) -> str:
        response = self.request_session(self.encryption())
        assert response.status_code == 201, response.text
        reference: str = response.json()["referenceNumber"]
        return reference

    def invoice_body(self, xml: bytes) -> dict[str, Any]:
        encrypted = aes_encrypt(self.key, self.iv, xml)
        return {
            "invoiceHash": b64_sha256(xml),
            "invoiceSize": len(xml),
            "encryptedInvoiceHash": b64_sha256(encrypted),
            "encryptedInvoiceSize": len(encrypted),
            "encryptedInvoiceContent": base64.b64encode(encrypted).decode(),
        }

    def send(
        self, session: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.call(
            "POST",
            f"/sessions/online/{session}/invoices",
            "/sessions/online/{referenceNumber}/invoices",
            json=body,
            headers=self.auth_headers() | (headers or {}),
        )

    def invoice_status(self, session: str, invoice: str) -> dict[str, Any]:
        status: dict[str, Any] = self.call(
            "GET",
            f"/sessions/{session}/invoices/{invoice}",
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            headers=self.auth_headers(),
        ).json()
        return status

    def settled(self, session: str, invoice: str) -> dict[str, Any]:
        """The invoice's status once it is past 100/150."""
        return until(
            lambda: (s := self.invoice_status(session, invoice))["status"]["code"] >= 200 and s,
            what=f"invoice {invoice} to settle",
        )

    def submit(self, session: str, xml: bytes) -> dict[str, Any]:
        response = self.send(session, self.invoice_body(xml))
        assert response.status_code == 202, response.text
        return self.settled(session, response.json()["referenceNumber"])


# --- batch sessions: every answer a KsefApi gets, checked against the OpenAPI -------------


def openapi_template(method: str, path: str) -> str | None:
    """The OpenAPI path template (without `/v2`) that `method path` is an operation of, the
    most literal one first (`.../invoices/failed` before `.../invoices/{invoiceRef}`)."""
    from tests.support.openapi import spec

    candidates = []
    for template, operations in spec()["paths"].items():
        if method.lower() not in operations:
            continue
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            candidates.append((template.count("{"), template))
    return min(candidates)[1] if candidates else None


def checking_openapi(checked: list[str]) -> httpx.AsyncClient:
    """An httpx client whose every `/v2` answer is checked against the OpenAPI (the
    operation's declared status and schema); `checked` collects `METHOD template`. Other
    answers (the pre-signed part uploads, storage links) are not KSeF API operations, and a
    5xx (an outage, `/_sim/faults`) is the gateway's, which the OpenAPI does not declare."""

    async def hook(response: httpx.Response) -> None:
        path = response.request.url.path
        if not path.startswith("/v2/") or response.status_code >= 500:
            return
        await response.aread()
        method = response.request.method
        template = openapi_template(method, path.removeprefix("/v2"))
        assert template is not None, f"{method} {path} is not in the OpenAPI"
        check(response, method, template)
        checked.append(f"{method} {template}")

    return httpx.AsyncClient(timeout=30, event_hooks={"response": [hook]})
