"""Retail, through the services: a till pushes a receipt, a shopper's request (as the portal
produces it) reserves some lines, invoice-builder numbers the invoice in the chain's series
with VAT from gross prices, the PDF says FP and names the receipt, and both the shopper and
the chain's accounting get the link. Many simultaneous requests for one line never invoice
it beyond its quantity, and the series has no gap and no duplicate."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from pypdf import PdfReader

from einvoice.mongo import mongo_client
from einvoice.readmodels import tracking
from einvoice.settings import Settings
from tests.support import eventually, mails_to, shopper_request
from tests.support.builders import LINES
from tests.support.retail import delivery, pushed_receipt, send

pytestmark = [pytest.mark.e2e]

LINK = re.compile(r"http://127\.0\.0\.1:8000/i/[A-Za-z0-9_-]{43,}")


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
    assert tracking.stage_of(done) == "mailed", done
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
    issued = [o for o in outcomes if tracking.stage_of(o) == "mailed"]
    refused = [o for o in outcomes if tracking.stage_of(o) == "failed"]
    print(
        f"\n24 simultaneous requests for a line of 3: {len(issued)} issued, {len(refused)} refused"
    )
    assert len(issued) == 3 and len(refused) == 21
    assert all("0 left to invoice" in " ".join(o["failure_reasons"]) for o in refused)

    client = mongo_client(Settings(**stack))
    try:
        rows = await tracking.chain_invoices(client, chain_.chain_id)
    finally:
        await client.close()
    numbers = sorted(r["number"] for r in rows if r.get("number"))
    sequences = [int(n.rsplit("/", 1)[1]) for n in numbers]
    print(f"chain series so far: {numbers[0]} .. {numbers[-1]} ({len(numbers)} numbers)")
    assert sequences == list(range(1, len(sequences) + 1)), "no gap, no duplicate"


async def _count(domain: str, count: int) -> list | None:
    found = await mails_to(domain)
    return found if len(found) >= count else None
