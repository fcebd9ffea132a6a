"""Vertical escalation (§5.2): which reports up the ladder are due now, and when the next one is.

Pure: from an incident snapshot, the procedure and `now` to plain `Escalate` actions.

- The timetable of the incident's contract gives, per severity, the SLA time allowed
  before each level is due; the SLA clock (`mapping.clock`) says when that time was,
  or will be, reached. Severity 1 is due at every level at once.
- The current severity counts, from the report time: a severity raised midway can make
  a level due at once (raised 3 → 2 after 5 h: the 4 h project-manager level is late).
- A level already done (the level field, or a recorded escalation) is never due again.
- A manual request (§5.2.1) not yet served — no escalation recorded at or after it —
  escalates one level beyond what was due or done when it was made.
- A resolved incident (clock stopped: 待审核, 已归档) has nothing due.

The timetable alone — each level's due instant for a report time, without an incident —
is `mapping.timetable` (re-exported here), which `escalator deadlines` uses without
loading the incident and action models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mapping.actions import Escalate
from mapping.clock import SlaClock, clock_modes
from mapping.incident import Incident
from mapping.procedure import Procedure
from mapping.timetable import UnknownContract, contract_named, deadlines

__all__ = ["EscalationOutcome", "UnknownContract", "contract_named", "deadlines", "evaluate"]


@dataclass(frozen=True)
class EscalationOutcome:
    due: list[Escalate]  # lowest level first
    next_deadline: datetime | None  # earliest future deadline of a level not done yet


def evaluate(incident: Incident, procedure: Procedure, now: datetime) -> EscalationOutcome:
    """The escalations due at `now`, and the next deadline after it."""
    severity = incident.severity
    if severity is None:
        return EscalationOutcome([], None)
    contract_name, contract = contract_named(procedure, incident.contract)
    if clock_modes(procedure, contract)[incident.state_at(now)] == "stopped":
        return EscalationOutcome([], None)
    clock = SlaClock(incident, procedure, contract, now)
    targets = procedure.escalation.targets
    row = procedure.timetable_for(contract)[severity]
    done = max([incident.escalation_level, *(e.level for e in incident.escalations)])
    top = len(targets)
    # when the clock reached (or will reach) each level's offset
    crossing = {level: clock.reaches(row[role]) for level, role in enumerate(targets, start=1)}

    # manual requests, in order: each one level beyond what was due or done when it was made
    manual: dict[int, datetime] = {}
    for request in incident.manual_requests:
        if request.at > now or any(e.at >= request.at for e in incident.escalations):
            continue
        reached = max((lv for lv, at in crossing.items() if at is not None and at <= request.at), default=0)
        level = max(done, reached, max(manual, default=0)) + 1
        if level > top:
            break
        manual[level] = request.at

    due: list[Escalate] = []
    next_deadline: datetime | None = None
    elapsed = clock.elapsed
    for level, role in enumerate(targets, start=1):
        if level <= done:
            continue
        at = crossing[level]
        if level in manual:
            reason, deadline = "manual", manual[level]
        elif at is not None and at <= now:
            reason, deadline = "timetable", at
        else:
            if at is not None and (next_deadline is None or at < next_deadline):
                next_deadline = at
            continue
        due.append(Escalate(level=level, role=role, deadline=deadline, reason=reason, severity=severity,
                            contract=contract_name, elapsed=elapsed, allowed=row[role]))
    return EscalationOutcome(due, next_deadline)

