"""Amounts in Polish words: numerals, the złoty/złote/złotych plural, the grosze fraction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoice_pdf.words import amount_in_words, integer_in_words, plural_form

D = Decimal
ZLOTY = ("złoty", "złote", "złotych")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "zero złotych 00/100"),
        ("0.01", "zero złotych 01/100"),
        ("0.99", "zero złotych 99/100"),
        ("1", "jeden złoty 00/100"),
        ("1.50", "jeden złoty 50/100"),
        ("2", "dwa złote 00/100"),
        ("3", "trzy złote 00/100"),
        ("4", "cztery złote 00/100"),
        ("5", "pięć złotych 00/100"),
        ("11", "jedenaście złotych 00/100"),
        ("12", "dwanaście złotych 00/100"),
        ("13", "trzynaście złotych 00/100"),
        ("14", "czternaście złotych 00/100"),
        ("21", "dwadzieścia jeden złotych 00/100"),
        ("22", "dwadzieścia dwa złote 00/100"),
        ("24.05", "dwadzieścia cztery złote 05/100"),
        ("25", "dwadzieścia pięć złotych 00/100"),
        ("100", "sto złotych 00/100"),
        ("101", "sto jeden złotych 00/100"),
        ("102", "sto dwa złote 00/100"),
        ("112", "sto dwanaście złotych 00/100"),
        ("122", "sto dwadzieścia dwa złote 00/100"),
        ("200", "dwieście złotych 00/100"),
        ("999.99", "dziewięćset dziewięćdziesiąt dziewięć złotych 99/100"),
        ("1000", "jeden tysiąc złotych 00/100"),
        ("1001", "jeden tysiąc jeden złotych 00/100"),
        ("1002", "jeden tysiąc dwa złote 00/100"),
        ("1012", "jeden tysiąc dwanaście złotych 00/100"),
        ("1234.56", "jeden tysiąc dwieście trzydzieści cztery złote 56/100"),
        ("2000", "dwa tysiące złotych 00/100"),
        ("5000", "pięć tysięcy złotych 00/100"),
        ("12000", "dwanaście tysięcy złotych 00/100"),
        ("22000", "dwadzieścia dwa tysiące złotych 00/100"),
        ("112000", "sto dwanaście tysięcy złotych 00/100"),
        ("1000000", "jeden milion złotych 00/100"),
        ("1001000", "jeden milion jeden tysiąc złotych 00/100"),
        ("2000002", "dwa miliony dwa złote 00/100"),
        ("5000000", "pięć milionów złotych 00/100"),
        ("1000000000", "jeden miliard złotych 00/100"),
        ("3000000000", "trzy miliardy złotych 00/100"),
        (
            # the largest Amount (max_digits=14, 2 places)
            "999999999999.99",
            "dziewięćset dziewięćdziesiąt dziewięć miliardów dziewięćset dziewięćdziesiąt"
            " dziewięć milionów dziewięćset dziewięćdziesiąt dziewięć tysięcy dziewięćset"
            " dziewięćdziesiąt dziewięć złotych 99/100",
        ),
        (
            "1234567891234.99",
            "jeden bilion dwieście trzydzieści cztery miliardy pięćset sześćdziesiąt siedem"
            " milionów osiemset dziewięćdziesiąt jeden tysięcy dwieście trzydzieści cztery"
            " złote 99/100",
        ),
    ],
)
def test_pln(amount: str, expected: str) -> None:
    assert amount_in_words(D(amount)) == expected


def test_default_currency_is_pln_and_code_is_case_insensitive() -> None:
    two = amount_in_words(D("2"))
    assert two == amount_in_words(D("2"), "PLN") == amount_in_words(D("2"), "pln")


def test_rounds_half_up_to_the_grosz() -> None:
    assert amount_in_words(D("1.005")) == "jeden złoty 01/100"
    assert amount_in_words(D("1.004")) == "jeden złoty 00/100"
    assert amount_in_words(D("1.995")) == "dwa złote 00/100"


def test_negative_amount_for_a_correcting_invoice() -> None:
    # num2words itself raises ValueError on a negative int
    assert amount_in_words(D("-12.50")) == "minus dwanaście złotych 50/100"
    assert amount_in_words(D("-1")) == "minus jeden złoty 00/100"
    assert amount_in_words(D("-0.001")) == "zero złotych 00/100"  # rounds to zero: no "minus"


def test_int_is_zloty_not_grosze() -> None:
    # num2words(5, to="currency") would say "zero złotych, pięć groszy"
    assert amount_in_words(5) == "pięć złotych 00/100"  # type: ignore[arg-type]


def test_float_goes_through_its_repr() -> None:
    assert amount_in_words(0.1 + 0.2) == "zero złotych 30/100"  # type: ignore[arg-type]


def test_other_currencies() -> None:
    assert amount_in_words(D("5"), "EUR") == "pięć euro 00/100"
    assert amount_in_words(D("2.10"), "USD") == "dwa dolary amerykańskie 10/100"
    assert amount_in_words(D("7"), "XYZ") == "siedem XYZ 00/100"


def test_not_finite_is_rejected() -> None:
    with pytest.raises(ValueError):
        amount_in_words(D("NaN"))


@pytest.mark.parametrize(
    ("n", "form"),
    [
        (0, "złotych"),
        (1, "złoty"),
        (2, "złote"),
        (4, "złote"),
        (5, "złotych"),
        (11, "złotych"),
        (12, "złotych"),
        (14, "złotych"),
        (21, "złotych"),
        (22, "złote"),
        (101, "złotych"),
        (112, "złotych"),
        (113, "złotych"),
        (123, "złote"),
        (1001, "złotych"),
        (1_000_000, "złotych"),
        (-3, "złote"),
    ],
)
def test_plural_form(n: int, form: str) -> None:
    assert plural_form(n, ZLOTY) == form


def test_plural_form_agrees_with_num2words() -> None:
    from num2words import CONVERTER_CLASSES

    pl = CONVERTER_CLASSES["pl"]
    for n in range(0, 2500):
        assert plural_form(n, ZLOTY) == pl.pluralize(n, ZLOTY), n


def test_integer_words_only_add_jeden_to_num2words() -> None:
    from num2words import num2words

    for n in [*range(0, 3000, 7), 1_000_000, 1_001_001, 21_000_000, 10**12 + 1]:
        ours = integer_in_words(n)
        assert ours.replace("jeden ", "") == num2words(n, lang="pl").replace("jeden ", ""), n
    assert integer_in_words(-7) == "minus siedem"


def test_a_wrong_expectation_fails() -> None:
    # the assertions above can fail: a near miss is not accepted
    assert amount_in_words(D("22")) != "dwadzieścia dwa złotych 00/100"
    assert amount_in_words(D("1234.56")) != "tysiąc dwieście trzydzieści cztery złote 56/100"
