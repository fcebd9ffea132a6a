"""Allowed state changes (§4): 1 → 2 → 3 ⇄ 4/5 → 6 → 7, reopen 6 → 3, misdispatch → 1.

`procedure.transitions` lists the allowed changes. Any other change in an incident's
state history is illegal and is named with the rule it breaks: the transition rule
that leads to the state it went to ("1 → 3 breaks `start`: work starts on a
dispatched incident"). Where several rules lead to that state (3 is reached by
`start` from 2 and by `resume` from 4, 5, 6), the one whose allowed source is nearest
to the actual source is named (1 → 3 breaks `start`, 7 → 3 breaks `resume`); a state
no rule leads to is reported against the rule name `(none)` and §4.

Only the latest change can be put back (`revert`), and only while the incident is
still in the state it went to and its contract sets `enforce_transitions`: an older
illegal change is history, flagged once for the humans and never undone.

The exact undo of an illegal change (3 → 7, then 7 → 3) is not itself illegal: it
restores the state the procedure last allowed. Without this, the escalator's own
put-back would be flagged and put back again, for ever. Only the undo of a flagged
change is spared: doing the illegal change again after its undo (3 → 7, 7 → 3 by the
escalator, 3 → 7 by a person) is illegal again, and flagged and put back again.
"""

from __future__ import annotations

from mapping.actions import FlagTransition
from mapping.escalation import contract_named
from mapping.incident import Incident, StateChange
from mapping.procedure import Procedure, Transition

NO_RULE = "(none)"


def is_allowed(procedure: Procedure, source: int, target: int) -> Transition | None:
    """The transition allowing `source` → `target`, or None when there is none."""
    return next((t for t in procedure.transitions if t.target == target and source in t.source), None)


def broken_rule(procedure: Procedure, source: int, target: int) -> Transition | None:
    """The rule an illegal `source` → `target` breaks: the nearest rule leading to `target`."""
    leading = [t for t in procedure.transitions if t.target == target]
    if not leading:
        return None
    return min(leading, key=lambda t: min(abs(s - source) for s in t.source) if t.source else 99)


def illegal_changes(incident: Incident, procedure: Procedure, contract_name: str | None) -> list[FlagTransition]:
    """Every state change in the history that `procedure.transitions` does not allow, oldest first.

    `contract_name` None means the procedure's default contract; an unknown name raises
    `mapping.escalation.UnknownContract`.
    """
    _, contract = contract_named(procedure, contract_name)
    history = incident.state_history
    changes = [(before.state, after) for before, after in zip(history, history[1:], strict=False)
               if before.state != after.state]
    flags: list[FlagTransition] = []
    flagged = False  # was the change just before this one flagged?
    for i, (source, change) in enumerate(changes):
        if is_allowed(procedure, source, change.state) is not None:
            flagged = False
            continue
        if flagged and _undoes(changes[i - 1], source, change.state):
            flagged = False  # the undo restores the allowed state; what follows it is judged anew
            continue
        flagged = True
        rule = broken_rule(procedure, source, change.state)
        latest = i == len(changes) - 1
        flags.append(FlagTransition(
            source=source, target=change.state, at=change.at, by=change.by, by_name=change.by_name,
            rule=rule.name if rule else NO_RULE, section=rule.section if rule else "§4",
            revert=latest and incident.state == change.state and contract.enforce_transitions,
        ))
    return flags


def _undoes(previous: tuple[int, StateChange], source: int, target: int) -> bool:
    """Is `source` → `target` the exact reverse of the change just before it (which the caller
    knows was flagged)?"""
    before_source, before = previous
    return before_source == target and before.state == source
