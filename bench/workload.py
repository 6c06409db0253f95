"""The load: a utility batch through the gateway and, at the same time, a steady stream of
retail invoice requests.

- Utility: N demo invoices, published with `POST /api/v1/batches` in chunks (a batch holds
  at most einvoice.batches.MAX_BATCH), each chunk a batch of its own, in a series new to
  this run so nothing is deduplicated against an earlier run.
- Retail: every 1/rate seconds a till pushes a receipt (`POST /api/v1/receipts`, the demo
  chain's POS key); once receipt-ingest has stored it, the shopper's
  `retail.invoice.requested` is produced straight to Kafka, as the portal does. Its PDF is
  downloadable when `pdf.rendered` says so (the PDF is in S3 before the event is produced).
- bench.tally follows what becomes of both, from the pipeline's output topics.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.tally import Tally, follow, open_tail
from einvoice.bus import Outgoing, make_producer, publish
from einvoice.readmodels.receipts import find_receipt_by_code
from einvoice_tools import demo
from gateway.api.batch_events import MAX_BATCH, invoice_id_for
from tests.support import shopper_request

EMAIL_DOMAIN = "bench.example.pl"


@dataclass(frozen=True)
class Load:
    invoices: int
    chunk: int = 1000
    retail_rate: float = 1.0  # requests per second; 0 turns the stream off
    # Shares of business buyers (a NIP: their invoices go to KSeF when the demo tenant and
    # chain are connected, as `make up` seeds them) among utility invoices and shoppers.
    business_share: float = 0.5
    retail_company_share: float = 0.5
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def batch_ids(self) -> list[str]:
        chunks = -(-self.invoices // self.chunk)
        return [f"bench-{self.run_id}-{i:03d}" for i in range(chunks)]


async def publish_utility(client: httpx.AsyncClient, load: Load, tally: Tally) -> None:
    """Every chunk through the gateway, one after the other, as fast as it accepts them."""
    if load.chunk > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} invoices")
    remaining = load.invoices
    for index, batch_id in enumerate(load.batch_ids):
        size = min(load.chunk, remaining)
        invoices = demo.demo_invoices(
            size,
            seed=index,
            series=f"BENCH/{load.run_id}/{index:03d}",
            email_domain=EMAIL_DOMAIN,
        )
        with_businesses(invoices, load.business_share, random.Random(index))
        ids = {invoice_id_for(demo.DEMO_TENANT, i["number"]) for i in invoices}
        tally.batches[batch_id] = ids
        tally.utility_ids |= ids
        tally.first_publish_at = tally.first_publish_at or time.time()
        response = await client.post(
            "/api/v1/batches",
            json={"batch_id": batch_id, "invoices": invoices},
            headers={"Authorization": f"Bearer {demo.DEMO_API_KEY}"},
        )
        if response.status_code != 202:
            raise RuntimeError(
                f"batch {batch_id} refused ({response.status_code}): {response.text}"
            )
        tally.published += size
        remaining -= size
    tally.all_published_at = time.time()


def with_businesses(invoices: list[dict], share: float, rng: random.Random) -> None:
    """Give `share` of the invoices a business buyer (a valid NIP), spread evenly."""
    for index, invoice in enumerate(invoices):
        business = math.floor((index + 1) * share) > math.floor(index * share)
        if business:
            invoice["buyer"]["nip"] = invoice["buyer"].get("nip") or demo.valid_nip(rng)
        else:
            invoice["buyer"].pop("nip", None)


async def chain_known(client: httpx.AsyncClient, within: float = 60) -> None:
    """Wait until the gateway knows the demo chain's POS key (an empty receipt gets 422)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = await client.post("/api/v1/receipts", json={}, headers=_pos_auth())
        if response.status_code == 422:
            return
        await asyncio.sleep(1)
    raise RuntimeError(
        f"the gateway does not know the demo chain {demo.DEMO_CHAIN} "
        "(launcher.py up runs `einvoice seed-demo-chain`)"
    )


def _pos_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.DEMO_CHAIN_POS_KEY}"}


async def retail_request(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient,
    producer: AIOKafkaProducer,
    tally: Tally,
    rng: random.Random,
    company_share: float = 0.0,
) -> None:
    """One shopper: a till pushes the receipt; once it is stored, the shopper asks for an
    invoice for its first two lines (a company, with the NIP on the receipt, in
    `company_share` of the cases: its invoice goes to KSeF through an online session)."""
    buyer_nip = demo.valid_nip(rng) if rng.random() < company_share else None
    receipt = demo.demo_receipt(rng, lines=4, buyer_nip=buyer_nip)
    response = await client.post("/api/v1/receipts", json=receipt, headers=_pos_auth())
    if response.status_code != 202:
        raise RuntimeError(f"receipt refused ({response.status_code}): {response.text[:200]}")
    receipt_id = response.json()["receipts"][0]["receipt_id"]
    deadline = time.monotonic() + 120
    while not await find_receipt_by_code(mongo, demo.DEMO_CHAIN, receipt["code"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"receipt-ingest did not store receipt {receipt_id} in 120 s")
        await asyncio.sleep(0.5)
    email = f"shopper-{uuid.uuid4().hex[:8]}@{EMAIL_DOMAIN}"
    picks = [(i, receipt["lines"][i]["quantity"]) for i in (0, 1)]
    envelope = shopper_request(demo.DEMO_CHAIN, receipt_id, email, picks)
    if buyer_nip:
        buyer = envelope.payload["buyer"] | {"name": "Firma Kupująca Sp. z o.o.", "nip": buyer_nip}
        payload = envelope.payload | {"buyer_kind": "company", "buyer": buyer}
        envelope = envelope.model_copy(update={"payload": payload})
    invoice_id = envelope.payload["invoice_id"]
    tally.retail_requested[invoice_id] = envelope.occurred_at.timestamp()
    try:
        await publish(producer, [Outgoing.of(envelope, receipt_id)], "bench")
    except BaseException:  # not sent (or not known to be): not a request to wait for
        del tally.retail_requested[invoice_id]
        raise


async def retail_stream(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient,
    producer: AIOKafkaProducer,
    tally: Tally,
    rate: float,
    company_share: float = 0.0,
) -> None:
    """Start one shopper every 1/rate seconds, on a fixed schedule (a slow one does not delay
    the next), until cancelled; then give the shoppers under way 30 s to finish."""
    rng = random.Random(1)
    running: set[asyncio.Task[None]] = set()
    start = time.monotonic()

    def finished(task: asyncio.Task[None]) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            tally.retail_errors.append(str(task.exception()))

    try:
        for tick in itertools.count():
            await asyncio.sleep(max(0.0, start + tick / rate - time.monotonic()))
            shopper = retail_request(client, mongo, producer, tally, rng, company_share)
            task = asyncio.create_task(shopper)
            running.add(task)
            task.add_done_callback(finished)
    finally:
        if running:
            await asyncio.wait(set(running), timeout=30)
        for task in list(running):
            task.cancel()


@dataclass(frozen=True)
class Clients:
    http: httpx.AsyncClient
    mongo: AsyncMongoClient
    bootstrap: str


@dataclass(frozen=True)
class Limits:
    deadline: float  # time.monotonic() at which the run gives up ("timeout")
    stall_after: float  # seconds without any progress before it gives up ("stalled")
    retail_grace: float  # seconds to wait for the last retail PDFs once the batch is done


Progress = Callable[[Tally], None]


async def run(
    load: Load,
    clients: Clients,
    tally: Tally,
    limits: Limits,
    progress: Progress,
    stop: asyncio.Event,
) -> str:
    """Drive the load until every utility invoice is mailed or failed and the retail requests
    made meanwhile have their PDFs, filling `tally` as it goes. Returns the outcome:
    "complete", "timeout", "stalled" or "stopped" (`stop` was set, e.g. by Ctrl-C)."""
    if load.retail_rate > 0:
        await chain_known(clients.http)
    tail = await open_tail(clients.bootstrap)
    producer = make_producer(clients.bootstrap, "bench")
    await producer.start()
    tasks = [
        asyncio.create_task(follow(tail, tally), name="event tail"),
        asyncio.create_task(publish_utility(clients.http, load, tally), name="utility publisher"),
    ]
    retail = None
    if load.retail_rate > 0:
        stream = retail_stream(
            clients.http,
            clients.mongo,
            producer,
            tally,
            load.retail_rate,
            load.retail_company_share,
        )
        retail = asyncio.create_task(stream, name="retail stream")
    try:
        outcome = await _wait(
            lambda: tally.done >= load.invoices,
            tally,
            tasks,
            limits.deadline,
            limits,
            progress,
            stop,
        )
        if retail is not None:
            retail.cancel()  # the stream runs while the batch does
            await asyncio.gather(retail, return_exceptions=True)
        if outcome == "complete" and tally.retail_pending:
            grace = min(limits.deadline, time.monotonic() + limits.retail_grace)
            outcome = await _wait(
                lambda: tally.retail_pending == 0, tally, tasks, grace, limits, progress, stop
            )
            if outcome == "timeout" and time.monotonic() < limits.deadline:
                outcome = "complete"  # the report lists the retail requests still without a PDF
        return outcome
    finally:
        for task in [*tasks, *([retail] if retail else [])]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await tail.stop()


async def _wait(
    finished: Callable[[], bool],
    tally: Tally,
    tasks: list[asyncio.Task[None]],
    deadline: float,
    limits: Limits,
    progress: Progress,
    stop: asyncio.Event,
) -> str:
    last_change, last_state = time.monotonic(), None
    while not finished():
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"{task.get_name()} failed: {task.exception()}")
        now = time.monotonic()
        state = (tally.published, len(tally.rendered), tally.done, len(tally.retail_rendered))
        if state != last_state:
            last_change, last_state = now, state
        if stop.is_set():
            return "stopped"
        if now > deadline:
            return "timeout"
        if now - last_change > limits.stall_after:
            return "stalled"
        progress(tally)
        await asyncio.sleep(0.25)
    progress(tally)
    return "complete"
