"""The web side of accounts without a server: the CSRF token before and after sign-in,
where a login may send the browser back to, and the account e-mails."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from gateway.config import GatewaySettings
from gateway.shop.accounts.mail import AccountMail, compose
from gateway.shop.accounts.store import Account
from gateway.shop.accounts.views import safe_next
from gateway.web.auth import SignedIn
from gateway.web.csrf import CsrfRejected, form_csrf, require_csrf
from gateway.web.sessions import Session
from tests.support.clock import T0

SETTINGS = GatewaySettings(session_secret="unit-test-secret-unit-test-secret")
SIGNED = SignedIn(
    Account("acc-1", "ola@example.pl", "shopper", None, True),
    Session("hash", "acc-1", "session-csrf-token-0123456789abcdef0123456", T0 + timedelta(days=1)),
)


def request(cookies: dict[str, str] | None = None) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/account/login",
        "headers": [(b"cookie", header.encode())] if header else [],
        "query_string": b"",
    }
    return Request(scope)


async def check(req: Request, submitted: str, signed: SignedIn | None = None) -> None:
    await require_csrf(req, SimpleNamespace(settings=SETTINGS), signed, submitted)


async def test_anonymous_forms_get_a_cookie_and_a_token_derived_from_it() -> None:
    token, cookie = form_csrf(request(), SETTINGS, None)
    assert cookie and token and token != cookie, "the page sets a new cookie"
    again, no_new_cookie = form_csrf(request({"einvoice_csrf": cookie}), SETTINGS, None)
    assert (again, no_new_cookie) == (token, None), "stable while the cookie lives"
    await check(request({"einvoice_csrf": cookie}), token)
    for submitted in ("", "x" * 64, cookie, token + "0"):
        with pytest.raises(CsrfRejected):
            await check(request({"einvoice_csrf": cookie}), submitted)
    with pytest.raises(CsrfRejected):
        await check(request(), token)  # no cookie, no match
    other = GatewaySettings(session_secret="another-secret-another-secret-xx")
    assert form_csrf(request({"einvoice_csrf": cookie}), other, None)[0] != token


async def test_signed_in_forms_use_the_session_token() -> None:
    token, cookie = form_csrf(request(), SETTINGS, SIGNED)
    assert (token, cookie) == (SIGNED.csrf, None)
    await check(request(), SIGNED.csrf, SIGNED)
    with pytest.raises(CsrfRejected):
        await check(request(), SIGNED.csrf, None)  # the session ended
    with pytest.raises(CsrfRejected):
        await check(request(), "ünïcode", SIGNED)


def test_outside_environments_use_a_host_only_cookie() -> None:
    prod = GatewaySettings(session_secret="a-real-secret-a-real-secret-xx", environment="prod")
    _, cookie = form_csrf(request(), prod, None)
    token, _ = form_csrf(request({"__Host-einvoice_csrf": cookie}), prod, None)
    assert form_csrf(request({"__Host-einvoice_csrf": cookie}), prod, None) == (token, None)
    assert form_csrf(request({"einvoice_csrf": cookie}), prod, None)[1] is not None


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("/me", "/me"),
        ("/me/invoices?page=2", "/me/invoices?page=2"),
        ("", None),
        ("me", None),
        ("//evil.example/me", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("/account/logout", None),
        ("/me\r\nSet-Cookie: x=1", None),
    ],
)
def test_login_returns_only_to_local_pages(value: str, safe: str | None) -> None:
    assert safe_next(value) == safe


@pytest.mark.parametrize(
    ("kind", "lang", "link", "words"),
    [
        ("verify", "pl", "https://faktury.example/account/verify/TOKEN", "Potwierdzam"),
        ("verify", "en", "https://faktury.example/account/verify/TOKEN?lang=en", "Confirm"),
        ("reset", "pl", "https://faktury.example/account/reset/TOKEN", "1 godzinę"),
        ("already_registered", "en", "https://faktury.example/account/reset?lang=en", "exists"),
    ],
)
def test_account_mails(kind: str, lang: str, link: str, words: str) -> None:
    message = compose(
        AccountMail(kind, "ola@example.pl", "TOKEN" if kind != "already_registered" else None),
        lang=lang,
        base_url="https://faktury.example/",
        sender="einvoice <konto@faktury.example>",
    )
    body = message.get_content()
    assert message["To"] == "ola@example.pl" and message["From"].endswith("faktury.example>")
    assert link in body and words in body
    assert message["Message-ID"] and message["Subject"]
