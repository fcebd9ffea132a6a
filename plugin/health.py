"""The daemon's pulse: a heartbeat line per pass, outage lines while the tracker is away, and
the answers of `/healthz` and `/readyz`.

Between `daemon.ready` and `daemon.stopped` an operator must be able to tell, from the
log alone, that the daemon works:

- `daemon.pass` (INFO), one per pass: what was read, due, done, refused, unreadable,
  and the next known deadline;
- an outage starts with `daemon.tracker-unreachable` (WARNING: no connection, time-outs,
  5xx, 429 after the transport's retries) or `daemon.tracker-refused` (ERROR: 401/403,
  a revoked token or a lost permission: no pass can succeed until a person acts), goes on
  with `daemon.outage-continues` stating its length — at most one line per
  `repeat` real seconds (Home Assistant's coordinator logs an outage once; a length
  that is never restated hides a day-long one) — and ends with `daemon.tracker-recovered`
  and the outage's length.

A standby (`plugin.leader`: another daemon leads the tracker) makes no pass: it is alive
while it keeps looking at the lease (`standing_by`), and not ready — the leader is the one
to send webhooks to.

Health (`/healthz`): alive when the last pass is younger than `max_pass_age` real
seconds and the tracker does not refuse the token. Ready (`/readyz`): a first pass
was made (the mapping is usable, the tracker answered) and the tracker is reachable
now. Ages are measured on the daemon's clock and divided by its rate, so an
accelerated clock (the demo, the tests) keeps them in real seconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from mapping.text import Language, format_duration
from plugin.clock import Clock

log = logging.getLogger("escalator.daemon")

Outage = Literal["unreachable", "refused"]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def span(seconds: float, lang: Language = "en") -> str:
    """`3 h 5 min`, `12 min`, `40 s`: an outage's or a pass's age, for log lines and the page."""
    return format_duration(timedelta(seconds=int(max(seconds, 0))), lang, elapsed=True)


class Health:
    """What the daemon's passes say about it; thread-safe (the status page reads it)."""

    #: real seconds between two lines about one outage
    REPEAT = 300.0

    def __init__(self, tracker: str, clock: Clock, *, max_pass_age: float, repeat: float | None = None):
        self.tracker = tracker
        self.clock = clock
        self.max_pass_age = max_pass_age
        self.repeat = self.REPEAT if repeat is None else repeat
        self._lock = threading.Lock()
        self.started_at = clock.now()
        self.last_pass: datetime | None = None
        self.last_summary: dict[str, Any] = {}
        self.outage: Outage | None = None
        self.outage_since: datetime | None = None
        self.outage_error = ""
        self._said_at: datetime | None = None
        self.standby: str | None = None  # who leads, while this daemon stands by
        self._looked: datetime | None = None

    # -- from the daemon's loop ---------------------------------------------------------------
    def passed(self, *, read: int, due: int, done: int, refused: int, unreadable: int,
               next_deadline: datetime | None, watched: int) -> None:
        now = self.clock.now()
        summary = {"read": read, "due": due, "done": done, "refused": refused, "unreadable": unreadable,
                   "watched": watched, "next_deadline": next_deadline.isoformat() if next_deadline else None}
        with self._lock:
            ended, since = self.outage, self.outage_since
            self.last_pass, self.last_summary = now, summary
            self.standby = None
            self.outage = self.outage_since = self._said_at = None
            self.outage_error = ""
        if ended is not None and since is not None:
            self._log(logging.WARNING, "daemon.tracker-recovered", outage=ended,
                      down_for=span(self._real(now - since)))
        self._log(logging.INFO, "daemon.pass", **summary)

    def failed(self, kind: Outage, error: str) -> None:
        """A pass that could not be made: the tracker is away (`unreachable`) or refuses us (`refused`)."""
        now = self.clock.now()
        with self._lock:
            starting = self.outage is None
            changed = not starting and self.outage != kind
            if starting or changed:
                self.outage, self.outage_error, self._said_at = kind, error, now
                self.outage_since = self.outage_since if changed else now
            elif self._real(now - (self._said_at or now)) >= self.repeat:
                self.outage_error, self._said_at = error, now
            else:
                return
            since = self.outage_since or now
        down_for = span(self._real(now - since))
        if starting or changed:
            event = "daemon.tracker-refused" if kind == "refused" else "daemon.tracker-unreachable"
            level = logging.ERROR if kind == "refused" else logging.WARNING
            hint = {"hint": "check tracker.token and the account's permissions"} if kind == "refused" else {}
            self._log(level, event, error=error, down_for=down_for, **hint)
        else:
            self._log(logging.ERROR if kind == "refused" else logging.WARNING, "daemon.outage-continues",
                      outage=kind, down_for=down_for, error=error)

    def standing_by(self, leader: str) -> None:
        """A standby's cycle: it looked at the lease, and `leader` leads."""
        with self._lock:
            self.standby, self._looked = leader, self.clock.now()

    # -- for /healthz, /readyz and the status page ----------------------------------------------
    def pass_age(self) -> float | None:
        """Real seconds since the last pass (None before the first)."""
        with self._lock:
            last = self.last_pass
        return None if last is None else self._real(self.clock.now() - last)

    def healthy(self) -> Verdict:
        with self._lock:
            outage, error, last = self.outage, self.outage_error, self.last_pass
            standby, looked = self.standby, self._looked
        if standby is not None and looked is not None:
            age = self._real(self.clock.now() - looked)
            if age <= self.max_pass_age:
                return Verdict(True, f"standing by: {standby} leads")
            return Verdict(False, f"standing by, but no look at the lease for {span(age)}")
        if outage == "refused":
            return Verdict(False, f"the tracker refuses the escalator: {error}")
        age = self._real(self.clock.now() - (last or self.started_at))
        if age > self.max_pass_age:
            what = f"last pass {span(age)} ago" if last else f"no pass in the {span(age)} since the start"
            cause = f" (tracker {outage}: {error})" if outage else ""
            return Verdict(False, f"{what}, more than {span(self.max_pass_age)}{cause}")
        return Verdict(True, f"last pass {span(age)} ago" if last else "starting")

    def ready(self) -> Verdict:
        with self._lock:
            outage, error, last, standby = self.outage, self.outage_error, self.last_pass, self.standby
        if standby is not None:
            return Verdict(False, f"standing by: {standby} leads")
        if outage is not None:
            return Verdict(False, f"tracker {outage}: {error}")
        if last is None:
            return Verdict(False, "no pass made yet")
        return Verdict(True, "the tracker answered the last pass")

    def snapshot(self) -> dict[str, Any]:
        """What the status page shows about the daemon and the tracker."""
        now = self.clock.now()
        with self._lock:
            return {"last_pass": self.last_pass.isoformat() if self.last_pass else None,
                    "last_pass_age": None if self.last_pass is None else self._real(now - self.last_pass),
                    "summary": dict(self.last_summary), "outage": self.outage, "outage_error": self.outage_error,
                    "standby": self.standby,
                    "outage_for": None if self.outage_since is None else self._real(now - self.outage_since)}

    # -- helpers ---------------------------------------------------------------------------------
    def _real(self, delta: timedelta) -> float:
        return delta.total_seconds() / self.clock.rate

    def _log(self, level: int, event: str, **fields: Any) -> None:
        fields = {"tracker": self.tracker, **fields}
        log.log(level, event, extra={"event": event, "fields": fields})
