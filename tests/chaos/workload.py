"""The chaos run's work: a utility tenant and a retail chain of its own, both mailing through
the SMTP gate; the utility batch published in parts (one per fault, so every fault meets
work in every stage) and a steady stream of shoppers' requests meanwhile.

Every client here behaves as a real one does while the platform is in trouble: a till or a
billing system that gets no answer, or a 5xx, sends the same thing again (receipts and
batch invoices are identified by their content, so a repeat is harmless); the portal's
request is produced again with the same invoice id."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from einvoice import events
from einvoice.bus import Outgoing, make_producer, publish
from einvoice.readmodels.receipts import find_receipt_by_code
from einvoice.tenants import hash_api_key, publish_tenant
from einvoice_tools import demo
from gateway.api.batch_events import invoice_id_for
from tests.chaos.track import Expected, Track
from tests.support import GATEWAY, shopper_request

T = TypeVar("T")


@dataclass(frozen=True)
class Tenants:
    run_id: str
    utility_id: str
    api_key: str
    chain_id: str
    pos_key: str
    accounting_email: str

    @property
    def domain(self) -> str:
        return f"{self.run_id}.chaos.test"


async def register(bootstrap: str, gate_port: int, run_id: str) -> Tenants:
    """A utility and a chain whose mailboxes are the gate (no sending limits)."""
    tenants = Tenants(
        run_id,
        f"chaos-{run_id}",
        secrets.token_urlsafe(24),
        f"chaos-chain-{run_id}",
        secrets.token_urlsafe(24),
        f"ksiegowosc@chain.{run_id}.chaos.test",
    )
    mailbox = events.Mailbox(host="127.0.0.1", port=gate_port, tls="none")
    configs = [
        events.TenantConfig(
            tenant_id=tenants.utility_id,
            name="Ciepłownia Chaos Sp. z o.o.",
            kind="utility",
            api_key_sha256=[hash_api_key(tenants.api_key)],
            mailbox=mailbox,
        ),
        events.TenantConfig(
            tenant_id=tenants.chain_id,
            name="Sklepy Chaos Sp. z o.o.",
            kind="retail",
            seller=events.Party.model_validate(demo.DEMO_CHAIN_SELLER),
            pos_keys=[events.PosKey(sha256=hash_api_key(tenants.pos_key))],
            accounting_email=tenants.accounting_email,
            mailbox=mailbox,
        ),
    ]
    producer = make_producer(bootstrap, "chaos")
    await producer.start()
    try:
        for config in configs:
            await publish_tenant(producer, config)
    finally:
        await producer.stop()
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=10) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            known = await client.get(
                "/api/v1/batches/none", headers={"Authorization": f"Bearer {tenants.api_key}"}
            )
            chain = await client.post(
                "/api/v1/receipts", json={}, headers={"Authorization": f"Bearer {tenants.pos_key}"}
            )
            if known.status_code == 404 and chain.status_code == 422:
                break
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError("the gateway did not learn the chaos tenants within 60 s")
    # Every service follows tenant.config; the mailer's copy trails the gateway's by its
    # poll interval at most.
    await asyncio.sleep(3)
    return tenants


async def again(
    call: Callable[[], Awaitable[T]], what: str, deadline: float, pause: float = 1.0
) -> T:
    """`call` until it succeeds, as a client does while the platform recovers."""
    while True:
        try:
            return await call()
        except (httpx.TransportError, KafkaError, PyMongoError, OSError, Retry) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: still failing at the deadline: {exc!r}") from exc
            await asyncio.sleep(pause)


class Retry(Exception):
    """An answer worth asking again for (a 5xx, a 503 while a dependency is down)."""


def utility_part(tenants: Tenants, index: int, size: int, seed: int) -> list[dict[str, Any]]:
    return demo.demo_invoices(
        size,
        seed=seed * 100 + index,
        email_domain=f"p{index:02d}.{tenants.domain}",
        series=f"CHAOS/{tenants.run_id}/{index:02d}",
    )


def batch_id(tenants: Tenants, index: int) -> str:
    return f"chaos-{tenants.run_id}-{index:02d}"


async def publish_part(
    tenants: Tenants, index: int, invoices: list[dict[str, Any]], track: Track, fault: int
) -> list[str]:
    """One part of the batch through the gateway, sent again until it is accepted."""
    ids = []
    for invoice in invoices:
        invoice_id = invoice_id_for(tenants.utility_id, invoice["number"])
        ids.append(invoice_id)
        track.expected[invoice_id] = Expected(
            invoice_id,
            tenants.utility_id,
            frozenset({invoice["buyer"]["email"]}),
            fault,
            "utility",
            time.monotonic(),
        )

    async def post() -> None:
        async with httpx.AsyncClient(base_url=GATEWAY, timeout=60) as client:
            response = await client.post(
                "/api/v1/batches",
                json={"batch_id": batch_id(tenants, index), "invoices": invoices},
                headers={"Authorization": f"Bearer {tenants.api_key}"},
            )
        if response.status_code >= 500:
            raise Retry(f"{response.status_code} {response.text[:200]}")
        if response.status_code != 202:
            raise RuntimeError(
                f"batch part {index} refused: {response.status_code} {response.text}"
            )

    await again(post, f"publishing part {index}", time.monotonic() + 300)
    return ids


@dataclass
class Shoppers:
    """Retail requests at `rate` per second until stopped; each is exposed to the fault under
    way when it starts (`fault()`)."""

    tenants: Tenants
    mongo: AsyncMongoClient
    producer: AIOKafkaProducer
    track: Track
    rate: float
    fault: Callable[[], int]
    seed: int = 1
    requested: int = 0
    errors: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then the shoppers under way get up to 300 s to finish (faults
        heal within minutes). Cancelled, it cancels them at once."""
        rng = random.Random(self.seed)
        running: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        try:
            for tick in itertools.count():
                delay = max(0.0, start + tick / self.rate - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                task = asyncio.create_task(self.one(rng, self.fault()))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.wait(set(running), timeout=300)
        finally:
            for task in running:
                task.cancel()

    async def one(self, rng: random.Random, fault: int) -> None:
        try:
            await self._request(rng, fault)
        except Exception as exc:  # noqa: BLE001 - reported in the table, not raised
            self.errors.append(f"{type(exc).__name__}: {exc}")

    async def _request(self, rng: random.Random, fault: int) -> None:
        deadline = time.monotonic() + 300
        receipt = demo.demo_receipt(rng, lines=3, number=f"{uuid.uuid4().int % 10**8:08d}")
        auth = {"Authorization": f"Bearer {self.tenants.pos_key}"}

        async def push() -> str:
            async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
                response = await client.post("/api/v1/receipts", json=receipt, headers=auth)
            if response.status_code >= 500:
                raise Retry(f"{response.status_code} {response.text[:200]}")
            if response.status_code != 202:
                raise RuntimeError(f"receipt refused: {response.status_code} {response.text}")
            return response.json()["receipts"][0]["receipt_id"]

        receipt_id = await again(push, "pushing a receipt", deadline)

        async def stored() -> None:
            if not await find_receipt_by_code(self.mongo, self.tenants.chain_id, receipt["code"]):
                raise Retry("not stored yet")

        await again(stored, f"receipt {receipt_id} to be stored", deadline, pause=0.5)
        email = f"kupujacy-{uuid.uuid4().hex[:10]}@{self.tenants.domain}"
        picks = [(i, receipt["lines"][i]["quantity"]) for i in (0, 1)]
        envelope = shopper_request(self.tenants.chain_id, receipt_id, email, picks)
        invoice_id = envelope.payload["invoice_id"]
        self.track.expected[invoice_id] = Expected(
            invoice_id,
            self.tenants.chain_id,
            frozenset({email, self.tenants.accounting_email}),
            fault,
            "retail",
            time.monotonic(),
        )
        self.requested += 1

        async def produce() -> None:
            await asyncio.wait_for(
                publish(self.producer, [Outgoing.of(envelope, receipt_id)], "chaos"), 60
            )

        try:
            await again(produce, "producing a shopper's request", deadline)
        except BaseException:
            del self.track.expected[invoice_id]  # never asked for: not owed
            self.requested -= 1
            raise
