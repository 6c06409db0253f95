"""Switches for outages and slow answers (simulator only, set through `/_sim/faults`).

With `outage` on, every KSeF path (the API under `/v2` and the batch part uploads under
`/storage`) answers 503; with `delay_seconds` above zero, every one waits that long before
answering. The `/_sim/` paths are never affected.
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
        return await call_next(request)

    return apply
