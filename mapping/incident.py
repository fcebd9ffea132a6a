"""The incident snapshot: one ticket translated into the procedure's terms.

Connectors build it from a Jira issue or a Zammad ticket and its history; the rules
in `mapping/` read nothing else. Every timestamp is timezone-aware (UTC from the
connectors); histories are sorted oldest first and hold the initial value as their
first entry (the value the ticket was created with, at the report time).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Frozen):
    """Something that happened on the ticket, when, and by whom (tracker user id)."""

    at: AwareDatetime
    by: str | None = None
    by_name: str | None = Field(default=None, description="display name, for notes")


class StateChange(Change):
    state: int = Field(ge=1, le=7)


class SeverityChange(Change):
    severity: int = Field(ge=1, le=4)


class GroupChange(Change):
    """The support group holding the incident changed (assignment history; None = no group)."""

    group: str | None = None


class EscalationRecord(Change):
    """A vertical escalation already carried out (level 1 = project manager ...)."""

    level: int = Field(ge=1)


class LevelChange(Change):
    """A change of the escalation level field in the ticket's history, to `level` (0: emptied)."""

    level: int = Field(ge=0)


class ManualEscalationRequest(Change):
    """A user, the service desk or the support team asked to escalate (§5.2.1)."""

    note: str | None = None


class DowngradeApproval(Change):
    """A recorded exception allowing a severity to be lowered (§4.3.1.2).

    The connector reports who recorded it (e.g. added the approval label/tag) and the
    severity in effect right after; whether that person holds an authorised role is
    decided by the rule, with the role directory the daemon passes in.
    """

    to_severity: int = Field(ge=1, le=4)


class Acknowledged(Change):
    """Someone acknowledged the escalations made so far (added the acknowledgement label/tag).

    Whether that person holds the role escalated to is decided by the rule
    (`mapping.acknowledge`), with the role directory the daemon passes in.
    """


class Incident(_Frozen):
    """One incident as the procedure sees it."""

    tracker: str = Field(description="'jira' or 'zammad'")
    id: str = Field(description="the tracker's internal id")
    ref: str = Field(description="what people call it: PROJ-12, ticket number 31001")
    title: str = ""
    project: str | None = Field(default=None, description="Jira project key / Zammad group")
    organisation: str | None = None
    contract: str | None = Field(default=None, description="contract name, None = the procedure's default")
    reported_at: AwareDatetime
    updated_at: AwareDatetime
    severity: int | None = Field(default=None, ge=1, le=4)
    category: str | None = Field(default=None, description="category code, e.g. '1.2'")
    state: int = Field(ge=1, le=7)
    assignee: str | None = None
    assignee_name: str | None = Field(default=None, description="the assignee's display name, for what people read")
    group: str | None = Field(default=None, description="support group currently holding it")
    escalation_level: int = Field(default=0, ge=0, description="the level field's current value on the tracker")
    state_history: tuple[StateChange, ...] = ()
    severity_history: tuple[SeverityChange, ...] = ()
    escalations: tuple[EscalationRecord, ...] = ()
    level_changes: tuple[LevelChange, ...] = Field(
        default=(), description="every change of the level field the history shows, oldest first")
    manual_requests: tuple[ManualEscalationRequest, ...] = ()
    approvals: tuple[DowngradeApproval, ...] = ()
    acknowledgements: tuple[Acknowledged, ...] = Field(
        default=(), description="additions of the acknowledgement label/tag, oldest first")
    group_history: tuple[GroupChange, ...] = Field(
        default=(), description="support groups over time, the first at the report time (first-line KPI)")
    root_cause_unknown: bool = Field(default=False, description="the mapped root-cause-unknown field is set")
    facts: dict[str, str | None] = Field(
        default_factory=dict,
        description="§4.1.4 record facts by record_fields key; None or '' = missing",
    )

    @model_validator(mode="after")
    def _sorted(self) -> Incident:
        for name in ("state_history", "severity_history", "escalations", "manual_requests", "approvals",
                     "group_history", "acknowledgements", "level_changes"):
            items = getattr(self, name)
            if any(b.at < a.at for a, b in zip(items, items[1:], strict=False)):
                object.__setattr__(self, name, tuple(sorted(items, key=lambda c: c.at)))
        return self

    def state_at(self, when: datetime) -> int:
        """The state the incident was in at `when` (its first known state before that)."""
        current = self.state_history[0].state if self.state_history else self.state
        for change in self.state_history:
            if change.at > when:
                break
            current = change.state
        return current


class Unreadable(_Frozen):
    """A ticket a connector could not translate: reported and skipped, never guessed."""

    tracker: str
    id: str
    ref: str
    reason: str
    updated_at: AwareDatetime | None = None
