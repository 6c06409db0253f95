"""read-tracker: every stage writes its timestamp; opens are recorded and confirmed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from einvoice import events
from einvoice.bus import dlq_record, encode
from einvoice.readmodels.tracking import stage_of
from read_tracker import handlers as h
from tests.support.builders import (
    BATCH,
    TENANT,
    FakeRecord,
    at,
    decoded,
    event_of,
    issued_event,
    issued_invoice,
    rendered_payload,
    request_payload,
    requested_event,
)
from tests.support.fakes import FakeDeliveries, FakeReverseDns

T = datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
IP = "203.0.113.7"


@pytest.fixture
def deliveries() -> FakeDeliveries:
    return FakeDeliveries()


@pytest.fixture
def dns() -> FakeReverseDns:
    return FakeReverseDns({IP: "host-7.example.pl"})


@pytest.fixture
def deps(deliveries, dns) -> h.Deps:
    return h.Deps(deliveries=deliveries, reverse_dns=dns)


def doc(deliveries: FakeDeliveries, invoice_id: str = "inv-1") -> dict:
    return deliveries.docs[(TENANT, invoice_id)]


def mail_sent(**overrides) -> events.MailSent:
    data = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "recipient": "jan@example.pl",
        "message_id": "<inv-1.abc@mail>",
        "link_id": "link-1",
        "link_expires_at": "2025-05-01T00:00:00Z",
        "template_version": 0,
    }
    return events.MailSent.model_validate(data | overrides)


def opened(opened_at: datetime, **overrides) -> events.InvoiceOpened:
    data = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "link_id": "link-1",
        "action": "download",
        "opened_at": opened_at,
        "ip": IP,
        "user_agent": "Mozilla/5.0 (Thunderbird)",
        "browser_signals": ["accept-language", "sec-fetch-user", "landing-cookie"],
    }
    return events.InvoiceOpened.model_validate(data | overrides)


# --- stages -------------------------------------------------------------------------------


async def test_requested_writes_its_timestamp_and_batch(deps, deliveries) -> None:
    assert await h.on_requested(at(requested_event(), T), deps) == []
    assert doc(deliveries) == {
        "_id": f"{TENANT}/inv-1",
        "invoice_id": "inv-1",
        "tenant_id": TENANT,
        "batch_id": BATCH,
        "requested_at": T,
        "number": "FV/2025/01/0001",
        "customer_id": None,
        "buyer_name": "Jan Kowalski",
        "buyer_email": "jan.kowalski@example.pl",
    }
    assert deliveries.batches == {(TENANT, BATCH): {"size": 1, "started_at": T}}


async def test_a_request_without_invoice_id_is_not_accounted(deps, deliveries) -> None:
    payload = request_payload()
    del payload["invoice_id"]
    assert await h.on_requested(requested_event(payload), deps) == []
    assert deliveries.docs == {} and deliveries.updates == []


@pytest.mark.parametrize("invoice_id", [None, 17], ids=["null", "int"])
async def test_a_request_with_a_non_string_invoice_id_is_not_accounted(
    deps, deliveries, invoice_id
) -> None:
    await h.on_requested(requested_event(request_payload(invoice_id=invoice_id)), deps)
    assert deliveries.docs == {}


async def test_issued_writes_its_timestamp_number_and_total(deps, deliveries) -> None:
    await h.on_issued(at(issued_event(), T), deps)
    d = doc(deliveries)
    assert d["issued_at"] == T
    assert d["number"] == "FV/2025/01/0001" and d["total_gross"] == "144.59"
    assert d["batch_id"] == BATCH and stage_of(d) == "issued"


async def test_rejected_marks_the_invoice_failed_at_issue(deps, deliveries) -> None:
    payload = events.InvoiceRejected(
        invoice_id="inv-1", batch_id=BATCH, number="FV/1", reasons=["seller.nip is required"]
    )
    await h.on_rejected(event_of(events.INVOICE_REJECTED, payload, event_id="rj", when=T), deps)
    d = doc(deliveries)
    assert (d["failed_at"], d["failed_stage"], d["failure_reasons"]) == (
        T,
        "issue",
        ["seller.nip is required"],
    )
    assert stage_of(d) == "failed"


async def test_rendered_writes_its_timestamp_and_key(deps, deliveries) -> None:
    ev = event_of(events.PDF_RENDERED, rendered_payload(), event_id="r", when=T)
    await h.on_rendered(ev, deps)
    d = doc(deliveries)
    assert d["rendered_at"] == T and d["s3_key"] == f"{TENANT}/2025/01/inv-1.pdf"


async def test_mail_sent_writes_its_timestamp_recipient_and_message_id(deps, deliveries):
    await h.on_mail_sent(event_of(events.MAIL_SENT, mail_sent(), event_id="m", when=T), deps)
    d = doc(deliveries)
    assert (d["mailed_at"], d["recipient"], d["message_id"]) == (
        T,
        "jan@example.pl",
        "<inv-1.abc@mail>",
    )


async def test_mail_failed_marks_the_invoice_failed_at_mail(deps, deliveries) -> None:
    payload = events.MailFailed(
        invoice_id="inv-1",
        batch_id=BATCH,
        recipient="x@example.pl",
        reason="recipient refused",
        permanent=True,
    )
    await h.on_mail_failed(event_of(events.MAIL_FAILED, payload, event_id="mf", when=T), deps)
    d = doc(deliveries)
    assert (d["failed_at"], d["failed_stage"], d["failure_reasons"], d["recipient"]) == (
        T,
        "mail",
        ["recipient refused"],
        "x@example.pl",
    )


async def test_stages_arriving_out_of_order_keep_every_timestamp(deps, deliveries) -> None:
    await h.on_mail_sent(
        event_of(events.MAIL_SENT, mail_sent(), event_id="m", when=T + timedelta(minutes=3)), deps
    )
    await h.on_issued(at(issued_event(), T + timedelta(minutes=1)), deps)
    await h.on_requested(at(requested_event(), T), deps)
    d = doc(deliveries)
    assert d["requested_at"] == T
    assert d["issued_at"] == T + timedelta(minutes=1)
    assert d["mailed_at"] == T + timedelta(minutes=3)
    assert deliveries.batches[(TENANT, BATCH)]["size"] == 1  # learnt from the late request
    assert stage_of(d) == "mailed"


def test_every_stage_topic_has_its_handler() -> None:
    assert h.HANDLERS == {
        events.INVOICE_REQUESTED: h.on_requested,
        events.INVOICE_ISSUED: h.on_issued,
        events.INVOICE_REJECTED: h.on_rejected,
        events.INVOICE_REGISTERED: h.on_registered,
        events.INVOICE_KSEF_REJECTED: h.on_ksef_rejected,
        events.PDF_RENDERED: h.on_rendered,
        events.MAIL_SENT: h.on_mail_sent,
        events.MAIL_FAILED: h.on_mail_failed,
        events.INVOICE_OPENED: h.on_opened,
        events.RETAIL_REQUESTED: h.on_retail_requested,
    }


# --- opens --------------------------------------------------------------------------------


async def test_opens_are_stored_once_and_only_the_first_is_first(deps, deliveries, dns):
    first_ev = event_of(events.INVOICE_OPENED, opened(T), event_id="open-1")
    later_ev = event_of(
        events.INVOICE_OPENED,
        opened(
            T + timedelta(hours=2),
            action="view",
            ip="198.51.100.9",
            user_agent="Mozilla/5.0 (iPhone)",
        ),
        event_id="open-2",
    )

    first = decoded((await h.on_opened(first_ev, deps))[0])
    again = decoded((await h.on_opened(first_ev, deps))[0])  # redelivered
    later = decoded((await h.on_opened(later_ev, deps))[0])

    assert first["payload"]["first_open"] is True
    assert again["payload"]["first_open"] is True
    assert again["event_id"] == first["event_id"]
    assert first["event_id"] == events.derived_event_id("open-1", events.INVOICE_CONFIRMED)
    assert later["payload"]["first_open"] is False

    assert sorted(deliveries.opens) == ["open-1", "open-2"]
    assert deliveries.opens["open-1"] == {
        "_id": "open-1",
        "tenant_id": TENANT,
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "link_id": "link-1",
        "action": "download",
        "opened_at": T,
        "ip": IP,
        "host": "host-7.example.pl",
        "user_agent": "Mozilla/5.0 (Thunderbird)",
        "flags": [],
        "counted": True,
    }
    assert deliveries.opens["open-2"]["host"] is None
    d = doc(deliveries)
    assert d["first_opened_at"] == T
    assert d["last_opened_at"] == T + timedelta(hours=2)
    assert stage_of(d) == "opened"
    assert dns.calls == [IP, IP, "198.51.100.9"]


async def test_a_redelivered_first_open_within_a_millisecond_is_still_first(deps, deliveries):
    # MongoDB keeps milliseconds: what comes back may differ by the microseconds
    deliveries.docs[(TENANT, "inv-1")] = {"invoice_id": "inv-1", "first_opened_at": T}
    ev = event_of(events.INVOICE_OPENED, opened(T + timedelta(microseconds=400)), event_id="o")
    assert decoded((await h.on_opened(ev, deps))[0])["payload"]["first_open"] is True
    ev = event_of(events.INVOICE_OPENED, opened(T + timedelta(milliseconds=2)), event_id="p")
    assert decoded((await h.on_opened(ev, deps))[0])["payload"]["first_open"] is False


async def test_invoice_confirmed_carries_host_ip_and_user_agent(deps) -> None:
    ev = event_of(events.INVOICE_OPENED, opened(T), event_id="open-1")
    [out] = await h.on_opened(ev, deps)
    assert out.topic == events.INVOICE_CONFIRMED and out.key == "inv-1"
    body = decoded(out)
    assert body["causation_id"] == "open-1" and body["tenant_id"] == TENANT
    assert body["payload"] == {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "opened_at": "2025-02-01T09:30:00Z",
        "ip": IP,
        "host": "host-7.example.pl",
        "user_agent": "Mozilla/5.0 (Thunderbird)",
        "first_open": True,
    }


# --- dead letters -------------------------------------------------------------------------


def dead_letter(env: events.Envelope, reason: str = "render failed") -> FakeRecord:
    original = FakeRecord(topic=env.type, value=encode(env), key=b"inv-1")
    return FakeRecord(
        topic=events.dlq_topic(env.type),
        value=dlq_record(original, reason, "pdf-renderer", 4),
        key=b"inv-1",
    )


async def test_a_dead_letter_marks_the_delivery_failed_with_the_reason(deps, deliveries):
    record = dead_letter(issued_event())
    failed_at = datetime.fromisoformat(json.loads(record.value)["failed_at"])
    assert await h.on_dead_letter(record, deps) == []
    d = doc(deliveries)
    assert d["dead_letter_at"] == failed_at
    assert d["dead_letter_topic"] == "invoice.issued.dlq"
    assert d["dead_letter_reason"] == "render failed"
    assert d["batch_id"] == BATCH and d["tenant_id"] == TENANT
    assert stage_of(d) == "failed"


async def test_a_replayed_dead_letter_clears_once_the_next_stage_lands(deps, deliveries):
    await h.on_issued(at(issued_event(), T), deps)
    await h.on_dead_letter(dead_letter(issued_event()), deps)
    assert stage_of(doc(deliveries)) == "failed"
    later = datetime.now(UTC) + timedelta(seconds=5)
    await h.on_rendered(
        event_of(events.PDF_RENDERED, rendered_payload(), event_id="r", when=later), deps
    )
    assert stage_of(doc(deliveries)) == "rendered"


async def test_a_dead_letter_without_invoice_id_in_the_payload_uses_the_key(deps, deliveries):
    env = requested_event({"number": "X"})  # the builder dead-letters it: no invoice id
    await h.on_dead_letter(dead_letter(env, "payload.invoice_id is missing"), deps)
    d = doc(deliveries, "inv-1")  # the record key
    assert d["dead_letter_reason"] == "payload.invoice_id is missing"
    assert d["batch_id"] == BATCH


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"not json",
        b"[]",
        json.dumps({"reason": "x", "failed_at": "2025-01-01T00:00:00+00:00"}).encode(),
        json.dumps({"value": None, "failed_at": "2025-01-01T00:00:00+00:00"}).encode(),
        json.dumps({"value": "garbage", "failed_at": "2025-01-01T00:00:00+00:00"}).encode(),
        json.dumps({"value": '{"type": "x"}', "failed_at": "2025-01-01T00:00:00+00:00"}).encode(),
    ],
    ids=[
        "null",
        "not-json",
        "array",
        "no-value",
        "null-value",
        "value-not-json",
        "value-not-envelope",
    ],
)
async def test_unreadable_dead_letters_are_ignored(deps, deliveries, value) -> None:
    record = FakeRecord(topic="invoice.issued.dlq", value=value)
    assert await h.on_dead_letter(record, deps) == []
    assert deliveries.updates == []


async def test_a_dead_letter_with_no_invoice_id_anywhere_is_ignored(deps, deliveries) -> None:
    env = requested_event({"number": "X"})
    original = FakeRecord(topic=env.type, value=encode(env), key=None)
    record = FakeRecord(
        topic="invoice.requested.dlq",
        value=dlq_record(original, "no id", "invoice-builder", 1),
        key=None,
    )
    assert await h.on_dead_letter(record, deps) == []
    assert deliveries.updates == []


def test_dead_letter_topics_followed() -> None:
    assert h.DEAD_LETTER_TOPICS == [
        "invoice.requested.dlq",
        "invoice.issued.dlq",
        "invoice.registered.dlq",
        "pdf.rendered.dlq",
        "retail.invoice.requested.dlq",
        "retail.invoice.reserved.dlq",
    ]


async def test_issued_from_builder_output_round_trips(deps, deliveries) -> None:
    """The tracker reads exactly what the builder emits (no schema drift)."""
    invoice = issued_invoice(invoice_id="inv-9", number="FV/9")
    await h.on_issued(issued_event(invoice), deps)
    assert doc(deliveries, "inv-9")["number"] == "FV/9"


# --- scanners -----------------------------------------------------------------------------

SAFE_LINKS_IP = "40.92.12.7"  # Microsoft Exchange Online Protection


@pytest.mark.parametrize(
    ("overrides", "flags"),
    [
        ({"user_agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"}, ["scanner_agent"]),
        ({"user_agent": "python-requests/2.32"}, ["scanner_agent"]),
        ({"user_agent": None}, ["scanner_agent"]),
        ({"browser_signals": []}, ["no_browser_behaviour"]),
        ({"ip": SAFE_LINKS_IP}, ["datacentre_right_after_sending"]),
        ({"operator_view": True}, ["operator_view"]),
    ],
)
async def test_a_scanners_open_is_recorded_but_confirms_nothing(
    deps, deliveries, overrides, flags
) -> None:
    deliveries.docs[(TENANT, "inv-1")] = {"invoice_id": "inv-1", "mailed_at": T}
    ev = event_of(
        events.INVOICE_OPENED, opened(T + timedelta(seconds=8), **overrides), event_id="scan"
    )
    assert await h.on_opened(ev, deps) == []
    assert deliveries.opens["scan"]["flags"] == flags
    assert deliveries.opens["scan"]["counted"] is False
    assert "first_opened_at" not in deliveries.docs[(TENANT, "inv-1")]


async def test_a_person_from_a_datacentre_range_long_after_sending_counts(deps, deliveries):
    deliveries.docs[(TENANT, "inv-1")] = {"invoice_id": "inv-1", "mailed_at": T}
    ev = event_of(
        events.INVOICE_OPENED, opened(T + timedelta(hours=3), ip=SAFE_LINKS_IP), event_id="late"
    )
    [out] = await h.on_opened(ev, deps)
    assert decoded(out)["payload"]["first_open"] is True
    assert deliveries.opens["late"]["counted"] is True
