"""One-time tokens (verify 24 h, reset 1 h, single use, stored hashed), server-side sessions,
and the account flows built on them, with fakes only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.shop.accounts import service, tokens
from gateway.shop.accounts.ratelimit import RateLimiter
from gateway.shop.accounts.store import AccountStore, EmailTaken
from gateway.shop.accounts.tokens import OneTimeTokens, digest
from gateway.web.sessions import SessionStore
from tests.support.clock import Clock
from tests.support.mongo import FakeCollection, FakeDb
from tests.support.passwords import cheap_passwords

PASSWORD = "correct horse battery"
LIMITS = service.Limits()


def test_tokens_are_256_bit_url_safe_and_distinct() -> None:
    made = {tokens.new_token() for _ in range(200)}
    assert len(made) == 200
    assert all(len(t) == 43 and t.replace("-", "").replace("_", "").isalnum() for t in made)


async def test_only_the_hash_is_stored() -> None:
    coll = FakeCollection()
    token = await OneTimeTokens(coll, Clock()).issue("acc-1", tokens.VERIFY)
    assert list(coll.docs) == [digest(token)]
    assert token not in str(coll.docs)


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [(tokens.VERIFY, timedelta(hours=24)), (tokens.RESET, timedelta(hours=1))],
)
async def test_tokens_expire(purpose: tokens.Purpose, lifetime: timedelta) -> None:
    clock = Clock()
    store = OneTimeTokens(FakeCollection(), clock)
    token = await store.issue("acc-1", purpose)
    clock.advance(seconds=lifetime.total_seconds() - 1)
    assert await store.peek(token, purpose) == "acc-1"
    clock.advance(seconds=1)
    assert await store.peek(token, purpose) is None
    assert await store.consume(token, purpose) is None


async def test_peek_does_not_use_up_and_consume_works_once() -> None:
    store = OneTimeTokens(FakeCollection(), Clock())
    token = await store.issue("acc-1", tokens.VERIFY)
    assert await store.peek(token, tokens.VERIFY) == "acc-1"
    assert await store.peek(token, tokens.VERIFY) == "acc-1"
    assert await store.consume(token, tokens.RESET) is None, "a verify token cannot reset"
    assert await store.consume(token, tokens.VERIFY) == "acc-1"
    assert await store.consume(token, tokens.VERIFY) is None
    assert await store.peek("made-up", tokens.VERIFY) is None


async def test_sessions_are_stored_hashed_expire_and_close() -> None:
    clock = Clock()
    coll = FakeCollection()
    sessions = SessionStore(coll, clock)
    token, session = await sessions.open("acc-1", timedelta(days=14))
    other, _ = await sessions.open("acc-1", timedelta(days=14))
    assert token not in str(coll.docs) and session.session_hash == digest(token)
    assert (await sessions.get(token)) == session
    assert len(session.csrf) >= 43
    await sessions.close(token)
    assert await sessions.get(token) is None
    assert await sessions.get(other) is not None
    clock.advance(days=14)
    assert await sessions.get(other) is None
    assert await sessions.get("") is None


# --- flows ---------------------------------------------------------------------------------


async def make() -> tuple[AccountStore, RateLimiter, Clock]:
    clock = Clock()
    db = FakeDb()
    store = AccountStore(db, passwords=cheap_passwords(), clock=clock)
    await store.setup()  # the unique e-mail index
    return store, RateLimiter(db["rate_limits"], clock), clock


async def register(store: AccountStore, limiter: RateLimiter, email: str, password: str = PASSWORD):
    return await service.register(
        store, limiter, LIMITS, email=email, password=password, ip="10.0.0.1"
    )


async def sign_in(store: AccountStore, limiter: RateLimiter, email: str, password: str = PASSWORD):
    return await service.sign_in(
        store, limiter, LIMITS, email=email, password=password, ip="10.0.0.1"
    )


async def test_register_confirm_and_sign_in() -> None:
    store, limiter, _ = await make()
    result = await register(store, limiter, " Ola@Example.PL")
    assert result.ok and result.mail is not None
    assert (result.mail.kind, result.mail.to) == ("verify", "ola@example.pl")
    assert (await sign_in(store, limiter, "ola@example.pl")).status == service.UNVERIFIED

    assert (await service.confirm_email(store, result.mail.token)).ok
    assert not (await service.confirm_email(store, result.mail.token)).ok, "single use"
    signed = await sign_in(store, limiter, "OLA@example.pl")
    assert signed.ok and signed.session_token
    session = await store.sessions.get(signed.session_token)
    assert session is not None and session.account_id == signed.account.account_id


async def test_registering_a_taken_address_answers_the_same_and_tells_the_owner() -> None:
    store, limiter, _ = await make()
    first = await register(store, limiter, "ola@example.pl")
    again = await register(store, limiter, "ola@example.pl", "another long password")
    assert again.status == first.status == service.OK
    assert again.mail.kind == "verify", "unconfirmed: a fresh confirmation link"
    await service.confirm_email(store, first.mail.token)
    third = await register(store, limiter, "ola@example.pl", "another long password")
    assert third.ok and third.mail.kind == "already_registered" and third.mail.token is None
    with pytest.raises(EmailTaken):
        await store.create("OLA@example.pl", PASSWORD)


async def test_weak_password_and_bad_address_are_refused() -> None:
    store, limiter, _ = await make()
    assert (await register(store, limiter, "ola@example.pl", "short")).status == "acc_pw_short"
    assert (await register(store, limiter, "ola@example.pl", "1234567890")).status == (
        "acc_pw_common"
    )
    assert (await register(store, limiter, "ola(at)example.pl")).status == "acc_bad_email"
    assert await store.by_email("ola@example.pl") is None


async def test_wrong_password_and_unknown_address_look_the_same() -> None:
    store, limiter, _ = await make()
    result = await register(store, limiter, "ola@example.pl")
    await service.confirm_email(store, result.mail.token)
    wrong = await sign_in(store, limiter, "ola@example.pl", "wrong password!")
    unknown = await sign_in(store, limiter, "nobody@example.pl")
    assert wrong == unknown == service.Result(service.BAD_LOGIN)


async def test_resend_only_for_an_unconfirmed_account() -> None:
    store, limiter, _ = await make()
    result = await register(store, limiter, "ola@example.pl")

    async def resend(email: str) -> service.Result:
        return await service.resend_verification(store, limiter, LIMITS, email=email, ip="10.0.0.1")

    again = await resend("ola@example.pl")
    assert again.ok and again.mail.kind == "verify" and again.mail.token != result.mail.token
    assert await resend("nobody@example.pl") == service.Result(service.OK)
    assert (await service.confirm_email(store, again.mail.token)).ok
    assert not (await service.confirm_email(store, result.mail.token)).ok, "others revoked"
    assert await resend("ola@example.pl") == service.Result(service.OK)


async def test_reset_sets_the_password_once_and_ends_every_session() -> None:
    store, limiter, _ = await make()
    registered = await register(store, limiter, "ola@example.pl")
    await service.confirm_email(store, registered.mail.token)
    first = await sign_in(store, limiter, "ola@example.pl")
    second = await sign_in(store, limiter, "ola@example.pl")

    async def request(email: str) -> service.Result:
        return await service.request_reset(store, limiter, LIMITS, email=email, ip="10.0.0.1")

    assert await request("nobody@example.pl") == service.Result(service.OK)
    asked = await request("Ola@example.pl")
    assert asked.ok and asked.mail.kind == "reset"
    token = asked.mail.token

    weak = await service.reset_password(store, token=token, password="password123")
    assert weak.status == "acc_pw_common"
    assert await store.tokens.peek(token, tokens.RESET), "a refused password keeps the link"

    new = "a brand new passphrase"
    assert (await service.reset_password(store, token=token, password=new)).ok
    assert (await service.reset_password(store, token=token, password=new)).status == (
        service.INVALID_TOKEN
    )
    assert await store.sessions.get(first.session_token) is None
    assert await store.sessions.get(second.session_token) is None
    assert (await sign_in(store, limiter, "ola@example.pl")).status == service.BAD_LOGIN
    assert (await sign_in(store, limiter, "ola@example.pl", new)).ok


async def test_reset_links_expire_after_an_hour() -> None:
    store, limiter, clock = await make()
    await register(store, limiter, "ola@example.pl")
    asked = await service.request_reset(
        store, limiter, LIMITS, email="ola@example.pl", ip="10.0.0.1"
    )
    clock.advance(hours=1)
    result = await service.reset_password(
        store, token=asked.mail.token, password="fresh passphrase"
    )
    assert result.status == service.INVALID_TOKEN


async def test_a_reset_confirms_the_address() -> None:
    store, limiter, _ = await make()
    await register(store, limiter, "ola@example.pl")
    asked = await service.request_reset(
        store, limiter, LIMITS, email="ola@example.pl", ip="10.0.0.1"
    )
    await service.reset_password(store, token=asked.mail.token, password="fresh passphrase")
    assert (await sign_in(store, limiter, "ola@example.pl", "fresh passphrase")).ok


async def test_remember_buyer_keeps_the_profile() -> None:
    store, limiter, _ = await make()
    account = (await register(store, limiter, "ola@example.pl")).account
    buyer = {"name": "Ola Sp. z o.o.", "nip": "7740001454", "address": {"city": "Łódź"}}
    await store.remember_buyer(account.account_id, buyer)
    assert (await store.get(account.account_id)).profile == buyer
    with pytest.raises(TypeError):
        await store.remember_buyer(account.account_id, ["not", "a", "dict"])  # type: ignore[arg-type]


async def test_chain_users_belong_to_a_tenant() -> None:
    store, _, _ = await make()
    with pytest.raises(ValueError):
        await store.create("kasa@sklep.pl", PASSWORD, role="chain")
    with pytest.raises(ValueError):
        await store.create("ola@example.pl", PASSWORD, tenant_id="chain-1")
    user = await store.create("kasa@sklep.pl", PASSWORD, role="chain", tenant_id="chain-1")
    assert (user.role, user.tenant_id) == ("chain", "chain-1")
