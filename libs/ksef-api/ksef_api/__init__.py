"""An asyncio client of the KSeF API 2.0 (online and batch sessions) on httpx and cryptography."""

from ksef_api.batch import (
    BatchPackage,
    BatchPart,
    aes_cbc_encrypt,
    b64_sha256,
    build_batch,
    build_zip,
    split_parts,
)
from ksef_api.client import (
    AuthenticationFailed,
    BatchSession,
    InvoiceStatus,
    KsefApi,
    KsefError,
    OnlineSession,
    PartUpload,
    RetryableError,
    Tokens,
)

__all__ = [
    "AuthenticationFailed",
    "BatchPackage",
    "BatchPart",
    "BatchSession",
    "InvoiceStatus",
    "KsefApi",
    "KsefError",
    "OnlineSession",
    "PartUpload",
    "RetryableError",
    "Tokens",
    "aes_cbc_encrypt",
    "b64_sha256",
    "build_batch",
    "build_zip",
    "split_parts",
]
