"""Shopper and chain-user accounts through the running gateway, with the e-mails read from
maildev: registration, scanner-safe confirmation, sign-in, sign-out, no enumeration, rate
limits, password reset, CSRF and cookie flags, roles."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from einvoice import events
from einvoice.bus import make_producer
from einvoice.mongo import service_db
from einvoice.tenants import publish_tenant
from gateway.shop.accounts.admin import create_chain_user
from tests.support import CSRF_FIELD, GATEWAY, eventually, local_settings, mails_to

pytestmark = [pytest.mark.e2e]

PASSWORD = "zielony rower 42"
VERIFY_LINK = re.compile(r"http://127\.0\.0\.1:8000(/account/verify/[A-Za-z0-9_-]{43})")
RESET_LINK = re.compile(r"http://127\.0\.0\.1:8000(/account/reset/[A-Za-z0-9_-]{43})")


@pytest.fixture(scope="module")
def domain(services: bool) -> str:
    """A fresh e-mail domain per run: maildev keeps the mail of earlier runs."""
    return f"acc-{uuid.uuid4().hex[:10]}.test"


class Browser:
    """A browser-like client: keeps cookies, reads the form token from the last page."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=GATEWAY, timeout=30)
        self.csrf = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str], csrf: bool = True) -> httpx.Response:
        response = await self.http.post(path, data={"csrf": self.csrf, **data} if csrf else data)
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1)
        return response

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/account/login")
        return await self.post("/account/login", {"email": email, "password": password})

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def browser() -> Browser:
    client = Browser()
    yield client
    await client.close()


async def mail_to(address: str, count: int = 1) -> list[dict[str, Any]]:
    """The e-mails to `address`, once at least `count` have arrived (oldest first)."""

    async def arrived() -> list[dict[str, Any]] | None:
        domain = address.split("@")[1]
        mails = [m for m in await mails_to(domain) if m["to"][0]["address"] == address]
        return mails if len(mails) >= count else None

    return await eventually(arrived, timeout=30, what=f"{count} e-mail(s) to {address}")


async def register_and_confirm(browser: Browser, email: str) -> None:
    await browser.get("/account/register")
    response = await browser.post("/account/register", {"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    link = VERIFY_LINK.search((await mail_to(email))[0]["text"]).group(1)
    await browser.get(link)
    assert (await browser.post(link, {})).status_code == 303


def same_page(a: httpx.Response, b: httpx.Response, *emails: str) -> bool:
    def normalized(response: httpx.Response) -> str:
        text = response.text
        for email in emails:
            text = text.replace(email, "EMAIL")
        return text

    return a.status_code == b.status_code and normalized(a) == normalized(b)


async def test_register_confirm_sign_in_and_out(browser: Browser, domain: str) -> None:
    email = f"Ola.Nowak@{domain}"
    address = email.lower()
    page = await browser.get("/account/register")
    assert page.status_code == 200 and "Załóż konto" in page.text
    assert 'name="viewport"' in page.text
    english = await browser.get("/account/register?lang=en")
    assert "Create an account" in english.text

    response = await browser.post("/account/register", {"email": email, "password": PASSWORD})
    assert response.status_code == 200 and "Sprawdź skrzynkę" in response.text
    mail = (await mail_to(address))[0]
    assert mail["subject"] == "Potwierdź konto w einvoice"
    link = VERIFY_LINK.search(mail["text"]).group(1)

    # What a mail scanner does: GET and HEAD. The account stays unconfirmed.
    scanner = await browser.http.get(link)
    assert scanner.status_code == 200 and 'method="post"' in scanner.text
    assert (await browser.http.head(link)).status_code in (200, 405)
    unconfirmed = await browser.login(address)
    assert unconfirmed.status_code == 403
    assert "nie jest jeszcze potwierdzone" in unconfirmed.text
    assert "/account/resend?email=" in unconfirmed.text
    assert "einvoice_account" not in browser.http.cookies

    await browser.get(link)
    confirmed = await browser.post(link, {})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"].startswith("/account/login?verified=1")
    assert (await browser.post(link, {})).status_code == 404, "the link works once"

    signed_in = await browser.login(email.upper())
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/me"
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("einvoice_account=")
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags, "plain HTTP locally; Secure everywhere else"
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) == 43

    me = await browser.get("/me")
    assert me.status_code == 200
    assert "Moje faktury" in me.text and address in me.text
    assert "My invoices" in (await browser.get("/me?lang=en")).text

    bye = await browser.post("/account/logout", {})
    assert bye.status_code == 303
    assert "einvoice_account" not in browser.http.cookies
    after = await browser.http.get("/me")
    assert after.status_code == 303 and after.headers["location"] == "/account/login?next=%2Fme"
    # The old cookie is dead on the server too, not just forgotten by this browser.
    async with httpx.AsyncClient(base_url=GATEWAY, cookies={"einvoice_account": token}) as thief:
        assert (await thief.get("/me")).status_code == 303


async def test_wrong_password_and_unknown_address_answer_the_same(
    browser: Browser, domain: str
) -> None:
    known, unknown = f"known@{domain}", f"nobody@{domain}"
    await register_and_confirm(browser, known)
    wrong = await browser.login(known, "not the password")
    missing = await browser.login(unknown, "not the password")
    assert wrong.status_code == 401
    assert same_page(wrong, missing, known, unknown)
    assert "Nieprawidłowy adres e-mail lub hasło." in wrong.text


async def test_the_eleventh_bad_login_is_refused(browser: Browser, domain: str) -> None:
    email = f"target@{domain}"
    await register_and_confirm(browser, email)
    for attempt in range(10):
        response = await browser.login(email, f"guess number {attempt}")
        assert response.status_code == 401, attempt
    refused = await browser.login(email, "guess number 11")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Zbyt wiele prób" in refused.text
    assert (await browser.login(email)).status_code == 429, "locked for the right password too"


async def test_password_reset_end_to_end(domain: str) -> None:
    email = f"reset@{domain}"
    old_device, new_device = Browser(), Browser()
    try:
        await register_and_confirm(old_device, email)
        assert (await old_device.login(email)).status_code == 303
        assert (await old_device.get("/me")).status_code == 200

        await new_device.get("/account/reset")
        for_nobody = await new_device.post("/account/reset", {"email": f"ghost@{domain}"})
        for_owner = await new_device.post("/account/reset", {"email": email})
        assert for_owner.status_code == 200
        assert same_page(for_owner, for_nobody), "no hint whether the account exists"

        mails = await mail_to(email, count=2)  # the confirmation, then the reset link
        link = RESET_LINK.search(mails[-1]["text"]).group(1)
        assert mails[-1]["subject"] == "Nowe hasło do konta einvoice"
        form = await new_device.get(link)
        assert form.status_code == 200 and 'name="password"' in form.text
        weak = await new_device.post(link, {"password": "password123"})
        assert weak.status_code == 400 and "zbyt popularne" in weak.text

        new_password = "nowe dłuższe hasło 7"
        done = await new_device.post(link, {"password": new_password})
        assert done.status_code == 303 and "reset=1" in done.headers["location"]
        assert (await new_device.post(link, {"password": "jeszcze inne hasło"})).status_code == 404

        assert (await old_device.http.get("/me")).status_code == 303, "old session ended"
        assert (await new_device.login(email, PASSWORD)).status_code == 401
        assert (await new_device.login(email, new_password)).status_code == 303
        assert (await new_device.get("/me")).status_code == 200
        assert await mails_to_address(f"ghost@{domain}") == []
    finally:
        await old_device.close()
        await new_device.close()


async def mails_to_address(address: str) -> list[dict[str, Any]]:
    return [m for m in await mails_to(address.split("@")[1]) if m["to"][0]["address"] == address]


async def test_forms_without_the_csrf_token_are_refused(browser: Browser, domain: str) -> None:
    email = f"csrf@{domain}"
    await register_and_confirm(browser, email)
    await browser.get("/account/login")
    data = {"email": email, "password": PASSWORD}
    assert (await browser.post("/account/login", data, csrf=False)).status_code == 403
    assert (await browser.http.post("/account/login", data={**data, "csrf": "x"})).status_code == (
        403
    )
    # Another browser's token does not fit this browser's cookie.
    other = Browser()
    try:
        await other.get("/account/login")
        forged = await browser.http.post("/account/login", data={**data, "csrf": other.csrf})
        assert forged.status_code == 403
    finally:
        await other.close()

    assert (await browser.login(email)).status_code == 303
    assert (await browser.post("/account/logout", {}, csrf=False)).status_code == 403
    assert (await browser.get("/me")).status_code == 200, "still signed in"
    for path in ("/account/register", "/account/reset", "/account/resend"):
        assert (await browser.post(path, {"email": email}, csrf=False)).status_code == 403


async def test_registration_refuses_weak_passwords_and_never_reveals_accounts(
    browser: Browser, domain: str
) -> None:
    await browser.get("/account/register")
    email = f"weak@{domain}"
    short = await browser.post("/account/register", {"email": email, "password": "krótkie"})
    assert short.status_code == 400 and "co najmniej 10 znaków" in short.text
    common = await browser.post("/account/register", {"email": email, "password": "qwertyuiop"})
    assert common.status_code == 400 and "zbyt popularne" in common.text

    taken, fresh = f"taken@{domain}", f"fresh@{domain}"
    await register_and_confirm(browser, taken)
    again = await browser.post("/account/register", {"email": taken, "password": PASSWORD})
    first = await browser.post("/account/register", {"email": fresh, "password": PASSWORD})
    assert same_page(again, first, taken, fresh)
    notice = (await mail_to(taken, count=2))[-1]
    assert notice["subject"] == "Masz już konto w einvoice"
    assert "/account/reset" in notice["text"]


async def test_resend_gives_a_new_confirmation_link(browser: Browser, domain: str) -> None:
    email = f"late@{domain}"
    await browser.get("/account/register")
    await browser.post("/account/register", {"email": email, "password": PASSWORD})
    await mail_to(email)
    await browser.get(f"/account/resend?email={email}")
    response = await browser.post("/account/resend", {"email": email})
    assert response.status_code == 200
    link = VERIFY_LINK.search((await mail_to(email, count=2))[-1]["text"]).group(1)
    await browser.get(link)
    assert (await browser.post(link, {})).status_code == 303
    assert (await browser.login(email)).status_code == 303


async def test_chain_users_land_on_their_chain_and_roles_are_kept_apart(
    stack: dict[str, str], domain: str
) -> None:
    tenant_id = f"chain-{uuid.uuid4().hex[:8]}"
    producer = make_producer(stack["kafka_bootstrap"], "tests")
    await producer.start()
    try:
        await publish_tenant(
            producer, events.TenantConfig(tenant_id=tenant_id, name="Sklepy Testowe", kind="retail")
        )
    finally:
        await producer.stop()
    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        user = await create_chain_user(
            service_db(mongo, "gateway"), f"Kasa@{domain}", PASSWORD, tenant_id
        )
    finally:
        await mongo.close()
    assert (user.role, user.tenant_id, user.verified) == ("chain", tenant_id, True)

    chain, shopper = Browser(), Browser()
    try:
        signed_in = await chain.login(f"kasa@{domain}")
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/chain"

        async def chain_page() -> httpx.Response | None:
            response = await chain.get("/chain")
            return response if response.status_code == 200 else None

        page = await eventually(chain_page, timeout=30, what="the gateway to learn the chain")
        assert "Sklepy Testowe" in page.text and f"kasa@{domain}" in page.text
        assert (await chain.get("/me")).status_code == 403

        await register_and_confirm(shopper, f"shopper@{domain}")
        assert (await shopper.login(f"shopper@{domain}")).status_code == 303
        assert (await shopper.get("/chain")).status_code == 403
        assert (await shopper.get("/me")).status_code == 200
    finally:
        await chain.close()
        await shopper.close()
