"""The receipts receipt-ingest stores (it is their only writer and names the collection
through `receipts_collection`); the gateway finds a shopper's receipt here by its code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from einvoice.mongo import Client, Collection, service_db
from einvoice.receipts import code_sha256, normalise_code

RECEIPTS = "receipts"
# A shopper types O for 0, I or L for 1 (Crockford's base32 reads them so).
_CROCKFORD_TYPOS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def receipts_collection(client: Client) -> Collection:
    return service_db(client, "receipt-ingest")[RECEIPTS]


def _code_candidates(code: str) -> list[str]:
    plain = normalise_code(code)
    if not (10 <= len(plain) <= 32 and plain.isascii() and plain.isalnum()):
        return []
    typo_fixed = plain.translate(_CROCKFORD_TYPOS)
    return [plain] if typo_fixed == plain else [plain, typo_fixed]


def receipt_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored receipt as the gateway shows it: each line with its invoiced and remaining
    quantities; no code, no internal fields."""
    receipt = doc["receipt"]
    lines = []
    for index, (line, done) in enumerate(zip(receipt["lines"], doc["invoiced"], strict=True)):
        invoiced = Decimal(str(done))
        remaining = Decimal(line["quantity"]) - invoiced
        lines.append(
            {k: line[k] for k in ("name", "quantity", "unit", "unit_gross", "vat_rate", "gross")}
            | {"index": index, "invoiced": str(invoiced), "remaining": str(remaining)}
        )
    keep = ("receipt_id", "store_id", "till_id", "number", "issued_at", "payment_method")
    return {k: receipt[k] for k in keep} | {
        "chain_id": doc["tenant_id"],
        "buyer_nip": doc.get("buyer_nip"),
        "totals": receipt["totals"],
        "total_gross": receipt["total_gross"],
        "claimed_by": doc.get("claimed_by"),
        "lines": lines,
    }


async def find_receipt_by_code(
    client: Client, chain_id: str | None, code: str
) -> dict[str, Any] | None:
    """The receipt with this code (as printed or typed: dashes, spaces, case and Crockford's
    O/0, I/1, L/1 do not matter), in `chain_id` or, when None, in any chain. Looked up by
    the code's hash. None if absent, or if the code is ambiguous across chains."""
    collection = receipts_collection(client)
    for candidate in _code_candidates(code):
        query: dict[str, Any] = {"code_sha256": code_sha256(candidate)}
        if chain_id is not None:
            query["tenant_id"] = chain_id
        found = await collection.find(query).limit(2).to_list(2)
        if len(found) == 1:
            return receipt_view(found[0])
        if found:
            return None
    return None
