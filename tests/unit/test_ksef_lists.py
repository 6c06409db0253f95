"""An invoice's KSeF state in the operator's batch page and the chain's invoice list, without
a gateway (the read model and the store replaced): the badges, the KSeF number, a
rejection's reasons, the filter by KSeF state, nothing for records from before KSeF, and the
FA(3) XML and UPO downloads of the tenant's own invoices only (404 with the reason)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from obstore.exceptions import NotFoundError
from starlette.middleware.sessions import SessionMiddleware

from einvoice import events
from einvoice.bus import TransientError
from einvoice.readmodels import tracking
from gateway.chain import routes as chain_routes
from gateway.config import GatewaySettings
from gateway.deps import get_state
from gateway.ksef.invoices import InvoiceKsef, ksef_of, status_counts
from gateway.operator import auth as operator_auth
from gateway.operator import routes as operator_routes
from gateway.shop.accounts import deps as account_deps
from gateway.shop.accounts.store import Account
from gateway.web import auth as web_auth
from gateway.web.sessions import Session
from tests.support.clock import T0

SECRET = "unit-test-secret-unit-test-secret"
KSEF = events.KsefSettings(
    environment="test",
    context_nip="5261040828",
    token_sealed="sealed",
    start_date="2026-02-01",
)
UTILITY = events.TenantConfig(tenant_id="wod", name="Wodociągi", kind="utility", ksef=KSEF)
OLD_UTILITY = events.TenantConfig(tenant_id="wod", name="Wodociągi", kind="utility")
CHAIN = events.TenantConfig(tenant_id="chain-x", name="Sieć X", kind="retail", ksef=KSEF)
ACCOUNT = Account("acc-x", "kasa@x.pl", "chain", "chain-x", True)
SIGNED = web_auth.SignedIn(
    ACCOUNT, Session("hash", "acc-x", "csrf-token-of-the-session-0123456789abcd", T0 + timedelta(1))
)
NUMBER = "5261040828-20260302-0A1B2C3D4E5F-7A"
AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def rows_of(tenant_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    base = {"tenant_id": tenant_id, "batch_id": "b1", "stage": "mailed"} | (
        {"kind": kind} if kind else {}
    )
    prefix = f"{tenant_id}/2026/03"
    return [
        base
        | {
            "invoice_id": "reg",
            "number": "FV/1",
            "s3_key": f"{prefix}/reg.pdf",
            "ksef_status": "registered",
            "ksef_number": NUMBER,
            "ksef_acquired_at": AT,
            "fa3_key": f"{prefix}/reg.fa3.xml",
            "fa3_sha256": hashlib.sha256(stored(f"{prefix}/reg.fa3.xml")).hexdigest(),
            "upo_key": f"{prefix}/reg.upo.xml",
        },
        base
        | {"invoice_id": "wait", "number": "FV/2", "ksef_status": "waiting"}
        | {"fa3_key": f"{prefix}/wait.fa3.xml", "stage": "issued"},
        base
        | {
            "invoice_id": "rej",
            "number": "FV/3",
            "stage": "failed",
            "ksef_status": "rejected",
            "ksef_rejection_code": 450,
            "failed_at": AT,
            "failed_stage": "ksef",
            "failure_reasons": ["Błąd weryfikacji semantyki dokumentu faktury"],
        },
        base | {"invoice_id": "out", "number": "FV/4", "ksef_status": "outside"},
        base | {"invoice_id": "old", "number": "FV/5"},  # from before KSeF
        base
        | {
            "invoice_id": "foreign-key",
            "number": "FV/6",
            "ksef_status": "registered",
            "ksef_number": NUMBER,
            "upo_key": "other-tenant/2026/03/x.upo.xml",
        },
        base
        | {
            "invoice_id": "lost",
            "number": "FV/7",
            "ksef_status": "registered",
            "ksef_number": NUMBER,
            "upo_key": f"{prefix}/lost.upo.xml",
        },
    ]


def stored(key: str) -> bytes:
    return b"<?xml version='1.0'?><Doc key='" + key.encode() + b"'/>"


class Store:
    def __init__(self) -> None:
        self.read: list[str] = []

    async def get(self, key: str) -> bytes:
        self.read.append(key)
        if "lost" in key:
            raise NotFoundError("gone")
        if "down" in key:
            raise TransientError("object storage: connection refused")
        return stored(key)


@pytest.fixture
def calls(monkeypatch) -> list[Any]:
    seen: list[Any] = []

    async def delivery(client, tenant_id, invoice_id):
        seen.append(("delivery", tenant_id, invoice_id))
        for row in rows_of(tenant_id) if tenant_id in ("wod", "chain-x") else []:
            if row["invoice_id"] == invoice_id:
                return row
        return None

    async def batch_invoices(client, tenant_id, batch_id):
        seen.append(("batch", tenant_id, batch_id))
        return rows_of(tenant_id)

    async def batch_status(client, tenant_id, batch_id):
        return tracking.summarise_batch(batch_id, rows_of(tenant_id), expected=7)

    async def chain_invoices(client, tenant_id, **filters):
        seen.append(("chain", tenant_id, filters))
        return rows_of(tenant_id, "retail")

    monkeypatch.setattr(tracking, "delivery", delivery)
    monkeypatch.setattr(tracking, "batch_invoices", batch_invoices)
    monkeypatch.setattr(tracking, "batch_status", batch_status)
    monkeypatch.setattr(tracking, "chain_invoices", chain_invoices)
    return seen


def client_for(tenant: events.TenantConfig) -> TestClient:
    app = FastAPI(exception_handlers={web_auth.PageError: web_auth.page_error})
    app.add_middleware(SessionMiddleware, secret_key=SECRET, session_cookie="einvoice_session")
    app.include_router(operator_routes.router)
    app.include_router(chain_routes.router)
    state = SimpleNamespace(
        settings=GatewaySettings(session_secret=SECRET), mongo=None, store=Store()
    )
    app.dependency_overrides |= {
        get_state: lambda: state,
        operator_auth.operator_tenant: lambda: tenant,
        account_deps.chain_user: lambda: account_deps.ChainUser(ACCOUNT, tenant),
        account_deps.signed_in: lambda: SIGNED,
        account_deps.optional_signed_in: lambda: SIGNED,
    }
    client = TestClient(app)
    client.store = state.store  # type: ignore[attr-defined]
    return client


def row_html(page: str, invoice_id: str) -> str:
    found = re.search(rf'<tr (?:id="inv-|data-invoice="){invoice_id}".*?</tr>', page, re.S)
    assert found, invoice_id
    return found.group(0)


# --- what a record says -----------------------------------------------------------------------


def test_a_records_ksef_state() -> None:
    rows = rows_of("wod")
    assert ksef_of(rows[0]) == InvoiceKsef(
        status="registered", number=NUMBER, acquired_at=AT, fa3=True, upo=True
    )
    assert ksef_of(rows[2]) == InvoiceKsef(
        status="rejected", reasons=["Błąd weryfikacji semantyki dokumentu faktury"], code=450
    )
    assert ksef_of(rows[4]) == InvoiceKsef(), "an old record: nothing"
    assert ksef_of({"ksef_number": NUMBER}).status == "registered", "a number is in KSeF"
    assert ksef_of({"ksef_status": "bogus"}).status is None
    assert ksef_of({"ksef_status": "rejected", "ksef_reasons": "one"}).reasons == ["one"]
    assert status_counts(rows) == {"registered": 3, "waiting": 1, "rejected": 1, "outside": 1}


# --- the operator's batch page ----------------------------------------------------------------


def test_the_batch_page_shows_each_invoices_ksef_state(calls) -> None:
    page = client_for(UTILITY).get("/operator/batches/b1")
    assert page.status_code == 200
    registered = row_html(page.text, "reg")
    assert '<span class="pill ksef-registered">w KSeF</span>' in registered and NUMBER in registered
    assert "przyjęta przez KSeF 2026-03-02 10:15" in registered, "Polish time"
    assert 'href="/operator/invoices/reg/fa3.xml"' in registered
    assert 'href="/operator/invoices/reg/upo.xml"' in registered
    waiting = row_html(page.text, "wait")
    assert "czeka na KSeF" in waiting and 'href="/operator/invoices/wait/fa3.xml"' in waiting
    assert "upo.xml" not in waiting
    rejected = row_html(page.text, "rej")
    assert "odrzucona przez KSeF" in rejected and "kod 450" not in rejected, "reasons column"
    assert "Błąd weryfikacji semantyki" in rejected
    assert "poza KSeF" in row_html(page.text, "out")
    old = row_html(page.text, "old")
    assert "ksef-" not in old and "xml" not in old, "nothing for a record from before KSeF"
    assert 'id="ksef-counts"' in page.text and 'href="?ksef=rejected#invoices"' in page.text
    assert "rejestracja w KSeF" in page.text, "the failure's stage in words"


def test_the_batch_page_filters_by_ksef_state(calls) -> None:
    client = client_for(UTILITY)
    page = client.get("/operator/batches/b1?ksef=rejected")
    assert re.findall(r'<tr id="inv-([^"]+)"', page.text) == ["rej"]
    assert "<b>odrzucona przez KSeF</b>" in page.text
    both = client.get("/operator/batches/b1?stage=mailed&ksef=registered")
    assert re.findall(r'<tr id="inv-([^"]+)"', both.text) == ["reg", "foreign-key", "lost"]
    assert 'href="?stage=mailed&amp;ksef=waiting#invoices"' in both.text
    nonsense = client.get("/operator/batches/b1?ksef=%3Cscript%3E")
    assert nonsense.status_code == 200 and len(re.findall(r'<tr id="inv-', nonsense.text)) == 7


def test_a_tenant_without_ksef_sees_no_ksef_column(calls, monkeypatch) -> None:
    """Old records have no KSeF state; new ones of a tenant that never connected are all
    outside KSeF: a column of those says nothing."""
    rows = [
        {"tenant_id": "wod", "invoice_id": "old", "batch_id": "b1", "stage": "mailed"},
        {"tenant_id": "wod", "invoice_id": "new", "batch_id": "b1", "stage": "mailed"}
        | {"ksef_status": "outside", "fa3_key": "wod/2026/03/new.fa3.xml"},
    ]

    async def batch_invoices(client, tenant_id, batch_id):
        return [dict(r) for r in rows]

    async def batch_status(client, tenant_id, batch_id):
        return tracking.summarise_batch(batch_id, [dict(r) for r in rows], expected=2)

    monkeypatch.setattr(tracking, "batch_invoices", batch_invoices)
    monkeypatch.setattr(tracking, "batch_status", batch_status)
    client = client_for(OLD_UTILITY)
    page = client.get("/operator/batches/b1")
    assert page.status_code == 200
    assert "<th>KSeF</th>" not in page.text and 'id="ksef-filter"' not in page.text
    assert 'id="ksef-counts"' not in page.text and "poza KSeF" not in page.text
    assert 'href="/operator/invoices/new/fa3.xml"' in page.text, "the FA(3) XML all the same"
    filtered = client.get("/operator/batches/b1?ksef=outside")
    assert re.findall(r'<tr id="inv-([^"]+)"', filtered.text) == ["new"]
    assert "<th>KSeF</th>" in filtered.text, "a filter asked for shows its column"


def test_the_operator_downloads_the_xml_of_its_own_invoices(calls) -> None:
    client = client_for(UTILITY)
    fa3 = client.get("/operator/invoices/reg/fa3.xml")
    assert fa3.status_code == 200 and fa3.headers["content-type"] == "application/xml"
    assert fa3.headers["content-disposition"] == 'attachment; filename="faktura-FV_1-fa3.xml"'
    assert fa3.content.endswith(b"key='wod/2026/03/reg.fa3.xml'/>")
    assert fa3.headers["x-content-type-options"] == "nosniff"
    upo = client.get("/operator/invoices/reg/upo.xml")
    assert upo.status_code == 200 and b"reg.upo.xml" in upo.content
    assert upo.headers["content-disposition"] == 'attachment; filename="upo-FV_1.xml"'
    assert ("delivery", "wod", "reg") in calls


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/operator/invoices/wait/upo.xml", "nie ma (jeszcze) UPO"),
        ("/operator/invoices/old/fa3.xml", "nie ma (jeszcze) pliku XML FA(3)"),
        ("/operator/invoices/nope/fa3.xml", "nie ma (jeszcze) pliku XML FA(3)"),
        ("/operator/invoices/foreign-key/upo.xml", "nie ma (jeszcze) UPO"),
        ("/operator/invoices/lost/upo.xml", "nie ma (jeszcze) UPO"),
        ("/operator/invoices/" + "x" * 200 + "/upo.xml", "nie ma (jeszcze) UPO"),
    ],
    ids=["not-yet", "old-record", "unknown", "another-tenants-key", "object-gone", "long-id"],
)
def test_absent_documents_are_404_with_the_reason(calls, path, reason) -> None:
    client = client_for(UTILITY)
    answer = client.get(path)
    assert answer.status_code == 404 and reason in answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert all(not key.startswith("other-tenant/") for key in client.store.read)


def test_a_damaged_or_unreachable_document_is_said_in_words(calls, monkeypatch) -> None:
    real = tracking.delivery

    async def delivery(client, tenant_id, invoice_id):
        row = await real(client, tenant_id, invoice_id)
        if invoice_id == "reg":
            row = row | {"upo_sha256": "0" * 64, "fa3_key": "wod/2026/03/down.fa3.xml"}
        return row

    monkeypatch.setattr(tracking, "delivery", delivery)
    client = client_for(UTILITY)
    damaged = client.get("/operator/invoices/reg/upo.xml")
    assert damaged.status_code == 500 and "sumą kontrolną (SHA-256)" in damaged.text
    down = client.get("/operator/invoices/reg/fa3.xml")
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert "chwilowo niedostępny" in down.text


def test_another_tenants_invoice_is_not_found(calls) -> None:
    other = events.TenantConfig(tenant_id="gaz", name="Gazownia", kind="utility")
    answer = client_for(other).get("/operator/invoices/reg/fa3.xml")
    assert answer.status_code == 404 and ("delivery", "gaz", "reg") in calls


def test_english_404(calls) -> None:
    answer = client_for(UTILITY).get("/operator/invoices/wait/upo.xml?lang=en")
    assert "This invoice has no UPO (yet)" in answer.text


# --- the chain's invoice list -----------------------------------------------------------------


def test_the_chain_list_shows_ksef_state_and_documents(calls) -> None:
    page = client_for(CHAIN).get("/chain")
    assert page.status_code == 200
    registered = row_html(page.text, "reg")
    assert "w KSeF" in registered and NUMBER in registered
    assert 'href="/chain/invoices/reg/fa3.xml"' in registered
    assert 'href="/chain/invoices/reg/upo.xml"' in registered
    rejected = row_html(page.text, "rej")
    assert "odrzucona przez KSeF" in rejected
    assert "kod 450: Błąd weryfikacji semantyki dokumentu faktury" in rejected
    old = row_html(page.text, "old")
    assert "ksef-registered" not in old and "xml" not in old
    assert '<select id="ksef" name="ksef">' in page.text


def test_the_chain_list_filters_by_ksef_state_and_keeps_it_in_the_csv_link(calls) -> None:
    page = client_for(CHAIN).get("/chain?ksef=waiting&tenant_id=chain-y")
    assert calls[-1][1] == "chain-x"
    assert re.findall(r'data-invoice="([^"]+)"', page.text) == ["wait"]
    assert '<option value="waiting" selected>' in page.text
    assert 'href="/chain/invoices.csv?ksef=waiting"' in page.text
    english = client_for(CHAIN).get("/chain?ksef=outside&lang=en")
    assert re.findall(r'data-invoice="([^"]+)"', english.text) == ["out"]
    assert "outside KSeF" in english.text and "KSeF status" in english.text


def test_the_chain_csv_follows_the_ksef_filter(calls) -> None:
    data = client_for(CHAIN).get("/chain/invoices.csv?ksef=registered").content.decode("utf-8-sig")
    lines = data.strip().splitlines()
    assert lines[0].endswith(";status KSeF;numer KSeF")
    assert len(lines) == 4 and all(line.endswith(f";registered;{NUMBER}") for line in lines[1:])


def test_a_chain_without_ksef_sees_no_ksef_column(calls, monkeypatch) -> None:
    async def chain_invoices(client, tenant_id, **filters):
        row = {"tenant_id": tenant_id, "invoice_id": "i1", "kind": "retail", "stage": "mailed"}
        return [row | {"ksef_status": "outside"}]

    monkeypatch.setattr(tracking, "chain_invoices", chain_invoices)
    unconnected = events.TenantConfig(tenant_id="chain-x", name="Sieć X", kind="retail")
    page = client_for(unconnected).get("/chain")
    assert '<select id="ksef"' not in page.text and "poza KSeF" not in page.text
    assert "poza KSeF" in client_for(CHAIN).get("/chain").text, "shown once connected"


def test_the_chain_downloads_its_own_documents_only(calls) -> None:
    client = client_for(CHAIN)
    upo = client.get("/chain/invoices/reg/upo.xml")
    assert upo.status_code == 200 and upo.content.endswith(b"key='chain-x/2026/03/reg.upo.xml'/>")
    assert client.get("/chain/invoices/wait/upo.xml").status_code == 404
    other = events.TenantConfig(tenant_id="chain-y", name="Sieć Y", kind="retail")
    refused = client_for(other).get("/chain/invoices/reg/fa3.xml")
    assert refused.status_code == 404 and ("delivery", "chain-y", "reg") in calls
