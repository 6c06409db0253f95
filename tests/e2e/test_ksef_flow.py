"""KSeF on the real stack: a utility batch with consumers and businesses, whose business
invoices go to the local KSeF simulator in a batch session; a shopper's company invoice
through an online session; every KSeF-bound PDF's QR code decoded from the rendered page
and checked against the SHA-256 of the stored XML; KSeF numbers checked for format and
checksum; UPOs valid against the UPO XSD; a redelivered batch that submits nothing twice."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

import fa3.qr
from einvoice import events
from einvoice.mongo import mongo_client
from einvoice.readmodels import tracking
from einvoice.sealing import Sealer
from einvoice.settings import Settings
from einvoice.storage import s3_client
from einvoice.tenants import hash_api_key
from einvoice_tools import demo
from gateway.api.batch_events import invoice_id_for
from tests.support import GATEWAY, eventually, local_settings, shopper_request
from tests.support.builders import LINES
from tests.support.ksef import ksef_number_ok
from tests.support.parties import Tenant, chain_config, publish_config, tenant_known
from tests.support.pdf_qr import qr_codes
from tests.support.retail import delivery, pushed_receipt, send
from tests.support.upo import upo_problems

pytestmark = [pytest.mark.e2e]

SIMULATOR = "http://127.0.0.1:8088"
SELLER_NIP = str(demo.DEMO_SELLER["nip"])


def ksef_settings(nip: str) -> events.KsefSettings:
    """A connection to the stack's KSeF (the `test` environment is the simulator there),
    with a token the simulator issued for `nip`, sealed as the gateway seals it."""
    token = httpx.post(f"{SIMULATOR}/_sim/tokens", json={"nip": nip}, timeout=10)
    token.raise_for_status()
    sealer = Sealer.from_settings(Settings(**local_settings()))
    return events.KsefSettings(
        environment="test",
        context_nip=nip,
        token_sealed=sealer.seal(token.json()["token"]),
        start_date=date(2026, 2, 1),
    )


@pytest.fixture(scope="module")
async def ksef_tenant(services: bool, stack: dict[str, str]) -> Tenant:
    run = uuid.uuid4().hex[:10]
    tenant = Tenant(f"ksef-{run}", uuid.uuid4().hex, f"{run}.ksef.test")
    config = events.TenantConfig(
        tenant_id=tenant.tenant_id,
        name="Wodociągi w KSeF Sp. z o.o.",
        kind="utility",
        api_key_sha256=[hash_api_key(tenant.api_key)],
        ksef=ksef_settings(SELLER_NIP),
    )
    await publish_config(stack["kafka_bootstrap"], config)
    return await tenant_known(tenant)


def batch_of(tenant: Tenant, count: int) -> list[dict[str, Any]]:
    """`count` invoices, every other one to a business (a NIP), the rest to consumers."""
    rng = random.Random(uuid.uuid4().int)
    invoices = demo.demo_invoices(
        count,
        seed=rng.randint(0, 10**6),
        email_domain=tenant.email_domain,
        series=f"KSEF/{uuid.uuid4().hex[:6]}",
    )
    for index, invoice in enumerate(invoices):
        buyer = invoice["buyer"]
        if index % 2 == 0:
            buyer["nip"] = buyer.get("nip") or demo.valid_nip(rng)
        else:
            buyer.pop("nip", None)
    return invoices


def s3_object(key: str) -> bytes:
    settings = Settings(**local_settings())
    body: bytes = s3_client(settings).get_object(Bucket=settings.s3_bucket, Key=key)["Body"].read()
    return body


async def published(client: httpx.AsyncClient, invoices: list[dict[str, Any]]) -> dict[str, Any]:
    accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
    assert accepted.status_code == 202, accepted.text
    batch_id = accepted.json()["batch_id"]

    async def complete() -> dict | None:
        summary = (await client.get(f"/api/v1/batches/{batch_id}")).json()
        return summary if summary.get("complete") else None

    return await eventually(complete, timeout=180, interval=1, what="the KSeF batch")


async def test_a_utility_batch_goes_to_ksef_in_a_batch_session(
    ksef_tenant: Tenant, stack: dict[str, str]
) -> None:
    invoices = batch_of(ksef_tenant, 44)
    async with httpx.AsyncClient(base_url=GATEWAY, headers=ksef_tenant.auth, timeout=60) as client:
        summary = await published(client, invoices)
        assert summary["failures"] == [], summary["failures"]

        sessions, numbers = set(), set()
        for invoice in invoices:
            invoice_id = invoice_id_for(ksef_tenant.tenant_id, invoice["number"])
            status = (await client.get(f"/api/v1/invoices/{invoice_id}")).json()
            xml = (await client.get(f"/api/v1/invoices/{invoice_id}/fa3.xml")).content
            assert fa3.validate(xml) == []
            pdf = s3_object(status["pdf_key"])
            if invoice["buyer"].get("nip") is None:
                assert status["ksef"]["status"] == "outside", status
                assert qr_codes(pdf) == [], "a consumer's PDF outside KSeF has no KOD I"
                continue
            ksef = status["ksef"]
            assert ksef["status"] == "registered", status
            assert ksef_number_ok(ksef["number"]) and ksef["number"].startswith(SELLER_NIP)
            numbers.add(ksef["number"])
            sessions.add(ksef["session"])
            assert ksef["mode"] == "batch"
            # KOD I on the page, decoded from the rendered image, is the stored XML's.
            expected = fa3.qr.verification_url(
                SELLER_NIP, date.fromisoformat(invoice["issue_date"]), xml, "test"
            )
            assert qr_codes(pdf) == [expected]
            upo = await client.get(f"/api/v1/invoices/{invoice_id}/upo.xml")
            assert upo.status_code == 200 and ksef["number"].encode() in upo.content
            assert upo_problems(upo.content) == []
        assert len(numbers) == 22 and len(sessions) == 1, (numbers, sessions)

        # The same batch again (billing retried): nothing goes to KSeF twice.
        before = await submissions(stack, ksef_tenant.tenant_id)
        again = await client.post("/api/v1/batches", json={"invoices": invoices})
        assert again.status_code == 202, again.text
        summary = await eventually(
            lambda: batch_done(client, again.json()["batch_id"]), timeout=120, what="the retry"
        )
        after = await submissions(stack, ksef_tenant.tenant_id)
        assert after == before, "a redelivered batch changed KSeF submissions"


async def batch_done(client: httpx.AsyncClient, batch_id: str) -> dict | None:
    summary = (await client.get(f"/api/v1/batches/{batch_id}")).json()
    return summary if summary.get("complete") else None


async def submissions(stack: dict[str, str], tenant_id: str) -> list[tuple[Any, ...]]:
    """The connector's record of every submission of the tenant: id, state, attempts,
    session, finish time."""
    client = mongo_client(Settings(**stack))
    try:
        jobs = client["einvoice_ksef_connector"]["submissions"]
        found = await jobs.find({"tenant_id": tenant_id}).sort("_id").to_list(None)
    finally:
        await client.close()
    return [
        (j["_id"], j["state"], j["attempts"], j.get("session_reference"), j.get("finished_at"))
        for j in found
    ]


async def test_a_shoppers_company_invoice_goes_online_and_carries_kod_i(chain, stack) -> None:
    nip = str(demo.DEMO_CHAIN_SELLER["nip"])
    await publish_config(
        stack["kafka_bootstrap"], chain_config(chain, "S001", ksef=ksef_settings(nip).model_dump())
    )
    buyer_nip = "7740001454"
    receipt = await pushed_receipt(chain, LINES, buyer_nip=buyer_nip)
    request = shopper_request(
        chain.chain_id, receipt["receipt_id"], f"firma@{chain.mail_domain}", [(0, "1")]
    )
    payload = request.payload | {
        "buyer_kind": "company",
        "buyer": request.payload["buyer"] | {"name": "Firma Kupująca Sp. z o.o.", "nip": buyer_nip},
    }
    request = request.model_copy(update={"payload": payload})
    await send(stack["kafka_bootstrap"], [request])
    invoice_id = payload["invoice_id"]
    done = await eventually(
        lambda: delivery(stack, chain.chain_id, invoice_id, {"mailed", "failed"}),
        timeout=90,
        what="the company invoice to be mailed",
    )
    assert tracking.stage_of(done) == "mailed", done
    assert done["ksef_status"] == "registered" and done["ksef_mode"] == "online", done
    assert ksef_number_ok(done["ksef_number"])
    xml = s3_object(done["fa3_key"])
    issued = date.fromisoformat(done["issue_date"])
    assert qr_codes(s3_object(done["s3_key"])) == [
        fa3.qr.verification_url(nip, issued, xml, "test")
    ]
    assert issued <= datetime.now(UTC).date()


async def test_a_429_storm_loses_and_doubles_nothing(
    ksef_tenant: Tenant, stack: dict[str, str]
) -> None:
    """Every third KSeF request answered 429 (the simulator's switch) while a utility batch
    (a batch session) and a small one (online) go through: every invoice still gets exactly
    one KSeF number, and none is rejected."""
    big, small = batch_of(ksef_tenant, 50), batch_of(ksef_tenant, 12)
    faults = f"{SIMULATOR}/_sim/faults"
    async with httpx.AsyncClient(base_url=GATEWAY, headers=ksef_tenant.auth, timeout=60) as client:
        try:
            assert (await client.post(faults, json={"throttleEvery": 3})).status_code == 200
            summaries = [await published(client, big), await published(client, small)]
            throttled = (await client.get(faults)).json()["throttled"]
        finally:
            await client.post(faults, json={})
        assert throttled > 0, "the simulator answered no 429: the test proves nothing"
        numbers: dict[str, str] = {}
        for summary, invoices in zip(summaries, (big, small), strict=True):
            assert summary["failures"] == [], summary["failures"]
            assert summary["ksef"]["rejected"] == 0 and summary["ksef"]["waiting"] == 0
            for invoice in invoices:
                invoice_id = invoice_id_for(ksef_tenant.tenant_id, invoice["number"])
                ksef = (await client.get(f"/api/v1/invoices/{invoice_id}")).json()["ksef"]
                if invoice["buyer"].get("nip"):
                    assert ksef["status"] == "registered" and ksef_number_ok(ksef["number"])
                    numbers[invoice_id] = ksef["number"]
    assert len(numbers) == 31 and len(set(numbers.values())) == 31
    jobs = await submissions(stack, ksef_tenant.tenant_id)
    mine = [job for job in jobs if job[0] in numbers]
    assert len(mine) == 31 and {job[1] for job in mine} == {"done"}
    print(f"\n429 storm: {throttled} requests answered 429; 31 invoices, 31 KSeF numbers")
