"""receipt-ingest: reserving a shopper's picks (once), refusing with reasons, and giving the
quantities back when invoice-builder refuses the invoice."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from einvoice import events
from receipt_ingest.retail import RetailDeps, on_invoice_rejected, on_retail_requested
from tests.support.reservations import request, stored

CHAIN = "chain-x"
KEY = f"{CHAIN}/r1"


class FakeReservations:
    def __init__(self, doc: dict[str, Any] | None) -> None:
        self.docs = {KEY: doc | {"version": 0, "reservations": []}} if doc else {}
        self.refusals: dict[str, dict] = {}
        self.conflicts = 0  # how many CAS attempts to fail first (a concurrent writer)

    async def get(self, key: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.docs.get(key))

    async def reserve(self, key, version, invoice_id, picks, invoiced) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            self.docs[key]["version"] += 1
            return False
        doc = self.docs[key]
        if doc["version"] != version:
            return False
        doc["invoiced"] = invoiced
        doc["version"] += 1
        doc["reservations"].append(
            {"invoice_id": invoice_id, "picks": {str(i): str(q) for i, q in picks.items()}}
        )
        return True

    async def release(self, key, version, invoice_id, invoiced) -> bool:
        doc = self.docs[key]
        if doc["version"] != version:
            return False
        doc["invoiced"] = invoiced
        doc["version"] += 1
        for r in doc["reservations"]:
            if r["invoice_id"] == invoice_id:
                r["released"] = True
        return True

    async def decided(self, invoice_id: str):
        return self.refusals.get(invoice_id)

    async def refuse_once(self, invoice_id, reasons):
        return self.refusals.setdefault(invoice_id, {"reasons": reasons})


class Tenants:
    def get(self, tenant_id):
        return None


def deps(store: FakeReservations) -> RetailDeps:
    return RetailDeps(
        receipts=store, tenants=Tenants(), now=lambda: datetime(2026, 2, 10, 12, tzinfo=UTC)
    )


def requested(picks, invoice_id="i1", **kw) -> events.Envelope:
    req = request(picks, **kw).model_copy(update={"invoice_id": invoice_id})
    return events.envelope(
        events.RETAIL_REQUESTED,
        req,
        tenant_id=CHAIN,
        correlation_id="r1",
        event_id=f"req-{invoice_id}",
    )


async def run(handler, event, store) -> list[dict]:
    return [json.loads(o.value) for o in await handler(event, deps(store))]


async def test_reserves_the_picks_and_hands_the_builder_the_receipts_lines() -> None:
    store = FakeReservations(stored())
    [out] = await run(on_retail_requested, requested([(0, "1"), (1, "0.535")]), store)
    assert out["type"] == events.RETAIL_RESERVED
    payload = out["payload"]
    assert [
        (ln["name"], ln["quantity"], ln["unit_price"], ln["vat_rate"]) for ln in payload["lines"]
    ] == [("Chleb żytni", "1", "4.99", "5"), ("Ser gouda", "0.535", "39.90", "5")]
    assert payload["receipt_number"] == "0042" and payload["store_id"] == "S1"
    assert store.docs[KEY]["invoiced"] == ["1", "0.535", "0"]


async def test_a_redelivered_request_reserves_nothing_more() -> None:
    store = FakeReservations(stored())
    first = await run(on_retail_requested, requested([(0, "2")]), store)
    again = await run(on_retail_requested, requested([(0, "2")]), store)
    assert again[0]["event_id"] == first[0]["event_id"]
    assert store.docs[KEY]["invoiced"] == ["2", "0", "0"]
    assert len(store.docs[KEY]["reservations"]) == 1


async def test_over_invoicing_is_refused_with_the_reason_and_recorded_once() -> None:
    store = FakeReservations(stored(invoiced=["2", "0", "0"]))
    [out] = await run(on_retail_requested, requested([(0, "1")], "i2"), store)
    assert out["type"] == events.INVOICE_REJECTED
    assert out["payload"]["reasons"] == ["line 1 (Chleb żytni): 1 requested, 0 left to invoice"]
    assert out["payload"]["batch_id"] == "r1"
    store.docs[KEY]["invoiced"] = ["0", "0", "0"]  # quantities came back meanwhile
    [again] = await run(on_retail_requested, requested([(0, "1")], "i2"), store)
    assert again == out | {"occurred_at": again["occurred_at"]}, "the first decision stands"


async def test_a_concurrent_change_is_retried_on_the_fresh_receipt() -> None:
    store = FakeReservations(stored())
    store.conflicts = 3
    [out] = await run(on_retail_requested, requested([(2, "1")]), store)
    assert out["type"] == events.RETAIL_RESERVED
    assert store.docs[KEY]["invoiced"] == ["0", "0", "1"]


async def test_an_unknown_receipt_is_refused() -> None:
    [out] = await run(on_retail_requested, requested([(0, "1")]), FakeReservations(None))
    assert out["payload"]["reasons"] == ["no such receipt"]


async def test_a_builder_refusal_gives_the_quantities_back_once() -> None:
    store = FakeReservations(stored())
    await run(on_retail_requested, requested([(0, "2"), (2, "1")]), store)
    refusal = events.envelope(
        events.INVOICE_REJECTED,
        events.InvoiceRejected(invoice_id="i1", batch_id="r1", reasons=["no seller"]),
        tenant_id=CHAIN,
        correlation_id="r1",
    )
    assert await run(on_invoice_rejected, refusal, store) == []
    assert await run(on_invoice_rejected, refusal, store) == []
    assert [Decimal(q) for q in store.docs[KEY]["invoiced"]] == [0, 0, 0]


@pytest.mark.parametrize("batch_id", ["some-billing-batch", "r1"])
async def test_other_rejections_change_nothing(batch_id: str) -> None:
    store = FakeReservations(stored(invoiced=["1", "0", "0"]))
    refusal = events.envelope(
        events.INVOICE_REJECTED,
        events.InvoiceRejected(invoice_id="not-reserved", batch_id=batch_id, reasons=["x"]),
        tenant_id=CHAIN,
        correlation_id=batch_id,
    )
    assert await run(on_invoice_rejected, refusal, store) == []
    assert store.docs[KEY]["invoiced"] == ["1", "0", "0"]
