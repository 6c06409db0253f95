"""invoice-builder and FA(3): the XML built, validated and stored once under its key when an
invoice is issued, announced by key, size and SHA-256; an invalid one rejected; a
redelivery rebuilding the very same bytes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import fa3
from einvoice import events
from invoice_builder.handlers import Deps, on_invoice_requested
from tests.support.builders import TENANT, decoded, request_payload, requested_event
from tests.support.fa3 import text
from tests.support.fakes import FakeInvoiceRepository, FakeStore

NOW = datetime(2026, 2, 2, 8, 30, 15, 999999, tzinfo=UTC)
KEY = f"{TENANT}/2025/01/inv-1.fa3.xml"


async def handle(event: events.Envelope, deps: Deps) -> dict:
    [out] = await on_invoice_requested(event, deps)
    return decoded(out)


async def test_an_issued_invoice_carries_its_stored_fa3_xml() -> None:
    store = FakeStore()
    body = await handle(requested_event(), Deps(FakeInvoiceRepository(), store, lambda: NOW))

    assert body["type"] == events.INVOICE_ISSUED
    stored = store.objects[KEY]
    xml = stored["body"]
    assert fa3.validate(xml) == []
    assert stored["content_type"] == "application/xml"
    assert body["payload"]["fa3"] == {
        "s3_bucket": store.bucket,
        "s3_key": KEY,
        "sha256": hashlib.sha256(xml).hexdigest(),
        "size_bytes": len(xml),
    }
    assert stored["metadata"] == {"sha256": hashlib.sha256(xml).hexdigest(), "invoice-id": "inv-1"}
    assert text(xml, "Naglowek/DataWytworzeniaFa") == "2026-02-02T08:30:15Z"
    assert text(xml, "Fa/P_2") == "FV/2025/01/0001"
    assert text(xml, "Fa/P_15") == body["payload"]["totals"]["gross"]


async def test_a_redelivery_rebuilds_the_same_bytes_and_writes_nothing_new() -> None:
    repo, store = FakeInvoiceRepository(), FakeStore()
    first = await handle(requested_event(), Deps(repo, store, lambda: NOW))
    original = store.objects[KEY]["body"]
    del store.objects[KEY]  # as if the first PUT had been lost: the rebuild must match
    later = NOW + timedelta(hours=5)
    second = await handle(requested_event(), Deps(repo, store, lambda: later))

    assert second["event_id"] == first["event_id"] and second["payload"] == first["payload"]
    assert store.objects[KEY]["body"] == original
    third = await handle(requested_event(), Deps(repo, store, lambda: later))
    assert third["payload"] == first["payload"]
    assert store.puts == [KEY, KEY]  # the third's conditional PUT wrote nothing


async def test_an_invoice_whose_xml_is_invalid_is_rejected_with_the_reason() -> None:
    store = FakeStore()
    payment = {"method": "przelew", "bank_account": "12 34"}
    event = requested_event(request_payload(payment=payment))
    body = await handle(event, Deps(FakeInvoiceRepository(), store, lambda: NOW))

    assert body["type"] == events.INVOICE_REJECTED
    [reason] = body["payload"]["reasons"]
    assert reason.startswith("FA(3) XML invalid: line ") and "Element 'NrRB'" in reason
    assert "{http" not in reason  # no namespace noise for the sender
    assert store.objects == {}


async def test_a_decision_from_before_fa3_is_re_emitted_without_xml() -> None:
    repo, store = FakeInvoiceRepository(), FakeStore()
    await handle(requested_event(), Deps(repo, store, lambda: NOW))
    del repo.records[f"{TENANT}/inv-1"]["fa3_created_at"]
    store.objects.clear()
    body = await handle(requested_event(), Deps(repo, store, lambda: NOW))

    assert body["type"] == events.INVOICE_ISSUED and body["payload"]["fa3"] is None
    assert store.objects == {}
