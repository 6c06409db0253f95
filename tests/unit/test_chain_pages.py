"""The chain's portal pages without a server (dependencies replaced): the chain always comes
from the signed-in user, filters are parsed safely, Polish by default and English on request,
the CSV's headers, PDFs of other chains are 404, and posts need the form token."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from einvoice import events
from einvoice.readmodels import tracking
from gateway.chain import invoices, routes
from gateway.config import GatewaySettings
from gateway.deps import get_state
from gateway.shop.accounts import deps as account_deps
from gateway.shop.accounts.store import Account
from gateway.web.auth import page_error
from gateway.web.sessions import Session
from tests.support.clock import T0

TENANT = events.TenantConfig(
    tenant_id="chain-x",
    name="Sieć X",
    kind="retail",
    pos_keys=[events.PosKey(sha256="a" * 64, store_id="S007")],
)
ACCOUNT = Account("acc-x", "kasa@x.pl", "chain", "chain-x", True)
SIGNED = account_deps.SignedIn(
    ACCOUNT, Session("hash", "acc-x", "csrf-token-of-the-session-0123456789abcd", T0 + timedelta(1))
)
ROWS = [
    {
        "invoice_id": "inv-1",
        "tenant_id": "chain-x",
        "number": "FV/2025/03/000001",
        "issue_date": "2025-03-14",
        "store_id": "S001",
        "buyer_name": "<b>Józefina</b>",
        "buyer_nip": "5261040828",
        "total_gross": "34.33",
        "stage": "mailed",
        "s3_key": "chain-x/2025/03/inv-1.pdf",
    },
    {"invoice_id": "inv-2", "tenant_id": "chain-x", "stage": "failed"},
]


class Limiter:
    def __init__(self, allowed: int = 100) -> None:
        self.allowed = allowed

    async def hit(self, purpose: str, subject: str, limit: int, window_seconds: int) -> bool:
        assert (purpose, subject) == ("chain-layout", "acc-x")
        self.allowed -= 1
        return self.allowed >= 0

    def retry_after(self, window_seconds: int) -> int:
        return 300


class Store:
    async def get(self, key: str) -> bytes:
        return b"%PDF-1.4 " + key.encode()


@pytest.fixture
def calls(monkeypatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def chain_invoices(client, tenant_id, **filters):
        seen.append({"tenant_id": tenant_id, **filters})
        return [dict(r) for r in ROWS]

    async def delivery(client, tenant_id, invoice_id):
        seen.append({"delivery": (tenant_id, invoice_id)})
        found = [r for r in ROWS if r["invoice_id"] == invoice_id and r["tenant_id"] == tenant_id]
        return dict(found[0]) if found else None

    monkeypatch.setattr(tracking, "chain_invoices", chain_invoices)
    monkeypatch.setattr(tracking, "delivery", delivery)
    return seen


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(routes.router)
    app.add_exception_handler(account_deps.PageError, page_error)
    state = SimpleNamespace(
        settings=GatewaySettings(session_secret="unit-test-secret-unit-test-secret"),
        mongo=None,
        store=Store(),
        rate_limiter=Limiter(),
    )
    app.dependency_overrides |= {
        get_state: lambda: state,
        account_deps.chain_user: lambda: account_deps.ChainUser(ACCOUNT, TENANT),
        account_deps.signed_in: lambda: SIGNED,
        account_deps.optional_signed_in: lambda: SIGNED,
    }
    client = TestClient(app)
    client.state = state
    return client


def test_the_list_is_the_users_chain_whatever_the_query_says(client, calls) -> None:
    page = client.get("/chain?tenant_id=chain-y&tenant=chain-y&chain=chain-y")
    assert page.status_code == 200
    assert calls[-1]["tenant_id"] == "chain-x"
    assert "Faktury klientów · Sieć X" in page.text and "kasa@x.pl" in page.text
    assert "&lt;b&gt;Józefina&lt;/b&gt;" in page.text, "autoescaped"
    assert 'href="/chain/invoices/inv-1/pdf"' in page.text
    assert "/chain/invoices/inv-2/pdf" not in page.text, "no PDF link before it is rendered"
    assert "34,33 PLN" in page.text and 'class="pill failed"' in page.text
    assert '<option value="S007"' in page.text and '<option value="S001"' in page.text
    assert 'name="csrf"' in page.text and SIGNED.csrf in page.text


def test_english(client, calls) -> None:
    page = client.get("/chain?lang=en")
    assert "Customers&#39; invoices" in page.text or "Customers' invoices" in page.text
    assert "Export CSV" in page.text and 'name="lang" value="en"' in page.text


def test_filters_reach_the_read_model_and_the_csv_link(client, calls) -> None:
    page = client.get(
        "/chain?from=2025-03-01&to=2025-03-31&store=S001&nip=526-104-08-28&status=mailed"
    )
    assert calls[-1] == {
        "tenant_id": "chain-x",
        "issued_from": "2025-03-01",
        "issued_to": "2025-03-31",
        "store_id": "S001",
        "nip": "5261040828",
        "stage": "mailed",
        "limit": invoices.LIST_LIMIT,
    }
    assert (
        'href="/chain/invoices.csv?from=2025-03-01&amp;to=2025-03-31&amp;store=S001'
        '&amp;nip=5261040828&amp;status=mailed"' in page.text
    )


def test_nonsense_filters_are_dropped(client, calls) -> None:
    client.get("/chain?from=yesterday&to=2025-02-30&store=%3Cscript%3E&status=hacked&nip=abc")
    assert calls[-1] == {
        "tenant_id": "chain-x",
        "issued_from": None,
        "issued_to": None,
        "store_id": None,
        "nip": None,
        "stage": None,
        "limit": invoices.LIST_LIMIT,
    }


def test_csv(client, calls) -> None:
    response = client.get("/chain/invoices.csv?status=failed&tenant_id=chain-y")
    assert calls[-1]["tenant_id"] == "chain-x" and calls[-1]["stage"] == "failed"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert (
        disposition.startswith('attachment; filename="faktury-chain-x-') and ".csv" in disposition
    )
    assert response.content.startswith(b"\xef\xbb\xbfnumer;data wystawienia;")
    assert "34,33" in response.content.decode("utf-8-sig")


def test_pdfs_of_the_chain_only(client, calls) -> None:
    own = client.get("/chain/invoices/inv-1/pdf")
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert own.content == b"%PDF-1.4 chain-x/2025/03/inv-1.pdf"
    assert calls[-1] == {"delivery": ("chain-x", "inv-1")}
    assert client.get("/chain/invoices/inv-2/pdf").status_code == 404, "not rendered yet"
    assert client.get("/chain/invoices/unknown/pdf").status_code == 404
    assert client.get("/chain/invoices/" + "x" * 200 + "/pdf").status_code == 404


def test_posts_need_the_form_token(client) -> None:
    form = {"primary_color": "#112233", "accent_color": "#445566", "invoice_template": ""}
    assert client.post("/chain/branding", data=form).status_code == 403
    assert client.post("/chain/branding", data=form | {"csrf": "forged"}).status_code == 403
    assert client.post("/chain/branding/preview", data=form).status_code == 403


def test_the_form_refuses_bad_colours_and_a_non_png_logo(client) -> None:
    response = client.post(
        "/chain/branding",
        data={"csrf": SIGNED.csrf, "primary_color": "red", "accent_color": "#445566"},
        files={"logo": ("logo.png", b"GIF89a not a png", "image/png")},
    )
    assert response.status_code == 422
    assert "#rrggbb" in response.text and "Logo musi być plikiem PNG." in response.text


def test_the_preview_is_a_pdf_of_the_sample_invoice(client) -> None:
    response = client.post(
        "/chain/branding/preview",
        data={
            "csrf": SIGNED.csrf,
            "primary_color": "#112233",
            "accent_color": "#445566",
            "invoice_template": "<html><body><p>PODGLĄD {{ invoice.number }}</p></body></html>",
        },
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response.headers["content-disposition"].startswith("inline")


def test_renders_have_a_budget(client) -> None:
    client.state.rate_limiter.allowed = 1
    form = {"csrf": SIGNED.csrf, "primary_color": "#112233", "accent_color": "#445566"}
    assert client.post("/chain/branding/preview", data=form).status_code == 200
    refused = client.post("/chain/branding/preview", data=form)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "600"
    assert "Zbyt wiele prób" in refused.text and 'href="/chain/branding"' in refused.text
