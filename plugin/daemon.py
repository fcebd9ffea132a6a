"""The sync daemon: read what changed, ask the procedure what is due, do it, record it.

One `Daemon` serves one tracker (one connector). A *pass* does, in this order:

1. the tickets whose known next deadline has come (earliest first), each re-read
   with `read_one` so no action rests on a stale snapshot;
2. the tickets a webhook named, re-read the same way;
3. on the poll interval, everything changed since the cursor (`read_changed`).

Between passes it sleeps until the earliest of the next known deadline, the poll
interval and a webhook event, so the lag from a deadline to the note is seconds.

Never twice, never lost — the tracker is the source of truth:
- every action writes its note (carrying `action.marker`) before its value; the
  connector's `add_note` writes nothing when the marker is already there. The other
  writes of an action are values (level N, severity S, state X) and are safe to repeat;
- an escalation writes notify -> note -> level. Notify comes first because on Zammad it
  subscribes the people (a mention), and Zammad tells subscribers only of updates made
  after they subscribed: the note must come after, or they are never told of it. The
  marker is looked for before notifying, so a run that finds the note does not notify.
  Crash matrix of one escalation (the next run re-reads the ticket; the decision comes
  back while the level is below the action's):
    * before notify: nothing was written; all three writes are made;
    * between notify and note: the notification is sent AGAIN (the one write that can
      repeat: nothing on the ticket tells that it was sent), then note and level;
    * between note and level: the note is found, nobody is notified again, the level
      is set;
    * after the level: the decision does not come back; nothing is written.
  No note is ever written twice and no escalation is lost;
- a value is written only from a fresh read (`read_one`) made right before it, never
  from the pass's snapshot, which may be minutes old: a person's edit in between is
  theirs. The escalation level is only ever raised (written when the fresh level is
  below the action's); a severity is restored only when the fresh ticket still holds
  the lowered value and the no-downgrade rule, asked again on it, still wants the same
  restore — no-downgrade is the one rule that overwrites a person's edit, and its note
  says so; an illegal state change is put back only while the ticket is still in it;
- the journal records an action only after the tracker accepted all its writes, and
  the cursor only after the whole batch was carried out: losing the journal costs a
  re-read, a crash costs a re-read, neither costs a duplicate note.

One daemon writes to a tracker at a time — two would race between the marker check and
the note. With the embedded journal, `escalator run`/`once` hold an exclusive lock beside
it (`plugin.lockfile`), so a second process on the same config exits at once. With a
PostgreSQL journal any number run, on any hosts, and one leads (`plugin.leader`): the
daemon consults its `fence` before every pass (`term`: a standby reads and writes
nothing; a new leader starts from what the journal holds, `_begin_term`), and the fence
is checked before every tracker write (the connector is `fence.guard`ed); a pass that
finds the lead lost (`Fenced`) stops where it is, like a crash: the markers make the
next leader's re-read safe.

History is left alone: a lowering or a state change made before `watch_from` — the
config's `daemon.watch_from`, else the time of the first pass, recorded once in the
journal and never moved — is not flagged (`mapping.decide`), so installing the
escalator on a site with years of tickets writes no note on every old one.

A tracker that cannot be reached (connection, timeout, 5xx or 429 after the
transport's own retries) is logged once, retried with back-off, and its recovery is
logged once; deadlines that passed meanwhile are carried out first, in deadline order.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from connectors.base import Connector, Cursor
from connectors.http import AuthError, NotFound, RateLimited, ServerError, TrackerError, Unreachable
from mapping.actions import Action, Escalate, FlagIncompleteRecord, FlagTransition, RestoreSeverity
from mapping.downgrade import check_downgrade
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.procedure import Procedure
from plugin import notes
from plugin.clock import Clock
from plugin.config import Config
from plugin.contracts import contract_of
from plugin.journal import JournalStore
from plugin.leader import Fence, Fenced, Sole
from plugin.metrics import Metrics

log = logging.getLogger("escalator.daemon")

#: errors that mean "the tracker is not there right now": back off and retry later
TRACKER_DOWN = (Unreachable, ServerError, RateLimited)


class DecisionLike(Protocol):
    actions: list[Action]
    next_deadline: datetime | None


DecideFn = Callable[..., DecisionLike]  # mapping.decide.decide(incident, procedure, now, approvers, watch_from=)


class _NotNow(Exception):
    """An action half done that cannot be finished in this pass (logged): look again soon."""


@dataclass(frozen=True)
class _Nothing:
    """The decision for a ticket outside the watched projects: no action, no deadline."""

    actions: tuple = ()
    next_deadline: None = None


@dataclass(frozen=True)
class DaemonEvent:
    """One write (or would-be write) the daemon made, for the demo and for tests."""

    tracker: str
    ref: str
    kind: str  # escalated | severity-restored | transition-flagged | record-incomplete | unreadable
    summary: str
    at: datetime
    dry_run: bool = False


class Schedule:
    """Next known deadline per ticket: a heap with lazy deletion, O(log n) per change."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}
        self.refs: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._due)

    def set(self, ticket_id: str, ref: str, due: datetime | None) -> None:
        if due is None:
            self._due.pop(ticket_id, None)
            self.refs.pop(ticket_id, None)
            return
        self.refs[ticket_id] = ref
        if self._due.get(ticket_id) != due:
            self._due[ticket_id] = due
            heapq.heappush(self._heap, (due, ticket_id))
            if len(self._heap) > 2 * len(self._due) + 64:
                # stale entries pile up below the top: rebuild from the live ones
                self._heap = [(d, t) for t, d in self._due.items()]
                heapq.heapify(self._heap)

    def get(self, ticket_id: str) -> datetime | None:
        return self._due.get(ticket_id)

    def _clean(self) -> None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def next(self) -> datetime | None:
        self._clean()
        return self._heap[0][0] if self._heap else None

    def due(self, now: datetime) -> list[tuple[datetime, str]]:
        """Tickets due at `now`, earliest first (they stay scheduled until re-set)."""
        nxt = self.next()
        if nxt is None or nxt > now:
            return []
        return sorted((d, t) for t, d in self._due.items() if d <= now)


@dataclass
class PassStats:
    read: int = 0
    acted: int = 0
    errors: int = 0
    events: list[DaemonEvent] = field(default_factory=list)


class Daemon:
    """Enforces the procedure on one tracker through `connector`."""

    #: back-off while the tracker is unreachable, in real seconds
    BACKOFF_START = 1.0
    BACKOFF_MAX = 60.0

    def __init__(self, connector: Connector, procedure: Procedure, config: Config, journal: JournalStore,
                 clock: Clock, *, mapping: TrackerMapping | None = None, metrics: Metrics | None = None,
                 dry_run: bool = False, decide: DecideFn | None = None,
                 on_event: Callable[[DaemonEvent], None] | None = None, poll_interval: float | None = None,
                 fence: Fence | None = None):
        if decide is None:
            from mapping.decide import decide as real_decide
            decide = real_decide
        self.connector = connector
        self.tracker = connector.tracker
        self.procedure = procedure
        self.config = config
        self.journal = journal
        self.clock = clock
        self.mapping = mapping
        self.metrics = metrics or Metrics()
        self.dry_run = dry_run
        self.decide = decide
        self.on_event = on_event
        self.poll_interval = poll_interval if poll_interval is not None else config.daemon.poll_interval
        # leadership (plugin.leader): consulted before each pass, and checked before every tracker write
        self.fence: Fence = fence or Sole()
        self.connector = self.fence.guard(connector)
        self._term = self.fence.term()  # the epoch the state below was read under
        self.schedule = Schedule()
        self.cursor = journal.cursor(self.tracker)
        for due, ticket_id, ref in journal.schedule(self.tracker):
            self.schedule.set(ticket_id, ref, due)
        # open incidents known: a scheduled one is open until a read says otherwise
        self._open: set[str] = set(self.schedule.refs)
        #: changes before this are history, not flagged: the config's, else the first pass's (journal)
        self.watch_from: datetime | None = config.daemon.watch_from or journal.watch_from(self.tracker)
        self._watching = False  # the first pass of this process has recorded its time
        self.metrics.prepare(self.tracker, len(procedure.escalation.targets))
        self.metrics.watched.labels(self.tracker).set(len(self._open))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._requested: dict[str, None] = {}  # ticket ids named by webhooks, in arrival order
        self._requested_lock = threading.Lock()
        self._next_poll: datetime | None = None  # None: poll at once
        self._down = False
        self._backoff = 0.0
        self.passes = 0  # successful passes, for the demo and tests
        # the latest snapshot of every watched ticket read (for the duties, see plugin.duty_runner);
        # complete once a read started from an empty cursor
        self.snapshots: dict[str, Incident] = {}
        self.snapshots_complete = False
        self.duties = None
        if config.duties.enabled:
            from plugin.duty_runner import DutyRunner
            self.duties = DutyRunner(self)

    # -- control from other threads --------------------------------------------------------
    def wake(self, ticket_id: str | None = None) -> None:
        """Read `ticket_id` (or poll, when None) at once: called by the webhook receiver."""
        with self._requested_lock:
            if ticket_id is None:
                self._next_poll = None
            else:
                self._requested[str(ticket_id)] = None
        self._wake.set()

    def stop(self) -> None:
        """Finish the write in flight, then return from `run` (SIGTERM)."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        self._log(logging.INFO, "daemon.started", dry_run=self.dry_run, watched=len(self._open),
                  deadlines=len(self.schedule))
        while not self._stop.is_set():
            wait = self.cycle()
            if self._stop.is_set():
                break
            self.clock.wait(self._wake, wait)
        self._log(logging.INFO, "daemon.stopped")

    def cycle(self) -> float:
        """One pass with failure handling; returns how long to sleep, in clock seconds."""
        self._wake.clear()
        try:
            if not self._leading():
                return self.fence.poll_seconds * self.clock.rate
        except Fenced as exc:  # the journal cannot be read back: not yet
            self._log(logging.WARNING, "daemon.fenced", error=str(exc))
            return self._back_off()
        now = self.clock.now()
        poll = self._next_poll is None or now >= self._next_poll
        if self.duties is not None and not poll:
            poll = self.duties.time_has_come(now)  # a duty lists what the tracker says now: read first
        try:
            self.run_pass(poll=poll)
        except Fenced as exc:
            # the lead is lost or lapsing, or the journal cannot be reached: stop here, as a crash
            # would; the next cycle stands by, or goes on when the journal is back under the lease
            self._log(logging.WARNING, "daemon.fenced", error=str(exc))
            return self._back_off()
        except TRACKER_DOWN as exc:
            if not self._down:
                self._down = True
                self._log(logging.WARNING, "daemon.tracker-unreachable", error=str(exc))
            return self._back_off()
        except AuthError:
            raise  # a revoked token or a lost permission: no pass can succeed; say so and stop
        except Exception as exc:  # noqa: BLE001 - a bug in one pass must not end the daemon
            log.exception("daemon.pass-failed %s", exc, extra={"event": "daemon.pass-failed",
                                                              "fields": {"tracker": self.tracker}})
            return self._back_off()
        self._backoff = 0.0
        self.passes += 1
        if self.passes == 1:
            self._log(logging.INFO, "daemon.ready", watched=len(self._open), deadlines=len(self.schedule),
                      watch_from=self.watch_from.isoformat() if self.watch_from else None)
        if self._down:
            self._down = False
            self._log(logging.WARNING, "daemon.tracker-recovered")
        now = self.clock.now()
        if poll and not self._stop.is_set():
            self._next_poll = now + timedelta(seconds=self.poll_interval * self.clock.rate)
        return self.seconds_to_sleep(now)

    def _leading(self) -> bool:
        """The leadership hook: may this daemon act now? A standby reads and writes nothing
        (webhook wake-ups are dropped: the leader's own poll reads those tickets)."""
        term = self.fence.term()
        if term is None:
            with self._requested_lock:
                self._requested.clear()
            return False
        if term != self._term:
            self._begin_term()
            self._term = term
        return True

    def _begin_term(self) -> None:
        """This daemon has just taken the lead: another leader may have moved on since it read
        the journal, so everything it keeps is read again, as at a start."""
        self.cursor = self.journal.cursor(self.tracker)
        self.schedule = Schedule()
        for due, ticket_id, ref in self.journal.schedule(self.tracker):
            self.schedule.set(ticket_id, ref, due)
        self._open = set(self.schedule.refs)
        self.watch_from = self.config.daemon.watch_from or self.journal.watch_from(self.tracker)
        self._watching = False
        self.snapshots = {}
        self.snapshots_complete = False
        self._next_poll = None
        self.passes = 0  # its first pass as leader logs `daemon.ready`

    def _back_off(self) -> float:
        self._backoff = min(self.BACKOFF_MAX, self._backoff * 2 if self._backoff else self.BACKOFF_START)
        self._next_poll = None  # on recovery, read everything that changed meanwhile
        return self._backoff * self.clock.rate

    def seconds_to_sleep(self, now: datetime) -> float:
        with self._requested_lock:
            if self._requested or self._next_poll is None:
                return 0.0
            candidates = [self._next_poll]
        nxt = self.schedule.next()
        if nxt is not None:
            candidates.append(nxt)
        if self.duties is not None:
            duty = self.duties.next_time(now)
            if duty is not None:
                candidates.append(duty)
        return max((min(candidates) - now).total_seconds(), 0.0)

    def run_once(self) -> PassStats:
        """`escalator once`: one full pass; tracker errors propagate."""
        return self.run_pass(poll=True)

    # -- one pass ---------------------------------------------------------------------------
    def run_pass(self, *, poll: bool) -> PassStats:
        stats = PassStats()
        now = self.clock.now()
        if not self._watching:
            # the first pass ever is recorded once and never moved (a dry run writes nothing: it keeps
            # it in memory); what happened before it is history
            recorded = self.journal.watch_from(self.tracker) if self.dry_run \
                else self.journal.start_watching(self.tracker, now)
            self.watch_from = self.watch_from or recorded or now
            self._watching = True
        # 1. known deadlines that have come, earliest first
        for _, ticket_id in self.schedule.due(now):
            if self._stop.is_set():
                return stats
            self._handle(self._read_one(ticket_id), stats)
        # 2. tickets named by webhooks
        while not self._stop.is_set():
            with self._requested_lock:
                if not self._requested:
                    break
                ticket_id = next(iter(self._requested))
            self._handle(self._read_one(ticket_id), stats)
            with self._requested_lock:
                self._requested.pop(ticket_id, None)
        # 3. everything changed since the cursor
        if poll and not self._stop.is_set():
            full = self.cursor.since is None
            cursor = Cursor(since=self.cursor.since, seen=dict(self.cursor.seen), overlap=self.cursor.overlap)
            batch = list(self.connector.read_changed(cursor))
            stats.read += len(batch)
            planned = [self._plan(item) for item in batch]
            # most urgent first: what is overdue the longest, then the rest as read
            planned.sort(key=lambda p: p[2])
            for item, decision, _ in planned:
                if self._stop.is_set():
                    return stats  # the cursor stays: the rest is read again next time
                self._carry_out(item, decision, stats)
            self.cursor = cursor
            self.snapshots_complete = self.snapshots_complete or full
            if not self.dry_run:
                self.journal.save_cursor(self.tracker, cursor)
        # 4. the duties whose time has come (after the read: they list the tickets as they are now;
        #    a duty's time forces a read, see `cycle`)
        if poll and self.duties is not None and not self._stop.is_set():
            self.duties.run(now, stats)
        self.metrics.watched.labels(self.tracker).set(len(self._open))
        return stats

    def _read_one(self, ticket_id: str) -> Incident | Unreadable | None:
        """A fresh read of one ticket; None when it is gone or the tracker refuses it (logged)."""
        try:
            return self.connector.read_one(ticket_id)
        except NotFound:
            self._log(logging.WARNING, "daemon.ticket-gone", ticket=ticket_id)
            self._set_due(ticket_id, ticket_id, None)
            self.snapshots.pop(ticket_id, None)
            self._open.discard(ticket_id)
            return None
        except (TRACKER_DOWN + (AuthError,)):
            raise
        except TrackerError as exc:
            self._log(logging.ERROR, "daemon.read-failed", ticket=ticket_id, error=str(exc))
            soon = self.clock.now() + timedelta(seconds=self.poll_interval * self.clock.rate)
            self.schedule.set(ticket_id, self.schedule.refs.get(ticket_id, ticket_id), soon)
            return None

    def _handle(self, item: Incident | Unreadable | None, stats: PassStats) -> None:
        if item is None:
            return
        stats.read += 1
        resolved, decision, _ = self._plan(item)
        self._carry_out(resolved, decision, stats)

    def _contracted(self, item: Incident | Unreadable) -> Incident | Unreadable | None:
        """The incident under its contract; Unreadable when the contract is unknown; None when
        the ticket is outside the watched projects."""
        if isinstance(item, Unreadable):
            return item
        if self.mapping and self.mapping.projects and item.project not in self.mapping.projects:
            return None
        contract = contract_of(item, self.config, self.procedure)  # the reports resolve it the same way
        if contract not in self.procedure.contracts:
            return Unreadable(tracker=item.tracker, id=item.id, ref=item.ref, updated_at=item.updated_at,
                              reason=f"contract {contract!r} is not in the procedure's contracts "
                                     f"({', '.join(sorted(self.procedure.contracts))})")
        return item if item.contract == contract else item.model_copy(update={"contract": contract})

    def remember(self, item: Incident | Unreadable) -> Incident | Unreadable | None:
        """Keep the latest snapshot of a watched ticket (the duties list from these)."""
        resolved = self._contracted(item)
        if isinstance(resolved, Incident):
            self.snapshots[resolved.id] = resolved
            contract = self.procedure.contracts[resolved.contract]  # resolved by `_contracted`
            if self.procedure.clock_mode(contract, resolved.state) == "stopped":
                self._open.discard(resolved.id)  # resolved or archived
            else:
                self._open.add(resolved.id)
        else:
            self.snapshots.pop(item.id, None)
            self._open.discard(item.id)  # unreadable (counted apart) or outside the watched projects
        return resolved

    def _plan(self, item: Incident | Unreadable) -> tuple[Incident | Unreadable, DecisionLike | None, tuple]:
        """Resolve the contract and approvers, and ask the procedure what is due."""
        far = (datetime.max.replace(tzinfo=self.clock.now().tzinfo),)
        resolved = self.remember(item)
        if resolved is None:
            # e.g. a webhook for a project the escalator does not watch: not ours to judge
            return item, _Nothing(), far
        if isinstance(resolved, Unreadable):
            return resolved, None, far
        item = resolved
        try:
            decision = self.decide(item, self.procedure, self.clock.now(), self._approvers(item),
                                   watch_from=self.watch_from)
        except (ValueError, LookupError) as exc:
            bad = Unreadable(tracker=item.tracker, id=item.id, ref=item.ref, updated_at=item.updated_at,
                             reason=f"the procedure cannot judge it: {exc}")
            return bad, None, far
        deadlines = [a.deadline for a in decision.actions if isinstance(a, Escalate)]
        return item, decision, ((min(deadlines),) if deadlines else far)

    def _carry_out(self, item: Incident | Unreadable, decision: DecisionLike | None, stats: PassStats) -> None:
        if isinstance(item, Unreadable) or decision is None:
            self.metrics.unreadable.labels(self.tracker).inc()
            self._log(logging.WARNING, "daemon.ticket-unreadable", ticket=item.ref, reason=item.reason)
            self._event(item.ref, "unreadable", item.reason, stats)
            self._set_due(item.id, item.ref, None)
            return
        retry = False
        for action in decision.actions:
            if self._stop.is_set():
                return  # the next run re-reads this ticket; the markers make that safe
            try:
                self._act(action, item, stats)
                stats.acted += 1
            except TRACKER_DOWN:
                raise
            except _NotNow:
                retry = True  # half done (logged): the next run finishes it, the marker keeps the note single
            except TrackerError as exc:
                # refused by the tracker (a permission, a missing option): report, go on, retry later
                retry = True
                stats.errors += 1
                self.metrics.action_errors.labels(self.tracker).inc()
                self._log(logging.ERROR, "daemon.action-failed", ticket=item.ref, action=action.kind,
                          marker=action.marker, error=str(exc))
        if self.duties is not None and not self._stop.is_set() and not isinstance(decision, _Nothing):
            try:
                self.duties.problem(item, stats)
            except TRACKER_DOWN:
                raise
            except TrackerError as exc:
                retry = True
                stats.errors += 1
                self.metrics.action_errors.labels(self.tracker).inc()
                self._log(logging.ERROR, "daemon.action-failed", ticket=item.ref, action="problem-record",
                          marker="problem-record", error=str(exc))
        due = decision.next_deadline
        if retry:
            soon = self.clock.now() + timedelta(seconds=self.poll_interval * self.clock.rate)
            due = min(due, soon) if due else soon
        self._set_due(item.id, item.ref, due)

    def _set_due(self, ticket_id: str, ref: str, due: datetime | None) -> None:
        # a dry run keeps its schedule in memory (so it does not report the same thing every
        # cycle) and writes nothing to the journal
        self.schedule.set(ticket_id, ref, due)
        if not self.dry_run:
            self.journal.set_due(self.tracker, ticket_id, ref, due)

    # -- actions ----------------------------------------------------------------------------
    def _act(self, action: Action, incident: Incident, stats: PassStats) -> None:
        if isinstance(action, FlagIncompleteRecord | FlagTransition) and not getattr(action, "revert", False) \
                and self.journal.done(self.tracker, incident.id, action.marker):
            return  # a note-only action the journal knows is on the ticket: spare the tracker a search
        if isinstance(action, Escalate):
            self._escalate(action, incident, stats)
        elif isinstance(action, RestoreSeverity):
            self._restore(action, incident, stats)
        elif isinstance(action, FlagTransition):
            self._flag_transition(action, incident, stats)
        elif isinstance(action, FlagIncompleteRecord):
            self._flag_incomplete(action, incident, stats)
        else:  # pragma: no cover - the Action union is closed
            raise TypeError(f"unknown action {action!r}")

    def _escalate(self, action: Escalate, incident: Incident, stats: PassStats) -> None:
        now = self.clock.now()
        people = self._people(action.role, incident)
        role = self.procedure.role(action.role).name.en
        if action.reason == "manual":
            why = "on request"
        elif action.allowed <= timedelta(0):
            why = "due immediately"
        else:
            why = f"allowed {_hours(action.allowed)}, deadline missed by {_hours(action.overdue(now))}"
        summary = f"level {action.level} ({role}): severity {action.severity}, {why} (contract {action.contract})"
        if self.dry_run:
            self._would("daemon.would-escalate", action, incident, stats, summary, level=action.level,
                        role=action.role, people=",".join(people))
            return
        text = notes.escalation_note(action, incident, self.procedure, now, people)
        # notify -> note -> level (the crash matrix is in the module's docstring). A note already
        # there means an earlier run (or another daemon) notified: do not notify again.
        noted = self.connector.has_marker(incident, action.marker)
        wrote = False
        if not noted:
            if people:
                self.connector.notify(incident, people, notes.escalation_subject(action, incident, self.procedure),
                                      text)
            # a crash right here notifies again on the next run: nothing on the ticket says it was sent
            wrote = self.connector.add_note(incident, text, marker=action.marker)
        noted_at = self.clock.now()
        fresh = self._fresh(incident)
        if fresh is None:
            raise _NotNow
        # the level only goes up: a person (or a run) that set it as high or higher meanwhile keeps it
        raised = fresh.escalation_level < action.level
        if raised:
            self.connector.set_escalation_level(fresh, action.level)
        if not wrote and not raised:
            self._already(action, incident)
            return
        lag = max((noted_at - action.deadline).total_seconds(), 0.0)
        self.metrics.escalations.labels(self.tracker, str(action.level)).inc()
        if action.reason == "timetable" and wrote:
            self.metrics.lag.labels(self.tracker).observe(lag)
        self._record(action, incident, {"level": action.level, "role": action.role, "people": people,
                                        "deadline": action.deadline.isoformat(), "lag_seconds": lag,
                                        "note_written": wrote, "notified": not noted and bool(people),
                                        "level_written": raised, "level_found": fresh.escalation_level})
        self._log(logging.INFO, "daemon.escalated", ticket=incident.ref, level=action.level, role=action.role,
                  people=",".join(people), reason=action.reason, contract=action.contract,
                  deadline=action.deadline.isoformat(), lag_seconds=round(lag, 3), note_written=wrote,
                  level_written=raised)
        self._event(incident.ref, "escalated", summary, stats)

    def _restore(self, action: RestoreSeverity, incident: Incident, stats: PassStats) -> None:
        who = action.lowered_by_name or action.lowered_by or "unknown"
        summary = f"severity {action.current} -> {action.to}: lowered by {who} without an approved exception"
        if self.dry_run:
            self._would("daemon.would-restore-severity", action, incident, stats, summary,
                        to=action.to, current=action.current)
            return
        # no-downgrade overwrites a person's edit: only the one it judged. Asked again on a fresh
        # read before the note (a note must not claim a restore that will not happen) and again
        # right before the write (someone may have edited while the note was written)
        fresh = self._still_lowered(action, incident)
        if fresh is None:
            return
        text = notes.restore_note(action, fresh, self.procedure, fresh.contract or "", self.mapping)
        wrote = self.connector.add_note(fresh, text, marker=action.marker)
        fresh = self._still_lowered(action, incident)
        if fresh is None:
            return
        self.connector.set_severity(fresh, action.to)
        self.metrics.restored.labels(self.tracker).inc()
        self._record(action, incident, {"to": action.to, "from": action.current, "lowered_by": action.lowered_by,
                                        "note_written": wrote})
        self._log(logging.INFO, "daemon.severity-restored", ticket=incident.ref, to=action.to,
                  current=action.current, lowered_by=action.lowered_by)
        self._event(incident.ref, "severity-restored", summary, stats)

    def _still_lowered(self, action: RestoreSeverity, incident: Incident) -> Incident | None:
        """The fresh ticket when it still holds `action.current` and the rule still asks for this very
        restore; otherwise None (logged): a person's later edit — raising it, putting it back,
        approving the lowering — or an earlier run's restore is left as it is."""
        fresh = self._fresh(incident)
        if fresh is None:
            return None
        again = check_downgrade(fresh, self._approvers(fresh))
        if fresh.severity == action.current and again == action:
            return fresh
        self._log(logging.INFO, "daemon.restore-skipped", ticket=incident.ref, marker=action.marker,
                  judged=action.current, now=fresh.severity, to=action.to,
                  reason="already restored" if fresh.severity == action.to else "changed since it was read")
        return None

    def _flag_transition(self, action: FlagTransition, incident: Incident, stats: PassStats) -> None:
        p = self.procedure
        summary = (f"state {p.state(action.source).name.zh} -> {p.state(action.target).name.zh} breaks "
                   f"'{action.rule}' ({action.section})" + ("; put back" if action.revert else ""))
        if self.dry_run:
            self._would("daemon.would-flag-transition", action, incident, stats, summary,
                        source=action.source, target=action.target, revert=action.revert)
            return
        contract = incident.contract or ""
        text = notes.transition_note(action, incident, p, contract, reverted=action.revert)
        wrote = self.connector.add_note(incident, text, marker=action.marker)
        reverted = False
        if action.revert:
            fresh = self._fresh(incident)
            # put back only what is still in the illegal state: a later human move is theirs
            if fresh is not None and fresh.state == action.target:
                reverted = self.connector.set_state(fresh, action.source)
                if not reverted:
                    self._log(logging.ERROR, "daemon.revert-impossible", ticket=incident.ref,
                              source=action.source, target=action.target)
                    self.connector.add_note(incident, notes.revert_failed_note(action, incident, p, contract),
                                            marker=f"{action.marker}-revert-failed")
        if not wrote and not reverted:
            self._already(action, incident)
            return
        self.metrics.flagged.labels(self.tracker).inc()
        self._record(action, incident, {"source": action.source, "target": action.target, "rule": action.rule,
                                        "reverted": reverted, "note_written": wrote})
        self._log(logging.INFO, "daemon.transition-flagged", ticket=incident.ref, source=action.source,
                  target=action.target, rule=action.rule, reverted=reverted)
        self._event(incident.ref, "transition-flagged", summary, stats)

    def _flag_incomplete(self, action: FlagIncompleteRecord, incident: Incident, stats: PassStats) -> None:
        summary = "record lacks " + ", ".join(action.missing)
        if self.dry_run:
            self._would("daemon.would-flag-record", action, incident, stats, summary, missing=",".join(action.missing))
            return
        text = notes.incomplete_note(action, incident, self.procedure, incident.contract or "")
        wrote = self.connector.add_note(incident, text, marker=action.marker)
        if not wrote:
            self._already(action, incident)
            return
        self.metrics.incomplete.labels(self.tracker).inc()
        self._record(action, incident, {"missing": list(action.missing)})
        self._log(logging.INFO, "daemon.record-incomplete", ticket=incident.ref, missing=",".join(action.missing))
        self._event(incident.ref, "record-incomplete", summary, stats)

    # -- helpers ----------------------------------------------------------------------------
    def _fresh(self, incident: Incident) -> Incident | None:
        """The ticket as it is now, read right before a value write (and remembered); None, logged,
        when it no longer reads as a watched incident: then nothing is written over it."""
        fresh = self.remember(self.connector.read_one(incident.id))
        if isinstance(fresh, Incident):
            return fresh
        self._log(logging.WARNING, "daemon.write-skipped", ticket=incident.ref,
                  reason=fresh.reason if isinstance(fresh, Unreadable) else "no longer in a watched project")
        return None

    def _approvers(self, incident: Incident) -> set[str]:
        """The people whose recorded exception may lower this incident's severity."""
        approvers: set[str] = set()
        for role in self.procedure.downgrade_exception.roles:
            approvers.update(self._people(role, incident))
        return approvers

    def _people(self, role: str, incident: Incident) -> list[str]:
        return self.config.roles.people(role, contract=incident.contract, organisation=incident.organisation,
                                        project=incident.project)

    def _record(self, action: Action, incident: Incident, detail: dict, outcome: str = "done") -> None:
        self.journal.record(self.tracker, incident.id, incident.ref, action.marker, action.kind, outcome,
                            self.clock.now(), detail)

    def _already(self, action: Action, incident: Incident) -> None:
        self._record(action, incident, {}, outcome="already-done")
        self._log(logging.DEBUG, "daemon.already-done", ticket=incident.ref, marker=action.marker)

    def _would(self, event: str, action: Action, incident: Incident, stats: PassStats, summary: str,
               **fields: Any) -> None:
        already = self.connector.has_marker(incident, action.marker)
        self._log(logging.INFO, event, ticket=incident.ref, marker=action.marker, already_on_ticket=already,
                  **fields)
        kind = event.removeprefix("daemon.would-")
        self._event(incident.ref, kind, summary, stats, dry_run=True)

    def _event(self, ref: str, kind: str, summary: str, stats: PassStats, dry_run: bool = False) -> None:
        event = DaemonEvent(self.tracker, ref, kind, summary, self.clock.now(), dry_run)
        stats.events.append(event)
        if self.on_event:
            self.on_event(event)

    def _log(self, severity: int, event: str, **fields: Any) -> None:
        fields = {"tracker": self.tracker, **fields}
        log.log(severity, "%s %s", event, " ".join(f"{k}={v}" for k, v in fields.items()),
                extra={"event": event, "fields": fields})


def _hours(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
