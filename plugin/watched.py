"""What the daemon knows of the watched tickets: which are open, and — for the parts that list
incidents — a compact copy of the latest snapshot of each.

Every ticket the daemon reads passes through `Watched.remember`: its contract is
resolved (`plugin.contracts.contract_of`, as the reports do), a ticket outside the
watched projects is dropped, and whether it is open is noted (`open`, which feeds the
watched-tickets metric).

The decisions need nothing more per open incident: a due ticket is read again right
before anything is decided on it, and the schedule (`plugin.schedule`) holds its next
deadline. Only the duties (`plugin.duty_runner`, which select the incidents a digest or a
trend lists) and the status page (`plugin.statuspage`, the queue of open incidents) list
incidents from what was read, so the snapshots are kept only when one of them is on
(`keep`), and then compact (`Snapshots`): a translated incident holds ~5 KB of Python
objects, its JSON compressed ~0.4 KB — 100,000 open incidents in ~45 MB instead of
~550 MB. The snapshots are complete once a read started from an empty cursor (`complete`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.procedure import Procedure
from plugin.config import Config
from plugin.contracts import contract_of


class Snapshots:
    """ticket id -> its latest `Incident`, each kept as compressed JSON and rebuilt when asked for.

    A mapping's reading side (`[id]`, `get`, `in`, `len`, iteration over the ids, `values`,
    `items`) plus `discard` and `clear`. Rebuilding costs ~30 µs an incident, paid by the duties
    (a few times a day) and the status page, never by a pass's decisions. `copy` takes the
    compressed copies at once (under the GIL): another thread may read them while the loop
    goes on."""

    def __init__(self, blobs: dict[str, bytes] | None = None, reported: dict[str, float] | None = None):
        self._blobs: dict[str, bytes] = blobs if blobs is not None else {}
        #: each one's report time (epoch seconds): what `reported_since` selects on without a rebuild
        self._reported: dict[str, float] = reported if reported is not None else {}

    def __setitem__(self, ticket_id: str, incident: Incident) -> None:
        # level 1: four times smaller than the JSON already, at a fraction of the cost of level 6
        self._blobs[ticket_id] = zlib.compress(incident.model_dump_json().encode(), 1)
        self._reported[ticket_id] = incident.reported_at.timestamp()

    def __getitem__(self, ticket_id: str) -> Incident:
        return _rebuild(self._blobs[ticket_id])

    def get(self, ticket_id: str, default: Incident | None = None) -> Incident | None:
        blob = self._blobs.get(ticket_id)
        return default if blob is None else _rebuild(blob)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._blobs)

    def values(self) -> Iterator[Incident]:
        """Every snapshot, rebuilt one at a time (a copy of the ids is taken first: safe while the
        caller changes them)."""
        for blob in list(self._blobs.values()):
            yield _rebuild(blob)

    def items(self) -> Iterator[tuple[str, Incident]]:
        for ticket_id, blob in list(self._blobs.items()):
            yield ticket_id, _rebuild(blob)

    def reported_since(self, since: datetime) -> Iterator[Incident]:
        """The snapshots of the incidents reported at or after `since`, the others not rebuilt (the
        trend rules, asked at every poll, count only the last weeks' incidents)."""
        floor = since.timestamp()
        for ticket_id, at in list(self._reported.items()):
            blob = self._blobs.get(ticket_id)
            if at >= floor and blob is not None:
                yield _rebuild(blob)

    def discard(self, ticket_id: str) -> None:
        self._blobs.pop(ticket_id, None)
        self._reported.pop(ticket_id, None)

    def clear(self) -> None:
        self._blobs.clear()
        self._reported.clear()

    def copy(self) -> Snapshots:
        return Snapshots(dict(self._blobs), dict(self._reported))


def _rebuild(blob: bytes) -> Incident:
    return Incident.model_validate_json(zlib.decompress(blob))


class Watched:
    """The ids of the open incidents, and the snapshot of every watched ticket read when `keep`."""

    def __init__(self, procedure: Procedure, config: Config, mapping: TrackerMapping | None,
                 open_ids: Iterable[str] = (), *, keep: bool = True):
        self.procedure = procedure
        self.config = config
        self.mapping = mapping
        #: whether anything lists incidents from the snapshots (the duties, the status page)
        self.keep = keep
        self.snapshots = Snapshots()
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
        """Note whether a watched ticket is open, and keep its snapshot (when `keep`); return it
        resolved (see `resolve`)."""
        resolved = self.resolve(item)
        if isinstance(resolved, Incident):
            if self.keep:
                self.snapshots[resolved.id] = resolved
            contract = self.procedure.contracts[resolved.contract]  # resolved by `resolve`
            if self.procedure.clock_mode(contract, resolved.state) == "stopped":
                self.open.discard(resolved.id)  # resolved or archived
            else:
                self.open.add(resolved.id)
        else:
            self.forget(item.id)  # unreadable (counted apart) or outside the watched projects
        return resolved

    def open_snapshots(self) -> list[Incident]:
        """The open incidents as last read (for another thread: copies taken under the GIL first)."""
        snapshots, ids = self.snapshots.copy(), list(self.open)
        return [snapshots[i] for i in ids if i in snapshots]

    def forget(self, ticket_id: str) -> None:
        """A ticket gone, unreadable or no longer watched."""
        self.snapshots.discard(ticket_id)
        self.open.discard(ticket_id)
