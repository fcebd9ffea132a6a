"""SIGTERM stops `escalator run` even when it lands while the daemon's own thread holds its wake-up lock."""

from __future__ import annotations

import signal
import threading

from plugin.cli.daemon import stop_on_signal

HANG = 60.0


def test_the_signal_handler_does_not_wait_for_a_lock_its_own_thread_holds(world):
    daemon = world.daemon()
    handler = stop_on_signal(daemon)
    returned = threading.Event()

    def main_thread_inside_event_wait() -> None:
        # as when the signal lands inside `Event.wait`, between taking the Event's lock and
        # letting it go: the handler runs in this very thread (CPython's Event keeps it as `_cond`)
        with daemon._wake._cond:
            handler(signal.SIGTERM, None)
            returned.set()

    thread = threading.Thread(target=main_thread_inside_event_wait, daemon=True)
    thread.start()
    assert returned.wait(HANG), "the handler waited for a lock its own thread holds: a deadlock"
    thread.join(HANG)
    assert daemon._wake.wait(HANG) and daemon.stopping  # stopped once the lock was let go
