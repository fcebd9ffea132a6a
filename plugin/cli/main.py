"""The `escalator` command: one click group whose commands are entry points.

Every command, the daemon's own and those of packages layered above it (the sandbox
trackers' `demo` and `sandbox`), is registered the same way: an entry point in the
`escalator.commands` group (setup.cfg). The group imports a command's module only when
that command runs or its help is shown, so `escalator deadlines` does not pay for the
HTTP client, and `plugin` never imports a layer above it.

Errors a user can cause (bad config, bad procedure, tracker refusals) end as one
clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import logging
from importlib import metadata

import click

from mapping.errors import UserError
from plugin import logfmt

COMMANDS_GROUP = "escalator.commands"


class _Group(click.Group):
    """Commands from the `escalator.commands` entry points, loaded on first use."""

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        found = getattr(self, "_found", None)
        if found is None:
            found = {ep.name: ep for ep in metadata.entry_points(group=COMMANDS_GROUP)}
            self._found = found
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._entry_points()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self._entry_points():
            command = self._entry_points()[name].load()
            self.add_command(command, name)
        return command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            if exc.hint:
                lines[-1] += f" ({exc.hint})"
            for line in lines:
                click.echo(f"error: {line}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="ESCALATOR_LOG_FORMAT",
              help="Log lines as `time LEVEL event key=value ...` or as one JSON object each (UTC times).")
@click.version_option(package_name="incident-escalator")
def main(verbose: int, log_format: str) -> None:
    """Enforce the incident-management procedure (事件管理程序) on Jira or Zammad."""
    logfmt.configure(max(logging.WARNING - 10 * verbose, logging.DEBUG), log_format)
