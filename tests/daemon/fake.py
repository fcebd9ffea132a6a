"""An in-memory tracker that satisfies `connectors.base.Connector` faithfully.

It keeps what a real tracker keeps: the ticket's fields and history, its notes (with
the escalator's marker text, searched before writing, like the real connectors), the
people notified, and an `updated` stamp that every write
moves (so the daemon's own writes come back in the next incremental read, as on Jira
and Zammad). Faults are injected per call name: a crash (`SimulatedCrash`, which no
code catches: the process "dies" there), the tracker being down (`Unreachable`), or a
refusal (`FakeTracker.fail`): an HTTP status answered as `connectors.http.HttpClient`
raises it once its own retries are spent (the error type, the status, the server's
messages, and for 429 the `Retry-After` seconds as `retry_after`), or a timeout — by
default one that *lands*: the write is stored, the answer lost. A person's edit can be
slipped in just before a named call (`before`). `read_fresh` is the one read an action is
carried out from (the ticket with its notes' markers), e.g. between the daemon's read and its
write.

Write calls and what each stands for on a real tracker: `write` (the note with its level,
severity or put-back in one request: Jira PUT /issue or the transition with
`update.comment`, Zammad PUT /tickets/:id with `article`), `add_note` (Jira comment /
Zammad article), `notify` (Jira POST /notify; Zammad the mention), `set_escalation_level`, `set_severity`,
`set_state` (field or property/preferences writes and transitions), `create_problem`
and `link` (inside `create_problem`), `create_task`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import (
    Change,
    Cursor,
    Fresh,
    Person,
    ReadResult,
    RecordSpec,
    marker_text,
    plain,
    record_label,
)
from connectors.factory import connector_class
from connectors.http import (
    AuthError,
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    TrackerError,
    Unreachable,
)
from connectors.writes import write_once
from mapping.incident import (
    EscalationRecord,
    Incident,
    LevelChange,
    SeverityChange,
    StateChange,
    Unreadable,
)

ESCALATOR = "escalator-bot"
#: a part of a combined write -> the value it carries (the note has none: its refusal is the request's)
_PART = {"set_escalation_level": "level", "set_severity": "severity", "set_state": "state"}


class SimulatedCrash(BaseException):
    """The daemon process dies here (BaseException: nothing in the daemon catches it)."""


#: what a real tracker says with each refusal (Jira's body shape: errorMessages), per call where it matters
_MESSAGES = {
    ("notify", 403): "Outgoing mail is disabled.",
    ("notify", 400): "The recipient is the calling user.",
    ("set_state", 400): "Transition is not valid for the issue's current status.",
    ("set_state", 422): "Missing required value for field 'pending_time'!",
}


@dataclass
class Fault:
    """How the tracker answers a call: an HTTP status (after the transport's retries) or "timeout"."""

    answer: int | str
    times: int | None = None  # None: every time
    ticket: str | None = None  # only for this ticket id (or task label); None: every ticket
    retry_after: float | None = None  # 429: the Retry-After header, in seconds
    lands: bool = True  # a timeout: the write was stored before the answer was lost

    def error(self, tracker: str, name: str) -> TrackerError:
        path = f"/fake/{name}"
        if self.answer == "timeout":
            return Unreachable(f"{tracker}: POST {path}: read timeout at http://fake:80 after 1 attempt",
                               method="POST", path=path)
        status = int(self.answer)
        message = _MESSAGES.get((name, status), f"refused with {status}")
        kw = dict(status=status, method="POST", path=path, messages=[message])
        where = f"{tracker}: POST {path}: HTTP {status}"
        if status == 401:
            return AuthError(f"{where}: the token was refused ({message})", **kw)
        if status == 403:
            return AuthError(f"{where}: permission denied ({message})", **kw)
        if status == 404:
            return NotFound(f"{where} not found: {message}", **kw)
        if status == 429:
            exc = RateLimited(f"{where} rate limited after 5 attempts: {message}", **kw)
            exc.retry_after = self.retry_after  # the header's value, as the daemon reads it when present
            return exc
        if status >= 500:
            return ServerError(f"{where} server error after 5 attempts: {message}", **kw)
        return Conflict(f"{where}: {message}", **kw)


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
        self.faults: dict[str, list[Fault]] = {}  # call name -> how it is answered (see `fail`)
        self.before: dict[str, Callable[[], object]] = {}  # call name -> run once, just before that call
        self.filed: list[Filed] = []  # problems and tasks, in creation order
        self.problem_of: dict[str, str] = {}  # incident id -> problem ref (the incident's own record)
        self.names: dict[str, str] = {}  # user id -> display name (none: the notes name the id)

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

    def count(self, name: str, ticket_id: str | None = None) -> int:
        return sum(1 for n, t in self.calls if n == name and (ticket_id is None or t == ticket_id))

    def fail(self, name: str, answer: int | str, *, times: int | None = None, ticket: str | None = None,
             retry_after: float | None = None, lands: bool = True) -> Fault:
        """Answer call `name` with `answer` (an HTTP status or "timeout") `times` times (None: always)."""
        fault = Fault(answer, times, ticket, retry_after, lands)
        self.faults.setdefault(name, []).append(fault)
        return fault

    def _stamp(self, t: Ticket) -> datetime:
        # every write moves `updated` strictly forward, even with a frozen clock
        now = self.clock.now()
        return max(now, t.incident.updated_at + timedelta(milliseconds=1))

    def _call(self, name: str, ticket_id: str = "") -> Fault | None:
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
        fault = next((f for f in self.faults.get(name, ()) if f.ticket in (None, ticket_id) and f.times != 0), None)
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
        if fault.answer == "timeout" and fault.lands:
            return fault  # the caller stores the write, then `answer` loses the reply
        raise fault.error(self.tracker, name)

    def answer(self, late: Fault | None, name: str) -> None:
        """The reply to a write already stored: lost when the fault says so."""
        if late is not None:
            raise late.error(self.tracker, name)


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

    def read_fresh(self, ticket_id: str) -> Fresh:
        # one call, as on Jira (issue + comments + changelog); Zammad's two are one here too
        self.t._call("read_fresh", ticket_id)
        if ticket_id not in self.t.tickets:
            raise NotFound(f"{self.tracker}: GET /ticket/{ticket_id}: HTTP 404 not found", status=404)
        ticket = self.t.tickets[ticket_id]
        return Fresh(self._read(ticket), frozenset(n.marker for n in ticket.notes))

    def write(self, incident: Incident, change: Change) -> bool:
        """The note and its values at once (both or neither, as the trackers' one request); a lost
        answer is looked for by the marker, as the connectors do (`connectors.writes.write_once`)."""
        # a fault injected on a part (the note, the level, the severity) refuses the whole request,
        # as the tracker refuses it whole; counted as a call of that part too
        parts = ["add_note"] + [name for name, value in (("set_escalation_level", change.level),
                                                         ("set_severity", change.severity),
                                                         ("set_state", change.state)) if value is not None]

        def send() -> None:
            late = self.t._call("write", incident.id)
            for part in parts:
                try:
                    late = self.t._call(part, incident.id) or late
                except TrackerError as exc:
                    # the tracker's answer names the value it refused (Jira: errors keyed by its field)
                    exc.part = _PART.get(part)
                    raise
            ticket = self.t.tickets[incident.id]
            cur = ticket.incident
            now = self.t.clock.now()
            changes: dict = {}
            if change.level is not None:
                changes.update(escalation_level=change.level, escalations=(
                    *cur.escalations, EscalationRecord(at=now, by=ESCALATOR, level=change.level)),
                    level_changes=(*cur.level_changes, LevelChange(at=now, by=ESCALATOR, level=change.level)))
            if change.severity is not None:
                changes.update(severity=change.severity, severity_history=(
                    *cur.severity_history, SeverityChange(at=now, by=ESCALATOR, severity=change.severity)))
            if change.state is not None and change.state != cur.state:
                changes.update(state=change.state, state_history=(
                    *cur.state_history, StateChange(at=now, by=ESCALATOR, state=change.state)))
            # a note as readers see it: each mention as the person's name
            ticket.notes.append(Note(f"{plain(change.text)}\n{marker_text(change.marker)}", change.marker, now))
            self._write(incident, **changes)
            self.t.answer(late, "write")

        write_once(send, lambda: change.marker in self.read_fresh(incident.id).markers, tracker=self.tracker,
                   ticket=incident.ref, marker=change.marker)
        return True

    def _write(self, incident: Incident, **changes) -> None:
        t = self.t.tickets[incident.id]
        t.incident = t.incident.model_copy(update={**changes, "updated_at": self.t._stamp(t)})

    def set_severity(self, incident: Incident, severity: int) -> None:
        late = self.t._call("set_severity", incident.id)
        cur = self.t.tickets[incident.id].incident
        history = (*cur.severity_history, SeverityChange(at=self.t.clock.now(), by=ESCALATOR, severity=severity))
        self._write(incident, severity=severity, severity_history=history)
        self.t.answer(late, "set_severity")

    def set_escalation_level(self, incident: Incident, level: int) -> None:
        late = self.t._call("set_escalation_level", incident.id)
        cur = self.t.tickets[incident.id].incident
        records = (*cur.escalations, EscalationRecord(at=self.t.clock.now(), by=ESCALATOR, level=level))
        changes = (*cur.level_changes, LevelChange(at=self.t.clock.now(), by=ESCALATOR, level=level))
        self._write(incident, escalation_level=level, escalations=records, level_changes=changes)
        self.t.answer(late, "set_escalation_level")

    def set_state(self, incident: Incident, state: int) -> bool:
        late = self.t._call("set_state", incident.id)
        cur = self.t.tickets[incident.id].incident
        if cur.state != state:
            history = (*cur.state_history, StateChange(at=self.t.clock.now(), by=ESCALATOR, state=state))
            self._write(incident, state=state, state_history=history)
        self.t.answer(late, "set_state")
        return True

    def has_marker(self, incident: Incident, marker: str) -> bool:
        self.t._call("has_marker", incident.id)
        return any(marker_text(marker) in n.text for n in self.t.tickets[incident.id].notes)

    def add_note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        if self.has_marker(incident, marker):
            return False
        late = self.t._call("add_note", incident.id)
        ticket = self.t.tickets[incident.id]
        ticket.notes.append(Note(f"{plain(text)}\n{marker_text(marker)}", marker, self.t.clock.now(), public))
        self._write(incident)
        self.t.answer(late, "add_note")
        return True

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        # Jira: POST /notify; Zammad: the mention (one write)
        late = self.t._call("notify", incident.id)
        self.t.tickets[incident.id].notified.append((list(people), subject))
        self.t.answer(late, "notify")

    def person(self, user: str) -> Person:
        return Person(user, self.t.names.get(user))

    def find_problem(self, incident: Incident) -> str | None:
        self.t._call("find_problem", incident.id)
        return self.t.problem_of.get(incident.id)

    def create_problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        label = record_label("problem", incident.ref)
        filed = next((f for f in self.t.filed if f.label == label), None)
        if filed is None:
            late = self.t._call("create_problem", incident.id)
            filed = Filed(f"PRB-{len(self.t.filed) + 1}", label, title, text, spec)
            self.t.filed.append(filed)
            self.t.answer(late, "create_problem")
        if incident.id not in filed.linked_to:  # a link made by a run that died before the next step stays
            late = self.t._call("link", incident.id)
            filed.linked_to.append(incident.id)
            self.t.answer(late, "link")
        self.t._call("record_problem", incident.id)
        self.t.problem_of[incident.id] = filed.ref
        return filed.ref

    def link_record(self, incident: Incident, label: str, spec: RecordSpec) -> str:
        filed = next((f for f in self.t.filed if f.label == label), None)
        if filed is None:
            raise Conflict(f"{self.tracker}: nothing filed under {label!r}", status=404)
        if incident.id not in filed.linked_to:
            late = self.t._call("link", incident.id)
            filed.linked_to.append(incident.id)
            self.t.answer(late, "link")
        return filed.ref

    def find_task(self, label: str) -> str | None:
        self.t._call("find_task", label)
        return next((f.ref for f in self.t.filed if f.label == label), None)

    def create_task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        late = self.t._call("create_task", label)
        filed = Filed(f"TASK-{len(self.t.filed) + 1}", label, title, text, spec, assignee)
        self.t.filed.append(filed)
        self.t.answer(late, "create_task")
        return filed.ref

    def close(self) -> None:
        self.closed = True
