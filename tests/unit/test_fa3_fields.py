"""The optional invoice fields FA(3) needs (billing period, exemption basis, MPP, JST / GV,
meter readings, customer number): old records stay valid, invoice-builder checks the new
fields and carries them onto the issued invoice."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from einvoice import events
from invoice_builder.issuing import Rejection, issue
from tests.support.builders import BUYER_NIP, request_payload
from tests.support.fa3 import BUSINESS_BUYER, EXEMPTION, JST_UNIT

# An invoice.issued payload as invoice-builder wrote it before these fields existed.
OLD_ISSUED = {
    "invoice_id": "inv-1",
    "batch_id": "b-1",
    "number": "FV/1",
    "issue_date": "2025-01-31",
    "sale_date": None,
    "price_basis": "net",
    "currency": "PLN",
    "seller": {
        "name": "S",
        "nip": "5260250274",
        "address": {"street": "a", "postal_code": "00-001", "city": "W"},
    },
    "buyer": {"name": "B", "address": {"street": "b", "postal_code": "00-002", "city": "K"}},
    "lines": [
        {
            "position": 1,
            "name": "x",
            "quantity": "1",
            "unit": "szt.",
            "unit_price": "1.00",
            "vat_rate": "23",
            "net": "1.00",
            "vat": "0.23",
            "gross": "1.23",
        }
    ],
    "vat_summary": [{"vat_rate": "23", "net": "1.00", "vat": "0.23", "gross": "1.23"}],
    "totals": {"net": "1.00", "vat": "0.23", "gross": "1.23"},
    "payment": {"method": "przelew", "due_date": None, "bank_account": None},
    "notes": None,
    "receipt": None,
    "recipients": [],
}


def reasons_of(**overrides: Any) -> list[str]:
    result = issue(events.InvoiceRequested.model_validate(request_payload(**overrides)))
    assert isinstance(result, Rejection), result
    return result.reasons


def issued(**overrides: Any) -> events.InvoiceIssued:
    result = issue(events.InvoiceRequested.model_validate(request_payload(**overrides)))
    assert isinstance(result, events.InvoiceIssued), result
    return result


def test_old_records_without_the_new_fields_are_still_accepted() -> None:
    old_request = request_payload()
    assert "billing_period" not in old_request and "exemption" not in old_request
    request = events.InvoiceRequested.model_validate(old_request)
    assert request.billing_period is None and request.meter_readings == []
    assert not (request.split_payment or request.buyer_jst or request.buyer_vat_group)
    invoice = events.InvoiceIssued.model_validate(OLD_ISSUED)
    assert invoice.fa3 is None and invoice.customer_id is None and invoice.exemption is None


def test_the_new_fields_are_carried_onto_the_issued_invoice() -> None:
    readings = [{"meter_id": "W-123", "start": "100.5", "end": "112.25", "unit": "m³"}]
    invoice = issued(
        sale_date=None,
        customer_id="K-0042",
        billing_period={"start": "2025-01-01", "end": "2025-01-31"},
        buyer=BUSINESS_BUYER,
        split_payment=True,
        buyer_jst=True,
        buyer_unit=JST_UNIT | {"nip": "PL 774-000-14-54"},
        meter_readings=readings,
        lines=[{"name": "Woda", "quantity": "1", "unit_price": "10", "vat_rate": "zw"}],
        exemption=EXEMPTION,
    )
    assert invoice.customer_id == "K-0042"
    assert invoice.billing_period == events.BillingPeriod(
        start=date(2025, 1, 1), end=date(2025, 1, 31)
    )
    assert invoice.sale_date == date(2025, 1, 31)  # the period's end, for the PDF
    assert invoice.exemption == events.VatExemption.model_validate(EXEMPTION)
    assert invoice.split_payment and invoice.buyer_jst and not invoice.buyer_vat_group
    assert invoice.buyer_unit is not None and invoice.buyer_unit.nip == BUYER_NIP  # normalised
    assert invoice.meter_readings == [events.MeterReading.model_validate(readings[0])]


def test_a_zw_line_without_the_exemption_basis_is_rejected() -> None:
    lines = [{"name": "Usługa", "quantity": "1", "unit_price": "10", "vat_rate": "zw"}]
    assert reasons_of(lines=lines) == [
        "lines[0] is exempt (vat_rate 'zw'): exemption, the legal basis of the exemption, "
        "is required"
    ]


def test_an_exemption_basis_without_a_zw_line_is_rejected() -> None:
    assert reasons_of(exemption=EXEMPTION) == [
        "exemption is given but no line is exempt (vat_rate 'zw')"
    ]


@pytest.mark.parametrize("basis", ["law", "", None])
def test_the_exemption_basis_must_name_the_kind_of_provision(basis: str | None) -> None:
    with pytest.raises(ValueError, match="basis"):
        events.VatExemption.model_validate({"basis": basis, "text": "art. 43"})


def test_a_billing_period_that_ends_before_it_starts_is_rejected() -> None:
    period = {"start": "2025-01-31", "end": "2025-01-01"}
    assert reasons_of(sale_date=None, billing_period=period) == [
        "billing_period.end 2025-01-01 is before billing_period.start 2025-01-31"
    ]


def test_a_sale_date_other_than_the_periods_end_is_rejected() -> None:
    period = {"start": "2025-01-01", "end": "2025-01-30"}
    assert reasons_of(sale_date="2025-01-31", billing_period=period) == [
        "sale_date 2025-01-31 is not the billing period's end 2025-01-30 "
        "(leave sale_date out with a billing_period)"
    ]
    assert issued(sale_date="2025-01-30", billing_period=period).sale_date == date(2025, 1, 30)


def test_split_payment_needs_a_business_buyer() -> None:
    assert reasons_of(split_payment=True) == [
        "split_payment (MPP) applies only to a business buyer with a NIP"
    ]


def test_jst_and_vat_group_markers_need_the_unit_and_a_business_buyer() -> None:
    assert reasons_of(buyer_jst=True) == [
        "buyer_jst needs the buyer's NIP",
        "buyer_jst needs buyer_unit, the unit the invoice concerns",
    ]
    assert reasons_of(buyer=BUSINESS_BUYER, buyer_vat_group=True, buyer_jst=True) == [
        "buyer_jst and buyer_vat_group cannot both be set",
        "buyer_jst needs buyer_unit, the unit the invoice concerns",
    ]
    assert reasons_of(buyer=BUSINESS_BUYER, buyer_unit=JST_UNIT) == [
        "buyer_unit is only for buyer_jst or buyer_vat_group"
    ]
    unit = JST_UNIT | {"nip": "1234567890"}
    assert reasons_of(buyer=BUSINESS_BUYER, buyer_vat_group=True, buyer_unit=unit) == [
        "buyer_unit.nip '1234567890' fails the NIP checksum"
    ]


def test_an_issue_date_after_today_in_poland_is_rejected() -> None:
    request = events.InvoiceRequested.model_validate(request_payload(issue_date="2025-02-01"))
    result = issue(request, today=date(2025, 1, 31))
    assert isinstance(result, Rejection)
    assert result.reasons == [
        "issue_date 2025-02-01 is in the future (today in Poland is 2025-01-31); KSeF refuses "
        "an invoice dated after it receives it"
    ]
    assert isinstance(issue(request, today=date(2025, 2, 1)), events.InvoiceIssued)


def test_a_nip_with_no_tax_offices_code_is_rejected_although_its_checksum_is_right() -> None:
    buyer = BUSINESS_BUYER | {"nip": "2004144949"}  # checksum right, "00" after the 2
    assert reasons_of(buyer=buyer) == [
        "buyer.nip '2004144949' is not a NIP: its first three digits are no tax office's code"
    ]
