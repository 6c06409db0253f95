"""receipt.scanned -> a stored receipt (claimable by shoppers once the retail flow lands)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from einvoice import events
from einvoice.bus import Outgoing, PermanentError

GROSZ = Decimal("0.01")


class Receipts(Protocol):
    async def save_once(self, record: dict[str, Any]) -> bool:
        """Store the receipt unless stored already; False for a repeat."""
        ...


@dataclass
class Deps:
    receipts: Receipts


def check_totals(receipt: events.ReceiptScanned) -> list[str]:
    problems = []
    for i, line in enumerate(receipt.lines):
        expected = (line.quantity * line.unit_gross).quantize(GROSZ, ROUND_HALF_UP)
        if expected != line.gross:
            problems.append(f"lines[{i}].gross {line.gross} != quantity x unit_gross {expected}")
    lines_total = sum((line.gross for line in receipt.lines), start=receipt.total_gross * 0)
    if lines_total != receipt.total_gross:
        problems.append(f"total_gross {receipt.total_gross} != sum of lines {lines_total}")
    return problems


async def on_receipt_scanned(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    try:
        receipt = events.parse_payload(event, events.ReceiptScanned)
    except ValidationError as exc:
        raise PermanentError(f"invalid receipt: {exc.errors()[:5]}") from exc
    problems = check_totals(receipt)
    if problems:
        raise PermanentError("; ".join(problems))
    await deps.receipts.save_once(
        {
            "_id": f"{event.tenant_id}/{receipt.receipt_id}",
            "tenant_id": event.tenant_id,
            "receipt": receipt.model_dump(mode="json"),
            "scanned_event_id": event.event_id,
        }
    )
    return []
