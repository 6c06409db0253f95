"""KSeF's rate limits, respected by every replica together.

KSeF counts requests per context (NIP) and answers 429 with `Retry-After` when a context
is over its limits (`docs/limity/`). The first replica that hears it closes the context's
gate in MongoDB until then; every replica looks at the gate before it starts a context's
work and leaves the invoices queued until it opens, so no replica keeps knocking (which
KSeF punishes with longer blocks) and nothing is lost or sent twice meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from einvoice.mongo import Collection


@dataclass
class Gate:
    gates: Collection
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def closed_until(self, key: str) -> datetime | None:
        found = await self.gates.find_one({"_id": key})
        until: datetime | None = found["until"] if found else None
        return until if until is not None and until > self.clock() else None

    async def close(self, key: str, until: datetime, reason: str) -> None:
        """Closed until `until` at least (a later closing by another replica stands)."""
        await self.gates.update_one(
            {"_id": key},
            {"$max": {"until": until}, "$set": {"reason": reason, "at": self.clock()}},
            upsert=True,
        )
