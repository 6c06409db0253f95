"""VAT arithmetic for Polish invoices: pure functions on `Decimal`, rounded to the grosz.

Two methods, chosen by the invoice's `price_basis`:

* ``"net"`` (utility billing) - unit prices are net.
  Line net = round(quantity x unit_price). Per rate: net = sum of the line nets,
  VAT = round(net x rate / 100), gross = net + VAT.
* ``"gross"`` (retail receipts) - unit prices are gross.
  Line gross = round(quantity x unit_price). Per rate: gross = sum of the line grosses,
  VAT = round(gross x rate / (100 + rate)), net = gross - VAT.

The binding VAT is the one in the per-rate summary, not the sum of the lines' VAT: the
invoice must state "the sum of the net values ... broken down by rate" and "the amount of
tax on the sum of the net values, broken down by rate" (art. 106e ust. 1 pkt 13 and 14
ustawy z dnia 11 marca 2004 r. o podatku od towarów i usług), so VAT is computed once on
the sum of values per rate. The per-line VAT (and per-line gross or net) is computed the
same way on each line, but only for display; the lines' VAT may therefore not add up to
the summary by a grosz or a few. The invoice totals are the sums of the summary rows.

Rounding is ROUND_HALF_UP to 0.01 PLN (half a grosz and more rounds up, away from zero),
as art. 106e ust. 11 requires.

Rates "0", "zw" (exempt) and "np" (not subject to VAT) all carry zero VAT but each has its
own summary row. Summary rows come in the order 23, 8, 5, 0, zw, np, and only the rates
present on the invoice appear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal, Protocol, get_args

from einvoice.events import VatRate

PriceBasis = Literal["net", "gross"]

GROSZ = Decimal("0.01")
ZERO = Decimal("0.00")

# Summary order; also the set of valid rates (the same as `einvoice.events.VatRate`).
RATE_ORDER: tuple[VatRate, ...] = ("23", "8", "5", "0", "zw", "np")
assert set(RATE_ORDER) == set(get_args(VatRate))

# The percentage each rate applies; "zw" and "np" carry no VAT.
RATE_PERCENT: dict[str, Decimal] = {
    "23": Decimal(23),
    "8": Decimal(8),
    "5": Decimal(5),
    "0": Decimal(0),
    "zw": Decimal(0),
    "np": Decimal(0),
}

# Enough precision that quantity x unit_price (at most 12 + 14 significant digits) and the
# division by 100 + rate are exact, or far more precise than the rounding to the grosz.
_PRECISION = 60


@dataclass(frozen=True, slots=True)
class Amounts:
    """Net, VAT and gross, each with exactly two decimal places; gross == net + vat."""

    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class RateSummary:
    """One row of the VAT summary: the binding amounts for one rate."""

    vat_rate: VatRate
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True, slots=True)
class Calculation:
    """Everything computed for one invoice.

    `lines` follows the input order and is for display; `summary` is binding; `totals`
    are the sums of the summary rows.
    """

    lines: tuple[Amounts, ...]
    summary: tuple[RateSummary, ...]
    totals: Amounts


class PricedLine(Protocol):
    """What the calculation needs of a line (`einvoice.events.LineIn` fits)."""

    @property
    def quantity(self) -> Decimal: ...

    @property
    def unit_price(self) -> Decimal: ...

    @property
    def vat_rate(self) -> VatRate: ...


def round_grosz(value: Decimal) -> Decimal:
    """Round to 0.01 with ROUND_HALF_UP; never returns a negative zero."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rounded = Decimal(value).quantize(GROSZ, rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded.is_zero() else rounded


def rate_percent(vat_rate: str) -> Decimal:
    """The percentage of a rate; raises ValueError on an unknown rate."""
    try:
        return RATE_PERCENT[vat_rate]
    except KeyError:
        raise ValueError(f"unknown VAT rate {vat_rate!r}; expected one of {RATE_ORDER}") from None


def vat_from_net(net: Decimal, vat_rate: str) -> Decimal:
    """VAT on a net amount: round(net x rate / 100)."""
    percent = rate_percent(vat_rate)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return round_grosz(net * percent / 100)


def vat_from_gross(gross: Decimal, vat_rate: str) -> Decimal:
    """VAT contained in a gross amount: round(gross x rate / (100 + rate))."""
    percent = rate_percent(vat_rate)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return round_grosz(gross * percent / (100 + percent))


def line_value(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """round(quantity x unit_price): the line's net (net basis) or gross (gross basis)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return round_grosz(quantity * unit_price)


def amounts_from_net(net: Decimal, vat_rate: str) -> Amounts:
    net = round_grosz(net)
    vat = vat_from_net(net, vat_rate)
    return Amounts(net=net, vat=vat, gross=net + vat)


def amounts_from_gross(gross: Decimal, vat_rate: str) -> Amounts:
    gross = round_grosz(gross)
    vat = vat_from_gross(gross, vat_rate)
    return Amounts(net=gross - vat, vat=vat, gross=gross)


def _amounts(value: Decimal, vat_rate: str, price_basis: PriceBasis) -> Amounts:
    if price_basis == "net":
        return amounts_from_net(value, vat_rate)
    if price_basis == "gross":
        return amounts_from_gross(value, vat_rate)
    raise ValueError(f"unknown price_basis {price_basis!r}; expected 'net' or 'gross'")


def line_amounts(
    quantity: Decimal, unit_price: Decimal, vat_rate: str, price_basis: PriceBasis
) -> Amounts:
    """One line's amounts, for display only (the summary is binding)."""
    return _amounts(line_value(quantity, unit_price), vat_rate, price_basis)


def vat_summary(
    values: Iterable[tuple[str, Decimal]], price_basis: PriceBasis
) -> tuple[RateSummary, ...]:
    """The binding per-rate summary from (vat_rate, line value) pairs.

    A line value is the line's rounded net on the net basis and its rounded gross on the
    gross basis. VAT is computed on the sum of the values per rate (art. 106e ust. 1
    pkt 14 ustawy o VAT), never by adding up the lines' VAT.
    """
    sums: dict[str, Decimal] = {}
    for vat_rate, value in values:
        rate_percent(vat_rate)  # reject unknown rates early
        sums[vat_rate] = sums.get(vat_rate, ZERO) + round_grosz(value)
    rows = []
    for vat_rate in RATE_ORDER:
        if vat_rate in sums:
            amounts = _amounts(sums[vat_rate], vat_rate, price_basis)
            rows.append(RateSummary(vat_rate, amounts.net, amounts.vat, amounts.gross))
    return tuple(rows)


def totals_of(summary: Iterable[RateSummary]) -> Amounts:
    """Invoice totals: the sums of the summary rows."""
    net = vat = gross = ZERO
    for row in summary:
        net += row.net
        vat += row.vat
        gross += row.gross
    return Amounts(net=net, vat=vat, gross=gross)


def calculate(lines: Sequence[PricedLine], price_basis: PriceBasis) -> Calculation:
    """Compute the display amounts of every line, the binding summary and the totals."""
    if price_basis not in ("net", "gross"):
        raise ValueError(f"unknown price_basis {price_basis!r}; expected 'net' or 'gross'")
    values = [(line.vat_rate, line_value(line.quantity, line.unit_price)) for line in lines]
    line_out = tuple(_amounts(value, rate, price_basis) for rate, value in values)
    summary = vat_summary(values, price_basis)
    return Calculation(lines=line_out, summary=summary, totals=totals_of(summary))
