"""FA(3) on the real stack: a utility batch with a business and a consumer invoice through the
gateway; invoice-builder stores each one's FA(3) XML under its deterministic key, valid
against the official XSD, with its SHA-256; a zw line without its legal basis is rejected."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import etree

import fa3
from einvoice.settings import Settings
from einvoice.storage import s3_client
from einvoice_tools.demo import demo_invoices
from gateway.api.batch_events import invoice_id_for
from tests.support import GATEWAY, eventually, local_settings
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]

NS = {"f": fa3.NAMESPACE}
BUSINESS = {
    "name": "Piekarnia Pod Kłosem Sp. z o.o.",
    "nip": "7740001454",
    "address": {"street": "ul. Młyńska 7", "postal_code": "90-100", "city": "Łódź"},
}
EXEMPT_LINE = {"name": "Dzierżawa gruntu", "quantity": "1", "unit_price": "120", "vat_rate": "zw"}


def invoices(tenant: Tenant) -> list[dict[str, Any]]:
    business, consumer, no_basis = demo_invoices(
        3, seed=91, email_domain=f"fa3.{tenant.email_domain}"
    )
    tag = uuid.uuid4().hex[:6]
    business |= {
        "number": f"FA3/{tag}/B",
        "buyer": BUSINESS | {"email": business["buyer"]["email"]},
        "customer_id": "K-004217",
        "sale_date": None,
        "billing_period": {"start": "2026-11-01", "end": "2026-11-30"},
        "split_payment": True,
        "exemption": {"basis": "act", "text": "art. 43 ust. 1 pkt 10 ustawy o VAT"},
        "lines": [*business["lines"], EXEMPT_LINE],
    }
    consumer |= {"number": f"FA3/{tag}/C", "buyer": consumer["buyer"] | {"nip": None}}
    no_basis |= {"number": f"FA3/{tag}/Z", "lines": [*no_basis["lines"], EXEMPT_LINE]}
    return [business, consumer, no_basis]


def stored_xml(tenant: Tenant, invoice: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    invoice_id = invoice_id_for(tenant.tenant_id, invoice["number"])
    year, month = invoice["issue_date"][:4], invoice["issue_date"][5:7]
    key = f"{tenant.tenant_id}/{year}/{month}/{invoice_id}.fa3.xml"
    settings = Settings(**local_settings())
    found = s3_client(settings).get_object(Bucket=settings.s3_bucket, Key=key)
    return found["Body"].read(), found["Metadata"]


def value(xml: bytes, path: str) -> str | None:
    steps = "/".join(f"f:{step}" for step in path.split("/"))
    found = etree.fromstring(xml).xpath(f"/f:Faktura/{steps}", namespaces=NS)
    return found[0].text if found else None


async def test_each_issued_invoice_has_its_valid_fa3_xml_stored(tenant: Tenant) -> None:
    business, consumer, no_basis = batch = invoices(tenant)
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": batch})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def complete() -> dict | None:
            summary = (await client.get(f"/api/v1/batches/{batch_id}")).json()
            return summary if summary.get("complete") else None

        summary = await eventually(complete, timeout=120, what="the FA(3) batch")
    [failure] = summary["failures"]
    assert failure["number"] == no_basis["number"]
    assert any("legal basis of the exemption" in reason for reason in failure["reasons"])

    for invoice in (business, consumer):
        xml, metadata = stored_xml(tenant, invoice)
        assert fa3.validate(xml) == []
        assert metadata["sha256"] == hashlib.sha256(xml).hexdigest()
        assert value(xml, "Fa/P_2") == invoice["number"]
        assert Decimal(value(xml, "Fa/P_15") or "0") > 0
    xml, _ = stored_xml(tenant, business)
    assert value(xml, "Podmiot2/DaneIdentyfikacyjne/NIP") == BUSINESS["nip"]
    assert value(xml, "Podmiot2/NrKlienta") == "K-004217"
    assert value(xml, "Fa/OkresFa/P_6_Do") == "2026-11-30"
    assert value(xml, "Fa/Adnotacje/P_18A") == "1"
    assert value(xml, "Fa/Adnotacje/Zwolnienie/P_19A") == "art. 43 ust. 1 pkt 10 ustawy o VAT"
    assert value(xml, "Fa/P_13_7") == "120.00"
    xml, _ = stored_xml(tenant, consumer)
    assert value(xml, "Podmiot2/DaneIdentyfikacyjne/BrakID") == "1"
    assert value(xml, "Fa/Adnotacje/Zwolnienie/P_19N") == "1"
