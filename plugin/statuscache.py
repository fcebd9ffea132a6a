"""The open incidents as `escalator status` last read them, so that the next run reads only what
changed since: one incremental search, however many incidents are open.

The tracker stays the source of truth: the cache holds the snapshots of the open
incidents (and of the tickets that could not be read) with the read cursor, in a small
SQLite file. A ticket that changed comes back in the incremental read and replaces its
row; one that closed is dropped. A ticket deleted or moved out of the watched projects
never comes back in a read: it would linger, so the cache is read afresh once it is
older than `max_age` (a day), on `--refresh`, and whenever the tracker, its projects or
the mapping file change (they are the cache's key). The cache is only a cache: losing
it costs one full read.

It lives in the user's cache folder (`$XDG_CACHE_HOME`, else `~/.cache`), under
`incident-escalator/`; where that cannot be written, status reads everything each time.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from connectors.base import Cursor
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key     TEXT PRIMARY KEY,
    cursor  TEXT NOT NULL,
    full_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot (
    key       TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (key, ticket_id)
);
"""

Item = Incident | Unreadable


def cache_key(url: str, projects: Iterable[str], mapping: TrackerMapping) -> str:
    """What the snapshots depend on: the tracker, the projects read, and how they are translated."""
    text = json.dumps([url, sorted(projects), mapping.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "incident-escalator" / "status.sqlite"


class SnapshotCache:
    """One SQLite file; `path` None keeps it in memory (nothing survives the process)."""

    def __init__(self, path: Path | None, key: str, *, max_age: timedelta = timedelta(days=1)):
        self.key = key
        self.max_age = max_age
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", isolation_level=None)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def load(self, now: datetime) -> tuple[Cursor, dict[str, Item]]:
        """The cursor and snapshots to go on from; an empty cursor (a full read) when stale or absent."""
        row = self._db.execute("SELECT cursor, full_at FROM meta WHERE key = ?", (self.key,)).fetchone()
        if row is None or now - datetime.fromisoformat(row[1]) > self.max_age:
            return Cursor(), {}
        items: dict[str, Item] = {}
        for ticket_id, kind, data in self._db.execute(
                "SELECT ticket_id, kind, data FROM snapshot WHERE key = ?", (self.key,)):
            items[ticket_id] = (Incident if kind == "incident" else Unreadable).model_validate_json(data)
        return Cursor.from_json(json.loads(row[0])), items

    def save(self, cursor: Cursor, changed: dict[str, Item | None], *, full_at: datetime | None) -> None:
        """Store the cursor and the changed rows (None: drop it); `full_at` when this was a full read."""
        self._db.execute("BEGIN")
        try:
            if full_at is not None:
                self._db.execute("DELETE FROM snapshot WHERE key = ?", (self.key,))
                self._db.execute("INSERT INTO meta (key, cursor, full_at) VALUES (?, ?, ?) ON CONFLICT (key) DO "
                                 "UPDATE SET cursor = excluded.cursor, full_at = excluded.full_at",
                                 (self.key, json.dumps(cursor.to_json()), full_at.isoformat()))
            else:
                self._db.execute("UPDATE meta SET cursor = ? WHERE key = ?", (json.dumps(cursor.to_json()), self.key))
            for ticket_id, item in changed.items():
                if item is None:
                    self._db.execute("DELETE FROM snapshot WHERE key = ? AND ticket_id = ?", (self.key, ticket_id))
                else:
                    kind = "incident" if isinstance(item, Incident) else "unreadable"
                    self._db.execute("INSERT INTO snapshot (key, ticket_id, kind, data) VALUES (?, ?, ?, ?) "
                                     "ON CONFLICT (key, ticket_id) DO UPDATE SET kind = excluded.kind, "
                                     "data = excluded.data", (self.key, ticket_id, kind, item.model_dump_json()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


def read_open(connector, cache: SnapshotCache, now: datetime, is_open, *, refresh: bool = False
              ) -> tuple[dict[str, Item], int, bool]:
    """The open incidents (and unreadable tickets): the cached ones, updated by one incremental read.

    `is_open(item)` says whether a snapshot stays in the queue. Returns the items, how many
    tickets the read brought, and whether it was a full read.
    """
    cursor, items = (Cursor(), {}) if refresh else cache.load(now)
    full = cursor.since is None
    changed: dict[str, Item | None] = {}
    read = 0
    for item in connector.read_changed(cursor):
        read += 1
        keep = item if is_open(item) else None
        changed[item.id] = keep
        if keep is None:
            items.pop(item.id, None)
        else:
            items[item.id] = keep
    if full:
        cache.save(cursor, dict(items), full_at=now)
    else:
        cache.save(cursor, changed, full_at=None)
    return items, read, full
