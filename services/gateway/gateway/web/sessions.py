"""Server-side sessions, for operators and accounts alike: the cookie carries a random 256-bit
token, the database only its hash (a leaked database opens no session)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from einvoice.mongo import Collection


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps instead of a token: a leaked database grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    session_hash: str
    account_id: str
    csrf: str
    expires_at: datetime


class SessionStore:
    def __init__(self, collection: Collection, clock: Callable[[], datetime] = utcnow):
        self.collection = collection
        self.clock = clock

    async def setup(self) -> None:
        await self.collection.create_index("account_id")
        await self.collection.create_index("expires_at", expireAfterSeconds=0)

    async def open(self, account_id: str, lifetime: timedelta) -> tuple[str, Session]:
        """A new session; returns the token for the cookie (never stored) and the session."""
        token = new_token()
        now = self.clock()
        session = Session(digest(token), account_id, secrets.token_urlsafe(32), now + lifetime)
        await self.collection.insert_one(
            {
                "_id": session.session_hash,
                "account_id": account_id,
                "csrf": session.csrf,
                "created_at": now,
                "expires_at": session.expires_at,
            }
        )
        return token, session

    async def get(self, token: str) -> Session | None:
        if not token:
            return None
        found = await self.collection.find_one(
            {"_id": digest(token), "expires_at": {"$gt": self.clock()}}
        )
        if found is None:
            return None
        return Session(found["_id"], found["account_id"], found["csrf"], found["expires_at"])

    async def close(self, token: str) -> None:
        await self.collection.delete_one({"_id": digest(token)})

    async def close_all(self, account_id: str) -> int:
        """End every session of the account (after a password change)."""
        result = await self.collection.delete_many({"account_id": account_id})
        return result.deleted_count
