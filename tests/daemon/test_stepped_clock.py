"""The stepped clock (`plugin.clock.SteppedClock`): time held in a channel file, moved only by a step.

Two clocks on one channel - two objects, or two processes - tell the same time; a wait
ends when a step reaches its target or when its event is set, never by itself; a waiter
reports the instant it is idle at. No test here sleeps for a set time: each waits for a
condition, with a generous guard against a hang.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from plugin.clock import SteppedClock, parse_clock
from tests.daemon.conftest import T0

HANG = 60.0


def until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < end, f"still waiting for {what}: a hang"
        time.sleep(0.002)


class Waiter(threading.Thread):
    """`clock.wait(event, seconds)` in a thread of its own; `result` once it returned."""

    def __init__(self, clock: SteppedClock, seconds: float):
        super().__init__(daemon=True)
        self.clock, self.seconds = clock, seconds
        self.event = threading.Event()
        self.result: bool | None = None

    def run(self) -> None:
        self.result = self.clock.wait(self.event, self.seconds)

    def idle_at(self, when) -> bool:
        """This thread has reported it is idle at `when` (or later)."""
        return any(r.thread == self.native_id and r.at >= when for r in self.clock.idle(os.getpid()))


@pytest.fixture
def clock(tmp_path) -> SteppedClock:
    return SteppedClock.create(tmp_path / "clock", T0, rate=3600)


def test_two_clocks_on_one_channel_agree(clock, tmp_path):
    other = parse_clock(clock.spec())
    assert isinstance(other, SteppedClock) and other.path == clock.path.resolve()
    assert other.now() == clock.now() == T0 and other.rate == clock.rate == 3600
    clock.advance(timedelta(hours=4))
    assert other.now() == T0 + timedelta(hours=4)
    other.set(T0 + timedelta(hours=5), rate=60)
    assert (clock.now(), clock.rate) == (T0 + timedelta(hours=5), 60)
    assert clock.now().tzinfo is not None
    # the channel is replaced whole at each step: nothing but it is left in the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clock"]


def test_time_stands_until_a_step_reaches_the_target(clock):
    waiter = Waiter(clock, 3600)  # one clock hour
    waiter.start()
    until(lambda: waiter.idle_at(T0), "the waiter's report")
    assert waiter.is_alive() and clock.now() == T0  # idle, and time did not move on its own
    clock.advance(timedelta(minutes=30))  # half-way: still waiting, idle at the new instant
    until(lambda: waiter.idle_at(T0 + timedelta(minutes=30)), "the report at 30 min")
    assert waiter.is_alive()
    [report] = clock.idle(os.getpid())
    assert (report.at, report.until) == (T0 + timedelta(minutes=30), T0 + timedelta(hours=1))
    clock.advance(timedelta(minutes=30))
    waiter.join(HANG)
    assert waiter.result is False


def test_a_step_past_the_target_ends_the_wait(clock):
    waiter = Waiter(clock, 60)
    waiter.start()
    until(lambda: waiter.idle_at(T0), "the waiter's report")
    clock.set(T0 + timedelta(days=1))
    waiter.join(HANG)
    assert waiter.result is False


def test_the_event_wakes_a_waiter_at_once(clock):
    waiter = Waiter(clock, 10 * 3600)
    waiter.start()
    until(lambda: waiter.native_id in clock.waiting(), "the waiter to register")
    event, target = clock.waiting()[waiter.native_id]
    assert event is waiter.event and target == T0 + timedelta(hours=10)
    waiter.event.set()
    waiter.join(HANG)
    assert waiter.result is True and clock.now() == T0
    assert clock.waiting() == {}
    already = threading.Event()
    already.set()
    assert clock.wait(already, 3600) is True  # set before: no wait at all
    assert clock.wait(threading.Event(), 0) is False  # nothing to wait for


def test_another_process_waits_on_the_same_channel(clock):
    script = ("import sys, threading; from plugin.clock import parse_clock; c = parse_clock(sys.argv[1]); "
              "print(c.now().isoformat(), c.wait(threading.Event(), 7200), c.now().isoformat(), flush=True)")
    child = subprocess.Popen([sys.executable, "-c", script, clock.spec()], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[2])
    try:
        until(lambda: any(r.at == T0 for r in clock.idle(child.pid)) or child.poll() is not None,
              "the child's report")
        [report] = clock.idle(child.pid)
        assert (report.at, report.until) == (T0, T0 + timedelta(hours=2))
        clock.advance(timedelta(hours=2))
        out, _ = child.communicate(timeout=HANG)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.split() == [T0.isoformat(), "False", (T0 + timedelta(hours=2)).isoformat()]


def test_the_clock_does_not_go_back_and_bad_channels_are_one_line(clock, tmp_path):
    clock.advance(60)
    with pytest.raises(ValueError, match="does not go back"):
        clock.set(T0)
    with pytest.raises(ValueError, match="time zone"):
        SteppedClock.create(tmp_path / "naive", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="positive"):
        clock.set(T0 + timedelta(hours=1), rate=0)
    with pytest.raises(ValueError) as missing:
        parse_clock(f"stepped:{tmp_path / 'nowhere'}")
    assert "nowhere" in str(missing.value) and "\n" not in str(missing.value)
    garbled = tmp_path / "garbled"
    garbled.write_text("soon\n", encoding="ascii")
    with pytest.raises(ValueError, match="is not '<instant ISO with offset> <rate>'"):
        parse_clock(f"stepped:{garbled}")
    with pytest.raises(ValueError, match="stepped:<channel file>"):
        parse_clock("stepped:")
