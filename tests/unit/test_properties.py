"""Property-based tests (hypothesis): the VAT and rounding arithmetic, the NIP checksum, the
amount in words, and the event decoder's promise that any bytes give an envelope or a
reason, never a crash."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.exceptions import ValidationError as NipError

from einvoice import events
from einvoice.bus import PermanentError, decode
from invoice_builder import vat
from invoice_builder.parties import normalize_nip
from invoice_pdf.words import amount_in_words
from tests.support.builders import FakeRecord

# Amounts as billing systems send them: up to 12 digits before the point, any number after.
amounts = st.decimals(
    min_value=Decimal("-999999999999"),
    max_value=Decimal("999999999999"),
    allow_nan=False,
    allow_infinity=False,
    places=6,
)
money = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("9999999999.99"), places=2, allow_nan=False
)
rates = st.sampled_from(vat.RATE_ORDER)
GROSZ = Decimal("0.01")


@given(amounts)
@example(Decimal("0.005"))
@example(Decimal("-0.005"))
@example(Decimal("-0.004"))
def test_rounding_to_the_grosz_is_half_up_and_at_most_half_a_grosz_away(value: Decimal) -> None:
    rounded = vat.round_grosz(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")
    if abs(rounded - value) == Decimal("0.005"):
        assert abs(rounded) > abs(value), "a half grosz rounds away from zero"
    assert not (rounded.is_zero() and rounded.is_signed()), "no negative zero"


@given(money, rates)
def test_from_net_gross_is_net_plus_vat_and_vat_is_the_rate_of_net(net: Decimal, rate) -> None:
    amounts_ = vat.amounts_from_net(net, rate)
    assert amounts_.gross == amounts_.net + amounts_.vat
    assert abs(amounts_.vat - net * vat.RATE_PERCENT[rate] / 100) <= Decimal("0.005")


@given(money, rates)
def test_from_gross_the_parts_add_up_and_vat_is_the_rate_contained(gross: Decimal, rate) -> None:
    amounts_ = vat.amounts_from_gross(gross, rate)
    assert amounts_.net + amounts_.vat == amounts_.gross == gross
    percent = vat.RATE_PERCENT[rate]
    exact = gross * percent / (100 + percent)
    assert abs(amounts_.vat - exact) <= Decimal("0.005")


class Line:
    def __init__(self, quantity: Decimal, unit_price: Decimal, vat_rate: str) -> None:
        self.quantity, self.unit_price, self.vat_rate = quantity, unit_price, vat_rate


lines = st.lists(
    st.builds(
        Line,
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("10000"), places=3),
        st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4),
        rates,
    ),
    min_size=1,
    max_size=30,
)


@given(lines, st.sampled_from(["net", "gross"]))
@settings(max_examples=200)
def test_the_summary_is_per_rate_on_sums_and_the_totals_are_its_sums(items, basis) -> None:
    calc = vat.calculate(items, basis)
    assert [row.vat_rate for row in calc.summary] == [
        r for r in vat.RATE_ORDER if any(i.vat_rate == r for i in items)
    ], "one row per rate present, in the statutory order"
    for row in calc.summary:
        values = [
            vat.line_value(i.quantity, i.unit_price) for i in items if i.vat_rate == row.vat_rate
        ]
        base = row.net if basis == "net" else row.gross
        assert base == sum(values, Decimal("0.00")), "the sum of the lines' values per rate"
        assert row.net + row.vat == row.gross
        expected = (
            vat.vat_from_net(row.net, row.vat_rate)
            if basis == "net"
            else vat.vat_from_gross(row.gross, row.vat_rate)
        )
        assert row.vat == expected, "VAT once on the sum, never the sum of the lines' VAT"
    assert calc.totals.net == sum((r.net for r in calc.summary), Decimal("0.00"))
    assert calc.totals.vat == sum((r.vat for r in calc.summary), Decimal("0.00"))
    assert calc.totals.gross == calc.totals.net + calc.totals.vat
    assert len(calc.lines) == len(items)


WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


def with_check_digit(first9: str) -> str | None:
    check = sum(int(d) * w for d, w in zip(first9, WEIGHTS, strict=True)) % 11
    return None if check == 10 else first9 + str(check)


nips = (
    st.text(alphabet="0123456789", min_size=9, max_size=9)
    .filter(lambda s: s[:3] != "000")
    .map(with_check_digit)
    .filter(lambda nip: nip is not None)
)


@given(nips, st.sampled_from(["{}", "PL{}", "{0}-{1}-{2}-{3}", "PL {0} {1} {2} {3}"]))
def test_every_nip_with_a_right_check_digit_is_accepted_however_written(nip: str, form) -> None:
    parts = (nip[:3], nip[3:6], nip[6:8], nip[8:])
    written = form.format(nip) if form.count("{") == 1 else form.format(*parts)
    assert normalize_nip(written) == nip


@given(nips, st.integers(0, 9), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught_by_the_checksum(nip: str, position: int, shift: int):
    digit = (int(nip[position]) + shift) % 10
    wrong = nip[:position] + str(digit) + nip[position + 1 :]
    with pytest.raises(NipError):
        normalize_nip(wrong)


WORDS = re.compile(r"^(minus )?[a-ząćęłńóśźż ]+ (złoty|złote|złotych) \d\d/100$")


@given(
    st.decimals(
        min_value=Decimal("-999999999999.99"),
        max_value=Decimal("999999999999.99"),
        places=2,
        allow_nan=False,
    )
)
@example(Decimal("0"))
@example(Decimal("1"))
@example(Decimal("12.05"))
@example(Decimal("1000000.01"))
def test_the_amount_in_words_is_polish_words_and_the_grosze_as_digits(amount: Decimal) -> None:
    text = amount_in_words(amount)
    assert WORDS.match(text), text
    assert text.endswith(f"{int(abs(amount) * 100) % 100:02d}/100")
    assert ("minus" in text) == (amount < 0)


@given(st.binary(max_size=2000))
def test_any_bytes_decode_to_an_envelope_or_a_reason(raw: bytes) -> None:
    try:
        decode(FakeRecord(events.INVOICE_REQUESTED, raw))
    except PermanentError as exc:
        assert str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.sampled_from(list(events.Envelope.model_fields)), json_values))
def test_any_json_object_decodes_to_an_envelope_or_a_reason(data: dict) -> None:
    raw = json.dumps(data).encode()
    try:
        env = decode(FakeRecord(events.INVOICE_REQUESTED, raw))
    except PermanentError as exc:
        assert str(exc)
    else:
        assert env.type == events.INVOICE_REQUESTED
