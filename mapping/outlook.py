"""What comes next for one open incident: the level reached, the escalations due now, and the
next one ahead — which level, whose role, when.

`mapping.escalation.evaluate` answers the daemon's question (what is due now, and when
to look again); an operator asks which level that next time is for, and why nothing
comes (the clock is paused, no severity is set). Pure: the same rules, asked of the
same snapshot, so what `escalator status` lists is what the daemon will do. The
caller passes the incident with its severity as the daemon counts it (a lowering the
no-downgrade rule restores counts as restored: `mapping.decide`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mapping.clock import SlaClock, clock_modes
from mapping.escalation import contract_named, evaluate
from mapping.incident import Incident
from mapping.procedure import ClockMode, Procedure


@dataclass(frozen=True)
class Step:
    """One escalation: level `level` to the people of `role`, due at `deadline`."""

    level: int
    role: str
    deadline: datetime
    allowed: timedelta  # the contract's time for it (zero: immediately)
    reason: str = "timetable"  # or "manual": a request (§5.2.1)


@dataclass(frozen=True)
class Outlook:
    level: int  # the level reached (field or recorded escalation)
    clock: ClockMode  # the SLA clock now: running, paused or stopped
    due: tuple[Step, ...]  # due now and not done yet, lowest level first
    next: Step | None  # the next one ahead; None when every level is done or the clock does not run

    @property
    def first(self) -> Step | None:
        """What comes first: the lowest level due now, else the next one ahead."""
        return self.due[0] if self.due else self.next


def outlook(incident: Incident, procedure: Procedure, now: datetime) -> Outlook:
    """The outlook of `incident` at `now` (raises `UnknownContract` as `evaluate` does)."""
    name, contract = contract_named(procedure, incident.contract)
    mode = clock_modes(procedure, contract)[incident.state_at(now)]
    done = max([incident.escalation_level, *(e.level for e in incident.escalations)])
    outcome = evaluate(incident, procedure, now)
    due = tuple(Step(a.level, a.role, a.deadline, a.allowed, a.reason) for a in outcome.due)
    ahead = None
    if outcome.next_deadline is not None and incident.severity is not None:
        # the level whose time is `next_deadline`: the lowest not done nor due that reaches it then
        clock = SlaClock(incident, procedure, contract, now)
        row = procedure.timetable_for(contract)[incident.severity]
        taken = {s.level for s in due}
        for level, role in enumerate(procedure.escalation.targets, start=1):
            if level <= done or level in taken:
                continue
            if clock.reaches(row[role]) == outcome.next_deadline:
                ahead = Step(level, role, outcome.next_deadline, row[role])
                break
    return Outlook(level=done, clock=mode, due=due, next=ahead)
