"""mailer.limits: sliding-window sending limits shared through one document per mailbox."""

from __future__ import annotations

import random
from bisect import bisect_left
from datetime import UTC, datetime

import pytest

from mailer.limits import Grant, Limits, MailboxLimiter, next_slot, take
from tests.support.clock import Clock
from tests.support.mongo import FakeCollection

START = 1_800_000_000.0  # epoch seconds: the limiter counts in them


def max_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    # The densest window of length `period` ends at some send: count sends in (t-period, t].
    return max((i + 1 - bisect_left(times, t - period) for i, t in enumerate(times)), default=0)


HOLD = 45.0  # seconds a send may take (the dispatcher's deadline)


async def send_now(limiter: MailboxLimiter, limits: Limits, wanted: int) -> Grant:
    """Take slots and settle them at once, as a send that took no time."""
    grant = await limiter.acquire("box", limits, wanted, hold=HOLD)
    if grant.token:
        await limiter.settle("box", limits, grant.token)
    return grant


async def test_grants_up_to_the_limit_then_tells_when_the_next_slot_opens() -> None:
    clock = Clock(START)
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    grant = await send_now(limiter, Limits(per_minute=100), 130)
    assert grant.granted == 100
    assert grant.next_slot_at == datetime.fromtimestamp(clock.now // 1 + 1 + 60, UTC)

    clock.now += 30
    refused = await limiter.acquire("box", Limits(per_minute=100), 1, hold=HOLD)
    assert refused.granted == 0 and refused.next_slot_at == grant.next_slot_at
    assert refused.token is None

    clock.now = grant.next_slot_at.timestamp()
    assert (await send_now(limiter, Limits(per_minute=100), 130)).granted == 100


async def test_no_limits_grant_everything_without_storing_anything() -> None:
    usage = FakeCollection()
    grant = await MailboxLimiter(usage).acquire("box", Limits(), 1000, hold=HOLD)
    assert grant.granted == 1000 and grant.next_slot_at is None and usage.docs == {}


async def test_every_limit_holds_the_tightest_one_wins() -> None:
    clock = Clock(START)
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    limits = Limits(per_minute=30, per_hour=50, per_day=10_000)
    sent = 0
    for _ in range(10):  # ten minutes of trying to send 30 a minute
        sent += (await send_now(limiter, limits, 30)).granted
        clock.now += 61
    assert sent == 50
    assert (await limiter.usage_of("box", limits))["per_hour"] == 50


async def test_a_slot_counts_from_when_the_send_ended_not_when_it_was_taken() -> None:
    """Slots taken at t=0 for sends the server accepted at t=20 free up at t=80, not 60."""
    clock = Clock(START)
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    limits = Limits(per_minute=100)
    grant = await limiter.acquire("box", limits, 100, hold=HOLD)
    clock.now += 20
    await limiter.settle("box", limits, grant.token)
    clock.now += 45  # t=65: a minute after taking, but only 45 s after sending
    assert (await limiter.acquire("box", limits, 1, hold=HOLD)).granted == 0
    clock.now += 16  # t=81
    assert (await send_now(limiter, limits, 100)).granted == 100


async def test_a_hold_never_settled_counts_as_sent_at_its_deadline() -> None:
    """The replica died mid-send: the slot counts until HOLD, then for a window after it."""
    clock = Clock(START)
    limiter = MailboxLimiter(FakeCollection(), clock=clock)
    limits = Limits(per_minute=10)
    await limiter.acquire("box", limits, 10, hold=HOLD)  # never settled
    clock.now += 100  # deadline at 45 + a minute - 5 s
    refused = await limiter.acquire("box", limits, 1, hold=HOLD)
    assert refused.granted == 0
    assert refused.next_slot_at == datetime.fromtimestamp(1_800_000_000 + HOLD + 1 + 60, UTC)
    assert (await limiter.usage_of("box", limits))["per_minute"] == 10
    clock.now += 7
    assert (await send_now(limiter, limits, 10)).granted == 10
    # a late settle of the expired hold changes nothing
    assert (await limiter.acquire("box", limits, 1, hold=HOLD)).granted == 0


@pytest.mark.parametrize("seed", range(20))
async def test_no_window_of_a_minute_ever_holds_more_than_the_limit(seed: int) -> None:
    """Three replicas share one mailbox for ten minutes, taking random bursts of slots.
    Each send reaches the server at a random moment between taking its slot and SMTP's
    answer, which comes up to HOLD seconds later; a few replicas die before settling.
    Counted by the times the server received the messages, as the provider counts."""
    rng = random.Random(seed)
    clock = Clock(START + rng.random())
    usage = FakeCollection()
    replicas = [MailboxLimiter(usage, clock=clock) for _ in range(3)]
    limits = Limits(per_minute=100, per_hour=700)
    received: list[float] = []
    answers: list[tuple[float, MailboxLimiter, str]] = []  # (answered at, replica, token)
    while clock.now < 1_800_000_600:
        clock.now += rng.expovariate(2.0)  # about two attempts a second
        for answered in sorted(a for a in answers if a[0] <= clock.now):
            answers.remove(answered)
            _, replica, token = answered
            await replica.settle("box", limits, token)
        replica = rng.choice(replicas)
        grant = await replica.acquire("box", limits, rng.randint(1, 40), hold=HOLD)
        if not grant.granted:
            continue
        taken = clock.now
        answered_at = taken + rng.uniform(0, HOLD) * rng.choice([0.01, 0.2, 1.0])
        received += [rng.uniform(taken, answered_at) for _ in range(grant.granted)]
        if rng.random() > 0.05:  # else the replica dies: the hold is never settled
            answers.append((answered_at, replica, grant.token))
    assert max_in_any_window(received, 60) <= 100
    assert max_in_any_window(received, 3600) <= 700
    # and the limit is used, not just respected: the mailbox is not left idle
    assert len(received) >= 600


def test_next_slot_is_when_the_oldest_needed_bucket_leaves_the_window() -> None:
    now = 1000.5
    buckets = take([], 60, 60, 1, 990.2)  # 60 at t=990
    buckets = take(buckets, 40, 60, 1, now)  # 40 at t=1000
    # 100 in the window; one slot frees when the 990 bucket leaves: at 991 + 60
    assert next_slot(buckets, 100, 60, 1, now) == 1051
    # with a limit of 50, the 990 bucket must leave and then still only 40 remain
    assert next_slot(buckets, 50, 60, 1, now) == 1051
    assert next_slot(buckets, 30, 60, 1, now) == 1061
