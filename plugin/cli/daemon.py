"""`escalator run` and `escalator once`: the sync daemon from the command line.

Secrets come from the config (an environment variable or a file), never from the
command line. With a PostgreSQL journal (`daemon.journal: postgresql://…`) any number of
`run`s share it and one leads (`plugin.leader`); `once` acts only when no daemon leads.
`--clock` (or $ESCALATOR_CLOCK) runs the daemon on another clock than the
system's (`plugin.clock`): an accelerated one, `accelerated:<rate>:<start ISO>[@<anchor epoch>]`,
or one that end-to-end tests step, `stepped:<channel file>`.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from connectors.factory import make_connector
from mapping.errors import UserError
from plugin.calendars import unannounced, unannounced_lines
from plugin.clock import Clock, parse_clock
from plugin.config import Config, ConfigError, load_config
from plugin.daemon import Daemon
from plugin.journal import Journal, JournalStore
from plugin.leader import DEFAULT_LEASE, JournalUnreachable, Leadership, Sole
from plugin.lockfile import AlreadyRunning, JournalLock
from plugin.metrics import Metrics
from plugin.permission_check import log_missing_permissions
from plugin.preflight import load_setup
from plugin.webhooks import WebhookReceiver

log = logging.getLogger("escalator.daemon")


def _clock(spec: str | None) -> Clock:
    try:
        return parse_clock(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None


@contextmanager
def open_daemon(config: Config, *, dry_run: bool, clock: Clock, allow_incomplete: bool = False,
                wait_for_journal: bool = False) -> Iterator[Daemon]:
    """The daemon a config describes, with its connector, journal, fence and metrics; closes them all.

    Embedded journal: one daemon per journal. The journal's lock (`plugin.lockfile`) is taken
    first and held until the daemon is closed; a second process raises `AlreadyRunning`
    before it reads or writes anything. A dry run writes nothing, not even the journal, so it
    takes no lock and needs no lead: it works on an empty journal in memory.

    PostgreSQL journal: the schema is brought up to date, the lease is looked at once before
    the daemon reads the journal, then renewed (or sought, on a standby) in a thread of its
    own; closing releases it, so a standby takes over at its next look. A server that is down
    or restarting is waited for when `wait_for_journal` (`run`: its supervisor need not
    retry), with back-off; refused credentials or a missing database end it at once.

    Then the config is checked whole (`plugin.preflight`): against the procedure and the
    mapping file, which must have no step left to the admin unless `allow_incomplete`.
    """
    with ExitStack() as stack:
        kind = config.tracker.kind
        url = None if dry_run else config.daemon.journal_url
        metrics = Metrics()
        leadership: Leadership | None = None
        journal: JournalStore
        if url is None:
            # a dry run writes nothing, not even the journal: it starts from an empty one in memory
            where = ":memory:" if dry_run else config.path(config.daemon.journal)
            if not dry_run:
                lock = JournalLock(Path(where))
                try:
                    lock.acquire()
                except OSError as exc:
                    raise ConfigError(f"daemon.journal: cannot open {where}: {exc}") from None
                stack.callback(lock.release)
            try:
                journal = Journal(where)
            except (OSError, sqlite3.Error) as exc:
                raise ConfigError(f"daemon.journal: cannot open {where}: {exc}") from None
            stack.callback(journal.close)
            fence = Sole(metrics, kind)
        else:
            lease = config.daemon.lease or DEFAULT_LEASE
            password = config.journal_password()
            # every statement within a renewal's interval, so a hung network is a missed renewal
            timeout = max(1.0, lease / 4)
            # imported here: a site on the embedded journal never loads the PostgreSQL driver
            from plugin.journal_pg import JournalSchemaError, PgLeaseStore, open_journal
            try:
                journal = pg = open_journal(url, password, timeout=timeout, wait=wait_for_journal,
                                            on_wait=_waiting_for_journal)
            except (JournalUnreachable, JournalSchemaError) as exc:
                raise ConfigError(f"daemon.journal: {exc}") from None
            stack.callback(pg.close)
            store = PgLeaseStore(url, password, timeout=timeout)
            stack.callback(store.close)
            fence = leadership = pg.fence = Leadership(store, kind, lease=lease, metrics=metrics)
            leadership.step()  # before the journal is read: a leader reads it under its lease
            leadership.start()  # renewed from now on: loading the rest may take longer than a lease
            stack.callback(leadership.stop)
        setup = load_setup(config, allow_incomplete=allow_incomplete)
        procedure, mapping = setup.procedure, setup.mapping
        # the lease is checked after every tracker response and retry back-off: the next request of
        # a daemon that lost the lead never leaves
        connector = make_connector(config.tracker_settings(), mapping,
                                   on_call=fence.after_call(metrics.on_call(kind)), sleep=fence.after_sleep(time.sleep))
        stack.callback(connector.close)
        # once at start, what `mapping check` asks: each permission the token lacks is an event; it runs on
        log_missing_permissions(config, procedure, mapping, on_call=metrics.on_call(kind))
        daemon = Daemon(connector, procedure, config, journal, clock, mapping=mapping, metrics=metrics,
                        dry_run=dry_run, fence=fence)
        if leadership is not None:
            leadership.on_change = daemon.wake  # a standby that takes the lead starts its pass at once
        _warn_unannounced(procedure, clock)
        yield daemon


def _waiting_for_journal(exc: Exception) -> None:
    logging.getLogger("escalator.daemon").warning(
        "daemon.journal-unreachable %s (waiting for it)", exc,
        extra={"event": "daemon.journal-unreachable", "fields": {"error": str(exc)}})


def _warn_unannounced(procedure, clock: Clock) -> None:
    """Once at start, one line: the years the contracts' calendars reach into without an official
    arrangement of days off (see `escalator procedure check`)."""
    lines = unannounced_lines(procedure, clock.now())
    if lines:
        years = ",".join(f"{name}:{year}" for name, _, year in unannounced(procedure, clock.now()))
        logging.getLogger("escalator.daemon").warning(
            "daemon.calendar-unannounced years=%s %s", years, " ".join(lines),
            extra={"event": "daemon.calendar-unannounced", "fields": {"years": years}})


def stop_on_signal(daemon: Daemon) -> Callable[[int, object], None]:
    """The SIGTERM/SIGINT handler: it asks the daemon to stop from a thread of its own.

    Python runs a signal handler in the main thread between two bytecodes, possibly while that
    thread holds the lock inside the very `threading.Event` the daemon waits on (in `Event.wait`
    or `clear`). `daemon.stop()` sets that Event: called from the handler, it would wait forever
    for a lock its own thread holds. Another thread takes the lock once the main thread lets go."""
    def handler(signum: int, frame: object) -> None:
        threading.Thread(target=daemon.stop, name="stop", daemon=True).start()
    return handler


def _show_events() -> None:
    # the daemon's events are its output: show them even without -v
    for name in ("escalator.daemon", "escalator.webhooks", "escalator.statuspage", "escalator.leader"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def _listen(value: str, key: str = "webhooks.listen") -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{key}: {value!r} is not host:port (e.g. 127.0.0.1:8089)")
    return host, int(port)


_options = [
    click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
                 help="The escalator's config file."),
    click.option("--dry-run", is_flag=True, help="Only log what would be done; write nothing to the tracker."),
    click.option("--allow-incomplete", is_flag=True,
                 help="Run although `mapping apply` left steps to do by hand (their tickets read as unreadable)."),
    click.option("--clock", "clock_spec", envvar="ESCALATOR_CLOCK", default=None, metavar="SPEC", hidden=True,
                 help="'system' (default), or for demos and tests 'accelerated:<rate>:<start ISO>[@<anchor>]' "
                      "or 'stepped:<channel file>'."),
]


def _with_options(f):
    for deco in reversed(_options):
        f = deco(f)
    return f


@click.command()
@_with_options
def run(config_path: Path, dry_run: bool, allow_incomplete: bool, clock_spec: str | None) -> None:
    """Enforce the procedure until stopped (SIGTERM finishes the write in flight, then exits)."""
    clock = _clock(clock_spec)
    _show_events()
    try:
        _run(config_path, dry_run=dry_run, allow_incomplete=allow_incomplete, clock=clock)
    except UserError as exc:
        # under a service manager the log is what is read: a failed start is an event with its time,
        # besides the `error:` line the command prints
        for line in str(exc).splitlines() or [type(exc).__name__]:
            log.error("daemon.start-failed", extra={"event": "daemon.start-failed", "fields": {"error": line}})
        raise


def _run(config_path: Path, *, dry_run: bool, allow_incomplete: bool, clock: Clock) -> None:
    config = load_config(config_path)
    secret = None
    if config.webhooks.enabled:
        if config.webhooks.secret is None:
            raise ConfigError(f"{config_path}: webhooks.secret: webhooks are enabled but have no secret "
                              "(give `env` or `file`)")
        secret = config.webhooks.secret.resolve("webhooks.secret", config.base_dir)
    with open_daemon(config, dry_run=dry_run, clock=clock, allow_incomplete=allow_incomplete,
                     wait_for_journal=True) as daemon:
        previous = {signum: signal.signal(signum, stop_on_signal(daemon))
                    for signum in (signal.SIGTERM, signal.SIGINT)}
        receiver = page = None
        try:
            if config.status_page.enabled:
                # imported when asked for: Jinja2 and the page cost every start a few hundred ms
                from plugin.statuspage import StatusServer

                host, port = _listen(config.status_page.listen, "status_page.listen")
                page = StatusServer(daemon, host=host, port=port, refresh=config.status_page.refresh)
                try:
                    page.start()
                except OSError as exc:
                    page = None
                    raise ConfigError(f"status_page.listen: cannot listen on {host}:{port}: {exc.strerror}") from None
            if config.daemon.metrics_port is not None:
                try:
                    port = daemon.metrics.serve(config.daemon.metrics_port, config.daemon.metrics_host)
                except OSError as exc:
                    raise ConfigError(f"daemon.metrics_port: cannot listen on {config.daemon.metrics_host}:"
                                      f"{config.daemon.metrics_port}: {exc.strerror}") from None
                log.info(
                    "daemon.metrics-listening port=%s", port,
                    extra={"event": "daemon.metrics-listening", "fields": {"port": port}})
            if secret is not None:
                host, port = _listen(config.webhooks.listen)
                receiver = WebhookReceiver(secret, lambda _tracker, ticket: daemon.wake(ticket), host=host,
                                           port=port, trackers=(config.tracker.kind,))
                try:
                    receiver.start()
                except OSError as exc:
                    receiver = None
                    raise ConfigError(f"webhooks.listen: cannot listen on {host}:{port}: {exc.strerror}") from None
            daemon.run()
        finally:
            if receiver is not None:
                receiver.stop()
            if page is not None:
                page.stop()
            daemon.metrics.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@click.command()
@_with_options
def once(config_path: Path, dry_run: bool, allow_incomplete: bool, clock_spec: str | None) -> None:
    """One pass, then exit (for cron and debugging)."""
    config = load_config(config_path)
    clock = _clock(clock_spec)
    _show_events()
    with open_daemon(config, dry_run=dry_run, clock=clock, allow_incomplete=allow_incomplete) as daemon:
        if daemon.fence.term() is None:
            raise AlreadyRunning(f"another escalator leads tracker {daemon.tracker}: {daemon.fence.leader_text()}; "
                                 "`once` runs only while none does")
        stats = daemon.run_once()
    verb = "would be done" if dry_run else "done"
    # an unreadable ticket is reported and skipped: it is not an action
    unreadable = sum(1 for e in stats.events if e.kind == "unreadable")
    click.echo(f"{stats.read} ticket(s) read, {len(stats.events) - unreadable} action(s) {verb}, "
               f"{unreadable} unreadable, {stats.errors} refused.")
    if stats.errors:
        raise SystemExit(1)
