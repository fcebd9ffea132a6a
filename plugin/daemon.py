"""The sync daemon: read what changed, ask the procedure what is due, do it, record it.

One `Daemon` serves one tracker (one connector). A *pass* reads:

1. the tickets whose known next deadline has come, each re-read with `read_fresh` so
   no decision rests on a stale snapshot (its notes' markers serve the marker checks
   before its notifications);
2. the tickets a webhook named, re-read the same way;
3. on the poll interval, everything changed since the cursor (`read_changed`);

then carries out everything due on all of them in one order (`urgency`, §4.2.3: the
more urgent first): by severity, then deadline, escalation by escalation — not ticket
by ticket, so when more is due than the tracker takes at once, a severity-1 incident's
levels go before a severity-2 one's, and a level due at 09:00 before one due at 14:40
on another ticket. A restore goes first within its severity (the ticket's escalations
are counted on the restored severity); flags, which have no deadline, go last.

Between passes it sleeps until the earliest of the next known deadline, the poll
interval and a webhook event, so the lag from a deadline to the note is seconds.

Never twice, never lost — the tracker is the source of truth:
- every action writes one note carrying `action.marker`, looked for in a read of the
  ticket with its notes (`read_fresh`, one call: Jira GET /issue/{key} with the comments
  and the changelog; Zammad GET /ticket_history/{id}, whose assets carry the ticket and
  its articles and whose entries say who is mentioned). The values of an action (level N,
  severity S) land in the SAME request as its note, both or neither: Jira
  `PUT /rest/api/3/issue/{key}` with `update.comment[].add` and `fields`
  (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put),
  Zammad `PUT /api/v1/tickets/{id}` with `article` and the attributes
  (app/controllers/tickets_controller.rb#update, one transaction). A note is therefore
  never on the ticket without its value, and a marker found means its value landed (or
  a person changed it since: theirs);
- an escalation is read -> notify -> read -> note + level (one write): four calls, two of
  them writes (Jira: GET /issue, POST /issue/{key}/notify, GET /issue, PUT /issue; Zammad:
  GET /ticket_history, POST /mentions for each person not mentioned yet, GET
  /ticket_history, PUT /tickets; and, once per person and run, the look-up of a role
  holder's display name for the note). Notify comes first: on Zammad the mention subscribes
  the people, and Zammad tells subscribers only of updates made after they subscribed;
  and a notification sent after its note could be lost to a crash with nothing left to
  tell (the marker says done). Jira's notification is one call whose answer is its
  outcome (`JiraConnector.notify`: no watcher is added). The marker is looked for before
  notifying — in the markers the pass knows of the ticket (its read of a due ticket, with
  the notes the pass wrote on it since: a severity 1's three levels share that read),
  else in a read made then — so a run that finds the note does not notify, and the
  notification's outcome is in the journal as soon as it is known (`plugin.outcomes`), so
  a run that finds it there does not notify either. The second read is the one the write
  is made from: the level is written only when the fresh level is below the action's,
  and the marker is looked for again. Crash matrix of one escalation (the next run reads
  the ticket again; the decision comes back while the level is below the action's;
  tests/daemon/test_idempotency.py crashes it at every call):

  | the crash comes           | on the ticket  | in the journal | the next run                         |
  |---------------------------|----------------|----------------|--------------------------------------|
  | before the notification   | nothing        | nothing        | notifies, reads, writes: all of it   |
  | after the notification,   | nothing        | nothing        | notifies AGAIN: the one write that   |
  |   before its journal row  |                |                | can repeat (nothing on the ticket    |
  |   (or the journal is lost)|                |                | says it went out)                    |
  | after that row, before    | nothing        | told           | tells nobody; reads, writes note and |
  |   the write               |                |                | level (who was told: the journal)    |
  | during the write (its     | both, or       | told           | the marker is looked for at once     |
  |   answer lost)            | neither        |                | (`connectors.writes.write_once`):    |
  |                           |                |                | landed, or as the row above          |
  | after the write           | note and level | told (or done) | no decision: nothing is written      |

  A note without its level (the level refused, or written alone by an earlier version)
  is found by its marker: nobody is told again, and the level is written alone from the
  same read. No note is ever written twice and no escalation is lost;
- a restore is read -> note + severity (one write): a crash before the write leaves the
  ticket as it was (the next run decides again on a new read), after it leaves both. If
  the tracker refuses the severity (its answer names the field), the note claiming the
  restore is not written either: one note says it could not be restored and why;
- a put-back is read -> state + note (one write: Jira's transition with `update.comment`,
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-post;
  Zammad's ticket update with `state_id` and `article`): the note claims the put-back
  and lands only with it. A crash before the write leaves neither (the next run puts it
  back and says so), after it both; the marker found means nothing is left to do. A
  refused put-back (the answer names the transition or the state) is reported and a
  note alone says it could not be put back, and why; a put-back written alone by an
  earlier version is found in the journal and its note says so;
- a value is written only from a read made right before it (`read_fresh`), never from
  the pass's snapshot, which may be minutes old: a person's edit in between is theirs.
  The escalation level is only ever raised (written when the fresh level is below the
  action's); a severity is restored only when the fresh ticket still holds the lowered
  value and the no-downgrade rule, asked again on it, still wants the same restore —
  no-downgrade is the one rule that overwrites a person's edit, and its note says so; an
  illegal state change is put back only while the ticket is still in it;
- the journal records an action only after the tracker accepted its writes, and the
  cursor only after the whole batch was carried out: losing the journal costs a
  re-read, a crash costs a re-read, neither costs a duplicate note. The schedule, a hint
  a re-read rebuilds (no tracker write waits on it), is written in batches, one
  transaction each (`Journal.set_due_many`: `SAVE_EVERY` rows, the rest at the pass's end).

At scale (issue 14: 100,000 open incidents) a pass holds what its decisions need and no
more: what is read streams through it (`_take`) — a ticket with nothing to do now is
judged, scheduled and let go as it comes; only the tickets with work wait for the
ordered carrying out — and per open incident the daemon keeps its next deadline
(`plugin.schedule`) and whether it is open (`plugin.watched`; the snapshots only for the
duties and the status page, compact). bench/bench_scale.py measures it.

A tracker that says no to one write (`plugin.refusals`, `plugin.outcomes`): a permanent
refusal (400, 403, 404, 409, 422) is given up at once and reported once — log event
`daemon.write-refused`, metric `escalator_writes_refused`, a journal row — and not sent
again for that action until the ticket changes; a busy one (429, 5xx) or a write left
unanswered (timeout, reset) makes that ticket alone wait an exponential, jittered
back-off (honouring `Retry-After`), then the action is tried again, within a number
of attempts; the other tickets go on. The action degrades truthfully: an escalation
whose notification is refused still writes its note and its level, and the note says
who could not be told and why; a notification left unanswered is never sent again
(it may have gone out) and the note says it could not be confirmed; a put-back that is
refused is not announced, its note says it could not be put back and why; a refused
severity restore gets a second note saying so.

One daemon writes to a tracker at a time — two would race between the marker check and
the note. With the embedded journal, `escalator run`/`once` hold an exclusive lock beside
it (`plugin.lockfile`), so a second process on the same config exits at once. With a
PostgreSQL journal any number run, on any hosts, and one leads (`plugin.leader`): the
daemon consults its `fence` before every pass (`term`: a standby reads and writes
nothing; a new leader starts from what the journal holds, `_begin_term`), and the fence
is checked before every tracker write (the connector the writes go through is
`fence.guard`ed); a pass that finds the lead lost (`Fenced`) stops where it is, like a
crash: the markers make the next leader's re-read safe.

History is left alone: a lowering or a state change made before `watch_from` — the
config's `daemon.watch_from`, else the time of the first pass, recorded once in the
journal and never moved — is not flagged (`mapping.decide`), so installing the
escalator on a site with years of tickets writes no note on every old one.

A tracker that cannot be reached (a read fails: connection, timeout, 5xx or 429 after
the transport's own retries), or that refuses the token itself (401: revoked), is
retried with back-off, never a reason to exit — under a service manager an exit would
only be a restart loop; `plugin.health` logs the outage, restates its length at a
bounded rate and logs the recovery, with a heartbeat line per pass, and answers
`/healthz` and `/readyz`. Deadlines that passed meanwhile are carried out first, in
the order above.

The parts: this module is the loop and the pass; the writes of each action are
`plugin.writers`; duties and problem records `plugin.duty_runner`; what they share
(connector, journal, clock, config, log, events) `plugin.context`; the tickets known
`plugin.watched` and `plugin.schedule`; refusals `plugin.refusals` and
`plugin.outcomes`. Every tracker write goes through one gate, `plugin.writes.TrackerWrites`.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connectors.base import Connector
from connectors.http import AuthError, NotFound, RateLimited, ServerError, TrackerError, Unreachable
from mapping.actions import Action, Escalate, RepeatEscalation, RestoreSeverity, WarnBeforeBreach
from mapping.decide import Decision, decide
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.procedure import Procedure
from plugin.clock import Clock
from plugin.config import Config
from plugin.context import DaemonContext, DaemonEvent, PassStats, log
from plugin.duty_runner import DutyRunner
from plugin.health import Health
from plugin.journal import JournalStore
from plugin.leader import Fence, Fenced, Sole
from plugin.metrics import Metrics
from plugin.outcomes import Outcomes, RetryLater
from plugin.refusals import Backoff, Refused
from plugin.schedule import Schedule
from plugin.watched import Watched
from plugin.writers import ActionWriter, NotNow

__all__ = ["TRACKER_DOWN", "Daemon", "DaemonEvent", "PassStats"]

#: errors that mean "the tracker is not there right now": back off and retry later
TRACKER_DOWN = (Unreachable, ServerError, RateLimited)

#: the decision for a ticket outside the watched projects: no action, no deadline
_NOTHING = Decision(actions=[])
_FAR = datetime.max.replace(tzinfo=UTC)


class Daemon:
    """Enforces the procedure on one tracker through `connector`."""

    #: schedule rows written to the journal in one transaction (a search page's worth, ten times over):
    #: a pass's rows go in batches of this many, the rest at the pass's end
    SAVE_EVERY = 1000
    #: back-off while the tracker is unreachable, in real seconds
    BACKOFF_START = 1.0
    BACKOFF_MAX = 60.0

    def __init__(self, connector: Connector, procedure: Procedure, config: Config, journal: JournalStore,
                 clock: Clock, *, mapping: TrackerMapping | None = None, metrics: Metrics | None = None,
                 dry_run: bool = False, on_event: Callable[[DaemonEvent], None] | None = None,
                 poll_interval: float | None = None, rng: random.Random | None = None,
                 fence: Fence | None = None):
        # leadership (plugin.leader): consulted before each pass (`_leading`), and checked before
        # every tracker write: the connector every part writes through is guarded by it
        self.fence: Fence = fence or Sole()
        self._term = self.fence.term()  # the epoch the state below was read under
        self.ctx = ctx = DaemonContext(self.fence.guard(connector), procedure, config, journal, clock,
                                       mapping=mapping, metrics=metrics, dry_run=dry_run, on_event=on_event)
        self.tracker = ctx.tracker
        self.journal = journal
        self.clock = clock
        self.metrics = ctx.metrics
        self.poll_interval = poll_interval if poll_interval is not None else config.daemon.poll_interval
        self.schedule = Schedule()
        # read again whatever was read under another mapping (a recreated field has a new id)
        self.cursor = journal.cursor(self.tracker).under(mapping.fingerprint() if mapping else None)
        for due, ticket_id, ref in journal.schedule(self.tracker):
            self.schedule.set(ticket_id, ref, due)
        # the snapshots are kept for those that list incidents from them: the duties, and the status
        # page when one is attached (`keep_snapshots`)
        self.watched = Watched(procedure, config, mapping, open_ids=self.schedule.refs, keep=config.duties.enabled)
        #: per-ticket waits after a refused write (`rng`: the jitter, fixed in tests)
        self.backoff = Backoff(clock, rng)
        outcomes = Outcomes(ctx, self.backoff)
        self.writer = ActionWriter(ctx, self.watched, outcomes)
        self._unsaved: dict[str, tuple[str, datetime | None]] = {}  # schedule rows for the journal
        self._watching = False  # the first pass of this process has recorded its time
        self.metrics.prepare(self.tracker, len(procedure.escalation.targets))
        self.metrics.watched.labels(self.tracker).set(len(self.watched.open))
        self._wake = threading.Event()
        self._requested: dict[str, None] = {}  # ticket ids named by webhooks, in arrival order
        self._requested_lock = threading.Lock()
        self._next_poll: datetime | None = None  # None: poll at once
        self._backoff = 0.0
        status = config.status_page
        self.health = Health(self.tracker, clock, max_pass_age=status.max_pass_age or max(3 * self.poll_interval, 60.0))
        self.passes = 0  # successful passes, for the demo and tests
        #: the role directory's people by display name, for what a person reads (`name_people`)
        self.names: dict[str, str] = {}
        self._naming = False
        self.duties = DutyRunner(ctx, self.watched, self._read_one, outcomes) if config.duties.enabled else None

    # -- what others may look at ------------------------------------------------------------
    @property
    def watch_from(self) -> datetime | None:
        """Changes before this are history (the config's, else the first pass's)."""
        return self.ctx.watch_from

    @property
    def snapshots(self) -> dict[str, Incident]:
        """The latest snapshot of every watched ticket read."""
        return self.watched.snapshots

    @property
    def on_event(self) -> Callable[[DaemonEvent], None] | None:
        return self.ctx.on_event

    @on_event.setter
    def on_event(self, hook: Callable[[DaemonEvent], None] | None) -> None:
        self.ctx.on_event = hook

    @property
    def stopping(self) -> bool:
        return self.ctx.stopping

    def keep_snapshots(self) -> None:
        """Keep a snapshot of every watched ticket read from now on (compact, `plugin.watched`), for a
        part that lists open incidents (the status page). Asked before the first pass (`escalator
        run` attaches its page first), so the first read fills them; a ticket read before the ask
        is listed once it is read again (as after a restart, which reads only what changed)."""
        self.watched.keep = True

    def name_people(self) -> None:
        """Learn the display name of everyone the role directory names (`names`), for a part that
        shows people to a person (the status page: a Jira Cloud accountId says nothing). Asked of
        the tracker in the daemon's own thread, after a pass, once per person for the daemon's life
        (one whose look-up fails keeps its id): an idle pass stays one call."""
        self._naming = True

    def open_incidents(self) -> list[Incident]:
        """The open incidents as last read (the status page asks from its own thread)."""
        return self.watched.open_snapshots()  # copies taken first: the loop may be changing them

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
        self.ctx.request_stop()
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        self.ctx.log(logging.INFO, "daemon.started", dry_run=self.ctx.dry_run, watched=len(self.watched.open),
                     deadlines=len(self.schedule))
        while not self.stopping:
            wait = self.cycle()
            if self.stopping:
                break
            self.clock.wait(self._wake, wait)
        self.ctx.log(logging.INFO, "daemon.stopped")

    def cycle(self) -> float:
        """One pass with failure handling; returns how long to sleep, in clock seconds."""
        self._wake.clear()
        try:
            if not self._leading():
                return self.fence.poll_seconds * self.clock.rate
        except Fenced as exc:  # the journal cannot be read back: not yet
            self.ctx.log(logging.WARNING, "daemon.fenced", error=str(exc))
            return self._back_off()
        now = self.clock.now()
        poll = self._next_poll is None or now >= self._next_poll
        if self.duties is not None and not poll:
            poll = self.duties.time_has_come(now)  # a duty lists what the tracker says now: read first
        refused_before = self.metrics.refused_total(self.tracker)
        try:
            stats = self.run_pass(poll=poll)
        except Fenced as exc:
            # the lead is lost or lapsing, or the journal cannot be reached: stop here, as a crash
            # would; the next cycle stands by, or goes on when the journal is back under the lease
            self.ctx.log(logging.WARNING, "daemon.fenced", error=str(exc))
            return self._back_off()
        except TRACKER_DOWN as exc:
            self.health.failed("unreachable", str(exc))
            return self._back_off()
        except AuthError as exc:
            # a revoked token (or a read the account may no longer make): no pass succeeds until a person
            # acts, but an exit would only be a restart loop under a service manager; say so, retry
            self.health.failed("refused", str(exc))
            return self._back_off()
        except Exception as exc:  # noqa: BLE001 - a bug in one pass must not end the daemon
            log.exception("daemon.pass-failed %s", exc, extra={"event": "daemon.pass-failed",
                                                              "fields": {"tracker": self.tracker, "error": str(exc)}})
            return self._back_off()
        self._backoff = 0.0
        self.passes += 1
        if self.passes == 1:
            self.ctx.log(logging.INFO, "daemon.ready", watched=len(self.watched.open), deadlines=len(self.schedule),
                         watch_from=self.watch_from.isoformat() if self.watch_from else None)
        unreadable = sum(1 for e in stats.events if e.kind == "unreadable")
        refused = stats.errors + int(self.metrics.refused_total(self.tracker) - refused_before)  # given up
        self.health.passed(read=stats.read, due=stats.due, done=len(stats.events) - unreadable, refused=refused,
                           unreadable=unreadable, next_deadline=self.schedule.next(), watched=len(self.watched.open))
        now = self.clock.now()
        if poll and not self.stopping:
            self._next_poll = now + timedelta(seconds=self.poll_interval * self.clock.rate)
        return self.seconds_to_sleep(now)

    def _leading(self) -> bool:
        """The leadership hook: may this daemon act now? A standby reads and writes nothing
        (webhook wake-ups are dropped: the leader's own poll reads those tickets)."""
        term = self.fence.term()
        if term is None:
            with self._requested_lock:
                self._requested.clear()
            self.health.standing_by(self.fence.leader_text())
            return False
        if term != self._term:
            self._begin_term()
            self._term = term
        return True

    def _begin_term(self) -> None:
        """This daemon has just taken the lead: another leader may have moved on since it read
        the journal, so what it keeps is read again, as at a start."""
        journal = self.ctx.journal
        self.cursor = journal.cursor(self.tracker).under(self.ctx.mapping.fingerprint() if self.ctx.mapping else None)
        due = journal.schedule(self.tracker)
        watch_from = self.ctx.config.daemon.watch_from or journal.watch_from(self.tracker)
        self.schedule = Schedule()
        for at, ticket_id, ref in due:
            self.schedule.set(ticket_id, ref, at)
        # the same objects the writer and the duties hold, emptied: their snapshots are the old term's
        self.watched.snapshots.clear()
        self.watched.complete = False
        self.watched.open = set(self.schedule.refs)
        self.ctx.watch_from = watch_from
        self._watching = False
        self._unsaved.clear()
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
        ctx = self.ctx
        if not self._watching:
            # the first pass ever is recorded once and never moved (a dry run writes nothing: it keeps
            # it in memory); what happened before it is history
            recorded = ctx.journal.watch_from(self.tracker) if ctx.dry_run \
                else ctx.journal.start_watching(self.tracker, now)
            ctx.watch_from = ctx.watch_from or recorded or now
            self._watching = True
        try:
            self._pass(now, poll, stats)
            if self._naming and not self.stopping:
                self._learn_names()
        finally:
            self.ctx.forget_markers()  # what the next pass acts on, it reads again
            self._save_schedule()  # what this pass learnt, in one transaction, even when it ends early
        self.metrics.watched.labels(self.tracker).set(len(self.watched.open))
        return stats

    def _learn_names(self) -> None:
        """`names` for the role holders not named yet (`name_people`)."""
        for user in self.ctx.config.roles.everyone():
            if user in self.names:
                continue
            try:
                name = self.ctx.connector.person(user).name
            except TRACKER_DOWN:
                return  # asked again after the next pass
            except TrackerError as exc:
                if isinstance(exc, AuthError) and exc.status == 401:
                    return  # the token is refused: the next pass says so, and this is asked again after it
                # refused for good (e.g. a profile the token may not see): shown by the id
                self.ctx.log(logging.WARNING, "daemon.person-unknown", user=user, error=str(exc))
                name = None
            self.names[user] = name or user

    def _pass(self, now: datetime, poll: bool, stats: PassStats) -> None:
        ctx = self.ctx
        # what is read streams through `_take`: a ticket with nothing to do now is scheduled and let go
        # at once, so memory holds the tickets with work, not the whole read (a first pass reads them all)
        #: ids taken this pass, with the `updated` of the read acted on
        taken: dict[str, datetime] = {}
        planned: list[tuple[Incident, Decision]] = []
        # 1. known deadlines that have come; 2. tickets named by webhooks (each re-read)
        with self._requested_lock:
            requested = list(self._requested)
        for ticket_id in [t for _, t in self.schedule.due(now)] + requested:
            if self.stopping:
                return
            if ticket_id not in taken:
                item = self._read_one(ticket_id)
                if item is not None and item.id not in taken:
                    taken[item.id] = item.updated_at
                    self._take(item, planned, stats)
            with self._requested_lock:
                self._requested.pop(ticket_id, None)  # a webhook arriving after this read names it again
        # 3. everything changed since the cursor
        cursor = None
        if poll and not self.stopping:
            cursor = self.cursor.copy()
            for item in ctx.connector.read_changed(cursor):
                if self.stopping:
                    return  # the cursor stays: the rest is read again next time
                # a ticket read above is as fresh, unless a person changed it since: the cursor now
                # counts the later version as seen, so that is the one to decide on (its notes'
                # markers, kept from the earlier read, go with it: the escalation reads them anew)
                earlier = taken.get(item.id)
                if earlier is None or item.updated_at > earlier:
                    if earlier is not None:
                        planned[:] = [p for p in planned if p[0].id != item.id]
                        ctx.take_markers(item.id)
                        stats.read -= 1  # one ticket, read twice
                    taken[item.id] = item.updated_at
                    self._take(item, planned, stats)
        # all of it in one order: the most urgent escalation first, whichever ticket it is on
        if not self._carry_out(planned, stats):
            return  # stopped: the cursor stays, the rest is read again next time
        if cursor is not None:
            full = self.cursor.since is None
            self.cursor = cursor
            self.watched.complete = self.watched.complete or full
            if not ctx.dry_run:
                ctx.journal.save_cursor(self.tracker, cursor)
        # 4. the duties whose time has come (after the read: they list the tickets as they are now;
        #    a duty's time forces a read, see `cycle`)
        if poll and self.duties is not None and not self.stopping:
            self.duties.run(now, stats)
            self.duties.trends(now, stats)

    def _read_one(self, ticket_id: str) -> Incident | Unreadable | None:
        """A fresh read of one ticket (with the markers of its notes, for the marker check of its first
        action, see `DaemonContext.take_markers`); None when it is gone or the tracker refuses it (logged)."""
        try:
            read = self.ctx.connector.read_fresh(ticket_id)
            self.ctx.keep_markers(read.item.id, read.markers)
            return read.item
        except NotFound:
            self.ctx.log(logging.WARNING, "daemon.ticket-gone", ticket=ticket_id)
            self._set_due(ticket_id, ticket_id, None)
            self.watched.forget(ticket_id)
            return None
        except (TRACKER_DOWN + (AuthError,)):
            raise
        except TrackerError as exc:
            self.ctx.log(logging.ERROR, "daemon.read-failed", ticket=ticket_id, error=str(exc))
            self.schedule.set(ticket_id, self.schedule.refs.get(ticket_id, ticket_id), self._soon())
            return None

    def _plan(self, item: Incident | Unreadable) -> tuple[Incident | Unreadable, Decision | None]:
        """Resolve the contract and approvers, and ask the procedure what is due."""
        resolved = self.watched.remember(item)
        if resolved is None:
            # e.g. a webhook for a project the escalator does not watch: not ours to judge
            return item, _NOTHING
        if isinstance(resolved, Unreadable):
            return resolved, None
        try:
            decision = decide(resolved, self.ctx.procedure, self.clock.now(), self.ctx.approvers(resolved),
                              watch_from=self.watch_from, holders=self.ctx.holders(resolved))
            levels = self.ctx.level_memory(resolved, decision)  # a level field that lost its value (mapping.level)
            if levels is not None:
                decision = decide(resolved, self.ctx.procedure, self.clock.now(), self.ctx.approvers(resolved),
                                  watch_from=self.watch_from, holders=self.ctx.holders(resolved), levels=levels)
        except (ValueError, LookupError) as exc:
            bad = Unreadable(tracker=resolved.tracker, id=resolved.id, ref=resolved.ref,
                             updated_at=resolved.updated_at, reason=f"the procedure cannot judge it: {exc}")
            return bad, None
        return resolved, decision

    def _take(self, item: Incident | Unreadable, planned: list[tuple[Incident, Decision]], stats: PassStats) -> None:
        """One ticket read this pass: judged at once. One with something to do now (an action, a problem
        record) joins `planned`, carried out in urgency order once the read is over; any other — most of
        a first pass — gets its next deadline scheduled and is let go."""
        stats.read += 1
        resolved, decision = self._plan(item)
        if isinstance(resolved, Unreadable) or decision is None:
            self.metrics.unreadable.labels(self.tracker).inc()
            self.ctx.log(logging.WARNING, "daemon.ticket-unreadable", ticket=resolved.ref, reason=resolved.reason)
            self.ctx.event(resolved.ref, "unreadable", resolved.reason, stats)
            self._set_due(resolved.id, resolved.ref, None)
            return
        stats.due += len(decision.actions)
        # a ticket whose writes wait out a back-off: nothing on it now, looked at again when it ends
        until = self.backoff.waiting_until(resolved.id, self.clock.now())
        if until is None and (decision.actions or (self.duties is not None and decision is not _NOTHING
                                                   and self.duties.problem_due(resolved))):
            planned.append((resolved, decision))
        else:
            self._schedule_next(resolved, decision, until)

    def _carry_out(self, planned: list[tuple[Incident, Decision]], stats: PassStats) -> bool:
        """Carry out what is due on the `planned` tickets, the most urgent action first; False when
        stopped half-way."""
        look_again: dict[str, datetime] = {}  # tickets with something left to do, and when
        waiting: set[str] = set()  # tickets whose writes wait out a back-off: nothing more on them now
        queue = sorted((urgency(action, item), i, j) for i, (item, decision) in enumerate(planned)
                       for j, action in enumerate(decision.actions))
        for _, i, j in queue:
            if self.stopping:
                return False  # the next run re-reads these tickets; the markers make that safe
            item, decision = planned[i]
            if item.id in waiting:
                continue
            action = decision.actions[j]
            try:
                self.writer.act(action, item, stats)
                stats.acted += 1
            except RetryLater as later:
                # this ticket waits (its other actions too: they would meet the same tracker); the others go on
                waiting.add(item.id)
                look_again[item.id] = max(later.until, look_again.get(item.id, later.until))
            except NotNow:
                # half done (logged): the next run finishes it, the marker keeps the note single
                look_again.setdefault(item.id, self._soon())
            except Exception as exc:  # noqa: BLE001 - sorted below
                self._failed(exc, item, action.kind, action.marker, stats)
                look_again.setdefault(item.id, self._soon())
        for item, decision in planned:
            if self.stopping:
                return False
            if self.duties is not None and decision is not _NOTHING and item.id not in waiting:
                try:
                    self.duties.problem(item, stats)
                except RetryLater as later:
                    look_again[item.id] = max(later.until, look_again.get(item.id, later.until))
                except Exception as exc:  # noqa: BLE001 - sorted below
                    self._failed(exc, item, "problem-record", "problem-record", stats)
                    look_again.setdefault(item.id, self._soon())
            self._schedule_next(item, decision, look_again.get(item.id))
        return True

    def _schedule_next(self, item: Incident, decision: Decision, again: datetime | None) -> None:
        """The ticket's next look: its next deadline, or sooner when something on it is left to do."""
        due = decision.next_deadline
        if again is not None:
            due = min(due, again) if due else again
        else:
            self.backoff.forget(item.id)  # nothing of it waits
        self._set_due(item.id, item.ref, due)

    def _failed(self, exc: Exception, item: Incident, kind: str, marker: str, stats: PassStats) -> None:
        """An action that failed otherwise than by a settled refusal: the tracker down or a revoked token
        ends the pass (`cycle` backs off); anything else is reported and looked at again soon."""
        if isinstance(exc, TRACKER_DOWN) or (isinstance(exc, AuthError) and exc.status == 401):
            raise exc
        if not isinstance(exc, TrackerError | Refused):
            raise exc  # a bug: the pass fails (logged by `cycle`)
        stats.errors += 1
        self.metrics.action_errors.labels(self.tracker).inc()
        self.ctx.log(logging.ERROR, "daemon.action-failed", ticket=item.ref, action=kind, marker=marker,
                     error=str(exc))

    def _soon(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.poll_interval * self.clock.rate)

    def _set_due(self, ticket_id: str, ref: str, due: datetime | None) -> None:
        # a dry run keeps its schedule in memory (so it does not report the same thing every
        # cycle) and writes nothing to the journal
        self.schedule.set(ticket_id, ref, due)
        if not self.ctx.dry_run:
            self._unsaved[ticket_id] = (ref, due)
            if len(self._unsaved) >= self.SAVE_EVERY:
                self._save_schedule()  # a long pass's schedule in batches: what waits to be saved stays small

    def _save_schedule(self) -> None:
        if self._unsaved:
            self.ctx.journal.set_due_many(self.tracker, [(t, ref, due) for t, (ref, due) in self._unsaved.items()])
            self._unsaved.clear()


def urgency(action: Action, incident: Incident) -> tuple[int, int, datetime]:
    """The order of work under pressure (§4.2.3, the more urgent first): by severity, then deadline,
    per escalation — not ticket by ticket. A restore goes first within its severity (the ticket's
    escalations are counted on the restored severity); flags, which have no deadline, last."""
    if isinstance(action, Escalate | WarnBeforeBreach):
        return action.severity, 1, action.deadline
    if isinstance(action, RepeatEscalation):
        return incident.severity or 5, 1, action.due
    if isinstance(action, RestoreSeverity):
        return action.to, 0, action.lowered_at
    return incident.severity or 5, 2, _FAR
