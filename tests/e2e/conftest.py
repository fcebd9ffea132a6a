"""End-to-end fixtures: a sandbox tracker in this process, the daemon in another, on a clock the test steps.

Both share one `SteppedClock` (a channel file, `plugin.clock`): the test builds it and
hands it to the daemon process as `--clock stepped:<channel>`. Clock time never runs on
its own, so how fast the machine is changes nothing: the test steps the time, then waits
until the daemon reports it is idle at that instant (`DaemonProcess.settle`) - a
condition, not a wall-clock budget. `run_to` and `run_until` step from one instant the
daemon wakes at (a deadline, a duty's time, a poll, the end of a back-off) to the next,
so a note lands exactly at the instant it is due. `HANG` only guards against a hang.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import pytest

from plugin.clock import SteppedClock
from sandbox.demo import DEMO_START, JiraSite, Site, ZammadSite

#: four clock hours per real second of the daemon's settings: the sites' 0.5 s poll interval
#: is a poll every two clock hours
RATE = 4 * 3600.0
#: real seconds after which a wait is taken for a hang: a guard, never what a test relies on
HANG = 120.0


def wait_for(condition: Callable[[], bool], what: str, *, guard: float = HANG) -> None:
    """Poll until `condition` holds (the daemon is another process); fail only on a hang."""
    end = time.monotonic() + guard
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"still waiting for {what} after {guard:g} s: a hang")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaemonProcess:
    """`escalator run --config FILE --clock stepped:<channel>` as a child process."""

    def __init__(self, site: Site, clock: SteppedClock, *args: str, log: str = "daemon.log"):
        self.site = site
        self.clock = clock
        self.log = site.folder / log
        command = [sys.executable, "-c", "from plugin.cli.main import main; main(prog_name='escalator')",
                   "-v", "run", "--config", str(site.config_path), "--clock", clock.spec(), *args]
        self._log = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        # on a hang, SIGABRT makes it write every thread's stack into its log (faulthandler)
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONFAULTHANDLER": "1"}, cwd=site.folder)

    def settle(self) -> datetime:
        """Until the daemon is idle at the clock's instant (all due up to it done); when it wakes next."""
        now = self.clock.now()
        reports = []

        def idle() -> bool:
            if self.proc.poll() is not None:
                return True
            reports[:] = self.clock.idle(self.proc.pid)
            return bool(reports) and all(r.at >= now for r in reports)

        wait_for(idle, f"the daemon to be idle at {now.isoformat()}")
        if self.proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n{self.output()}")
        return min(r.until for r in reports)

    def wait_ready(self) -> None:
        """Until the daemon has finished its first pass."""
        self.settle()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(HANG)
        self._log.close()

    def stop(self) -> int:
        """SIGTERM, and its exit code; a daemon that does not exit is a hang: its stacks go to the log."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(HANG)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(HANG)
            raise AssertionError(f"the daemon did not stop on SIGTERM:\n{self.output()}") from None
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(HANG)
            self._log.close()


def run_to(clock: SteppedClock, daemon: DaemonProcess, when: datetime) -> None:
    """Step the clock to `when` through every instant the daemon wakes at on the way, each settled."""
    while (wake := daemon.settle()) < when:
        clock.set(wake)
    if when > clock.now():
        clock.set(when)
        daemon.settle()


def run_until(clock: SteppedClock, daemon: DaemonProcess, condition: Callable[[], bool], what: str, *,
              by: datetime) -> None:
    """Step from one instant the daemon wakes at to the next until `condition` holds; fail when
    it still does not once the clock would pass `by` (clock time)."""
    while True:
        wake = daemon.settle()
        if condition():
            return
        if wake > by:
            raise AssertionError(f"{what}: not done by {by.isoformat()} (clock time; the daemon waits "
                                 f"until {wake.isoformat()})")
        clock.set(wake)


def pause(clock: SteppedClock, daemon: DaemonProcess | None = None, delta: timedelta = timedelta(minutes=1)) -> None:
    """A person's next edit comes a minute later (through the daemon's wake-ups, when one runs).

    On a stepped clock everything between two steps happens at one instant; a real tracker
    never stamps an edit at its issue's creation instant, and Jira Cloud's reader counts on
    it (an issue whose `updated` equals its `created` has no changelog to fetch)."""
    if daemon is None:
        clock.advance(delta)
    else:
        run_to(clock, daemon, clock.now() + delta)


class InProcessStepper:
    """Steps a `SteppedClock` shared by threads of this process (the demo): whenever every
    participant thread still alive is waiting on the clock, none of them woken by its event,
    the time goes to the earliest instant one of them waits for.

    Guard: after `HANG` real seconds without a step it gives up (`stuck`) and sends the
    clock far ahead, so that a test fails on its assertions instead of hanging."""

    def __init__(self, clock: SteppedClock, participants: Callable[[], Iterable[threading.Thread]]):
        self.clock = clock
        self.participants = participants
        self.steps = 0
        self.stuck = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stepper", daemon=True)

    def __enter__(self) -> InProcessStepper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(HANG)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._done.wait(0.002):
            if time.monotonic() - last > HANG:
                self.stuck = True
                self.clock.set(self.clock.now() + timedelta(days=3650))
                return
            threads = [t for t in self.participants() if t.is_alive()]
            waiting = self.clock.waiting()
            if not threads or any(t.native_id not in waiting or waiting[t.native_id][0].is_set() for t in threads):
                continue  # someone is at work (or about to be): time stands
            wake = min(waiting[t.native_id][1] for t in threads)
            if wake > self.clock.now():  # else a waiter has not yet seen its instant come
                self.clock.set(wake)
                self.steps += 1
                last = time.monotonic()


@pytest.fixture
def clock(tmp_path) -> SteppedClock:
    return SteppedClock.create(tmp_path / "clock", DEMO_START, RATE)


@pytest.fixture(params=["jira", "zammad"])
def site(request, tmp_path, clock):
    """A mapped sandbox: 'jira' (Cloud), 'jira-dc' (Data Center) or 'zammad'."""
    kind = request.param
    # a client timeout far beyond any answer of a loopback sandbox, even on a busy machine
    # (the test of timeouts sets its own)
    options = dict(poll_interval=0.5, env=f"ESCALATOR_E2E_{kind.upper().replace('-', '_')}_TOKEN",
                   tracker_options={"timeout": 30.0})
    if kind == "zammad":
        built = ZammadSite.build(tmp_path / kind, clock, **options)
    else:
        built = JiraSite.build(tmp_path / kind, clock, flavour="datacenter" if kind == "jira-dc" else "cloud",
                               **options)
    yield built
    built.stop()


@pytest.fixture
def start_daemon(site, clock):
    started: list[DaemonProcess] = []

    def start(*args: str, log: str = "daemon.log") -> DaemonProcess:
        process = DaemonProcess(site, clock, *args, log=log)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.stop()


def reported_at(site: Site, ticket_id: str) -> datetime:
    return site.read(ticket_id).reported_at


HOUR = timedelta(hours=1)
