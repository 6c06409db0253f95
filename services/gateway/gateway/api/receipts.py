"""The POS API: tills push receipts, each becomes one `receipt.scanned` event.

The gateway checks the key, the store the key may speak for, and the schema; receipt-ingest
checks the arithmetic (a receipt that does not add up lands in `receipt.scanned.dlq`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel

from einvoice.bus import Outgoing, publish
from einvoice.events import Envelope
from einvoice.receipts import MAX_RECEIPTS, receipt_event
from gateway.api.body import json_body
from gateway.api.deps import PosDep
from gateway.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["pos"])


class AcceptedReceipt(BaseModel):
    index: int
    receipt_id: str
    number: str
    code: str


class ReceiptsAccepted(BaseModel):
    accepted: int
    receipts: list[AcceptedReceipt]


def _receipts_of(body: Any) -> list[Any]:
    if isinstance(body, dict) and "receipts" in body:
        items = body["receipts"]
        if set(body) != {"receipts"}:
            raise _unprocessable("a batch body holds only 'receipts'")
        if not isinstance(items, list) or not items:
            raise _unprocessable("'receipts' must be a non-empty list")
        if len(items) > MAX_RECEIPTS:
            raise _unprocessable(f"at most {MAX_RECEIPTS} receipts per request")
        return items
    if isinstance(body, dict):
        return [body]
    raise _unprocessable('expected one receipt (a JSON object) or {"receipts": [...]}')


def _unprocessable(message: str, receipts: list[dict[str, Any]] | None = None) -> HTTPException:
    detail: dict[str, Any] = {"message": message}
    if receipts is not None:
        detail["receipts"] = receipts
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def _check_store(items: list[Any], store_id: str | None) -> None:
    """A store-bound key speaks for its store only."""
    if store_id is None:
        return
    foreign = [
        {"index": i, "store_id": item["store_id"]}
        for i, item in enumerate(items)
        if isinstance(item, dict)
        and isinstance(item.get("store_id"), str)
        and item["store_id"].strip() != store_id
    ]
    if foreign:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            {
                "message": f"this POS key is bound to store {store_id!r}; "
                "it cannot push receipts of another store",
                "receipts": foreign,
            },
        )


@router.post("/receipts", status_code=status.HTTP_202_ACCEPTED, response_model=ReceiptsAccepted)
async def push_receipts(request: Request, state: StateDep, pos: PosDep) -> ReceiptsAccepted:
    """Accept one receipt, or `{"receipts": [...]}` (at most 500, all or nothing). The
    receipt id is derived from chain, store, till, number and `issued_at`: pushing the same
    receipt again is harmless."""
    chain, key = pos
    items = _receipts_of(await json_body(request, state.settings.max_body_bytes))
    _check_store(items, key.store_id)
    envelopes: list[tuple[int, Envelope]] = []
    problems: list[dict[str, Any]] = []
    seen_codes: dict[str, tuple[int, str]] = {}
    for index, item in enumerate(items):
        env, errors = receipt_event(chain.tenant_id, item)
        if env is not None:
            code, receipt_id = env.payload["code"], env.payload["receipt_id"]
            first = seen_codes.setdefault(code, (index, receipt_id))
            if first[1] != receipt_id:
                errors = [f"code: repeats the code of receipt at index {first[0]}"]
        if env is None or errors:  # receipt_event answers an envelope or its errors
            number = item.get("number") if isinstance(item, dict) else None
            problems.append(
                {"index": index, "number": number if isinstance(number, str) else None}
                | {"errors": errors}
            )
        else:
            envelopes.append((index, env))
    if problems:
        raise _unprocessable("no receipt was accepted; fix these and send them again", problems)
    await publish(
        state.producer,
        (Outgoing.of(env, env.payload["receipt_id"]) for _, env in envelopes),
        "gateway",
    )
    return ReceiptsAccepted(
        accepted=len(envelopes),
        receipts=[
            AcceptedReceipt(
                index=index,
                receipt_id=env.payload["receipt_id"],
                number=env.payload["number"],
                code=env.payload["code"],
            )
            for index, env in envelopes
        ],
    )
