"""What the daemon knows of the watched tickets: the latest snapshot of each, and which are open.

Every ticket the daemon reads passes through `Watched.remember`: its contract is
resolved (`plugin.contracts.contract_of`, as the reports do), a ticket outside the
watched projects is dropped, and the snapshot is kept. The duties list incidents from
these snapshots (`plugin.duty_runner`); `open` feeds the watched-tickets metric. The
snapshots are complete once a read started from an empty cursor (`complete`).
"""

from __future__ import annotations

from collections.abc import Iterable

from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.procedure import Procedure
from plugin.config import Config
from plugin.contracts import contract_of


class Watched:
    """The snapshot of every watched ticket read, and the ids of the open incidents."""

    def __init__(self, procedure: Procedure, config: Config, mapping: TrackerMapping | None,
                 open_ids: Iterable[str] = ()):
        self.procedure = procedure
        self.config = config
        self.mapping = mapping
        self.snapshots: dict[str, Incident] = {}
        #: every watched ticket has been read by this process (a read from an empty cursor)
        self.complete = False
        #: open incidents known: one scheduled in the journal is open until a read says otherwise
        self.open: set[str] = set(open_ids)

    def resolve(self, item: Incident | Unreadable) -> Incident | Unreadable | None:
        """The incident under its contract; Unreadable when the contract is unknown; None when
        the ticket is outside the watched projects."""
        if isinstance(item, Unreadable):
            return item
        if self.mapping and self.mapping.projects and item.project not in self.mapping.projects:
            return None
        contract = contract_of(item, self.config, self.procedure)  # the reports resolve it the same way
        if contract not in self.procedure.contracts:
            return Unreadable(tracker=item.tracker, id=item.id, ref=item.ref, updated_at=item.updated_at,
                              reason=f"contract {contract!r} is not in the procedure's contracts "
                                     f"({', '.join(sorted(self.procedure.contracts))})")
        return item if item.contract == contract else item.model_copy(update={"contract": contract})

    def remember(self, item: Incident | Unreadable) -> Incident | Unreadable | None:
        """Keep the latest snapshot of a watched ticket; return it resolved (see `resolve`)."""
        resolved = self.resolve(item)
        if isinstance(resolved, Incident):
            self.snapshots[resolved.id] = resolved
            contract = self.procedure.contracts[resolved.contract]  # resolved by `resolve`
            if self.procedure.clock_mode(contract, resolved.state) == "stopped":
                self.open.discard(resolved.id)  # resolved or archived
            else:
                self.open.add(resolved.id)
        else:
            self.forget(item.id)  # unreadable (counted apart) or outside the watched projects
        return resolved

    def forget(self, ticket_id: str) -> None:
        """A ticket gone, unreadable or no longer watched."""
        self.snapshots.pop(ticket_id, None)
        self.open.discard(ticket_id)
