"""Errors in the API's documented shapes.

A 400 is an `ExceptionResponse` (`exception.exceptionDetailList[].exceptionCode`) and a 429
a `TooManyRequestsResponse`, or both problem details when the request says
`X-Error-Format: problem-details`; 401 and 403 are always problem details, as the OpenAPI
declares them.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

SERVICE_NAME = "ksef-sim"
INPUT_INVALID = 21405


class KsefError(Exception):
    """A 400 with one of the API's exception codes (e.g. 21111, 21403, 21405)."""

    def __init__(self, code: int, description: str, *details: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.details = list(details)


def invalid_input(*details: str) -> KsefError:
    """21405, the API's answer to input it does not accept."""
    return KsefError(INPUT_INVALID, "Błąd walidacji danych wejściowych.", *details)


class Unauthorized(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TooManyRequests(Exception):
    def __init__(self, retry_after: float, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after + 0.999))
        self.detail = detail


class Forbidden(Exception):
    def __init__(self, detail: str, reason_code: str = "insufficient-resource-access") -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason_code = reason_code


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _wants_problem_details(request: Request) -> bool:
    return request.headers.get("X-Error-Format", "").lower() == "problem-details"


def _problem(status: int, title: str, request: Request, **extra: Any) -> JSONResponse:
    body = {"title": title, "status": status, "instance": request.url.path}
    body |= {"timestamp": now_iso(), "traceId": secrets.token_hex(8)} | extra
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def bad_request(request: Request, code: int, description: str, details: list[str]) -> JSONResponse:
    if _wants_problem_details(request):
        errors = [{"code": code, "description": description, "details": details}]
        return _problem(400, "Bad Request", request, detail=description, errors=errors)
    entry = {"exceptionCode": code, "exceptionDescription": description, "details": details}
    exception = {
        "exceptionDetailList": [entry],
        "serviceCode": secrets.token_hex(8),
        "serviceCtx": "srvKSEFSIM",
        "serviceName": SERVICE_NAME,
        "timestamp": now_iso(),
    }
    return JSONResponse({"exception": exception}, status_code=400)


async def on_ksef_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KsefError)
    return bad_request(request, exc.code, exc.description, exc.details)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        f"{'.'.join(str(p) for p in error['loc'][1:])}: {error['msg']}" for error in exc.errors()
    ]
    return bad_request(request, INPUT_INVALID, "Błąd walidacji danych wejściowych.", details)


async def on_unauthorized(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthorized)
    return _problem(401, "Unauthorized", request, detail=exc.detail)


async def on_forbidden(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return _problem(403, "Forbidden", request, detail=exc.detail, reasonCode=exc.reason_code)


async def on_too_many(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyRequests)
    headers = {"Retry-After": str(exc.retry_after)}
    if _wants_problem_details(request):
        answer = _problem(429, "Too Many Requests", request, detail=exc.detail)
        answer.headers.update(headers)
        return answer
    status = {"code": 429, "description": "Too Many Requests", "details": [exc.detail]}
    return JSONResponse({"status": status}, status_code=429, headers=headers)


HANDLERS = {
    TooManyRequests: on_too_many,
    KsefError: on_ksef_error,
    RequestValidationError: on_validation_error,
    Unauthorized: on_unauthorized,
    Forbidden: on_forbidden,
}
