"""einvoice_tools.csvbatch: billing batches as CSV, one row per invoice line."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from einvoice_tools.csvbatch import COLUMNS, CsvError, parse_csv, to_csv
from einvoice_tools.demo import demo_invoices
from gateway.api.batch_events import batch_events


def demo(count: int) -> list[dict]:
    return demo_invoices(count, seed=11, period=date(2025, 1, 31))


def rows_csv(rows: list[dict[str, str]], delimiter: str, columns=COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def row(**overrides: str) -> dict[str, str]:
    base = {
        "number": "FV/1",
        "issue_date": "2025-01-31",
        "sale_date": "2025-01-30",
        "due_date": "2025-02-14",
        "price_basis": "net",
        "seller_name": "Acme Sp. z o.o.",
        "seller_nip": "5260250274",
        "seller_street": "ul. Prosta 1",
        "seller_postal_code": "00-001",
        "seller_city": "Warszawa",
        "bank_account": "PL61 1090 1014 0000 0712 1981 2874",
        "buyer_name": "Kowalski, Jan",  # a comma inside a value
        "buyer_nip": "",
        "buyer_email": "jan@example.pl",
        "buyer_street": "ul. Krzywa 2",
        "buyer_postal_code": "30-001",
        "buyer_city": "Kraków",
        "line_name": "Woda",
        "quantity": "12.5",
        "unit": "m³",
        "unit_price": "5.87",
        "vat_rate": "8",
    }
    return base | overrides


EXPECTED_FV1 = {
    "number": "FV/1",
    "issue_date": "2025-01-31",
    "sale_date": "2025-01-30",
    "price_basis": "net",
    "seller": {
        "name": "Acme Sp. z o.o.",
        "nip": "5260250274",
        "address": {"street": "ul. Prosta 1", "postal_code": "00-001", "city": "Warszawa"},
    },
    "buyer": {
        "name": "Kowalski, Jan",
        "email": "jan@example.pl",
        "address": {"street": "ul. Krzywa 2", "postal_code": "30-001", "city": "Kraków"},
    },
    "lines": [
        {"name": "Woda", "quantity": "12.5", "unit": "m³", "unit_price": "5.87", "vat_rate": "8"}
    ],
    "payment": {
        "method": "przelew",
        "due_date": "2025-02-14",
        "bank_account": "PL61 1090 1014 0000 0712 1981 2874",
    },
}


def test_round_trip_of_demo_invoices() -> None:
    invoices = demo(6)
    text = to_csv(invoices)
    assert text.splitlines()[0] == ";".join(COLUMNS)
    # one row per line plus the header
    assert len(text.splitlines()) == 1 + sum(len(inv["lines"]) for inv in invoices)
    assert parse_csv(text) == invoices


def test_round_trip_survives_delimiters_inside_values() -> None:
    invoices = demo(1)
    invoices[0]["buyer"]["name"] = "Nowak; Syn, i Wnuk"
    invoices[0]["lines"][0]["name"] = "Woda; okres 01.2025, odczyt"
    assert parse_csv(to_csv(invoices)) == invoices


@pytest.mark.parametrize("name", ['Firma "Nowak" Sp. j.', 'PHU "Ala; Ola"'])
def test_round_trip_survives_double_quotes_in_values(name: str) -> None:
    invoices = demo(1)
    invoices[0]["buyer"]["name"] = name
    assert parse_csv(to_csv(invoices))[0]["buyer"]["name"] == name


@pytest.mark.parametrize("delimiter", [";", ","])
def test_parses_semicolon_and_comma_files(delimiter: str) -> None:
    assert parse_csv(rows_csv([row()], delimiter)) == [EXPECTED_FV1]


def test_rows_with_the_same_number_form_one_invoice_in_order() -> None:
    text = rows_csv(
        [
            row(),
            row(number="FV/2", line_name="Abonament", quantity="1", unit="", unit_price="12.50"),
            row(line_name="Ścieki", quantity="12.5", unit_price="8.12"),
        ],
        ";",
    )
    invoices = parse_csv(text)
    assert [inv["number"] for inv in invoices] == ["FV/1", "FV/2"]
    assert [ln["name"] for ln in invoices[0]["lines"]] == ["Woda", "Ścieki"]
    assert invoices[1]["lines"] == [
        {
            "name": "Abonament",
            "quantity": "1",
            "unit": "szt.",
            "unit_price": "12.50",
            "vat_rate": "8",
        }
    ]


def test_optional_columns_may_be_absent() -> None:
    required = (
        "number",
        "issue_date",
        "seller_name",
        "seller_nip",
        "buyer_name",
        "line_name",
        "quantity",
        "unit_price",
        "vat_rate",
    )
    invoices = parse_csv(rows_csv([row()], ";", columns=required))
    assert invoices == [
        {
            "number": "FV/1",
            "issue_date": "2025-01-31",
            "price_basis": "net",
            "seller": {
                "name": "Acme Sp. z o.o.",
                "nip": "5260250274",
                "address": {"street": "-", "postal_code": "-", "city": "-"},
            },
            "buyer": {
                "name": "Kowalski, Jan",
                "address": {"street": "-", "postal_code": "-", "city": "-"},
            },
            "lines": [
                {
                    "name": "Woda",
                    "quantity": "12.5",
                    "unit": "szt.",
                    "unit_price": "5.87",
                    "vat_rate": "8",
                }
            ],
            "payment": {"method": "przelew"},
        }
    ]


def test_missing_required_columns_are_named() -> None:
    columns = [c for c in COLUMNS if c not in {"vat_rate", "buyer_name"}]
    with pytest.raises(CsvError) as info:
        parse_csv(rows_csv([row()], ";", columns=columns))
    assert str(info.value) == "missing columns: buyer_name, vat_rate"


def test_an_empty_number_names_the_row() -> None:
    text = rows_csv([row(), row(number="  ")], ";")
    with pytest.raises(CsvError, match=r"^row 3: number is empty$"):
        parse_csv(text)


def test_a_percent_vat_rate_is_accepted() -> None:
    text = rows_csv([row(vat_rate="23%"), row(vat_rate="8%", line_name="B")], ";")
    invoices = parse_csv(text)
    assert [ln["vat_rate"] for ln in invoices[0]["lines"]] == ["23", "8"]
    envs, problems = batch_events("t", "b", invoices)
    assert problems == [] and len(envs) == 1
    assert [ln["vat_rate"] for ln in envs[0].payload["lines"]] == ["23", "8"]


def test_values_are_trimmed() -> None:
    invoices = parse_csv(rows_csv([row(number=" FV/1 ", quantity=" 12.5 ")], ";"))
    assert invoices[0]["number"] == "FV/1"
    assert invoices[0]["lines"][0]["quantity"] == "12.5"


def test_a_parsed_csv_makes_a_valid_batch() -> None:
    envs, problems = batch_events("t", "b", parse_csv(to_csv(demo(4))))
    assert problems == []
    assert len(envs) == 4


@pytest.mark.parametrize("text", ["", "number\nFV/1\n"], ids=["empty", "one-column"])
def test_an_undelimited_file_is_a_csv_error(text: str) -> None:
    with pytest.raises(CsvError):
        parse_csv(text)
