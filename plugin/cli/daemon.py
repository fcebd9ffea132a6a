"""`escalator run`, `escalator once` and `escalator demo`: the sync daemon from the command line.

Secrets come from the config (an environment variable or a file), never from the
command line. `--clock` (or $ESCALATOR_CLOCK) runs the daemon on an accelerated clock,
for the demo and end-to-end tests: `accelerated:<rate>:<start ISO>[@<anchor epoch>]`.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from connectors.factory import make_connector
from mapping.fieldmap import TrackerMapping
from mapping.loader import load_procedure
from plugin.clock import Clock, parse_clock
from plugin.config import Config, ConfigError, load_config
from plugin.daemon import Daemon
from plugin.journal import Journal
from plugin.lockfile import JournalLock
from plugin.metrics import Metrics
from plugin.preflight import log_missing_permissions
from plugin.webhooks import WebhookReceiver


def _clock(spec: str | None) -> Clock:
    try:
        return parse_clock(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None


@contextmanager
def open_daemon(config: Config, *, dry_run: bool, clock: Clock) -> Iterator[Daemon]:
    """The daemon a config describes, with its connector, journal and metrics; closes them all.

    One daemon per journal: the journal's lock (`plugin.lockfile`) is taken first and held
    until the daemon is closed; a second process raises `AlreadyRunning` before it reads or
    writes anything. A dry run writes nothing, not even the journal, so it takes no lock.
    Then, once, the permission preflight `mapping check` runs (`plugin.preflight`): each
    permission the token lacks is logged as `daemon.permission-missing`, and the daemon starts anyway.
    """
    with ExitStack() as stack:
        # a dry run writes nothing, not even the journal: it starts from an empty one in memory
        where = ":memory:" if dry_run else config.path(config.daemon.journal)
        if not dry_run:
            lock = JournalLock(Path(where))
            try:
                lock.acquire()
            except OSError as exc:
                raise ConfigError(f"daemon.journal: cannot open {where}: {exc}") from None
            stack.callback(lock.release)
        procedure = load_procedure(config.path(config.procedure) if config.procedure else None)
        mapping = TrackerMapping.load(config.path(config.mapping_file))
        metrics = Metrics()
        connector = make_connector(config.tracker_settings(), mapping, on_call=metrics.on_call(config.tracker.kind))
        stack.callback(connector.close)
        try:
            journal = Journal(where)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"daemon.journal: cannot open {where}: {exc}") from None
        stack.callback(journal.close)
        log_missing_permissions(config, procedure, mapping, on_call=metrics.on_call(config.tracker.kind))
        yield Daemon(connector, procedure, config, journal, clock, mapping=mapping, metrics=metrics,
                     dry_run=dry_run)


def _show_events() -> None:
    # the daemon's events are its output: show them even without -v
    for name in ("escalator.daemon", "escalator.webhooks"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"webhooks.listen: {value!r} is not host:port (e.g. 127.0.0.1:8089)")
    return host, int(port)


_options = [
    click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
                 help="The escalator's config file."),
    click.option("--dry-run", is_flag=True, help="Only log what would be done; write nothing to the tracker."),
    click.option("--clock", "clock_spec", envvar="ESCALATOR_CLOCK", default=None, metavar="SPEC", hidden=True,
                 help="'system' (default) or 'accelerated:<rate>:<start ISO>[@<anchor>]' for demos and tests."),
]


def _with_options(f):
    for deco in reversed(_options):
        f = deco(f)
    return f


@click.command()
@_with_options
def run(config_path: Path, dry_run: bool, clock_spec: str | None) -> None:
    """Enforce the procedure until stopped (SIGTERM finishes the write in flight, then exits)."""
    config = load_config(config_path)
    clock = _clock(clock_spec)
    _show_events()
    secret = None
    if config.webhooks.enabled:
        if config.webhooks.secret is None:
            raise ConfigError(f"{config_path}: webhooks.secret: webhooks are enabled but have no secret "
                              "(give `env` or `file`)")
        secret = config.webhooks.secret.resolve("webhooks.secret", config.base_dir)
    with open_daemon(config, dry_run=dry_run, clock=clock) as daemon:
        previous = {signum: signal.signal(signum, lambda *_: daemon.stop())
                    for signum in (signal.SIGTERM, signal.SIGINT)}
        receiver = None
        try:
            if config.daemon.metrics_port is not None:
                try:
                    port = daemon.metrics.serve(config.daemon.metrics_port, config.daemon.metrics_host)
                except OSError as exc:
                    raise ConfigError(f"daemon.metrics_port: cannot listen on {config.daemon.metrics_host}:"
                                      f"{config.daemon.metrics_port}: {exc.strerror}") from None
                logging.getLogger("escalator.daemon").info(
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
            daemon.metrics.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@click.command()
@_with_options
def once(config_path: Path, dry_run: bool, clock_spec: str | None) -> None:
    """One pass, then exit (for cron and debugging)."""
    config = load_config(config_path)
    clock = _clock(clock_spec)
    _show_events()
    with open_daemon(config, dry_run=dry_run, clock=clock) as daemon:
        stats = daemon.run_once()
    verb = "would be done" if dry_run else "done"
    # an unreadable ticket is reported and skipped: it is not an action
    unreadable = sum(1 for e in stats.events if e.kind == "unreadable")
    click.echo(f"{stats.read} ticket(s) read, {len(stats.events) - unreadable} action(s) {verb}, "
               f"{unreadable} unreadable, {stats.errors} refused.")
    if stats.errors:
        raise SystemExit(1)
