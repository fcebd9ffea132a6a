"""The daemon's schedule: the next known deadline of every ticket, earliest first.

A heap with lazy deletion: moving a ticket's deadline is O(log n), and the stale
entries left behind are dropped when they reach the top or, when they pile up, by a
rebuild from the live ones. The journal keeps a copy (`Journal.set_due`) so that a
restarted daemon knows what falls due before it has read anything.
"""

from __future__ import annotations

import heapq
from datetime import datetime


class Schedule:
    """Next known deadline per ticket: a heap with lazy deletion, O(log n) per change."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._due: dict[str, datetime] = {}
        self.refs: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._due)

    def set(self, ticket_id: str, ref: str, due: datetime | None) -> None:
        if due is None:
            self._due.pop(ticket_id, None)
            self.refs.pop(ticket_id, None)
            return
        self.refs[ticket_id] = ref
        if self._due.get(ticket_id) != due:
            self._due[ticket_id] = due
            heapq.heappush(self._heap, (due, ticket_id))
            if len(self._heap) > 2 * len(self._due) + 64:
                # stale entries pile up below the top: rebuild from the live ones
                self._heap = [(d, t) for t, d in self._due.items()]
                heapq.heapify(self._heap)

    def get(self, ticket_id: str) -> datetime | None:
        return self._due.get(ticket_id)

    def _clean(self) -> None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def next(self) -> datetime | None:
        self._clean()
        return self._heap[0][0] if self._heap else None

    def due(self, now: datetime) -> list[tuple[datetime, str]]:
        """Tickets due at `now`, earliest first (they stay scheduled until re-set)."""
        nxt = self.next()
        if nxt is None or nxt > now:
            return []
        return sorted((d, t) for t, d in self._due.items() if d <= now)

    def heap_size(self) -> int:
        """Entries held, stale ones included (bounded by about twice the tickets scheduled)."""
        return len(self._heap)
