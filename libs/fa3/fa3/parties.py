"""The seller (`Podmiot1`), the buyer (`Podmiot2`) and the unit of a JST or VAT-group buyer
the invoice concerns (`Podmiot3`)."""

from __future__ import annotations

from typing import Any

from einvoice import events
from fa3.values import Fa3Error, sub

# `TRolaPodmiotu3`: 8 the JST's subordinate unit (recipient), 10 a VAT-group member
# (recipient).
ROLE_JST_UNIT = "8"
ROLE_VAT_GROUP_MEMBER = "10"


def address(parent: Any, name: str, value: events.Address) -> None:
    """`TAdres`: the country, the street on the first line, postal code and city on the
    second."""
    node = sub(parent, name)
    sub(node, "KodKraju", value.country)
    sub(node, "AdresL1", value.street)
    sub(node, "AdresL2", f"{value.postal_code} {value.city}")


def seller(parent: Any, party: events.Party) -> None:
    if not party.nip:
        raise Fa3Error("the seller has no NIP")
    node = sub(parent, "Podmiot1")
    ids = sub(node, "DaneIdentyfikacyjne")
    sub(ids, "NIP", party.nip)
    sub(ids, "Nazwa", party.name)
    address(node, "Adres", party.address)
    if party.email:
        sub(sub(node, "DaneKontaktowe"), "Email", party.email)


def buyer(parent: Any, invoice: events.InvoiceIssued) -> None:
    """A business by its NIP; a consumer without one (`BrakID`). `JST` and `GV` are
    mandatory: 1 when the invoice concerns a JST's unit or a VAT-group member, else 2."""
    party = invoice.buyer
    node = sub(parent, "Podmiot2")
    ids = sub(node, "DaneIdentyfikacyjne")
    if party.nip:
        sub(ids, "NIP", party.nip)
    else:
        sub(ids, "BrakID", "1")
    sub(ids, "Nazwa", party.name)
    address(node, "Adres", party.address)
    if invoice.customer_id:
        sub(node, "NrKlienta", invoice.customer_id)
    sub(node, "JST", "1" if invoice.buyer_jst else "2")
    sub(node, "GV", "1" if invoice.buyer_vat_group else "2")


def buyer_unit(parent: Any, invoice: events.InvoiceIssued) -> None:
    """`Podmiot3` for the unit a JST or VAT-group invoice concerns (FA(3) asks for it when
    `JST` or `GV` is 1, so the unit can see the invoice in KSeF)."""
    unit = invoice.buyer_unit
    if unit is None:
        if invoice.buyer_jst or invoice.buyer_vat_group:
            raise Fa3Error("a JST or VAT-group invoice needs the unit it concerns (buyer_unit)")
        return
    if not unit.nip:
        raise Fa3Error("buyer_unit needs a NIP")
    node = sub(parent, "Podmiot3")
    ids = sub(node, "DaneIdentyfikacyjne")
    sub(ids, "NIP", unit.nip)
    sub(ids, "Nazwa", unit.name)
    address(node, "Adres", unit.address)
    sub(node, "Rola", ROLE_VAT_GROUP_MEMBER if invoice.buyer_vat_group else ROLE_JST_UNIT)
