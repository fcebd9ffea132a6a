"""`escalator journal migrate` and `escalator journal leader`: the shared PostgreSQL journal.

`migrate --from FILE` copies an embedded (SQLite) journal into the PostgreSQL journal the
config names — the read cursor, the deadlines, the actions, the duties done and the time
the escalator started to watch — so a site that moves to several daemons keeps its
history and its `watch_from`. It refuses rather than mixes: while a daemon still runs on
the SQLite file (its lock), while a daemon leads one of the file's trackers on PostgreSQL,
or when PostgreSQL already holds a journal for one of them. The copy is one transaction:
all of it or nothing.

`leader` says which daemon (host:pid) leads each tracker, under which epoch, and for how
long its lease runs; exit status 1 when nobody leads the config's tracker.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import click
from psycopg.types.json import Jsonb

from plugin.config import Config, ConfigError, load_config
from plugin.journal_pg import JournalSchemaError, PgJournal, PgLeaseStore, shown
from plugin.leader import JournalUnreachable
from plugin.lockfile import JournalLock

#: the embedded journal's tables that hold a tracker's rows, and their columns (plugin.journal)
_TABLES = {
    "cursor": ("tracker", "data"),
    "schedule": ("tracker", "ticket_id", "ref", "due"),
    "actions": ("tracker", "ticket_id", "ref", "marker", "kind", "outcome", "at", "detail"),
    "duties": ("tracker", "duty_key", "period", "at"),
}
_TIMES = {"due", "at"}
_JSON = {"data", "detail"}


def _postgres(config: Config, config_path: Path) -> str:
    url = config.daemon.journal_url
    if url is None:
        raise ConfigError(f"{config_path}: daemon.journal: {config.daemon.journal} is an SQLite file; "
                          "this command works on a PostgreSQL journal (daemon.journal: postgresql://…)")
    return url


def _open(config: Config, url: str) -> PgJournal:
    try:
        return PgJournal(url, config.journal_password())
    except (JournalUnreachable, JournalSchemaError) as exc:
        raise ConfigError(f"daemon.journal: {exc}") from None


def _read_sqlite(path: Path) -> dict[str, list[tuple]]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ConfigError(f"{path}: cannot open the SQLite journal: {exc}") from None
    try:
        rows = {table: db.execute(f"SELECT {', '.join(cols)} FROM {table}"  # noqa: S608 - fixed names
                                  + (" ORDER BY id" if table == "actions" else "")).fetchall()
                for table, cols in _TABLES.items()}
        rows["meta"] = db.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.Error as exc:
        raise ConfigError(f"{path}: not an escalator journal: {exc}") from None
    finally:
        db.close()
    return rows


def _converted(table: str, row: tuple) -> tuple:
    out = []
    for column, value in zip(_TABLES[table], row, strict=True):
        if column in _TIMES:
            value = datetime.fromisoformat(value)
        elif column in _JSON:
            value = Jsonb(json.loads(value))
        out.append(value)
    return tuple(out)


@click.group()
def journal() -> None:
    """The shared PostgreSQL journal: copy an SQLite journal into it, see who leads."""


@journal.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The escalator's config file; its daemon.journal is the PostgreSQL journal to fill.")
@click.option("--from", "source", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True,
              help="The SQLite journal to copy (daemon.journal before the move).")
def migrate(config_path: Path, source: Path) -> None:
    """Copy an SQLite journal into the config's PostgreSQL journal (all of it, or nothing)."""
    config = load_config(config_path)
    url = _postgres(config, config_path)
    lock = JournalLock(source)
    try:
        lock.acquire()  # AlreadyRunning while a daemon still uses the file
    except OSError as exc:
        raise ConfigError(f"{source}: cannot lock the SQLite journal: {exc}") from None
    try:
        rows = _read_sqlite(source)
        trackers = sorted({r[0] for table in _TABLES for r in rows[table]}
                          | {k.partition(":")[2] for k, _ in rows["meta"] if k.startswith("watch_from:")})
        target = _open(config, url)
        try:
            counts = _copy(target, rows, trackers)
        except JournalUnreachable as exc:
            raise ConfigError(f"daemon.journal: {exc}") from None
        finally:
            target.close()
    finally:
        lock.release()
    if not trackers:
        click.echo(f"{source} holds no journal rows: nothing copied.")
        return
    for tracker in trackers:
        c = counts[tracker]
        click.echo(f"{tracker}: {c['cursor']} cursor, {c['schedule']} deadline(s), {c['actions']} action(s), "
                   f"{c['duties']} duty period(s), watch_from {c['watch_from'] or 'not recorded'}")
    click.echo(f"copied {source} into {shown(url)}; point daemon.journal at it and start the daemons")


def _copy(target: PgJournal, rows: dict[str, list[tuple]], trackers: list[str]) -> dict[str, dict]:
    with target.link.transaction() as cur:
        # no daemon takes (or renews) a lease while the copy runs
        cur.execute("LOCK TABLE leases IN EXCLUSIVE MODE")
        cur.execute("SELECT tracker, holder FROM leases WHERE tracker = ANY(%s) AND expires_at > clock_timestamp()",
                    (trackers,))
        for tracker, holder in cur.fetchall():
            raise ConfigError(f"daemon.journal: {holder} leads tracker {tracker} on {shown(target.url)}: "
                              "stop every daemon on it before migrating")
        taken: set[str] = set()
        for table in _TABLES:
            cur.execute(f"SELECT DISTINCT tracker FROM {table} WHERE tracker = ANY(%s)", (trackers,))  # noqa: S608
            taken.update(r[0] for r in cur.fetchall())
        cur.execute("SELECT key FROM meta WHERE key = ANY(%s)", ([f"watch_from:{t}" for t in trackers],))
        taken.update(r[0].partition(":")[2] for r in cur.fetchall())
        if taken:
            raise ConfigError(f"daemon.journal: {shown(target.url)} already holds a journal for "
                              f"{', '.join(sorted(taken))}: migrate into an empty one")
        counts = {t: {"cursor": 0, "schedule": 0, "actions": 0, "duties": 0, "watch_from": None} for t in trackers}
        for table, columns in _TABLES.items():
            if not rows[table]:
                continue
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
                            f"VALUES ({', '.join(['%s'] * len(columns))})",
                            [_converted(table, row) for row in rows[table]])
            for row in rows[table]:
                counts[row[0]][table] += 1
        for key, value in rows["meta"]:
            cur.execute("INSERT INTO meta (key, value) VALUES (%s, %s)", (key, value))
            if key.startswith("watch_from:"):
                counts[key.partition(":")[2]]["watch_from"] = value
    return counts


@journal.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The escalator's config file.")
def leader(config_path: Path) -> None:
    """Which daemon leads each tracker on the config's PostgreSQL journal (exit 1: none leads this one)."""
    config = load_config(config_path)
    url = _postgres(config, config_path)
    try:
        store = PgLeaseStore(url, config.journal_password())
        try:
            states = store.states()
        finally:
            store.close()
    except (JournalUnreachable, JournalSchemaError) as exc:
        raise ConfigError(f"daemon.journal: {exc}") from None
    for tracker, (state, acquired, expires) in states.items():
        if state.expires_in > 0:
            click.echo(f"{tracker}: led by {state.holder}, epoch {state.epoch}, since "
                       f"{acquired.isoformat(timespec='seconds')}; lease {state.expires_in:.1f} s left")
        else:
            click.echo(f"{tracker}: nobody leads — the lease of {state.holder} (epoch {state.epoch}) ended "
                       f"{-state.expires_in:.1f} s ago, at {expires.isoformat(timespec='seconds')}")
    mine = states.get(config.tracker.kind)
    if mine is None:
        click.echo(f"{config.tracker.kind}: no daemon has led it on this journal yet")
    if mine is None or mine[0].expires_in <= 0:
        raise SystemExit(1)
