"""A clock the test moves by hand, for code that takes `clock=` (a callable giving now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2025, 1, 31, 8, 0, tzinfo=UTC)


class Clock:
    """Answers `now` when called: a datetime, or a float for code that counts in epoch
    seconds. The test sets `now` or calls `advance`."""

    def __init__(self, now: datetime | float = T0) -> None:
        self.now: Any = now

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        self.now += step if isinstance(self.now, datetime) else step.total_seconds()
