"""End-to-end fixtures: a sandbox tracker in this process, the daemon in another.

Both share one accelerated clock: the test builds it, and hands it to the daemon
process as `--clock accelerated:<rate>:<start>@<anchor>`, so "4 hours later" is one
real second later for both of them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from plugin.clock import AcceleratedClock
from sandbox.demo import DEMO_START, JiraSite, Site, ZammadSite

#: four clock hours a real second: a severity-2 24x7 ladder (4 h, 6 h, 8 h) takes 2 s
RATE = 4 * 3600.0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll the tracker's state until `condition` holds (the daemon is another process)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaemonProcess:
    """`escalator run --config FILE --clock SPEC` as a child process."""

    def __init__(self, site: Site, clock: AcceleratedClock, *args: str, log: str = "daemon.log"):
        self.site = site
        self.log = site.folder / log
        command = [sys.executable, "-c", "from plugin.cli.main import main; main(prog_name='escalator')",
                   "-v", "run", "--config", str(site.config_path), "--clock", clock.spec(), *args]
        self._log = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ),
                                     cwd=site.folder)

    def wait_ready(self, timeout: float = 20) -> None:
        """Until the daemon has finished its first pass (it logs `daemon.ready`)."""
        wait_for(lambda: "daemon.ready" in self.output() or self.proc.poll() is not None, timeout,
                 "the daemon's first pass")
        if self.proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self._log.close()
        return code


@pytest.fixture
def clock() -> AcceleratedClock:
    return AcceleratedClock(DEMO_START, RATE)


@pytest.fixture(params=["jira", "zammad"])
def site(request, tmp_path, clock):
    """A mapped sandbox: 'jira' (Cloud), 'jira-dc' (Data Center) or 'zammad'."""
    kind = request.param
    options = dict(poll_interval=0.5, env=f"ESCALATOR_E2E_{kind.upper().replace('-', '_')}_TOKEN",
                   tracker_options={"timeout": 1.0})
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
