"""read-tracker and its read models with KSeF: the FA(3) key and the KSeF status at issue,
the KSeF number and UPO at registration, a KSeF refusal as a failure of stage `ksef`, in
whatever order the events arrive; the batch's KSeF counts, billing's feed and webhooks."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import UpdateOne

from einvoice import events
from einvoice.bus import dlq_record, encode
from einvoice.outbox import Outbox
from einvoice.readmodels import billing_feed, tracking
from einvoice.readmodels.tracking import stage_of, summarise_batch
from einvoice.worker import _with_lanes, split_lanes
from read_tracker import handlers as h
from read_tracker.adapters import MongoDeliveries
from read_tracker.topics import TOPICS
from read_tracker.webhooks import WebhookJobs
from tests.support.builders import (
    BATCH,
    TENANT,
    FakeRecord,
    at,
    event_of,
    issued_event,
    issued_invoice,
    rendered_payload,
    tenant_config,
)
from tests.support.clock import Clock
from tests.support.fakes import FakeDeliveries, FakeReverseDns, FakeTenants
from tests.support.mongo import FakeClient, FakeCollection

T = datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
KSEF_NUMBER = "5260250274-20250131-0123456789AB-7C"
FA3_KEY = f"{TENANT}/2025/01/inv-1.fa3.xml"
UPO_KEY = f"{TENANT}/2025/01/inv-1.upo.xml"


def minutes(n: float) -> datetime:
    return T + timedelta(minutes=n)


def fa3(key: str = FA3_KEY, sha: str = "f3" * 32) -> events.Fa3Document:
    return events.Fa3Document(s3_bucket="invoices", s3_key=key, sha256=sha, size_bytes=2048)


def ksef_invoice(*, ksef: bool = True) -> events.InvoiceIssued:
    target = events.KsefTarget(environment="test", context_nip="5260250274") if ksef else None
    return issued_invoice().model_copy(update={"fa3": fa3(), "ksef": target})


def issued(when: datetime, *, ksef: bool = True) -> events.Envelope:
    return at(issued_event(ksef_invoice(ksef=ksef)), when)


def registered(when: datetime, *, upo: bool = True) -> events.Envelope:
    payload = events.InvoiceRegistered(
        invoice=ksef_invoice(),
        ksef_number=KSEF_NUMBER,
        acquired_at=minutes(1.5),
        mode="online",
        session_reference="20250201-SO-2FDE8A1C0C-31A46AEA8C-5A",
        invoice_reference="20250201-EE-3C2A8A5A1C-4EC8D2B1E0-1B",
        verification_url="https://ksef-test.mf.gov.pl/client-app/invoice/5260250274/31-01-2025/abc",
        upo=fa3(UPO_KEY, "0a" * 32) if upo else None,
    )
    return event_of(events.INVOICE_REGISTERED, payload, event_id="reg-1", when=when)


def ksef_rejected(when: datetime) -> events.Envelope:
    payload = events.InvoiceKsefRejected(
        invoice_id="inv-1",
        batch_id=BATCH,
        number="FV/2025/01/0001",
        code=450,
        reasons=["Błąd weryfikacji semantyki dokumentu faktury"],
    )
    return event_of(events.INVOICE_KSEF_REJECTED, payload, event_id="krj-1", when=when)


def rendered(when: datetime, ksef_number: str | None = KSEF_NUMBER) -> events.Envelope:
    payload = rendered_payload(ksef_number=ksef_number)
    return event_of(events.PDF_RENDERED, payload, event_id="pdf-1", when=when)


@pytest.fixture
def deliveries() -> FakeDeliveries:
    return FakeDeliveries()


@pytest.fixture
def deps(deliveries: FakeDeliveries) -> h.Deps:
    return h.Deps(deliveries=deliveries, reverse_dns=FakeReverseDns())


def doc(deliveries: FakeDeliveries) -> dict[str, Any]:
    return deliveries.docs[(TENANT, "inv-1")]


HANDLER_OF = {
    events.INVOICE_ISSUED: h.on_issued,
    events.INVOICE_REGISTERED: h.on_registered,
    events.INVOICE_KSEF_REJECTED: h.on_ksef_rejected,
    events.PDF_RENDERED: h.on_rendered,
}


async def handle(deps: h.Deps, *envelopes: events.Envelope) -> None:
    for envelope in envelopes:
        await HANDLER_OF[envelope.type](envelope, deps)


# --- each event ---------------------------------------------------------------------------


async def test_a_ksef_bound_invoice_waits_with_its_fa3_key(deps, deliveries) -> None:
    await handle(deps, issued(T))
    d = doc(deliveries)
    assert d["ksef_status"] == "waiting" and d["ksef_environment"] == "test"
    assert (d["fa3_key"], d["fa3_sha256"]) == (FA3_KEY, "f3" * 32)
    assert d["issued_at"] == T and stage_of(d) == "issued"


async def test_an_invoice_outside_ksef_is_marked_outside(deps, deliveries) -> None:
    await handle(deps, issued(T, ksef=False))
    d = doc(deliveries)
    assert d["ksef_status"] == "outside" and "ksef_environment" not in d
    assert d["fa3_key"] == FA3_KEY


async def test_an_invoice_issued_without_fa3_has_no_fa3_key(deps, deliveries) -> None:
    await h.on_issued(at(issued_event(), T), deps)
    assert "fa3_key" not in doc(deliveries) and doc(deliveries)["ksef_status"] == "outside"


async def test_registration_records_number_times_session_and_upo(deps, deliveries) -> None:
    await handle(deps, issued(T), registered(minutes(2)))
    d = doc(deliveries)
    assert {k: d[k] for k in d if k.startswith(("ksef_", "upo_"))} == {
        "ksef_status": "registered",
        "ksef_environment": "test",
        "ksef_registered_at": minutes(2),
        "ksef_number": KSEF_NUMBER,
        "ksef_acquired_at": minutes(1.5),
        "ksef_mode": "online",
        "ksef_session": "20250201-SO-2FDE8A1C0C-31A46AEA8C-5A",
        "ksef_invoice_reference": "20250201-EE-3C2A8A5A1C-4EC8D2B1E0-1B",
        "ksef_verification_url": (
            "https://ksef-test.mf.gov.pl/client-app/invoice/5260250274/31-01-2025/abc"
        ),
        "upo_key": UPO_KEY,
        "upo_sha256": "0a" * 32,
    }
    assert stage_of(d) == "issued", "registration is no stage of the counts"


async def test_a_registration_without_upo_has_no_upo_key(deps, deliveries) -> None:
    await handle(deps, registered(T, upo=False))
    assert "upo_key" not in doc(deliveries) and doc(deliveries)["ksef_status"] == "registered"


async def test_a_registration_first_names_the_invoice_and_its_batch(deps, deliveries) -> None:
    await handle(deps, registered(T))
    d = doc(deliveries)
    assert (d["number"], d["batch_id"], d["fa3_key"]) == ("FV/2025/01/0001", BATCH, FA3_KEY)
    assert "issued_at" not in d, "the issue's own time comes with invoice.issued"


async def test_a_ksef_refusal_is_a_failure_of_stage_ksef(deps, deliveries) -> None:
    await handle(deps, issued(T), ksef_rejected(minutes(3)))
    d = doc(deliveries)
    assert d["ksef_status"] == "rejected" and d["ksef_rejection_code"] == 450
    assert (d["failed_at"], d["failed_stage"], d["failure_reasons"]) == (
        minutes(3),
        "ksef",
        ["Błąd weryfikacji semantyki dokumentu faktury"],
    )
    assert stage_of(d) == "failed"
    assert tracking.failure_of(d) == ("ksef", ["Błąd weryfikacji semantyki dokumentu faktury"])


async def test_a_rendered_pdf_with_a_ksef_number_means_registered(deps, deliveries) -> None:
    await handle(deps, issued(T), rendered(minutes(4)))
    d = doc(deliveries)
    assert (d["ksef_status"], d["ksef_number"]) == ("registered", KSEF_NUMBER)


async def test_a_rendered_pdf_without_a_ksef_number_leaves_the_status(deps, deliveries) -> None:
    await handle(deps, issued(T, ksef=False), rendered(minutes(1), ksef_number=None))
    d = doc(deliveries)
    assert d["ksef_status"] == "outside" and "ksef_number" not in d


# --- any order ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["issued", "registered", "rendered"])), ids=str
)
async def test_registered_wins_in_any_order(order, deps, deliveries) -> None:
    made = {
        "issued": issued(T),
        "registered": registered(minutes(2)),
        "rendered": rendered(minutes(3)),
    }
    await handle(deps, *(made[name] for name in order))
    d = doc(deliveries)
    assert (d["ksef_status"], d["ksef_number"], d["fa3_key"]) == (
        "registered",
        KSEF_NUMBER,
        FA3_KEY,
    )
    assert d["issued_at"] == T and d["ksef_acquired_at"] == minutes(1.5)
    assert stage_of(d) == "rendered"


@pytest.mark.parametrize("order", [("issued", "rejected"), ("rejected", "issued")], ids=str)
async def test_rejected_wins_over_waiting_in_any_order(order, deps, deliveries) -> None:
    made = {"issued": issued(T), "rejected": ksef_rejected(minutes(3))}
    await handle(deps, *(made[name] for name in order))
    d = doc(deliveries)
    assert d["ksef_status"] == "rejected" and stage_of(d) == "failed"


@pytest.mark.parametrize("order", [("registered", "rejected"), ("rejected", "registered")])
async def test_a_ksef_number_outranks_a_rejection(order, deps, deliveries) -> None:
    made = {"registered": registered(minutes(2)), "rejected": ksef_rejected(minutes(3))}
    await handle(deps, *(made[name] for name in order))
    assert doc(deliveries)["ksef_status"] == "registered"


async def test_a_redelivered_issue_never_lowers_the_status(deps, deliveries) -> None:
    await handle(deps, issued(T), registered(minutes(2)), issued(T))
    assert doc(deliveries)["ksef_status"] == "registered"


def test_the_ranks_of_the_statuses() -> None:
    assert tracking.ksef_outranking("waiting") == ["waiting", "registered", "rejected", "outside"]
    assert tracking.ksef_outranking("rejected") == ["registered", "rejected"]
    assert tracking.ksef_outranking("registered") == ["registered"]


@dataclass
class RecordingCollection:
    """What CoalescedUpdates sends (as bulk writes)."""

    ops: list[UpdateOne] = field(default_factory=list)

    async def bulk_write(self, requests: list[UpdateOne], ordered: bool = True) -> None:
        self.ops.extend(requests)

    async def update_one(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("only retried alone after a refused bulk")


async def test_mongo_raises_the_status_in_one_conditional_write() -> None:
    collection = RecordingCollection()
    deliveries = MongoDeliveries(collection, FakeCollection(), FakeCollection())  # type: ignore[arg-type]
    await deliveries.raise_ksef_status(TENANT, "inv-1", "rejected")
    [op] = collection.ops
    assert op._filter == {
        "_id": f"{TENANT}/inv-1",
        "ksef_status": {"$nin": ["registered", "rejected"]},
    }
    assert op._doc == {"$set": {"ksef_status": "rejected"}}
    assert not op._upsert, "the delivery exists: the stage's update came first"


# --- dead letters -------------------------------------------------------------------------


async def test_a_registration_pdf_renderer_gave_up_on_fails_the_invoice(deps, deliveries) -> None:
    # invoice.registered names its invoice inside the invoice it carries (even unkeyed)
    original = FakeRecord(topic=events.INVOICE_REGISTERED, value=encode(registered(T)), key=None)
    value = dlq_record(original, "render failed: font missing", "pdf-renderer", 4)
    await h.on_dead_letter(FakeRecord(topic="invoice.registered.dlq", value=value), deps)
    d = doc(deliveries)
    assert d["dead_letter_topic"] == "invoice.registered.dlq"
    assert d["dead_letter_reason"] == "render failed: font missing"
    assert d["batch_id"] == BATCH and stage_of(d) == "failed"


def test_a_registration_after_a_dead_letter_moves_the_invoice_on() -> None:
    d: Any = {"invoice_id": "i", "issued_at": minutes(1), "dead_letter_at": minutes(2)}
    assert stage_of(d) == "failed"
    assert stage_of(d | {"ksef_registered_at": minutes(3)}) == "issued"
    naive = minutes(3).replace(tzinfo=None)  # as MongoDB hands it back
    assert stage_of(d | {"ksef_registered_at": naive}) == "issued"


def test_both_lanes_are_consumed_and_the_right_dead_letters_owned() -> None:
    bulk, interactive = split_lanes(dict(TOPICS.handlers))
    for topic in (events.INVOICE_REGISTERED, events.INVOICE_KSEF_REJECTED):
        assert topic in bulk and f"{topic}.interactive" in interactive
    assert "invoice.registered.dlq" in bulk
    assert "invoice.registered.interactive.dlq" in interactive
    owned = _with_lanes(TOPICS.dead_letters_for) or frozenset()
    assert {"invoice.ksef.rejected", "invoice.ksef.rejected.interactive"} <= owned
    assert not owned & {"invoice.registered", "invoice.registered.interactive"}


# --- the batch ----------------------------------------------------------------------------


def row(invoice_id: str, **fields: Any) -> Any:
    return {"invoice_id": invoice_id, "tenant_id": TENANT, "batch_id": BATCH} | fields


def test_the_batch_counts_ksef_statuses_and_lists_refusals_as_ksef_failures() -> None:
    rows = [
        row("a", issued_at=minutes(1), ksef_status="waiting"),
        row("b", issued_at=minutes(1), ksef_status="registered", rendered_at=minutes(3)),
        row("c", issued_at=minutes(1), ksef_status="outside", mailed_at=minutes(2)),
        row("d", issued_at=minutes(1), ksef_status="outside", mailed_at=minutes(2)),
        row(
            "e",
            number="FV/5",
            issued_at=minutes(1),
            ksef_status="rejected",
            failed_at=minutes(2),
            failed_stage="ksef",
            failure_reasons=["450: invalid"],
        ),
        row("f", requested_at=minutes(0)),  # not issued yet: no KSeF status
    ]
    summary = summarise_batch(BATCH, rows)
    assert summary["ksef"] == {"waiting": 1, "registered": 1, "rejected": 1, "outside": 2}
    assert summary["counts"]["failed"] == 1
    assert summary["failures"] == [
        {"invoice_id": "e", "number": "FV/5", "stage": "ksef", "reasons": ["450: invalid"]}
    ]


# --- billing's feed and webhooks ----------------------------------------------------------


def tracker_client(*docs: dict[str, Any], opens: list[dict[str, Any]] = ()) -> FakeClient:
    client = FakeClient()
    db = tracking.tracker_db(client)
    for d in docs:
        db[tracking.DELIVERIES].docs[d["_id"]] = d
    for o in opens:
        db[tracking.OPENS].docs[o["_id"]] = o
    return client


def delivery_doc(invoice_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "_id": tracking.delivery_id(TENANT, invoice_id),
        "tenant_id": TENANT,
        "invoice_id": invoice_id,
        "batch_id": BATCH,
        "batch_ids": [BATCH],
        "number": f"FV/{invoice_id}",
    } | fields


def counted_open(invoice_id: str, at: datetime) -> dict[str, Any]:
    return {
        "_id": f"open-{invoice_id}",
        "tenant_id": TENANT,
        "invoice_id": invoice_id,
        "batch_id": BATCH,
        "opened_at": at,
        "ip": "203.0.113.7",
        "host": None,
        "user_agent": "Mozilla/5.0",
        "counted": True,
    }


async def test_the_feed_carries_the_ksef_number_or_outside_and_ksef_refusals() -> None:
    client = tracker_client(
        delivery_doc(
            "in",
            ksef_status="registered",
            ksef_number=KSEF_NUMBER,
            first_opened_at=minutes(5),
            confirmed_at=minutes(5),
        ),
        delivery_doc(
            "out", ksef_status="outside", first_opened_at=minutes(6), confirmed_at=minutes(6)
        ),
        delivery_doc(
            "refused",
            ksef_status="rejected",
            ksef_rejection_code=450,
            failed_at=minutes(7),
            failed_stage="ksef",
            failure_reasons=["invalid XML"],
        ),
        opens=[counted_open("in", minutes(5)), counted_open("out", minutes(6))],
    )
    items, cursor = await billing_feed.confirmation_feed(client, TENANT, None)
    assert [(i["invoice_id"], i["status"]) for i in items] == [
        ("in", "confirmed"),
        ("out", "confirmed"),
        ("refused", "failed"),
    ]
    assert (items[0]["ksef_status"], items[0]["ksef_number"]) == ("registered", KSEF_NUMBER)
    assert (items[1]["ksef_status"], items[1]["ksef_number"]) == ("outside", None)
    assert {k: items[2][k] for k in ("stage", "reasons", "ksef_status", "ksef_rejection_code")} == {
        "stage": "ksef",
        "reasons": ["invalid XML"],
        "ksef_status": "rejected",
        "ksef_rejection_code": 450,
    }
    assert cursor


async def test_one_confirmation_carries_the_ksef_number() -> None:
    client = tracker_client(
        delivery_doc("in", ksef_status="registered", ksef_number=KSEF_NUMBER),
        opens=[counted_open("in", minutes(5))],
    )
    found = await billing_feed.confirmation_of(client, TENANT, "in")
    assert found is not None
    assert (found["ksef_status"], found["ksef_number"]) == ("registered", KSEF_NUMBER)


def test_ksef_fields_of_an_invoice_tracked_before_ksef() -> None:
    assert billing_feed.ksef_fields({}) == {"ksef_status": None, "ksef_number": None}
    assert billing_feed.ksef_fields(None) == {"ksef_status": None, "ksef_number": None}


def webhook_jobs(
    deliveries: FakeDeliveries, item: dict[str, Any]
) -> tuple[WebhookJobs, FakeCollection]:
    hook = events.Webhook.model_validate(
        {"url": "https://billing.example.pl/hooks", "secret_sealed": "sealed:x"}
    )
    jobs = FakeCollection()

    async def confirmation_of(tenant_id: str, invoice_id: str) -> dict[str, Any]:
        return item

    outbox = Outbox(jobs, owner="replica-1", clock=Clock(T))
    tenants = FakeTenants({TENANT: tenant_config(webhook=hook)})
    return WebhookJobs(outbox, tenants, confirmation_of, deliveries.get), jobs


async def test_the_confirmation_webhook_carries_the_ksef_number() -> None:
    deliveries = FakeDeliveries()
    item = {"number": "FV/1", "ip": "203.0.113.7", "open_count": 1} | {
        "ksef_status": "registered",
        "ksef_number": KSEF_NUMBER,
    }
    jobs, stored = webhook_jobs(deliveries, item)
    confirmed = events.InvoiceConfirmed(
        invoice_id="inv-1",
        batch_id=BATCH,
        opened_at=T,
        ip="203.0.113.7",
        host=None,
        user_agent="Mozilla/5.0",
        first_open=True,
    )
    envelope = event_of(events.INVOICE_CONFIRMED, confirmed, event_id="conf-1", when=T)
    assert await jobs.invoice_confirmed(envelope, confirmed)
    [job] = stored.docs.values()
    data = json.loads(job["body"])["data"]
    assert (data["ksef_number"], data["ksef_status"]) == (KSEF_NUMBER, "registered")


async def test_the_failed_mail_webhook_says_outside_ksef() -> None:
    deliveries = FakeDeliveries()
    await deliveries.update(
        TENANT, "inv-1", {"number": "FV/1", "ksef_status": "outside"}, {"batch_id": BATCH}
    )
    jobs, stored = webhook_jobs(deliveries, {})
    failed = events.MailFailed(
        invoice_id="inv-1", batch_id=BATCH, recipient="x@example.pl", reason="550", permanent=True
    )
    envelope = event_of(events.MAIL_FAILED, failed, event_id="mf-1", when=T)
    jobs.tenants = FakeTenants(
        {
            TENANT: tenant_config(
                webhook=events.Webhook.model_validate(
                    {
                        "url": "https://billing.example.pl/hooks",
                        "secret_sealed": "sealed:x",
                        "events": ["mail.failed"],
                    }
                )
            )
        }
    )
    assert await jobs.mail_failed(envelope, failed)
    [job] = stored.docs.values()
    data = json.loads(job["body"])["data"]
    assert (data["ksef_status"], data["ksef_number"]) == ("outside", None)
