"""ksef-connector against the real KSeF simulator: invoice-builder issues (FA(3) XML into a
store), the connector's handler enqueues, its dispatcher submits, KSeF numbers come back.

MongoDB and object storage are fakes here (the end-to-end tests use the real ones); KSeF is
the simulator process, spoken to over HTTP exactly as the connector speaks to KSeF.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from ksef_connector.connections import Connections
from ksef_connector.dispatch import Dispatcher
from ksef_connector.gate import Gate
from ksef_connector.jobs import Deps, SubmissionJob, on_invoice_issued
from ksef_connector.submit import Submitter

import fa3.qr
from einvoice import events
from einvoice.outbox import Outbox
from invoice_builder.handlers import Deps as BuilderDeps
from invoice_builder.handlers import on_invoice_requested
from tests.support.builders import BUYER_NIP, SELLER_NIP, TENANT, request_payload, requested_event
from tests.support.fakes import FakeInvoiceRepository, FakeStore, FakeTenants
from tests.support.ksef import Simulator, ksef_number_ok
from tests.support.mongo import FakeCollection

pytestmark = pytest.mark.timeout(120)


@dataclass
class Store(FakeStore):
    async def get(self, key: str) -> bytes:
        body: bytes = self.objects[key]["body"]
        return body


class Outcomes(list[events.Envelope]):
    async def publish(self, outgoing: list[Any]) -> None:
        self.extend(decode_value(record.value) for record in outgoing)


def decode_value(value: bytes) -> events.Envelope:
    return events.Envelope.model_validate_json(value)


@dataclass
class Connector:
    store: Store
    dispatcher: Dispatcher
    deps: Deps
    outcomes: Outcomes
    jobs: FakeCollection

    async def issue(self, number: str, *, lane: str = events.BULK) -> events.Envelope:
        """invoice-builder issues the invoice (to a business), the connector hears of it."""
        payload = request_payload(
            invoice_id="inv-" + number.replace("/", "-"),
            number=number,
            buyer=request_payload()["buyer"] | {"nip": BUYER_NIP, "name": "Firma Sp. z o.o."},
        )
        request = requested_event(payload).model_copy(
            update={"lane": lane, "event_id": "req-" + number.replace("/", "-")}
        )
        builder = BuilderDeps(
            invoices=FakeInvoiceRepository(), store=self.store, tenants=self.deps_tenants
        )
        issued = decode_value((await on_invoice_requested(request, builder))[0].value)
        assert issued.type == events.INVOICE_ISSUED, issued.payload
        await on_invoice_issued(issued, self.deps)
        return issued

    async def drain(self) -> None:
        """Dispatch until every job is settled."""
        for _ in range(400):
            if not await self.dispatcher.round():
                await asyncio.sleep(0.1)  # a job due later (a gate closed by a 429)
            await asyncio.gather(*self.dispatcher._tasks)
            if not await self.jobs.find({"state": {"$in": ["queued", "working"]}}).to_list(None):
                return
        raise AssertionError("jobs left unsettled")

    deps_tenants: FakeTenants = None  # type: ignore[assignment]


def token_for(simulator: Simulator, nip: str) -> str:
    response = httpx.post(f"{simulator.base_url}/_sim/tokens", json={"nip": nip}, timeout=10)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def connector(simulator: Simulator, *, batch_min: int = 1000, gather: float = 0.0) -> Connector:
    settings = events.KsefSettings(
        environment="test",
        context_nip=SELLER_NIP,
        token_sealed=token_for(simulator, SELLER_NIP),  # unsealed as it is, below
        start_date=date(2025, 1, 1),
    )
    tenants = FakeTenants(
        {TENANT: events.TenantConfig(tenant_id=TENANT, name="Acme", kind="utility", ksef=settings)}
    )
    store, jobs, outcomes = Store(), FakeCollection(), Outcomes()
    outbox: Outbox[SubmissionJob] = Outbox(jobs, owner="test")
    connections = Connections(
        tenants=tenants, unseal=lambda sealed: sealed, url_of=lambda _: simulator.base_url + "/v2"
    )

    async def record(sent: Any) -> None:
        for job, refs in sent:
            await jobs.update_one({"_id": job["_id"]}, {"$set": dict(refs)})

    submitter = Submitter(connections, store, record, poll=0.05, max_wait=30)
    dispatcher = Dispatcher(
        outbox,
        submitter,
        Gate(FakeCollection()),
        outcomes.publish,
        gather=gather,
        batch_min=batch_min,
    )
    deps = Deps(jobs=outbox, gather=timedelta(0))
    made = Connector(store, dispatcher, deps, outcomes, jobs)
    made.deps_tenants = tenants
    return made


async def test_business_invoices_get_ksef_numbers_a_verification_link_and_a_upo(ksef_sim) -> None:
    world = connector(ksef_sim)
    issued = [await world.issue(f"FV/KSEF/{n}") for n in range(3)]
    shopper = await world.issue("FV/KSEF/shop", lane=events.INTERACTIVE)
    await world.drain()

    assert len(world.outcomes) == 4
    by_invoice = {e.payload["invoice"]["invoice_id"]: e for e in world.outcomes}
    for cause in [*issued, shopper]:
        outcome = by_invoice[cause.payload["invoice_id"]]
        assert outcome.type == events.INVOICE_REGISTERED and outcome.lane == cause.lane
        assert outcome.event_id == events.derived_event_id(cause.event_id, outcome.type)
        registered = events.InvoiceRegistered.model_validate(outcome.payload)
        assert ksef_number_ok(registered.ksef_number), registered.ksef_number
        assert registered.ksef_number.startswith(SELLER_NIP + "-")
        assert registered.mode == "online"
        xml = world.store.objects[cause.payload["fa3"]["s3_key"]]["body"]
        assert registered.verification_url == fa3.qr.verification_url(
            SELLER_NIP, registered.invoice.issue_date, xml, "test"
        )
        upo = world.store.objects[registered.upo.s3_key]["body"]  # type: ignore[union-attr]
        assert registered.ksef_number.encode() in upo
        assert hashlib.sha256(upo).hexdigest() == registered.upo.sha256  # type: ignore[union-attr]
    numbers = {e.payload["ksef_number"] for e in world.outcomes}
    assert len(numbers) == 4


async def test_a_redelivered_issue_submits_nothing_and_a_resubmission_is_already_registered(
    ksef_sim,
) -> None:
    world = connector(ksef_sim)
    issued = await world.issue("FV/KSEF/again")
    await world.drain()
    first = events.InvoiceRegistered.model_validate(world.outcomes[0].payload)

    await on_invoice_issued(issued, world.deps)  # Kafka redelivers
    assert await world.dispatcher.round() == 0 and len(world.outcomes) == 1

    # A replica died after KSeF took the invoice and before it recorded where: the job is
    # sent again, and KSeF's duplicate answer (440) carries the first KSeF number.
    again = connector(ksef_sim)
    again.store.objects = world.store.objects
    await on_invoice_issued(issued, again.deps)
    await again.drain()
    second = again.outcomes[0]
    assert second.type == events.INVOICE_REGISTERED
    assert second.event_id == world.outcomes[0].event_id  # the same event, reported again
    assert second.payload["ksef_number"] == first.ksef_number
    acquired = datetime.fromisoformat(second.payload["acquired_at"])  # from the UPO
    assert abs(acquired - first.acquired_at) < timedelta(seconds=1)


async def test_an_xml_changed_after_issue_is_refused_before_it_reaches_ksef(ksef_sim) -> None:
    world = connector(ksef_sim)
    issued = await world.issue("FV/KSEF/changed")
    key = issued.payload["fa3"]["s3_key"]
    world.store.objects[key]["body"] += b"<!-- changed -->"
    await world.drain()
    [outcome] = world.outcomes
    assert outcome.type == events.INVOICE_KSEF_REJECTED
    assert "SHA-256 differs" in outcome.payload["reasons"][0]


@pytest.fixture(scope="module")
def strict_ksef(tmp_path_factory: pytest.TempPathFactory):
    """A simulator with the production rate limits (10 invoices a second per context)."""
    from tests.support.ksef import start_simulator

    simulator = start_simulator(
        tmp_path_factory.mktemp("ksef-strict"), KSEF_SIM_RATE_LIMITS="production"
    )
    yield simulator
    simulator.stop()


async def test_a_429_storm_closes_the_gate_and_loses_and_doubles_nothing(strict_ksef) -> None:
    world = connector(strict_ksef)
    issued = [await world.issue(f"FV/RATE/{n}", lane=events.INTERACTIVE) for n in range(25)]
    await world.drain()

    throttled = world.dispatcher.gate.gates.docs  # type: ignore[attr-defined]
    assert throttled, "KSeF never answered 429: the test proves nothing"
    assert len(world.outcomes) == 25
    assert {e.type for e in world.outcomes} == {events.INVOICE_REGISTERED}
    registered = {
        e.payload["invoice"]["invoice_id"]: e.payload["ksef_number"] for e in world.outcomes
    }
    assert set(registered) == {e.payload["invoice_id"] for e in issued}
    assert len(set(registered.values())) == 25  # one KSeF number each: nothing sent twice


async def test_a_utilitys_invoices_travel_in_one_batch_session_with_the_sessions_upo(
    ksef_sim,
) -> None:
    world = connector(ksef_sim, batch_min=5)
    issued = [await world.issue(f"FV/BATCH/{n}") for n in range(12)]
    await world.drain()

    registered = [events.InvoiceRegistered.model_validate(e.payload) for e in world.outcomes]
    assert len(registered) == 12 and {r.mode for r in registered} == {"batch"}
    assert len({r.session_reference for r in registered}) == 1  # one session for all
    assert len({r.ksef_number for r in registered}) == 12
    assert all(ksef_number_ok(r.ksef_number) for r in registered)
    by_invoice = {r.invoice.invoice_id: r for r in registered}
    for cause in issued:
        outcome = by_invoice[cause.payload["invoice_id"]]
        xml = world.store.objects[cause.payload["fa3"]["s3_key"]]["body"]
        assert outcome.verification_url == fa3.qr.verification_url(
            SELLER_NIP, outcome.invoice.issue_date, xml, "test"
        )
        assert outcome.upo is not None
        assert outcome.ksef_number.encode() in world.store.objects[outcome.upo.s3_key]["body"]

    # The same invoices in a second batch (their jobs lost, say): KSeF answers 440 for each,
    # with the first numbers, which become the outcomes again.
    again = connector(ksef_sim, batch_min=5)
    again.store.objects = world.store.objects
    for cause in issued:
        await on_invoice_issued(cause, again.deps)
    await again.drain()
    first = {r.invoice.invoice_id: r.ksef_number for r in registered}
    assert {
        e.payload["invoice"]["invoice_id"]: e.payload["ksef_number"] for e in again.outcomes
    } == first


async def test_a_utilitys_wave_gathers_before_it_travels_in_one_batch_session(ksef_sim) -> None:
    world = connector(ksef_sim, batch_min=4, gather=1.0)
    for n in range(3):
        await world.issue(f"FV/WAVE/{n}")
    assert await world.dispatcher.round() == 0  # too young: the wave is still coming
    for n in range(3, 6):
        await world.issue(f"FV/WAVE/{n}")
    await asyncio.sleep(1.1)
    await world.drain()
    registered = [events.InvoiceRegistered.model_validate(e.payload) for e in world.outcomes]
    assert len(registered) == 6 and {r.mode for r in registered} == {"batch"}
    assert len({r.session_reference for r in registered}) == 1
