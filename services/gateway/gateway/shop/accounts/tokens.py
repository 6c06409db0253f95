"""One-time tokens for e-mail verification and password reset: random, stored hashed,
expiring and single use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from einvoice.mongo import Collection, Document
from gateway.web.sessions import digest, new_token, utcnow

Purpose = Literal["verify", "reset"]
VERIFY: Purpose = "verify"
RESET: Purpose = "reset"
LIFETIME: dict[str, timedelta] = {VERIFY: timedelta(hours=24), RESET: timedelta(hours=1)}


class OneTimeTokens:
    def __init__(self, collection: Collection, clock: Callable[[], datetime] = utcnow):
        self.collection = collection
        self.clock = clock

    async def setup(self) -> None:
        await self.collection.create_index("account_id")
        await self.collection.create_index("expires_at", expireAfterSeconds=0)

    async def issue(self, account_id: str, purpose: Purpose) -> str:
        token = new_token()
        now = self.clock()
        await self.collection.insert_one(
            {
                "_id": digest(token),
                "account_id": account_id,
                "purpose": purpose,
                "created_at": now,
                "expires_at": now + LIFETIME[purpose],
            }
        )
        return token

    def _live(self, token: str, purpose: Purpose) -> Document:
        return {"_id": digest(token), "purpose": purpose, "expires_at": {"$gt": self.clock()}}

    async def peek(self, token: str, purpose: Purpose) -> str | None:
        """The account a live token belongs to, without using the token up."""
        found = await self.collection.find_one(self._live(token, purpose))
        return found["account_id"] if found else None

    async def consume(self, token: str, purpose: Purpose) -> str | None:
        """Use the token up (atomically: of two concurrent uses only one succeeds)."""
        found = await self.collection.find_one_and_delete(self._live(token, purpose))
        return found["account_id"] if found else None

    async def revoke(self, account_id: str, purpose: Purpose) -> None:
        """Drop the account's other tokens of this purpose (after one was used)."""
        await self.collection.delete_many({"account_id": account_id, "purpose": purpose})
