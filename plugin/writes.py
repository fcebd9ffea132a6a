"""The one gate every tracker write of the daemon goes through.

Escalations, restores, put-backs, flags, duty deliveries, problem records and
call-back tasks all write through a `TrackerWrites`, never through the connector
directly: one place that names each write (`note` (alone or with its values: `write`), `notify`, `level`, `severity`,
`state`, `problem`, `task`) and where a rule that concerns every write lives: a
tracker's refusal is classified here (`plugin.refusals.classify`) and raised as
`Refused`, so the writers decide what to do with a "no" by its kind, not by the
connector's exception types. A 401 passes through unchanged: it ends the daemon.
Reads go to the connector as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from connectors.base import Change, Connector, RecordSpec
from connectors.http import TrackerError
from mapping.incident import Incident
from plugin.refusals import Refused, classify

T = TypeVar("T")


class TrackerWrites:
    """The connector's write methods, each under the name of the write it makes."""

    def __init__(self, connector: Connector):
        self.connector = connector

    def _send(self, write: str, call: Callable[..., T], *args, **kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except TrackerError as exc:
            refusal = classify(write, self.connector.tracker, exc)
            if refusal is None:
                raise  # 401: the token is refused, not this write
            raise Refused(refusal, exc) from exc

    def note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        """The note, unless one with `marker` is on the ticket (then False)."""
        return self._send("note", self.connector.add_note, incident, text, marker=marker, public=public)

    def write(self, incident: Incident, change: Change) -> bool:
        """The note and its values in one atomic write (`Connector.write`). Refused, it is classified
        as the value the tracker's answer names (`TrackerError.part`: a level field off the screen),
        else as the note: the note is what a refusal of the whole request keeps off the ticket."""
        try:
            return self.connector.write(incident, change)
        except TrackerError as exc:
            part = exc.part if exc.part in change.values() else "note"
            refusal = classify(part, self.connector.tracker, exc)
            if refusal is None:
                raise
            raise Refused(refusal, exc) from exc

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        self._send("notify", self.connector.notify, incident, people, subject, text)

    def level(self, incident: Incident, level: int) -> None:
        self._send("level", self.connector.set_escalation_level, incident, level)

    def severity(self, incident: Incident, severity: int) -> None:
        self._send("severity", self.connector.set_severity, incident, severity)

    def state(self, incident: Incident, state: int) -> bool:
        """False when the tracker offers no way to that state."""
        return self._send("state", self.connector.set_state, incident, state)

    def problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        return self._send("problem", self.connector.create_problem, incident, title, text, spec)

    def task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        return self._send("task", self.connector.create_task, label, title, text, spec, assignee)

    def link(self, incident: Incident, label: str, spec: RecordSpec) -> str:
        return self._send("link", self.connector.link_record, incident, label, spec)
