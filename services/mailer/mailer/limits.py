"""Sending limits per mailbox (per minute, hour, day), shared by every mailer replica.

Providers cap a mailbox over *any* window of their length, not over calendar minutes, so a
fixed-window counter (which lets 2x the limit through around a window's edge) will not do.
Each window is kept as small buckets (1/60 of its length) of sends; a window's usage is the
sum of every bucket that overlaps the last `period` seconds. That overestimates by at most
one bucket, in the safe direction.

What the provider counts is the time it *received* a message, and that lies somewhere
between taking the slot and SMTP's answer. A slot is therefore taken as a *hold* first: it
counts in every window for as long as the send may last (`hold` seconds, which the sender
enforces as its deadline), and the sender settles it with the time the server answered. A
hold never settled (the replica died) counts as a send at its deadline. So every recorded
time is at or after the provider's, and the count in any window of the period's length, by
the provider's clock, never exceeds the limit, however long sends take (measured: taking
100 slots at once and sending them in a few seconds let 109 through one minute).

The buckets and holds of one mailbox live in one MongoDB document, changed only by
compare-and-set on its version, so replicas and restarts share one budget. A failed attempt
keeps its slot (the provider counted it too).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from einvoice.bus import TransientError
from einvoice.mongo import Collection

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
Holds = dict[str, list[float]]  # token -> [deadline (epoch seconds), sends]


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


def add(buckets: Buckets, count: int, at: float, period: int, width: int, now: float) -> Buckets:
    """The live buckets with `count` sends added at time `at` (kept in order)."""
    index = math.floor(at / width)
    live = _live(buckets, period, width, now)
    if index < math.floor((now - period) / width):
        return live  # already out of the window
    merged = {i: n for i, n in live}
    merged[index] = merged.get(index, 0) + count
    return [[i, merged[i]] for i in sorted(merged)]


def take(buckets: Buckets, count: int, period: int, width: int, now: float) -> Buckets:
    return add(buckets, count, now, period, width, now)


def _count(
    doc: dict[str, Any], limits: Limits, now: float
) -> tuple[dict[str, Buckets], Holds, dict[str, Buckets]]:
    """The document's buckets with expired holds counted as sends at their deadline, the
    holds still open, and per window the buckets with those open holds counted as now."""
    windows: dict[str, Buckets] = dict(doc.get("windows", {}))
    holds: Holds = {}
    for token, (deadline, n) in doc.get("holds", {}).items():
        if deadline > now:
            holds[token] = [deadline, n]
            continue
        for name, _, period, width in limits.windows():  # never settled: sent by then
            windows[name] = add(windows.get(name, []), int(n), deadline, period, width, now)
    held = int(sum(n for _, n in holds.values()))
    # a hold may still become a send at any moment: it counts in every window as "now"
    counted = {
        name: add(windows.get(name, []), held, now, period, width, now)
        if held
        else _live(windows.get(name, []), period, width, now)
        for name, _, period, width in limits.windows()
    }
    return windows, holds, counted


@dataclass(frozen=True)
class Grant:
    granted: int
    next_slot_at: datetime | None  # set when fewer than asked were granted
    token: str | None = None  # settle the hold with it (None when nothing is held)

    def wait_until(self) -> datetime:
        """When the next slot frees up; asked only when fewer slots than asked were granted."""
        if self.next_slot_at is None:
            raise ValueError("every slot asked for was granted: there is nothing to wait for")
        return self.next_slot_at


@dataclass
class MailboxLimiter:
    usage: Collection
    clock: Callable[[], float] = time.time
    attempts: int = 50
    # one replica's own takers of a mailbox queue here, so only replicas contend in the CAS
    _locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    async def available(self, mailbox_id: str, limits: Limits, wanted: int) -> Grant:
        """How many of `wanted` sends would get a slot now (nothing is taken), and when the
        first of the others would."""
        if not limits or wanted <= 0:
            return Grant(max(0, wanted), None)
        doc = await self.usage.find_one({"_id": mailbox_id}) or {}
        granted, _, next_at = self._plan(doc, limits, wanted, None)
        return Grant(granted, next_at)

    async def acquire(self, mailbox_id: str, limits: Limits, wanted: int, hold: float) -> Grant:
        """Take up to `wanted` sending slots now, held for at most `hold` seconds: the
        sender must settle them (or give up sending) before then."""
        if not limits or wanted <= 0:
            return Grant(max(0, wanted), None)
        token = uuid.uuid4().hex
        async with self._locks[mailbox_id]:
            for _ in range(self.attempts):
                doc = await self.usage.find_one({"_id": mailbox_id})
                granted, updated, next_at = self._plan(doc or {}, limits, wanted, (token, hold))
                if granted == 0:
                    return Grant(0, next_at)
                if await self._store(mailbox_id, doc, updated):
                    return Grant(granted, next_at, token)
        raise TransientError(f"mailbox {mailbox_id}: sending slots contended, try again")

    async def settle(self, mailbox_id: str, limits: Limits, token: str) -> None:
        """The held slots were used by now (call it as soon as the server answered)."""
        async with self._locks[mailbox_id]:
            for _ in range(self.attempts):
                doc = await self.usage.find_one({"_id": mailbox_id})
                if doc is None or token not in doc.get("holds", {}):
                    return  # past its deadline: already counted at the deadline
                now = self.clock()
                holds = dict(doc["holds"])
                _, n = holds.pop(token)
                windows = dict(doc.get("windows", {}))
                for name, _, period, width in limits.windows():
                    windows[name] = add(windows.get(name, []), int(n), now, period, width, now)
                if await self._store(mailbox_id, doc, {"windows": windows, "holds": holds}):
                    return
        raise TransientError(f"mailbox {mailbox_id}: sending slots contended, try again")

    def _plan(
        self, doc: dict[str, Any], limits: Limits, wanted: int, hold: tuple[str, float] | None
    ) -> tuple[int, dict[str, Any], datetime | None]:
        """Slots to grant now, the document's fields after taking them as a hold, and (when
        fewer than wanted) the time the next slot opens."""
        now = self.clock()
        windows, holds, counted = _count(doc, limits, now)
        granted = wanted
        for name, limit, period, width in limits.windows():
            granted = min(granted, free_slots(counted[name], limit, period, width, now))
        if hold is not None and granted:
            token, seconds = hold
            holds[token] = [now + seconds, granted]
        fields = {
            "windows": {
                **windows,
                **{n: _live(windows.get(n, []), p, w, now) for n, _, p, w in limits.windows()},
            },
            "holds": holds,
        }
        if granted == wanted:
            return granted, fields, None
        full = []
        for name, limit, period, width in limits.windows():
            buckets = add(counted[name], granted, now, period, width, now)
            if free_slots(buckets, limit, period, width, now) == 0:
                full.append(next_slot(buckets, limit, period, width, now))
        return granted, fields, datetime.fromtimestamp(max(full), UTC)

    async def _store(
        self, mailbox_id: str, doc: dict[str, Any] | None, fields: dict[str, Any]
    ) -> bool:
        if doc is None:
            try:
                await self.usage.insert_one({"_id": mailbox_id, "v": 1, **fields})
            except DuplicateKeyError:
                return False
            return True
        result = await self.usage.update_one(
            {"_id": mailbox_id, "v": doc["v"]}, {"$set": {**fields, "v": doc["v"] + 1}}
        )
        return result.matched_count == 1

    async def usage_of(self, mailbox_id: str, limits: Limits) -> dict[str, int]:
        """Sends counted in each window now, held slots included (for the mailbox page)."""
        doc = await self.usage.find_one({"_id": mailbox_id}) or {}
        _, _, counted = _count(doc, limits, self.clock())
        return {name: sum(n for _, n in counted[name]) for name, *_ in limits.windows()}
