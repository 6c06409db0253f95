"""Receipts from the tills: one intake function for every path (the gateway's POS API, the
CLI's till simulator) and the receipt codes printed on the paper. The receipts receipt-ingest
stores are read through `einvoice.readmodels.receipts`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from stdnum.pl import nip as nip_checksum

from einvoice import events

MAX_RECEIPTS = 500
_RECEIPT_NS = uuid.UUID("3b0d6f4e-8a57-4c1e-b2f9-5d7e1a9c4f21")
# Crockford's base32: no I, L, O, U, so a code survives being read aloud or typed.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def receipt_id_for(
    chain_id: str, store_id: str, till_id: str, number: str, issued_at: datetime
) -> str:
    """Stable per chain, store, till, receipt number and moment of issue (to the second,
    in UTC; a naive time counts as UTC), so a receipt pushed twice is one receipt."""
    moment = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = "\x1f".join((chain_id, store_id, till_id, number, stamp))
    return str(uuid.uuid5(_RECEIPT_NS, name))


def receipt_key(chain_id: str, receipt_id: str) -> str:
    """The stored receipt's `_id`."""
    return f"{chain_id}/{receipt_id}"


# --- receipt codes ------------------------------------------------------------------------


def new_receipt_code() -> str:
    """80 random bits as 16 Crockford base32 characters, printed as XXXX-XXXX-XXXX-XXXX."""
    value = int.from_bytes(secrets.token_bytes(10), "big")
    chars = [CROCKFORD[(value >> shift) & 31] for shift in range(75, -1, -5)]
    return format_code("".join(chars))


def normalise_code(code: str) -> str:
    """As the schema stores it: no dashes or spaces, upper case."""
    return code.replace("-", "").replace(" ", "").strip().upper()


def format_code(code: str) -> str:
    plain = normalise_code(code)
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def code_sha256(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_nip(value: str) -> str | None:
    """The ten digits of a valid Polish NIP (dashes, spaces and a `PL` prefix allowed), or
    None when the checksum fails."""
    compact = nip_checksum.compact(value)
    return compact if nip_checksum.is_valid(compact) else None


# --- intake -------------------------------------------------------------------------------


def field_error(error: Any) -> str:
    """`lines.0.quantity: Input should be greater than 0` from a pydantic error."""
    return f"{'.'.join(map(str, error['loc'])) or '<root>'}: {error['msg']}"


# A till's clock may run a little fast; a receipt from further ahead is a wrong clock or a
# made-up receipt. Old receipts are kept: the shop says when invoicing one is too late.
CLOCK_SKEW = timedelta(minutes=15)
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)


def issued_at_problem(issued_at: datetime, now: datetime | None = None) -> str | None:
    """Why a receipt's issue time cannot be right, or None."""
    moment = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
    if moment > (now or datetime.now(UTC)) + CLOCK_SKEW:
        return f"issued_at: {issued_at.isoformat()} is in the future (is the till's clock right?)"
    if moment < EARLIEST_RECEIPT:
        return f"issued_at: {issued_at.isoformat()} is before {EARLIEST_RECEIPT:%Y}"
    return None


def receipt_event(chain_id: str, payload: Any) -> tuple[events.Envelope | None, list[str]]:
    """Validate one receipt against the schema and wrap it in a `receipt.scanned` envelope
    (keyed by its receipt id). The platform assigns `receipt_id` (see `receipt_id_for`); a
    payload may carry it only with that value. Arithmetic is receipt-ingest's to check."""
    if not isinstance(payload, dict):
        return None, ["a receipt must be a JSON object"]
    given = payload.get("receipt_id")
    try:
        receipt = events.ReceiptScanned.model_validate(payload | {"receipt_id": "pending"})
    except ValidationError as exc:
        return None, [field_error(e) for e in exc.errors()[:20]]
    errors = []
    if receipt.issued_at.tzinfo is None:
        errors.append("issued_at: needs a UTC offset, e.g. 2025-01-31T12:15:00+01:00")
    elif problem := issued_at_problem(receipt.issued_at):
        errors.append(problem)
    update: dict[str, Any] = {}
    if receipt.buyer_nip is not None:
        update["buyer_nip"] = normalise_nip(receipt.buyer_nip)
        if update["buyer_nip"] is None:
            errors.append(f"buyer_nip: {receipt.buyer_nip!r} is not a valid NIP")
    receipt_id = receipt_id_for(
        chain_id, receipt.store_id, receipt.till_id, receipt.number, receipt.issued_at
    )
    if given is not None and given != receipt_id:
        errors.append(f"receipt_id: must be {receipt_id} (derived by the platform) or absent")
    if errors:
        return None, errors
    receipt = receipt.model_copy(update=update | {"receipt_id": receipt_id})
    env = events.envelope(
        events.RECEIPT_SCANNED, receipt, tenant_id=chain_id, correlation_id=receipt_id
    )
    size = len(env.model_dump_json().encode())
    if size > events.MAX_EVENT_BYTES:
        return None, [f"<root>: the receipt takes {size} bytes, over {events.MAX_EVENT_BYTES}"]
    return env, []
