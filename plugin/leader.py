"""One active daemon per tracker, any number of hot standbys: a lease in the shared journal,
with a fencing epoch.

With a PostgreSQL journal (`plugin.journal_pg`) several daemons run on one config, on one
host or many. One of them *leads*: it alone reads the tracker and writes to it. The others
stand by, look at the lease every `poll` seconds, and take over when it lapses.

The lease is a row per tracker (`leases`: holder, epoch, expires_at) in the journal's
database, and every time in it is the **database's** clock (`clock_timestamp()`), so the
hosts' clocks may disagree by any amount:

- take over: `UPDATE … SET holder = me, epoch = epoch + 1, expires_at = now + lease WHERE
  expires_at <= now` — one statement, so two standbys cannot both win; every takeover
  raises the epoch. A standby looks every `lease / 4`, and when the lease it sees ends
  before its next look, right after that end;
- renew (every `lease / 4`): `… SET expires_at = now + lease WHERE holder = me AND epoch = mine
  AND expires_at > now`. A lapsed lease cannot be renewed: it must be taken again, with a
  new epoch;
- self-fencing: a leader counts its lease from the moment it *sent* its last successful
  renewal, on its own monotonic clock (`time.monotonic`, which keeps counting while the
  process is stopped), and stops writing `margin` (`lease / 3`) before the lease can have
  ended: the database set `expires_at` at or after that moment. So its last write leaves
  at least `margin` before any standby can take the lease, even when the network or
  PostgreSQL itself is gone and it cannot learn anything;
- fencing: every journal write runs in one transaction that share-locks the lease row and
  checks (holder, epoch) first; a takeover waits for that transaction, and a write after
  a takeover is refused (`StaleEpoch`). The tracker cannot check an epoch, so the daemon
  checks its lease right before every tracker write (`guard`), after every tracker
  response (`after_call`: the next request leaves only if the lease still holds) and after
  every retry back-off (`after_sleep`).

Why a lease row and not an advisory lock (`pg_try_advisory_lock`): an advisory lock
belongs to a database session, and neither side knows when the server will notice that a
session is gone. A leader frozen by SIGSTOP (or a long GC pause, or a VM migration) keeps
its TCP connection and so its lock: nobody takes over for as long as it is frozen. A
leader cut off by the network keeps writing to the tracker without knowing whether the
server has already dropped its session and let a standby in. The lease ends at a time
both sides can bound, and the epoch in the same row is what refuses a stale writer's
journal entries; an advisory lock would need both added anyway.

Defaults: lease 15 s, renewed every 3.75 s, a standby looks every 3.75 s, a leader
stops writing 10 s after its last successful renewal was sent: a takeover after a leader
dies takes at most lease + poll = 18.75 s (`daemon.lease` changes all of them).

Known limits: the lease is measured on the database host's wall clock; a step of that
clock (not a slew) by more than the margin can end a lease early. A write already on its
way to the tracker when the lease lapses (sent within `margin` before, and delayed in the
network past it) is not recalled; the note's marker still keeps a takeover from writing
the same note again only once it is visible on the ticket.

`Sole` is the fence of the embedded SQLite journal: the lock file (`plugin.lockfile`)
keeps every other daemon off that journal, and the one daemon always leads.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.base import Connector
from mapping.errors import UserError
from plugin.metrics import Metrics

log = logging.getLogger("escalator.leader")

#: seconds a lease lasts unless `daemon.lease` says otherwise: a takeover within 30 s
DEFAULT_LEASE = 15.0

#: how long after a lease's end a standby looks again, when it saw the end coming
_JUST_AFTER = 0.01

#: the connector calls that only read (`connectors.base.Connector`); every other call is taken
#: for a write and fenced, so a write method added to the connectors later is fenced without
#: anyone having to remember to list it here
TRACKER_READS = frozenset({"read_changed", "read_one", "read_fresh", "has_marker", "find_problem", "find_task",
                           "person", "close"})


class Fenced(UserError):
    """This daemon may not write now: its lease is lost or lapsing, or the journal refused a write.
    The daemon stands by on it; `escalator once` ends on it, with this one line."""


class StaleEpoch(Fenced):
    """The journal refused a write: another daemon took the lead (a newer epoch) since this one got it."""


class JournalUnreachable(Fenced):
    """The shared journal (PostgreSQL) cannot be reached; the message names it, never its password.
    `transient`: the server is down, restarting or out of connections, as opposed to refusing
    these credentials or this database, which no waiting mends."""

    def __init__(self, message: str, *, transient: bool = True):
        super().__init__(message)
        self.transient = transient


class Fence(Protocol):
    """What the daemon consults: before a pass (`term`) and before every tracker write (`guard`)."""

    #: seconds between a standby's looks at the lease
    poll_seconds: float

    def term(self) -> int | None:
        """The epoch this daemon leads under now, or None while it stands by."""

    def check(self) -> None:
        """Raise `Fenced` unless this daemon may write now."""

    def guard(self, connector: Connector) -> Connector:
        """The connector with `check` made before each tracker write."""

    def leader_text(self) -> str:
        """Who leads, as last seen, for a message."""


class Sole:
    """The embedded journal's fence: one daemon per journal (the lock file), always leading."""

    poll_seconds = 60.0

    def __init__(self, metrics: Metrics | None = None, tracker: str | None = None):
        if metrics is not None and tracker is not None:
            metrics.leader.labels(tracker).set(1)

    def term(self) -> int | None:
        return 0

    def check(self) -> None:
        return None

    def guard(self, connector: Connector) -> Connector:
        return connector

    def leader_text(self) -> str:
        return "this daemon (embedded journal)"

    def after_call(self, hook: Callable[[str, str, int | None], None] | None
                   ) -> Callable[[str, str, int | None], None] | None:
        return hook

    def after_sleep(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        return sleep


@dataclass(frozen=True)
class LeaseTiming:
    """Every interval of the lease protocol follows from the lease's length (seconds)."""

    lease: float

    @property
    def renew_every(self) -> float:
        return self.lease / 4

    @property
    def poll(self) -> float:
        """How often a standby looks at the lease."""
        return self.lease / 4

    @property
    def margin(self) -> float:
        """How long before its lease can have ended a leader stops writing."""
        return self.lease / 3

    @property
    def takeover_bound(self) -> float:
        """The longest a standby waits after the leader's last renewal: the lease, then one look."""
        return self.lease + self.poll


@dataclass(frozen=True)
class LeaseState:
    """The lease as the database sees it: who holds it, under which epoch, for how long more."""

    holder: str
    epoch: int
    expires_in: float  # seconds from now on the database's clock; <= 0: lapsed


@dataclass(frozen=True)
class Grant:
    """The lease taken: the new epoch, and the lease it replaced (None: the first one ever)."""

    epoch: int
    previous: LeaseState | None


class LeaseStore(Protocol):
    """The lease rows (`plugin.journal_pg.PgLeaseStore`); each call raises `JournalUnreachable`."""

    def acquire(self, tracker: str, holder: str, lease: float) -> Grant | LeaseState:
        """Take the lease when it is free, lapsed, or already ours (a new epoch each time);
        else return who holds it."""

    def renew(self, tracker: str, holder: str, epoch: int, lease: float) -> bool:
        """Extend our live lease of that epoch; False when it lapsed or another daemon holds it."""

    def release(self, tracker: str, holder: str, epoch: int) -> None:
        """End our lease now (a clean stop): a standby takes over at its next look."""

    def state(self, tracker: str) -> LeaseState | None: ...


def default_holder() -> str:
    """host:pid:random — unique per process, and it says which host leads."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class FencedConnector:
    """A connector whose tracker writes (every call but `TRACKER_READS`) are each preceded by the
    fence's check."""

    def __init__(self, inner: Connector, fence: Fence):
        self._inner = inner
        self._fence = fence

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in TRACKER_READS or name.startswith("_") or not callable(attr):
            return attr
        fence = self._fence

        def write(*args: Any, **kwargs: Any) -> Any:
            fence.check()
            return attr(*args, **kwargs)

        return write


class Leadership:
    """This daemon's side of the lease on one tracker: renewed or sought by `step` (a thread
    calls it, `start`), consulted by the daemon through `term` and `check`."""

    def __init__(self, store: LeaseStore, tracker: str, *, lease: float = DEFAULT_LEASE,
                 holder: str | None = None, monotonic: Callable[[], float] = time.monotonic,
                 metrics: Metrics | None = None, on_change: Callable[[], None] | None = None):
        self.store = store
        self.tracker = tracker
        self.timing = LeaseTiming(lease)
        self.poll_seconds = self.timing.poll
        self.holder = holder or default_holder()
        self.metrics = metrics
        self.on_change = on_change
        self.takeovers = 0
        self._mono = monotonic
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._valid_until = float("-inf")  # monotonic time at which this daemon stops writing
        self._seen: tuple[str, int] | None = None  # the leader last logged
        self._down = False  # the journal was unreachable at the last step
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if metrics is not None:
            metrics.leader.labels(tracker).set(0)
            metrics.leader_epoch.labels(tracker).set(0)
            metrics.takeovers.labels(tracker)

    # -- what the daemon asks ---------------------------------------------------------------
    def term(self) -> int | None:
        changed = False
        with self._lock:
            if self._epoch is not None and self._mono() >= self._valid_until:
                self._stand_down("leader.lapsed", logging.WARNING,
                                 reason=f"no renewal for {self.timing.lease - self.timing.margin:g} s: "
                                        "stopped writing before the lease could end")
                changed = True
            epoch = self._epoch
        if changed:
            self._changed()
        return epoch

    @property
    def leading(self) -> bool:
        return self.term() is not None

    def check(self) -> None:
        if self.term() is None:
            raise Fenced(f"{self.tracker}: this daemon does not hold the lease now; it writes nothing more")

    def credentials(self, tracker: str) -> tuple[str, int]:
        """(holder, epoch) a journal write about `tracker` carries; Fenced when this daemon does not lead it."""
        if tracker != self.tracker:
            raise Fenced(f"this daemon leads {self.tracker}, not {tracker}: the journal is not written")
        with self._lock:
            epoch = self._epoch
        if epoch is None:
            raise Fenced(f"{self.tracker}: this daemon does not hold the lease; the journal is not written")
        return self.holder, epoch

    def guard(self, connector: Connector) -> Connector:
        return FencedConnector(connector, self)  # type: ignore[return-value]

    def leader_text(self) -> str:
        with self._lock:
            if self._epoch is not None:
                return f"this daemon, {self.holder} (epoch {self._epoch})"
            seen = self._seen
        if seen is None:
            return "unknown (the journal could not be asked)" if self._down else "nobody"
        return f"{seen[0]} (epoch {seen[1]})"

    def after_call(self, hook: Callable[[str, str, int | None], None] | None
                   ) -> Callable[[str, str, int | None], None]:
        """An `HttpClient(on_call=)` hook: `hook`, then the check, so no further request of a
        fenced daemon leaves (the marker search before a note, a re-read before a value write)."""

        def checked(method: str, path: str, status: int | None) -> None:
            if hook is not None:
                hook(method, path, status)
            self.check()

        return checked

    def after_sleep(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        """An `HttpClient(sleep=)`: a retry after a back-off leaves only if the lease still holds."""

        def checked(seconds: float) -> None:
            sleep(seconds)
            self.check()

        return checked

    # -- the heartbeat ---------------------------------------------------------------------
    def step(self) -> float:
        """Renew the lease held, or try to take it; returns the seconds until the next step."""
        with self._lock:
            epoch = self._epoch
        sent = self._mono()
        changed = False
        soon: float | None = None
        try:
            if epoch is not None:
                renewed = self.store.renew(self.tracker, self.holder, epoch, self.timing.lease)
                with self._lock:
                    if self._epoch == epoch:  # not lapsed meanwhile (`term`)
                        if renewed:
                            self._valid_until = sent + self.timing.lease - self.timing.margin
                        else:
                            self._stand_down("leader.lost", logging.WARNING,
                                             reason="the lease lapsed or another daemon holds it")
                            changed = True
            else:
                got = self.store.acquire(self.tracker, self.holder, self.timing.lease)
                changed = self._acquired(got, sent)
                if isinstance(got, LeaseState) and 0 < got.expires_in < self.timing.poll:
                    # the lease runs out before the next look: look right then (a duration on the
                    # database's clock, so no skew), not up to a poll interval late
                    soon = got.expires_in + _JUST_AFTER
        except JournalUnreachable as exc:
            if not self._down:
                self._down = True
                self._log(logging.WARNING, "leader.journal-unreachable", error=str(exc),
                          leading=self._epoch is not None)
        else:
            if self._down:
                self._down = False
                self._log(logging.WARNING, "leader.journal-recovered")
        if changed:
            self._changed()
        with self._lock:
            return self.timing.renew_every if self._epoch is not None else soon or self.timing.poll

    def _acquired(self, got: Grant | LeaseState, sent: float) -> bool:
        if isinstance(got, LeaseState):
            if self._seen != (got.holder, got.epoch):
                self._seen = (got.holder, got.epoch)
                self._set_epoch_metric(got.epoch)
                self._log(logging.INFO, "leader.standby", leader=got.holder, epoch=got.epoch,
                          lease_left=round(got.expires_in, 3))
            return False
        with self._lock:
            self._epoch = got.epoch
            self._valid_until = sent + self.timing.lease - self.timing.margin
            self._seen = (self.holder, got.epoch)
        self.takeovers += 1
        if self.metrics is not None:
            self.metrics.leader.labels(self.tracker).set(1)
            self.metrics.takeovers.labels(self.tracker).inc()
        self._set_epoch_metric(got.epoch)
        previous = got.previous
        self._log(logging.WARNING if previous is not None and previous.holder != self.holder else logging.INFO,
                  "leader.elected", holder=self.holder, epoch=got.epoch,
                  previous=previous.holder if previous else None,
                  lapsed_for=round(-previous.expires_in, 3) if previous else None,
                  lease=self.timing.lease)
        return True

    def _stand_down(self, event: str, severity: int, **fields: Any) -> None:
        """Called with the lock held."""
        epoch, self._epoch = self._epoch, None
        self._valid_until = float("-inf")
        if self.metrics is not None:
            self.metrics.leader.labels(self.tracker).set(0)
        self._log(severity, event, holder=self.holder, epoch=epoch, **fields)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _set_epoch_metric(self, epoch: int) -> None:
        if self.metrics is not None:
            self.metrics.leader_epoch.labels(self.tracker).set(epoch)

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        """Renew (or seek) the lease in a thread of its own, so a long pass never lets it lapse."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name=f"lease-{self.tracker}", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.is_set():
            delay = self.step()
            self._stop.wait(delay)

    def stop(self, *, release: bool = True) -> None:
        """Stop the heartbeat; `release` ends a lease held now, so a standby takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timing.lease)
            self._thread = None
        with self._lock:
            epoch = self._epoch
            if epoch is not None:
                self._stand_down("leader.released" if release else "leader.stopped", logging.INFO)
        if release and epoch is not None:
            try:
                self.store.release(self.tracker, self.holder, epoch)
            except JournalUnreachable as exc:
                self._log(logging.WARNING, "leader.release-failed", error=str(exc),
                          lease=self.timing.lease)

    def _log(self, severity: int, event: str, **fields: Any) -> None:
        fields = {"tracker": self.tracker, **fields}
        log.log(severity, "%s %s", event, " ".join(f"{k}={v}" for k, v in fields.items()),
                extra={"event": event, "fields": fields})
