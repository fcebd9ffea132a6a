"""The escalation timetable of a contract, without an incident: when each level falls due.

`escalator deadlines` prints it, and `mapping.escalation` counts each level's offset from
it on an incident's SLA clock. Kept apart from `mapping.escalation` so that the command
loads only the procedure and the calendar, not the incident and action models.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mapping.calendar import BusinessCalendar
from mapping.procedure import Contract, Procedure


class UnknownContract(ValueError):
    """A contract name the procedure does not define."""

    def __init__(self, name: str, procedure: Procedure):
        self.name = name
        super().__init__(f"unknown contract {name!r} (known: {', '.join(sorted(procedure.contracts))})")


def contract_named(procedure: Procedure, name: str | None) -> tuple[str, Contract]:
    """The contract `name` (None: the procedure's default) with its name; UnknownContract."""
    name = name or procedure.default_contract
    contract = procedure.contracts.get(name)
    if contract is None:
        raise UnknownContract(name, procedure)
    return name, contract


def deadlines(procedure: Procedure, contract_name: str | None, severity: int,
              reported_at: datetime) -> list[tuple[int, str, timedelta, datetime]]:
    """(level, role, offset, due instant) per level, on a clock that never stops."""
    _, contract = contract_named(procedure, contract_name)
    calendar = BusinessCalendar.from_config(procedure.calendar_of(contract))
    row = procedure.timetable_for(contract)[severity]
    return [(level, role, row[role], calendar.add(reported_at, row[role]))
            for level, role in enumerate(procedure.escalation.targets, start=1)]
