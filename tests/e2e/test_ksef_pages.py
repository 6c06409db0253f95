"""The people's side of KSeF on the real stack: an operator connects the utility to KSeF on
the operator panel's KSeF page (the `test` environment is the local simulator there) with a
token the simulator issued, tests the connection, saves; a batch of business and consumer
invoices then shows each invoice's KSeF state and number on the batch page, filters by it,
and gives the FA(3) XML and the UPO; a chain user does the same on the chain portal, whose
NIP starts as the chain's own."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from typing import Any

import httpx
import pytest

from einvoice_tools import demo
from tests.support import CSRF_FIELD, GATEWAY, eventually
from tests.support.authz_world import operator_sign_in, sign_in
from tests.support.ksef import ksef_number_ok
from tests.support.parties import Tenant, known_chain, known_tenant

pytestmark = [pytest.mark.e2e]

SIMULATOR = "http://127.0.0.1:8088"
SELLER_NIP = str(demo.DEMO_SELLER["nip"])
CHAIN_NIP = str(demo.DEMO_CHAIN_SELLER["nip"])
RESULT = re.compile(r'id="ksef-test"[^>]*>(.*?)</p>', re.S)


def sim_token(nip: str) -> str:
    answer = httpx.post(f"{SIMULATOR}/_sim/tokens", json={"nip": nip}, timeout=10)
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    found = CSRF_FIELD.search((await client.get(path)).text)
    assert found, path
    return found.group(1)


def connection_form(nip: str, **values: str) -> dict[str, str]:
    return {
        "environment": "test",
        "context_nip": nip,
        "start_date": "2026-02-01",
        "consumers": "outside",
        "token": "",
        "action": "save",
    } | values


async def connect(client: httpx.AsyncClient, path: str, nip: str) -> None:
    """Test a fresh token, then save it; wait until the page shows the connection."""
    token = sim_token(nip)
    tested = await client.post(
        path,
        data=connection_form(nip, token=token, action="test")
        | {"csrf": await csrf_of(client, path)},
    )
    assert tested.status_code == 200
    result = RESULT.search(tested.text)
    assert result and result.group(1).startswith("Połączenie działa"), tested.text[:2000]
    assert token not in tested.text
    saved = await client.post(
        path, data=connection_form(nip, token=token) | {"csrf": await csrf_of(client, path)}
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?saved=saved"

    async def connected() -> bool:
        page = (await client.get(path)).text
        return "połączono: środowisko testowe" in page and token not in page

    await eventually(connected, timeout=30, what="the saved KSeF connection")
    again = await client.post(
        path, data=connection_form(nip, action="test") | {"csrf": await csrf_of(client, path)}
    )
    result = RESULT.search(again.text)
    assert result and result.group(1).startswith("Połączenie działa"), "the stored token works"


def batch_of(tenant: Tenant) -> list[dict[str, Any]]:
    """Four invoices of the demo seller: two to businesses (a NIP), two to consumers."""
    rng = random.Random(uuid.uuid4().int)
    invoices = demo.demo_invoices(
        4,
        seed=rng.randint(0, 10**6),
        email_domain=tenant.email_domain,
        series=f"KSP/{uuid.uuid4().hex[:6]}",
    )
    for index, invoice in enumerate(invoices):
        if index % 2 == 0:
            invoice["buyer"]["nip"] = invoice["buyer"].get("nip") or demo.valid_nip(rng)
        else:
            invoice["buyer"].pop("nip", None)
    return invoices


async def test_an_operator_connects_ksef_and_sees_each_invoices_state(
    services: bool, stack: dict[str, str]
) -> None:
    tenant = await known_tenant(stack["kafka_bootstrap"], "Wodociągi KSeF-owe Sp. z o.o.")
    operator = await operator_sign_in(tenant.api_key)
    client = operator.client
    try:
        # A wrong token is refused in KSeF's words, and nothing is saved.
        wrong = await client.post(
            "/operator/ksef",
            data=connection_form(SELLER_NIP, token="not-a-token", action="test")
            | {"csrf": operator.operator_csrf},
        )
        result = RESULT.search(wrong.text)
        assert result and "kod 450" in result.group(1), wrong.text[:2000]
        await connect(client, "/operator/ksef", SELLER_NIP)
        # Every service follows tenant.config; invoice-builder, which decides the KSeF target
        # at issue, within its half-second poll of the gateway's view.
        await asyncio.sleep(2)

        async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as api:
            accepted = await api.post("/api/v1/batches", json={"invoices": batch_of(tenant)})
            assert accepted.status_code == 202, accepted.text
            batch_id = accepted.json()["batch_id"]

        async def settled() -> str | None:
            page = (await client.get(f"/operator/batches/{batch_id}")).text
            registered = page.count('<span class="pill ksef-registered">w KSeF</span>')
            outside = page.count('<span class="pill ksef-outside">poza KSeF</span>')
            return page if (registered, outside) == (2, 2) else None

        page = await eventually(settled, timeout=180, interval=1, what="KSeF numbers")
        numbers = re.findall(r'<span class="ksef-number"[^>]*>([^<]+)</span>', page)
        assert len(numbers) == 2 and all(ksef_number_ok(n) for n in numbers), numbers
        registered_ids = re.findall(
            r'<tr id="inv-([^"]+)">(?:(?!</tr>).)*ksef-registered', page, re.S
        )
        filtered = (await client.get(f"/operator/batches/{batch_id}?ksef=registered")).text
        assert sorted(re.findall(r'<tr id="inv-([^"]+)"', filtered)) == sorted(registered_ids)
        for invoice_id in registered_ids:
            fa3 = await client.get(f"/operator/invoices/{invoice_id}/fa3.xml")
            upo = await client.get(f"/operator/invoices/{invoice_id}/upo.xml")
            assert fa3.status_code == upo.status_code == 200
            assert fa3.headers["content-type"] == "application/xml"
            assert b"<Faktura" in fa3.content and SELLER_NIP.encode() in fa3.content
            assert upo.content.lstrip().startswith(b"<?xml")
        outside = await client.get(f"/operator/batches/{batch_id}?ksef=outside")
        outside_ids = re.findall(r'<tr id="inv-([^"]+)"', outside.text)
        assert len(outside_ids) == 2
        no_upo = await client.get(f"/operator/invoices/{outside_ids[0]}/upo.xml")
        assert no_upo.status_code == 404 and "UPO" in no_upo.text

        gone = await client.post(
            "/operator/ksef",
            data={"action": "disconnect", "csrf": await csrf_of(client, "/operator/ksef")},
        )
        assert gone.status_code == 303

        async def disconnected() -> bool:
            return "brak połączenia" in (await client.get("/operator/ksef")).text

        await eventually(disconnected, timeout=30, what="the disconnection")
    finally:
        await client.aclose()


async def test_a_chain_user_connects_the_chains_own_nip(
    services: bool, stack: dict[str, str], chain_user
) -> None:
    chain = await known_chain(stack["kafka_bootstrap"])
    user = await chain_user(chain.chain_id)
    actor = await sign_in(user.email, user.password, "/chain")
    try:
        page = await actor.client.get("/chain/ksef")
        assert page.status_code == 200
        nip = re.search(r'<input id="context_nip" [^>]*value="([^"]*)"', page.text)
        assert nip and nip.group(1) == CHAIN_NIP, "the chain's own NIP to start with"
        await connect(actor.client, "/chain/ksef", CHAIN_NIP)
        listing = await actor.client.get("/chain")
        assert '<select id="ksef" name="ksef">' in listing.text, "the KSeF filter once connected"
    finally:
        await actor.client.aclose()
