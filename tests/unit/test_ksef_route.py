"""Which invoices invoice-builder sends to KSeF: decided at issue from the tenant's settings."""

from __future__ import annotations

from datetime import date

import pytest

from einvoice import events
from invoice_builder.handlers import Deps, on_invoice_requested
from invoice_builder.ksef_route import ksef_target
from tests.support.builders import (
    BUYER_NIP,
    SELLER_NIP,
    TENANT,
    decoded,
    request_payload,
    requested_event,
)
from tests.support.fakes import FakeInvoiceRepository, FakeStore

BUSINESS_NIP = BUYER_NIP


def settings(**overrides: object) -> events.KsefSettings:
    values: dict[str, object] = {
        "environment": "test",
        "context_nip": SELLER_NIP,
        "token_sealed": "sealed",
        "start_date": date(2025, 1, 1),
    }
    return events.KsefSettings.model_validate(values | overrides)


class Tenants:
    def __init__(self, ksef: events.KsefSettings | None) -> None:
        self.config = events.TenantConfig(tenant_id=TENANT, name="Acme", kind="utility", ksef=ksef)

    def get(self, tenant_id: str) -> events.TenantConfig | None:
        return self.config if tenant_id == TENANT else None


async def issued(ksef: events.KsefSettings | None, **payload: object) -> events.InvoiceIssued:
    deps = Deps(invoices=FakeInvoiceRepository(), store=FakeStore(), tenants=Tenants(ksef))
    out = await on_invoice_requested(requested_event(request_payload(**payload)), deps)
    body = decoded(out[0])
    assert body["type"] == events.INVOICE_ISSUED, body
    return events.InvoiceIssued.model_validate(body["payload"])


def business_buyer() -> dict[str, object]:
    buyer = request_payload()["buyer"]
    return buyer | {"nip": BUSINESS_NIP, "name": "Firma Sp. z o.o."}


async def test_a_business_invoice_goes_to_ksef_under_the_tenants_context() -> None:
    invoice = await issued(settings(), buyer=business_buyer())
    assert invoice.ksef == events.KsefTarget(environment="test", context_nip=SELLER_NIP)


async def test_a_consumer_invoice_stays_outside_by_default_and_goes_in_when_chosen() -> None:
    assert (await issued(settings())).ksef is None
    chosen = await issued(settings(consumers="ksef", environment="demo"))
    assert chosen.ksef == events.KsefTarget(environment="demo", context_nip=SELLER_NIP)


async def test_nothing_goes_to_ksef_before_the_start_date_or_without_settings() -> None:
    later = settings(start_date=date(2025, 2, 1))  # the request's issue date is 2025-01-31
    assert (await issued(later, buyer=business_buyer())).ksef is None
    assert (await issued(None, buyer=business_buyer())).ksef is None


@pytest.mark.parametrize(
    ("start", "expected"), [(date(2025, 1, 31), True), (date(2025, 2, 1), False)]
)
def test_the_start_date_counts_the_issue_day_itself(start: date, expected: bool) -> None:
    invoice = events.InvoiceIssued.model_validate(
        {
            "invoice_id": "i",
            "batch_id": "b",
            "number": "1",
            "issue_date": "2025-01-31",
            "sale_date": None,
            "price_basis": "net",
            "currency": "PLN",
            "seller": request_payload()["seller"],
            "buyer": business_buyer(),
            "lines": [],
            "vat_summary": [],
            "totals": {"net": "0", "vat": "0", "gross": "0"},
            "payment": {},
        }
    )
    assert (ksef_target(settings(start_date=start), invoice) is not None) is expected
