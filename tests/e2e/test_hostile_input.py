"""Hostile and broken invoices through the batch API, each in a batch of its own: every one
ends with a clear reason (refused at the gateway with HTTP 4xx, or rejected by
invoice-builder and shown as failed with its reason) or, when it is valid data, delivered
intact; nothing is stuck, every service keeps running, and a good batch sent afterwards
is delivered in full."""

from __future__ import annotations

import asyncio
import copy
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from einvoice_tools.demo import demo_invoices
from tests.support import GATEWAY, LAUNCHER_SCRIPT, PYTHON, ROOT, eventually, mails_to
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(invoice: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = invoice
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


_DELETE = object()
RTL_AND_FRIENDS = "Zoë Łukasz A\u0301 \u200bzero\u200dwidth \u202eעברית\u202c عربي 😀👩‍👩‍👧"

# name -> (mutation, what must become of it): "refused" = a 4xx at intake or a rejection
# with a reason; "delivered" = mailed with the text intact; "either" = refused or delivered.
CATALOGUE: dict[str, tuple[Mutation, str]] = {
    "invalid NIP checksum": (_set("seller.nip", "1234567890"), "refused"),
    "negative quantity": (_set("lines.0.quantity", "-1"), "refused"),
    "non-numeric price": (_set("lines.0.unit_price", "12,5zł"), "refused"),
    "price as a MongoDB operator": (_set("lines.0.unit_price", {"$gt": ""}), "refused"),
    "number as a MongoDB operator": (_set("number", {"$ne": None}), "refused"),
    "lines of the wrong type": (_set("lines", "three lines"), "refused"),
    "buyer missing": (_set("buyer", _DELETE), "refused"),
    "VAT rate unknown": (_set("lines.0.vat_rate", "17"), "refused"),
    "issue date in 1900": (_set("issue_date", "1900-01-01"), "refused"),
    "issue date in 2999": (_set("issue_date", "2999-01-01"), "refused"),
    "e-mail address with a header injection": (
        _set("buyer.email", "a@b.pl\r\nBcc: all@evil.test"),
        "refused",
    ),
    "10 MB buyer name": (_set("buyer.name", "x" * 10 * 1024 * 1024), "refused"),
    "10,000-character buyer name": (_set("buyer.name", "Ż" * 10_000), "either"),
    "path traversal in the number": (_set("number", "../../../etc/passwd"), "either"),
    "an unknown extra field": (_set("colour", "red"), "either"),
    "Unicode edge cases in the name": (_set("buyer.name", RTL_AND_FRIENDS), "delivered"),
    "HTML and script in the name": (
        _set("buyer.name", '<script>alert("x")</script><b>Kowalski</b>'),
        "delivered",
    ),
    "template syntax in the name": (_set("buyer.name", "{{ 7*7 }} {% raw %}Nowak"), "delivered"),
}


async def _outcome(client: httpx.AsyncClient, invoice: dict[str, Any]) -> tuple[str, str]:
    """("refused", reason) at intake; ("rejected", reason) or ("delivered", "") after the
    pipeline; the batch is followed until complete."""
    response = await client.post("/api/v1/batches", json={"invoices": [invoice]})
    if 400 <= response.status_code < 500:
        detail = response.json()["detail"]
        if isinstance(detail, dict):
            detail = "; ".join(e for row in detail["invoices"] for e in row["errors"])
        return "refused", f"HTTP {response.status_code}: {detail}"[:300]
    assert response.status_code == 202, response.text[:300]
    batch_id = response.json()["batch_id"]

    async def complete() -> dict | None:
        summary = (await client.get(f"/api/v1/batches/{batch_id}?details=true")).json()
        return summary if summary.get("complete") else None

    summary = await eventually(complete, timeout=120, interval=0.5, what=f"batch {batch_id}")
    if summary["counts"]["mailed"] == 1:
        return "delivered", ""
    reasons = [r for row in summary["invoices"] for r in row.get("failure_reasons") or []]
    return "rejected", "; ".join(reasons)[:300]


async def test_every_hostile_invoice_ends_with_a_reason_or_intact_and_nothing_else_is_lost(
    tenant: Tenant,
) -> None:
    base = demo_invoices(1, seed=66, email_domain=f"hostile.{tenant.email_domain}")[0]
    seen: dict[str, tuple[str, str]] = {}
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=120) as client:
        for n, (name, (mutate, _)) in enumerate(CATALOGUE.items()):
            invoice = copy.deepcopy(base)
            invoice["number"] = f"HOST/{uuid.uuid4().hex[:6]}/{n}"
            mutate(invoice)
            seen[name] = await _outcome(client, invoice)

        # Afterwards: every service is up, and a good batch goes through in full.
        status = await asyncio.to_thread(
            subprocess.run,
            [str(PYTHON), str(LAUNCHER_SCRIPT), "status"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        good = demo_invoices(5, seed=67, email_domain=f"after.{tenant.email_domain}")
        for i, invoice in enumerate(good):
            invoice["number"] = f"AFTER/{uuid.uuid4().hex[:6]}/{i}"
        accepted = await client.post("/api/v1/batches", json={"invoices": good})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def all_mailed() -> dict | None:
            summary = (await client.get(f"/api/v1/batches/{batch_id}")).json()
            return summary if summary.get("complete") else None

        after = await eventually(all_mailed, timeout=120, what="the good batch afterwards")

    lines = [f"{name:40} {outcome:9} {reason[:110]}" for name, (outcome, reason) in seen.items()]
    print(f"\nhostile invoices: {len(seen)} tried\n" + "\n".join(lines))
    for name, (_, expected) in CATALOGUE.items():
        outcome, reason = seen[name]
        if expected == "refused":
            assert outcome in ("refused", "rejected") and reason, (name, outcome, reason)
        elif expected == "delivered":
            assert outcome == "delivered", (name, outcome, reason)
        else:
            assert outcome in ("refused", "rejected", "delivered"), (name, outcome, reason)
    assert " down " not in status.stdout, status.stdout
    # The delivered script arrived as text in the customer's e-mail, never as markup.
    mails = await mails_to(f"hostile.{tenant.email_domain}")
    html = "".join(m.get("html") or "" for m in mails)
    assert "alert(" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert after["counts"]["mailed"] == 5 and after["counts"]["failed"] == 0
