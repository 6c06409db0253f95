"""The rules a shopper's request must pass before any quantity is reserved. Pure: the stored
receipt, the request, the chain's settings and the time in; the problems (Polish law and the
chain's window) or the lines to invoice out."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from stdnum.pl import nip as stdnum_nip

from einvoice import events

WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Decision:
    problems: list[str]
    picks: dict[int, Decimal]  # line index -> quantity, merged


def invoicing_deadline(purchased_at: datetime, window_months: int) -> date:
    """The last day a receipt can be invoiced: the end of the `window_months`-th month after
    the month of purchase (Polish time)."""
    local = purchased_at.astimezone(WARSAW)
    month_index = local.year * 12 + (local.month - 1) + window_months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _digits(nip: str | None) -> str | None:
    return stdnum_nip.compact(nip) if nip else None


def decide(
    receipt: dict[str, Any],
    request: events.RetailInvoiceRequested,
    window_months: int,
    now: datetime,
) -> Decision:
    """`receipt` is the stored document: `receipt` (the ReceiptScanned payload as JSON) and
    `invoiced` (per line, quantities already reserved for invoices)."""
    problems: list[str] = []
    scanned = events.ReceiptScanned.model_validate(receipt["receipt"])
    deadline = invoicing_deadline(scanned.issued_at, window_months)
    if now.astimezone(WARSAW).date() > deadline:
        problems.append(f"the receipt could be invoiced until {deadline:%d.%m.%Y}")

    on_receipt, requested = _digits(scanned.buyer_nip), _digits(request.buyer.nip)
    if request.buyer_kind == "company":
        if not on_receipt:
            problems.append(
                "the receipt carries no NIP: since 2020 an invoice for a company can only be "
                "issued for a receipt showing the buyer's NIP (art. 106b ust. 5 ustawy o VAT)"
            )
        elif requested != on_receipt:
            problems.append(f"the NIP {request.buyer.nip} is not the NIP on the receipt")
    elif on_receipt:
        problems.append("the receipt carries a NIP: its invoice can only be for that company")

    picks: dict[int, Decimal] = defaultdict(Decimal)
    for pick in request.picks:
        picks[pick.line] += pick.quantity
    invoiced = receipt.get("invoiced") or [0] * len(scanned.lines)
    for index, quantity in sorted(picks.items()):
        if index >= len(scanned.lines):
            problems.append(f"the receipt has no line {index + 1}")
            continue
        line = scanned.lines[index]
        left = line.quantity - Decimal(str(invoiced[index]))
        if quantity > left:
            problems.append(
                f"line {index + 1} ({line.name}): {quantity} requested, {left} left to invoice"
            )
    return Decision(problems, dict(picks))


def invoice_lines(receipt: dict[str, Any], picks: dict[int, Decimal]) -> list[events.LineIn]:
    """The invoice's lines, priced from the receipt (gross), in the receipt's order."""
    scanned = events.ReceiptScanned.model_validate(receipt["receipt"])
    return [
        events.LineIn(
            name=scanned.lines[i].name,
            quantity=quantity,
            unit=scanned.lines[i].unit,
            unit_price=scanned.lines[i].unit_gross,
            vat_rate=scanned.lines[i].vat_rate,
        )
        for i, quantity in sorted(picks.items())
    ]
