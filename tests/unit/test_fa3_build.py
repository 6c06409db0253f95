"""fa3.build: each rate, net and gross pricing, the buyers, JST / GV, MPP, the billing period,
the retail invoice for a receipt, the payment; every XML valid against the official XSD."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from lxml import etree

import fa3
from einvoice import events
from tests.support.fa3 import (
    BUSINESS_BUYER,
    CREATED_AT,
    EXEMPTION,
    JST_UNIT,
    NS,
    amount,
    build,
    line,
    text,
    texts,
    utility_invoice,
)

# rate -> (P_12, the net sum's field, the VAT's field)
RATES = {
    "23": ("23", "P_13_1", "P_14_1"),
    "8": ("8", "P_13_2", "P_14_2"),
    "5": ("5", "P_13_3", "P_14_3"),
    "0": ("0 KR", "P_13_6_1", None),
    "zw": ("zw", "P_13_7", None),
    "np": ("np I", "P_13_8", None),
}
ALL_SUM_FIELDS = {"P_13_1", "P_14_1", "P_13_2", "P_14_2", "P_13_3", "P_14_3"} | {
    "P_13_4",
    "P_13_5",
    "P_13_6_1",
    "P_13_6_2",
    "P_13_6_3",
    "P_13_7",
    "P_13_8",
    "P_13_9",
    "P_13_10",
    "P_13_11",
}


@pytest.mark.parametrize("rate", list(RATES))
@pytest.mark.parametrize("basis", ["net", "gross"])
def test_each_rate_goes_to_its_own_fields(rate: str, basis: str) -> None:
    invoice = utility_invoice(
        price_basis=basis,
        lines=[line("Usługa", "3", "33.33", rate), line("Druga", "1.5", "10.01", rate)],
        exemption=EXEMPTION if rate == "zw" else None,
    )
    xml = build(invoice)
    p_12, net_field, vat_field = RATES[rate]
    [row] = invoice.vat_summary
    assert texts(xml, "Fa/FaWiersz/P_12") == [p_12, p_12]
    assert amount(xml, f"Fa/{net_field}") == row.net
    if vat_field:
        assert amount(xml, f"Fa/{vat_field}") == row.vat
    present = {f for f in ALL_SUM_FIELDS if text(xml, f"Fa/{f}") is not None}
    assert present == {net_field} | ({vat_field} if vat_field else set())
    assert amount(xml, "Fa/P_15") == invoice.totals.gross


def test_net_pricing_writes_net_unit_prices_and_values() -> None:
    xml = build(utility_invoice(lines=[line("Energia", "12.5", "0.6543", "23")]))
    assert texts(xml, "Fa/FaWiersz/P_8B") == ["12.5"]
    assert texts(xml, "Fa/FaWiersz/P_9A") == ["0.6543"]
    assert texts(xml, "Fa/FaWiersz/P_11") == ["8.18"]
    assert texts(xml, "Fa/FaWiersz/P_9B") == texts(xml, "Fa/FaWiersz/P_11A") == []


def test_gross_pricing_writes_gross_unit_prices_and_values() -> None:
    invoice = utility_invoice(price_basis="gross", lines=[line("Kawa", "2", "29.99", "23")])
    xml = build(invoice)
    assert texts(xml, "Fa/FaWiersz/P_9B") == ["29.99"]
    assert texts(xml, "Fa/FaWiersz/P_11A") == ["59.98"]
    assert texts(xml, "Fa/FaWiersz/P_9A") == texts(xml, "Fa/FaWiersz/P_11") == []
    # VAT from gross: 59.98 x 23/123 = 11.22; net 48.76
    assert (amount(xml, "Fa/P_13_1"), amount(xml, "Fa/P_14_1")) == (
        Decimal("48.76"),
        Decimal("11.22"),
    )
    assert amount(xml, "Fa/P_15") == Decimal("59.98")


def test_header_and_seller() -> None:
    xml = build(utility_invoice())
    code = etree.fromstring(xml).find("f:Naglowek/f:KodFormularza", NS)
    assert code is not None and code.text == "FA"
    assert dict(code.attrib) == {"kodSystemowy": "FA (3)", "wersjaSchemy": "1-0E"}
    assert text(xml, "Naglowek/WariantFormularza") == "3"
    assert text(xml, "Naglowek/DataWytworzeniaFa") == "2026-02-02T08:30:15Z"
    assert text(xml, "Naglowek/SystemInfo") == "einvoice"
    assert text(xml, "Podmiot1/DaneIdentyfikacyjne/NIP") == "5260250274"
    assert text(xml, "Podmiot1/DaneIdentyfikacyjne/Nazwa") == "Acme Energia Sp. z o.o."
    assert text(xml, "Podmiot1/Adres/AdresL1") == "ul. Prosta 1"
    assert text(xml, "Podmiot1/Adres/AdresL2") == "00-001 Warszawa"
    assert (text(xml, "Fa/KodWaluty"), text(xml, "Fa/P_1")) == ("PLN", "2026-02-01")
    assert text(xml, "Fa/P_2") == "FV/2025/01/0001"
    assert text(xml, "Fa/RodzajFaktury") == "VAT"
    assert text(xml, "Fa/FP") is None


def test_a_consumer_has_no_id_and_a_business_its_nip_and_customer_number() -> None:
    consumer = build(utility_invoice())
    assert text(consumer, "Podmiot2/DaneIdentyfikacyjne/BrakID") == "1"
    assert text(consumer, "Podmiot2/DaneIdentyfikacyjne/NIP") is None
    assert text(consumer, "Podmiot2/NrKlienta") is None
    business = build(utility_invoice(buyer=BUSINESS_BUYER, customer_id="K-0042"))
    assert text(business, "Podmiot2/DaneIdentyfikacyjne/NIP") == BUSINESS_BUYER["nip"]
    assert text(business, "Podmiot2/DaneIdentyfikacyjne/BrakID") is None
    assert text(business, "Podmiot2/DaneIdentyfikacyjne/Nazwa") == BUSINESS_BUYER["name"]
    assert text(business, "Podmiot2/NrKlienta") == "K-0042"
    for xml in (consumer, business):
        assert (text(xml, "Podmiot2/JST"), text(xml, "Podmiot2/GV")) == ("2", "2")
        assert texts(xml, "Podmiot3") == []


@pytest.mark.parametrize(
    ("marker", "jst", "gv", "role"),
    [("buyer_jst", "1", "2", "8"), ("buyer_vat_group", "2", "1", "10")],
)
def test_jst_and_vat_group_invoices_name_the_unit_in_podmiot3(
    marker: str, jst: str, gv: str, role: str
) -> None:
    xml = build(utility_invoice(buyer=BUSINESS_BUYER, buyer_unit=JST_UNIT, **{marker: True}))
    assert (text(xml, "Podmiot2/JST"), text(xml, "Podmiot2/GV")) == (jst, gv)
    assert text(xml, "Podmiot3/DaneIdentyfikacyjne/NIP") == JST_UNIT["nip"]
    assert text(xml, "Podmiot3/DaneIdentyfikacyjne/Nazwa") == JST_UNIT["name"]
    assert text(xml, "Podmiot3/Rola") == role


def test_split_payment_marks_p_18a() -> None:
    assert text(build(utility_invoice()), "Fa/Adnotacje/P_18A") == "2"
    mpp = build(utility_invoice(buyer=BUSINESS_BUYER, split_payment=True))
    assert text(mpp, "Fa/Adnotacje/P_18A") == "1"


def test_the_annotations_are_complete() -> None:
    xml = build(utility_invoice())
    for field, value in [("P_16", "2"), ("P_17", "2"), ("P_18", "2"), ("P_23", "2")]:
        assert text(xml, f"Fa/Adnotacje/{field}") == value
    assert text(xml, "Fa/Adnotacje/Zwolnienie/P_19N") == "1"
    assert text(xml, "Fa/Adnotacje/NoweSrodkiTransportu/P_22N") == "1"
    assert text(xml, "Fa/Adnotacje/PMarzy/P_PMarzyN") == "1"


@pytest.mark.parametrize(
    ("basis", "field"), [("act", "P_19A"), ("directive", "P_19B"), ("other", "P_19C")]
)
def test_an_exempt_invoice_states_the_basis_of_its_exemption(basis: str, field: str) -> None:
    invoice = utility_invoice(
        lines=[line("Usługa medyczna", "1", "100", "zw"), line("Energia", "1", "10", "23")],
        exemption={"basis": basis, "text": "art. 43 ust. 1 pkt 18"},
    )
    xml = build(invoice)
    assert text(xml, "Fa/Adnotacje/Zwolnienie/P_19") == "1"
    assert text(xml, f"Fa/Adnotacje/Zwolnienie/{field}") == "art. 43 ust. 1 pkt 18"
    assert text(xml, "Fa/Adnotacje/Zwolnienie/P_19N") is None


def test_a_billing_period_replaces_the_sale_date() -> None:
    period = {"start": "2026-01-01", "end": "2026-01-31"}
    xml = build(utility_invoice(sale_date=None, billing_period=period))
    assert (text(xml, "Fa/OkresFa/P_6_Od"), text(xml, "Fa/OkresFa/P_6_Do")) == (
        "2026-01-01",
        "2026-01-31",
    )
    assert text(xml, "Fa/P_6") is None
    sold = build(utility_invoice(sale_date="2026-01-31"))
    assert text(sold, "Fa/P_6") == "2026-01-31" and text(sold, "Fa/OkresFa/P_6_Od") is None
    same_day = build(utility_invoice(sale_date="2026-02-01"))
    assert text(same_day, "Fa/P_6") is None  # only a sale date other than P_1 (the XSD)


def retail_invoice(purchased_at: datetime) -> events.InvoiceIssued:
    invoice = utility_invoice(
        price_basis="gross",
        buyer=BUSINESS_BUYER,
        sale_date="2026-01-31",
        lines=[line("Chleb żytni", "2", "4.99", "5"), line("Kawa ziarnista", "1", "29.99", "23")],
        payment={"method": "karta"},
        notes="Faktura do paragonu nr 0042/S001.",
    )
    receipt = events.ReceiptRef(
        receipt_id="r-1", number="0042", store_id="S001", purchased_at=purchased_at
    )
    return invoice.model_copy(update={"receipt": receipt})


def test_a_retail_invoice_for_a_receipt_is_fp_paid_and_names_the_receipt() -> None:
    # 23:30 UTC on 31 January is 00:30 on 1 February in Warsaw
    xml = build(retail_invoice(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)))
    assert text(xml, "Fa/FP") == "1"
    assert text(xml, "Fa/DodatkowyOpis/Klucz") == "Paragon fiskalny"
    assert text(xml, "Fa/DodatkowyOpis/Wartosc") == "nr 0042 z dnia 01.02.2026 00:30, sklep S001"
    assert text(xml, "Fa/Platnosc/Zaplacono") == "1"
    assert text(xml, "Fa/Platnosc/DataZaplaty") == "2026-02-01"
    assert text(xml, "Fa/Platnosc/FormaPlatnosci") == "2"
    assert texts(xml, "Fa/FaWiersz/P_9B") == ["4.99", "29.99"]
    assert text(xml, "Stopka/Informacje/StopkaFaktury") == "Faktura do paragonu nr 0042/S001."


def test_payment_terms_bank_account_and_form() -> None:
    payment = {
        "method": "przelew",
        "due_date": "2026-02-15",
        "bank_account": "PL61 1090 1014 0000 0712 1981 2874",
    }
    xml = build(utility_invoice(payment=payment))
    assert text(xml, "Fa/Platnosc/TerminPlatnosci/Termin") == "2026-02-15"
    assert text(xml, "Fa/Platnosc/FormaPlatnosci") == "6"
    assert text(xml, "Fa/Platnosc/RachunekBankowy/NrRB") == "PL61109010140000071219812874"
    assert text(xml, "Fa/Platnosc/Zaplacono") is None


@pytest.mark.parametrize(
    ("method", "form"), [("gotówka", "1"), ("Karta", "2"), ("BLIK", "7"), ("Przelew", "6")]
)
def test_known_payment_methods_map_to_their_code(method: str, form: str) -> None:
    assert (
        text(build(utility_invoice(payment={"method": method})), "Fa/Platnosc/FormaPlatnosci")
        == form
    )


def test_another_payment_method_is_described() -> None:
    xml = build(utility_invoice(payment={"method": "kompensata"}))
    assert text(xml, "Fa/Platnosc/FormaPlatnosci") is None
    assert text(xml, "Fa/Platnosc/PlatnoscInna") == "1"
    assert text(xml, "Fa/Platnosc/OpisPlatnosci") == "kompensata"


# --- the bytes ---------------------------------------------------------------------------


def test_the_same_invoice_gives_the_same_bytes_even_after_a_round_trip_through_json() -> None:
    invoice = retail_invoice(datetime(2026, 1, 31, 12, 0, tzinfo=UTC))
    again = events.InvoiceIssued.model_validate_json(invoice.model_dump_json())
    first = fa3.build(invoice, created_at=CREATED_AT)
    assert fa3.build(again, created_at=CREATED_AT.replace(microsecond=0)) == first
    assert fa3.build(invoice, created_at=CREATED_AT.replace(second=16)) != first


def test_utf8_without_a_bom_with_the_fa3_namespace() -> None:
    xml = build(utility_invoice())
    assert xml.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">'
    )
    assert "Opłata mocowa".encode() in xml
    assert b"<?" not in xml[1:]  # no processing instruction after the prolog


def test_a_broken_invoice_fails_validation() -> None:
    xml = build(utility_invoice())
    no_total = xml.replace(b"<P_15>144.59</P_15>", b"")
    problems = fa3.validate(no_total)
    assert problems and "Adnotacje': This element is not expected" in problems[0]
    assert fa3.validate(xml.replace(b"<P_12>23</P_12>", b"<P_12>22.5</P_12>"))
    # the mapping writes what it is given; the schema catches a too-short account number
    short = fa3.build(
        utility_invoice(payment={"method": "przelew", "bank_account": "12 34"}),
        created_at=CREATED_AT,
    )
    assert any("NrRB" in problem for problem in fa3.validate(short))
    assert fa3.validate(b"<Faktura>") and fa3.validate(b"not xml")


def test_characters_ksef_refuses_and_a_time_without_a_zone_are_errors() -> None:
    with pytest.raises(fa3.Fa3Error, match="P_7"):
        fa3.build(
            utility_invoice(lines=[line("Usł\x80uga", "1", "1", "23")]), created_at=CREATED_AT
        )
    with pytest.raises(fa3.Fa3Error, match="time zone"):
        fa3.build(utility_invoice(), created_at=datetime(2026, 2, 2, 8, 0))
