"""Tills push receipts through the gateway's POS API (and the CLI's till simulator): a
receipt is stored once however often it is pushed, a store-bound key speaks for its store
only, unknown keys are refused, and a receipt that does not add up passes the gateway (it
checks the schema only) but lands in `receipt.scanned.dlq` with the reason."""

from __future__ import annotations

import asyncio
import random
import subprocess
from decimal import Decimal
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from einvoice import events
from einvoice.kafka_admin import partitions_of
from einvoice.mongo import mongo_client
from einvoice.readmodels.receipts import find_receipt_by_code, receipts_collection
from einvoice.settings import Settings
from einvoice_tools import demo
from einvoice_tools.dlq import show
from tests.support import GATEWAY, ROOT, eventually
from tests.support.parties import Chain, push

pytestmark = [pytest.mark.e2e]

STORE = "S001"


@pytest.fixture(scope="module")
async def mongo(stack: dict[str, str]):
    client = mongo_client(Settings(**stack))
    yield client
    await client.close()


def till_receipt(seed: int | None = None, **overrides: Any) -> dict[str, Any]:
    return demo.demo_receipt(random.Random(seed), lines=5) | overrides


async def ingest_caught_up(bootstrap: str) -> None:
    """Wait until receipt-ingest has committed everything published to `receipt.scanned`
    so far: then a repeat that should change nothing has had its chance to."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        ends = await consumer.end_offsets(await partitions_of(consumer, events.RECEIPT_SCANNED))

        async def done() -> bool:
            committed = await admin.list_consumer_group_offsets("receipt-ingest")
            return all(
                tp in committed and committed[tp].offset >= end for tp, end in ends.items() if end
            )

        await eventually(done, timeout=60, what="receipt-ingest to consume every receipt")
    finally:
        await admin.close()
        await consumer.stop()


async def dead_letter(bootstrap: str, key: str) -> dict[str, Any]:
    async def find() -> dict[str, Any] | None:
        records = await show(bootstrap, events.dlq_topic(events.RECEIPT_SCANNED), 100_000)
        return next((r for r in records if r["key"] == key), None)

    return await eventually(find, timeout=60, what=f"receipt {key} in the DLQ")


async def test_a_receipt_pushed_twice_is_stored_once(
    chain: Chain, mongo, stack: dict[str, str]
) -> None:
    receipt = till_receipt(buyer_nip="526-025-02-74")
    first = await push(chain.store_key, receipt)
    second = await push(chain.store_key, receipt)
    assert first.status_code == second.status_code == 202, first.text + second.text
    receipt_id = first.json()["receipts"][0]["receipt_id"]
    assert second.json()["receipts"][0]["receipt_id"] == receipt_id

    found = await eventually(
        lambda: find_receipt_by_code(mongo, chain.chain_id, receipt["code"].lower()),
        timeout=60,
        what="the receipt to be stored",
    )
    await ingest_caught_up(stack["kafka_bootstrap"])
    stored = receipts_collection(mongo)
    assert (
        await stored.count_documents({"tenant_id": chain.chain_id, "receipt_id": receipt_id}) == 1
    )
    assert found["receipt_id"] == receipt_id
    assert found["buyer_nip"] == "5260250274"
    assert found["claimed_by"] is None
    assert [line["name"] for line in found["lines"]] == [line["name"] for line in receipt["lines"]]
    assert all(
        Decimal(line["remaining"]) == Decimal(line["quantity"]) and line["invoiced"] == "0"
        for line in found["lines"]
    )
    # Any chain: the code alone finds it.
    assert (await find_receipt_by_code(mongo, None, receipt["code"]))["receipt_id"] == receipt_id
    records = await show(stack["kafka_bootstrap"], "receipt.scanned.dlq", 100_000)
    assert not [r for r in records if r["key"] == receipt_id]  # the repeat is no error


async def test_a_list_of_receipts_from_several_stores_with_the_chain_key(
    chain: Chain, mongo
) -> None:
    body = {"receipts": [till_receipt(), till_receipt(store_id="S002", till_id="K07")]}
    response = await push(chain.chain_key, body)
    assert response.status_code == 202, response.text
    ids = [r["receipt_id"] for r in response.json()["receipts"]]

    async def both() -> bool:
        query = {"tenant_id": chain.chain_id, "receipt_id": {"$in": ids}}
        return await receipts_collection(mongo).count_documents(query) == 2

    await eventually(both, timeout=60, what="both receipts to be stored")


async def test_a_store_key_cannot_push_another_stores_receipt(chain: Chain) -> None:
    response = await push(chain.store_key, till_receipt(store_id="S002"))
    assert response.status_code == 403
    assert "bound to store 'S001'" in response.json()["detail"]["message"]


async def test_unknown_and_missing_keys_are_refused(chain: Chain) -> None:
    assert (await push("not-a-pos-key", till_receipt())).status_code == 401
    async with httpx.AsyncClient(base_url=GATEWAY) as client:
        assert (await client.post("/api/v1/receipts", json=till_receipt())).status_code == 401


async def test_a_schema_error_is_a_422_with_the_field(chain: Chain) -> None:
    bad = till_receipt()
    bad["lines"][0]["quantity"] = "0"
    response = await push(chain.chain_key, bad)
    assert response.status_code == 422
    [problem] = response.json()["detail"]["receipts"]
    assert problem["errors"][0].startswith("lines.0.quantity:")


async def test_a_receipt_that_does_not_add_up_is_dead_lettered_with_the_reason(
    chain: Chain, mongo, stack: dict[str, str]
) -> None:
    receipt = till_receipt()
    true_total = receipt["total_gross"]
    receipt["total_gross"] = str(Decimal(true_total) + Decimal("0.01"))
    receipt["totals"][0]["gross"] = str(Decimal(receipt["totals"][0]["gross"]) + 1)
    response = await push(chain.chain_key, receipt)
    assert response.status_code == 202, response.text  # the gateway checks the schema only
    receipt_id = response.json()["receipts"][0]["receipt_id"]

    record = await dead_letter(stack["kafka_bootstrap"], receipt_id)
    assert f"total_gross {receipt['total_gross']} != sum of lines {true_total}" in record["reason"]
    assert "totals for rate" in record["reason"]
    assert record["service"] == "receipt-ingest"
    query = {"tenant_id": chain.chain_id, "receipt_id": receipt_id}
    assert await receipts_collection(mongo).count_documents(query) == 0


async def test_a_different_receipt_reusing_a_code_is_dead_lettered(
    chain: Chain, mongo, stack: dict[str, str]
) -> None:
    first = till_receipt()
    assert (await push(chain.chain_key, first)).status_code == 202
    await eventually(
        lambda: find_receipt_by_code(mongo, chain.chain_id, first["code"]),
        timeout=60,
        what="the first receipt to be stored",
    )
    copycat = till_receipt(till_id="K99", code=first["code"])
    response = await push(chain.chain_key, copycat)
    assert response.status_code == 202, response.text
    copycat_id = response.json()["receipts"][0]["receipt_id"]
    record = await dead_letter(stack["kafka_bootstrap"], copycat_id)
    assert "its code is already used by receipt" in record["reason"]
    found = await find_receipt_by_code(mongo, chain.chain_id, first["code"])
    assert found["till_id"] == "K01"


async def test_the_cli_till_pushes_a_receipt_and_writes_its_qr_code(
    chain: Chain, mongo, tmp_path
) -> None:
    qr = tmp_path / "paragon.png"
    result = await asyncio.to_thread(
        subprocess.run,
        [
            str(ROOT / ".venv/bin/einvoice"),
            "till",
            "push",
            "--chain",
            chain.chain_id,
            "--store",
            STORE,
            "--pos-key",
            chain.store_key,
            "--lines",
            "9",
            "--nip",
            "5260250274",
            "--qr",
            str(qr),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "note:" not in result.stdout  # the receipt id the CLI derived is the gateway's
    code = next(line for line in result.stdout.splitlines() if line.startswith("code: "))[6:]
    assert qr.read_bytes().startswith(b"\x89PNG")
    found = await eventually(
        lambda: find_receipt_by_code(mongo, chain.chain_id, code),
        timeout=60,
        what="the CLI's receipt to be stored",
    )
    assert len(found["lines"]) == 9
    assert found["buyer_nip"] == "5260250274"
    assert {line["vat_rate"] for line in found["lines"]} >= {"23", "8", "5"}
