"""pdf-renderer: invoice.issued -> one PDF object per invoice -> pdf.rendered."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from einvoice import events
from einvoice.bus import PermanentError
from pdf_renderer.handlers import Deps, on_invoice_issued, pdf_key
from tests.support.builders import BATCH, TENANT, decoded, issued_event, issued_invoice
from tests.support.fakes import FakeRender, FakeStore, sha256_hex

KEY = f"{TENANT}/2025/01/inv-1.pdf"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def render() -> FakeRender:
    return FakeRender()


async def test_renders_stores_and_announces_the_pdf(store, render) -> None:
    event = issued_event()
    out = await on_invoice_issued(event, Deps(store=store, render=render))

    assert render.calls == ["inv-1"]
    assert store.puts == [KEY]
    obj = store.objects[KEY]
    assert obj["body"] == b"%PDF-1.7 fake FV/2025/01/0001 144.59"
    assert obj["content_type"] == "application/pdf"
    assert obj["metadata"] == {"sha256": sha256_hex(obj["body"]), "invoice-id": "inv-1"}

    assert len(out) == 1 and out[0].topic == events.PDF_RENDERED and out[0].key == "inv-1"
    body = decoded(out[0])
    assert body["event_id"] == events.derived_event_id("iss-1", events.PDF_RENDERED)
    assert body["causation_id"] == "iss-1" and body["tenant_id"] == TENANT
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "number": "FV/2025/01/0001",
        "issue_date": "2025-01-31",
        "s3_bucket": "invoices",
        "s3_key": KEY,
        "sha256": sha256_hex(obj["body"]),
        "size_bytes": len(obj["body"]),
        "seller_name": "Acme Energia Sp. z o.o.",
        "buyer_name": "Jan Kowalski",
        "buyer_email": "jan.kowalski@example.pl",
        "total_gross": "144.59",
        "currency": "PLN",
        "due_date": "2025-02-14",
        "recipients": [],
        "ksef_number": None,
    }


def test_pdf_key_is_deterministic_per_tenant_month_and_invoice() -> None:
    invoice = issued_invoice()
    assert pdf_key(TENANT, invoice) == KEY
    assert pdf_key(TENANT, invoice) == pdf_key(TENANT, issued_invoice())
    assert pdf_key("other", invoice) == "other/2025/01/inv-1.pdf"
    later = issued_invoice(
        invoice_id="inv-2",
        issue_date="2025-12-01",
        sale_date="2025-12-01",
        payment={"due_date": "2025-12-15"},
    )
    assert pdf_key(TENANT, later) == f"{TENANT}/2025/12/inv-2.pdf"


@pytest.mark.parametrize(
    ("tenant_id", "invoice_id"),
    [("../victim", "inv-1"), ("t", "../../victim/2025/01/inv-1"), ("t/x", "inv-1")],
)
def test_no_id_reaches_into_another_tenants_keys(tenant_id: str, invoice_id: str) -> None:
    with pytest.raises(PermanentError, match="must be 1-128 letters"):
        pdf_key(tenant_id, issued_invoice(invoice_id=invoice_id))


async def test_a_redelivery_leaves_the_first_pdf_and_announces_it_again(store, render) -> None:
    deps = Deps(store=store, render=render)
    event = issued_event()
    first = decoded((await on_invoice_issued(event, deps))[0])
    second = decoded((await on_invoice_issued(event, deps))[0])

    assert store.puts == [KEY]  # the second render is not written over the first
    assert second["event_id"] == first["event_id"]
    assert second["payload"] == first["payload"]
    assert second["payload"]["sha256"] == sha256_hex(store.objects[KEY]["body"])


async def test_an_existing_object_is_announced_with_its_stored_digest(store, render) -> None:
    # e.g. rendered by an earlier version before a crash: trust what is stored
    store.objects[KEY] = {
        "body": b"x" * 777,
        "content_type": "application/pdf",
        "metadata": {"sha256": "f" * 64, "invoice-id": "inv-1"},
    }
    out = await on_invoice_issued(issued_event(), Deps(store=store, render=render))
    payload = decoded(out[0])["payload"]
    assert store.puts == [] and store.objects[KEY]["body"] == b"x" * 777
    assert payload["sha256"] == "f" * 64 and payload["size_bytes"] == 777


async def test_an_object_without_digest_metadata_is_rendered_again(store, render) -> None:
    store.objects[KEY] = {"body": b"partial", "content_type": "application/pdf", "metadata": {}}
    out = await on_invoice_issued(issued_event(), Deps(store=store, render=render))
    assert render.calls == ["inv-1"] and store.puts == [KEY]
    assert decoded(out[0])["payload"]["sha256"] == sha256_hex(store.objects[KEY]["body"])


async def test_an_invalid_payload_raises_before_any_effect(store, render) -> None:
    event = issued_event().model_copy(update={"payload": {"invoice_id": "inv-1"}})
    with pytest.raises(ValidationError):
        await on_invoice_issued(event, Deps(store=store, render=render))
    assert render.calls == [] and store.puts == []
