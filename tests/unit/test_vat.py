"""VAT arithmetic: worked examples computed by hand, rounding edge cases and invariants."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest

from invoice_builder import vat
from invoice_builder.vat import Amounts, RateSummary

D = Decimal


@dataclass(frozen=True)
class L:
    """A minimal priced line (anything with quantity, unit_price and vat_rate will do)."""

    quantity: Decimal
    unit_price: Decimal
    vat_rate: str


def line(quantity: str, unit_price: str, vat_rate: str) -> L:
    return L(D(quantity), D(unit_price), vat_rate)


def row(vat_rate: str, net: str, vat_: str, gross: str) -> RateSummary:
    return RateSummary(vat_rate, D(net), D(vat_), D(gross))


def amounts(net: str, vat_: str, gross: str) -> Amounts:
    return Amounts(D(net), D(vat_), D(gross))


def assert_two_places(*values: Decimal) -> None:
    for value in values:
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -2, value


# --- rounding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),  # half a grosz rounds up (ROUND_HALF_EVEN would give 0.00)
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # ROUND_HALF_EVEN would give 0.02
        ("0.0049999", "0.00"),
        ("2.3046", "2.30"),
        ("22.9977", "23.00"),
        ("7", "7.00"),
        ("0", "0.00"),
        ("-0.001", "0.00"),  # no negative zero
        ("-0.005", "-0.01"),  # half rounds away from zero
    ],
)
def test_round_grosz_half_up(value: str, expected: str) -> None:
    result = vat.round_grosz(D(value))
    assert result == D(expected)
    assert str(result) == expected


def test_vat_from_net_rounds_half_up() -> None:
    # 0.50 x 5% = 0.025 -> 0.03; 10.50 x 5% = 0.525 -> 0.53 (half-even would give 0.52)
    assert vat.vat_from_net(D("0.50"), "5") == D("0.03")
    assert vat.vat_from_net(D("10.50"), "5") == D("0.53")
    # 0.10 x 23% = 0.023 -> 0.02; 0.11 x 23% = 0.0253 -> 0.03
    assert vat.vat_from_net(D("0.10"), "23") == D("0.02")
    assert vat.vat_from_net(D("0.11"), "23") == D("0.03")


def test_vat_from_gross() -> None:
    # 123.00 gross at 23%: 123 x 23 / 123 = 23.00 exactly
    assert vat.vat_from_gross(D("123.00"), "23") == D("23.00")
    # 108.00 at 8%: 108 x 8 / 108 = 8.00
    assert vat.vat_from_gross(D("108.00"), "8") == D("8.00")
    # 10.00 at 5%: 50 / 105 = 0.476190... -> 0.48
    assert vat.vat_from_gross(D("10.00"), "5") == D("0.48")
    # 1.00 at 23%: 23 / 123 = 0.186991... -> 0.19
    assert vat.vat_from_gross(D("1.00"), "23") == D("0.19")


@pytest.mark.parametrize("rate", ["0", "zw", "np"])
def test_zero_rates_carry_no_vat(rate: str) -> None:
    assert vat.vat_from_net(D("1234.56"), rate) == D("0.00")
    assert vat.vat_from_gross(D("1234.56"), rate) == D("0.00")
    assert vat.amounts_from_net(D("1234.56"), rate) == amounts("1234.56", "0.00", "1234.56")
    assert vat.amounts_from_gross(D("1234.56"), rate) == amounts("1234.56", "0.00", "1234.56")


def test_line_value_rounds_the_product_half_up() -> None:
    # 0.5 x 0.25 = 0.125 -> 0.13 (half-even would give 0.12)
    assert vat.line_value(D("0.5"), D("0.25")) == D("0.13")
    # 1.5 x 9.99 = 14.985 -> 14.99
    assert vat.line_value(D("1.5"), D("9.99")) == D("14.99")
    # 0.3333 x 0.0333 = 0.01109889 -> 0.01
    assert vat.line_value(D("0.3333"), D("0.0333")) == D("0.01")


def test_unknown_rate_and_basis_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown VAT rate"):
        vat.vat_from_net(D("1.00"), "7")
    with pytest.raises(ValueError, match="unknown VAT rate"):
        vat.calculate([line("1", "1.00", "22")], "net")
    with pytest.raises(ValueError, match="unknown price_basis"):
        vat.calculate([line("1", "1.00", "23")], "brutto")  # type: ignore[arg-type]


# --- worked examples: net basis ------------------------------------------------------------


def test_net_basis_single_line_and_tiny_line() -> None:
    # 3 x 33.33 @23%  -> line net 99.99, line VAT 99.99 x 0.23 = 22.9977 -> 23.00, gross 122.99
    # 1 x 0.01  @23%  -> line net  0.01, line VAT  0.01 x 0.23 =  0.0023 ->  0.00, gross   0.01
    # per rate: net 100.00, VAT 100.00 x 0.23 = 23.00, gross 123.00
    # (here the lines' VAT, 23.00 + 0.00, happens to agree with the summary)
    calc = vat.calculate([line("3", "33.33", "23"), line("1", "0.01", "23")], "net")
    assert calc.lines == (amounts("99.99", "23.00", "122.99"), amounts("0.01", "0.00", "0.01"))
    assert calc.summary == (row("23", "100.00", "23.00", "123.00"),)
    assert calc.totals == amounts("100.00", "23.00", "123.00")


def test_net_basis_per_rate_vat_differs_from_sum_of_line_vat() -> None:
    # The same goods as above, but the 33.33 item on three separate lines:
    #   3 lines of 1 x 33.33 @23%: each net 33.33, VAT 33.33 x 0.23 = 7.6659 -> 7.67, gross 41.00
    #   1 line  of 1 x 0.01  @23%: net 0.01, VAT 0.0023 -> 0.00, gross 0.01
    # Per-line rounding: VAT 7.67 x 3 + 0.00 = 23.01, gross 41.00 x 3 + 0.01 = 123.01.
    # Per-rate rounding (binding, art. 106e ust. 1 pkt 14): net 33.33 x 3 + 0.01 = 100.00,
    #   VAT 100.00 x 0.23 = 23.00, gross 123.00.
    lines = [line("1", "33.33", "23")] * 3 + [line("1", "0.01", "23")]
    calc = vat.calculate(lines, "net")
    assert calc.lines == (amounts("33.33", "7.67", "41.00"),) * 3 + (
        amounts("0.01", "0.00", "0.01"),
    )
    assert sum(a.vat for a in calc.lines) == D("23.01")  # what per-line rounding would give
    assert sum(a.gross for a in calc.lines) == D("123.01")
    assert calc.summary == (row("23", "100.00", "23.00", "123.00"),)  # what we bill
    assert calc.totals == amounts("100.00", "23.00", "123.00")


def test_net_basis_per_rate_rounding_can_also_round_up() -> None:
    # 2 lines of 1 x 10.02 @23%: each VAT 10.02 x 0.23 = 2.3046 -> 2.30; lines' VAT 4.60.
    # Per rate: net 20.04, VAT 20.04 x 0.23 = 4.6092 -> 4.61, gross 24.65.
    calc = vat.calculate([line("1", "10.02", "23"), line("1", "10.02", "23")], "net")
    assert sum(a.vat for a in calc.lines) == D("4.60")
    assert calc.summary == (row("23", "20.04", "4.61", "24.65"),)
    # Three lines of 0.02: each VAT 0.0046 -> 0.00; per rate 0.06 x 0.23 = 0.0138 -> 0.01.
    calc = vat.calculate([line("1", "0.02", "23")] * 3, "net")
    assert sum(a.vat for a in calc.lines) == D("0.00")
    assert calc.summary == (row("23", "0.06", "0.01", "0.07"),)


def test_net_basis_mixed_rates_in_fixed_order() -> None:
    # Given out of order; the summary must read 23, 8, 5, 0, zw, np.
    #   np : 1   x 20.00  = 20.00   VAT 0                                 gross  20.00
    #   5  : 1.5 x 9.99   = 14.985 -> 14.99   VAT 14.99 x 0.05 = 0.7495 -> 0.75   gross 15.74
    #   zw : 1   x 80.00  = 80.00   VAT 0                                 gross  80.00
    #   23 : 2   x 100.00 = 200.00  VAT 46.00                             gross 246.00
    #   0  : 1   x 50.00  = 50.00   VAT 0                                 gross  50.00
    #   8  : 3   x 12.50  = 37.50   VAT 37.50 x 0.08 = 3.00               gross  40.50
    # Totals: net 200.00 + 37.50 + 14.99 + 50.00 + 80.00 + 20.00 = 402.49
    #         VAT 46.00 + 3.00 + 0.75 = 49.75;  gross 402.49 + 49.75 = 452.24
    lines = [
        line("1", "20.00", "np"),
        line("1.5", "9.99", "5"),
        line("1", "80.00", "zw"),
        line("2", "100.00", "23"),
        line("1", "50.00", "0"),
        line("3", "12.50", "8"),
    ]
    calc = vat.calculate(lines, "net")
    assert calc.summary == (
        row("23", "200.00", "46.00", "246.00"),
        row("8", "37.50", "3.00", "40.50"),
        row("5", "14.99", "0.75", "15.74"),
        row("0", "50.00", "0.00", "50.00"),
        row("zw", "80.00", "0.00", "80.00"),
        row("np", "20.00", "0.00", "20.00"),
    )
    assert calc.totals == amounts("402.49", "49.75", "452.24")
    assert calc.lines[1] == amounts("14.99", "0.75", "15.74")


def test_only_present_rates_appear() -> None:
    calc = vat.calculate([line("1", "10.00", "zw"), line("1", "10.00", "8")], "net")
    assert [r.vat_rate for r in calc.summary] == ["8", "zw"]


def test_zero_value_line() -> None:
    # A free item (1 x 0.00 @23%) and a line whose product rounds to nothing
    # (0.001 x 1.00 = 0.001 -> 0.00) sit next to a paid line:
    #   1 x 0.00  @23% -> 0.00 / 0.00 / 0.00
    #   0.001 x 1.00 @8% -> 0.00 / 0.00 / 0.00, but the 8% row still appears (it is present)
    #   2 x 5.00  @23% -> net 10.00, VAT 2.30, gross 12.30
    calc = vat.calculate(
        [line("1", "0.00", "23"), line("0.001", "1.00", "8"), line("2", "5.00", "23")], "net"
    )
    assert calc.lines[0] == amounts("0.00", "0.00", "0.00")
    assert calc.lines[1] == amounts("0.00", "0.00", "0.00")
    assert calc.summary == (row("23", "10.00", "2.30", "12.30"), row("8", "0.00", "0.00", "0.00"))
    assert calc.totals == amounts("10.00", "2.30", "12.30")


# --- worked examples: gross basis ----------------------------------------------------------


def test_gross_basis_receipt() -> None:
    # A shop receipt, prices with VAT:
    #   2 x 4.99 @23%: gross 9.98, VAT 9.98 x 23 / 123 = 229.54 / 123 = 1.86618... -> 1.87,
    #                  net 9.98 - 1.87 = 8.11
    #   1 x 3.49 @5% : gross 3.49, VAT 3.49 x 5 / 105 = 17.45 / 105 = 0.16619... -> 0.17,
    #                  net 3.49 - 0.17 = 3.32
    # Totals: gross 13.47, VAT 2.04, net 11.43
    calc = vat.calculate([line("2", "4.99", "23"), line("1", "3.49", "5")], "gross")
    assert calc.lines == (amounts("8.11", "1.87", "9.98"), amounts("3.32", "0.17", "3.49"))
    assert calc.summary == (row("23", "8.11", "1.87", "9.98"), row("5", "3.32", "0.17", "3.49"))
    assert calc.totals == amounts("11.43", "2.04", "13.47")


def test_gross_basis_per_rate_vat_differs_from_sum_of_line_vat() -> None:
    # The same two rolls scanned separately: 2 lines of 1 x 4.99 @23%.
    #   each: VAT 4.99 x 23 / 123 = 114.77 / 123 = 0.93308... -> 0.93, net 4.06
    #   per-line: VAT 0.93 + 0.93 = 1.86, net 8.12
    #   per rate (binding): gross 9.98, VAT 1.87, net 8.11 - the receipt's figures
    calc = vat.calculate([line("1", "4.99", "23"), line("1", "4.99", "23")], "gross")
    assert calc.lines == (amounts("4.06", "0.93", "4.99"),) * 2
    assert sum(a.vat for a in calc.lines) == D("1.86")
    assert calc.summary == (row("23", "8.11", "1.87", "9.98"),)
    assert calc.totals == amounts("8.11", "1.87", "9.98")


def test_gross_basis_mixed_rates() -> None:
    # 23%: 1 x 12.30 -> VAT 12.30 x 23/123 = 2.30, net 10.00
    #  8%: 1 x 10.80 -> VAT 10.80 x 8/108 = 0.80, net 10.00
    #  5%: 4 x 2.50 = 10.00 -> VAT 10.00 x 5/105 = 0.47619 -> 0.48, net 9.52
    #  0%, zw, np: 1 x 1.00 each -> VAT 0, net 1.00
    # Totals: gross 12.30 + 10.80 + 10.00 + 3.00 = 36.10, VAT 3.58, net 32.52
    lines = [
        line("1", "1.00", "zw"),
        line("1", "12.30", "23"),
        line("1", "1.00", "np"),
        line("4", "2.50", "5"),
        line("1", "1.00", "0"),
        line("1", "10.80", "8"),
    ]
    calc = vat.calculate(lines, "gross")
    assert calc.summary == (
        row("23", "10.00", "2.30", "12.30"),
        row("8", "10.00", "0.80", "10.80"),
        row("5", "9.52", "0.48", "10.00"),
        row("0", "1.00", "0.00", "1.00"),
        row("zw", "1.00", "0.00", "1.00"),
        row("np", "1.00", "0.00", "1.00"),
    )
    assert calc.totals == amounts("32.52", "3.58", "36.10")


def test_same_prices_differ_by_basis() -> None:
    # 1 x 100.00 @23%: net basis -> 100.00 / 23.00 / 123.00;
    # gross basis -> VAT 100 x 23/123 = 18.699... -> 18.70, net 81.30, gross 100.00
    assert vat.calculate([line("1", "100.00", "23")], "net").totals == amounts(
        "100.00", "23.00", "123.00"
    )
    assert vat.calculate([line("1", "100.00", "23")], "gross").totals == amounts(
        "81.30", "18.70", "100.00"
    )


def test_vat_summary_directly() -> None:
    summary = vat.vat_summary([("8", D("10.00")), ("23", D("0.05")), ("8", D("0.01"))], "net")
    # 23: 0.05 x 0.23 = 0.0115 -> 0.01; 8: 10.01 x 0.08 = 0.8008 -> 0.80
    assert summary == (row("23", "0.05", "0.01", "0.06"), row("8", "10.01", "0.80", "10.81"))
    assert vat.totals_of(summary) == amounts("10.06", "0.81", "10.87")
    assert vat.totals_of(()) == amounts("0.00", "0.00", "0.00")


def test_large_amounts_are_exact() -> None:
    # 99999999.9999 x 9999.9999 = 999999989999.00000001 -> 999999989999.00
    calc = vat.calculate([line("99999999.9999", "9999.9999", "23")], "net")
    assert calc.lines[0].net == D("999999989999.00")
    # VAT 999999989999.00 x 0.23 = 229999997699.77
    assert calc.summary[0].vat == D("229999997699.77")


# --- property-style check against an independent oracle ------------------------------------

PERCENT = {"23": 23, "8": 8, "5": 5, "0": 0, "zw": 0, "np": 0}


def _half_up(value: Fraction) -> Fraction:
    """Round a non-negative fraction to whole grosze, halves up."""
    grosze = (value * 100 + Fraction(1, 2)).__floor__()
    return Fraction(grosze, 100)


def _oracle(lines: list[L], basis: str) -> dict[str, tuple[Fraction, Fraction, Fraction]]:
    """The per-rate (net, vat, gross) in exact fractions, written independently of vat.py."""
    sums: dict[str, Fraction] = {}
    for ln in lines:
        value = _half_up(Fraction(ln.quantity) * Fraction(ln.unit_price))
        sums[ln.vat_rate] = sums.get(ln.vat_rate, Fraction(0)) + value
    result = {}
    for rate, total in sums.items():
        p = PERCENT[rate]
        if basis == "net":
            tax = _half_up(total * p / 100)
            result[rate] = (total, tax, total + tax)
        else:
            tax = _half_up(total * p / (100 + p))
            result[rate] = (total - tax, tax, total)
    return result


def _random_decimal(rng: random.Random, max_units: int, places: int) -> Decimal:
    scale = 10**places
    return Decimal(rng.randint(0, max_units * scale)).scaleb(-places)


@pytest.mark.parametrize("seed", range(20))
def test_invariants_on_random_invoices(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        basis = rng.choice(["net", "gross"])
        lines = [
            L(
                quantity=_random_decimal(rng, rng.choice([1, 10, 1000]), rng.choice([0, 2, 4]))
                or D("1"),
                unit_price=_random_decimal(rng, rng.choice([1, 100, 100_000]), rng.choice([2, 4])),
                vat_rate=rng.choice(list(vat.RATE_ORDER)),
            )
            for _ in range(rng.randint(1, 25))
        ]
        calc = vat.calculate(lines, basis)  # type: ignore[arg-type]
        t = calc.totals

        # totals: gross == net + vat, and they are the sums of the summary rows
        assert t.gross == t.net + t.vat
        assert t.net == sum(r.net for r in calc.summary)
        assert t.vat == sum(r.vat for r in calc.summary)
        assert t.gross == sum(r.gross for r in calc.summary)

        # every amount has exactly two decimal places and is non-negative
        for a in (t, *calc.lines, *calc.summary):
            assert_two_places(a.net, a.vat, a.gross)
            assert a.net >= 0 and a.vat >= 0 and a.gross >= 0
            assert a.gross == a.net + a.vat

        # summary: rates present, each once, in the fixed order; zero rates carry no VAT
        rates = [r.vat_rate for r in calc.summary]
        assert rates == [r for r in vat.RATE_ORDER if r in {ln.vat_rate for ln in lines}]
        for r in calc.summary:
            if r.vat_rate in ("0", "zw", "np"):
                assert r.vat == 0 and r.net == r.gross

        # the summary's base is the plain sum of the lines' base amounts
        for r in calc.summary:
            mine = [a for a, ln in zip(calc.lines, lines, strict=True) if ln.vat_rate == r.vat_rate]
            base = "net" if basis == "net" else "gross"
            assert getattr(r, base) == sum(getattr(a, base) for a in mine)
            # per-line and per-rate VAT differ only by accumulated rounding
            assert abs(r.vat - sum(a.vat for a in mine)) <= D("0.005") * (len(mine) + 1)

        # and everything matches an exact-fraction oracle
        expected = _oracle(lines, basis)
        assert {r.vat_rate: (r.net, r.vat, r.gross) for r in calc.summary} == expected
