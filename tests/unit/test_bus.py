"""einvoice.bus: decoding records into envelopes, dead-letter records, derived event ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from einvoice import events
from einvoice.bus import Outgoing, PermanentError, decode, dlq_record, emit, encode
from tests.support.builders import BATCH, TENANT, FakeRecord, decoded, record_of, requested_event


def valid_json(**overrides) -> bytes:
    data = json.loads(requested_event().model_dump_json())
    data.update(overrides)
    return json.dumps(data).encode()


# --- decode -------------------------------------------------------------------------------


def test_decode_returns_the_envelope_of_a_valid_record() -> None:
    env = requested_event()
    got = decode(record_of(env))
    assert got == env
    assert got.event_id == "req-1"
    assert got.tenant_id == TENANT and got.correlation_id == BATCH
    assert got.payload["invoice_id"] == "inv-1"


@pytest.mark.parametrize(
    "value",
    [b"{not json", b"\xff\xfe\x00garbage", b""],
    ids=["broken-json", "not-utf8", "empty-bytes"],
)
def test_decode_rejects_non_json(value: bytes) -> None:
    with pytest.raises(PermanentError, match=r"^value is not JSON: "):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=value))


def test_decode_rejects_a_missing_value() -> None:
    with pytest.raises(PermanentError, match=r"^empty record value$"):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=None))


def test_decode_rejects_an_oversize_record_before_parsing_it() -> None:
    value = b"x" * (events.MAX_EVENT_BYTES + 1)  # not JSON either: size is checked first
    with pytest.raises(PermanentError) as info:
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=value))
    assert str(info.value) == f"record of {events.MAX_EVENT_BYTES + 1} bytes exceeds 262144"


def test_decode_accepts_a_record_of_exactly_the_maximum_size() -> None:
    raw = valid_json()
    padded = raw + b" " * (events.MAX_EVENT_BYTES - len(raw))
    assert len(padded) == events.MAX_EVENT_BYTES
    env = decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=padded))
    assert env.event_id == "req-1"


def test_decode_rejects_an_invalid_envelope_naming_the_fields() -> None:
    value = json.dumps({"type": events.INVOICE_REQUESTED, "schema_version": 1}).encode()
    with pytest.raises(PermanentError) as info:
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=value))
    reason = str(info.value)
    assert reason.startswith("invalid envelope: ")
    assert "event_id: Field required" in reason
    assert "occurred_at: Field required" in reason


def test_decode_rejects_unknown_envelope_fields() -> None:
    with pytest.raises(PermanentError, match=r"invalid envelope: .*extra: Extra inputs"):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=valid_json(extra=1)))


def test_decode_rejects_a_json_array() -> None:
    with pytest.raises(PermanentError, match=r"^invalid envelope: <root>: "):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=b"[1, 2]"))


def test_decode_rejects_a_newer_schema_version() -> None:
    with pytest.raises(PermanentError, match=r"^unknown schema_version 2$"):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=valid_json(schema_version=2)))


def test_decode_rejects_schema_version_zero_as_invalid_envelope() -> None:
    with pytest.raises(PermanentError, match=r"^invalid envelope: schema_version: "):
        decode(FakeRecord(topic=events.INVOICE_REQUESTED, value=valid_json(schema_version=0)))


def test_decode_rejects_an_event_on_the_wrong_topic() -> None:
    record = record_of(requested_event(), topic=events.INVOICE_ISSUED)
    with pytest.raises(PermanentError) as info:
        decode(record)
    assert str(info.value) == ("event type 'invoice.requested' does not belong on 'invoice.issued'")


# --- dead-letter records ------------------------------------------------------------------


def test_dlq_record_keeps_the_original_record_and_the_reason() -> None:
    env = requested_event()
    record = FakeRecord(
        topic=events.INVOICE_REQUESTED,
        value=encode(env),
        key=b"inv-1",
        partition=4,
        offset=1017,
    )
    before = datetime.now(UTC)
    dead = json.loads(dlq_record(record, "totals do not match", "invoice-builder", 3))
    after = datetime.now(UTC)

    assert {k: v for k, v in dead.items() if k != "failed_at"} == {
        "reason": "totals do not match",
        "service": "invoice-builder",
        "attempts": 3,
        "topic": "invoice.requested",
        "partition": 4,
        "offset": 1017,
        "key": "inv-1",
        "value": env.model_dump_json(),
    }
    failed_at = datetime.fromisoformat(dead["failed_at"])
    assert failed_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= failed_at <= after + timedelta(seconds=1)
    # The original event survives intact, so a replay re-publishes exactly it.
    assert events.Envelope.model_validate_json(dead["value"]) == env


def test_dlq_record_of_undecodable_bytes_and_no_key() -> None:
    record = FakeRecord(topic="pdf.rendered", value=b"ab\xffcd", key=None, offset=0)
    dead = json.loads(dlq_record(record, "value is not JSON", "mailer", 0))
    assert dead["value"] == "ab\ufffdcd"
    assert dead["key"] is None
    assert dead["attempts"] == 0 and dead["service"] == "mailer"


def test_dlq_record_of_a_null_value() -> None:
    record = FakeRecord(topic="pdf.rendered", value=None)
    dead = json.loads(dlq_record(record, "empty record value", "mailer", 0))
    assert dead["value"] is None and dead["reason"] == "empty record value"


# --- derived ids and emit -----------------------------------------------------------------


def test_derived_event_id_is_deterministic() -> None:
    a = events.derived_event_id("cause-1", events.INVOICE_ISSUED)
    assert a == events.derived_event_id("cause-1", events.INVOICE_ISSUED)
    assert a != events.derived_event_id("cause-2", events.INVOICE_ISSUED)
    assert a != events.derived_event_id("cause-1", events.INVOICE_REJECTED)
    assert a != events.derived_event_id("cause-1", events.INVOICE_ISSUED, "x")
    assert len(a) == 36


def test_envelope_caused_by_another_derives_its_id_and_causation() -> None:
    cause = requested_event(event_id="req-77")
    payload = events.InvoiceRejected(invoice_id="inv-1", batch_id=BATCH, reasons=["no"])
    first = events.envelope(
        events.INVOICE_REJECTED, payload, tenant_id=TENANT, correlation_id=BATCH, cause=cause
    )
    second = events.envelope(
        events.INVOICE_REJECTED, payload, tenant_id=TENANT, correlation_id=BATCH, cause=cause
    )
    assert first.event_id == second.event_id
    assert first.event_id == events.derived_event_id("req-77", events.INVOICE_REJECTED)
    assert first.causation_id == "req-77"


def test_envelope_without_cause_gets_a_fresh_id() -> None:
    payload = events.InvoiceRejected(invoice_id="inv-1", batch_id=BATCH, reasons=["no"])
    a = events.envelope(events.INVOICE_REJECTED, payload, tenant_id=TENANT, correlation_id=BATCH)
    b = events.envelope(events.INVOICE_REJECTED, payload, tenant_id=TENANT, correlation_id=BATCH)
    assert a.event_id != b.event_id
    assert a.causation_id is None


def test_emit_builds_an_outgoing_record_on_the_event_topic() -> None:
    cause = requested_event(event_id="req-9")
    payload = events.InvoiceRejected(invoice_id="inv-1", batch_id=BATCH, reasons=["bad nip"])
    out = emit(events.INVOICE_REJECTED, payload, key="inv-1", cause=cause)
    again = emit(events.INVOICE_REJECTED, payload, key="inv-1", cause=cause)

    assert isinstance(out, Outgoing)
    assert out.topic == "invoice.rejected" and out.key == "inv-1"
    body = decoded(out)
    assert body["event_id"] == decoded(again)["event_id"]
    assert body["event_id"] == events.derived_event_id("req-9", "invoice.rejected")
    assert body["causation_id"] == "req-9"
    assert body["tenant_id"] == TENANT and body["correlation_id"] == BATCH
    assert body["payload"]["reasons"] == ["bad nip"]
    # ... and what is emitted decodes on its own topic.
    assert decode(FakeRecord(topic=out.topic, value=out.value)).event_id == body["event_id"]
