"""Reading a JSON request body within the size limit (`EINVOICE_MAX_BODY_BYTES`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request, status


async def json_body(request: Request, limit: int) -> Any:
    """The parsed body: 413 over `limit` bytes (declared or sent), 400 if it is not JSON."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
    except RecursionError as exc:  # [[[[... a few hundred thousand deep
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is nested too deeply") from exc
