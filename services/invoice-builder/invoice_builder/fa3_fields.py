"""What FA(3) needs of a request beyond its lines and amounts: a consistent billing period,
the legal basis of an exemption, split payment (MPP) and the JST / VAT-group markers only
where they make sense."""

from __future__ import annotations

from einvoice.events import InvoiceRequested, Party
from invoice_builder.parties import check_nip, with_nip


def fa3_problems(request: InvoiceRequested, reasons: list[str]) -> Party | None:
    """Check what FA(3) needs beyond the lines (billing period, exemption basis, MPP, JST and
    VAT-group markers); return the buyer's unit with its NIP normalised."""
    period = request.billing_period
    if period is not None:
        if period.end < period.start:
            reasons.append(
                f"billing_period.end {period.end.isoformat()} is before "
                f"billing_period.start {period.start.isoformat()}"
            )
        if request.sale_date is not None and request.sale_date != period.end:
            reasons.append(
                f"sale_date {request.sale_date.isoformat()} is not the billing period's end "
                f"{period.end.isoformat()} (leave sale_date out with a billing_period)"
            )
    exempt = [i for i, line in enumerate(request.lines) if line.vat_rate == "zw"]
    if exempt and request.exemption is None:
        reasons.append(
            f"lines[{exempt[0]}] is exempt (vat_rate 'zw'): exemption, the legal basis of "
            "the exemption, is required"
        )
    if not exempt and request.exemption is not None:
        reasons.append("exemption is given but no line is exempt (vat_rate 'zw')")
    if request.split_payment and request.buyer.nip is None:
        reasons.append("split_payment (MPP) applies only to a business buyer with a NIP")
    markers = [name for name in ("buyer_jst", "buyer_vat_group") if getattr(request, name)]
    if len(markers) == 2:
        reasons.append("buyer_jst and buyer_vat_group cannot both be set")
    if markers and request.buyer.nip is None:
        reasons.append(f"{markers[0]} needs the buyer's NIP")
    unit = request.buyer_unit
    if markers and unit is None:
        reasons.append(f"{markers[0]} needs buyer_unit, the unit the invoice concerns")
    if unit is None:
        return None
    if not markers:
        reasons.append("buyer_unit is only for buyer_jst or buyer_vat_group")
    if unit.nip is None:
        reasons.append("buyer_unit.nip is required")
        return unit
    return with_nip(unit, check_nip("buyer_unit.nip", unit.nip, reasons))
