"""invoice-builder, retail: a reserved request becomes an invoice numbered in the chain's
series, with VAT from gross prices, marked as issued for its receipt."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

import fa3
from einvoice import events
from invoice_builder.retail import RetailDeps, on_retail_reserved, series_of
from tests.support.fa3 import text
from tests.support.fakes import FakeInvoiceRepository, FakeStore

CHAIN = "chain-x"
SELLER = {
    "name": "Sklepy Żabka-Test Sp. z o.o.",
    "nip": "7740001454",
    "address": {"street": "ul. Handlowa 1", "postal_code": "61-001", "city": "Poznań"},
}


class Tenants:
    def __init__(self, config: events.TenantConfig | None) -> None:
        self.config = config

    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return self.config if tenant_id == CHAIN else None


def chain(**overrides) -> events.TenantConfig:
    return events.TenantConfig.model_validate(
        {
            "tenant_id": CHAIN,
            "name": "Sieć",
            "kind": "retail",
            "seller": SELLER,
            "accounting_email": "faktury@siec.pl",
        }
        | overrides
    )


def reserved(invoice_id: str = "inv-1", event_id: str = "res-1") -> events.Envelope:
    payload = events.RetailInvoiceReserved(
        invoice_id=invoice_id,
        receipt_id="r-1",
        receipt_number="0042/K1",
        store_id="S01",
        purchased_at=datetime(2026, 11, 20, 17, 5, tzinfo=UTC),
        shopper_id="s-1",
        shopper_email="ola@example.pl",
        buyer_kind="person",
        buyer={
            "name": "Ola Żak",
            "email": "ola@example.pl",
            "address": {"street": "ul. Polna 1", "postal_code": "00-001", "city": "Warszawa"},
        },
        lines=[
            {"name": "Chleb", "quantity": "2", "unit_price": "4.99", "vat_rate": "5"},
            {"name": "Kawa", "quantity": "1", "unit_price": "29.99", "vat_rate": "23"},
        ],
        payment_method="karta",
    )
    return events.envelope(
        events.RETAIL_RESERVED, payload, tenant_id=CHAIN, correlation_id="r-1", event_id=event_id
    )


@pytest.fixture
def repo() -> FakeInvoiceRepository:
    return FakeInvoiceRepository()


def deps(repo, config=None) -> RetailDeps:
    return RetailDeps(
        invoices=repo,
        tenants=Tenants(config or chain()),
        today=lambda: date(2026, 11, 22),
        store=FakeStore(),
        now=lambda: datetime(2026, 11, 22, 9, 15, tzinfo=UTC),
    )


async def issue(event: events.Envelope, deps: RetailDeps) -> dict:
    [out] = await on_retail_reserved(event, deps)
    return json.loads(out.value)


async def test_issued_in_the_chains_series_with_vat_from_gross(repo) -> None:
    body = await issue(reserved(), deps(repo))
    assert body["type"] == events.INVOICE_ISSUED
    invoice = body["payload"]
    assert invoice["number"] == "FV/2026/11/000001"
    assert invoice["price_basis"] == "gross"
    # 9.98 gross at 5%: VAT = 9.98 * 5/105 = 0.475... -> 0.48; 29.99 at 23%: 5.607... -> 5.61
    assert invoice["vat_summary"] == [
        {"vat_rate": "23", "net": "24.38", "vat": "5.61", "gross": "29.99"},
        {"vat_rate": "5", "net": "9.50", "vat": "0.48", "gross": "9.98"},
    ]
    assert invoice["totals"] == {"net": "33.88", "vat": "6.09", "gross": "39.97"}
    assert invoice["receipt"]["number"] == "0042/K1"
    assert invoice["recipients"] == ["ola@example.pl", "faktury@siec.pl"]
    assert invoice["sale_date"] == "2026-11-20" and invoice["issue_date"] == "2026-11-22"
    assert "0042/K1" in invoice["notes"]


async def test_its_fa3_xml_is_fp_with_the_number_it_was_given(repo) -> None:
    d = deps(repo)
    body = await issue(reserved(), d)
    [(key, stored)] = d.store.objects.items()
    xml = stored["body"]
    assert key == f"{CHAIN}/2026/11/inv-1.fa3.xml" == body["payload"]["fa3"]["s3_key"]
    assert fa3.validate(xml) == []
    assert text(xml, "Fa/P_2") == "FV/2026/11/000001"  # not the placeholder it was checked with
    assert text(xml, "Fa/FP") == "1"
    assert text(
        xml,
        "Fa/DodatkowyOpis/Wartosc",
    ).startswith("nr 0042/K1 z dnia 20.11.2026")
    assert text(xml, "Podmiot2/DaneIdentyfikacyjne/NIP") == body["payload"]["buyer"]["nip"]
    assert text(xml, "Naglowek/DataWytworzeniaFa") == "2026-11-22T09:15:00Z"


async def test_numbers_follow_each_other_and_a_redelivery_takes_none(repo) -> None:
    d = deps(repo)
    first = await issue(reserved("inv-1", "res-1"), d)
    again = await issue(reserved("inv-1", "res-1"), d)
    second = await issue(reserved("inv-2", "res-2"), d)
    assert again == first | {"occurred_at": again["occurred_at"]}
    assert [first["payload"]["number"], second["payload"]["number"]] == [
        "FV/2026/11/000001",
        "FV/2026/11/000002",
    ]


async def test_a_chain_without_seller_data_rejects_without_taking_a_number(repo) -> None:
    body = await issue(reserved(), deps(repo, chain(seller=None)))
    assert body["type"] == events.INVOICE_REJECTED
    assert body["payload"]["reasons"] == ["the chain has no seller data configured"]
    assert body["payload"]["batch_id"] == "r-1"
    assert not any(r.get("seq") for r in repo.records.values())


def test_a_series_is_its_number_without_the_sequence() -> None:
    series, number_of = series_of("FV/{year}/{month:02d}/{seq:06d}", date(2026, 3, 9))
    assert series == "FV/2026/03/000000"
    assert number_of(123) == "FV/2026/03/000123"
