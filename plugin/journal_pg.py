"""The journal in PostgreSQL (psycopg 3), shared by every daemon of a tracker, one of them leading.

`daemon.journal: postgresql://user@host:5432/escalator` (the password from
`daemon.journal_password`, `{env: …}` or `{file: …}`, never in the URL). The same tables
as the embedded journal (`plugin.journal`), with the same calls and guarantees, plus the
lease rows of `plugin.leader` and the schema's version.

Schema: created and migrated by the escalator itself. `MIGRATIONS` are applied in order
when a journal (or `escalator journal migrate`) opens the database, all in one
transaction under an advisory lock, so two daemons starting together do not both create
tables, and a failed upgrade leaves the old schema whole (PostgreSQL's DDL is
transactional). A database whose version is newer than this escalator knows is refused:
an older escalator must not write into a schema it does not know.

Fencing: every write runs in one transaction that first share-locks the tracker's lease
row and checks that it still names the writer's holder and epoch (`Leadership.credentials`).
A takeover updates that row, so it waits for such a transaction to commit and every later
write with the old epoch finds the new one and is refused (`plugin.leader.StaleEpoch`). What
a leader recorded before it lost the lead is therefore all there when the next one reads
the journal, and nothing it tries to record after is. The epoch is kept with each action
(`actions.epoch`) for audit.

Times are `timestamptz` and come back in UTC: the same instants the embedded journal gives
back with their original offsets. Period keys are compared byte-wise (`COLLATE "C"`), as
SQLite compares them, whatever the database's collation.

PostgreSQL unreachable (refused, timed out, restarted, a broken connection): the call
raises `JournalUnreachable` — a `Fenced`: the pass stops, nothing more is written — and
the next call connects again. Connection and statement timeouts keep a dead network from
hanging the daemon.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urlsplit

import psycopg
from psycopg.types.json import Jsonb

from connectors.base import Cursor
from plugin.journal import JournalEntry, entries_filter
from plugin.leader import Grant, JournalUnreachable, Leadership, LeaseState, StaleEpoch

#: (version, SQL): append a new one for every change; never edit one that was released
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE cursor (
    tracker TEXT PRIMARY KEY,
    data    JSONB NOT NULL
);
CREATE TABLE schedule (
    tracker   TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    due       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tracker, ticket_id)
);
CREATE TABLE actions (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tracker   TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    marker    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    detail    JSONB NOT NULL,
    epoch     BIGINT
);
CREATE INDEX actions_ticket ON actions (tracker, ticket_id, marker);
CREATE TABLE duties (
    tracker  TEXT NOT NULL,
    duty_key TEXT NOT NULL,
    period   TEXT COLLATE "C" NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tracker, duty_key)
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE leases (
    tracker     TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    epoch       BIGINT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL
);
"""),
]

#: why a connection may fail and work later: no answer at all (refused, timed out: no SQLSTATE),
#: the server shutting down or starting up, too many connections (PostgreSQL, Appendix A)
_TRANSIENT = {None, "57P01", "57P02", "57P03", "53300"}

#: pg_advisory_xact_lock key of the schema migration ("escalat" in ASCII)
_MIGRATION_LOCK = 0x657363616C6174


class JournalSchemaError(Exception):
    """The database's journal schema cannot be used by this escalator (the message says why)."""


def shown(url: str) -> str:
    """The URL as it may be shown: scheme, user, host, port, database; never a password or options."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        user, _, host = netloc.rpartition("@")
        user = user.partition(":")[0]
        return f"{parts.scheme}://{user + '@' if user else ''}{host}{parts.path}"
    except ValueError:
        return "postgresql://(unparsable URL)"


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def _reason(exc: BaseException) -> str:
    """libpq's first line (it never holds the password), without psycopg's prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.removeprefix("connection failed: ").strip()


class Link:
    """One connection, made on first use and again after it broke; one transaction at a time."""

    def __init__(self, url: str, password: str | None, *, timeout: float = 5.0):
        self.url = url
        self.password = password
        self.timeout = timeout
        self._conn: psycopg.Connection | None = None
        self._lock = threading.RLock()

    def _connect(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conn = psycopg.connect(self.url, password=self.password, autocommit=True,
                                   connect_timeout=max(2, round(self.timeout)),
                                   application_name="incident-escalator",
                                   # a dead peer is noticed in `timeout`, not the kernel's 15 minutes
                                   tcp_user_timeout=round(self.timeout * 1000), keepalives=1,
                                   keepalives_idle=max(1, round(self.timeout)), keepalives_interval=1,
                                   keepalives_count=3)
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute(f"SET statement_timeout = {round(self.timeout * 1000)}")
        except psycopg.Error as exc:
            raise JournalUnreachable(f"journal {shown(self.url)}: cannot connect: {_reason(exc)}",
                                     transient=getattr(exc, "sqlstate", None) in _TRANSIENT) from None
        self._conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor]:
        with self._lock:
            conn = self._connect()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.close()
                raise JournalUnreachable(f"journal {shown(self.url)}: {_reason(exc)}") from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except psycopg.Error:
                    pass
                self._conn = None


def migrate(link: Link, migrations: list[tuple[int, str]] = MIGRATIONS) -> int:
    """Bring the schema to the newest version; returns it. JournalSchemaError when it is newer."""
    latest = max(v for v, _ in migrations)
    with link.transaction() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())")
        cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        current = cur.fetchone()[0]
        if current > latest:
            raise JournalSchemaError(f"journal {shown(link.url)}: schema version {current} is newer than this "
                                     f"escalator knows ({latest}): upgrade the escalator")
        for version, sql in sorted(migrations):
            if version > current:
                cur.execute(sql)
                cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    return latest


class PgJournal:
    """The shared journal; `fence` gives each write its (holder, epoch), None only for
    `escalator journal migrate`, which locks the lease table itself."""

    def __init__(self, url: str, password: str | None = None, *, fence: Leadership | None = None,
                 timeout: float = 5.0):
        self.url = url
        self.fence = fence
        self.link = Link(url, password, timeout=timeout)
        self.version = migrate(self.link)

    def close(self) -> None:
        self.link.close()

    @contextmanager
    def _write(self, tracker: str) -> Iterator[tuple[psycopg.Cursor, int | None]]:
        """A transaction that goes on only while `tracker`'s lease still has our epoch."""
        with self.link.transaction() as cur:
            epoch = None
            if self.fence is not None:
                holder, epoch = self.fence.credentials(tracker)
                cur.execute("SELECT 1 FROM leases WHERE tracker = %s AND holder = %s AND epoch = %s FOR SHARE",
                            (tracker, holder, epoch))
                if cur.fetchone() is None:
                    raise StaleEpoch(f"{tracker}: the journal refused a write of epoch {epoch}: "
                                     "another daemon has taken the lead")
            yield cur, epoch

    def _read(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        """A read, tried twice: a connection left idle across a server restart fails at its first
        use, and a read is safe to repeat (a write is not retried: its caller backs off)."""
        try:
            with self.link.transaction() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        except JournalUnreachable:
            with self.link.transaction() as cur:
                cur.execute(sql, args)
                return cur.fetchall()

    # -- cursor --------------------------------------------------------------------------
    def cursor(self, tracker: str) -> Cursor:
        rows = self._read("SELECT data FROM cursor WHERE tracker = %s", (tracker,))
        return Cursor.from_json(rows[0][0]) if rows else Cursor()

    def save_cursor(self, tracker: str, cursor: Cursor) -> None:
        with self._write(tracker) as (cur, _):
            cur.execute("INSERT INTO cursor (tracker, data) VALUES (%s, %s) "
                        "ON CONFLICT (tracker) DO UPDATE SET data = excluded.data",
                        (tracker, Jsonb(cursor.to_json())))

    # -- when the escalator started to watch ---------------------------------------------
    def watch_from(self, tracker: str) -> datetime | None:
        rows = self._read("SELECT value FROM meta WHERE key = %s", (f"watch_from:{tracker}",))
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def start_watching(self, tracker: str, at: datetime) -> datetime:
        key = f"watch_from:{tracker}"
        with self._write(tracker) as (cur, _):
            cur.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                        (key, at.isoformat()))
            cur.execute("SELECT value FROM meta WHERE key = %s", (key,))
            return datetime.fromisoformat(cur.fetchone()[0])

    # -- schedule ------------------------------------------------------------------------
    def schedule(self, tracker: str) -> list[tuple[datetime, str, str]]:
        rows = self._read("SELECT due, ticket_id, ref FROM schedule WHERE tracker = %s", (tracker,))
        return sorted((d, t, r) for d, t, r in rows)

    def set_due(self, tracker: str, ticket_id: str, ref: str, due: datetime | None) -> None:
        self.set_due_many(tracker, [(ticket_id, ref, due)])

    def set_due_many(self, tracker: str, rows: Iterable[tuple[str, str, datetime | None]]) -> None:
        """A batch of a pass's schedule in one transaction (one fence check, one commit)."""
        rows = list(rows)
        gone = [(tracker, t) for t, _, due in rows if due is None]
        kept = [(tracker, t, r, due) for t, r, due in rows if due is not None]
        with self._write(tracker) as (cur, _):
            if gone:
                cur.executemany("DELETE FROM schedule WHERE tracker = %s AND ticket_id = %s", gone)
            if kept:
                cur.executemany("INSERT INTO schedule (tracker, ticket_id, ref, due) VALUES (%s, %s, %s, %s) "
                                "ON CONFLICT (tracker, ticket_id) DO UPDATE SET due = excluded.due, "
                                "ref = excluded.ref", kept)

    # -- duties --------------------------------------------------------------------------
    def duties_done(self, tracker: str) -> dict[str, str]:
        return dict(self._read("SELECT duty_key, period FROM duties WHERE tracker = %s", (tracker,)))

    def duty_done(self, tracker: str, duty_key: str, period: str, at: datetime) -> None:
        with self._write(tracker) as (cur, _):
            cur.execute("INSERT INTO duties (tracker, duty_key, period, at) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (tracker, duty_key) DO UPDATE SET period = excluded.period, "
                        "at = excluded.at WHERE excluded.period > duties.period",
                        (tracker, duty_key, period, at))

    # -- actions -------------------------------------------------------------------------
    def record(self, tracker: str, ticket_id: str, ref: str, marker: str, kind: str, outcome: str,
               at: datetime, detail: dict | None = None) -> None:
        with self._write(tracker) as (cur, epoch):
            cur.execute("INSERT INTO actions (tracker, ticket_id, ref, marker, kind, outcome, at, detail, epoch) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (tracker, ticket_id, ref, marker, kind, outcome, at,
                         Jsonb(detail or {}, dumps=_dumps), epoch))

    def done(self, tracker: str, ticket_id: str, marker: str) -> bool:
        return bool(self._read("SELECT 1 FROM actions WHERE tracker = %s AND ticket_id = %s AND marker = %s LIMIT 1",
                               (tracker, ticket_id, marker)))

    def entries(self, tracker: str | None = None, ticket_id: str | None = None) -> list[JournalEntry]:
        where, args = entries_filter("%s", tracker=tracker, ticket_id=ticket_id)
        return [JournalEntry(*row) for row in self._read(
            "SELECT tracker, ticket_id, ref, marker, kind, outcome, at, detail, epoch FROM actions" + where
            + " ORDER BY id", args)]


def _dumps(value: object) -> str:
    # as the embedded journal stores it: non-ASCII kept, dates (and anything else) as text
    return json.dumps(value, ensure_ascii=False, default=str)


def open_journal(url: str, password: str | None, *, timeout: float, wait: bool,
                 on_wait: Callable[[JournalUnreachable], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> PgJournal:
    """The journal, its schema up to date. While `wait`, a server that is down, restarting or
    full (`JournalUnreachable.transient`) is tried again with back-off, `on_wait` told once;
    refused credentials, a missing database or a newer schema raise at once."""
    delay, told = 1.0, False
    while True:
        try:
            return PgJournal(url, password, timeout=timeout)
        except JournalUnreachable as exc:
            if not (wait and exc.transient):
                raise
            if on_wait is not None and not told:
                told = True
                on_wait(exc)
        sleep(delay)
        delay = min(delay * 2, 30.0)


class PgLeaseStore:
    """The lease rows of `plugin.leader`, on a connection of their own: a slow journal write
    never holds up a renewal."""

    def __init__(self, url: str, password: str | None = None, *, timeout: float = 5.0):
        self.link = Link(url, password, timeout=timeout)
        migrate(self.link)  # the lease table may be asked for before any journal was opened

    def close(self) -> None:
        self.link.close()

    def acquire(self, tracker: str, holder: str, lease: float) -> Grant | LeaseState:
        with self.link.transaction() as cur:
            previous = self._state(cur, tracker)
            if previous is None:
                cur.execute("INSERT INTO leases (tracker, holder, epoch, expires_at, acquired_at, renewed_at) "
                            "VALUES (%s, %s, 1, clock_timestamp() + make_interval(secs => %s), clock_timestamp(), "
                            "clock_timestamp()) ON CONFLICT (tracker) DO NOTHING RETURNING epoch",
                            (tracker, holder, lease))
            elif previous.holder == holder or previous.expires_in <= 0:
                # the condition again, in the statement: another standby may have taken it meanwhile
                cur.execute("UPDATE leases SET holder = %s, epoch = epoch + 1, "
                            "expires_at = clock_timestamp() + make_interval(secs => %s), "
                            "acquired_at = clock_timestamp(), renewed_at = clock_timestamp() "
                            "WHERE tracker = %s AND (holder = %s OR expires_at <= clock_timestamp()) "
                            "RETURNING epoch", (holder, lease, tracker, holder))
            else:
                return previous
            row = cur.fetchone()
            if row is None:
                return self._state(cur, tracker)  # type: ignore[return-value] - someone else's now
            return Grant(epoch=row[0], previous=previous)

    def renew(self, tracker: str, holder: str, epoch: int, lease: float) -> bool:
        with self.link.transaction() as cur:
            cur.execute("UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => %s), "
                        "renewed_at = clock_timestamp() WHERE tracker = %s AND holder = %s AND epoch = %s "
                        "AND expires_at > clock_timestamp() RETURNING 1", (lease, tracker, holder, epoch))
            return cur.fetchone() is not None

    def release(self, tracker: str, holder: str, epoch: int) -> None:
        with self.link.transaction() as cur:
            cur.execute("UPDATE leases SET expires_at = clock_timestamp() "
                        "WHERE tracker = %s AND holder = %s AND epoch = %s", (tracker, holder, epoch))

    def state(self, tracker: str) -> LeaseState | None:
        with self.link.transaction() as cur:
            return self._state(cur, tracker)

    def states(self) -> dict[str, tuple[LeaseState, datetime, datetime]]:
        """Every tracker's lease: (state, acquired at, expires at) — for `escalator journal leader`."""
        with self.link.transaction() as cur:
            cur.execute("SELECT tracker, holder, epoch, extract(epoch FROM expires_at - clock_timestamp()), "
                        "acquired_at, expires_at FROM leases ORDER BY tracker")
            return {t: (LeaseState(h, e, float(left)), acquired, expires)
                    for t, h, e, left, acquired, expires in cur.fetchall()}

    @staticmethod
    def _state(cur: psycopg.Cursor, tracker: str) -> LeaseState | None:
        cur.execute("SELECT holder, epoch, extract(epoch FROM expires_at - clock_timestamp()) FROM leases "
                    "WHERE tracker = %s", (tracker,))
        row = cur.fetchone()
        return LeaseState(row[0], row[1], float(row[2])) if row else None
