"""The `escalator` group: its table of this package's commands is setup.cfg's, and logging is set up
when something first imports it (a command that logs nothing does not import it)."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

from plugin.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent


def _setup_cfg_commands() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = parser["options.entry_points"][cli_main.COMMANDS_GROUP].strip().splitlines()
    return {name.strip(): target.strip() for name, _, target in (line.partition("=") for line in lines)}


def test_the_table_of_own_commands_is_setup_cfgs():
    declared = _setup_cfg_commands()
    own = {name: target for name, target in declared.items() if target.startswith("plugin.")}
    assert cli_main.OWN_COMMANDS == own
    assert set(declared) - set(own) == {"demo", "sandbox"}  # the sandbox layer's: found as entry points


def test_a_command_from_the_table_is_the_entry_points_object():
    installed = {ep.name: ep for ep in metadata.entry_points(group=cli_main.COMMANDS_GROUP)}
    for name in cli_main.OWN_COMMANDS:
        assert cli_main.main.get_command(None, name) is installed[name].load(), name  # type: ignore[arg-type]
    assert set(cli_main.main.list_commands(None)) == set(installed)  # type: ignore[arg-type]


_PROBE = textwrap.dedent("""
    import sys
    import click
    from plugin.cli.main import main

    @click.command()
    def probe():
        print("logging" in sys.modules, file=sys.stderr)
        import logging
        logging.getLogger("probe").warning("ignored", extra={"event": "probe.logged", "n": 1})

    main.add_command(probe)
    main(sys.argv[1:], prog_name="escalator")
""")


def test_logging_is_set_up_when_first_imported():
    done = subprocess.run([sys.executable, "-c", _PROBE, "--log-format", "json", "probe"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, line = done.stderr.strip().splitlines()[-2:]
    assert before == "False"  # nothing had imported logging before the command did
    record = json.loads(line)  # in the format asked for, at the level asked for
    assert (record["level"], record["event"], record["n"]) == ("WARNING", "probe.logged", 1)


def test_when_imported_runs_after_the_module_and_once(tmp_path, monkeypatch):
    (tmp_path / "late_module.py").write_text("VALUE = 41\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[int] = []
    cli_main.when_imported("late_module", lambda: seen.append(sys.modules["late_module"].VALUE + 1))
    cli_main.when_imported("late_module", lambda: seen.append(sys.modules["late_module"].VALUE))  # replaces it
    assert seen == []
    try:
        import late_module  # noqa: F401

        assert seen == [41]
        assert not [f for f in sys.meta_path if isinstance(f, cli_main._AfterImport)]
        cli_main.when_imported("late_module", lambda: seen.append(0))  # imported already: now
        assert seen == [41, 0]
    finally:
        sys.modules.pop("late_module", None)
