"""Rate limits (`docs/limity/limity-api.md`): counted per (context, client IP) and API group.

A limiter answers how many seconds the caller must wait (then the route answers 429 with
`Retry-After`), or None to let the request through. This slice ships `Unlimited`; the
documented sliding windows plug in here.
"""

from __future__ import annotations

from typing import Protocol


class Limiter(Protocol):
    def retry_after(self, group: str, context: str, client_ip: str) -> float | None: ...


class Unlimited:
    def retry_after(self, group: str, context: str, client_ip: str) -> float | None:
        return None
