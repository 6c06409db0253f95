"""Sealing secrets that tenants give the platform (mailbox passwords, webhook secrets).

Sealed values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`) made with
the platform's sealing key (`EINVOICE_SEALING_KEYS`). Several keys may be given, comma
separated: the first seals, every one unseals, so a key is rotated by putting the new one
first and dropping the old one once everything was sealed again.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from einvoice.settings import Settings


class SealingError(Exception):
    """A sealed value that none of the configured keys opens, or no key configured."""


class Sealer:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SealingError("no sealing key configured (EINVOICE_SEALING_KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except ValueError as exc:
            raise SealingError(f"a sealing key is not a Fernet key: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        raw = settings.sealing_keys.get_secret_value() if settings.sealing_keys else ""
        return cls([k for k in raw.split(",") if k.strip()])

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def unseal(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealingError("the sealed value does not open with any configured key") from exc


def unsealer(settings: Settings) -> Callable[[str], str]:
    """What opens tenants' sealed values in a service. Without a usable sealing key the
    service still starts: each use fails with that reason (a tenant mailbox with a password
    or a signed webhook), and everything that needs no secret keeps working."""
    try:
        return Sealer.from_settings(settings).unseal
    except SealingError as exc:
        problem = str(exc)

        def refuse(_: str) -> str:
            raise SealingError(problem)

        return refuse


def same_secret(expected: str, submitted: str) -> bool:
    """Constant-time equality of two texts of any characters (hmac.compare_digest refuses
    str with non-ASCII characters, which a hostile form field or cookie may carry)."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), submitted.encode("utf-8", "surrogatepass")
    )
