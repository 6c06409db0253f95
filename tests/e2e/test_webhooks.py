"""Webhooks end to end: the operator sets one up (the secret is shown once), a customer's
real download confirms the invoice, read-tracker POSTs the signed confirmation to a receiver
that fails the first time, retries it with the same delivery id, and the delivery log (API
and operator page) shows both attempts."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
import pytest

from einvoice import webhooks
from einvoice_tools.demo import demo_invoices
from tests.support import CSRF_FIELD, GATEWAY, eventually, mails_to
from tests.support.parties import Tenant, register_tenant

pytestmark = [pytest.mark.e2e]

LINK = re.compile(r"http://127\.0\.0\.1:8000/i/[A-Za-z0-9_-]{43,}")
BROWSER = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131 webhook-test",
    "Accept-Language": "pl-PL,pl;q=0.9",
}


@dataclass
class Receiver:
    """A billing system's endpoint on 127.0.0.1: answers 500 first, then 200."""

    secret: str = ""
    seen: list[dict] = field(default_factory=list)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        received = time.time()
        try:
            webhooks.verify(self.secret, headers.get("x-einvoice-signature"), body)
            valid = True
        except webhooks.SignatureError:
            valid = False
        status = 500 if not self.seen else 200
        self.seen.append(
            {"headers": headers, "body": json.loads(body), "valid": valid, "at": received}
        )
        return status


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a free port
    Thread(target=server.serve_forever, daemon=True).start()
    return server


async def signed_in_operator(tenant: Tenant) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=GATEWAY, timeout=30)
    login = await client.get("/operator")
    csrf = CSRF_FIELD.search(login.text).group(1)
    signed = await client.post("/operator/login", data={"api_key": tenant.api_key, "csrf": csrf})
    assert signed.status_code == 303
    return client


async def fresh_tenant(bootstrap: str) -> Tenant:
    """A tenant of its own: its webhook must not receive other tests' confirmations."""
    created = await register_tenant(bootstrap, "Ciepłownia Webhookowa Sp. z o.o.")

    async def known() -> bool:
        async with httpx.AsyncClient(base_url=GATEWAY, headers=created.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what="the gateway to learn the tenant")
    return created


async def deliveries(tenant: Tenant) -> list[dict]:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.get("/api/v1/webhook/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


async def test_a_confirmation_reaches_the_webhook_signed_and_retried(
    services: bool, stack: dict[str, str]
) -> None:
    tenant = await fresh_tenant(stack["kafka_bootstrap"])
    receiver = Receiver()
    server = serve(receiver)
    url = f"http://127.0.0.1:{server.server_port}/einvoice/webhook"
    operator = await signed_in_operator(tenant)
    try:
        page = await operator.get("/operator/webhook")
        assert page.status_code == 200 and "Webhook" in page.text
        csrf = CSRF_FIELD.search(page.text).group(1)
        refused = await operator.post(
            "/operator/webhook", data={"csrf": csrf, "url": "ftp://x", "events": "mail.failed"}
        )
        assert refused.status_code == 422 and 'id="secret"' not in refused.text
        saved = await operator.post(
            "/operator/webhook",
            data={"csrf": csrf, "url": url, "events": ["invoice.confirmed", "mail.failed"]},
        )
        assert saved.status_code == 200 and saved.headers["cache-control"] == "no-store"
        receiver.secret = re.search(r'<code id="secret">([^<]+)</code>', saved.text).group(1)
        again = await operator.get("/operator/webhook")
        assert receiver.secret not in again.text, "the secret is shown once"
        assert "X-Einvoice-Signature" not in receiver.secret

        domain = f"webhook.{tenant.email_domain}"
        invoices = demo_invoices(1, seed=91, email_domain=domain, series="WH/2026/11")
        invoices[0]["customer_id"] = "KL-000091"
        async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
            accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202
        mails = await eventually(lambda: mails_to(domain), timeout=180, what="the e-mail")
        link = LINK.search(mails[0]["text"]).group(0)

        async with httpx.AsyncClient(headers=BROWSER) as person:
            await person.get(link)  # the landing page first, as a browser shows it
            downloaded = await person.post(f"{link}/download", headers={"Sec-Fetch-User": "?1"})
            assert downloaded.status_code == 200
        opened_at = time.time()

        async def retried() -> list | None:
            return receiver.seen if len(receiver.seen) >= 2 else None

        first, second = (await eventually(retried, timeout=60, what="a retried delivery"))[:2]

        async def logged() -> list | None:
            rows = await deliveries(tenant)
            return rows if rows and rows[0]["state"] == "done" else None

        [row] = await eventually(logged, timeout=30, what="the delivery log to show it done")
        page = await operator.get("/operator/webhook")
    finally:
        await operator.aclose()
        server.shutdown()

    assert first["valid"] and second["valid"], "both signatures verify with the secret"
    delivery_id = first["headers"]["x-einvoice-delivery"]
    assert second["headers"]["x-einvoice-delivery"] == delivery_id, "a retry, not a new one"
    assert first["headers"]["x-einvoice-event"] == "invoice.confirmed"
    assert first["headers"]["content-type"] == "application/json"
    assert first["body"] == second["body"]
    body = first["body"]
    assert body["id"] == delivery_id and body["type"] == "invoice.confirmed"
    assert body["tenant_id"] == tenant.tenant_id
    data = body["data"]
    assert data["number"] == invoices[0]["number"] and data["customer_id"] == "KL-000091"
    assert data["ip"] == "127.0.0.1" and data["host"]
    assert data["user_agent"] == BROWSER["User-Agent"]
    assert data["open_count"] == 1 and data["first_open"] is True
    assert data["first_opened_at"] and abs(_epoch(data["first_opened_at"]) - opened_at) < 30

    assert row["delivery_id"] == delivery_id and row["event"] == "invoice.confirmed"
    assert row["number"] == invoices[0]["number"] and row["attempts"] == 2
    assert [a["status"] for a in row["log"]] == [500, 200]
    assert row["last_status"] == 200
    assert page.status_code == 200 and invoices[0]["number"] in page.text
    assert "HTTP 200" in page.text

    gap = second["at"] - first["at"]
    assert gap >= 4, "the retry waited for its backoff"
    times = ", ".join(f"{a['at']} HTTP {a['status']} in {a['duration_ms']} ms" for a in row["log"])
    print(
        f"\nwebhook: first POST {first['at'] - opened_at:.2f} s after the download (HTTP 500), "
        f"retry {gap:.2f} s later (HTTP 200), same delivery id {delivery_id}; "
        f"delivery log: {times}"
    )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def test_the_delivery_log_needs_the_tenants_api_key(services: bool) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY) as client:
        assert (await client.get("/api/v1/webhook/deliveries")).status_code == 401
        bad = {"Authorization": "Bearer not-a-key"}
        assert (await client.get("/api/v1/webhook/deliveries", headers=bad)).status_code == 401
        assert (await client.get("/operator/webhook")).status_code == 303
