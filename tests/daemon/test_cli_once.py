"""`escalator once`'s one-line summary: actions and unreadable tickets are counted apart."""

from __future__ import annotations

from contextlib import contextmanager

from click.testing import CliRunner

from plugin.cli import daemon as cli_daemon
from plugin.cli.main import main
from tests.daemon.conftest import incident

CONFIG = """tracker: {kind: jira, url: http://jira.invalid, email: bot@example.com, token: {env: UNUSED}, projects: [OPS]}
"""


def test_once_counts_an_unreadable_ticket_apart_from_the_actions(world, tmp_path, monkeypatch):
    world.tracker.add(incident("1", severity=1))  # three escalations due
    world.tracker.add(incident("2", severity=1))
    world.tracker.ticket("2").unreadable = "severity option 10107 maps to no severity"
    world.tracker.add(incident("3", severity=4))  # nothing due

    @contextmanager
    def fake_open(config, *, dry_run, clock, allow_incomplete=False):
        yield world.daemon(dry_run=dry_run)

    monkeypatch.setattr(cli_daemon, "open_daemon", fake_open)
    path = tmp_path / "escalator.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(main, ["once", "--config", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "3 ticket(s) read, 3 action(s) done, 1 unreadable, 0 refused."
