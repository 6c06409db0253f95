"""Retail through the running stack: receipts with given lines pushed by a till and waited
for until receipt-ingest stored them, shoppers' requests published as the portal does, and
an invoice's delivery as read-tracker records it."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from einvoice import events
from einvoice.bus import Outgoing, make_producer, publish
from einvoice.mongo import mongo_client
from einvoice.readmodels import tracking
from einvoice.readmodels.receipts import find_receipt_by_code
from einvoice.settings import Settings
from einvoice_tools import demo
from tests.support import eventually, local_settings
from tests.support.parties import Chain, push


def _receipt(
    lines: list[dict[str, Any]], issued_at: datetime | None, buyer_nip: str | None = None
) -> dict[str, Any]:
    receipt = demo.demo_receipt(
        random.Random(uuid.uuid4().int),
        lines=len(lines),
        issued_at=issued_at or datetime.now(UTC),
        buyer_nip=buyer_nip,
    )
    receipt["lines"] = lines
    totals: dict[str, float] = {}
    for line in lines:
        rate = events.PTU_RATES.get(line["vat_rate"], line["vat_rate"])
        totals[rate] = totals.get(rate, 0) + float(line["gross"])
    receipt["totals"] = [{"vat_rate": r, "gross": f"{g:.2f}"} for r, g in totals.items()]
    receipt["total_gross"] = f"{sum(float(line['gross']) for line in lines):.2f}"
    return receipt


async def pushed_receipts(
    chain: Chain,
    lines: list[dict[str, Any]],
    count: int,
    issued_at: datetime | None = None,
    buyer_nip: str | None = None,
) -> list[dict[str, Any]]:
    """`count` receipts with these lines, pushed by the till, once receipt-ingest stored
    every one (shoppers find a receipt only then; requests come after that)."""

    async def one() -> dict[str, Any]:
        receipt = _receipt(lines, issued_at, buyer_nip)
        response = await push(chain.chain_key, receipt)
        assert response.status_code == 202, response.text
        return receipt | response.json()["receipts"][0]

    pushed = list(await asyncio.gather(*(one() for _ in range(count))))
    client = mongo_client(Settings(**local_settings()))
    try:

        async def stored() -> list | None:
            found = [await find_receipt_by_code(client, chain.chain_id, p["code"]) for p in pushed]
            missing = sum(f is None for f in found)
            return None if missing else found

        await eventually(
            stored, timeout=60 + count, what=f"receipt-ingest to store {count} receipt(s)"
        )
    finally:
        await client.close()
    return pushed


async def pushed_receipt(
    chain: Chain,
    lines: list[dict[str, Any]],
    issued_at: datetime | None = None,
    buyer_nip: str | None = None,
) -> dict[str, Any]:
    [pushed] = await pushed_receipts(chain, lines, 1, issued_at, buyer_nip)
    return pushed


async def send(bootstrap: str, envelopes: list[events.Envelope]) -> None:
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish(
            producer, [Outgoing.of(e, e.payload["receipt_id"]) for e in envelopes], "tests"
        )
    finally:
        await producer.stop()


async def delivery(
    stack: dict[str, str], chain_id: str, invoice_id: str, stages: set[str]
) -> dict | None:
    client = mongo_client(Settings(**stack))
    try:
        found = await tracking.delivery(client, chain_id, invoice_id)
    finally:
        await client.close()
    return found if found and tracking.stage_of(found) in stages else None
