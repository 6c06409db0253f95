"""Reading the shopper's invoice form: the picked lines and quantities, and the buyer. The
checks here are the ones a shopper can fix on the form; receipt-ingest decides the rest."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from starlette.datastructures import FormData
from stdnum.pl import nip as stdnum_nip

from einvoice import events
from gateway.shop.accounts.store import Account

BuyerKind = Literal["person", "company"]


def picked_quantities(form: FormData) -> dict[str, str]:
    return {
        k.removeprefix("qty_"): str(v)
        for k, v in form.items()
        if k.startswith("qty_") and form.get("pick_" + k.removeprefix("qty_"))
    }


def _acceptable(quantity: Decimal) -> bool:
    """Positive, finite, at most four decimal places."""
    exponent = quantity.as_tuple().exponent  # "n", "N" or "F" when not finite
    return isinstance(exponent, int) and exponent >= -4 and quantity > 0


def read_picks(
    form: FormData, receipt: dict[str, Any], t: dict[str, str]
) -> tuple[list[events.Pick], list[str]]:
    picks: list[events.Pick] = []
    errors: list[str] = []
    for line in receipt["lines"]:
        index = line["index"]
        if not form.get(f"pick_{index}"):
            continue
        try:
            quantity = Decimal(str(form.get(f"qty_{index}", "")).replace(",", "."))
        except InvalidOperation:
            quantity = Decimal(-1)
        if not _acceptable(quantity):
            errors.append(t["shop_err_qty"].format(n=index + 1))
        elif quantity > Decimal(line["remaining"]):
            errors.append(t["shop_err_too_much"].format(n=index + 1, left=line["remaining"]))
        else:
            picks.append(events.Pick(line=index, quantity=quantity))
    if not picks and not errors:
        errors.append(t["shop_err_no_lines"])
    return picks, errors


def read_buyer(
    form: FormData, receipt: dict[str, Any], account: Account, t: dict[str, str]
) -> tuple[dict[str, str], BuyerKind, list[str]]:
    def get(name: str) -> str:
        return str(form.get(name, "")).strip()[:200]

    kind: BuyerKind = (
        "company" if get("kind") == "company" or receipt.get("buyer_nip") else "person"
    )
    buyer = {
        "name": get("name"),
        "street": get("street"),
        "postal_code": get("postal_code"),
        "city": get("city"),
        "nip": "",
    }
    errors: list[str] = []
    if not all(buyer[k] for k in ("name", "street", "postal_code", "city")):
        errors.append(t["shop_err_required"])
    if kind == "company":
        nip = receipt.get("buyer_nip") or get("nip")
        if not stdnum_nip.is_valid(nip or ""):
            errors.append(t["shop_err_nip"])
        elif not receipt.get("buyer_nip"):
            errors.append(t["shop_no_nip_company"])
        buyer["nip"] = stdnum_nip.compact(nip) if nip else ""
    return buyer, kind, errors


def buyer_party(buyer: dict[str, str], email: str) -> events.Party:
    return events.Party(
        name=buyer["name"],
        nip=buyer["nip"] or None,
        email=email,
        address=events.Address(
            street=buyer["street"], postal_code=buyer["postal_code"], city=buyer["city"]
        ),
    )
