"""A batch package as KSeF wants it (`sesja-wsadowa.md`), built in memory: the invoices in
one ZIP, the ZIP cut into parts of at most 100 MB, each part encrypted with AES-256-CBC
(PKCS#7) under the session's key and IV, and the size and SHA-256 of the ZIP and of every
encrypted part, which `KsefApi.open_batch_session` declares."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# A part before encryption, at most (decimal, as the Ministry's clients count it).
MAX_PART_BYTES = 100_000_000
MAX_PARTS = 50
MAX_INVOICES = 10_000


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def aes_cbc_encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding, as KSeF wants an invoice or a batch part."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def build_zip(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A ZIP (deflated) of `(file name, content)` pairs, in that order; names must differ."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            if not name or name in seen or name.endswith("/"):
                raise ValueError(f"file name {name!r}: empty, repeated or a directory")
            seen.add(name)
            archive.writestr(name, content)
    return buffer.getvalue()


def split_parts(data: bytes, max_part_bytes: int = MAX_PART_BYTES) -> list[bytes]:
    """`data` cut into the fewest parts of at most `max_part_bytes`, of near-equal sizes
    (as the Ministry's C# example cuts them)."""
    if max_part_bytes < 1:
        raise ValueError("max_part_bytes must be positive")
    if not data:
        return []
    count = math.ceil(len(data) / max_part_bytes)
    size = math.ceil(len(data) / count)
    return [data[start : start + size] for start in range(0, len(data), size)]


@dataclass(frozen=True)
class BatchPart:
    """One encrypted part: its number (from 1), bytes, size and Base64 SHA-256."""

    ordinal_number: int
    content: bytes = field(repr=False)
    file_hash: str

    @property
    def file_size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class BatchPackage:
    """What a batch session sends: the ZIP's size and hash, its encrypted parts, the key
    and IV they are encrypted with, and each invoice's hash by file name (KSeF reports an
    invoice by its `invoiceFileName` and `invoiceHash`)."""

    zip_size: int
    zip_hash: str
    parts: list[BatchPart]
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)
    invoice_hashes: dict[str, str] = field(repr=False)

    def declaration(self) -> dict[str, object]:
        """`batchFile` of `POST /sessions/batch`."""
        return {
            "fileSize": self.zip_size,
            "fileHash": self.zip_hash,
            "fileParts": [
                {
                    "ordinalNumber": part.ordinal_number,
                    "fileSize": part.file_size,
                    "fileHash": part.file_hash,
                }
                for part in self.parts
            ],
        }


def build_batch(
    files: Iterable[tuple[str, bytes]],
    *,
    max_part_bytes: int = MAX_PART_BYTES,
    key: bytes | None = None,
    iv: bytes | None = None,
) -> BatchPackage:
    """The package of `(file name, invoice XML)` pairs under a fresh (or the given) AES-256
    key and IV: at most 10,000 invoices and 50 parts (`ValueError` beyond)."""
    listed = list(files)
    if not listed:
        raise ValueError("a batch needs at least one invoice")
    if len(listed) > MAX_INVOICES:
        raise ValueError(f"{len(listed)} invoices: a batch session takes {MAX_INVOICES} at most")
    key = key if key is not None else secrets.token_bytes(32)
    iv = iv if iv is not None else secrets.token_bytes(16)
    if len(key) != 32 or len(iv) != 16:
        raise ValueError("AES-256 needs a 32-byte key and a 16-byte IV")
    archive = build_zip(listed)
    pieces = split_parts(archive, min(max_part_bytes, MAX_PART_BYTES))
    if len(pieces) > MAX_PARTS:
        raise ValueError(f"{len(pieces)} parts: a batch session takes {MAX_PARTS} at most")
    parts = []
    for number, piece in enumerate(pieces, start=1):
        encrypted = aes_cbc_encrypt(key, iv, piece)
        parts.append(BatchPart(number, encrypted, b64_sha256(encrypted)))
    return BatchPackage(
        zip_size=len(archive),
        zip_hash=b64_sha256(archive),
        parts=parts,
        key=key,
        iv=iv,
        invoice_hashes={name: b64_sha256(xml) for name, xml in listed},
    )
