"""Spreadsheet-safe CSV: what Excel in Poland opens as intended, and cannot be tricked into
running (formula injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A text cell a spreadsheet will not run: `=`, `+`, `-`, `@` (and tab, CR) first get a
    leading apostrophe (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def decimal_comma(value: Any) -> str:
    """`"1234.5"` -> `"1234,50"` (no thousands separator, so Excel reads a number)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return safe_cell(value)
    return f"{amount:f}".replace(".", ",")


def spreadsheet_csv(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    """UTF-8 with a BOM (Excel), `;`-separated, CRLF line ends; cells already made safe."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
