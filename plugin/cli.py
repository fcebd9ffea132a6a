"""The `escalator` command: one click group; each area adds its commands from its own module.

Errors a user can cause (bad config, bad procedure, tracker refusals) end as one
clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import logging

import click

from connectors.http import TrackerError, Unreachable
from mapping.fieldmap import MappingFileError
from mapping.loader import ProcedureError
from plugin import logfmt
from plugin.config import ConfigError
from plugin.lockfile import AlreadyRunning

USER_ERRORS = (ConfigError, ProcedureError, MappingFileError, TrackerError, AlreadyRunning)


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            if isinstance(exc, Unreachable):
                lines[-1] += " (check tracker.url in the config file, and that the tracker is up)"
            for line in lines:
                click.echo(f"error: {line}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="incident-escalator")
def main(verbose: int) -> None:
    """Enforce the incident-management procedure (事件管理程序) on Jira or Zammad."""
    logfmt.configure(max(logging.WARNING - 10 * verbose, logging.DEBUG))


def _register() -> None:
    # each area keeps its commands in its own module
    from plugin import cli_mapping

    main.add_command(cli_mapping.mapping)
    from plugin import cli_deadlines
    main.add_command(cli_deadlines.deadlines)
    from plugin import cli_procedure
    main.add_command(cli_procedure.procedure)
    from plugin import cli_daemon
    cli_daemon.register(main)
    from plugin import cli_report
    main.add_command(cli_report.report)


_register()
