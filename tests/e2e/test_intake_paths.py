"""The three intake paths (HTTP, CLI, a plain Kafka producer) produce the same events, and bad
input ends in the DLQ or in a 4xx with its reason while the rest goes on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from typing import Any

import httpx
import pytest

from einvoice import events
from einvoice.bus import Outgoing, make_producer, publish
from einvoice_tools.csvbatch import to_csv
from einvoice_tools.demo import demo_invoices
from einvoice_tools.dlq import show
from gateway.api.batch_events import batch_events, invoice_id_for
from tests.support import GATEWAY, ROOT, eventually, mails_to
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]


async def _status(tenant: Tenant, batch_id: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.get(f"/api/v1/batches/{batch_id}", params={"details": "true"})
    return response.json() if response.status_code == 200 else None


async def _complete(tenant: Tenant, batch_id: str) -> dict[str, Any] | None:
    summary = await _status(tenant, batch_id)
    return summary if summary and summary["complete"] else None


async def test_cli_publishes_a_csv_batch_and_follows_it(tenant: Tenant, tmp_path) -> None:
    invoices = demo_invoices(3, seed=21, email_domain=f"cli.{tenant.email_domain}")
    for invoice in invoices:
        invoice["number"] = invoice["number"].replace("WOD", "CLI")
    batch_file = tmp_path / "batch.csv"
    batch_file.write_text(to_csv(invoices), "utf-8")
    result = await asyncio.to_thread(
        subprocess.run,
        [
            str(ROOT / ".venv/bin/einvoice"),
            "publish-batch",
            str(batch_file),
            "--api-key",
            tenant.api_key,
            "--batch-id",
            f"cli-{uuid.uuid4().hex[:8]}",
            "--timeout",
            "180",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 invoices accepted" in result.stdout
    assert "mailed: 3" in result.stdout
    assert len(await mails_to(f"cli.{tenant.email_domain}")) == 3


async def test_a_plain_kafka_producer_feeds_the_same_pipeline(
    tenant: Tenant, stack: dict[str, str]
) -> None:
    invoices = demo_invoices(2, seed=31, email_domain=f"kafka.{tenant.email_domain}")
    for invoice in invoices:
        invoice["number"] = invoice["number"].replace("WOD", "KAF")
    batch_id = f"kafka-{uuid.uuid4().hex[:8]}"
    envelopes, problems = batch_events(tenant.tenant_id, batch_id, invoices)
    assert problems == []
    producer = make_producer(stack["kafka_bootstrap"], "tests")
    await producer.start()
    try:
        # Raw JSON built by hand, as a producer in another language would.
        records = [
            Outgoing(
                events.INVOICE_REQUESTED,
                e.payload["invoice_id"],
                json.dumps(e.model_dump(mode="json")).encode(),
            )
            for e in envelopes
        ]
        await publish(producer, records, "tests")
    finally:
        await producer.stop()
    summary = await eventually(
        lambda: _complete(tenant, batch_id), timeout=120, what="the Kafka-fed batch"
    )
    assert summary["counts"]["mailed"] == 2
    ids = {row["invoice_id"] for row in summary["invoices"]}
    assert ids == {invoice_id_for(tenant.tenant_id, i["number"]) for i in invoices}


async def test_malformed_events_go_to_the_dlq_and_the_rest_of_the_batch_completes(
    tenant: Tenant, stack: dict[str, str]
) -> None:
    batch_id = f"dlq-{uuid.uuid4().hex[:8]}"
    invoices = demo_invoices(3, seed=41, email_domain=f"dlq.{tenant.email_domain}")
    for invoice in invoices:
        invoice["number"] = invoice["number"].replace("WOD", "DLQ")
    good, _ = batch_events(tenant.tenant_id, batch_id, invoices)
    not_json_key, future_key = f"not-json-{batch_id}", f"future-{batch_id}"
    future = good[0].model_dump(mode="json") | {"schema_version": 99}
    producer = make_producer(stack["kafka_bootstrap"], "tests")
    await producer.start()
    try:
        await publish(
            producer,
            [
                Outgoing(events.INVOICE_REQUESTED, not_json_key, b"{not json"),
                Outgoing(events.INVOICE_REQUESTED, future_key, json.dumps(future).encode()),
                *(Outgoing.of(e, e.payload["invoice_id"]) for e in good),
            ],
            "tests",
        )
    finally:
        await producer.stop()

    summary = await eventually(
        lambda: _complete(tenant, batch_id), timeout=120, what="the rest of the batch"
    )
    assert summary["counts"]["mailed"] == 3

    async def dead_letters() -> dict[str, dict] | None:
        records = await show(stack["kafka_bootstrap"], "invoice.requested.dlq", 10_000)
        mine = {r["key"]: r for r in records if r["key"] in {not_json_key, future_key}}
        return mine if len(mine) == 2 else None

    mine = await eventually(dead_letters, timeout=60, what="both records in the DLQ")
    assert "not JSON" in mine[not_json_key]["reason"]
    assert "schema_version 99" in mine[future_key]["reason"]
    assert mine[not_json_key]["value"] == "{not json"
    assert mine[future_key]["service"] == "invoice-builder"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{oops", 400, "not JSON"),
        (json.dumps({"invoices": []}).encode(), 422, "no invoices"),
        (json.dumps({"invoices": [{"number": "X/1"}]}).encode(), 422, "seller"),
        (json.dumps({"invoices": "nope"}).encode(), 422, "list"),
    ],
)
async def test_the_gateway_refuses_bad_batches_with_a_reason(
    tenant: Tenant, body: bytes, status: int, fragment: str
) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.post(
            "/api/v1/batches", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert fragment in response.text


async def test_the_api_needs_the_tenants_key(tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY) as client:
        missing = await client.get("/api/v1/confirmations")
        wrong = await client.get(
            "/api/v1/confirmations", headers={"Authorization": "Bearer not-a-key"}
        )
    assert (missing.status_code, wrong.status_code) == (401, 401)


async def test_a_batch_is_visible_only_to_its_tenant(tenant: Tenant, stack: dict[str, str]) -> None:
    from tests.support.parties import register_tenant

    other = await register_tenant(stack["kafka_bootstrap"], "Inny dostawca")

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=other.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what="the second tenant")
    invoices = demo_invoices(1, seed=51, email_domain=f"iso.{tenant.email_domain}")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
    batch_id = accepted.json()["batch_id"]
    await eventually(lambda: _status(tenant, batch_id), timeout=60, what="the batch")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=other.auth) as client:
        assert (await client.get(f"/api/v1/batches/{batch_id}")).status_code == 404
        seen = await client.get("/api/v1/confirmations", params={"batch_id": batch_id})
        assert seen.json()["confirmations"] == []
