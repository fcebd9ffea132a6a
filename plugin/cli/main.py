"""The `escalator` command: one click group whose commands are entry points.

Every command, the daemon's own and those of packages layered above it (the sandbox
trackers' `demo` and `sandbox`), is registered the same way: an entry point in the
`escalator.commands` group (setup.cfg). The group imports a command's module only when
that command runs or its help is shown, so `escalator deadlines` does not pay for the
HTTP client, and `plugin` never imports a layer above it.

This package's own commands are also in `OWN_COMMANDS` (the same names and objects as its
entry points; `tests/test_cli_main.py` compares the two): running one of them needs no
scan of the installed distributions' entry points, whose `importlib.metadata` import is a
good part of a short command's start (issue 14). The scan runs for any other name and to
list the commands.

Logging is set up when something first imports `logging`, not before: a command that logs
nothing (`deadlines`, `procedure show`) does not import it at all.

Errors a user can cause (bad config, bad procedure, tracker refusals) end as one
clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import click

from mapping.errors import UserError

COMMANDS_GROUP = "escalator.commands"
#: name -> "module:attribute" of each command of this package (plugin/), as in setup.cfg
OWN_COMMANDS = {
    "mapping": "plugin.cli.mapping:mapping",
    "deadlines": "plugin.cli.deadlines:deadlines",
    "procedure": "plugin.cli.procedure:procedure",
    "run": "plugin.cli.daemon:run",
    "once": "plugin.cli.daemon:once",
    "report": "plugin.cli.report:report",
    "journal": "plugin.cli.journal:journal",
    "status": "plugin.cli.status:status",
}
# logging's levels, without importing it (logging.WARNING, logging.DEBUG)
_WARNING, _DEBUG = 30, 10


class _Group(click.Group):
    """Commands from the `escalator.commands` entry points, loaded on first use."""

    def _entry_points(self) -> dict[str, Any]:
        found = getattr(self, "_found", None)
        if found is None:
            from importlib import metadata

            found = {ep.name: ep for ep in metadata.entry_points(group=COMMANDS_GROUP)}
            self._found = found
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._entry_points()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in OWN_COMMANDS:
            module, _, attribute = OWN_COMMANDS[name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, name)
        elif command is None and name in self._entry_points():
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
    level = max(_WARNING - 10 * verbose, _DEBUG)
    when_imported("logging", lambda: _configure_logging(level, log_format))


def _configure_logging(level: int, log_format: str) -> None:
    from plugin import logfmt  # imports logging: only once something else has

    logfmt.configure(level, log_format)  # type: ignore[arg-type]


def when_imported(name: str, then: Callable[[], None]) -> None:
    """Call `then` now if module `name` is imported, else right after its first import completes.

    A finder placed first on `sys.meta_path` (PEP 451) answers for `name` only, once: it
    takes itself off, finds the module's spec as the import system would without it, and
    wraps its loader so that `then` runs after the module's code did — before the import
    statement that asked for it returns, so before anything can use the module.
    """
    # a later call for the same module replaces an earlier one still waiting
    sys.meta_path[:] = [f for f in sys.meta_path if not (isinstance(f, _AfterImport) and f.name == name)]
    if name in sys.modules:
        then()
        return
    sys.meta_path.insert(0, _AfterImport(name, then))


class _AfterImport:
    """A meta path finder for one module name: its spec, with `_ThenCall` as the loader."""

    def __init__(self, name: str, then: Callable[[], None]):
        self.name, self.then = name, then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenCall(spec.loader, self.then)
        return spec


class _ThenCall:
    """A module loader that calls `then` after the real loader ran the module (everything else is the real one's)."""

    def __init__(self, loader: Any, then: Callable[[], None]):
        self._loader, self._then = loader, then

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        self._then()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)
