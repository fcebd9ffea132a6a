"""Tests of the reports: pure rendering from hand-built incidents, the CLI over a fake connector, SMTP."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import Cursor, ReadResult
from connectors.http import NotFound
from mapping.incident import Incident


class FakeConnector:
    """An in-memory tracker: `read_changed` yields every ticket (advancing the cursor) like a connector."""

    tracker = "jira"

    def __init__(self, results: list[ReadResult]):
        self.results = results
        self.closed = False
        self.reads = 0
        self.read_from = None

    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        self.reads += 1
        self.read_from = start = cursor.query_from()
        for result in sorted(self.results, key=lambda r: r.updated_at):
            if start is not None and result.updated_at < start:
                continue  # like a search on `updated >= start`
            if not cursor.is_new(result.id, result.updated_at):
                continue
            cursor.advance(result.id, result.updated_at)
            yield result

    def read_one(self, ticket_id: str) -> ReadResult:
        for result in self.results:
            if ticket_id in (result.id, result.ref):
                return result
        raise NotFound(f"GET /issue/{ticket_id}: 404 issue does not exist", status=404)

    def close(self) -> None:
        self.closed = True

    def incidents(self) -> list[Incident]:
        return [r for r in self.results if isinstance(r, Incident)]
