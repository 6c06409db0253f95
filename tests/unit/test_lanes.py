"""Lanes: interactive work travels on its own topics, consumed in a loop of its own."""

from __future__ import annotations

import json

import pytest

from einvoice import events
from einvoice.bus import PermanentError, RawHandler, decode, emit
from einvoice.worker import split_lanes
from tests.support.builders import FakeRecord, rendered_event, rendered_payload


async def handler(event: events.Envelope) -> list:
    return []


async def raw(record) -> list:
    return []


def test_a_shoppers_events_take_the_interactive_topics_and_others_the_usual_ones() -> None:
    assert events.topic_for(events.PDF_RENDERED, "interactive") == "pdf.rendered.interactive"
    assert events.topic_for(events.PDF_RENDERED, "bulk") == "pdf.rendered"
    # Topics a batch never floods have no lane of their own.
    assert events.topic_for(events.INVOICE_OPENED, "interactive") == "invoice.opened"
    assert events.type_of_topic("pdf.rendered.interactive") == "pdf.rendered"
    for topic in events.LANE_TOPICS:
        assert (
            topic in events.TOPIC_PARTITIONS and events.dlq_topic(topic) in events.TOPIC_PARTITIONS
        )


def test_an_event_inherits_its_causes_lane_and_goes_to_that_lanes_topic() -> None:
    cause = rendered_event().model_copy(update={"lane": "interactive"})
    out = emit(events.MAIL_SENT, rendered_payload(), key="inv-1", cause=cause)
    assert out.topic == "mail.sent.interactive"
    assert json.loads(out.value)["lane"] == "interactive"
    bulk = emit(events.MAIL_SENT, rendered_payload(), key="inv-1", cause=rendered_event())
    assert bulk.topic == "mail.sent" and json.loads(bulk.value)["lane"] == "bulk"


def test_the_topic_decides_the_lane_of_what_arrives_on_it() -> None:
    value = rendered_event().model_dump_json().encode()  # written as bulk
    env = decode(FakeRecord("pdf.rendered.interactive", value))
    assert env.lane == "interactive"
    assert decode(FakeRecord("pdf.rendered", value)).lane == "bulk"
    with pytest.raises(PermanentError, match="does not belong"):
        decode(FakeRecord("mail.sent.interactive", value))


def test_a_service_consumes_each_lane_in_its_own_loop() -> None:
    handlers = {
        events.INVOICE_ISSUED: handler,
        events.RETAIL_RESERVED: handler,
        events.INVOICE_OPENED: handler,
        events.dlq_topic(events.PDF_RENDERED): RawHandler(raw),
    }
    bulk, interactive = split_lanes(handlers)
    assert set(bulk) == {"invoice.issued", "invoice.opened", "pdf.rendered.dlq"}
    assert set(interactive) == {
        "invoice.issued.interactive",
        "retail.invoice.reserved",
        "pdf.rendered.interactive.dlq",
    }
    assert interactive["invoice.issued.interactive"] is handler
