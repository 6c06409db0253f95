"""Retail, through the services: a till pushes a receipt, a shopper's request (as the portal
produces it) reserves some lines, invoice-builder numbers the invoice in the chain's series
with VAT from gross prices, the PDF says FP and names the receipt, and both the shopper and
the chain's accounting get the link. Many simultaneous requests for one line never invoice
it beyond its quantity, and the series has no gap and no duplicate."""

from __future__ import annotations

import asyncio
import io
import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from einvoice import demo, events, readmodels
from einvoice.bus import Outgoing, make_producer, publish
from einvoice.mongo import mongo_client
from einvoice.receipts import find_receipt_by_code
from einvoice.settings import Settings
from tests.conftest import Chain, push
from tests.support import eventually, local_settings, mails_to, shopper_request

pytestmark = [pytest.mark.e2e]

LINK = re.compile(r"http://127\.0\.0\.1:8000/i/[A-Za-z0-9_-]{43,}")


def _receipt(lines: list[dict[str, Any]], issued_at: datetime | None) -> dict[str, Any]:
    receipt = demo.demo_receipt(
        random.Random(uuid.uuid4().int), lines=len(lines), issued_at=issued_at or datetime.now(UTC)
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
    chain: Chain, lines: list[dict[str, Any]], count: int, issued_at: datetime | None = None
) -> list[dict[str, Any]]:
    """`count` receipts with these lines, pushed by the till, once receipt-ingest stored
    every one (shoppers find a receipt only then; requests come after that)."""

    async def one() -> dict[str, Any]:
        receipt = _receipt(lines, issued_at)
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
    chain: Chain, lines: list[dict[str, Any]], issued_at: datetime | None = None
) -> dict[str, Any]:
    [pushed] = await pushed_receipts(chain, lines, 1, issued_at)
    return pushed


LINES = [
    {
        "name": "Chleb żytni",
        "quantity": "2",
        "unit_gross": "4.99",
        "vat_rate": "C",
        "gross": "9.98",
    },
    {
        "name": "Ser gouda",
        "quantity": "0.535",
        "unit": "kg",
        "unit_gross": "39.90",
        "vat_rate": "C",
        "gross": "21.35",
    },
    {
        "name": "Kawa ziarnista",
        "quantity": "1",
        "unit_gross": "29.99",
        "vat_rate": "A",
        "gross": "29.99",
    },
    {
        "name": "Płyn do naczyń",
        "quantity": "3",
        "unit_gross": "6.49",
        "vat_rate": "A",
        "gross": "19.47",
    },
    {
        "name": "Jabłka",
        "quantity": "1.25",
        "unit": "kg",
        "unit_gross": "3.99",
        "vat_rate": "C",
        "gross": "4.99",
    },
]


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
        found = await readmodels.delivery(client, chain_id, invoice_id)
    finally:
        await client.close()
    return found if found and readmodels.stage_of(found) in stages else None


async def test_a_shoppers_invoice_for_two_of_five_lines(chain, stack) -> None:
    chain_, domain = chain, chain.mail_domain
    receipt = await pushed_receipt(chain_, LINES)
    email = f"klientka@{domain}"
    request = shopper_request(
        chain_.chain_id, receipt["receipt_id"], email, [(1, "0.535"), (3, "2")]
    )
    await send(stack["kafka_bootstrap"], [request])
    invoice_id = request.payload["invoice_id"]
    done = await eventually(
        lambda: delivery(stack, chain_.chain_id, invoice_id, {"mailed", "failed"}),
        timeout=90,
        what="the retail invoice to be mailed",
    )
    assert readmodels.stage_of(done) == "mailed", done
    assert re.fullmatch(r"FV/\d{4}/\d{2}/\d{6}", done["number"])
    mails = await eventually(lambda: _count(domain, 2), timeout=30, what="two e-mails")
    assert sorted(m["to"][0]["address"] for m in mails) == sorted([email, f"ksiegowosc@{domain}"])

    link = LINK.search(next(m for m in mails if m["to"][0]["address"] == email)["text"])
    async with httpx.AsyncClient() as customer:
        pdf = await customer.post(f"{link.group(0)}/download")
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    assert done["number"] in text
    assert f"FP: faktura do paragonu nr {receipt['number']}" in text
    assert "Ser gouda" in text and "Płyn do naczyń" in text
    assert "Chleb żytni" not in text and "Kawa ziarnista" not in text
    # Gross basis, VAT per rate: 5%: 21.35 -> VAT 1.02 (21.35*5/105=1.0167), net 20.33;
    # 23%: 2 x 6.49 = 12.98 -> VAT 2.43 (12.98*23/123=2.4272), net 10.55. Total 34.33.
    assert "Do zapłaty: 34,33 PLN" in text
    assert "20,33" in text and "1,02" in text and "10,55" in text and "2,43" in text


async def test_simultaneous_requests_never_over_invoice_a_line(chain, stack) -> None:
    chain_, domain = chain, chain.mail_domain
    receipt = await pushed_receipt(chain_, LINES)
    # Line 4 has 3 pieces: 24 shoppers' requests for 1 piece each arrive at once.
    requests = [
        shopper_request(chain_.chain_id, receipt["receipt_id"], f"s{i}@{domain}", [(3, "1")])
        for i in range(24)
    ]
    await send(stack["kafka_bootstrap"], requests)

    async def all_decided() -> list[dict] | None:
        found = await asyncio.gather(
            *(
                delivery(stack, chain_.chain_id, r.payload["invoice_id"], {"mailed", "failed"})
                for r in requests
            )
        )
        return found if all(found) else None

    outcomes = await eventually(
        all_decided, timeout=180, interval=1, what="every request to be issued or refused"
    )
    issued = [o for o in outcomes if readmodels.stage_of(o) == "mailed"]
    refused = [o for o in outcomes if readmodels.stage_of(o) == "failed"]
    print(
        f"\n24 simultaneous requests for a line of 3: {len(issued)} issued, {len(refused)} refused"
    )
    assert len(issued) == 3 and len(refused) == 21
    assert all("0 left to invoice" in " ".join(o["failure_reasons"]) for o in refused)

    client = mongo_client(Settings(**stack))
    try:
        rows = await readmodels.chain_invoices(client, chain_.chain_id)
    finally:
        await client.close()
    numbers = sorted(r["number"] for r in rows if r.get("number"))
    sequences = [int(n.rsplit("/", 1)[1]) for n in numbers]
    print(f"chain series so far: {numbers[0]} .. {numbers[-1]} ({len(numbers)} numbers)")
    assert sequences == list(range(1, len(sequences) + 1)), "no gap, no duplicate"


async def _count(domain: str, count: int) -> list | None:
    found = await mails_to(domain)
    return found if len(found) >= count else None
