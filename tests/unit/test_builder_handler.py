"""invoice-builder: invoice.requested -> invoice.issued | invoice.rejected, over a fake repo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from einvoice import events
from einvoice.bus import PermanentError
from invoice_builder.handlers import Deps, on_invoice_requested
from tests.support.builders import BATCH, TENANT, decoded, request_payload, requested_event
from tests.support.fakes import FakeInvoiceRepository, FakeStore

NOW = datetime(2026, 2, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def repo() -> FakeInvoiceRepository:
    return FakeInvoiceRepository()


async def handle(event: events.Envelope, repo: FakeInvoiceRepository) -> dict:
    out = await on_invoice_requested(event, Deps(invoices=repo, store=FakeStore(), now=lambda: NOW))
    assert len(out) == 1
    assert out[0].key == event.payload["invoice_id"]
    body = decoded(out[0])
    assert body["type"] == out[0].topic
    return body


async def test_a_valid_request_is_issued_with_computed_totals(repo) -> None:
    body = await handle(requested_event(), repo)

    assert body["type"] == events.INVOICE_ISSUED
    assert body["tenant_id"] == TENANT and body["correlation_id"] == BATCH
    assert body["causation_id"] == "req-1"
    assert body["event_id"] == events.derived_event_id("req-1", events.INVOICE_ISSUED)
    invoice = events.InvoiceIssued.model_validate(body["payload"])
    assert invoice.invoice_id == "inv-1" and invoice.number == "FV/2025/01/0001"
    assert body["payload"]["totals"] == {"net": "119.99", "vat": "24.60", "gross": "144.59"}
    assert body["payload"]["vat_summary"] == [
        {"vat_rate": "23", "net": "99.99", "vat": "23.00", "gross": "122.99"},
        {"vat_rate": "8", "net": "20.00", "vat": "1.60", "gross": "21.60"},
    ]
    assert [ln["position"] for ln in body["payload"]["lines"]] == [1, 2]
    # the decision is stored
    assert len(repo.saves) == 1
    saved = repo.records[f"{TENANT}/inv-1"]
    assert saved["status"] == "issued" and saved["request_event_id"] == "req-1"
    assert saved["number"] == "FV/2025/01/0001" and saved["batch_id"] == BATCH


async def test_an_invalid_nip_is_rejected_with_the_reason(repo) -> None:
    payload = request_payload()
    payload["seller"] = payload["seller"] | {"nip": "5260250275"}
    body = await handle(requested_event(payload), repo)

    assert body["type"] == events.INVOICE_REJECTED
    assert body["event_id"] == events.derived_event_id("req-1", events.INVOICE_REJECTED)
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "number": "FV/2025/01/0001",
        "reasons": ["seller.nip '5260250275' fails the NIP checksum"],
    }
    assert repo.records[f"{TENANT}/inv-1"]["status"] == "rejected"


async def test_a_payload_schema_error_is_rejected_with_field_paths(repo) -> None:
    payload = request_payload(lines=[])
    del payload["buyer"]
    body = await handle(requested_event(payload), repo)

    assert body["type"] == events.INVOICE_REJECTED
    reasons = body["payload"]["reasons"]
    assert "buyer: Field required" in reasons
    assert any(r.startswith("lines: List should have at least 1 item") for r in reasons)
    assert body["payload"]["number"] == "FV/2025/01/0001"
    assert body["payload"]["batch_id"] == BATCH


async def test_a_schema_error_without_batch_id_uses_the_correlation_id(repo) -> None:
    payload = {"invoice_id": "inv-1", "number": "X/1"}
    body = await handle(requested_event(payload), repo)
    assert body["type"] == events.INVOICE_REJECTED
    assert body["payload"]["batch_id"] == BATCH
    assert body["correlation_id"] == BATCH
    assert "issue_date: Field required" in body["payload"]["reasons"]


@pytest.mark.parametrize(
    "invoice_id",
    [None, "", "   ", 17, "x" * 129, "../../other-tenant/x", "a/b", {"$ne": None}, ".hidden"],
    ids=["absent", "empty", "blank", "int", "long", "traversal", "slash", "operator", "dot"],
)
async def test_a_missing_or_unsafe_invoice_id_is_a_permanent_error(repo, invoice_id) -> None:
    payload = request_payload()
    if invoice_id is None:
        del payload["invoice_id"]
    else:
        payload["invoice_id"] = invoice_id
    with pytest.raises(PermanentError, match=r"^payload\.invoice_id must be 1-128 letters"):
        await on_invoice_requested(
            requested_event(payload), Deps(invoices=repo, store=FakeStore(), now=lambda: NOW)
        )
    assert repo.saves == []


async def test_a_redelivered_request_re_emits_the_identical_event_and_saves_once(repo) -> None:
    event = requested_event()
    first = await handle(event, repo)
    second = await handle(event, repo)

    assert second["event_id"] == first["event_id"]
    assert second["type"] == first["type"] == events.INVOICE_ISSUED
    assert second["payload"] == first["payload"]
    assert second["causation_id"] == first["causation_id"] == "req-1"
    assert len(repo.records) == 1  # the second insert found the first one


async def test_another_request_for_a_decided_invoice_re_emits_the_stored_outcome(repo) -> None:
    first = await handle(requested_event(event_id="req-1"), repo)
    # A re-sent batch: same invoice id, a new event id and, this time, different lines.
    changed = request_payload(
        lines=[{"name": "X", "quantity": "1", "unit_price": "1", "vat_rate": "23"}]
    )
    second = await handle(requested_event(changed, event_id="req-2"), repo)

    assert second["event_id"] == first["event_id"]
    assert second["event_id"] == events.derived_event_id("req-1", events.INVOICE_ISSUED)
    assert second["payload"]["totals"] == {"net": "119.99", "vat": "24.60", "gross": "144.59"}
    assert len(repo.records) == 1  # the second insert found the first one


async def test_a_rejection_is_also_final_for_later_requests(repo) -> None:
    payload = request_payload()
    payload["buyer"] = payload["buyer"] | {"email": "not-an-email"}
    first = await handle(requested_event(payload, event_id="req-1"), repo)
    fixed = await handle(requested_event(event_id="req-2"), repo)
    assert first["type"] == fixed["type"] == events.INVOICE_REJECTED
    assert fixed["event_id"] == first["event_id"]
    assert fixed["payload"]["reasons"] == [
        "buyer.email 'not-an-email' does not look like an e-mail address"
    ]


async def test_a_number_used_by_another_invoice_is_rejected(repo) -> None:
    await handle(requested_event(request_payload(invoice_id="other"), event_id="req-0"), repo)
    body = await handle(requested_event(event_id="req-1"), repo)

    assert body["type"] == events.INVOICE_REJECTED
    assert body["payload"]["reasons"] == ["number 'FV/2025/01/0001' is already used by other"]
    assert body["payload"]["invoice_id"] == "inv-1"


async def test_a_number_held_only_by_a_rejected_invoice_is_free(repo) -> None:
    bad = request_payload(invoice_id="other")
    bad["seller"] = bad["seller"] | {"nip": "123"}
    assert (await handle(requested_event(bad, event_id="req-0"), repo))["type"] == (
        events.INVOICE_REJECTED
    )
    assert (await handle(requested_event(event_id="req-1"), repo))["type"] == (
        events.INVOICE_ISSUED
    )


async def test_the_same_number_in_another_tenant_is_free(repo) -> None:
    await handle(requested_event(request_payload(invoice_id="other"), tenant="another"), repo)
    body = await handle(requested_event(), repo)
    assert body["type"] == events.INVOICE_ISSUED


async def test_a_numeric_number_is_rejected_not_crashed(repo) -> None:
    payload = request_payload(number=12345)
    body = await handle(requested_event(payload), repo)
    assert body["type"] == events.INVOICE_REJECTED
    assert "number: Input should be a valid string" in body["payload"]["reasons"]
