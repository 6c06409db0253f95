"""Turn a billing batch into `invoice.requested` events: one function for every intake path
(the gateway's HTTP API, the CLI, a direct Kafka producer in tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from einvoice import events

MAX_BATCH = 10_000
_INVOICE_NS = uuid.UUID("6f1c9a52-4d0e-4b8e-9a43-2f1c0d6e7b10")


def invoice_id_for(tenant_id: str, number: str) -> str:
    """Stable per tenant and invoice number, so a re-sent batch repeats no invoice."""
    return str(uuid.uuid5(_INVOICE_NS, f"{tenant_id}\x1f{number}"))


@dataclass(frozen=True)
class BatchError:
    index: int
    number: str | None
    errors: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "number": self.number, "errors": self.errors}


def batch_events(
    tenant_id: str, batch_id: str, invoices: list[Any]
) -> tuple[list[events.Envelope], list[BatchError]]:
    """Validate each invoice of a batch against the schema and wrap it in an envelope."""
    if not invoices:
        return [], [BatchError(-1, None, ["the batch has no invoices"])]
    if len(invoices) > MAX_BATCH:
        return [], [BatchError(-1, None, [f"a batch holds at most {MAX_BATCH} invoices"])]
    out, problems = [], []
    seen: dict[str, int] = {}
    for index, item in enumerate(invoices):
        if not isinstance(item, dict):
            problems.append(BatchError(index, None, ["an invoice must be a JSON object"]))
            continue
        number = item.get("number")
        if isinstance(number, str):
            number = number.strip()  # as the schema will store it
            item = dict(item, number=number)
        if isinstance(number, str) and number in seen:
            problems.append(
                BatchError(index, number, [f"number repeats invoice at index {seen[number]}"])
            )
            continue
        payload = dict(
            item,
            batch_id=batch_id,
            batch_size=len(invoices),
            invoice_id=invoice_id_for(tenant_id, str(number)),
        )
        try:
            request = events.InvoiceRequested.model_validate(payload)
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:20]]
            problems.append(BatchError(index, number if isinstance(number, str) else None, errors))
            continue
        seen[request.number] = index
        out.append(
            events.envelope(
                events.INVOICE_REQUESTED, request, tenant_id=tenant_id, correlation_id=batch_id
            )
        )
    return out, problems
