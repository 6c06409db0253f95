"""Switches for outages and slow answers (simulator only, set through `/_sim/faults`).

With `outage` on, every KSeF path (the API under `/v2` and the batch part uploads under
`/storage`) answers 503; with `delay_seconds` above zero, every one waits that long before
answering; with `throttle_every` at N above zero, every N-th API request (under `/v2`)
answers 429 with `Retry-After: 1`, as KSeF does to a context over its limits: a storm of
429s that tests can count on, whatever the rate. The `/_sim/` paths are never affected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import JSONResponse

PREFIXES = ("/v2/", "/storage/")


@dataclass
class Faults:
    outage: bool = False
    delay_seconds: float = 0.0
    throttle_every: int = 0
    throttled: int = 0  # 429s answered since the switch was set
    _seen: int = 0

    def set(self, outage: bool, delay_seconds: float, throttle_every: int) -> None:
        self.outage, self.delay_seconds = outage, delay_seconds
        self.throttle_every, self.throttled, self._seen = throttle_every, 0, 0

    def throttles(self, path: str) -> bool:
        if self.throttle_every <= 0 or not path.startswith("/v2/"):
            return False
        self._seen += 1
        if self._seen % self.throttle_every:
            return False
        self.throttled += 1
        return True


def middleware(
    faults: Faults,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def apply(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith(PREFIXES):
            if faults.delay_seconds > 0:
                await asyncio.sleep(faults.delay_seconds)
            if faults.outage:
                body = {
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "KSeF niedostępny.",
                }
                return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
            if faults.throttles(request.url.path):
                status = {
                    "code": 429,
                    "description": "Too Many Requests",
                    "details": ["Przekroczono limit żądań (symulator: throttle_every)."],
                }
                return JSONResponse(
                    {"status": status}, status_code=429, headers={"Retry-After": "1"}
                )
        return await call_next(request)

    return apply
