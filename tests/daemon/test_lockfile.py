"""One daemon per journal: the lock beside the journal, and the one-line refusal of a second one."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.lockfile import AlreadyRunning, JournalLock

CONFIG = """tracker: {kind: jira, url: http://jira.invalid, email: bot@example.com, token: {env: UNUSED}, projects: [OPS]}
daemon: {journal: state/journal.sqlite}
"""


def test_a_second_lock_on_the_same_journal_is_refused_until_the_first_is_released(tmp_path):
    journal = tmp_path / "state" / "journal.sqlite"
    with JournalLock(journal) as first:
        assert first.path == tmp_path / "state" / "journal.sqlite.lock"
        assert first.path.read_text(encoding="ascii") == f"{os.getpid()}\n"
        with pytest.raises(AlreadyRunning) as caught:
            JournalLock(journal).acquire()
        assert str(caught.value) == f"another escalator is running with journal {journal} (pid {os.getpid()})"
        with JournalLock(tmp_path / "other.sqlite"):  # another journal: another lock
            pass
    with JournalLock(journal):  # released: the next one gets it (the file stays)
        pass


@pytest.mark.parametrize("command", ["once", "run"])
def test_the_cli_refuses_a_second_daemon_in_one_line(tmp_path, command):
    config = tmp_path / "escalator.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    journal = tmp_path / "state" / "journal.sqlite"
    with JournalLock(journal):
        result = CliRunner().invoke(main, [command, "--config", str(config)])
    assert result.exit_code == 2
    assert result.output == f"error: another escalator is running with journal {journal} (pid {os.getpid()})\n"
