"""Sending limits per mailbox (per minute, hour, day), shared by every mailer replica.

Providers cap a mailbox over *any* window of their length, not over calendar minutes, so a
fixed-window counter (which lets 2x the limit through around a window's edge) will not do.
Each window is kept as small buckets (1/60 of its length) of sends; a window's usage is the
sum of every bucket that overlaps the last `period` seconds. That overestimates by at most
one bucket, in the safe direction: the count in any window of the period's length never
exceeds the limit.

The buckets of one mailbox live in one MongoDB document, changed only by compare-and-set on
its version, so replicas and restarts share one budget. A sending slot is taken before the
message is handed to SMTP; a failed attempt keeps its slot (the provider counted it too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from einvoice.bus import TransientError

# name, window length in seconds, bucket width in seconds
WINDOWS = (("per_minute", 60, 1), ("per_hour", 3600, 60), ("per_day", 86400, 1440))


@dataclass(frozen=True)
class Limits:
    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None

    def windows(self) -> list[tuple[str, int, int, int]]:
        """(name, limit, period, bucket width) of each limit that is set."""
        return [
            (name, getattr(self, name), period, width)
            for name, period, width in WINDOWS
            if getattr(self, name)
        ]

    def __bool__(self) -> bool:
        return bool(self.windows())


Buckets = list[list[int]]  # [[bucket index, sends], ...] oldest first


def _live(buckets: Buckets, period: int, width: int, now: float) -> Buckets:
    first = math.floor((now - period) / width)
    return [b for b in buckets if b[0] >= first]


def free_slots(buckets: Buckets, limit: int, period: int, width: int, now: float) -> int:
    return max(0, limit - sum(n for _, n in _live(buckets, period, width, now)))


def next_slot(buckets: Buckets, limit: int, period: int, width: int, now: float) -> float:
    """When the window will have room for one more send (epoch seconds)."""
    live = _live(buckets, period, width, now)
    excess = sum(n for _, n in live) - limit + 1
    for index, n in live:
        excess -= n
        if excess <= 0:
            # Bucket `index` stops overlapping the window once now - period >= its end.
            return (index + 1) * width + period
    return now


def take(buckets: Buckets, count: int, period: int, width: int, now: float) -> Buckets:
    live = _live(buckets, period, width, now)
    current = math.floor(now / width)
    if live and live[-1][0] == current:
        return live[:-1] + [[current, live[-1][1] + count]]
    return live + [[current, count]]


@dataclass(frozen=True)
class Grant:
    granted: int
    next_slot_at: datetime | None  # set when fewer than asked were granted


class MailboxLimiter:
    def __init__(
        self, usage: AsyncCollection, clock: Callable[[], float] = time.time, attempts: int = 50
    ) -> None:
        self.usage = usage
        self.clock = clock
        self.attempts = attempts

    async def available(self, mailbox_id: str, limits: Limits, wanted: int) -> Grant:
        """How many of `wanted` sends would get a slot now (nothing is taken), and when the
        first of the others would."""
        if not limits or wanted <= 0:
            return Grant(max(0, wanted), None)
        doc = await self.usage.find_one({"_id": mailbox_id})
        granted, _, next_at = self._plan((doc or {}).get("windows", {}), limits, wanted)
        return Grant(granted, next_at)

    async def acquire(self, mailbox_id: str, limits: Limits, wanted: int) -> Grant:
        """Take up to `wanted` sending slots now."""
        if not limits or wanted <= 0:
            return Grant(max(0, wanted), None)
        for _ in range(self.attempts):
            doc = await self.usage.find_one({"_id": mailbox_id})
            granted, updated, next_at = self._plan((doc or {}).get("windows", {}), limits, wanted)
            if granted == 0 or await self._store(mailbox_id, doc, updated):
                return Grant(granted, next_at)
        raise TransientError(f"mailbox {mailbox_id}: sending slots contended, try again")

    def _plan(
        self, windows: dict[str, Buckets], limits: Limits, wanted: int
    ) -> tuple[int, dict[str, Buckets], datetime | None]:
        """Slots to grant now, the windows after taking them, and (when fewer than wanted)
        the time the next slot opens."""
        now = self.clock()
        granted = wanted
        for name, limit, period, width in limits.windows():
            granted = min(granted, free_slots(windows.get(name, []), limit, period, width, now))
        updated = {
            name: take(windows.get(name, []), granted, period, width, now)
            if granted
            else windows.get(name, [])
            for name, _, period, width in limits.windows()
        }
        if granted == wanted:
            return granted, updated, None
        at = max(
            next_slot(updated.get(name, []), limit, period, width, now)
            for name, limit, period, width in limits.windows()
            if free_slots(updated.get(name, []), limit, period, width, now) == 0
        )
        return granted, updated, datetime.fromtimestamp(at, UTC)

    async def _store(self, mailbox_id: str, doc: dict | None, windows: dict[str, Buckets]) -> bool:
        if doc is None:
            try:
                await self.usage.insert_one({"_id": mailbox_id, "v": 1, "windows": windows})
            except DuplicateKeyError:
                return False
            return True
        result = await self.usage.update_one(
            {"_id": mailbox_id, "v": doc["v"]},
            {"$set": {"windows": windows, "v": doc["v"] + 1}},
        )
        return result.matched_count == 1

    async def usage_of(self, mailbox_id: str, limits: Limits) -> dict[str, int]:
        """Sends counted in each window now (for the operator's mailbox page)."""
        now = self.clock()
        doc = await self.usage.find_one({"_id": mailbox_id}) or {}
        windows = doc.get("windows", {})
        return {
            name: sum(n for _, n in _live(windows.get(name, []), period, width, now))
            for name, _, period, width in limits.windows()
        }
