"""What the daemon's parts share: one tracker's services, the stop flag, the log and the events.

The daemon is three parts that never reach into one another: `plugin.daemon.Daemon`
(the loop and the pass), `plugin.writers.ActionWriter` (the writes of one action) and
`plugin.duty_runner.DutyRunner` (duties on a clock, problem records). Each is built on
one `DaemonContext` — the connector, the procedure, the config, the journal, the clock,
the metrics, whether this is a dry run, when the escalator started to watch — and on
`plugin.watched.Watched` (what the daemon knows of the tickets). Every tracker write goes
through `DaemonContext.writes` (`plugin.writes.TrackerWrites`), the one gate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connectors.base import Connector, Person
from connectors.http import TrackerError
from mapping.actions import Escalate
from mapping.decide import Decision
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident
from mapping.level import LevelMemory
from mapping.procedure import Procedure
from plugin.clock import Clock
from plugin.config import Config
from plugin.journal import Journal
from plugin.metrics import Metrics
from plugin.writes import TrackerWrites

#: one logger for the whole daemon: its events are its output
log = logging.getLogger("escalator.daemon")


@dataclass(frozen=True)
class DaemonEvent:
    """One write (or would-be write) the daemon made, for the demo and for tests."""

    tracker: str
    ref: str
    kind: str  # escalated | severity-restored | transition-flagged | record-incomplete | unreadable | duty-...
    summary: str
    at: datetime
    dry_run: bool = False


@dataclass
class PassStats:
    read: int = 0
    due: int = 0  # actions the procedure asked for
    acted: int = 0
    errors: int = 0
    events: list[DaemonEvent] = field(default_factory=list)


class DaemonContext:
    """The services of one daemon (one tracker), shared by its parts."""

    def __init__(self, connector: Connector, procedure: Procedure, config: Config, journal: Journal, clock: Clock,
                 *, mapping: TrackerMapping | None = None, metrics: Metrics | None = None, dry_run: bool = False,
                 on_event: Callable[[DaemonEvent], None] | None = None):
        self.connector = connector
        self.tracker: str = connector.tracker
        self.procedure = procedure
        self.config = config
        self.journal = journal
        self.clock = clock
        self.mapping = mapping
        self.metrics = metrics or Metrics()
        self.dry_run = dry_run
        self.on_event = on_event
        self.writes = TrackerWrites(connector)
        #: changes before this are history, not flagged: the config's, else the first pass's (journal);
        #: set by the daemon's first pass when neither is known yet
        self.watch_from: datetime | None = config.daemon.watch_from or journal.watch_from(self.tracker)
        self._stop = threading.Event()
        #: ticket id -> the markers of the `read_fresh` the pass made of a due ticket, and of the notes
        #: the pass wrote on it since (`take_markers`)
        self._markers: dict[str, frozenset[str]] = {}

    # -- fresh reads ------------------------------------------------------------------------
    def keep_markers(self, ticket_id: str, markers: frozenset[str]) -> None:
        """The markers of the notes on this ticket: as the pass read it with `read_fresh` to decide on
        it, or as an action left them (the markers it read, and its own note's once written: one
        daemon writes to a tracker, so no other marker appears meanwhile)."""
        self._markers[ticket_id] = markers

    def take_markers(self, ticket_id: str) -> frozenset[str] | None:
        """The markers kept for this ticket, once (the action taking them keeps them again if it
        knows them after its writes); None when the pass did not read it this way. They stand only
        for the marker check before a notification — never for the read before a value write, which
        is always made anew (`plugin.writers.ActionWriter.fresh_read`): a person's edit in between
        is theirs."""
        return self._markers.pop(ticket_id, None)

    def forget_markers(self) -> None:
        self._markers.clear()

    # -- stopping ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Finish the write in flight, start no other."""
        return self._stop.is_set()

    # -- who --------------------------------------------------------------------------------
    def people(self, role: str, incident: Incident) -> list[str]:
        """The people who hold `role` for this incident (the config's role directory)."""
        return self.config.roles.people(role, contract=incident.contract, organisation=incident.organisation,
                                        project=incident.project)

    def holders(self, incident: Incident) -> dict[int, set[str]]:
        """Per escalation level, the people who hold its role for this incident: who may acknowledge it."""
        return {level: set(self.people(role, incident))
                for level, role in enumerate(self.procedure.escalation.targets, start=1)}

    def approvers(self, incident: Incident) -> set[str]:
        """The people whose recorded exception may lower this incident's severity."""
        approvers: set[str] = set()
        for role in self.procedure.downgrade_exception.roles:
            approvers.update(self.people(role, incident))
        return approvers

    def person(self, user: str | None, name: str | None = None) -> Person | None:
        """The person behind a user id, as a note names and mentions them (the tracker's display name,
        else `name` from the ticket's history, else the id); None for no user. A look-up the tracker
        refuses names them by what is known: a note is not held back for a name."""
        if not user:
            return None
        try:
            found = self.connector.person(user)
        except TrackerError as exc:
            self.log(logging.WARNING, "daemon.person-unknown", user=user, error=str(exc))
            found = Person(user)
        return replace(found, name=name) if found.name is None and name else found

    def persons(self, users: Iterable[str]) -> list[Person]:
        return [p for u in users if (p := self.person(u)) is not None]

    # -- what the journal remembers -------------------------------------------------------------
    def level_memory(self, incident: Incident, decision: Decision) -> LevelMemory | None:
        """What the journal says of the ticket's escalation level (`mapping.level`), asked only where a
        level may have been lost: the field reads below a level the ticket's history shows, or the
        timetable finds levels due (a recreated field has no history). None: nothing to remember."""
        if incident.escalation_level >= len(self.procedure.escalation.targets):
            return None
        shown = max((e.level for e in incident.escalations), default=0)
        if shown <= incident.escalation_level and not any(isinstance(a, Escalate) for a in decision.actions):
            return None
        reached, reached_at, back = 0, None, 0
        for entry in self.journal.entries(self.tracker, incident.id):
            if entry.kind == "escalate" and entry.outcome in ("done", "already-done"):
                level = int(entry.detail.get("level") or entry.marker.removeprefix("escalation-L").split("-")[0])
                # on the ticket: written with its note, found there, or the note found (its level with it)
                on_ticket = entry.outcome == "already-done" or entry.detail.get("level_written") \
                    or int(entry.detail.get("level_found") or 0) >= level
                if on_ticket and level >= reached:
                    reached, reached_at = level, entry.at
            elif entry.kind == "restore-level" and entry.outcome == "done":
                back = max(back, int(entry.detail.get("level") or 0))
        return LevelMemory(reached, reached_at, back) if reached else None

    # -- what happened ----------------------------------------------------------------------
    def record(self, ticket_id: str, ref: str, marker: str, kind: str, outcome: str, detail: dict) -> None:
        """An action (or one write of it) in the journal, at the clock's now."""
        self.journal.record(self.tracker, ticket_id, ref, marker, kind, outcome, self.clock.now(), detail)

    def log(self, severity: int, event: str, **fields: Any) -> None:
        """One log line with a stable dotted event name, the tracker always among its fields."""
        fields = {"tracker": self.tracker, **fields}
        log.log(severity, "%s %s", event, " ".join(f"{k}={v}" for k, v in fields.items()),
                extra={"event": event, "fields": fields})

    def event(self, ref: str, kind: str, summary: str, stats: PassStats, dry_run: bool = False) -> None:
        event = DaemonEvent(self.tracker, ref, kind, summary, self.clock.now(), dry_run)
        stats.events.append(event)
        if self.on_event:
            self.on_event(event)
