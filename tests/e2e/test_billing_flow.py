"""A utility's batch through all six services on the real stack: gateway -> invoice-builder ->
pdf-renderer -> S3 -> mailer -> maildev -> the customer's link -> read-tracker -> operator."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from einvoice_tools.demo import demo_invoices
from tests.support import CSRF_FIELD, GATEWAY, eventually, mails_to
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]

VALID = 20
AGENT = "Mozilla/5.0 (X11; Linux x86_64) einvoice-e2e"
LINK = re.compile(r"http://127\.0\.0\.1:8000/i/[A-Za-z0-9_-]{43,}")


def expected_gross(invoice: dict[str, Any]) -> Decimal:
    """Net basis: VAT on each rate's net sum, rounded half up to the grosz."""
    net_by_rate: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice["lines"]:
        net = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        net_by_rate[line["vat_rate"]] += net.quantize(Decimal("0.01"), ROUND_HALF_UP)
    total = Decimal(0)
    for rate, net in net_by_rate.items():
        vat = (net * Decimal(rate) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        total += net + vat
    return total


def polish_amount(amount: Decimal) -> str:
    whole, cents = f"{amount:.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return " ".join(groups) + "," + cents


def invalid_invoices(template: dict[str, Any]) -> list[dict[str, Any]]:
    bad_nip = dict(template, number="BAD/NIP/1", buyer=dict(template["buyer"], nip="1234567890"))
    bad_totals = dict(
        template,
        number="BAD/TOTALS/1",
        declared_totals={"net": "1.00", "vat": "0.23", "gross": "1.23"},
    )
    return [bad_nip, bad_totals]


@pytest.fixture(scope="module")
async def delivered_batch(tenant: Tenant) -> dict[str, Any]:
    invoices = demo_invoices(VALID, seed=11, email_domain=tenant.email_domain)
    body = {"invoices": invoices + invalid_invoices(invoices[1])}
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=60) as client:
        response = await client.post("/api/v1/batches", json=body)
        assert response.status_code == 202, response.text
        batch_id = response.json()["batch_id"]

        async def complete() -> dict[str, Any] | None:
            status = await client.get(f"/api/v1/batches/{batch_id}")
            summary = status.json() if status.status_code == 200 else None
            return summary if summary and summary["complete"] else None

        summary = await eventually(
            complete, timeout=240, interval=1, what=f"batch {batch_id} to complete"
        )
    return {"batch_id": batch_id, "invoices": invoices, "summary": summary}


async def test_every_valid_invoice_is_mailed_and_invalid_ones_fail_with_reasons(
    delivered_batch: dict[str, Any],
) -> None:
    summary = delivered_batch["summary"]
    assert summary["expected"] == VALID + 2
    assert summary["counts"]["requested"] == VALID + 2
    assert summary["counts"]["mailed"] == VALID
    assert summary["counts"]["failed"] == 2
    reasons = {f["number"]: " ".join(f["reasons"]) for f in summary["failures"]}
    assert "NIP checksum" in reasons["BAD/NIP/1"]
    assert "declared_totals" in reasons["BAD/TOTALS/1"]
    assert all(f["stage"] == "issue" for f in summary["failures"])


async def test_customers_open_their_pdfs_and_the_operator_sees_confirmations(
    delivered_batch: dict[str, Any],
    tenant: Tenant,
) -> None:
    batch_id, invoices = delivered_batch["batch_id"], delivered_batch["invoices"]
    by_email = {inv["buyer"]["email"]: inv for inv in invoices}
    mails = await eventually(
        lambda: _mails(tenant.email_domain, VALID), timeout=60, what="the e-mails in maildev"
    )
    assert len(mails) == VALID, "exactly one e-mail per valid invoice"
    assert sorted(m["to"][0]["address"] for m in mails) == sorted(by_email)

    async with httpx.AsyncClient(
        base_url=GATEWAY, timeout=30, headers={"User-Agent": AGENT}
    ) as customer:
        for mail in mails:
            invoice = by_email[mail["to"][0]["address"]]
            assert invoice["number"] in mail["subject"]
            assert mail["html"] and mail["text"], "HTML and plain-text parts"
            link = LINK.search(mail["text"]).group(0)
            assert LINK.search(mail["html"]).group(0) == link
            landing = await customer.get(link)
            assert landing.status_code == 200 and invoice["number"] in landing.text
            assert (await customer.head(link)).status_code == 200
        # Landing pages and HEAD requests (what link scanners do) record nothing.
        assert await _confirmations(tenant, batch_id) == []

        for mail in mails:
            invoice = by_email[mail["to"][0]["address"]]
            link = LINK.search(mail["text"]).group(0)
            response = await customer.post(f"{link}/download")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/pdf"
            _check_pdf(response.content, invoice)

    rows = await eventually(
        lambda: _confirmations(tenant, batch_id, at_least=VALID),
        timeout=60,
        what="20 confirmations",
    )
    assert len(rows) == VALID
    for row in rows:
        assert row["ip"] == "127.0.0.1"
        assert row["host"], "reverse DNS resolved the client's address"
        assert row["user_agent"] == AGENT
        assert row["action"] == "download"

    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        status = (await client.get(f"/api/v1/batches/{batch_id}")).json()
    assert status["counts"]["opened"] == VALID

    await _operator_sees_confirmations(tenant, batch_id, rows[0])
    assert len(await _confirmations(tenant, batch_id)) == VALID, "operator views never count"


def _check_pdf(content: bytes, invoice: dict[str, Any]) -> None:
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    assert invoice["buyer"]["name"] in text
    if invoice["buyer"].get("nip"):
        assert invoice["buyer"]["nip"] in text
    assert invoice["number"] in text
    assert f"Do zapłaty: {polish_amount(expected_gross(invoice))} PLN" in text
    assert "Łódź" in text and "Wodociągów" in text and "Słownie" in text
    assert set("ąćęłńóśźż") <= set(text.lower()), "Polish glyphs in the text layer"


async def _mails(domain: str, count: int) -> list[dict[str, Any]] | None:
    found = await mails_to(domain)
    return found if len(found) >= count else None


async def _confirmations(tenant: Tenant, batch_id: str, at_least: int = 0) -> list | None:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.get("/api/v1/confirmations", params={"batch_id": batch_id})
    rows = response.json()["confirmations"]
    return rows if len(rows) >= at_least else None


async def _operator_sees_confirmations(tenant: Tenant, batch_id: str, row: dict) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, follow_redirects=True) as operator:
        login_page = await operator.get("/operator")
        csrf = CSRF_FIELD.search(login_page.text).group(1)
        refused = await operator.post("/operator/login", data={"api_key": "wrong", "csrf": csrf})
        assert refused.status_code == 401
        home = await operator.post(
            "/operator/login", data={"api_key": tenant.api_key, "csrf": csrf}
        )
        assert home.status_code == 200 and batch_id in home.text
        page = await operator.get("/operator/confirmations", params={"batch_id": batch_id})
        assert page.status_code == 200
        assert row["ip"] in page.text and row["host"] in page.text
        assert row["number"] in page.text
        pdf = await operator.get(f"/operator/invoices/{row['invoice_id']}/pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        export = await operator.get("/operator/confirmations.csv", params={"batch_id": batch_id})
        assert export.headers["content-type"].startswith("text/csv")
        assert export.content.startswith("\ufeff".encode())
        lines = export.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("numer;otwarto (UTC);IP;host")
        assert len(lines) == 1 + VALID
        assert all(";127.0.0.1;" in line and ";tak;" in line for line in lines[1:])
