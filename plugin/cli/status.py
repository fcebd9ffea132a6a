"""`escalator status`: every open incident, what comes next for it, when, to whom, and what blocks it.

From the tracker plus the journal: the open incidents as the tracker holds them now
(cached between runs, `plugin.statuscache`: one incremental read each time), judged
by the same rules the daemon applies (`plugin.queue`), with the writes the tracker
refused from the daemon's journal. Read-only: nothing is written to the tracker or the
journal.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from connectors.factory import make_connector
from mapping.text import text_table
from plugin.clock import parse_clock
from plugin.journal import Journal
from plugin.preflight import load_setup
from plugin.queue import HEADERS, QueueBuilder, as_json, cells, levels_reached, refusals, select
from plugin.statuscache import SnapshotCache, cache_key, default_path, read_open


def _shared_journal(config, tracker: str) -> tuple[dict, dict, object, str | None]:
    """`_journal_facts` from a PostgreSQL journal, and who leads `tracker` on it."""
    # imported here: a site on the embedded journal never loads the PostgreSQL driver
    from plugin.journal_pg import JournalSchemaError, PgJournal, PgLeaseStore, shown
    from plugin.leader import JournalUnreachable
    url = config.daemon.journal_url
    try:
        journal = PgJournal(url, config.journal_password())
        store = PgLeaseStore(url, config.journal_password())
    except (JournalUnreachable, JournalSchemaError) as exc:  # status goes on without it, and says so
        click.echo(f"warning: cannot read the journal ({exc}): refused writes and the leader are not shown",
                   err=True)
        return {}, {}, None, None
    try:
        entries = journal.entries(tracker)
        lease = store.state(tracker)
        if lease is None:
            leader = f"no daemon has led {tracker} on the journal {shown(url)} yet"
        elif lease.expires_in > 0:
            leader = f"led by {lease.holder} (epoch {lease.epoch}), lease {lease.expires_in:.0f} s left"
        else:
            leader = (f"no daemon leads now: the lease of {lease.holder} (epoch {lease.epoch}) ended "
                      f"{-lease.expires_in:.0f} s ago")
        return refusals(entries), levels_reached(entries), journal.watch_from(tracker), leader
    finally:
        journal.close()
        store.close()


def _journal_facts(config, tracker: str) -> tuple[dict, dict, object]:
    """(refusals, levels reached, watch_from) from the daemon's journal, when there is one to read."""
    if config.daemon.journal_url is not None:
        return _shared_journal(config, tracker)[:3]
    path = config.path(config.daemon.journal)
    if not path.exists():
        return {}, {}, None
    try:
        journal = Journal(path)
    except (OSError, sqlite3.Error) as exc:  # status goes on without it, and says so
        click.echo(f"warning: cannot read the journal {path} ({exc}): refused writes are not shown", err=True)
        return {}, {}, None
    try:
        entries = journal.entries(tracker)
        return refusals(entries), levels_reached(entries), journal.watch_from(tracker)
    finally:
        journal.close()


def _cache(key: str, use: bool) -> SnapshotCache:
    if use:
        try:
            return SnapshotCache(default_path(), key)
        except (OSError, sqlite3.Error) as exc:  # a cache that cannot be written is no cache
            click.echo(f"warning: no status cache ({exc}): reading every open incident", err=True)
    return SnapshotCache(None, key)


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The escalator's config file.")
@click.option("--project", "projects", multiple=True, metavar="KEY",
              help="Only this Jira project / Zammad group (repeatable).")
@click.option("--group", "groups", multiple=True, metavar="NAME", help="Same as --project (Zammad's word).")
@click.option("--contract", "contracts", multiple=True, help="Only this contract (repeatable).")
@click.option("--severity", "severities", multiple=True, type=click.IntRange(1, 4), help="Only this severity.")
@click.option("--json", "as_json_", is_flag=True, help="JSON instead of a table.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the headers and role names [default: the config's `language`, else en].")
@click.option("--refresh", is_flag=True, help="Read every open incident afresh, not only what changed.")
@click.option("--no-cache", is_flag=True, help="Keep no cache between runs (every run reads everything).")
@click.option("--clock", "clock_spec", envvar="ESCALATOR_CLOCK", default=None, hidden=True)
def status(config_path: Path, projects: tuple[str, ...], groups: tuple[str, ...], contracts: tuple[str, ...],
           severities: tuple[int, ...], as_json_: bool, lang: str | None, refresh: bool, no_cache: bool,
           clock_spec: str | None) -> None:
    """Open incidents by what comes first: next escalation, when (contract time), to whom, what blocks it."""
    try:
        clock = parse_clock(clock_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None
    setup = load_setup(config_path)  # every config problem at once; MANUAL steps do not stop a read
    config, procedure, mapping = setup.config, setup.procedure, setup.mapping
    lang = lang or config.language or "en"
    wanted = set(projects) | set(groups)
    unknown = sorted(wanted - set(mapping.projects)) if mapping.projects else []
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} not among the watched ({', '.join(mapping.projects)})",
                                 param_hint="--project")
    unknown = sorted(set(contracts) - set(procedure.contracts))
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} not among the procedure's contracts "
                                 f"({', '.join(sorted(procedure.contracts))})", param_hint="--contract")
    leader = None
    if config.daemon.journal_url is not None:  # several daemons: say which one leads
        refused, levels, watch_from, leader = _shared_journal(config, config.tracker.kind)
    else:
        refused, levels, watch_from = _journal_facts(config, config.tracker.kind)
    builder = QueueBuilder(procedure, config, mapping, watch_from=watch_from)
    now = clock.now()
    connector = make_connector(config.tracker_settings(), mapping)
    cache = _cache(cache_key(config.tracker.url, config.tracker.projects, mapping), not no_cache)
    try:
        items, read, full = read_open(connector, cache, now, builder.is_open, refresh=refresh)
    finally:
        cache.close()
        connector.close()
    rows = select(builder.rows(items.values(), now, refused, levels), projects=wanted, contracts=contracts,
                  severities=severities)
    if as_json_:
        click.echo(json.dumps({"tracker": config.tracker.kind, "url": config.tracker.url, "as_of": now.isoformat(),
                               **({"leader": leader} if leader else {}),
                               "read": {"tickets": read, "full": full},
                               "incidents": [as_json(r, procedure, now, lang) for r in rows]},
                              ensure_ascii=False, indent=2))
        return
    how = "a full read" if full else f"{read} changed since the last look"
    zone = ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    click.echo(f"{len(rows)} open incident(s) on {config.tracker.kind} {config.tracker.url} "
               f"({how}), as of {now.astimezone(zone).strftime('%Y-%m-%d %H:%M %z')}")
    if leader:
        click.echo(f"daemon: {leader}")
    if rows:
        click.echo(text_table(list(HEADERS[lang]), [list(cells(r, procedure, now, lang)) for r in rows]))
