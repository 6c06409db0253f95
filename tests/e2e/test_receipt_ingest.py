"""receipt-ingest runs and consumes its topic, fed by a plain Kafka producer (a till that
skips the gateway): a receipt is stored once, claimable by its code; one whose totals do not
match its lines is dead-lettered with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from einvoice import events
from einvoice.bus import Outgoing, make_producer, publish
from einvoice.mongo import mongo_client
from einvoice.readmodels.receipts import receipts_collection
from einvoice.receipts import code_sha256, new_receipt_code
from einvoice.settings import Settings
from einvoice_tools.dlq import show
from tests.support import eventually

pytestmark = [pytest.mark.e2e]


def receipt(receipt_id: str, total: str) -> events.ReceiptScanned:
    lines = [
        events.ReceiptLine(
            name="Chleb żytni",
            quantity=Decimal(2),
            unit_gross=Decimal("4.99"),
            vat_rate="C",
            gross=Decimal("9.98"),
        ),
        events.ReceiptLine(
            name="Ser żółty Gouda",
            quantity=Decimal("0.535"),
            unit="kg",
            unit_gross=Decimal("34.90"),
            vat_rate="C",
            gross=Decimal("18.67"),  # 18.6715
        ),
        events.ReceiptLine(
            name="Kawa ziarnista",
            quantity=Decimal(1),
            unit_gross=Decimal("39.99"),
            vat_rate="23",
            gross=Decimal("39.99"),
        ),
    ]
    return events.ReceiptScanned(
        receipt_id=receipt_id,
        store_id="S01",
        till_id="K3",
        number="123/2026",
        issued_at=datetime.now(UTC),
        lines=lines,
        totals=[
            events.ReceiptRateTotal(vat_rate="A", gross=Decimal("39.99")),
            events.ReceiptRateTotal(vat_rate="C", gross=Decimal("28.65")),
        ],
        total_gross=Decimal(total),
        payment_method="karta",
        code=new_receipt_code(),
    )


async def test_receipts_are_stored_once_and_bad_ones_dead_lettered(
    services: bool, stack: dict[str, str]
) -> None:
    chain = f"chain-{uuid.uuid4().hex[:8]}"
    good_id, bad_id = f"r-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    good = events.envelope(
        events.RECEIPT_SCANNED, receipt(good_id, "68.64"), tenant_id=chain, correlation_id=good_id
    )
    bad = events.envelope(
        events.RECEIPT_SCANNED, receipt(bad_id, "50.00"), tenant_id=chain, correlation_id=bad_id
    )
    producer = make_producer(stack["kafka_bootstrap"], "tests")
    await producer.start()
    try:
        await publish(
            producer,
            [Outgoing.of(good, good_id), Outgoing.of(good, good_id), Outgoing.of(bad, bad_id)],
            "tests",
        )
    finally:
        await producer.stop()

    client = mongo_client(Settings(**stack))
    receipts = receipts_collection(client)
    try:

        async def stored() -> int:
            return await receipts.count_documents({"tenant_id": chain})

        assert await eventually(stored, timeout=60, what="the receipt to be stored") == 1

        async def dead() -> dict | None:
            records = await show(stack["kafka_bootstrap"], "receipt.scanned.dlq", 10_000)
            return next((r for r in records if r["key"] == bad_id), None)

        record = await eventually(dead, timeout=60, what="the bad receipt in the DLQ")
        assert "total_gross 50.00 != sum of lines 68.64" in record["reason"]
        assert await receipts.count_documents({"tenant_id": chain}) == 1
        stored = await receipts.find_one({"tenant_id": chain})
        assert stored["receipt_id"] == good_id
        assert stored["code_sha256"] == code_sha256(stored["code"])
        assert stored["invoiced"] == ["0", "0", "0"]
        assert stored["claimed_by"] is None
    finally:
        await client.close()
