"""Accounts of shoppers and chain users in the gateway's own database (`einvoice_gateway`).

`AccountStore` also holds the accounts' sessions and one-time tokens, so the rest of the
gateway needs one object: `state.accounts`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pymongo.errors import DuplicateKeyError

from einvoice.mongo import Database, Document
from gateway.shop.accounts.passwords import Passwords
from gateway.shop.accounts.tokens import OneTimeTokens
from gateway.web.sessions import SessionStore, utcnow

Role = Literal["shopper", "chain"]
ACCOUNTS, SESSIONS, TOKENS, RATE_LIMITS = (
    "accounts",
    "account_sessions",
    "account_tokens",
    "rate_limits",
)
_EMAIL = re.compile(r"[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f.]+")


def normalize_email(email: str) -> str | None:
    """The lower-cased address, or None if it does not look like one."""
    address = email.strip().lower()
    return address if len(address) <= 254 and _EMAIL.fullmatch(address) else None


class EmailTaken(Exception):
    """An account with this e-mail address exists already."""


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    role: Role
    tenant_id: str | None  # the chain (a retail tenant) of a chain user
    verified: bool
    profile: dict[str, Any] = field(default_factory=dict)  # the remembered buyer data
    created_at: datetime | None = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Account:
        return cls(
            account_id=doc["_id"],
            email=doc["email"],
            role=doc["role"],
            tenant_id=doc.get("tenant_id"),
            verified=bool(doc.get("verified")),
            profile=dict(doc.get("profile") or {}),
            created_at=doc.get("created_at"),
        )


class AccountStore:
    def __init__(
        self,
        db: Database,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.accounts = db[ACCOUNTS]
        self.sessions = SessionStore(db[SESSIONS], clock)
        self.tokens = OneTimeTokens(db[TOKENS], clock)
        self.passwords = passwords or Passwords()
        self.clock = clock

    async def setup(self) -> None:
        """Indexes; the unique e-mail index is what keeps one account per address."""
        await self.accounts.create_index("email", unique=True)
        await self.sessions.setup()
        await self.tokens.setup()

    async def create(
        self,
        email: str,
        password: str,
        *,
        role: Role = "shopper",
        tenant_id: str | None = None,
        verified: bool = False,
    ) -> Account:
        """A new account (the password is hashed first, so a taken address costs the same
        time as a new one). Raises EmailTaken, or ValueError for a malformed address."""
        address = normalize_email(email)
        if address is None:
            raise ValueError("not an e-mail address")
        if (role == "chain") != bool(tenant_id):
            raise ValueError("chain users, and only they, belong to a tenant")
        password_hash = await self.passwords.hash(password)
        doc: Document = {
            "_id": uuid.uuid4().hex,
            "email": address,
            "password_hash": password_hash,
            "role": role,
            "tenant_id": tenant_id,
            "verified": verified,
            "profile": {},
            "created_at": self.clock(),
        }
        try:
            await self.accounts.insert_one(doc)
        except DuplicateKeyError as exc:
            raise EmailTaken(address) from exc
        return Account.of(doc)

    async def get(self, account_id: str) -> Account | None:
        doc = await self.accounts.find_one({"_id": account_id})
        return Account.of(doc) if doc else None

    async def by_email(self, email: str) -> Account | None:
        address = normalize_email(email)
        doc = await self.accounts.find_one({"email": address}) if address else None
        return Account.of(doc) if doc else None

    async def authenticate(self, email: str, password: str) -> Account | None:
        """The account if the password is right; None for a wrong password or an unknown
        address alike, in about the same time."""
        address = normalize_email(email)
        doc = await self.accounts.find_one({"email": address}) if address else None
        stored_hash = doc["password_hash"] if doc else None
        if not await self.passwords.verify(stored_hash, password) or doc is None:
            return None
        if self.passwords.needs_rehash(doc["password_hash"]):
            await self._store_password(doc["_id"], await self.passwords.hash(password))
        return Account.of(doc)

    async def set_password(self, account_id: str, password: str) -> None:
        """Replace the password; the caller closes the account's sessions."""
        await self._store_password(account_id, await self.passwords.hash(password))

    async def _store_password(self, account_id: str, password_hash: str) -> None:
        await self.accounts.update_one(
            {"_id": account_id},
            {"$set": {"password_hash": password_hash, "password_changed_at": self.clock()}},
        )

    async def mark_verified(self, account_id: str) -> None:
        await self.accounts.update_one(
            {"_id": account_id}, {"$set": {"verified": True, "verified_at": self.clock()}}
        )

    async def remember_buyer(self, account_id: str, buyer: dict[str, Any]) -> None:
        """Keep the buyer data (name, NIP, address, ...) to prefill the next invoice."""
        if not isinstance(buyer, dict) or not all(isinstance(k, str) for k in buyer):
            raise TypeError("buyer must be a dict with string keys")
        await self.accounts.update_one(
            {"_id": account_id},
            {"$set": {"profile": dict(buyer), "profile_updated_at": self.clock()}},
        )
