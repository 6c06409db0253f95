"""How FA(3) spells values: amounts, quantities, prices, dates, codes; and the element helper.

Everything here is deterministic: the same value always gives the same text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from einvoice.events import VatRate
from fa3.validation import NAMESPACE

_NS = "{" + NAMESPACE + "}"
GROSZ = Decimal("0.01")

# Characters KSeF refuses although XML 1.0 allows them ("niezalecane znaki Unicode",
# docs/faktury/weryfikacja-faktury.md), and the C0 controls XML itself forbids.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


class Fa3Error(ValueError):
    """The invoice cannot be written as FA(3) (a value KSeF refuses)."""


def sub(parent: Any, name: str, text: str | None = None) -> Any:
    """Append the FA(3) element `name` to `parent`, with `text` if given."""
    element = etree.SubElement(parent, _NS + name)
    if text is not None:
        if _REFUSED.search(text):
            raise Fa3Error(f"{name}: contains a character KSeF refuses: {text!r}")
        element.text = text
    return element


def root(name: str) -> Any:
    return etree.Element(_NS + name, nsmap={None: NAMESPACE})


def amount(value: Decimal) -> str:
    """`TKwotowy`: the amount to the grosz, always two decimal places ("12.30")."""
    return f"{value.quantize(GROSZ):f}"


def plain(value: Decimal) -> str:
    """`TIlosci` (quantity): no exponent, no trailing zeros ("1.25", "100")."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def price(value: Decimal) -> str:
    """`TKwotowy2` (unit price): at least two decimal places, at most the four we keep."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return amount(value)
    return plain(value)


def day(value: date) -> str:
    return value.isoformat()


def moment(value: datetime) -> str:
    """`TDataCzas` in UTC, to the second: `2026-02-01T09:30:00Z` (needs a zone-aware value)."""
    if value.tzinfo is None:
        raise Fa3Error("the creation time needs a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Our rate -> (P_12 as the XSD's enumeration spells it, the P_13 field, the P_14 field).
# 0 is the domestic 0% ("0 KR"; intra-EU supply and export need a foreign buyer einvoice
# cannot name); np is "np I", supplies outside Poland (P_13_8): "np II" (P_13_9) is for
# services of art. 100 ust. 1 pkt 4 to a buyer identified for VAT in another member state,
# which a Polish NIP or no id cannot be.
RATES: dict[str, tuple[str, str, str | None]] = {
    "23": ("23", "P_13_1", "P_14_1"),
    "8": ("8", "P_13_2", "P_14_2"),
    "5": ("5", "P_13_3", "P_14_3"),
    "0": ("0 KR", "P_13_6_1", None),
    "zw": ("zw", "P_13_7", None),
    "np": ("np I", "P_13_8", None),
}

# FA(3) field order of the per-rate sums (the XSD's sequence).
SUM_ORDER: tuple[VatRate, ...] = ("23", "8", "5", "0", "zw", "np")

# `FormaPlatnosci`: 1 cash, 2 card, 3 voucher, 4 cheque, 5 credit, 6 transfer, 7 mobile.
_PAYMENT_FORMS = {
    "gotówka": 1,
    "gotowka": 1,
    "cash": 1,
    "karta": 2,
    "karta płatnicza": 2,
    "card": 2,
    "bon": 3,
    "voucher": 3,
    "czek": 4,
    "kredyt": 5,
    "przelew": 6,
    "przelew bankowy": 6,
    "transfer": 6,
    "blik": 7,
    "mobilna": 7,
    "płatność mobilna": 7,
}


def payment_form(method: str) -> int | None:
    """The `FormaPlatnosci` code of our free-text payment method; None: another form."""
    return _PAYMENT_FORMS.get(" ".join(method.lower().split()))


def account(number: str) -> str:
    """`NrRB`: the account number as given, without spaces or dashes."""
    return re.sub(r"[\s-]", "", number)
