"""Turn an `InvoiceRequested` into an `InvoiceIssued`, or a `Rejection` listing every problem.

Pure: no I/O, no clock. The checks run on top of what the event schema already enforces
(field types, lengths, at most four decimal places on quantities and unit prices, two on
declared totals). Field paths in the reasons use the request's JSON names, and line
indexes are zero-based like the `lines` array (`lines[0]` is position 1 on the invoice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from einvoice.events import (
    InvoiceIssued,
    InvoiceRequested,
    LineOut,
    Totals,
    VatSummaryRow,
)
from invoice_builder import vat
from invoice_builder.fa3_fields import fa3_problems
from invoice_builder.parties import check_nip, with_nip

# Art. 106i ust. 7 pkt 1 ustawy o VAT: an invoice may not be issued earlier than the 60th
# day before the sale. (Ust. 8 lifts that for periodic settlements such as utilities'
# forecast invoices; pass a larger `max_sale_days_after_issue`, or None, for those.)
MAX_SALE_DAYS_AFTER_ISSUE = 60

# `Amount` in the event schema has at most 14 digits, two of them after the point.
MAX_AMOUNT = Decimal("999999999999.99")

# A deliberately simple shape check: something@domain.tld, no spaces, one "@".
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


@dataclass(frozen=True)
class Rejection:
    """Why a request cannot become an invoice: every problem found, in English."""

    reasons: list[str]


def _fmt(amount: Decimal) -> str:
    return f"{amount:f}"


def issue(
    request: InvoiceRequested,
    *,
    max_sale_days_after_issue: int | None = MAX_SALE_DAYS_AFTER_ISSUE,
    today: date | None = None,
) -> InvoiceIssued | Rejection:
    """Validate the request and compute its amounts.

    Returns the issued invoice (NIPs normalised to 10 digits, lines numbered from 1, the
    binding per-rate VAT summary and the totals), or a `Rejection` with every problem.
    `max_sale_days_after_issue` bounds how far the sale date may lie after the issue date
    (None: no bound); a sale date before the issue date is always accepted. `today` (the
    date in Poland) refuses an issue date after it: KSeF refuses such an invoice.
    """
    reasons: list[str] = []
    if today is not None and request.issue_date > today:
        reasons.append(
            f"issue_date {request.issue_date.isoformat()} is in the future (today in Poland "
            f"is {today.isoformat()}); KSeF refuses an invoice dated after it receives it"
        )

    if request.currency != "PLN":
        reasons.append(f"currency {request.currency!r} is not supported; only 'PLN' is")

    # --- parties --------------------------------------------------------------------------
    seller_nip: str | None = None
    if request.seller.nip is None or not request.seller.nip.strip():
        reasons.append("seller.nip is required")
    else:
        seller_nip = check_nip("seller.nip", request.seller.nip, reasons)

    buyer_nip: str | None = None
    if request.buyer.nip is not None:
        buyer_nip = check_nip("buyer.nip", request.buyer.nip, reasons)

    email = request.buyer.email
    if email is not None and not _EMAIL.match(email):
        reasons.append(f"buyer.email {email!r} does not look like an e-mail address")

    # --- dates ----------------------------------------------------------------------------
    if (
        request.sale_date is not None
        and max_sale_days_after_issue is not None
        and request.sale_date - request.issue_date > timedelta(days=max_sale_days_after_issue)
    ):
        reasons.append(
            f"sale_date {request.sale_date.isoformat()} is more than "
            f"{max_sale_days_after_issue} days after issue_date {request.issue_date.isoformat()}"
        )
    due_date = request.payment.due_date
    if due_date is not None and due_date < request.issue_date:
        reasons.append(
            f"payment.due_date {due_date.isoformat()} is before "
            f"issue_date {request.issue_date.isoformat()}"
        )

    buyer_unit = fa3_problems(request, reasons)

    # --- lines ----------------------------------------------------------------------------
    if not request.lines:
        reasons.append("lines must contain at least one line")
    lines_ok = bool(request.lines)
    for index, line in enumerate(request.lines):
        if line.quantity <= 0:
            reasons.append(
                f"lines[{index}].quantity must be greater than 0 (got {_fmt(line.quantity)})"
            )
            lines_ok = False
        if line.unit_price < 0:
            reasons.append(
                f"lines[{index}].unit_price must not be negative (got {_fmt(line.unit_price)})"
            )
            lines_ok = False

    # Amount checks only make sense once every line is valid; a bad line would otherwise
    # also show up as a confusing totals mismatch.
    calculation: vat.Calculation | None = None
    if lines_ok:
        calculation = vat.calculate(request.lines, request.price_basis)
        reasons.extend(_amount_problems(request, calculation))

    if reasons or calculation is None:
        return Rejection(reasons=reasons)

    return InvoiceIssued(
        invoice_id=request.invoice_id,
        batch_id=request.batch_id,
        number=request.number,
        issue_date=request.issue_date,
        # A billing period's end is the day the service was completed: the sale date the
        # PDF prints (FA(3) writes the period, `OkresFa`, instead).
        sale_date=request.sale_date or (period.end if (period := request.billing_period) else None),
        price_basis=request.price_basis,
        currency=request.currency,
        seller=with_nip(request.seller, seller_nip),
        buyer=with_nip(request.buyer, buyer_nip),
        lines=[
            LineOut(
                position=index + 1,
                name=line.name,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
                net=amounts.net,
                vat=amounts.vat,
                gross=amounts.gross,
            )
            for index, (line, amounts) in enumerate(
                zip(request.lines, calculation.lines, strict=True)
            )
        ],
        vat_summary=[
            VatSummaryRow(vat_rate=row.vat_rate, net=row.net, vat=row.vat, gross=row.gross)
            for row in calculation.summary
        ],
        totals=Totals(
            net=calculation.totals.net,
            vat=calculation.totals.vat,
            gross=calculation.totals.gross,
        ),
        payment=request.payment,
        notes=request.notes,
        customer_id=request.customer_id,
        billing_period=request.billing_period,
        exemption=request.exemption,
        split_payment=request.split_payment,
        buyer_jst=request.buyer_jst,
        buyer_vat_group=request.buyer_vat_group,
        buyer_unit=buyer_unit,
        meter_readings=request.meter_readings,
    )


def _amount_problems(request: InvoiceRequested, calculation: vat.Calculation) -> list[str]:
    problems: list[str] = []
    basis = request.price_basis  # the amount the line's unit price multiplies into
    if all(getattr(amounts, basis).is_zero() for amounts in calculation.lines):
        problems.append(
            f"lines must include at least one line with a non-zero amount "
            f"(every line's {basis} rounds to 0.00)"
        )

    # All amounts are non-negative here, so the gross total is the largest of them.
    if calculation.totals.gross > MAX_AMOUNT:
        problems.append(
            f"totals.gross {_fmt(calculation.totals.gross)} exceeds the largest amount "
            f"an invoice can carry ({_fmt(MAX_AMOUNT)})"
        )

    declared = request.declared_totals
    if declared is not None:
        for field in ("net", "vat", "gross"):
            stated: Decimal = getattr(declared, field)
            computed: Decimal = getattr(calculation.totals, field)
            if stated != computed:
                problems.append(
                    f"declared_totals.{field} {_fmt(stated)} does not match "
                    f"the lines' {_fmt(computed)}"
                )
    return problems
