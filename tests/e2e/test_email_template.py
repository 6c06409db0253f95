"""The operator edits the invoice e-mail: a saved version is what customers get (and what
mail.sent records), a broken template is refused with field, line and reason and changes
nothing, billing systems use the same through the API, and old versions can be restored."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from playwright.async_api import expect

from einvoice import events
from einvoice.kafka_admin import partitions_of
from einvoice_tools.demo import demo_invoices
from tests.support import CSRF_FIELD, GATEWAY, eventually, mails_to
from tests.support.browser import PHONE, chromium, screenshot
from tests.support.parties import Tenant, known_tenant

pytestmark = [pytest.mark.e2e]

MARKER = f"znacznik-{uuid.uuid4().hex[:8]}"
SUBJECT = "Faktura {{ number }} · " + MARKER
HTML = (
    "<p>Szanowni Państwo, {{ buyer_name }},</p>\n"
    f"<p>{MARKER}: faktura <b>{{{{ number }}}}</b> na {{{{ total }}}} {{{{ currency }}}}.</p>\n"
    '<p><a href="{{ link }}">Pobierz</a> (do {{ link_expires }})</p>\n'
)
TEXT = (
    "Szanowni Państwo,\n"
    f"{MARKER}: faktura {{{{ number }}}}"
    "{% if due_date %}, termin {{ due_date }}{% endif %}.\n"
    "{{ link }}\n"
)
INVOICES = 3


@pytest.fixture(scope="module")
async def own_tenant(services: bool, stack: dict[str, str]) -> Tenant:
    """A tenant of this module's own: its template and mailbox domain are nobody else's."""
    return await known_tenant(stack["kafka_bootstrap"], "Ciepłownia Szablonowa Sp. z o.o.")


@pytest.fixture
async def operator(own_tenant: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=GATEWAY, timeout=30) as client:
        login = await client.get("/operator")
        csrf = CSRF_FIELD.search(login.text).group(1)
        signed = await client.post(
            "/operator/login", data={"api_key": own_tenant.api_key, "csrf": csrf}
        )
        assert signed.status_code == 303
        yield client


async def current_version(tenant: Tenant) -> int:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.get("/api/v1/email-template")
    assert response.status_code == 200
    return response.json()["version"]


async def in_use(tenant: Tenant, version: int) -> bool:
    return await current_version(tenant) == version


async def in_use_any(tenant: Tenant, versions: set[int]) -> bool:
    return await current_version(tenant) in versions


async def editor_csrf(operator: httpx.AsyncClient) -> str:
    return CSRF_FIELD.search((await operator.get("/operator/email")).text).group(1)


async def test_a_saved_template_is_what_customers_get(
    operator: httpx.AsyncClient, own_tenant: Tenant, stack: dict[str, str]
) -> None:
    page = await operator.get("/operator/email")
    assert page.status_code == 200
    assert "Faktura {{ number }} od {{ seller_name }}" in html.unescape(page.text), "the default"
    assert "{{ link_expires }}" in html.unescape(page.text), "the variables are listed"
    csrf = CSRF_FIELD.search(page.text).group(1)
    fields = {"subject": SUBJECT, "html": HTML, "text": TEXT, "csrf": csrf}

    preview = await operator.post("/operator/email/preview", data=fields)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["subject"] == f"Faktura FV/2025/01/0001 · {MARKER}"
    assert MARKER in shown["html"] and "<b>FV/2025/01/0001</b>" in shown["html"]
    assert "termin 14.02.2025" in shown["text"]
    assert await current_version(own_tenant) == 0, "a preview saves nothing"

    saved = await operator.post("/operator/email", data=fields)
    assert saved.status_code == 303, saved.text
    version = int(re.search(r"saved=(\d+)", saved.headers["location"]).group(1))
    assert version == 1
    await eventually(lambda: in_use(own_tenant, version), timeout=15, what="version 1 in use")
    page = await operator.get("/operator/email?saved=1")
    assert MARKER in page.text and 'id="history"' in page.text

    async with mail_sent_from_now(stack["kafka_bootstrap"]) as sent:
        await publish_batch(own_tenant)
        mails = await eventually(
            lambda: at_least(own_tenant.email_domain, INVOICES), timeout=120, what="the e-mails"
        )
        assert len(mails) == INVOICES
        for mail in mails:
            assert mail["subject"].startswith("Faktura ")
            assert mail["subject"].endswith(f" · {MARKER}")
            assert MARKER in mail["html"] and MARKER in mail["text"]
            assert "Szanowni Państwo" in mail["text"] and "/i/" in mail["text"]
        assert await template_versions(sent, own_tenant) == [version] * INVOICES


@asynccontextmanager
async def mail_sent_from_now(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A reader of the mail.sent events published from now on."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, events.MAIL_SENT)
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve "the end" now, before anything is sent
        yield consumer
    finally:
        await consumer.stop()


async def template_versions(consumer: AIOKafkaConsumer, tenant: Tenant) -> list[int]:
    """The template_version of each of the tenant's next INVOICES e-mails, by mail.sent
    (delivered at least once: a redelivered outcome is the same e-mail again)."""
    found: dict[tuple[str, str], int] = {}

    async def all_sent() -> list[int] | None:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                env = events.Envelope.model_validate_json(record.value)
                if env.tenant_id == tenant.tenant_id:
                    sent = events.MailSent.model_validate(env.payload)
                    found[sent.invoice_id, sent.recipient] = sent.template_version
        return list(found.values()) if len(found) >= INVOICES else None

    return await eventually(all_sent, timeout=120, what="mail.sent of the batch")


async def publish_batch(tenant: Tenant) -> None:
    invoices = demo_invoices(INVOICES, seed=31, email_domain=tenant.email_domain)
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth, timeout=30) as client:
        response = await client.post("/api/v1/batches", json={"invoices": invoices})
        assert response.status_code == 202, response.text


async def at_least(domain: str, count: int) -> list[dict[str, Any]] | None:
    found = await mails_to(domain)
    return found if len(found) >= count else None


async def test_a_broken_template_is_refused_with_line_and_reason(
    operator: httpx.AsyncClient, own_tenant: Tenant
) -> None:
    before = await current_version(own_tenant)
    unclosed = "<p>Dzień dobry</p>\n{% if due_date %}\n<p>{{ due_date }}</p>\n"
    escape = "Dzień dobry\n{{ link }}\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n"
    fields = {"subject": "Faktura {{ number }}", "html": unclosed, "text": escape}
    fields["csrf"] = await editor_csrf(operator)

    refused = await operator.post("/operator/email?lang=en", data=fields)
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "Not saved: the template has errors." in page
    assert "HTML body, line 3: Template syntax error: Unexpected end of template" in page
    assert "The innermost block that needs to be closed is 'if'" in page
    assert "Plain-text body, line 3: The template uses something the sandbox forbids" in page
    assert "access to attribute '__class__' of 'str' object is unsafe" in page
    assert unclosed in page and escape in page, "what the operator typed is kept"

    polish = await operator.post("/operator/email", data=fields)
    assert polish.status_code == 422 and "Treść HTML, wiersz 3" in html.unescape(polish.text)

    preview = await operator.post("/operator/email/preview", data=fields)
    assert preview.status_code == 422
    problems = preview.json()["detail"]["problems"]
    assert [(p["field"], p["line"], p["kind"]) for p in problems] == [
        ("html", 3, "syntax"),
        ("text", 3, "sandbox"),
    ]
    assert await current_version(own_tenant) == before, "nothing was saved"


async def test_billing_systems_read_and_write_the_template_and_operators_restore(
    operator: httpx.AsyncClient, own_tenant: Tenant
) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=own_tenant.auth) as api:
        got = (await api.get("/api/v1/email-template")).json()
        before = got["version"]
        assert {v["name"] for v in got["variables"]} >= {"number", "link", "due_date"}

        refused = await api.put(
            "/api/v1/email-template",
            json={"subject": "{{ numer }}", "html": "<p>{{ link }}</p>", "text": "{% for %}"},
        )
        assert refused.status_code == 422
        problems = refused.json()["detail"]["problems"]
        assert [(p["field"], p["line"], p["kind"]) for p in problems] == [
            ("subject", 1, "undefined"),
            ("text", 1, "syntax"),
        ]
        assert "'numer' is undefined" in problems[0]["reason"]

        put = await api.put(
            "/api/v1/email-template",
            json={"subject": "API {{ number }}", "html": "<p>{{ link }}</p>", "text": "{{ link }}"},
        )
        assert put.status_code == 200, put.text
        assert put.json()["version"] == before + 1 and put.json()["subject"] == "API {{ number }}"
        body = {"subject": "Równolegle {{ number }}", "html": "{{ link }}", "text": "{{ link }}"}
        at_once = await asyncio.gather(
            *(api.put("/api/v1/email-template", json=body) for _ in "abc")
        )
        assert sorted(r.json()["version"] for r in at_once) == [before + 2, before + 3, before + 4]
    # Saves at once get distinct numbers; which of them is in use is whichever was published
    # last (tenant.config keeps the last record), so only the set is certain.
    await eventually(
        lambda: in_use_any(own_tenant, {before + 2, before + 3, before + 4}),
        timeout=15,
        what="the API versions",
    )

    viewed = await operator.get(f"/operator/email?version={before}")
    assert viewed.status_code == 200 and SUBJECT in html.unescape(viewed.text)
    csrf = CSRF_FIELD.search(viewed.text).group(1)
    restored = await operator.post(
        f"/operator/email/versions/{before}/restore", data={"csrf": csrf}
    )
    assert restored.status_code == 303
    assert restored.headers["location"].endswith(f"saved={before + 5}")
    await eventually(lambda: in_use(own_tenant, before + 5), timeout=15, what="the restored one")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=own_tenant.auth) as api:
        assert (await api.get("/api/v1/email-template")).json()["subject"] == SUBJECT


async def test_the_editor_in_a_browser(own_tenant: Tenant) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="pl-PL")
        page = await context.new_page()
        await page.goto(f"{GATEWAY}/operator")
        await page.fill("#api_key", own_tenant.api_key)
        await page.click("button[type=submit]")
        await page.goto(f"{GATEWAY}/operator/email")
        # The page's CSP holds (no eval): wait with locators, not wait_for_function.
        await expect(page.locator("#preview-subject")).to_contain_text("Faktura FV/2025/01/0001")
        await page.fill("#subject", "Faktura {{ number }} – podgląd na żywo")
        await expect(page.locator("#preview-subject")).to_contain_text("podgląd na żywo")
        await expect(page.frame_locator("#preview-html").locator("body")).to_contain_text(
            "Jan Kowalski"
        )
        await screenshot(page, "operator-email-editor")
        await page.fill("#text", "Dzień dobry\n{{ nieznana }}")
        await expect(page.locator("#preview-problems")).to_contain_text("nieznana")
        await screenshot(page, "operator-email-editor-problem")
        await page.set_viewport_size(PHONE)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "no sideways scrolling on a phone"
        await screenshot(page, "operator-email-editor-phone")
        await context.close()
