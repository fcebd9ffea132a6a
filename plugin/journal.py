"""The daemon's journal: the read cursor, the schedule of known deadlines, when the
escalator started to watch, the duties done, and every action carried out — with each
write the tracker refused, and how each notification and put-back ended — for audit.

Two stores keep it, behind one interface (`JournalStore`): this module's `Journal`, an
embedded SQLite file — the default, for one daemon on one host (`plugin.lockfile` keeps a
second process off it) — and `plugin.journal_pg.PgJournal`, a PostgreSQL database that
several daemons on several hosts share, one of them leading (`plugin.leader`). The daemon
sees no difference: the same tables, the same calls, the same guarantees. A write to a
shared journal carries the writer's fencing epoch and is refused (`plugin.leader.Fenced`)
once another daemon has taken the lead; the embedded one has no epochs to check.

The journal is a convenience, not the source of truth: the tracker is (markers in the
notes, the escalation level field, the stored machine state). Losing the journal costs
a full re-read on the next start, never a duplicate write. An action is recorded only
*after* the tracker accepted all its writes (Alertmanager's order: send, then record),
each at once (its own commit: the crash matrix of `plugin.daemon` relies on a notification's
outcome being durable before the next write on the tracker); the schedule, which a re-read
rebuilds and no tracker write waits on, is written in batches (`set_due_many`, one
transaction each: a pass's rows, a thousand at a time on a long one).

The time of the daemon's first pass (`watch_from`, a `meta` row written once, never
moved) is the one thing the tracker cannot give back: a lost journal moves it to the
next first pass, so a lowering made while the daemon was down is then history. Pin it
with `daemon.watch_from` in the config where that matters.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from connectors.base import Cursor
from plugin.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursor (
    tracker TEXT PRIMARY KEY,
    data    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule (
    tracker   TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    due       TEXT NOT NULL,
    PRIMARY KEY (tracker, ticket_id)
);
CREATE TABLE IF NOT EXISTS actions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tracker   TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    marker    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    at        TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_ticket ON actions (tracker, ticket_id);
CREATE TABLE IF NOT EXISTS duties (
    tracker  TEXT NOT NULL,
    duty_key TEXT NOT NULL,
    period   TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (tracker, duty_key)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def entries_filter(placeholder: str, **equal: str | None) -> tuple[str, list[str]]:
    """The WHERE clause (or "") and its arguments that keep the actions whose columns equal the
    values given; a value of None or "" does not filter. `placeholder` is the driver's ("?", "%s")."""
    kept = {column: value for column, value in equal.items() if value}
    where = " AND ".join(f"{column} = {placeholder}" for column in kept)
    return (" WHERE " + where if where else ""), list(kept.values())


@dataclass(frozen=True)
class JournalEntry:
    tracker: str
    ticket_id: str
    ref: str
    marker: str
    kind: str
    outcome: str  # "done" | "already-done" | "failed" | "refused" | "unconfirmed" (see plugin.outcomes)
    at: datetime
    detail: dict
    epoch: int | None = None  # the writer's fencing epoch (a shared journal); None in an embedded one


class JournalStore(Protocol):
    """What the daemon asks of a journal, whichever store keeps it."""

    def close(self) -> None: ...

    def cursor(self, tracker: str) -> Cursor: ...

    def save_cursor(self, tracker: str, cursor: Cursor) -> None: ...

    def watch_from(self, tracker: str) -> datetime | None:
        """The time of the daemon's first pass on this tracker, or None before it."""

    def start_watching(self, tracker: str, at: datetime) -> datetime:
        """Record `at` as the first pass's time unless one is recorded (it never moves); return the recorded one."""

    def schedule(self, tracker: str) -> list[tuple[datetime, str, str]]:
        """(due, ticket id, ref) of every known next deadline, earliest first."""

    def set_due(self, tracker: str, ticket_id: str, ref: str, due: datetime | None) -> None: ...

    def set_due_many(self, tracker: str, rows: Iterable[tuple[str, str, datetime | None]]) -> None:
        """(ticket id, ref, due or None) for many tickets, in one transaction."""

    def duties_done(self, tracker: str) -> dict[str, str]:
        """duty key -> the last period key done."""

    def duty_done(self, tracker: str, duty_key: str, period: str, at: datetime) -> None:
        """Record a period done; the recorded period only moves forward."""

    def record(self, tracker: str, ticket_id: str, ref: str, marker: str, kind: str, outcome: str,
               at: datetime, detail: dict | None = None) -> None: ...

    def done(self, tracker: str, ticket_id: str, marker: str) -> bool:
        """Was this action carried out (or found done) on this ticket? A shortcut, never the proof."""

    def entries(self, tracker: str | None = None, ticket_id: str | None = None) -> list[JournalEntry]: ...


class Journal:
    """The embedded journal: one SQLite file (":memory:" for a dry run or a test). Safe to share
    between threads."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        if self.path != ":memory:":
            private_file(Path(self.path))  # 0600 before SQLite opens it: its -wal and -shm follow
            for side in ("-wal", "-shm"):
                if Path(self.path + side).exists():
                    private_file(Path(self.path + side))
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            # WAL: a reader (an audit query) never blocks the daemon's writes
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- cursor --------------------------------------------------------------------------
    def cursor(self, tracker: str) -> Cursor:
        with self._lock:
            row = self._db.execute("SELECT data FROM cursor WHERE tracker = ?", (tracker,)).fetchone()
        return Cursor.from_json(json.loads(row[0])) if row else Cursor()

    def save_cursor(self, tracker: str, cursor: Cursor) -> None:
        data = json.dumps(cursor.to_json())
        with self._lock:
            self._db.execute("INSERT INTO cursor (tracker, data) VALUES (?, ?) "
                             "ON CONFLICT (tracker) DO UPDATE SET data = excluded.data", (tracker, data))

    # -- when the escalator started to watch ---------------------------------------------
    def watch_from(self, tracker: str) -> datetime | None:
        """The time of the daemon's first pass on this tracker, or None before it."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"watch_from:{tracker}",)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def start_watching(self, tracker: str, at: datetime) -> datetime:
        """Record `at` as the first pass's time unless one is recorded (it never moves); return the recorded one."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                             (f"watch_from:{tracker}", at.isoformat()))
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"watch_from:{tracker}",)).fetchone()
        return datetime.fromisoformat(row[0])

    # -- schedule ------------------------------------------------------------------------
    def schedule(self, tracker: str) -> list[tuple[datetime, str, str]]:
        """(due, ticket id, ref) of every known next deadline, earliest first."""
        with self._lock:
            rows = self._db.execute("SELECT due, ticket_id, ref FROM schedule WHERE tracker = ?",
                                    (tracker,)).fetchall()
        return sorted((datetime.fromisoformat(d), t, r) for d, t, r in rows)

    def set_due(self, tracker: str, ticket_id: str, ref: str, due: datetime | None) -> None:
        self.set_due_many(tracker, [(ticket_id, ref, due)])

    def set_due_many(self, tracker: str, rows: Iterable[tuple[str, str, datetime | None]]) -> None:
        """(ticket id, ref, due or None) for many tickets, in one transaction: a batch of a pass's
        schedule is one commit, not one per ticket read (a commit costs a disk sync; a first pass
        reads them all)."""
        rows = list(rows)
        gone = [(tracker, t) for t, _, due in rows if due is None]
        kept = [(tracker, t, r, due.isoformat()) for t, r, due in rows if due is not None]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("DELETE FROM schedule WHERE tracker = ? AND ticket_id = ?", gone)
                self._db.executemany("INSERT INTO schedule (tracker, ticket_id, ref, due) VALUES (?, ?, ?, ?) "
                                     "ON CONFLICT (tracker, ticket_id) DO UPDATE SET due = excluded.due, "
                                     "ref = excluded.ref", kept)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- duties --------------------------------------------------------------------------
    def duties_done(self, tracker: str) -> dict[str, str]:
        """duty key ("pm_digest:default") -> the last period key done (`mapping.duties.due_duties`)."""
        with self._lock:
            rows = self._db.execute("SELECT duty_key, period FROM duties WHERE tracker = ?", (tracker,)).fetchall()
        return dict(rows)

    def duty_done(self, tracker: str, duty_key: str, period: str, at: datetime) -> None:
        """Record a period done; the recorded period only moves forward (period keys sort in time)."""
        with self._lock:
            self._db.execute("INSERT INTO duties (tracker, duty_key, period, at) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (tracker, duty_key) DO UPDATE SET period = excluded.period, "
                             "at = excluded.at WHERE excluded.period > duties.period",
                             (tracker, duty_key, period, at.isoformat()))

    # -- actions -------------------------------------------------------------------------
    def record(self, tracker: str, ticket_id: str, ref: str, marker: str, kind: str, outcome: str,
               at: datetime, detail: dict | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO actions (tracker, ticket_id, ref, marker, kind, outcome, at, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tracker, ticket_id, ref, marker, kind, outcome, at.isoformat(),
                 json.dumps(detail or {}, ensure_ascii=False, default=str)))

    def done(self, tracker: str, ticket_id: str, marker: str) -> bool:
        """Was this action carried out (or found done) on this ticket? A shortcut, never the proof."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM actions WHERE tracker = ? AND ticket_id = ? AND marker = ? LIMIT 1",
                                   (tracker, ticket_id, marker)).fetchone()
        return row is not None

    def entries(self, tracker: str | None = None, ticket_id: str | None = None) -> list[JournalEntry]:
        where, args = entries_filter("?", tracker=tracker, ticket_id=ticket_id)
        with self._lock:
            rows = self._db.execute("SELECT tracker, ticket_id, ref, marker, kind, outcome, at, detail FROM actions"
                                    + where + " ORDER BY id", args).fetchall()
        return [JournalEntry(t, i, r, m, k, o, datetime.fromisoformat(a), json.loads(d))
                for t, i, r, m, k, o, a, d in rows]
