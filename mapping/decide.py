"""The daemon's one question: given an incident, the procedure and `now`, what must happen?

`decide` combines the rules, in the order the daemon carries the actions out:

1. `RestoreSeverity` — no-downgrade (`mapping.downgrade`); the severity is put back first,
   and `RestoreLevel` — a level the level field lost while nobody changed it, written back
   once (`mapping.level`, from what the daemon's journal remembers: `levels`),
2. `Escalate` — the escalations due (`mapping.escalation.evaluate`), counted with the
   severity and the level as they will be after the restores: a lowering that is undone
   never delays an escalation, a level written back is not escalated again,
3. `FlagTransition` — illegal state changes (`mapping.transitions`),
4. `FlagIncompleteRecord` — missing §4.1.4 facts (`mapping.record`),
5. `WarnBeforeBreach` — deadlines that come soon (`mapping.warnings`), for the levels not
   escalated in this decision,
6. `RepeatEscalation` — escalations not acknowledged yet, where the contract asks for
   acknowledgement (`mapping.acknowledge`; `holders` names who may acknowledge which level).

`next_deadline` is when the daemon must look again even if nothing changes on the
ticket: the next deadline, warning or repeat.

`watch_from` is when the escalator started to watch: a lowering or a state change
before it is history the escalator was not there to see, and is left alone rather
than flagged on every old ticket of a site it is installed on. The record check
speaks only of open incidents: a resolved one is the report's business
(`escalator report record`), not a note that e-mails its watchers. Pure: no I/O, no wall clock. An incident naming a contract the procedure does
not define raises `mapping.escalation.UnknownContract`: the daemon reports and skips it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from mapping.acknowledge import Holders, repeats_due
from mapping.actions import Action, FlagIncompleteRecord
from mapping.calendar import BusinessCalendar
from mapping.downgrade import check_downgrade
from mapping.escalation import contract_named, evaluate
from mapping.incident import Incident
from mapping.level import LevelMemory, lost_level
from mapping.procedure import Procedure
from mapping.record import missing_facts
from mapping.transitions import illegal_changes
from mapping.warnings import warnings_due


class Decision(BaseModel):
    """What must happen to one incident now, and when to look at it again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: list[Action]
    next_deadline: datetime | None = None


def decide(incident: Incident, procedure: Procedure, now: datetime, approvers: set[str],
           watch_from: datetime | None = None, holders: Holders | None = None,
           levels: LevelMemory | None = None) -> Decision:
    """All actions due for `incident` at `now`; `approvers` hold a downgrade-exception role,
    `holders` the role of each escalation level (None: anyone may acknowledge), `levels` what the
    journal remembers of the ticket's escalation level (None: nothing)."""
    actions: list[Action] = []
    restore = check_downgrade(incident, approvers)
    if restore is not None and watch_from is not None and restore.lowered_at < watch_from:
        restore = None
    effective = incident
    if restore is not None:
        actions.append(restore)
        effective = incident.model_copy(update={"severity": restore.to})
    level_back = lost_level(incident, levels)
    if level_back is not None:
        actions.append(level_back)
    # a level the escalator reached (the journal) is done, whatever the field reads now: written back
    # above, written back before, or cleared by a person — never escalated again
    done = max(level_back.level if level_back else 0, levels.reached if levels else 0)
    if done > incident.escalation_level:
        effective = effective.model_copy(update={"escalation_level": done})
    outcome = evaluate(effective, procedure, now)
    actions.extend(outcome.due)
    actions.extend(flag for flag in illegal_changes(incident, procedure, incident.contract)
                   if watch_from is None or flag.at >= watch_from)
    _, contract = contract_named(procedure, incident.contract)
    open_ = procedure.clock_mode(contract, incident.state) != "stopped"
    missing = missing_facts(incident, procedure) if open_ else []
    if missing:
        actions.append(FlagIncompleteRecord(missing=tuple(missing)))
    escalating = {a.level for a in outcome.due}
    warned = warnings_due(effective, procedure, now)
    actions.extend(w for w in warned.due if w.level not in escalating)
    repeated = repeats_due(incident, procedure, now, holders)
    actions.extend(repeated.due)
    times = [t for t in (outcome.next_deadline, warned.next_warning, repeated.next_repeat) if t is not None]
    if contract.acknowledge is not None and outcome.due:
        # an escalation made now is reminded of `repeat_every` later: look again then, not at the next read
        times.append(BusinessCalendar.from_config(procedure.calendar_of(contract)).add(
            now, contract.acknowledge.repeat_every))
    return Decision(actions=actions, next_deadline=min(times, default=None))
