"""A sandbox's clock for tests: a fixed instant that only the test moves (nothing sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: a Friday morning, far from any change of time or holiday
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class HandClock:
    """Called, it answers the instant it holds; `advance` moves it on by the time given."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kw: float) -> datetime:
        self.now += timedelta(seconds=seconds, **kw)
        return self.now
