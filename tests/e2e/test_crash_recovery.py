"""Kill pdf-renderer and mailer (SIGKILL, mid-batch), start them again: every invoice still
ends mailed, nothing fails, nothing is lost.

SMTP cannot be made idempotent: a message the server accepted just before the kill, whose
send-log entry was not written yet, goes out again on redelivery. Such a repeat is the very
same message (the Message-ID is derived from invoice and recipient, so mail clients collapse
it), and there can be at most as many as the mailer had in flight."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from typing import Any

import httpx
import pytest

from einvoice.bus import LoopConfig
from einvoice_tools.demo import demo_invoices
from tests.support import (
    GATEWAY,
    LAUNCHER_SCRIPT,
    PYTHON,
    ROOT,
    eventually,
    kill_service_hard,
    mails_to,
)
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]

VICTIMS = ("pdf-renderer", "mailer")
COUNT = 60
IN_FLIGHT = LoopConfig("", "", []).concurrency


async def test_killed_services_resume_without_losing_or_doubling_anything(
    tenant: Tenant, services_started_here: bool
) -> None:
    if not services_started_here:
        pytest.skip(
            "the services were already running (make run?); not killing what "
            "this session did not start"
        )
    domain = f"crash.{tenant.email_domain}"
    invoices = demo_invoices(COUNT, seed=61, email_domain=domain, series="CRASH/2026/11")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202
        batch_id = accepted.json()["batch_id"]

        async def status() -> dict[str, Any]:
            return (await client.get(f"/api/v1/batches/{batch_id}")).json()

        async def some_mailed() -> dict | None:
            response = await client.get(f"/api/v1/batches/{batch_id}")
            summary = response.json() if response.status_code == 200 else None
            return summary if summary and summary["counts"]["mailed"] >= 2 else None

        before = await eventually(some_mailed, timeout=120, interval=0.05, what="the first e-mails")
        for name in VICTIMS:
            kill_service_hard(name)
        assert before["counts"]["rendered"] < COUNT, "killed mid-batch, not after it"
        await asyncio.to_thread(
            subprocess.run,
            [str(PYTHON), str(LAUNCHER_SCRIPT), "services"],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )

        async def complete() -> dict | None:
            summary = await status()
            return summary if summary.get("complete") else None

        summary = await eventually(
            complete, timeout=300, interval=1, what="the batch to complete after the restart"
        )
    assert summary["counts"]["mailed"] == COUNT
    assert summary["counts"]["failed"] == 0

    mails = await eventually(lambda: _at_least(domain, COUNT), timeout=60, what="the e-mails")
    per_recipient = Counter(m["to"][0]["address"] for m in mails)
    assert set(per_recipient) == {i["buyer"]["email"] for i in invoices}, "nothing lost"
    message_ids: dict[str, set[str]] = {}
    for mail in mails:
        message_ids.setdefault(mail["to"][0]["address"], set()).add(mail["headers"]["message-id"])
    assert all(len(ids) == 1 for ids in message_ids.values()), "a repeat is the same message"
    repeats = len(mails) - COUNT
    print(
        f"\ncrash recovery: {COUNT} invoices, killed at {before['counts']}, "
        f"{len(mails)} e-mails, {repeats} repeated"
    )
    assert repeats <= IN_FLIGHT, f"{repeats} repeated e-mails"


async def _at_least(domain: str, count: int) -> list | None:
    found = await mails_to(domain)
    return found if len(found) >= count else None


async def test_retail_numbers_stay_gapless_when_the_builder_is_killed(
    chain, stack: dict[str, str], services_started_here: bool
) -> None:
    """30 shoppers' requests (one receipt each); invoice-builder is killed with SIGKILL while
    it numbers them and started again: every invoice gets exactly one number, and the
    chain's series has no gap and no duplicate."""
    if not services_started_here:
        pytest.skip(
            "the services were already running (make run?); not killing what "
            "this session did not start"
        )
    from einvoice.mongo import mongo_client
    from einvoice.readmodels import tracking
    from einvoice.settings import Settings
    from tests.support import shopper_request
    from tests.support.builders import LINES
    from tests.support.retail import delivery, pushed_receipts, send

    receipts = await pushed_receipts(chain, LINES, 30)
    requests = [
        shopper_request(chain.chain_id, r["receipt_id"], f"k{i}@{chain.mail_domain}", [(0, "1")])
        for i, r in enumerate(receipts)
    ]
    await send(stack["kafka_bootstrap"], requests)

    async def some_issued() -> list | None:
        found = await asyncio.gather(
            *(
                delivery(
                    stack, chain.chain_id, r.payload["invoice_id"], {"issued", "rendered", "mailed"}
                )
                for r in requests
            )
        )
        done = [f for f in found if f]
        return done if done else None

    before = await eventually(some_issued, timeout=120, interval=0.05, what="the first numbers")
    kill_service_hard("invoice-builder")
    await asyncio.to_thread(
        subprocess.run,
        [str(PYTHON), str(LAUNCHER_SCRIPT), "services"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )

    async def all_mailed() -> list | None:
        found = await asyncio.gather(
            *(
                delivery(stack, chain.chain_id, r.payload["invoice_id"], {"mailed", "failed"})
                for r in requests
            )
        )
        return found if all(found) else None

    outcomes = await eventually(all_mailed, timeout=300, interval=1, what="all 30 invoices")
    refused = [o.get("failure_reasons") for o in outcomes if tracking.stage_of(o) != "mailed"]
    assert refused == [], refused
    client = mongo_client(Settings(**stack))
    try:
        rows = await tracking.chain_invoices(client, chain.chain_id)
    finally:
        await client.close()
    numbers = sorted(r["number"] for r in rows)
    print(
        f"\nbuilder killed after {len(before)} of 30 retail invoices were numbered; "
        f"series {numbers[0]} .. {numbers[-1]}, {len(numbers)} numbers"
    )
    assert len(numbers) == 30
    assert [int(n.rsplit("/", 1)[1]) for n in numbers] == list(range(1, 31))
