"""receipt-ingest's rules for a shopper's request: quantities left, the invoicing window,
and the NIP rule for companies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from receipt_ingest.reservations import decide, invoice_lines, invoicing_deadline
from tests.support.reservations import BOUGHT, request, stored

NIP = "5260250274"


NOW = datetime(2026, 2, 10, 12, tzinfo=UTC)


def test_the_deadline_is_the_end_of_the_third_month_after_purchase_in_polish_time() -> None:
    assert invoicing_deadline(BOUGHT, 3) == date(2026, 5, 31)  # bought in February (Warsaw)
    assert invoicing_deadline(datetime(2026, 11, 5, tzinfo=UTC), 3) == date(2027, 2, 28)
    assert invoicing_deadline(datetime(2026, 11, 5, tzinfo=UTC), 0) == date(2026, 11, 30)


def test_a_valid_pick_passes_and_is_merged_per_line() -> None:
    decision = decide(stored(), request([(0, "1"), (1, "0.5"), (0, "1")]), 3, NOW)
    assert decision.problems == []
    assert decision.picks == {0: Decimal("2"), 1: Decimal("0.5")}


def test_quantities_already_invoiced_are_not_available_again() -> None:
    decision = decide(stored(invoiced=["1.5", "0", "1"]), request([(0, "1"), (2, "1")]), 3, NOW)
    assert decision.problems == [
        "line 1 (Chleb żytni): 1 requested, 0.5 left to invoice",
        "line 3 (Kawa): 1 requested, 0 left to invoice",
    ]


def test_a_line_that_does_not_exist_is_refused() -> None:
    assert decide(stored(), request([(7, "1")]), 3, NOW).problems == ["the receipt has no line 8"]


def test_after_the_window_the_receipt_cannot_be_invoiced() -> None:
    late = datetime(2026, 5, 31, 21, 59, tzinfo=UTC)  # 23:59 on 31 May in Warsaw
    assert decide(stored(), request([(0, "1")]), 3, late).problems == []
    later = datetime(2026, 5, 31, 22, 1, tzinfo=UTC)  # 1 June in Warsaw
    assert decide(stored(), request([(0, "1")]), 3, later).problems == [
        "the receipt could be invoiced until 31.05.2026"
    ]
    assert decide(stored(), request([(0, "1")]), 4, later).problems == []


def test_a_company_invoice_needs_its_nip_on_the_receipt() -> None:
    refused = decide(stored(), request([(0, "1")], "company", NIP), 3, NOW).problems
    assert len(refused) == 1 and "carries no NIP" in refused[0] and "106b" in refused[0]
    assert decide(stored(NIP), request([(0, "1")], "company", NIP), 3, NOW).problems == []
    assert (
        decide(stored("PL 526-025-02-74"), request([(0, "1")], "company", NIP), 3, NOW).problems
        == []
    )
    other = decide(stored("7740001454"), request([(0, "1")], "company", NIP), 3, NOW)
    assert other.problems == [f"the NIP {NIP} is not the NIP on the receipt"]


def test_a_receipt_with_a_nip_is_not_invoiced_to_a_private_person() -> None:
    assert decide(stored(NIP), request([(0, "1")]), 3, NOW).problems == [
        "the receipt carries a NIP: its invoice can only be for that company"
    ]


@pytest.mark.parametrize(("vat_rate", "expected"), [(0, "5"), (2, "23")])
def test_invoice_lines_take_names_prices_and_rates_from_the_receipt(vat_rate, expected) -> None:
    lines = invoice_lines(stored(), {vat_rate: Decimal("1")})
    assert lines[0].vat_rate == expected
    assert lines[0].unit_price == Decimal(["4.99", "39.90", "29.99"][vat_rate])
