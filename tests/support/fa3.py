"""Invoices for the FA(3) tests, and reading the XML back: the text of an element by its path
without the namespace (`Fa/P_15`), every occurrence of a repeated one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

import fa3
from einvoice import events
from tests.support.builders import BUYER_NIP, issued_invoice

CREATED_AT = datetime(2026, 2, 2, 8, 30, 15, 123456, tzinfo=UTC)
NS = {"f": fa3.NAMESPACE}

BUSINESS_BUYER: dict[str, Any] = {
    "name": "Piekarnia Pod Kłosem Sp. z o.o.",
    "nip": BUYER_NIP,
    "address": {"street": "ul. Młyńska 7", "postal_code": "31-100", "city": "Kraków"},
    "email": "ksiegowosc@piekarnia.example.pl",
}
JST_UNIT: dict[str, Any] = {
    "name": "Szkoła Podstawowa nr 5 w Krakowie",
    "nip": "5260250274",
    "address": {"street": "ul. Szkolna 5", "postal_code": "31-200", "city": "Kraków"},
}
EXEMPTION = {"basis": "act", "text": "art. 43 ust. 1 pkt 10 ustawy o VAT"}


def utility_invoice(**overrides: Any) -> events.InvoiceIssued:
    """A utility invoice of February 2026 (the default request of `builders`, redated)."""
    fields: dict[str, Any] = {
        "issue_date": "2026-02-01",
        "sale_date": "2026-01-31",
        "payment": {"method": "przelew", "due_date": "2026-02-15"},
    }
    return issued_invoice(**(fields | overrides))


def line(name: str, quantity: str, unit_price: str, vat_rate: str) -> dict[str, str]:
    return {"name": name, "quantity": quantity, "unit_price": unit_price, "vat_rate": vat_rate}


def build(invoice: events.InvoiceIssued) -> bytes:
    """The invoice's FA(3) XML, asserted valid against the official schema."""
    xml = fa3.build(invoice, created_at=CREATED_AT)
    assert fa3.validate(xml) == [], xml.decode()
    return xml


def texts(xml: bytes, path: str) -> list[str]:
    """The text of every element at `path` (`Fa/FaWiersz/P_12`), under `Faktura`."""
    steps = "/".join(f"f:{step}" for step in path.split("/"))
    return [node.text for node in etree.fromstring(xml).xpath(f"/f:Faktura/{steps}", namespaces=NS)]


def text(xml: bytes, path: str) -> str | None:
    found = texts(xml, path)
    assert len(found) <= 1, f"{path} occurs {len(found)} times"
    return found[0] if found else None


def amount(xml: bytes, path: str) -> Decimal | None:
    value = text(xml, path)
    return None if value is None else Decimal(value)
