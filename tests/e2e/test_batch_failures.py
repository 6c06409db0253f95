"""The operator's batch page links every failed invoice to its reason: the failures are listed
with their reasons at the top, each failed row points to its reason and back, and the list
can be narrowed to one stage (a batch may hold 100,000 invoices)."""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest

from einvoice_tools.demo import demo_invoices
from tests.support import GATEWAY, eventually, operator_session
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]


async def test_the_batch_page_links_each_failed_invoice_to_its_reason(tenant: Tenant) -> None:
    invoices = demo_invoices(4, seed=71, email_domain=f"failures.{tenant.email_domain}")
    for i, invoice in enumerate(invoices):
        invoice["number"] = f"FAIL/{uuid.uuid4().hex[:6]}/{i}"
    invoices[1]["seller"] = invoices[1]["seller"] | {"nip": "1234567890"}  # bad checksum (the
    # demo invoices share one seller dict)
    invoices[3]["issue_date"] = "1900-01-01"
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def complete() -> dict | None:
            summary = (await client.get(f"/api/v1/batches/{batch_id}")).json()
            return summary if summary.get("complete") else None

        summary = await eventually(complete, timeout=120, what="the batch")
    failures = {f["invoice_id"]: f for f in summary["failures"]}
    assert summary["counts"]["failed"] == 2 and len(failures) == 2

    async with operator_session(tenant.api_key) as operator:
        page = (await operator.get(f"/operator/batches/{batch_id}")).text
        failed_only = (await operator.get(f"/operator/batches/{batch_id}?stage=failed")).text
        bogus = await operator.get(f"/operator/batches/{batch_id}?stage=lost")
    for invoice_id, failure in failures.items():
        reason = failure["reasons"][0]
        entry = re.search(rf'<li id="why-{invoice_id}">(.*?)</li>', page, re.S)
        assert entry, f"no reason entry for {invoice_id}"
        assert failure["number"] in entry.group(1)
        assert reason in html.unescape(entry.group(1))
        assert f'href="?stage=failed#inv-{invoice_id}"' in entry.group(1)
        row = re.search(rf'<tr id="inv-{invoice_id}">(.*?)</tr>', page, re.S)
        assert row and f'href="#why-{invoice_id}"' in row.group(1)
    assert sorted(re.findall(r'<tr id="inv-([^"]+)"', failed_only)) == sorted(failures)
    assert len(re.findall(r'<tr id="inv-', page)) == 4
    assert bogus.status_code == 422
