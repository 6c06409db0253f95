"""Fixed-window rate limits in MongoDB, so every gateway replica counts against one budget.

One document per (purpose, subject, window): an atomic `$inc` upsert counts the attempt and
returns the new count. Subjects (e-mail addresses, IPs) are stored only as hashes. Old
windows are left for the TTL index; a new window is simply a new document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from einvoice.mongo import Collection
from gateway.web.sessions import utcnow


class RateLimiter:
    def __init__(self, collection: Collection, clock: Callable[[], datetime] = utcnow):
        self.collection = collection
        self.clock = clock

    async def setup(self) -> None:
        await self.collection.create_index("expires_at", expireAfterSeconds=0)

    def _window(self, purpose: str, subject: str, window_seconds: int) -> tuple[str, datetime]:
        window = int(self.clock().timestamp()) // window_seconds
        subject_hash = hashlib.sha256(subject.encode()).hexdigest()[:32]
        key = f"{purpose}:{window_seconds}:{window}:{subject_hash}"
        ends = datetime.fromtimestamp((window + 1) * window_seconds, tz=UTC)
        return key, ends

    async def hit(self, purpose: str, subject: str, limit: int, window_seconds: int) -> bool:
        """Count one attempt; True while this window has seen at most `limit` attempts."""
        key, ends = self._window(purpose, subject, window_seconds)
        update = {
            "$inc": {"count": 1},
            "$setOnInsert": {"purpose": purpose, "expires_at": ends + timedelta(minutes=1)},
        }
        for _ in range(3):  # two replicas creating the same window: one insert loses, retry
            try:
                counter = await self.collection.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                continue
            if counter is None:
                # Seen once on the local MongoDB-wire server (an upsert answering without the
                # document): the increment happened, so read the counter back.
                counter = await self.collection.find_one({"_id": key})
            if counter is not None:
                count: int = counter["count"]
                return count <= limit
        return False

    async def refund(self, purpose: str, subject: str, window_seconds: int) -> None:
        """Give back one attempt (a successful sign-in does not use up the budget)."""
        key, _ = self._window(purpose, subject, window_seconds)
        await self.collection.update_one({"_id": key, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    def retry_after(self, window_seconds: int) -> int:
        """Seconds until the current window ends."""
        now = int(self.clock().timestamp())
        return window_seconds - now % window_seconds
