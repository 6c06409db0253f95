"""The customer's landing page with fakes: the invoice's KSeF number, from read-tracker's
record or from the mailer's link record, in Polish and English; none outside KSeF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from einvoice.readmodels import mailing, tracking
from gateway.deps import get_state
from gateway.links import routes as links
from tests.support.fakes import FakeTenants
from tests.support.mongo import FakeClient

TENANT = "demo-wodociagi"
TOKEN = "tok_" + "x" * 40
KSEF_NUMBER = "5260250274-20250131-0123456789AB-7C"


def link(**fields: Any) -> dict[str, Any]:
    return {
        "_id": mailing.token_hash(TOKEN),
        "link_id": "link-1",
        "tenant_id": TENANT,
        "invoice_id": "inv-1",
        "number": "FV/2025/01/0001",
        "batch_id": "b-1",
        "s3_key": f"{TENANT}/2025/01/inv-1.pdf",
        "recipient": "jan@example.pl",
        "created_at": datetime.now(UTC),
        "expires_at": datetime.now(UTC) + timedelta(days=30),
        "revoked": False,
    } | fields


def delivery(**fields: Any) -> dict[str, Any]:
    return {
        "_id": tracking.delivery_id(TENANT, "inv-1"),
        "tenant_id": TENANT,
        "invoice_id": "inv-1",
        "batch_id": "b-1",
        "number": "FV/2025/01/0001",
        "total_gross": "144.59",
    } | fields


@pytest.fixture
def mongo() -> FakeClient:
    return FakeClient()


@pytest.fixture
async def page(mongo: FakeClient):
    app = FastAPI()
    app.include_router(links.router)
    state = SimpleNamespace(
        mongo=mongo,
        tenants=FakeTenants(),
        settings=SimpleNamespace(session_secret=SecretStr("s" * 32), environment="local"),
    )
    app.dependency_overrides[get_state] = lambda: state
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:

        async def get(lang: str = "pl") -> httpx.Response:
            return await client.get(f"/i/{TOKEN}", params={"lang": lang})

        yield get


def store(mongo: FakeClient, link_record: dict[str, Any], record: dict[str, Any] | None) -> None:
    mailing.mailer_db(mongo)[mailing.LINKS].docs[link_record["_id"]] = link_record
    if record is not None:
        tracking.tracker_db(mongo)[tracking.DELIVERIES].docs[record["_id"]] = record


@pytest.mark.parametrize(
    ("lang", "label"), [("pl", "Numer KSeF"), ("en", "KSeF number")], ids=["pl", "en"]
)
async def test_the_ksef_number_from_the_tracking_record(mongo, page, lang, label) -> None:
    store(mongo, link(), delivery(ksef_status="registered", ksef_number=KSEF_NUMBER))
    response = await page(lang)
    assert response.status_code == 200
    assert f"<dt>{label}</dt>" in response.text and KSEF_NUMBER in response.text


async def test_the_ksef_number_from_the_link_record(mongo, page) -> None:
    store(mongo, link(ksef_number=KSEF_NUMBER), delivery())
    response = await page()
    assert KSEF_NUMBER in response.text and "Numer KSeF" in response.text


async def test_the_link_record_alone_is_enough(mongo, page) -> None:
    store(mongo, link(ksef_number=KSEF_NUMBER), None)
    assert KSEF_NUMBER in (await page()).text


@pytest.mark.parametrize("ksef", [{"ksef_status": "outside"}, {}], ids=["outside", "unknown"])
async def test_no_ksef_line_without_a_ksef_number(mongo, page, ksef) -> None:
    store(mongo, link(ksef_number=None), delivery(**ksef))
    response = await page()
    assert response.status_code == 200 and "FV/2025/01/0001" in response.text
    assert "KSeF" not in response.text
