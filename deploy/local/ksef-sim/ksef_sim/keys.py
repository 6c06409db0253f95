"""The simulator's RSA key pair and its two self-signed certificates, kept in the data dir.

KSeF publishes one certificate per usage (`KsefTokenEncryption`, `SymmetricKeyEncryption`);
here both certify the same key, made once and reused after every restart.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

USAGES = ("KsefTokenEncryption", "SymmetricKeyEncryption")
KEY_FILE = "ksef-sim-key.pem"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@dataclass(frozen=True)
class KeyMaterial:
    private_key: rsa.RSAPrivateKey
    certificates: dict[str, x509.Certificate]

    def decrypt(self, ciphertext: bytes) -> bytes:
        """RSA-OAEP with SHA-256 (MGF1 SHA-256); raises ValueError when it does not decrypt."""
        return self.private_key.decrypt(ciphertext, OAEP)

    @property
    def public_key_id(self) -> str:
        """Base64 SHA-256 of the public key's SubjectPublicKeyInfo (44 characters)."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _certificate(key: rsa.RSAPrivateKey, usage: str, now: datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "einvoice KSeF simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"ksef-sim {usage}"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def load_or_create(data_dir: Path) -> KeyMaterial:
    """The key pair and certificates in `data_dir`, made there on the first start."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path = data_dir / KEY_FILE
    if key_path.exists():
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path} is not an RSA private key")
        key = loaded
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(key_path, pem)
    now = datetime.now(UTC)
    certificates = {}
    for usage in USAGES:
        cert_path = data_dir / f"cert-{usage}.pem"
        cert = (
            x509.load_pem_x509_certificate(cert_path.read_bytes()) if cert_path.exists() else None
        )
        if cert is not None and _spki(cert.public_key()) == _spki(key.public_key()):
            certificates[usage] = cert
        else:
            certificates[usage] = _certificate(key, usage, now)
            _write_private(cert_path, certificates[usage].public_bytes(serialization.Encoding.PEM))
    return KeyMaterial(key, certificates)
