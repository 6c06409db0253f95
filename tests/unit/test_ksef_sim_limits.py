"""The simulator's sliding-window rate limits, on a test clock."""

from __future__ import annotations

import pytest

from ksef_sim.limits import SlidingWindows, Unlimited, limiter_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eleventh_send_in_a_second_waits_for_the_window() -> None:
    clock = Clock()
    limits = SlidingWindows(1, clock)
    assert [limits.retry_after("invoiceSend", "5265877635", "ip") for _ in range(10)] == [None] * 10
    assert limits.retry_after("invoiceSend", "5265877635", "ip") == 1.0
    # Another context or another IP is counted on its own.
    assert limits.retry_after("invoiceSend", "1234563218", "ip") is None
    assert limits.retry_after("invoiceSend", "5265877635", "other-ip") is None
    clock.now += 1.01
    assert limits.retry_after("invoiceSend", "5265877635", "ip") is None


def test_the_per_minute_limit_names_the_wait_until_the_oldest_request_leaves() -> None:
    clock = Clock()
    limits = SlidingWindows(1, clock)
    for _ in range(30):
        assert limits.retry_after("invoiceSend", "n", "ip") is None
        clock.now += 0.5  # 2 a second: under the per-second limit
    # 30 in the last 15 s; the first leaves the minute 45 s from now.
    assert limits.retry_after("invoiceSend", "n", "ip") == 45.0
    clock.now += 45.0
    assert limits.retry_after("invoiceSend", "n", "ip") is None


def test_the_test_environment_allows_ten_times_more() -> None:
    limits = SlidingWindows(10, Clock())
    assert all(limits.retry_after("invoiceSend", "n", "ip") is None for _ in range(100))
    assert limits.retry_after("invoiceSend", "n", "ip") is not None


def test_modes() -> None:
    assert isinstance(limiter_for("off"), Unlimited)
    assert isinstance(limiter_for("test"), SlidingWindows)
    with pytest.raises(ValueError, match="off, production or test"):
        limiter_for("fast")
