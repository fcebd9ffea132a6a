"""What the daemon writes is its user's alone (0600, directories 0700); a secret file others
can read is refused in one line naming the file and the fix (plugin/private.py)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from plugin.config import ConfigError, Secret
from plugin.journal import Journal
from plugin.lockfile import JournalLock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The loosest umask a host may have: what the daemon makes is private all the same."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_the_journal_its_sidecars_and_the_lock_are_private(tmp_path: Path, open_umask) -> None:
    journal_path = tmp_path / "state" / "deep" / "escalator.sqlite"
    journal = Journal(journal_path)
    journal.cursor("jira")  # a read: SQLite has its WAL files now
    with JournalLock(journal_path) as lock:
        assert _mode(lock.path) == 0o600
    made = [p for p in journal_path.parent.iterdir()]
    assert {p.name for p in made} >= {"escalator.sqlite", "escalator.sqlite.lock"}
    assert all(_mode(p) == 0o600 for p in made), {p.name: oct(_mode(p)) for p in made}
    assert _mode(tmp_path / "state") == _mode(tmp_path / "state" / "deep") == 0o700
    journal.close()


def test_a_journal_others_could_read_is_made_private_and_said_so(tmp_path: Path, caplog) -> None:
    path = tmp_path / "escalator.sqlite"
    Journal(path).close()
    path.chmod(0o644)
    caplog.set_level(logging.WARNING, "escalator.files")
    Journal(path).close()
    assert _mode(path) == 0o600
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "files.made-private"]
    assert record.fields == {"path": str(path), "was": "0o644"}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_secret_file_others_can_read_is_refused_naming_the_fix(tmp_path: Path, mode: int) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token-value\n")
    secret.chmod(mode)
    with pytest.raises(ConfigError) as err:
        Secret(file=Path("token")).resolve("escalator.yaml: tracker.token", tmp_path)
    message = str(err.value)
    assert len(message.splitlines()) == 1
    assert str(secret) in message and f"chmod 600 {secret}" in message and f"{mode:04o}" in message
    assert "s3cret-token-value" not in message


def test_a_private_secret_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token-value\n")
    secret.chmod(0o400)
    assert Secret(file=Path("token")).resolve("tracker.token", tmp_path) == "s3cret-token-value"
