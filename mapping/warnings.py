"""Warnings before a breach (§5.2.1): which deadlines come soon enough to warn of, pure.

§5.2.1 starts an escalation when an incident "is not, or will not be" repaired within
the SLA (未能或预计未能…修复). The timetable escalates when a deadline passes; a warning
comes before it, while there is still time to act: a note on the ticket and a
notification to the people working the incident (the assignee and the role the
deadline escalates to, as the contract says).

For each level not yet escalated, the contract's `warnings` rule for the incident's
severity puts the warning at a point of SLA time (working time of the contract's
calendar, paused time excluded, like the deadline itself):

- ``share: 0.75`` — once 75 % of the level's allowed time has passed;
- ``lead: 1h`` — one hour of SLA time before the deadline (none when the allowed time is
  not longer than the lead).

A warning is due from that point until the deadline, and never after it: a deadline
that has passed escalates instead (a daemon that was down does not warn of what is
already late). A level due immediately (severity 1) has nothing to warn of. Each
level's warning is given once (`WarnBeforeBreach.marker`), also across restarts; a
severity raised after a warning moves the deadline, but the level's warning is not
repeated. `next_warning` is when the daemon must look again to give the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mapping.actions import WarnBeforeBreach
from mapping.clock import SlaClock, clock_modes
from mapping.escalation import contract_named
from mapping.incident import Incident
from mapping.procedure import Procedure, WarningRule


@dataclass(frozen=True)
class WarningOutcome:
    due: list[WarnBeforeBreach]  # lowest level first
    next_warning: datetime | None  # the earliest future warning time of a level not yet warned of


def warn_point(allowed: timedelta, rule: WarningRule) -> timedelta | None:
    """The SLA time at which to warn of a deadline `allowed` after the report; None: no warning."""
    if allowed <= timedelta(0):
        return None
    if rule.share is not None:
        return allowed * rule.share
    assert rule.lead is not None  # the model insists on one of the two
    return allowed - rule.lead if allowed > rule.lead else None


def warnings_due(incident: Incident, procedure: Procedure, now: datetime) -> WarningOutcome:
    """The warnings due at `now`, and when the next one falls due."""
    severity = incident.severity
    if severity is None:
        return WarningOutcome([], None)
    contract_name, contract = contract_named(procedure, incident.contract)
    rule = contract.warnings.rule_for(severity)
    if rule is None or clock_modes(procedure, contract)[incident.state_at(now)] == "stopped":
        return WarningOutcome([], None)
    done = max([incident.escalation_level, *(e.level for e in incident.escalations)])
    row = procedure.timetable_for(contract)[severity]
    clock = SlaClock(incident, procedure, contract, now)
    due: list[WarnBeforeBreach] = []
    upcoming: datetime | None = None
    for level, role in enumerate(procedure.escalation.targets, start=1):
        if level <= done:
            continue
        point = warn_point(row[role], rule)
        if point is None:
            continue
        warn_at, deadline = clock.reaches(point), clock.reaches(row[role])
        if warn_at is None or deadline is None:
            continue  # the clock stands still (paused): nothing comes nearer
        if now < warn_at:
            upcoming = warn_at if upcoming is None or warn_at < upcoming else upcoming
        elif now < deadline:
            due.append(WarnBeforeBreach(level=level, role=role, deadline=deadline, warn_at=warn_at,
                                        severity=severity, contract=contract_name, allowed=row[role],
                                        left=row[role] - point, notify=contract.warnings.notify))
    return WarningOutcome(due, upcoming)
