"""einvoice.batches: a billing batch becomes invoice.requested envelopes, or per-index errors."""

from __future__ import annotations

import copy
from datetime import date

from einvoice import events
from einvoice_tools.demo import demo_invoices
from gateway.api.batch_events import MAX_BATCH, BatchError, batch_events, invoice_id_for

PERIOD = date(2025, 1, 31)


def demo(count: int) -> list[dict]:
    return demo_invoices(count, seed=7, period=PERIOD)


def test_a_valid_demo_batch_becomes_one_envelope_per_invoice() -> None:
    invoices = demo(5)
    envs, problems = batch_events("wod-1", "b-1", invoices)

    assert problems == []
    assert len(envs) == 5
    numbers = [inv["number"] for inv in invoices]
    assert len(set(numbers)) == 5
    assert [e.payload["number"] for e in envs] == numbers
    assert [e.payload["buyer"]["name"] for e in envs] == [inv["buyer"]["name"] for inv in invoices]
    for env in envs:
        assert env.type == events.INVOICE_REQUESTED
        assert env.schema_version == events.SCHEMA_VERSION
        assert env.tenant_id == "wod-1" and env.correlation_id == "b-1"
        assert env.causation_id is None
        assert env.payload["batch_id"] == "b-1" and env.payload["batch_size"] == 5
        assert env.payload["invoice_id"] == invoice_id_for("wod-1", env.payload["number"])
        # the payload is the validated schema, so the builder can parse it back
        events.parse_payload(env, events.InvoiceRequested)
    assert len({e.event_id for e in envs}) == 5
    assert len({e.payload["invoice_id"] for e in envs}) == 5


def test_invoice_ids_are_stable_per_tenant_and_number() -> None:
    first, _ = batch_events("wod-1", "b-1", demo(3))
    again, _ = batch_events("wod-1", "b-2", demo(3))  # re-sent under another batch id
    other, _ = batch_events("wod-2", "b-1", demo(3))

    ids = [e.payload["invoice_id"] for e in first]
    assert ids == [e.payload["invoice_id"] for e in again]
    assert set(ids).isdisjoint(e.payload["invoice_id"] for e in other)
    # a fresh event id each time: the ids that must repeat are the invoice ids
    assert {e.event_id for e in first}.isdisjoint(e.event_id for e in again)


def test_invoice_id_for_is_a_pure_function_of_tenant_and_number() -> None:
    assert invoice_id_for("t", "FV/1") == invoice_id_for("t", "FV/1")
    assert invoice_id_for("t", "FV/1") != invoice_id_for("t", "FV/2")
    assert invoice_id_for("t", "FV/1") != invoice_id_for("u", "FV/1")
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert invoice_id_for("ab", "c") != invoice_id_for("a", "bc")
    # pinned: changing the namespace would make every re-sent batch issue new invoices
    assert invoice_id_for("t", "FV/1") == "cf490f15-ecb7-5ab5-9d27-47903b36a1df"


def test_a_repeated_number_is_reported_at_its_index() -> None:
    invoices = demo(3)
    invoices.append(copy.deepcopy(invoices[1]))
    repeated = invoices[1]["number"]
    envs, problems = batch_events("wod-1", "b-1", invoices)

    assert len(envs) == 3
    assert problems == [BatchError(3, repeated, ["number repeats invoice at index 1"])]
    assert problems[0].as_dict() == {
        "index": 3,
        "number": repeated,
        "errors": ["number repeats invoice at index 1"],
    }


def test_items_that_are_not_objects_are_reported_at_their_index() -> None:
    invoices: list = [demo(1)[0], "FV/1", None, [1, 2]]
    envs, problems = batch_events("wod-1", "b-1", invoices)
    assert len(envs) == 1
    assert [(p.index, p.number, p.errors) for p in problems] == [
        (1, None, ["an invoice must be a JSON object"]),
        (2, None, ["an invoice must be a JSON object"]),
        (3, None, ["an invoice must be a JSON object"]),
    ]


def test_schema_errors_are_reported_per_index_with_field_paths() -> None:
    invoices = demo(3)
    del invoices[1]["buyer"]
    invoices[2]["lines"][0]["vat_rate"] = "22"
    envs, problems = batch_events("wod-1", "b-1", invoices)

    assert [e.payload["number"] for e in envs] == [invoices[0]["number"]]
    assert [(p.index, p.number) for p in problems] == [
        (1, invoices[1]["number"]),
        (2, invoices[2]["number"]),
    ]
    assert problems[0].errors == ["buyer: Field required"]
    assert len(problems[1].errors) == 1
    assert problems[1].errors[0].startswith("lines.0.vat_rate: Input should be '23'")


def test_a_missing_or_non_string_number_is_a_schema_error_without_number() -> None:
    invoices = demo(2)
    del invoices[0]["number"]
    invoices[1]["number"] = 17
    envs, problems = batch_events("wod-1", "b-1", invoices)
    assert envs == []
    assert [(p.index, p.number) for p in problems] == [(0, None), (1, None)]
    assert problems[0].errors == ["number: Field required"]
    assert problems[1].errors == ["number: Input should be a valid string"]


def test_an_invalid_invoice_does_not_reserve_its_number() -> None:
    """Only valid invoices count as a number's first use."""
    bad, good = demo(1)[0], demo(1)[0]
    del bad["seller"]
    envs, problems = batch_events("wod-1", "b-1", [bad, good])
    assert [p.index for p in problems] == [0]
    assert len(envs) == 1 and envs[0].payload["number"] == good["number"]


def test_batch_size_counts_every_item_including_invalid_ones() -> None:
    invoices = demo(3)
    invoices[0] = "nope"
    envs, _ = batch_events("wod-1", "b-1", invoices)
    assert [e.payload["batch_size"] for e in envs] == [3, 3]


def test_an_empty_batch_is_refused() -> None:
    assert batch_events("wod-1", "b-1", []) == (
        [],
        [BatchError(-1, None, ["the batch has no invoices"])],
    )


def test_an_oversize_batch_is_refused_as_a_whole() -> None:
    envs, problems = batch_events("wod-1", "b-1", [{}] * (MAX_BATCH + 1))
    assert envs == []
    assert problems == [BatchError(-1, None, ["a batch holds at most 10000 invoices"])]


def test_the_input_invoices_are_not_modified() -> None:
    invoices = demo(2)
    before = copy.deepcopy(invoices)
    batch_events("wod-1", "b-1", invoices)
    assert invoices == before


def test_a_number_padded_with_spaces_is_the_same_number() -> None:
    first = demo(1)[0]
    padded = copy.deepcopy(first)
    padded["number"] = f" {first['number']} "
    envs, problems = batch_events("wod-1", "b-1", [first, padded])

    # Both envelopes carry the very same (stripped) number ...
    assert [e.payload["number"] for e in envs] == [first["number"]] * len(envs)
    # ... so the second must be reported as a repeat, and ids must follow the stored number.
    assert len(envs) == 1
    assert [p.index for p in problems] == [1]
