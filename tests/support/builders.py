"""Realistic events and records as the services receive them: an invoice request, the
invoice issued from it, its rendered PDF, a tenant's configuration, and Kafka records
carrying them. Payloads come as dicts (tests feed broken ones too) or as models."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from einvoice import events
from einvoice.bus import Outgoing
from invoice_builder.issuing import issue
from tests.support.clock import T0

TENANT = "acme-energia"
BATCH = "batch-2025-01"
SELLER_NIP = "5260250274"  # valid by checksum (Ministerstwo Finansów)
BUYER_NIP = "7740001454"  # valid by checksum


# --- Kafka-ish ----------------------------------------------------------------------------


@dataclass
class FakeRecord:
    """Just the ConsumerRecord attributes the bus and the raw handlers read."""

    topic: str
    value: bytes | None
    key: bytes | None = b"inv-1"
    partition: int = 3
    offset: int = 42


def record_of(env: events.Envelope, *, topic: str | None = None, key: bytes | None = b"inv-1"):
    return FakeRecord(topic=topic or env.type, value=env.model_dump_json().encode(), key=key)


def decoded(out: Outgoing) -> dict[str, Any]:
    return json.loads(out.value)


def at(env: events.Envelope, moment: datetime) -> events.Envelope:
    """The same event, as if it had occurred at `moment`."""
    return env.model_copy(update={"occurred_at": moment})


# --- payload builders ---------------------------------------------------------------------


def request_payload(**overrides: Any) -> dict[str, Any]:
    """A valid net-basis invoice.requested payload.

    3 x 33.33 @23% -> net 99.99; 2 x 10.00 @8% -> net 20.00.
    Summary: 23%: 99.99 / 23.00 / 122.99; 8%: 20.00 / 1.60 / 21.60.
    Totals: net 119.99, VAT 24.60, gross 144.59.
    """
    data: dict[str, Any] = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "batch_size": 1,
        "number": "FV/2025/01/0001",
        "issue_date": "2025-01-31",
        "sale_date": "2025-01-31",
        "price_basis": "net",
        "seller": {
            "name": "Acme Energia Sp. z o.o.",
            "nip": SELLER_NIP,
            "address": {"street": "ul. Prosta 1", "postal_code": "00-001", "city": "Warszawa"},
        },
        "buyer": {
            "name": "Jan Kowalski",
            "address": {"street": "ul. Krzywa 2", "postal_code": "30-001", "city": "Kraków"},
            "email": "jan.kowalski@example.pl",
        },
        "lines": [
            {
                "name": "Energia czynna",
                "quantity": "3",
                "unit": "kWh",
                "unit_price": "33.33",
                "vat_rate": "23",
            },
            {"name": "Opłata mocowa", "quantity": "2", "unit_price": "10.00", "vat_rate": "8"},
        ],
        "payment": {"method": "przelew", "due_date": "2025-02-14"},
    }
    data.update(overrides)
    return data


def requested_event(
    payload: dict[str, Any] | None = None, *, event_id: str = "req-1", tenant: str = TENANT
) -> events.Envelope:
    """An invoice.requested envelope; the payload is NOT validated (tests feed bad ones)."""
    return events.Envelope(
        event_id=event_id,
        type=events.INVOICE_REQUESTED,
        schema_version=events.SCHEMA_VERSION,
        occurred_at=T0,
        tenant_id=tenant,
        correlation_id=BATCH,
        payload=request_payload() if payload is None else payload,
    )


def issued_invoice(**overrides: Any) -> events.InvoiceIssued:
    result = issue(events.InvoiceRequested.model_validate(request_payload(**overrides)))
    assert isinstance(result, events.InvoiceIssued), result
    return result


def issued_event(invoice: events.InvoiceIssued | None = None, *, event_id: str = "iss-1"):
    invoice = invoice or issued_invoice()
    return events.envelope(
        events.INVOICE_ISSUED,
        invoice,
        tenant_id=TENANT,
        correlation_id=invoice.batch_id,
        event_id=event_id,
    )


def rendered_payload(**overrides: Any) -> events.PdfRendered:
    data: dict[str, Any] = {
        "invoice_id": "inv-1",
        "batch_id": BATCH,
        "number": "FV/2025/01/0001",
        "issue_date": "2025-01-31",
        "s3_bucket": "invoices",
        "s3_key": f"{TENANT}/2025/01/inv-1.pdf",
        "sha256": "ab" * 32,
        "size_bytes": 12345,
        "seller_name": "Acme Energia Sp. z o.o.",
        "buyer_name": "Jan Kowalski",
        "buyer_email": "jan.kowalski@example.pl",
        "total_gross": "1234.56",
        "currency": "PLN",
        "due_date": "2025-02-14",
    }
    data.update(overrides)
    return events.PdfRendered.model_validate(data)


def rendered_event(pdf: events.PdfRendered | None = None, *, event_id: str = "pdf-1"):
    pdf = pdf or rendered_payload()
    return events.envelope(
        events.PDF_RENDERED, pdf, tenant_id=TENANT, correlation_id=pdf.batch_id, event_id=event_id
    )


def event_of(event_type: str, payload: events.EventModel, *, event_id: str, when: datetime = T0):
    env = events.envelope(
        event_type, payload, tenant_id=TENANT, correlation_id=BATCH, event_id=event_id
    )
    return at(env, when)


def tenant_config(**overrides: Any) -> events.TenantConfig:
    data: dict[str, Any] = {"tenant_id": TENANT, "name": "Acme Energia", "kind": "utility"}
    data.update(overrides)
    return events.TenantConfig.model_validate(data)


# Five lines of a till receipt, as the till prints them (PTU rates: A 23%, C 5%).
LINES = [
    {
        "name": "Chleb żytni",
        "quantity": "2",
        "unit_gross": "4.99",
        "vat_rate": "C",
        "gross": "9.98",
    },
    {
        "name": "Ser gouda",
        "quantity": "0.535",
        "unit": "kg",
        "unit_gross": "39.90",
        "vat_rate": "C",
        "gross": "21.35",
    },
    {
        "name": "Kawa ziarnista",
        "quantity": "1",
        "unit_gross": "29.99",
        "vat_rate": "A",
        "gross": "29.99",
    },
    {
        "name": "Płyn do naczyń",
        "quantity": "3",
        "unit_gross": "6.49",
        "vat_rate": "A",
        "gross": "19.47",
    },
    {
        "name": "Jabłka",
        "quantity": "1.25",
        "unit": "kg",
        "unit_gross": "3.99",
        "vat_rate": "C",
        "gross": "4.99",
    },
]
