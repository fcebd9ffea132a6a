"""What must happen to an incident, as plain data: the rules' answers.

The daemon carries these out through a connector. Each action has a `marker`: a
stable key that is written into the note on the ticket, so that the tracker itself
knows the action was done and a restart never does it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def marker(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


class Escalate(_Action):
    """Report the incident to the next rung of the ladder (§5.2)."""

    kind: Literal["escalate"] = "escalate"
    level: int
    role: str
    deadline: datetime
    reason: Literal["timetable", "manual"]
    severity: int
    contract: str
    elapsed: timedelta  # SLA time counted at `now`
    allowed: timedelta  # the timetable's offset for this level

    @property
    def marker(self) -> str:
        return f"escalation-L{self.level}"

    def overdue(self, now: datetime) -> timedelta:
        return max(now - self.deadline, timedelta(0))


class RestoreSeverity(_Action):
    """Put back a severity that was lowered without an approved exception (§4.3.1.2)."""

    kind: Literal["restore-severity"] = "restore-severity"
    to: int
    current: int
    lowered_by: str | None
    lowered_by_name: str | None = None
    lowered_at: datetime

    @property
    def marker(self) -> str:
        return f"severity-restore-{int(self.lowered_at.timestamp())}"


class FlagTransition(_Action):
    """An illegal state change: say so, and put it back where the contract enforces."""

    kind: Literal["flag-transition"] = "flag-transition"
    source: int
    target: int
    at: datetime
    by: str | None
    by_name: str | None = None
    rule: str  # the name of the transition rule broken
    section: str
    revert: bool

    @property
    def marker(self) -> str:
        return f"transition-{self.source}-{self.target}-{int(self.at.timestamp())}"


class FlagIncompleteRecord(_Action):
    """The record lacks facts §4.1.4 requires."""

    kind: Literal["incomplete-record"] = "incomplete-record"
    missing: tuple[str, ...]

    @property
    def marker(self) -> str:
        # one note per ticket: filling some facts later must not bring a second note
        return "record-incomplete"


class WarnBeforeBreach(_Action):
    """A deadline comes soon (§5.2.1 "预计未能…修复"): tell the people working the incident, once."""

    kind: Literal["warn-before-breach"] = "warn-before-breach"
    level: int
    role: str  # the role the deadline escalates to
    deadline: datetime
    warn_at: datetime
    severity: int
    contract: str
    allowed: timedelta  # the timetable's offset
    left: timedelta  # SLA time left before the deadline, at `warn_at`
    notify: tuple[str, ...]  # 'assignee', 'target' and/or role keys, as the contract says

    @property
    def marker(self) -> str:
        return f"warning-L{self.level}"


class RepeatEscalation(_Action):
    """An escalation not acknowledged yet: notify its role again (repeat `repeat` of `of`)."""

    kind: Literal["repeat-escalation"] = "repeat-escalation"
    level: int
    role: str
    escalated_at: datetime
    repeat: int  # 1, 2, ...
    of: int  # the contract's max_repeats
    due: datetime

    @property
    def marker(self) -> str:
        return f"escalation-L{self.level}-repeat-{self.repeat}"


class RestoreLevel(_Action):
    """Write back an escalation level the level field lost while nobody changed it (`mapping.level`)."""

    kind: Literal["restore-level"] = "restore-level"
    level: int  # the level the escalator reached
    found: int  # what the field reads now (0: empty)
    reached_at: datetime  # when the escalator reached `level`

    @property
    def marker(self) -> str:
        # once per ticket and level: a value that does not stay is not written again and again
        return f"level-restore-L{self.level}"


Action = Escalate | RestoreSeverity | FlagTransition | FlagIncompleteRecord | WarnBeforeBreach | RepeatEscalation | RestoreLevel
