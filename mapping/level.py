"""An escalation level the level field lost: written back once, never fought over.

The escalation level field says how far up the ladder an incident was reported (§5.2.2).
The escalator raises it with each escalation's note, in one write. It can lose its value
without anyone changing it on the ticket: an admin deletes the field (a Jira custom field, a
Zammad object attribute) and creates it again — the new field starts empty on every ticket —
or a value vanishes otherwise outside the ticket's history. Tickets the escalator escalated
then read level 0 while the daemon's journal says level N was reached.

`lost_level` decides, purely, whether to write level N back:

- the journal (`LevelMemory`) says the escalator reached level N on this ticket, and the
  field reads less; what is written back is what the field held before it lost its value (the
  last value its history shows; N when the history shows none, a new field);
- no change in the ticket's history set the field to what it reads now: the value did not
  come from a person (or a trigger) editing the ticket. A person who lowered or cleared the
  level did so in the history, and that edit is theirs — the escalator does not overwrite it;
- the escalator has not written level N back on this ticket before (`LevelMemory.written_back`,
  and the note's marker on the ticket): one write, with a note saying why, and if the value
  does not stay, it is not written again and again.

The escalations due are then counted from level N (`mapping.decide`): a level the escalator
already reached is not escalated again because its field was recreated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mapping.actions import RestoreLevel
from mapping.incident import Incident


@dataclass(frozen=True)
class LevelMemory:
    """What the daemon's journal says of one ticket's escalation level."""

    reached: int = 0  # the highest level the escalator put on the ticket (written, or found there)
    reached_at: datetime | None = None  # when it did
    written_back: int = 0  # the highest level it already wrote back (0: never)


def lost_level(incident: Incident, memory: LevelMemory | None) -> RestoreLevel | None:
    """The level to write back, or None (see the module docstring)."""
    if memory is None or memory.reached_at is None or memory.reached <= incident.escalation_level:
        return None
    last = incident.level_changes[-1] if incident.level_changes else None
    if last is not None and last.level == incident.escalation_level:
        return None  # the ticket's history set what the field reads now: someone's edit, theirs
    # what the field held before it lost its value: the last value its history shows (a person may
    # have lowered the escalator's level before), else — a new field, no history — the level reached
    level = last.level if last is not None else memory.reached
    if level <= incident.escalation_level or memory.written_back >= level:
        return None
    return RestoreLevel(level=level, found=incident.escalation_level, reached_at=memory.reached_at)
