"""Injectable clocks for the daemon: the system clock, an accelerated one, a manual one.

The daemon never asks the wall clock directly: it asks a `Clock` for `now()` and
waits through `clock.wait(event, seconds)`, both in *clock* time. Deadlines are clock
times; the poll interval and back-off are real seconds, which the daemon turns into
clock time with `rate` (clock seconds per real second).

- `SystemClock`: the real time, rate 1.
- `AcceleratedClock`: time starts at a fixed instant and runs `rate` times faster,
  anchored on a real epoch instant so that two processes (a sandbox in a test and
  the daemon under test) agree on the time: one working hour per real second is
  `rate=3600`. Spelt on the command line / in $ESCALATOR_CLOCK as
  `accelerated:<rate>:<start ISO>[@<anchor epoch seconds>]`.
- `ManualClock`: for tests; time moves only when told, and `wait` returns at once,
  moving time forward by what was asked (or not at all when the event is set).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    rate: float

    def now(self) -> datetime:
        """The current time, timezone-aware."""

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` of clock time or until `event` is set; True when it was set."""


class SystemClock:
    rate = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(seconds, 0.0))


class AcceleratedClock:
    """`start` at real instant `anchor` (epoch seconds), then `rate` clock seconds per real second."""

    def __init__(self, start: datetime, rate: float, anchor: float | None = None):
        if start.tzinfo is None:
            raise ValueError("the accelerated clock's start must carry a time zone")
        if rate <= 0:
            raise ValueError(f"clock rate must be positive, not {rate}")
        self.start = start.astimezone(UTC)
        self.rate = float(rate)
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.rate)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(seconds, 0.0) / self.rate)

    def retime(self, rate: float) -> None:
        """Go on from the current instant at a new rate (the demo holds time still while it seeds)."""
        if rate <= 0:
            raise ValueError(f"clock rate must be positive, not {rate}")
        now, real = self.now(), time.time()
        self.start, self.anchor, self.rate = now, real, float(rate)

    def jump(self, when: datetime) -> None:
        """Go on from `when` at the same rate (a benchmark skips the idle hours before a deadline)."""
        self.start, self.anchor = when.astimezone(UTC), time.time()

    def spec(self) -> str:
        """The string `parse_clock` reads back into the same clock (for a child process)."""
        return f"accelerated:{self.rate:g}:{self.start.isoformat()}@{self.anchor:.6f}"


class ManualClock:
    """Test clock: `advance()` moves time; `wait()` jumps ahead instead of sleeping."""

    rate = 1.0

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("the manual clock's start must carry a time zone")
        self._now = start
        self._lock = threading.Lock()
        self.waits: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        with self._lock:
            self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        if event.is_set():
            return True
        self.advance(max(seconds, 0.0))
        return False


def parse_clock(spec: str | None) -> Clock:
    """'system' (or empty) or 'accelerated:<rate>:<start ISO>[@<anchor>]'; ValueError with the reason."""
    if not spec or spec == "system":
        return SystemClock()
    usage = f"clock {spec!r}: write 'system' or 'accelerated:<rate>:<start ISO>[@<anchor epoch seconds>]'"
    kind, _, rest = spec.partition(":")
    rate_text, _, start_text = rest.partition(":")
    if kind != "accelerated" or not start_text:
        raise ValueError(usage)
    start_text, _, anchor_text = start_text.partition("@")
    try:
        rate = float(rate_text)
        start = datetime.fromisoformat(start_text)
        anchor = float(anchor_text) if anchor_text else None
    except ValueError:
        raise ValueError(usage) from None
    if start.tzinfo is None:
        raise ValueError(f"clock {spec!r}: the start needs a time zone, e.g. 2026-03-02T09:00:00+08:00")
    if rate <= 0:
        raise ValueError(f"clock {spec!r}: the rate must be positive")
    return AcceleratedClock(start, rate, anchor)
