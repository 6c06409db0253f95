"""Rate limits (`docs/limity/limity-api.md`): sliding windows per (context, client IP) and group.

The per-group thresholds are the OpenAPI's (production defaults); the test environment
multiplies them by ten. A limiter answers how many seconds the caller must wait — the route
then answers 429 with `Retry-After` — or None, and then counts the request. A refused
request is not counted. The wait is the time until the oldest request of the first window
that is full leaves it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

# group -> (per second, per minute, per hour), from the OpenAPI's "Limity liczby żądań".
PRODUCTION: dict[str, tuple[int, int, int]] = {
    "onlineSession": (10, 30, 120),
    "batchSession": (10, 20, 60),
    "invoiceSend": (10, 30, 180),
    "invoiceStatus": (30, 120, 1200),
    "sessionInvoiceList": (10, 20, 200),
    "sessionMisc": (10, 120, 1200),
}
WINDOWS = (1.0, 60.0, 3600.0)


class Limiter(Protocol):
    def retry_after(self, group: str, context: str, client_ip: str) -> float | None: ...


class Unlimited:
    def retry_after(self, group: str, context: str, client_ip: str) -> float | None:
        return None


class SlidingWindows:
    """The documented limits, `factor` times the production thresholds (10 on TE)."""

    def __init__(self, factor: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {
            group: tuple(n * factor for n in counts) for group, counts in PRODUCTION.items()
        }
        self._clock = clock
        self._seen: dict[tuple[str, str, str], deque[float]] = {}

    def retry_after(self, group: str, context: str, client_ip: str) -> float | None:
        limits = self._limits.get(group)
        if limits is None:
            return None
        now = self._clock()
        seen = self._seen.setdefault((group, context, client_ip), deque())
        while seen and seen[0] <= now - WINDOWS[-1]:
            seen.popleft()
        for window, allowed in zip(WINDOWS, limits, strict=True):
            recent = [t for t in seen if t > now - window] if window < WINDOWS[-1] else seen
            if len(recent) >= allowed:
                oldest = recent[len(recent) - allowed]
                return max(1.0, math.ceil(oldest + window - now))
        seen.append(now)
        return None


def limiter_for(mode: str) -> Limiter:
    """`off`, `production` (the documented thresholds) or `test` (ten times those, as TE)."""
    if mode == "off":
        return Unlimited()
    if mode == "production":
        return SlidingWindows(1)
    if mode == "test":
        return SlidingWindows(10)
    raise ValueError(f"KSEF_SIM_RATE_LIMITS must be off, production or test, not {mode!r}")
