"""A tracker's "no" to one write: what kind it is, how long to wait before asking again, how to say it.

The transport (`connectors.http.HttpClient`) has already retried 429, 5xx and
connection failures a few times within one call; what reaches the daemon is the
final answer. `classify` sorts it:

- *permanent* — 400, 403, 404, 409, 422 (any 4xx but 401 and 429): the tracker will
  say the same next time (a permission the bot lacks, a workflow that offers no way,
  a value the field refuses). Given up at once, reported once, never sent again for
  that action until the ticket changes (`plugin.outcomes`).
- *retryable* — 429 and 5xx: the tracker is busy or failing now. Asked again later,
  per ticket, on an exponential back-off with jitter (`Backoff`), honouring
  `Retry-After` when the error carries it; given up (and reported) once the write's
  attempts are spent.
- *unanswered* — a timeout or a dropped connection: the write may have landed. A write
  that can be checked before it is sent again (a note has its marker, a value is read
  fresh, a problem record is found by its label) is retried like a retryable one; a
  notification cannot be checked, so it is never sent again: the note says it could
  not be confirmed.

401 is not a refusal of one write: the token itself is refused, no pass can succeed: the
pass ends, and the daemon backs off and tries again, saying so (`Daemon.cycle`, `plugin.health`). How a refusal reads on a ticket, in the note's
language, is `plugin.notes.refusal_reason`.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from connectors.http import TrackerError, Unreachable
from plugin.clock import Clock

PERMANENT, RETRYABLE, UNANSWERED = "permanent", "retryable", "unanswered"
#: not an error: the connector answered that the workflow offers no way to the state
NO_WAY = "no-way"

#: how many times a write is sent for one action before it is given up on (retryable or unanswered).
#: A notification holds its escalation's note back while it is retried (on Zammad the mention must
#: come before the note, or the people are never told of it), so it gets fewer tries.
ATTEMPTS = {"notify": 3}
DEFAULT_ATTEMPTS = 8


@dataclass(frozen=True)
class Refusal:
    """Why one write was not done: stored in the journal, said in a note."""

    write: str  # note | notify | level | severity | state | problem | task | link
    kind: str  # permanent | retryable | unanswered | no-way
    status: int | None  # the HTTP status; None when no answer came
    detail: str  # the tracker's own words, or the transport's cause (never a credential)
    tracker: str
    retry_after: float | None = None  # seconds, when the tracker said how long to wait
    attempts: int = 1  # how many times the write was sent

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Refusal:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def given_up(self, attempts: int) -> Refusal:
        return Refusal(self.write, self.kind, self.status, self.detail, self.tracker, self.retry_after, attempts)

    def summary(self) -> str:
        """One line for logs and the journal."""
        answer = f"HTTP {self.status}" if self.status is not None else "no answer"
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.write}: {self.kind}, {answer}{tries}" + (f": {self.detail}" if self.detail else "")


class Refused(Exception):
    """A write the tracker did not accept, classified (raised by `plugin.writes.TrackerWrites`)."""

    def __init__(self, refusal: Refusal, error: TrackerError):
        self.refusal = refusal
        self.error = error
        super().__init__(str(error))


def classify(write: str, tracker: str, exc: TrackerError) -> Refusal | None:
    """The refusal `exc` is for `write`; None for a 401, which no retry and no other write mends."""
    status = exc.status
    if status == 401:
        return None
    retry_after = getattr(exc, "retry_after", None)  # seconds, when the error carries the header's value
    if status is None:
        kind = UNANSWERED if isinstance(exc, Unreachable) else PERMANENT
        detail = _cause(str(exc))
    else:
        kind = RETRYABLE if status == 429 or status >= 500 else PERMANENT
        detail = "; ".join([*exc.messages, *(f"{k}: {v}" for k, v in exc.field_errors.items())])[:300]
    return Refusal(write, kind, status, detail, tracker,
                   float(retry_after) if isinstance(retry_after, int | float) else None)


def _cause(message: str) -> str:
    """The transport's cause from its one-line error ('jira: POST /x: read timeout at https://h after 1 attempt')."""
    for cause in ("read timeout", "connect timeout", "timeout", "connection reset", "connection refused",
                  "name not resolved", "TLS/certificate error", "connection failed"):
        if cause in message:
            return cause
    return "no answer"


class Backoff:
    """Per-write attempts and per-ticket waits after retryable refusals (exponential, jittered).

    Keyed by (ticket, action marker, write): each action's write has its own count of
    attempts; a ticket waits as long as its longest wait. Delays are real seconds, turned
    into clock time with the clock's rate (as the daemon's poll interval is). "Equal
    jitter" (half fixed, half random) keeps competing tickets apart without ever
    retrying at once (AWS Architecture Blog, "Exponential Backoff And Jitter").
    """

    BASE = 2.0  # real seconds before the second attempt
    CAP = 300.0

    def __init__(self, clock: Clock, rng: random.Random | None = None):
        self.clock = clock
        self.rng = rng or random.Random()
        self._attempts: dict[str, dict[tuple[str, str], int]] = {}  # ticket -> (marker, write) -> attempts
        self._until: dict[str, datetime] = {}

    def attempts(self, ticket_id: str, marker: str, write: str) -> int:
        return self._attempts.get(ticket_id, {}).get((marker, write), 0)

    def failed(self, ticket_id: str, marker: str, refusal: Refusal) -> datetime | None:
        """Count a failed attempt; when to try again, or None when the write's attempts are spent."""
        counts = self._attempts.setdefault(ticket_id, {})
        n = counts[(marker, refusal.write)] = counts.get((marker, refusal.write), 0) + 1
        if n >= ATTEMPTS.get(refusal.write, DEFAULT_ATTEMPTS):
            return None
        step = min(self.CAP, self.BASE * 2 ** (n - 1))
        delay = step / 2 + self.rng.uniform(0, step / 2)
        if refusal.retry_after is not None:
            delay = max(delay, refusal.retry_after)
        until = self.clock.now() + timedelta(seconds=delay * self.clock.rate)
        self._until[ticket_id] = max(until, self._until.get(ticket_id, until))
        return until

    def hold(self, ticket_id: str, refusal: Refusal) -> datetime:
        """After a write given up on a busy tracker, the ticket still waits (as long as the last wait)
        before anything else is written to it: the tracker said "not now", not "no"."""
        n = max(refusal.attempts, 1)
        step = min(self.CAP, self.BASE * 2 ** (n - 1))
        delay = max(step / 2 + self.rng.uniform(0, step / 2), refusal.retry_after or 0.0)
        until = self.clock.now() + timedelta(seconds=delay * self.clock.rate)
        self._until[ticket_id] = max(until, self._until.get(ticket_id, until))
        return until

    def waiting_until(self, ticket_id: str, now: datetime) -> datetime | None:
        """When the ticket may be written again, while it must wait."""
        until = self._until.get(ticket_id)
        if until is not None and until <= now:
            del self._until[ticket_id]
            return None
        return until

    def settled(self, ticket_id: str, marker: str, write: str) -> None:
        """The write was done or given up: forget its attempts."""
        counts = self._attempts.get(ticket_id)
        if counts is not None:
            counts.pop((marker, write), None)
            if not counts:
                del self._attempts[ticket_id]

    def forget(self, ticket_id: str) -> None:
        """Everything due on the ticket was done: nothing of it is waiting."""
        self._attempts.pop(ticket_id, None)
        self._until.pop(ticket_id, None)


def no_way(tracker: str) -> Refusal:
    """The connector found no transition to the state (it answered, but offers no way)."""
    return Refusal("state", NO_WAY, None, "", tracker)
