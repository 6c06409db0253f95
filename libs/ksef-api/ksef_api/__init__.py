"""An asyncio client of the KSeF API 2.0 (online sessions) on httpx and cryptography."""

from ksef_api.client import (
    AuthenticationFailed,
    InvoiceStatus,
    KsefApi,
    KsefError,
    OnlineSession,
    RetryableError,
    Tokens,
    aes_cbc_encrypt,
    b64_sha256,
)

__all__ = [
    "AuthenticationFailed",
    "InvoiceStatus",
    "KsefApi",
    "KsefError",
    "OnlineSession",
    "RetryableError",
    "Tokens",
    "aes_cbc_encrypt",
    "b64_sha256",
]
