"""The one small interface the daemon uses, satisfied by the Jira and Zammad connectors.

A connector reads tickets as `mapping.incident.Incident` snapshots (or `Unreadable`
when a value maps to nothing) and carries out writes. It knows nothing of the
procedure's rules: it never decides *whether* to escalate, only *how* to write it.

Idempotency lives partly here: `add_note` takes a marker and writes nothing when a
note with that marker is already on the ticket, so a crash between two writes of one
action, or a second daemon, never produces a duplicate note.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from connectors.preflight import Missing
from mapping.fieldmap import Plan, PlanStep, TrackerMapping
from mapping.incident import Incident, Unreadable

ReadResult = Incident | Unreadable

#: Marker format embedded in every note the escalator writes. Connectors render it
#: invisibly where the tracker allows (an HTML comment in Zammad, an ADF/wiki
#: trailer in Jira) and search comments for it before writing again.
MARKER_PREFIX = "incident-escalator:"


def marker_text(marker: str) -> str:
    return f"[{MARKER_PREFIX}{marker}]"


_MARKERS = re.compile(r"\[" + re.escape(MARKER_PREFIX) + r"([^\]\s\\]+)\\?\]")  # a wiki body escapes the brackets


def markers_in(text: str | None) -> set[str]:
    """The markers of the escalator's notes found in a note body (plain text, HTML or wiki)."""
    return set(_MARKERS.findall(text or ""))


@dataclass(frozen=True)
class Person:
    """Someone a note names: the id the role directory and the ticket's history use (`key`: a Jira
    Cloud accountId, a Jira Data Center user name, a Zammad login), the name people know them by,
    and the id the tracker mentions them by where it is not the key (Zammad's numeric user id).

    A note carries a person as a `mention` token; each connector renders it the tracker's way
    (`connectors.jira.adf`, `connectors.zammad.notes`) and `plain` turns it into the name."""

    key: str
    name: str | None = None
    mention_id: str | None = None

    @property
    def shown(self) -> str:
        """What a reader sees: the display name, else the id (a user the tracker does not know)."""
        return self.name or self.key


# A mention inside a note's text: characters of Unicode's private use area, which no person
# types and no tracker's API needs, around the person's key, mention id and name.
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
_MENTION = re.compile(f"{_OPEN}([^{_SEP}{_CLOSE}]*){_SEP}([^{_SEP}{_CLOSE}]*){_SEP}([^{_CLOSE}]*){_CLOSE}")


def mention(person: Person) -> str:
    """`person` as a mention token in a note's text (rendered by the connector that writes it)."""
    clean = str.maketrans("", "", _OPEN + _SEP + _CLOSE)
    return (f"{_OPEN}{person.key.translate(clean)}{_SEP}{(person.mention_id or '').translate(clean)}{_SEP}"
            f"{(person.name or '').translate(clean)}{_CLOSE}")


def split_mentions(text: str) -> list[str | Person]:
    """A text as runs of plain text and the persons mentioned between them, in order."""
    out: list[str | Person] = []
    at = 0
    for found in _MENTION.finditer(text):
        if found.start() > at:
            out.append(text[at:found.start()])
        key, mention_id, name = found.groups()
        out.append(Person(key, name or None, mention_id or None))
        at = found.end()
    if at < len(text):
        out.append(text[at:])
    return out


def plain(text: str) -> str:
    """A note's text with each mention as the person's name: for an e-mail, a subject, a log."""
    return _MENTION.sub(lambda m: m.group(3) or m.group(1), text)


@dataclass(frozen=True)
class Fresh:
    """One ticket as it is now, with the markers of the escalator's notes on it: what an action
    is decided and written from (`Connector.read_fresh`)."""

    item: ReadResult
    markers: frozenset[str]


@dataclass(frozen=True)
class Change:
    """One atomic write (`Connector.write`): a note carrying `marker`, and the values that land with
    it — both or neither. `state` puts the ticket back into a procedure state."""

    text: str
    marker: str
    level: int | None = None
    severity: int | None = None
    state: int | None = None

    def values(self) -> dict[str, int]:
        return {k: v for k, v in (("level", self.level), ("severity", self.severity), ("state", self.state))
                if v is not None}


#: How far below the overlap window a ticket is still remembered: a JQL date is floored to
#: the minute, so a read may bring back tickets up to a minute older than `query_from`
_MARGIN = timedelta(minutes=1)
#: Up to this many tickets are remembered whatever their age. A read pages from where it
#: started while `since` moves on, and its second pass after a drift (see the connectors'
#: read_changed) asks that query again: what it already yielded must still be known then
KEEP = 1000


@dataclass
class Cursor:
    """Where an incremental read stands.

    `since` moves forward only. Trackers filter on `updated` at coarse granularity
    (Jira JQL dates are minute-precise, in the user's time zone), so a read asks
    from `since - overlap` and drops what it has already seen at the same `updated`.

    `seen` keeps the last `KEEP` tickets, and beyond that only those that can come back:
    updated within the overlap window (and a minute's margin). It is kept in the order the
    tickets were seen (oldest update first, as reads come), so the next to forget is always
    at its front: each ticket costs O(1) to remember and O(1) to forget, however many share
    the window (a bulk edit or an import can put 100,000 in one minute).

    `read_at` is when the last complete read reached the tracker, by the tracker's clock (its
    first search answer's `Date`, `connectors.http.tracker_time`). The overlap is there for
    what a search may not show yet (an index a little behind its writes) and for coarse dates;
    whatever was updated more than `overlap` before a complete read was shown to it. So the
    next read asks from `max(since, read_at) - overlap`: without `read_at` a quiet tracker
    kept every poll paging through the last burst of changes until a newer change moved
    `since` on (1,000 escalations: 10 search pages a poll on Jira); with it, two minutes on,
    a poll is one page again. Both times are the tracker's own, so this host's clock does not
    matter (the tracker's web front and its application servers keep the same time to well
    within the overlap); a tracker that sends no `Date` is read from `since - overlap`, as before.
    """

    since: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)  # ticket id -> updated_at iso, oldest first
    overlap: timedelta = timedelta(minutes=2)
    #: the mapping the reads were made under (`TrackerMapping.fingerprint`): a ticket read under
    #: another one (a field recreated, an option remapped) must be read again, whatever its `updated`
    mapping: str | None = None
    read_at: datetime | None = None

    def __post_init__(self) -> None:
        # a saved cursor or a copy: oldest update first, the order in which they are forgotten
        self.seen = OrderedDict(sorted(self.seen.items(), key=lambda item: datetime.fromisoformat(item[1])))

    def query_from(self) -> datetime | None:
        if self.since is None:
            return None  # nothing read yet: everything
        start = self.since if self.read_at is None else max(self.since, self.read_at)
        return start - self.overlap

    def copy(self) -> Cursor:
        """An independent cursor at the same place (a read moves its copy; the original stays until
        the read is complete)."""
        return replace(self, seen=dict(self.seen))

    def is_new(self, ticket_id: str, updated_at: datetime) -> bool:
        return self.seen.get(ticket_id) != updated_at.isoformat()

    def advance(self, ticket_id: str, updated_at: datetime) -> None:
        seen = self.seen
        seen[ticket_id] = updated_at.isoformat()
        seen.move_to_end(ticket_id)  # an OrderedDict (__post_init__): the newest last
        if self.since is None or updated_at > self.since:
            self.since = updated_at
        # past KEEP, forget what is older than the overlap window: it cannot come back. A
        # ticket seen out of order waits behind a newer one, harmlessly
        floor = self.since - self.overlap - _MARGIN
        while len(seen) > KEEP:
            oldest, at = next(iter(seen.items()))
            if datetime.fromisoformat(at) >= floor:
                break
            del seen[oldest]

    def to_json(self) -> dict:
        return {"since": self.since.isoformat() if self.since else None, "seen": dict(self.seen),
                "mapping": self.mapping, "read_at": self.read_at.isoformat() if self.read_at else None}

    @classmethod
    def from_json(cls, data: dict | None) -> Cursor:
        if not data:
            return cls()
        since = datetime.fromisoformat(data["since"]) if data.get("since") else None
        read_at = datetime.fromisoformat(data["read_at"]) if data.get("read_at") else None
        return cls(since=since, seen=dict(data.get("seen") or {}), mapping=data.get("mapping"), read_at=read_at)

    def under(self, mapping: str | None) -> Cursor:
        """This cursor for reads under `mapping` (a fingerprint): itself, or a fresh one — every ticket
        read again — when it was recorded under another mapping. One recorded before cursors named
        their mapping is taken as this mapping's."""
        if mapping is None or self.mapping in (None, mapping):
            self.mapping = mapping or self.mapping
            return self
        return Cursor(overlap=self.overlap, mapping=mapping)


@dataclass(frozen=True)
class RecordSpec:
    """Where the escalator files a ticket of its own: a problem record or the weekly call-back task.

    `container` is the Jira project key or the Zammad group name (None: the incident's own);
    `issue_type` and `link_type` are Jira's (the link type None: "Problem/Incident" where
    Jira Service Management has it, else "Relates"); Zammad links with its `normal` type.
    """

    container: str | None = None
    issue_type: str = "Problem"
    link_type: str | None = None


def record_label(kind: str, key: str) -> str:
    """The label (Jira) or tag (Zammad) that names what a ticket the escalator created is for:
    searched before creating again, so a crash between two writes never makes a second one."""
    return f"incident-escalator-{kind}-{key}".replace(" ", "_")


@runtime_checkable
class Connector(Protocol):
    """What the daemon needs from a tracker."""

    tracker: str  # "jira" | "zammad"
    #: the duty settings' key naming where the escalator files its own tickets ("project" | "group")
    container_key: str
    #: the tracker's word for a label, by note language ("zh", "en")
    label_term: dict[str, str]

    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        """Tickets updated since the cursor (all on a fresh cursor), with their history.

        Advances `cursor` as it yields; tickets already seen at the same `updated`
        are skipped before their history is fetched.
        """

    def read_one(self, ticket_id: str) -> ReadResult:
        """One ticket, by internal id or key, with its history."""

    def read_fresh(self, ticket_id: str) -> Fresh:
        """One ticket with its history and the markers of its notes, in as few calls as the tracker
        allows (one on both: Jira GET /issue, Zammad GET /ticket_history): what an action is carried out from."""

    def write(self, incident: Incident, change: Change) -> bool:
        """The note and its values in ONE write, atomically: both land or neither. The caller has
        looked for the marker in a `read_fresh` made right before. False (nothing written) when
        the tracker offers no way to `change.state`. A write whose answer was lost is looked for
        by its marker before the error is raised (`connectors.writes.write_once`)."""

    def set_severity(self, incident: Incident, severity: int) -> None: ...

    def set_escalation_level(self, incident: Incident, level: int) -> None: ...

    def set_state(self, incident: Incident, state: int) -> bool:
        """Move to the procedure state; False (and a logged event) when the tracker offers no way."""

    def has_marker(self, incident: Incident, marker: str) -> bool: ...

    def add_note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        """Write a note carrying `marker`; False when such a note already exists."""

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        """Bring the note to these people's attention (Jira notify / Zammad mention)."""

    def person(self, user: str) -> Person:
        """The person a role directory or history id stands for, with the display name the tracker
        knows (asked once per connector, remembered); a user the tracker does not know is named by
        the id."""

    def find_problem(self, incident: Incident) -> str | None:
        """The ref of the problem record linked to the incident by the escalator, or None."""

    def create_problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        """File one problem record for the incident and link them; returns the problem's ref.

        Idempotent: a problem half-made by a crashed run (created, not yet linked) is found
        by its label/tag and finished instead of created again.
        """

    def link_record(self, incident: Incident, label: str, spec: RecordSpec) -> str:
        """Link the incident to the ticket the escalator filed under `label` (a trend's problem); a link
        already there is left as it is. Returns the ticket's ref; TrackerError when there is none."""

    def find_task(self, label: str) -> str | None:
        """The ref of the ticket the escalator created under `label` (see `record_label`), or None."""

    def create_task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        """File a task for a person (e.g. the weekly call-back list); returns its ref."""

    def close(self) -> None: ...


@runtime_checkable
class Provisioner(Protocol):
    """The admin's one-time mapping for one tracker (`escalator mapping plan|apply|check`)."""

    def plan(self) -> Plan:
        """Read the live tracker; say what the procedure needs and what is missing. Writes nothing."""

    def apply(self, plan: Plan, progress: Callable[[PlanStep], None] | None = None) -> tuple[TrackerMapping, list[str]]:
        """Create what the plan says is missing; return the mapping and one line per change made: one per
        step of `plan.changes` (a step's parts — a field, its context, its options — on its one line), so
        the plan's count is the count of what apply made."""

    def check(self, mapping: TrackerMapping) -> list[str]:
        """Compare a mapping file with the live tracker: one line per difference."""

    def preflight(self, mapping: TrackerMapping) -> list[Missing]:
        """What the bot may not do in the mapped projects/groups (connectors/preflight.py)."""
