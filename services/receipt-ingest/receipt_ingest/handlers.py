"""receipt.scanned -> a stored receipt that a shopper can claim by its code.

A receipt is stored once per chain and receipt id, with its code unique in the chain and
every line's invoiced quantity at 0. One whose arithmetic does not add up, whose code another
receipt already uses, or that repeats a stored receipt id with other content is dead-lettered
with the reason: a till's receipt is a fiscal fact, so it is never corrected here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from einvoice import events
from einvoice.bus import Outgoing, PermanentError
from einvoice.receipts import (
    code_sha256,
    field_error,
    issued_at_problem,
    normalise_nip,
    receipt_key,
)

GROSZ = Decimal("0.01")


class Receipts(Protocol):
    async def save_once(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Store the receipt; None when stored now, else the stored receipt that has the same
        `_id` or, in the same chain, the same code."""
        ...


@dataclass
class Deps:
    receipts: Receipts


def _rate(rate: str) -> str:
    return f"{rate}%" if rate.isdigit() else rate


def check_totals(receipt: events.ReceiptScanned) -> list[str]:
    """Every line's gross is quantity x unit gross rounded half up to the grosz; the totals
    per VAT rate and `total_gross` are the sums of the lines."""
    problems = []
    by_rate: dict[str, Decimal] = defaultdict(Decimal)
    for i, line in enumerate(receipt.lines):
        expected = (line.quantity * line.unit_gross).quantize(GROSZ, ROUND_HALF_UP)
        if expected != line.gross:
            problems.append(f"lines[{i}].gross {line.gross} != quantity x unit_gross {expected}")
        by_rate[line.vat_rate] += line.gross
    declared: dict[str, Decimal] = {}
    for total in receipt.totals:
        if total.vat_rate in declared:
            problems.append(f"totals list rate {_rate(total.vat_rate)} twice")
        declared[total.vat_rate] = total.gross
    for rate, gross in declared.items():
        if rate not in by_rate:
            problems.append(f"totals list rate {_rate(rate)} ({gross}) but no line has it")
        elif by_rate[rate] != gross:
            problems.append(
                f"totals for rate {_rate(rate)} {gross} != sum of its lines {by_rate[rate]}"
            )
    for rate, gross in by_rate.items():
        if rate not in declared:
            problems.append(f"totals lack rate {_rate(rate)} (its lines sum to {gross})")
    lines_total = sum((line.gross for line in receipt.lines), start=Decimal(0))
    if lines_total != receipt.total_gross:
        problems.append(f"total_gross {receipt.total_gross} != sum of lines {lines_total}")
    return problems


def check_receipt(receipt: events.ReceiptScanned) -> list[str]:
    problems = check_totals(receipt)
    if why := events.unsafe_id(receipt.receipt_id):
        problems.append(f"receipt_id {why}")
    if problem := issued_at_problem(receipt.issued_at):
        problems.append(problem)
    if receipt.buyer_nip is not None and normalise_nip(receipt.buyer_nip) is None:
        problems.append(f"buyer_nip {receipt.buyer_nip!r} is not a valid NIP")
    return problems


def receipt_record(event: events.Envelope, receipt: events.ReceiptScanned) -> dict[str, Any]:
    """The stored receipt: the till's receipt as it came, plus what claiming and invoicing
    need (code and its hash, the invoiced quantity of each line, the claim, a version for
    compare-and-set updates)."""
    return {
        "_id": receipt_key(event.tenant_id, receipt.receipt_id),
        "tenant_id": event.tenant_id,
        "receipt_id": receipt.receipt_id,
        "store_id": receipt.store_id,
        "till_id": receipt.till_id,
        "number": receipt.number,
        "issued_at": receipt.issued_at,
        "code": receipt.code,
        "code_sha256": code_sha256(receipt.code),
        "buyer_nip": normalise_nip(receipt.buyer_nip) if receipt.buyer_nip else None,
        "receipt": receipt.model_dump(mode="json"),
        "invoiced": ["0"] * len(receipt.lines),  # per line, as decimal strings
        "claimed_by": None,
        "version": 0,
        "scanned_event_id": event.event_id,
    }


def _same_receipt(stored: dict[str, Any], receipt: events.ReceiptScanned) -> bool:
    """Equal by value (4.5 == 4.50, the same instant in any offset), not by representation."""
    try:
        return events.ReceiptScanned.model_validate(stored["receipt"]) == receipt
    except (KeyError, ValidationError):
        return False


async def on_receipt_scanned(event: events.Envelope, deps: Deps) -> list[Outgoing]:
    try:
        receipt = events.parse_payload(event, events.ReceiptScanned)
    except ValidationError as exc:
        first_errors = "; ".join(field_error(e) for e in exc.errors()[:5])
        raise PermanentError(f"invalid receipt: {first_errors}") from exc
    problems = check_receipt(receipt)
    if problems:
        raise PermanentError("; ".join(problems))
    record = receipt_record(event, receipt)
    stored = await deps.receipts.save_once(record)
    if stored is None:
        return []
    if stored["_id"] != record["_id"]:
        owner = stored.get("receipt_id") or stored["_id"]
        raise PermanentError(
            f"receipt {receipt.receipt_id}: its code is already used by receipt {owner}"
        )
    if not _same_receipt(stored, receipt):
        raise PermanentError(
            f"receipt {receipt.receipt_id} is already stored with different content"
        )
    return []  # a redelivery, or the same receipt pushed again
