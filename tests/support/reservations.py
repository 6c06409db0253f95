"""A stored receipt (three lines, bought just before midnight in Warsaw) and a shopper's
request for some of its lines: the inputs of receipt-ingest's reservation rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from einvoice import events
from tests.support.builders import LINES

BOUGHT = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 February in Warsaw


def stored(buyer_nip: str | None = None, invoiced: list[str] | None = None) -> dict[str, Any]:
    lines = [
        *LINES[:2],
        {"name": "Kawa", "quantity": "1", "unit_gross": "29.99", "vat_rate": "A", "gross": "29.99"},
    ]
    receipt = events.ReceiptScanned(
        receipt_id="r1",
        store_id="S1",
        till_id="K1",
        number="0042",
        issued_at=BOUGHT,
        lines=lines,
        totals=[{"vat_rate": "5", "gross": "31.33"}, {"vat_rate": "23", "gross": "29.99"}],
        total_gross="61.32",
        buyer_nip=buyer_nip,
        code="ABCD-EFGH-JKMN-PQRS",
    )
    return {"receipt": receipt.model_dump(mode="json"), "invoiced": invoiced or ["0", "0", "0"]}


def request(
    picks: list[tuple[int, str]], kind: str = "person", nip: str | None = None
) -> events.RetailInvoiceRequested:
    buyer = {
        "name": "Ola Żak" if kind == "person" else "Żak Sp. z o.o.",
        "address": {"street": "ul. Polna 1", "postal_code": "00-001", "city": "Warszawa"},
        "nip": nip,
        "email": "ola@example.pl",
    }
    return events.RetailInvoiceRequested(
        invoice_id="i1",
        receipt_id="r1",
        shopper_id="s1",
        shopper_email="ola@example.pl",
        buyer_kind=kind,
        buyer=buyer,
        picks=[{"line": i, "quantity": q} for i, q in picks],
    )
