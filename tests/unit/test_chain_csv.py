"""The chain's CSV export without a server: Excel's BOM and `;`, the Polish decimal comma,
the column order, and no formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import pytest

from gateway.chain.invoices import CSV_COLUMNS, csv_bytes, decimal_comma, safe_cell

ROW = {
    "invoice_id": "inv-1",
    "number": "FV/2025/03/000007",
    "issue_date": "2025-03-14",
    "store_id": "S001",
    "buyer_name": 'Józefina Żółkiewska; "Pani" od kawy',
    "buyer_nip": "5261040828",
    "total_gross": "1234.5",
    "stage": "mailed",
}


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_header_bom_separator_and_decimal_comma() -> None:
    data = csv_bytes([ROW])
    assert data.startswith("\ufeffnumer;data wystawienia;sklep;nabywca;NIP;brutto;".encode())
    assert b"\r\n" in data
    header, row = parse(data)
    assert tuple(header) == CSV_COLUMNS
    assert row == [
        "FV/2025/03/000007",
        "2025-03-14",
        "S001",
        'Józefina Żółkiewska; "Pani" od kawy',  # quoted by the writer, `;` and `"` survive
        "5261040828",
        "1234,50",
        "mailed",
        "inv-1",
        "",
        "",
    ]


def test_an_invoice_still_in_flight_has_empty_cells() -> None:
    _, row = parse(csv_bytes([{"invoice_id": "inv-2", "stage": "requested"}]))
    assert row == ["", "", "", "", "", "", "requested", "inv-2", "", ""]


def test_the_ksef_state_and_number_come_last() -> None:
    number = "5261040828-20260301-0A1B2C3D4E5F-7A"
    registered = ROW | {"ksef_status": "registered", "ksef_number": number}
    _, row, old = parse(csv_bytes([registered, ROW | {"ksef_status": "made-up"}]))
    assert CSV_COLUMNS[-2:] == ("status KSeF", "numer KSeF")
    assert row[-2:] == ["registered", number]
    assert old[-2:] == ["", ""], "an unknown state is shown as none"


def test_no_rows_is_just_the_header() -> None:
    assert parse(csv_bytes([])) == [list(CSV_COLUMNS)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+48 600 000 000", "'+48 600 000 000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("Kowalski = Nowak", "Kowalski = Nowak"),
        ("", ""),
        (None, ""),
    ],
)
def test_formula_cells_are_defused(value, expected) -> None:
    assert safe_cell(value) == expected


def test_a_hostile_buyer_name_in_the_file() -> None:
    _, row = parse(csv_bytes([ROW | {"buyer_name": "=cmd|' /C calc'!A0", "number": "@x"}]))
    assert row[0] == "'@x" and row[3] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("34.33", "34,33"), ("1234.5", "1234,50"), ("0", "0,00"), (None, ""), ("", "")],
)
def test_decimal_comma(value, expected) -> None:
    assert decimal_comma(value) == expected


def test_something_not_a_number_in_the_amount_column_is_defused_too() -> None:
    assert decimal_comma("=1+1") == "'=1+1"
