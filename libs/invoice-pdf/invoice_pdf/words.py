"""Amounts in Polish words, the way invoices print them after "Słownie:".

    >>> amount_in_words(Decimal("1234.56"))
    'jeden tysiąc dwieście trzydzieści cztery złote 56/100'

The form is the one Polish invoicing software conventionally prints: the whole units in
words, the currency noun in the case the number governs (1 złoty, 2-4 złote, 5-21 złotych,
22 złote, 112 złotych, 1001 złotych ...), then the minor units as a fraction "NN/100".

The cardinal numerals come from num2words (``lang="pl"``), which is correct for every
non-negative integer; this module only works around three things in it:

* ``to="currency"`` reads an ``int`` as grosze (``num2words(5, to="currency")`` is
  "zero złotych, pięć groszy") and a ``float`` through binary rounding, so it is never
  used: the integer part is passed separately as an ``int``.
* ``to="cardinal"`` raises ``ValueError`` on a negative ``int``, so the sign is handled here
  (a correcting invoice can have a negative total: "minus ...").
* num2words writes a lone thousand/million as "tysiąc"/"milion" - correct Polish, but
  documents of payment conventionally write "jeden tysiąc", "jeden milion" (it leaves no
  room to prepend a digit word), so "jeden" is added before each such group word.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from num2words import num2words

__all__ = ["amount_in_words", "integer_in_words", "plural_form"]

# (1, 2-4, 5+) forms of the major currency unit, in the nominative/genitive that
# Polish numerals govern. Codes not listed print the ISO code itself ("12 CHF").
_CURRENCY_FORMS: dict[str, tuple[str, str, str]] = {
    "PLN": ("złoty", "złote", "złotych"),
    "EUR": ("euro", "euro", "euro"),
    "USD": ("dolar amerykański", "dolary amerykańskie", "dolarów amerykańskich"),
    "GBP": ("funt szterling", "funty szterlingi", "funtów szterlingów"),
    "CHF": ("frank szwajcarski", "franki szwajcarskie", "franków szwajcarskich"),
}

# The singular (form for exactly one) of every group word num2words uses:
# tysiąc, milion, miliard, bilion, biliard, trylion ...
_SINGULAR_GROUP_WORDS = frozenset(
    {"tysiąc"}
    | {
        prefix + suffix
        for prefix in ("mi", "bi", "try", "kwadry", "kwinty", "seksty", "septy", "okty", "nony")
        for suffix in ("lion", "liard")
    }
)

_CENT = Decimal("0.01")


def plural_form(n: int, forms: tuple[str, str, str]) -> str:
    """Pick the Polish noun form a cardinal number governs.

    ``forms`` is (one, few, many), e.g. ("złoty", "złote", "złotych"): 1 takes "one"
    (only 1 itself - 21, 101 and 1001 take "many"); a number ending in 2, 3 or 4 but not
    in 12, 13 or 14 takes "few"; everything else, 0 included, takes "many".
    """
    n = abs(n)
    if n == 1:
        return forms[0]
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def integer_in_words(n: int) -> str:
    """A non-negative or negative integer in Polish words, "jeden tysiąc" style."""
    if n < 0:
        return "minus " + integer_in_words(-n)
    words = num2words(n, lang="pl").split()
    out: list[str] = []
    for word in words:
        if word in _SINGULAR_GROUP_WORDS:
            out.append("jeden")
        out.append(word)
    return " ".join(out)


def amount_in_words(amount: Decimal | int | str | float, currency: str = "PLN") -> str:
    """``amount`` in Polish words: "<whole units in words> <currency noun> NN/100".

    The amount is rounded half-up to the grosz first. Examples::

        0       -> "zero złotych 00/100"
        1       -> "jeden złoty 00/100"
        22.05   -> "dwadzieścia dwa złote 05/100"
        1001    -> "jeden tysiąc jeden złotych 00/100"
        -12.5   -> "minus dwanaście złotych 50/100"
    """
    if not isinstance(amount, Decimal):
        # int/str are exact; a float is taken through its shortest repr, not its binary value.
        amount = Decimal(str(amount))
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    amount = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    negative = amount < 0
    cents_total = int(abs(amount) * 100)
    whole, cents = divmod(cents_total, 100)

    code = currency.strip().upper()
    forms = _CURRENCY_FORMS.get(code, (code, code, code))
    words = integer_in_words(whole)
    text = f"{words} {plural_form(whole, forms)} {cents:02d}/100"
    return f"minus {text}" if negative and cents_total else text
