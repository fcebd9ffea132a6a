"""An in-memory tracker that satisfies `connectors.base.Connector` faithfully.

It keeps what a real tracker keeps: the ticket's fields and history, its notes (with
the escalator's marker text, searched before writing, like the real connectors), the
people notified, and an `updated` stamp that every write
moves (so the daemon's own writes come back in the next incremental read, as on Jira
and Zammad). Faults are injected per call name: a crash (`SimulatedCrash`, which no
code catches: the process "dies" there), or the tracker being down (`Unreachable`).
A person's edit can be slipped in just before a named call (`before`), e.g. between
the daemon's read and its write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import Cursor, ReadResult, RecordSpec, marker_text, record_label
from connectors.factory import connector_class
from connectors.http import Conflict, NotFound, Unreachable
from mapping.incident import EscalationRecord, Incident, SeverityChange, StateChange, Unreadable

ESCALATOR = "escalator-bot"


class SimulatedCrash(BaseException):
    """The daemon process dies here (BaseException: nothing in the daemon catches it)."""


@dataclass
class Note:
    text: str
    marker: str
    at: datetime
    public: bool = False


@dataclass
class Ticket:
    incident: Incident
    notes: list[Note] = field(default_factory=list)
    notified: list[tuple[list[str], str]] = field(default_factory=list)
    unreadable: str | None = None  # a reason: the ticket reads as Unreadable


@dataclass
class Filed:
    """A ticket the escalator filed (a problem record or a task), with its label and links."""

    ref: str
    label: str
    title: str
    text: str
    spec: RecordSpec
    assignee: str | None = None
    linked_to: list[str] = field(default_factory=list)  # incident ids


class FakeTracker:
    """The tracker's state, shared by any number of `FakeConnector`s (e.g. two daemons)."""

    def __init__(self, clock, tracker: str = "jira"):
        self.clock = clock
        self.tracker = tracker
        self.tickets: dict[str, Ticket] = {}
        self.calls: list[tuple[str, str]] = []
        self.crash_on: dict[str, int] = {}  # call name -> crash at the n-th call from now (1 = next)
        self.down = False
        self.refuse: dict[str, int] = {}  # call name -> answer Conflict this many times
        self.before: dict[str, Callable[[], object]] = {}  # call name -> run once, just before that call
        self.filed: list[Filed] = []  # problems and tasks, in creation order
        self.problem_of: dict[str, str] = {}  # incident id -> problem ref (the incident's own record)

    # -- test helpers ----------------------------------------------------------------------
    def add(self, incident: Incident) -> Incident:
        self.tickets[incident.id] = Ticket(incident)
        return incident

    def ticket(self, ticket_id: str) -> Ticket:
        return self.tickets[ticket_id]

    def update(self, ticket_id: str, **changes) -> Incident:
        """A human edit: changes fields and moves `updated`."""
        t = self.tickets[ticket_id]
        t.incident = t.incident.model_copy(update={**changes, "updated_at": self._stamp(t)})
        return t.incident

    def notes_with(self, ticket_id: str, marker: str) -> list[Note]:
        return [n for n in self.tickets[ticket_id].notes if n.marker == marker]

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def _stamp(self, t: Ticket) -> datetime:
        # every write moves `updated` strictly forward, even with a frozen clock
        now = self.clock.now()
        return max(now, t.incident.updated_at + timedelta(milliseconds=1))

    def _call(self, name: str, ticket_id: str = "") -> None:
        self.calls.append((name, ticket_id))
        if name in self.before:
            self.before.pop(name)()
        if self.down:
            raise Unreachable(f"{self.tracker}: connection failed after 5 attempts", method="GET", path="/")
        if name in self.crash_on:
            self.crash_on[name] -= 1
            if self.crash_on[name] == 0:
                del self.crash_on[name]
                raise SimulatedCrash(name)
        if self.refuse.get(name):
            self.refuse[name] -= 1
            raise Conflict(f"{self.tracker}: PUT /x: HTTP 400: refused", status=400)


class FakeConnector:
    """One daemon's connection to a `FakeTracker`."""

    def __init__(self, tracker: FakeTracker):
        self.t = tracker
        self.tracker = tracker.tracker
        # what the real connector of this tracker says of it
        self.container_key = connector_class(self.tracker).container_key
        self.label_term = connector_class(self.tracker).label_term
        self.closed = False

    def _read(self, ticket: Ticket) -> ReadResult:
        inc = ticket.incident
        if ticket.unreadable:
            return Unreadable(tracker=inc.tracker, id=inc.id, ref=inc.ref, reason=ticket.unreadable,
                              updated_at=inc.updated_at)
        return inc

    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        self.t._call("search")
        since = cursor.query_from()
        page = sorted((t for t in self.t.tickets.values() if since is None or t.incident.updated_at >= since),
                      key=lambda t: (t.incident.updated_at, t.incident.id))
        for ticket in page:
            inc = ticket.incident
            if not cursor.is_new(inc.id, inc.updated_at):
                continue
            yield self._read(ticket)
            cursor.advance(inc.id, inc.updated_at)

    def read_one(self, ticket_id: str) -> ReadResult:
        self.t._call("read_one", ticket_id)
        if ticket_id not in self.t.tickets:
            raise NotFound(f"{self.tracker}: GET /ticket/{ticket_id}: HTTP 404 not found", status=404)
        return self._read(self.t.tickets[ticket_id])

    def _write(self, incident: Incident, **changes) -> None:
        t = self.t.tickets[incident.id]
        t.incident = t.incident.model_copy(update={**changes, "updated_at": self.t._stamp(t)})

    def set_severity(self, incident: Incident, severity: int) -> None:
        self.t._call("set_severity", incident.id)
        cur = self.t.tickets[incident.id].incident
        history = (*cur.severity_history, SeverityChange(at=self.t.clock.now(), by=ESCALATOR, severity=severity))
        self._write(incident, severity=severity, severity_history=history)

    def set_escalation_level(self, incident: Incident, level: int) -> None:
        self.t._call("set_escalation_level", incident.id)
        cur = self.t.tickets[incident.id].incident
        records = (*cur.escalations, EscalationRecord(at=self.t.clock.now(), by=ESCALATOR, level=level))
        self._write(incident, escalation_level=level, escalations=records)

    def set_state(self, incident: Incident, state: int) -> bool:
        self.t._call("set_state", incident.id)
        cur = self.t.tickets[incident.id].incident
        if cur.state == state:
            return True
        history = (*cur.state_history, StateChange(at=self.t.clock.now(), by=ESCALATOR, state=state))
        self._write(incident, state=state, state_history=history)
        return True

    def has_marker(self, incident: Incident, marker: str) -> bool:
        self.t._call("has_marker", incident.id)
        return any(marker_text(marker) in n.text for n in self.t.tickets[incident.id].notes)

    def add_note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        if self.has_marker(incident, marker):
            return False
        self.t._call("add_note", incident.id)
        ticket = self.t.tickets[incident.id]
        ticket.notes.append(Note(f"{text}\n{marker_text(marker)}", marker, self.t.clock.now(), public))
        self._write(incident)
        return True

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        self.t._call("notify", incident.id)
        self.t.tickets[incident.id].notified.append((list(people), subject))

    def find_problem(self, incident: Incident) -> str | None:
        self.t._call("find_problem", incident.id)
        return self.t.problem_of.get(incident.id)

    def create_problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        label = record_label("problem", incident.ref)
        filed = next((f for f in self.t.filed if f.label == label), None)
        if filed is None:
            self.t._call("create_problem", incident.id)
            filed = Filed(f"PRB-{len(self.t.filed) + 1}", label, title, text, spec)
            self.t.filed.append(filed)
        self.t._call("link", incident.id)
        if incident.id not in filed.linked_to:
            filed.linked_to.append(incident.id)
        self.t._call("record_problem", incident.id)
        self.t.problem_of[incident.id] = filed.ref
        return filed.ref

    def find_task(self, label: str) -> str | None:
        self.t._call("find_task", label)
        return next((f.ref for f in self.t.filed if f.label == label), None)

    def create_task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        self.t._call("create_task", label)
        filed = Filed(f"TASK-{len(self.t.filed) + 1}", label, title, text, spec, assignee)
        self.t.filed.append(filed)
        return filed.ref

    def close(self) -> None:
        self.closed = True
