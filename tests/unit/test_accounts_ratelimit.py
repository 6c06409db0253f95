"""Fixed-window rate limits shared by gateway replicas, and how sign-in, registration and
reset requests use them (fakes only)."""

from __future__ import annotations

from gateway.shop.accounts import service
from gateway.shop.accounts.ratelimit import RateLimiter
from gateway.shop.accounts.store import AccountStore
from tests.support.clock import T0, Clock
from tests.support.mongo import FakeCollection, FakeDb
from tests.support.passwords import cheap_passwords

PASSWORD = "correct horse battery"


async def test_allows_the_limit_then_refuses_until_the_window_ends() -> None:
    clock = Clock(T0.replace(minute=0))
    limiter = RateLimiter(FakeCollection(), clock)
    assert [await limiter.hit("login", "a@b.pl", 3, 900) for _ in range(5)] == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert limiter.retry_after(900) == 900
    clock.advance(minutes=14, seconds=59)
    assert not await limiter.hit("login", "a@b.pl", 3, 900)
    assert limiter.retry_after(900) == 1
    clock.advance(seconds=1)
    assert await limiter.hit("login", "a@b.pl", 3, 900), "a new window"


async def test_subjects_and_purposes_count_separately() -> None:
    limiter = RateLimiter(FakeCollection(), Clock())
    assert await limiter.hit("login", "a@b.pl", 1, 60)
    assert not await limiter.hit("login", "a@b.pl", 1, 60)
    assert await limiter.hit("login", "c@d.pl", 1, 60)
    assert await limiter.hit("reset", "a@b.pl", 1, 60)


async def test_replicas_share_one_budget() -> None:
    shared, clock = FakeCollection(), Clock()
    one, two = RateLimiter(shared, clock), RateLimiter(shared, clock)
    results = [await (one if i % 2 else two).hit("login", "10.0.0.9", 4, 900) for i in range(6)]
    assert results == [True, True, True, True, False, False]


async def test_subjects_are_not_stored_in_clear_and_counters_expire() -> None:
    coll = FakeCollection()
    limiter = RateLimiter(coll, Clock(T0.replace(minute=0)))
    await limiter.setup()
    await limiter.hit("login-email", "ola@example.pl", 10, 900)
    await limiter.hit("login-ip", "192.0.2.7", 10, 900)
    assert "ola@example.pl" not in str(coll.docs) and "192.0.2.7" not in str(coll.docs)
    assert ("expires_at", {"expireAfterSeconds": 0}) in coll.indexes
    for doc in coll.docs.values():
        assert doc["expires_at"] > T0.replace(minute=15)


async def test_refund_gives_one_attempt_back_but_never_below_zero() -> None:
    limiter = RateLimiter(FakeCollection(), Clock())
    assert await limiter.hit("login", "x", 1, 60)
    await limiter.refund("login", "x", 60)
    await limiter.refund("login", "x", 60)
    assert await limiter.hit("login", "x", 1, 60)
    assert not await limiter.hit("login", "x", 1, 60)


# --- the flows ----------------------------------------------------------------------------


async def _verified_account(store: AccountStore, email: str) -> None:
    await store.create(email, PASSWORD, verified=True)


async def make() -> tuple[AccountStore, RateLimiter]:
    db, clock = FakeDb(), Clock()
    store = AccountStore(db, passwords=cheap_passwords(), clock=clock)
    await store.setup()
    return store, RateLimiter(db["rate_limits"], clock)


async def test_the_eleventh_bad_sign_in_is_refused_even_with_the_right_password() -> None:
    store, limiter = await make()
    await _verified_account(store, "ola@example.pl")
    limits = service.Limits()

    async def attempt(password: str, email: str = "ola@example.pl") -> str:
        result = await service.sign_in(
            store, limiter, limits, email=email, password=password, ip="10.0.0.1"
        )
        return result.status

    assert [await attempt(f"wrong guess {i}") for i in range(10)] == [service.BAD_LOGIN] * 10
    assert await attempt("wrong guess 11") == service.LIMITED
    assert await attempt(PASSWORD) == service.LIMITED
    assert await attempt(PASSWORD, "OLA@example.pl") == service.LIMITED, "same address"


async def test_successful_sign_ins_do_not_use_up_the_budget() -> None:
    store, limiter = await make()
    await _verified_account(store, "ola@example.pl")
    limits = service.Limits(login_per_email=3, login_per_ip=3)
    for _ in range(10):
        result = await service.sign_in(
            store, limiter, limits, email="ola@example.pl", password=PASSWORD, ip="10.0.0.1"
        )
        assert result.ok


async def test_one_ip_guessing_many_addresses_is_stopped() -> None:
    store, limiter = await make()
    limits = service.Limits(login_per_ip=5)
    statuses = [
        (
            await service.sign_in(
                store,
                limiter,
                limits,
                email=f"u{i}@example.pl",
                password="guess guess",
                ip="1.2.3.4",
            )
        ).status
        for i in range(7)
    ]
    assert statuses == [service.BAD_LOGIN] * 5 + [service.LIMITED] * 2
    other_ip = await service.sign_in(
        store, limiter, limits, email="u9@example.pl", password="guess guess", ip="5.6.7.8"
    )
    assert other_ip.status == service.BAD_LOGIN


async def test_registrations_and_reset_requests_are_limited_per_ip() -> None:
    store, limiter = await make()
    limits = service.Limits(forms_per_ip=2)
    statuses = [
        (
            await service.register(
                store, limiter, limits, email=f"u{i}@example.pl", password=PASSWORD, ip="1.2.3.4"
            )
        ).status
        for i in range(3)
    ]
    assert statuses == [service.OK, service.OK, service.LIMITED]
    resets = [
        (
            await service.request_reset(store, limiter, limits, email="u0@example.pl", ip="1.2.3.4")
        ).status
        for _ in range(3)
    ]
    assert resets == [service.OK, service.OK, service.LIMITED]


async def test_mails_to_one_address_are_capped_silently() -> None:
    store, limiter = await make()
    await _verified_account(store, "ola@example.pl")
    limits = service.Limits(mails_per_email=2)
    results = [
        await service.request_reset(
            store, limiter, limits, email="ola@example.pl", ip=f"10.0.0.{i}"
        )
        for i in range(3)
    ]
    assert [r.status for r in results] == [service.OK] * 3, "the same answer every time"
    assert [r.mail is not None for r in results] == [True, True, False]
