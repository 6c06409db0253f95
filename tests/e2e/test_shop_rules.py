"""The rules a shopper meets in the portal: receipt-code attempts are rate-limited, a company
invoice needs the company's NIP on the receipt (the shopper is told why), a line cannot be
asked for beyond what is left, and an old receipt is refused with the deadline."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from einvoice.mongo import service_db
from gateway.shop.accounts.admin import create_account
from tests.support import CSRF_FIELD, GATEWAY, eventually, local_settings
from tests.support.builders import LINES
from tests.support.retail import pushed_receipt

pytestmark = [pytest.mark.e2e]

PASSWORD = "Zażółć-gęślą-jaźń-42"


@asynccontextmanager
async def signed_in_shopper() -> AsyncIterator[httpx.AsyncClient]:
    from pymongo import AsyncMongoClient

    email = f"ola@{uuid.uuid4().hex[:8]}.rules.test"
    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        await create_account(service_db(mongo, "gateway"), email, PASSWORD)
    finally:
        await mongo.close()
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        form = await client.get("/account/login")
        csrf = CSRF_FIELD.search(form.text).group(1)
        signed = await client.post(
            "/account/login", data={"email": email, "password": PASSWORD, "csrf": csrf}
        )
        assert signed.status_code == 303 and signed.headers["location"].startswith("/me")
        yield client


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    return CSRF_FIELD.search((await client.get(path)).text).group(1)


async def claim(client: httpx.AsyncClient, code: str) -> httpx.Response:
    token = await csrf_of(client, "/me/receipts/add")
    return await client.post("/me/receipts/add", data={"code": code, "csrf": token})


BUYER = {"name": "Ola Żak", "street": "ul. Polna 1", "postal_code": "00-001", "city": "Warszawa"}


async def test_receipt_codes_cannot_be_guessed(chain) -> None:
    receipt = await pushed_receipt(chain, LINES)
    async with signed_in_shopper() as shopper:
        for _ in range(10):
            wrong = await claim(shopper, "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
            assert wrong.status_code == 404
            assert "Nie znaleziono paragonu" in wrong.text
        blocked = await claim(shopper, receipt["code"])
        assert blocked.status_code == 429, "the 11th attempt in 10 minutes is refused"
        assert "Zbyt wiele prób" in blocked.text


async def test_company_invoice_needs_the_nip_on_the_receipt(chain) -> None:
    receipt = await pushed_receipt(chain, LINES)
    async with signed_in_shopper() as shopper:
        opened = await claim(shopper, receipt["code"])
        assert opened.status_code == 303
        page = opened.headers["location"]
        token = await csrf_of(shopper, page)
        refused = await shopper.post(
            page,
            data=BUYER
            | {
                "csrf": token,
                "kind": "company",
                "nip": "5260250274",
                "pick_0": "1",
                "qty_0": "1",
            },
        )
        assert refused.status_code == 422
        assert "faktura może być wystawiona tylko na osobę prywatną" in refused.text

        too_much = await shopper.post(
            page,
            data=BUYER
            | {
                "csrf": token,
                "kind": "person",
                "pick_2": "1",
                "qty_2": "2",
            },
        )
        assert too_much.status_code == 422 and "najwyżej 1" in too_much.text


async def test_an_old_receipt_is_refused_with_its_deadline(chain) -> None:
    old = datetime.now(UTC) - timedelta(days=160)
    receipt = await pushed_receipt(chain, LINES, issued_at=old)
    async with signed_in_shopper() as shopper:
        page = (await claim(shopper, receipt["code"])).headers["location"]
        token = await csrf_of(shopper, page)
        requested = await shopper.post(
            page,
            data=BUYER
            | {
                "csrf": token,
                "kind": "person",
                "pick_0": "1",
                "qty_0": "1",
            },
        )
        assert requested.status_code == 303
        invoice_page = requested.headers["location"]

        async def refused() -> str | None:
            text = (await shopper.get(invoice_page)).text
            return text if "nie została wystawiona" in text else None

        text = await eventually(refused, timeout=60, what="the refusal")
        assert "the receipt could be invoiced until" in text
