"""mailer.limits: sliding-window sending limits shared through one document per mailbox."""

from __future__ import annotations

import random
from bisect import bisect_left
from datetime import UTC, datetime

import pytest

from mailer.limits import Limits, MailboxLimiter, next_slot, take
from tests.unit.fakes import FakeCollection


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def max_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    # The densest window of length `period` ends at some send: count sends in (t-period, t].
    return max((i + 1 - bisect_left(times, t - period) for i, t in enumerate(times)), default=0)


async def test_grants_up_to_the_limit_then_tells_when_the_next_slot_opens() -> None:
    clock = Clock()
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    grant = await limiter.acquire("box", Limits(per_minute=100), 130)
    assert grant.granted == 100
    assert grant.next_slot_at == datetime.fromtimestamp(clock.now // 1 + 1 + 60, UTC)

    clock.now += 30
    refused = await limiter.acquire("box", Limits(per_minute=100), 1)
    assert refused.granted == 0 and refused.next_slot_at == grant.next_slot_at

    clock.now = grant.next_slot_at.timestamp()
    assert (await limiter.acquire("box", Limits(per_minute=100), 130)).granted == 100


async def test_no_limits_grant_everything_without_storing_anything() -> None:
    usage = FakeCollection()
    grant = await MailboxLimiter(usage).acquire("box", Limits(), 1000)
    assert grant.granted == 1000 and grant.next_slot_at is None and usage.docs == {}


async def test_every_limit_holds_the_tightest_one_wins() -> None:
    clock = Clock()
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    limits = Limits(per_minute=30, per_hour=50, per_day=10_000)
    sent = 0
    for _ in range(10):  # ten minutes of trying to send 30 a minute
        sent += (await limiter.acquire("box", limits, 30)).granted
        clock.now += 61
    assert sent == 50
    assert (await limiter.usage_of("box", limits))["per_hour"] == 50


@pytest.mark.parametrize("seed", range(20))
async def test_no_window_of_a_minute_ever_holds_more_than_the_limit(seed: int) -> None:
    """Random bursts from three replicas sharing one mailbox, over ten minutes."""
    rng = random.Random(seed)
    clock = Clock(1_800_000_000.0 + rng.random())
    usage = FakeCollection()
    replicas = [MailboxLimiter(usage, clock=clock) for _ in range(3)]
    limits = Limits(per_minute=100, per_hour=700)
    sends: list[float] = []
    while clock.now < 1_800_000_600:
        clock.now += rng.expovariate(2.0)  # about two attempts a second
        grant = await rng.choice(replicas).acquire("box", limits, rng.randint(1, 40))
        sends += [clock.now] * grant.granted
    assert max_in_any_window(sends, 60) <= 100
    assert max_in_any_window(sends, 3600) <= 700
    # and the limit is used, not just respected: the mailbox is not left idle
    assert len(sends) >= 600


def test_next_slot_is_when_the_oldest_needed_bucket_leaves_the_window() -> None:
    now = 1000.5
    buckets = take([], 60, 60, 1, 990.2)  # 60 at t=990
    buckets = take(buckets, 40, 60, 1, now)  # 40 at t=1000
    # 100 in the window; one slot frees when the 990 bucket leaves: at 991 + 60
    assert next_slot(buckets, 100, 60, 1, now) == 1051
    # with a limit of 50, the 990 bucket must leave and then still only 40 remain
    assert next_slot(buckets, 50, 60, 1, now) == 1051
    assert next_slot(buckets, 30, 60, 1, now) == 1061
