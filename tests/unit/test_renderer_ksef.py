"""pdf-renderer and KSeF: an invoice that goes to KSeF is not rendered on invoice.issued but
on invoice.registered, with its mark (the QR code of KOD I and the KSeF number), under the
invoice's one key, announced with its KSeF number; redeliveries keep the conditional PUT."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from einvoice import events
from invoice_pdf.drawn import render_for
from invoice_pdf.ksef import KsefMark
from pdf_renderer.handlers import KSEF_METADATA, Deps, on_invoice_issued, on_invoice_registered
from pdf_renderer.topics import TOPICS
from tests.support.builders import BATCH, TENANT, decoded, issued_event, issued_invoice
from tests.support.fakes import FakeStore, sha256_hex

KEY = f"{TENANT}/2025/01/inv-1.pdf"
NUMBER = "5260250274-20250131-0A1B2C3D4E5F-EA"
URL = (
    "https://qr-test.ksef.mf.gov.pl/invoice/5260250274/31-01-2025/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
)
TARGET = events.KsefTarget(environment="test", context_nip="5260250274")


@dataclass
class MarkedRender:
    """A fake render that records the mark it was asked to print."""

    calls: list[tuple[str, KsefMark | None]] = field(default_factory=list)

    async def __call__(
        self,
        invoice: events.InvoiceIssued,
        branding: events.Branding | None,
        /,
        ksef: KsefMark | None = None,
    ) -> bytes:
        self.calls.append((invoice.invoice_id, ksef))
        mark = f" KSeF {ksef.number} {ksef.url}" if ksef else ""
        return f"%PDF-1.7 fake {invoice.number}{mark}".encode()


def ksef_invoice(**overrides: Any) -> events.InvoiceIssued:
    return issued_invoice(**overrides).model_copy(update={"ksef": TARGET})


def registered_event(
    invoice: events.InvoiceIssued | None = None,
    *,
    number: str = NUMBER,
    event_id: str = "reg-1",
    lane: str = events.BULK,
) -> events.Envelope:
    payload = events.InvoiceRegistered(
        invoice=invoice or ksef_invoice(),
        ksef_number=number,
        acquired_at=datetime(2025, 1, 31, 10, 0, tzinfo=UTC),
        mode="online",
        session_reference="20250131-SO-0000000000-000000000000-00",
        invoice_reference="20250131-EE-0000000000-000000000000-00",
        verification_url=URL,
    )
    env = events.envelope(
        events.INVOICE_REGISTERED,
        payload,
        tenant_id=TENANT,
        correlation_id=BATCH,
        event_id=event_id,
    )
    return env.model_copy(update={"lane": lane})


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def render() -> MarkedRender:
    return MarkedRender()


async def test_an_invoice_bound_for_ksef_is_not_rendered_on_issue(store, render) -> None:
    out = await on_invoice_issued(issued_event(ksef_invoice()), Deps(store=store, render=render))
    assert out == [] and render.calls == [] and store.puts == []


async def test_an_invoice_outside_ksef_is_rendered_on_issue_without_a_mark(store, render) -> None:
    out = await on_invoice_issued(issued_event(), Deps(store=store, render=render))
    assert render.calls == [("inv-1", None)]
    assert store.objects[KEY]["metadata"] == {
        "sha256": sha256_hex(store.objects[KEY]["body"]),
        "invoice-id": "inv-1",
    }
    assert decoded(out[0])["payload"]["ksef_number"] is None


async def test_a_registered_invoice_is_rendered_with_its_mark_and_announced(store, render) -> None:
    event = registered_event()
    out = await on_invoice_registered(event, Deps(store=store, render=render))

    assert render.calls == [("inv-1", KsefMark(number=NUMBER, url=URL))]
    assert store.puts == [KEY], "the invoice's one deterministic key"
    obj = store.objects[KEY]
    assert obj["body"] == f"%PDF-1.7 fake FV/2025/01/0001 KSeF {NUMBER} {URL}".encode()
    assert obj["metadata"] == {
        "sha256": sha256_hex(obj["body"]),
        "invoice-id": "inv-1",
        KSEF_METADATA: NUMBER,
    }
    assert len(out) == 1 and out[0].topic == events.PDF_RENDERED and out[0].key == "inv-1"
    body = decoded(out[0])
    assert body["event_id"] == events.derived_event_id("reg-1", events.PDF_RENDERED)
    assert body["causation_id"] == "reg-1" and body["tenant_id"] == TENANT
    payload = body["payload"]
    assert payload["ksef_number"] == NUMBER
    assert payload["s3_key"] == KEY and payload["sha256"] == sha256_hex(obj["body"])
    assert payload["buyer_email"] == "jan.kowalski@example.pl"
    assert payload["total_gross"] == "144.59" and payload["due_date"] == "2025-02-14"


async def test_a_redelivered_registration_leaves_the_first_pdf(store, render) -> None:
    deps = Deps(store=store, render=render)
    first = decoded((await on_invoice_registered(registered_event(), deps))[0])
    second = decoded((await on_invoice_registered(registered_event(), deps))[0])
    assert store.puts == [KEY]
    assert second["event_id"] == first["event_id"] and second["payload"] == first["payload"]


async def test_a_pdf_drawn_without_the_number_is_replaced(store, render) -> None:
    # e.g. drawn on invoice.issued by a renderer from before KSeF: it lacks the mark
    store.objects[KEY] = {
        "body": b"%PDF unmarked",
        "content_type": "application/pdf",
        "metadata": {"sha256": "f" * 64, "invoice-id": "inv-1"},
    }
    out = await on_invoice_registered(registered_event(), Deps(store=store, render=render))
    obj = store.objects[KEY]
    assert store.puts == [KEY] and obj["metadata"][KSEF_METADATA] == NUMBER
    assert decoded(out[0])["payload"]["sha256"] == sha256_hex(obj["body"])


async def test_a_stored_marked_pdf_is_announced_with_its_digest(store, render) -> None:
    store.objects[KEY] = {
        "body": b"x" * 777,
        "content_type": "application/pdf",
        "metadata": {"sha256": "e" * 64, "invoice-id": "inv-1", KSEF_METADATA: NUMBER},
    }
    out = await on_invoice_registered(registered_event(), Deps(store=store, render=render))
    payload = decoded(out[0])["payload"]
    assert store.puts == [] and payload["sha256"] == "e" * 64 and payload["size_bytes"] == 777
    assert payload["ksef_number"] == NUMBER


async def test_the_interactive_lane_carries_on(store, render) -> None:
    event = registered_event(lane=events.INTERACTIVE)
    out = await on_invoice_registered(event, Deps(store=store, render=render))
    assert out[0].topic == events.PDF_RENDERED + events.INTERACTIVE_SUFFIX


async def test_the_tenants_branding_is_used(store, render) -> None:
    seen: list[events.Branding | None] = []

    async def branded(invoice, branding, /, ksef=None) -> bytes:
        seen.append(branding)
        return b"%PDF"

    class Tenants:
        def get(self, tenant_id: str) -> events.TenantConfig | None:
            return events.TenantConfig(
                tenant_id=tenant_id,
                name="Sieć",
                kind="retail",
                branding=events.Branding(primary_color="#112233"),
            )

    await on_invoice_registered(
        registered_event(), Deps(store=store, render=branded, tenants=Tenants())
    )
    assert seen[0] is not None and seen[0].primary_color == "#112233"


async def test_an_invalid_registration_raises_before_any_effect(store, render) -> None:
    event = registered_event().model_copy(update={"payload": {"ksef_number": NUMBER}})
    with pytest.raises(ValidationError):
        await on_invoice_registered(event, Deps(store=store, render=render))
    assert render.calls == [] and store.puts == []


def test_the_renderer_declares_invoice_registered() -> None:
    assert TOPICS.handlers[events.INVOICE_REGISTERED] is on_invoice_registered
    assert events.PDF_RENDERED in TOPICS.produces


async def test_with_the_real_renderer_the_pdf_carries_the_number(store) -> None:
    async def real(invoice, branding, /, ksef=None) -> bytes:
        return render_for(invoice, branding, ksef)

    await on_invoice_registered(registered_event(), Deps(store=store, render=real))
    text = PdfReader(io.BytesIO(store.objects[KEY]["body"])).pages[0].extract_text()
    assert NUMBER in text and "Do zapłaty: 144,59 PLN" in text
