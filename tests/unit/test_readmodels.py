"""einvoice.readmodels: the furthest stage of a delivery and the summary of a batch."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from einvoice.readmodels.mailing import token_hash
from einvoice.readmodels.tracking import delivery_id, failure_of, stage_of, summarise_batch

T = datetime(2025, 1, 31, 8, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return T + timedelta(minutes=n)


def delivery(invoice_id: str = "inv-1", **fields) -> dict:
    return {"invoice_id": invoice_id, "tenant_id": "t", "batch_id": "b"} | fields


# --- stage_of -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "stage"),
    [
        ({}, "requested"),
        ({"requested_at": minutes(0)}, "requested"),
        ({"requested_at": minutes(0), "issued_at": minutes(1)}, "issued"),
        (
            {"requested_at": minutes(0), "issued_at": minutes(1), "rendered_at": minutes(2)},
            "rendered",
        ),
        (
            {
                "requested_at": minutes(0),
                "issued_at": minutes(1),
                "rendered_at": minutes(2),
                "mailed_at": minutes(3),
            },
            "mailed",
        ),
        (
            {
                "requested_at": minutes(0),
                "issued_at": minutes(1),
                "rendered_at": minutes(2),
                "mailed_at": minutes(3),
                "first_opened_at": minutes(9),
            },
            "opened",
        ),
    ],
)
def test_stage_progression(fields: dict, stage: str) -> None:
    assert stage_of(delivery(**fields)) == stage


def test_opened_is_read_from_first_opened_at_not_opened_at() -> None:
    assert stage_of(delivery(mailed_at=minutes(3), opened_at=minutes(4))) == "mailed"
    assert stage_of(delivery(mailed_at=minutes(3), last_opened_at=minutes(4))) == "mailed"


def test_out_of_order_arrival_takes_the_furthest_stage_whatever_its_timestamp() -> None:
    # Stages land from different topics; a later stage may carry an earlier clock reading
    # and an earlier stage may not have arrived yet.
    d = delivery(requested_at=minutes(10), rendered_at=minutes(5))
    assert stage_of(d) == "rendered"
    assert stage_of(delivery(mailed_at=minutes(1))) == "mailed"


def test_rejected_is_failed_whatever_came_later() -> None:
    d = delivery(requested_at=minutes(0), failed_at=minutes(1), mailed_at=minutes(9))
    assert stage_of(d) == "failed"


def test_dead_lettered_after_the_last_stage_is_failed() -> None:
    d = delivery(
        requested_at=minutes(0),
        issued_at=minutes(1),
        dead_letter_at=minutes(2),
        dead_letter_topic="invoice.issued.dlq",
        dead_letter_reason="render failed",
    )
    assert stage_of(d) == "failed"
    assert failure_of(d) == ("invoice.issued.dlq", ["render failed"])


def test_dead_lettered_without_any_stage_is_failed() -> None:
    assert stage_of(delivery(dead_letter_at=minutes(0))) == "failed"


def test_a_replay_that_moves_the_invoice_on_clears_the_dead_letter() -> None:
    d = delivery(
        requested_at=minutes(0),
        issued_at=minutes(1),
        dead_letter_at=minutes(2),
        rendered_at=minutes(30),
    )
    assert stage_of(d) == "rendered"


def test_a_stage_at_the_same_moment_as_the_dead_letter_does_not_clear_it() -> None:
    d = delivery(issued_at=minutes(2), dead_letter_at=minutes(2))
    assert stage_of(d) == "issued"  # not strictly later: the dead letter is not newer
    d = delivery(issued_at=minutes(2), dead_letter_at=minutes(2) + timedelta(microseconds=1))
    assert stage_of(d) == "failed"


def test_naive_datetimes_from_mongo_compare_as_utc() -> None:
    naive_dead = (minutes(2)).replace(tzinfo=None)
    assert stage_of(delivery(issued_at=minutes(1), dead_letter_at=naive_dead)) == "failed"
    assert stage_of(delivery(issued_at=minutes(3), dead_letter_at=naive_dead)) == "issued"


def test_failure_of_a_rejected_invoice() -> None:
    d = delivery(
        failed_at=minutes(1), failed_stage="issue", failure_reasons=["seller.nip '1' is not a NIP"]
    )
    assert failure_of(d) == ("issue", ["seller.nip '1' is not a NIP"])
    assert failure_of(delivery(failed_at=minutes(1))) == (None, [])
    assert failure_of(delivery(dead_letter_at=minutes(1))) == (None, ["unknown"])


# --- summarise_batch ----------------------------------------------------------------------


def test_summary_counts_each_stage_cumulatively() -> None:
    rows = [
        delivery("a", number="1", batch_size=5, requested_at=minutes(0)),
        delivery("b", number="2", batch_size=5, requested_at=minutes(0), issued_at=minutes(1)),
        delivery(
            "c",
            number="3",
            batch_size=5,
            issued_at=minutes(1),
            rendered_at=minutes(2),
            mailed_at=minutes(3),
        ),
        delivery("d", number="4", batch_size=5, mailed_at=minutes(3), first_opened_at=minutes(4)),
        delivery(
            "e",
            number="5",
            batch_size=5,
            requested_at=minutes(0),
            failed_at=minutes(1),
            failed_stage="issue",
            failure_reasons=["bad NIP"],
        ),
    ]
    summary = summarise_batch("b", rows)
    assert summary == {
        "batch_id": "b",
        "expected": 5,
        "known": 5,
        "counts": {
            "requested": 5,
            "issued": 3,
            "rendered": 2,
            "mailed": 2,
            "opened": 1,
            "failed": 1,
        },
        "ksef": {"waiting": 0, "registered": 0, "rejected": 0, "outside": 0},
        "done": 3,
        "complete": False,
        "failures": [{"invoice_id": "e", "number": "5", "stage": "issue", "reasons": ["bad NIP"]}],
    }


def test_a_batch_is_complete_once_every_invoice_is_mailed_or_failed() -> None:
    rows = [
        delivery("a", batch_size=3, mailed_at=minutes(3)),
        delivery("b", batch_size=3, first_opened_at=minutes(5), mailed_at=minutes(3)),
        delivery(
            "c",
            batch_size=3,
            requested_at=minutes(0),
            dead_letter_at=minutes(1),
            dead_letter_topic="invoice.requested.dlq",
            dead_letter_reason="boom",
        ),
    ]
    summary = summarise_batch("b", rows)
    assert summary["complete"] is True
    assert summary["done"] == 3
    assert summary["counts"] == {
        "requested": 3,
        "issued": 2,
        "rendered": 2,
        "mailed": 2,
        "opened": 1,
        "failed": 1,
    }
    assert summary["failures"] == [
        {"invoice_id": "c", "number": None, "stage": "invoice.requested.dlq", "reasons": ["boom"]}
    ]


def test_a_batch_is_not_complete_while_invoices_are_unknown() -> None:
    # batch_size says 4, only two deliveries are known yet, both mailed
    rows = [
        delivery("a", batch_size=4, mailed_at=minutes(1)),
        delivery("b", batch_size=4, mailed_at=minutes(1)),
    ]
    summary = summarise_batch("b", rows, expected=4)
    assert (summary["expected"], summary["known"], summary["done"]) == (4, 2, 2)
    assert summary["complete"] is False


def test_without_batch_size_the_known_deliveries_are_expected() -> None:
    # deliveries first seen through a later stage have no batch_size
    rows = [delivery("a", mailed_at=minutes(1)), delivery("b", issued_at=minutes(1))]
    summary = summarise_batch("b", rows)
    assert summary["expected"] == 2
    assert summary["complete"] is False
    rows[1]["mailed_at"] = minutes(2)
    assert summarise_batch("b", rows)["complete"] is True


def test_the_expected_size_never_hides_known_deliveries() -> None:
    rows = [delivery(i, mailed_at=minutes(1)) for i in "abc"]
    assert summarise_batch("b", rows, expected=2)["expected"] == 3
    assert summarise_batch("b", rows, expected=5)["expected"] == 5


def test_a_replayed_dead_letter_is_no_longer_a_failure_in_the_summary() -> None:
    rows = [
        delivery(
            "a",
            batch_size=1,
            requested_at=minutes(0),
            dead_letter_at=minutes(1),
            dead_letter_topic="invoice.requested.dlq",
            dead_letter_reason="x",
        )
    ]
    assert summarise_batch("b", rows)["counts"]["failed"] == 1
    rows[0] |= {"issued_at": minutes(20), "rendered_at": minutes(21), "mailed_at": minutes(22)}
    summary = summarise_batch("b", rows)
    assert summary["counts"]["failed"] == 0 and summary["failures"] == []
    assert summary["counts"]["mailed"] == 1
    assert summary["complete"] is True


def test_an_empty_batch_is_never_complete() -> None:
    summary = summarise_batch("b", [])
    assert summary["expected"] == 0 and summary["complete"] is False
    assert summary["counts"] == dict.fromkeys(
        ("requested", "issued", "rendered", "mailed", "opened", "failed"), 0
    )


# --- ids ----------------------------------------------------------------------------------


def test_token_hash_and_delivery_id() -> None:
    assert token_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert delivery_id("t", "inv-1") == "t/inv-1"
