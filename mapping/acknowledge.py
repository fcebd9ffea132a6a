"""Acknowledgement of escalations, and the repeats until then (opt-in per contract), pure.

Once management is told, the procedure says nothing of anyone taking it. On-call tools
(PagerDuty's and Opsgenie's escalation policies) notify again until a person
acknowledges; a contract with `acknowledge: {repeat_every: 30m, max_repeats: 3}` does
the same:

- an **escalation** to level N is the moment the level field first reached N or more
  (`incident.escalations`; a level set straight to 3 escalated to levels 1-3 at once);
- an **acknowledgement** is an addition of the acknowledgement label (Jira) / tag
  (Zammad), by a person, at a time (`incident.acknowledgements`). It acknowledges every
  escalation made before it — or up to `ACK_LEAD` after it: the daemon notifies and writes its
  note before it sets the level field, so a quick answer may come first — to a role that
  person holds (`holders`: level -> the
  people of its role, for this incident; None, or nobody named for a level: anyone's
  acknowledgement counts). A later
  escalation needs a later addition: remove the label and add it again;
- until acknowledged, level N's notification is **repeated** every `repeat_every` of
  working time of the contract's calendar (no repeat in the night of a business-hours
  contract) after the escalation, at most `max_repeats` times. Only the latest repeat due is
  given (a daemon that was down sends one, not a burst), each once
  (`RepeatEscalation.marker`); a resolved incident gets none.

`time_to_acknowledge` gives the KPI: per escalation, the working time (the contract's
calendar) until its acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mapping.actions import RepeatEscalation
from mapping.calendar import BusinessCalendar
from mapping.clock import clock_modes
from mapping.escalation import contract_named
from mapping.incident import Acknowledged, Incident
from mapping.procedure import Procedure

Holders = dict[int, set[str]]

#: an acknowledgement covers an escalation recorded this long after it (see the module docstring)
ACK_LEAD = timedelta(minutes=10)


@dataclass(frozen=True)
class EscalationAck:
    """One escalation and its acknowledgement (None: not acknowledged)."""

    level: int
    role: str
    at: datetime
    acknowledged: Acknowledged | None


def escalations_of(incident: Incident, procedure: Procedure, holders: Holders | None = None) -> list[EscalationAck]:
    """Each level escalated to, when, and the acknowledgement that covers it (if any)."""
    targets = procedure.escalation.targets
    first: dict[int, datetime] = {}
    for record in incident.escalations:
        for level in range(1, min(record.level, len(targets)) + 1):
            first.setdefault(level, record.at)
    out = []
    for level in sorted(first):
        people = None if holders is None else holders.get(level) or None  # nobody named: anyone counts
        ack = next((a for a in incident.acknowledgements
                    if a.at + ACK_LEAD >= first[level] and (people is None or a.by in people)), None)
        out.append(EscalationAck(level, targets[level - 1], first[level], ack))
    return out


@dataclass(frozen=True)
class RepeatOutcome:
    due: list[RepeatEscalation]
    next_repeat: datetime | None


def repeats_due(incident: Incident, procedure: Procedure, now: datetime,
                holders: Holders | None = None) -> RepeatOutcome:
    """The repeats due at `now` (one per unacknowledged level at most), and the next one's time."""
    _, contract = contract_named(procedure, incident.contract)
    settings = contract.acknowledge
    if settings is None or clock_modes(procedure, contract)[incident.state_at(now)] == "stopped":
        return RepeatOutcome([], None)
    escalations = [e for e in escalations_of(incident, procedure, holders) if e.at <= now]
    if not escalations:
        return RepeatOutcome([], None)
    calendar = BusinessCalendar.from_config(procedure.calendar_of(contract))
    due: list[RepeatEscalation] = []
    upcoming: datetime | None = None
    for esc in escalations:
        latest: tuple[int, datetime] | None = None
        for k in range(1, settings.max_repeats + 1):
            at = calendar.add(esc.at, settings.repeat_every * k)
            if esc.acknowledged is not None and esc.acknowledged.at <= at:
                break  # acknowledged before this repeat: none from here on
            if at <= now:
                latest = (k, at)
            else:
                upcoming = at if upcoming is None or at < upcoming else upcoming
                break
        if latest is not None:
            due.append(RepeatEscalation(level=esc.level, role=esc.role, escalated_at=esc.at, repeat=latest[0],
                                        of=settings.max_repeats, due=latest[1]))
    return RepeatOutcome(due, upcoming)


def time_to_acknowledge(incident: Incident, procedure: Procedure,
                        holders: Holders | None = None) -> list[tuple[int, timedelta | None]]:
    """(level, SLA time from the escalation to its acknowledgement, None when not acknowledged)."""
    out = []
    for esc in escalations_of(incident, procedure, holders):
        if esc.acknowledged is None:
            out.append((esc.level, None))
            continue
        _, contract = contract_named(procedure, incident.contract)
        calendar = BusinessCalendar.from_config(procedure.calendar_of(contract))
        out.append((esc.level, calendar.measure(esc.at, esc.acknowledged.at)))
    return out
