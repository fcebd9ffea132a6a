"""Outgoing webhook calls of a sandbox tracker, made on a background thread as the real servers make them.

A tracker does not call a webhook inside the request that changed the ticket: Jira
queues it (Jira Data Center 10: "asynchronous webhooks are now the default and only
option", developer.atlassian.com/server/jira/platform/webhooks/; Cloud delivers from its
own webhook service), Zammad runs a `TriggerWebhookJob` in the background
(app/jobs/trigger_webhook_job.rb). So the sandbox's models only *hand over* a ready
`Delivery` (URL, body, headers, signature made when the event happened) to a `Courier`,
and a thread of its own posts it. A failed call is retried on the tracker's own terms,
given by a `RetryPolicy`; the wait is measured on the sandbox's clock (tests drive it, the
accelerated clock of the end-to-end tests shortens it), looked at every `TICK` seconds.

Every attempt is kept in `attempts` (what was sent and what came back) for tests, which
wait for one with `wait_for(condition)`; nothing here sleeps a fixed time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import requests

#: real seconds between looks at the clock while a retry waits (its due time is clock time)
TICK = 0.02


@dataclass
class Delivery:
    """One webhook call as the tracker prepared it; `key` stays the same across retries."""

    url: str
    body: bytes
    headers: dict[str, str]
    event: str
    key: str
    attempt: int = 1
    due: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery: what was sent, when (sandbox clock), and the answer (None: no answer)."""

    url: str
    event: str
    key: str
    attempt: int
    at: datetime
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None = None


class RetryPolicy(Protocol):
    def retry_in(self, attempt: int, status: int | None) -> float | None:
        """Clock seconds until the next try after try `attempt` failed with `status`; None: give up."""

    def retry_headers(self, delivery: Delivery) -> dict[str, str]:
        """Headers the tracker adds to a retried call (attempt > 1)."""


@dataclass
class Courier:
    """Posts deliveries from a thread of its own, started on the first one; `stop()` ends it."""

    clock: Callable[[], datetime]
    policy: RetryPolicy
    timeout: tuple[float, float] = (4.0, 30.0)  # Zammad: open_timeout 4, read_timeout 30
    attempts: list[Attempt] = field(default_factory=list)
    _queue: list[Delivery] = field(default_factory=list)
    _busy: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _stopped: bool = False
    _session: requests.Session | None = None

    def send(self, delivery: Delivery) -> None:
        with self._cond:
            if self._stopped:
                return
            delivery.due = delivery.due or self.clock()
            self._queue.append(delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=10)

    @property
    def pending(self) -> int:
        """Deliveries queued, waiting for a retry, or being sent."""
        with self._cond:
            return len(self._queue) + self._busy

    def wait_for(self, condition: Callable[[list[Attempt]], bool], timeout: float = 10.0) -> bool:
        """Until `condition(attempts)` holds (checked after every attempt), at most `timeout` real seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: condition(self.attempts), timeout)

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        self._session = requests.Session()
        try:
            while True:
                with self._cond:
                    delivery = self._next()
                    if delivery is None:
                        return
                    self._busy += 1
                attempt, retry = self._post(delivery)
                with self._cond:  # one step for observers: the attempt, its retry, no longer busy
                    self.attempts.append(attempt)
                    if retry is not None and not self._stopped:
                        self._queue.append(retry)
                    self._busy -= 1
                    self._cond.notify_all()
        finally:
            self._session.close()

    def _next(self) -> Delivery | None:
        """The delivery due first, once it is due (under the condition's lock); None when stopped."""
        while not self._stopped:
            if self._queue:
                now = self.clock()
                first = min(self._queue, key=lambda d: d.due or now)
                if first.due is None or first.due <= now:
                    self._queue.remove(first)
                    return first
                self._cond.wait(TICK)  # a retry waits for its time on the sandbox clock
            else:
                self._cond.wait()
        return None

    def _post(self, delivery: Delivery) -> tuple[Attempt, Delivery | None]:
        """Send it once: the attempt, and the retry the policy wants (None: done or given up)."""
        headers = dict(delivery.headers)
        if delivery.attempt > 1:
            headers.update(self.policy.retry_headers(delivery))
        status: int | None = None
        error = None
        assert self._session is not None
        try:
            # redirects are not followed: Zammad refuses them (UserAgent `do_not_follow_redirects`)
            answer = self._session.post(delivery.url, data=delivery.body, headers=headers, timeout=self.timeout,
                                        allow_redirects=False)
            status = answer.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        at = self.clock()
        attempt = Attempt(delivery.url, delivery.event, delivery.key, delivery.attempt, at, headers,
                          delivery.body, status, error)
        if status is not None and 200 <= status < 300:
            return attempt, None
        wait = self.policy.retry_in(delivery.attempt, status)
        if wait is None:
            return attempt, None
        return attempt, Delivery(delivery.url, delivery.body, delivery.headers, delivery.event, delivery.key,
                                 delivery.attempt + 1, at + timedelta(seconds=wait))
