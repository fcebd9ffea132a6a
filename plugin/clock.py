"""Injectable clocks for the daemon: the system clock, an accelerated one, a stepped one, a manual one.

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
- `SteppedClock`: for end-to-end tests; time is held in a small file (the *channel*)
  that only the test moves, so clock time never runs on its own and a busy machine
  cannot make "four hours later" arrive before the daemon has acted. Every process
  reading the channel agrees on the time. A process waiting on it reports, beside the
  channel, the instant it is idle at and the instant it waits for: the test steps the
  time, then waits for that report (a condition), never for a wall-clock budget. Spelt
  `stepped:<channel path>`.
- `ManualClock`: for tests; time moves only when told, and `wait` returns at once,
  moving time forward by what was asked (or not at all when the event is set).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

    def __init__(self, start: datetime, rate: float, anchor: float | None = None, *,
                 real: Callable[[], float] = time.time):
        if start.tzinfo is None:
            raise ValueError("the accelerated clock's start must carry a time zone")
        if rate <= 0:
            raise ValueError(f"clock rate must be positive, not {rate}")
        self.real = real  # the real epoch time (injected by the clock's own tests)
        self.start = start.astimezone(UTC)
        self.rate = float(rate)
        self.anchor = real() if anchor is None else anchor

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self.real() - self.anchor) * self.rate)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(seconds, 0.0) / self.rate)

    def retime(self, rate: float) -> None:
        """Go on from the current instant at a new rate (the demo holds time still while it seeds)."""
        if rate <= 0:
            raise ValueError(f"clock rate must be positive, not {rate}")
        now, real = self.now(), self.real()
        self.start, self.anchor, self.rate = now, real, float(rate)

    def jump(self, when: datetime) -> None:
        """Go on from `when` at the same rate (a benchmark skips the idle hours before a deadline)."""
        self.start, self.anchor = when.astimezone(UTC), self.real()

    def spec(self) -> str:
        """The string `parse_clock` reads back into the same clock (for a child process)."""
        return f"accelerated:{self.rate:g}:{self.start.isoformat()}@{self.anchor:.6f}"


#: the channel's one line: the instant (ISO 8601, with its offset), a space, the rate
_CHANNEL = re.compile(r"(\S+) (\S+)\n?")


@dataclass(frozen=True)
class Idle:
    """A waiter's report: idle at `at` (all done up to that instant), waiting until `until`."""

    pid: int
    thread: int
    at: datetime
    until: datetime


def _check(when: datetime, rate: float) -> None:
    if when.tzinfo is None:
        raise ValueError("the stepped clock's time must carry a time zone")
    if rate <= 0:
        raise ValueError(f"clock rate must be positive, not {rate}")


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: a reader sees the old content or the new, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_native_id()}.tmp")
    tmp.write_text(text, encoding="ascii")
    os.replace(tmp, path)


class SteppedClock:
    """Time that moves only when it is stepped, shared by processes through a channel file.

    The channel holds one line, `<instant ISO> <rate>`, replaced atomically at each step.
    `rate` scales what the daemon counts in real seconds (the poll interval, the back-off)
    into clock time, as for the accelerated clock; the time itself never runs.

    `wait(event, seconds)` looks at the channel every `POLL` real seconds (a short real
    sleep; no inotify) until the stepped time reaches `now + seconds` (False) or the event
    is set (True). Meanwhile it keeps a report beside the channel,
    `<channel>.idle.<pid>.<thread>`: "idle at T until U" says the waiter has done all it had
    to do up to clock instant T and will wake at U. A test steps to T, then waits for a
    report at T (`idle`); in one process, `waiting` shows the waiters and their events.
    """

    #: real seconds between two looks at the channel while waiting
    POLL = 0.005
    #: the threads of this process waiting, per channel (whichever clock object they wait through)
    _waiters: dict[Path, dict[int, tuple[threading.Event, datetime]]] = {}
    _waiters_lock = threading.Lock()

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._read()  # a missing or garbled channel is said at once
        self._key = self.path.resolve()

    @classmethod
    def create(cls, path: Path | str, start: datetime, rate: float = 1.0) -> SteppedClock:
        """A new channel at `path` holding `start` (for the test that steps it)."""
        _check(start, rate)
        _replace(Path(path), f"{start.isoformat()} {float(rate)!r}\n")
        return cls(path)

    def _read(self) -> tuple[datetime, float]:
        try:
            text = self.path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"clock channel {self.path}: {getattr(exc, 'strerror', None) or exc}") from None
        match = _CHANNEL.fullmatch(text)
        try:
            if match is None:
                raise ValueError
            when, rate = datetime.fromisoformat(match[1]), float(match[2])
            _check(when, rate)
        except ValueError:
            raise ValueError(f"clock channel {self.path}: {text[:80]!r} is not '<instant ISO with offset> "
                             "<rate>'") from None
        return when.astimezone(UTC), rate

    def now(self) -> datetime:
        return self._read()[0]

    @property
    def rate(self) -> float:
        return self._read()[1]

    def set(self, when: datetime, rate: float | None = None) -> None:
        """Step to `when` (never back), optionally at a new rate."""
        now, old = self._read()
        rate = old if rate is None else rate
        _check(when, rate)
        if when < now:
            raise ValueError(f"the stepped clock does not go back (from {now.isoformat()} to {when.isoformat()})")
        _replace(self.path, f"{when.astimezone(UTC).isoformat()} {float(rate)!r}\n")

    def advance(self, delta: timedelta | float) -> datetime:
        when = self.now() + (delta if isinstance(delta, timedelta) else timedelta(seconds=delta))
        self.set(when)
        return when

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        target = self.now() + timedelta(seconds=max(seconds, 0.0))
        me = threading.get_native_id()
        with self._waiters_lock:
            self._waiters.setdefault(self._key, {})[me] = (event, target)
        try:
            shown = None
            while (now := self.now()) < target:
                if now != shown:
                    self._report(me, now, target)
                    shown = now
                if event.wait(self.POLL):
                    return True
            return False
        finally:
            with self._waiters_lock:
                self._waiters[self._key].pop(me, None)

    def _report(self, thread: int, at: datetime, until: datetime) -> None:
        report = self.path.with_name(f"{self.path.name}.idle.{os.getpid()}.{thread}")
        _replace(report, f"{at.isoformat()} {until.isoformat()}\n")

    def idle(self, pid: int | None = None) -> list[Idle]:
        """The waiters' reports on this channel (of process `pid`, or of all): who is idle at what."""
        reports = []
        for report in self.path.parent.glob(f"{self.path.name}.idle.{pid if pid is not None else '*'}.*"):
            _, _, who = report.name.rpartition(".idle.")
            owner, _, thread = who.partition(".")
            try:
                at, until = report.read_text(encoding="ascii").split()
            except (OSError, ValueError):
                continue  # a report that went away meanwhile
            reports.append(Idle(int(owner), int(thread), datetime.fromisoformat(at), datetime.fromisoformat(until)))
        return reports

    def waiting(self) -> dict[int, tuple[threading.Event, datetime]]:
        """The threads of this process waiting on this channel: native thread id -> (event, target)."""
        with self._waiters_lock:
            return dict(self._waiters.get(self._key, {}))

    def spec(self) -> str:
        """The string `parse_clock` reads back into a clock on the same channel (for a child process,
        whatever its working directory)."""
        return f"stepped:{self._key}"


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
    """'system' (or empty), 'accelerated:<rate>:<start ISO>[@<anchor>]' or 'stepped:<channel file>';
    ValueError with the reason."""
    if not spec or spec == "system":
        return SystemClock()
    usage = (f"clock {spec!r}: write 'system', 'accelerated:<rate>:<start ISO>[@<anchor epoch seconds>]' "
             "or 'stepped:<channel file>'")
    kind, _, rest = spec.partition(":")
    if kind == "stepped":
        if not rest:
            raise ValueError(usage)
        try:
            return SteppedClock(rest)
        except ValueError as exc:
            raise ValueError(f"clock {spec!r}: {exc}") from None
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
