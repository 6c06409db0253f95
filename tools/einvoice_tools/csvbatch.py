"""Billing batches as CSV: one row per invoice line; rows with the same number form an invoice.

Columns (header row required; `;` or `,` as the delimiter):
number, issue_date, sale_date, due_date, price_basis, seller_name, seller_nip, seller_street,
seller_postal_code, seller_city, bank_account, buyer_name, buyer_nip, buyer_email,
buyer_street, buyer_postal_code, buyer_city, line_name, quantity, unit, unit_price, vat_rate
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = (
    "number",
    "issue_date",
    "sale_date",
    "due_date",
    "price_basis",
    "seller_name",
    "seller_nip",
    "seller_street",
    "seller_postal_code",
    "seller_city",
    "bank_account",
    "buyer_name",
    "buyer_nip",
    "buyer_email",
    "buyer_street",
    "buyer_postal_code",
    "buyer_city",
    "line_name",
    "quantity",
    "unit",
    "unit_price",
    "vat_rate",
)
REQUIRED = {
    "number",
    "issue_date",
    "seller_name",
    "seller_nip",
    "buyer_name",
    "line_name",
    "quantity",
    "unit_price",
    "vat_rate",
}


class CsvError(ValueError):
    pass


def _party(row: dict[str, str], prefix: str) -> dict[str, Any]:
    party: dict[str, Any] = {
        "name": row[f"{prefix}_name"],
        "address": {
            "street": row.get(f"{prefix}_street") or "-",
            "postal_code": row.get(f"{prefix}_postal_code") or "-",
            "city": row.get(f"{prefix}_city") or "-",
        },
    }
    if row.get(f"{prefix}_nip"):
        party["nip"] = row[f"{prefix}_nip"]
    if prefix == "buyer" and row.get("buyer_email"):
        party["email"] = row["buyer_email"]
    return party


def parse_csv(text: str) -> list[dict[str, Any]]:
    header = text.split("\n", 1)[0]
    if ";" not in header and "," not in header:
        raise CsvError("the first line must be a header with columns separated by ';' or ','")
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = REQUIRED - set(reader.fieldnames or [])
    if missing:
        raise CsvError(f"missing columns: {', '.join(sorted(missing))}")
    invoices: dict[str, dict[str, Any]] = {}
    for line_no, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not row.get("number"):
            raise CsvError(f"row {line_no}: number is empty")
        invoice = invoices.get(row["number"])
        if invoice is None:
            invoice = invoices[row["number"]] = {
                "number": row["number"],
                "issue_date": row["issue_date"],
                "price_basis": row.get("price_basis") or "net",
                "seller": _party(row, "seller"),
                "buyer": _party(row, "buyer"),
                "lines": [],
                "payment": {"method": "przelew"},
            }
            if row.get("sale_date"):
                invoice["sale_date"] = row["sale_date"]
            if row.get("due_date"):
                invoice["payment"]["due_date"] = row["due_date"]
            if row.get("bank_account"):
                invoice["payment"]["bank_account"] = row["bank_account"]
        invoice["lines"].append(
            {
                "name": row["line_name"],
                "quantity": row["quantity"],
                "unit": row.get("unit") or "szt.",
                "unit_price": row["unit_price"],
                "vat_rate": row["vat_rate"].removesuffix("%"),
            }
        )
    return list(invoices.values())


def to_csv(invoices: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for inv in invoices:
        seller, buyer, pay = inv["seller"], inv["buyer"], inv.get("payment", {})
        for line in inv["lines"]:
            writer.writerow(
                {
                    "number": inv["number"],
                    "issue_date": inv["issue_date"],
                    "sale_date": inv.get("sale_date", ""),
                    "due_date": pay.get("due_date", ""),
                    "price_basis": inv.get("price_basis", "net"),
                    "seller_name": seller["name"],
                    "seller_nip": seller.get("nip", ""),
                    "seller_street": seller["address"]["street"],
                    "seller_postal_code": seller["address"]["postal_code"],
                    "seller_city": seller["address"]["city"],
                    "bank_account": pay.get("bank_account", ""),
                    "buyer_name": buyer["name"],
                    "buyer_nip": buyer.get("nip", ""),
                    "buyer_email": buyer.get("email", ""),
                    "buyer_street": buyer["address"]["street"],
                    "buyer_postal_code": buyer["address"]["postal_code"],
                    "buyer_city": buyer["address"]["city"],
                    "line_name": line["name"],
                    "quantity": line["quantity"],
                    "unit": line.get("unit", "szt."),
                    "unit_price": line["unit_price"],
                    "vat_rate": line["vat_rate"],
                }
            )
    return out.getvalue()
