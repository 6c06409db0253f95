"""Property-based (hypothesis): any invoice invoice-builder issues becomes valid FA(3) XML
whose total (P_15) and per-rate sums (P_13_x, P_14_x) are the invoice's own, and the ones
its PDF prints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fa3
from einvoice import events
from invoice_builder.issuing import issue
from invoice_pdf.render import format_money
from invoice_pdf.view import invoice_view
from tests.support.builders import request_payload
from tests.support.fa3 import BUSINESS_BUYER, CREATED_AT, EXEMPTION, JST_UNIT, amount

SUMS = {
    "23": ("P_13_1", "P_14_1"),
    "8": ("P_13_2", "P_14_2"),
    "5": ("P_13_3", "P_14_3"),
    "0": ("P_13_6_1", None),
    "zw": ("P_13_7", None),
    "np": ("P_13_8", None),
}

# Names as people type them: letters (Polish too), digits, punctuation, symbols, spaces.
names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=60,
).filter(lambda name: name.strip() != "")
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=4)
lines = st.fixed_dictionaries(
    {
        "name": names,
        "quantity": quantities.map(str),
        "unit": st.sampled_from(["kWh", "m³", "szt.", "usł.", "mies."]),
        "unit_price": prices.map(str),
        "vat_rate": st.sampled_from(list(SUMS)),
    }
)


def as_printed(value: Decimal | None) -> str:
    assert value is not None
    return format_money(value)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    drawn = draw(st.lists(lines, min_size=1, max_size=12))
    fields: dict[str, Any] = {
        "issue_date": "2026-02-01",
        "price_basis": draw(st.sampled_from(["net", "gross"])),
        "lines": drawn,
        "payment": {
            "method": draw(st.sampled_from(["przelew", "gotówka", "karta", "BLIK", "barter"])),
            "due_date": "2026-02-15",
            "bank_account": draw(st.sampled_from([None, "61109010140000071219812874"])),
        },
        "customer_id": draw(st.none() | st.from_regex(r"[A-Z]{1,3}-[0-9]{1,8}", fullmatch=True)),
    }
    if draw(st.booleans()):
        fields |= {
            "sale_date": None,
            "billing_period": {"start": "2026-01-01", "end": "2026-01-31"},
        }
    else:
        fields["sale_date"] = draw(st.sampled_from(["2026-01-31", "2026-02-01", None]))
    if draw(st.booleans()):
        fields["buyer"] = BUSINESS_BUYER | {"name": draw(names)}
        fields["split_payment"] = draw(st.booleans())
        marker = draw(st.sampled_from([None, "buyer_jst", "buyer_vat_group"]))
        if marker:
            fields |= {marker: True, "buyer_unit": JST_UNIT}
    if any(line["vat_rate"] == "zw" for line in drawn):
        fields["exemption"] = EXEMPTION
    return request_payload(**fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_every_issued_invoice_is_valid_fa3_with_its_own_totals(payload: dict[str, Any]) -> None:
    result = issue(events.InvoiceRequested.model_validate(payload))
    assume(isinstance(result, events.InvoiceIssued))  # e.g. every line rounds to 0.00
    assert isinstance(result, events.InvoiceIssued)
    xml = fa3.build(result, created_at=CREATED_AT)

    assert fa3.validate(xml) == []
    assert amount(xml, "Fa/P_15") == result.totals.gross
    summary = {row.vat_rate: row for row in result.vat_summary}
    for rate, (net_field, vat_field) in SUMS.items():
        row = summary.get(rate)
        assert amount(xml, f"Fa/{net_field}") == (row.net if row else None)
        if vat_field:
            assert amount(xml, f"Fa/{vat_field}") == (row.vat if row else None)
    assert fa3.build(result, created_at=CREATED_AT) == xml
    pdf = invoice_view(result)  # what both PDF layouts print
    assert pdf["totals"]["gross"] == as_printed(amount(xml, "Fa/P_15"))
    printed = {row["vat_rate"]: row for row in pdf["vat_summary"]}
    assert len(printed) == len(summary)
    for row in printed.values():
        rate = {"23%": "23", "8%": "8", "5%": "5", "0%": "0"}.get(row["vat_rate"], row["vat_rate"])
        assert row["net"] == as_printed(amount(xml, f"Fa/{SUMS[rate][0]}"))
