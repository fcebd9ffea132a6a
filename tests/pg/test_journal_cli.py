"""`escalator journal migrate` and `escalator journal leader`, and the config of a
PostgreSQL journal, against the suite's own server."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from connectors.base import Cursor
from plugin.cli.main import main
from plugin.config import ConfigError, load_config
from plugin.journal import Journal
from plugin.journal_pg import PgJournal, PgLeaseStore
from plugin.leader import Leadership
from plugin.lockfile import JournalLock
from sandbox.postgres import PASSWORD
from tests.pg.conftest import PASSWORD_ENV

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def write_config(tmp_path, journal: str, *, password: bool = True, extra: str = ""):
    path = tmp_path / "escalator.yaml"
    secret = f"\n  journal_password: {{env: {PASSWORD_ENV}}}" if password else ""
    path.write_text("tracker: {kind: jira, url: http://jira.invalid, email: bot@example.com, token: {env: UNUSED}, "
                    f"projects: [OPS]}}\ndaemon:\n  journal: '{journal}'{secret}{extra}\n", encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def old_journal(tmp_path):
    path = tmp_path / "old.sqlite"
    j = Journal(path)
    j.save_cursor("jira", Cursor(since=T0, seen={"10001": T0.isoformat()}))
    j.start_watching("jira", T0 - timedelta(days=30))
    j.set_due("jira", "10001", "OPS-1", T0 + timedelta(hours=4))
    j.set_due("jira", "10002", "OPS-2", T0 + timedelta(hours=6))
    j.record("jira", "10001", "OPS-1", "escalation-L1", "escalate", "done", T0, {"people": ["李经理"], "lag": 1.5})
    j.record("jira", "duty", "OPS-1", "pm_digest:default:2026-03-01:pm-li", "duty-pm_digest", "done", T0)
    j.duty_done("jira", "pm_digest:default", "pm_digest:default:2026-03-01", T0)
    j.close()
    return path


def test_migrate_copies_every_row_and_the_daemon_reads_the_same_journal(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url)
    source = old_journal(tmp_path)
    result = run("journal", "migrate", "--config", str(config), "--from", str(source))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "jira: 1 cursor, 2 deadline(s), 2 action(s), 1 duty period(s), watch_from 2026-01-31T09:00:00+08:00",
        f"copied {source} into {pg_url}; point daemon.journal at it and start the daemons"]
    old, new = Journal(source), PgJournal(pg_url, PASSWORD)
    assert new.cursor("jira") == old.cursor("jira")
    assert new.watch_from("jira") == old.watch_from("jira")
    assert new.schedule("jira") == old.schedule("jira")
    assert new.duties_done("jira") == old.duties_done("jira")
    assert [(e.ticket_id, e.marker, e.kind, e.outcome, e.at, e.detail) for e in new.entries()] == \
        [(e.ticket_id, e.marker, e.kind, e.outcome, e.at, e.detail) for e in old.entries()]
    assert new.done("jira", "10001", "escalation-L1")
    # twice is refused: nothing is mixed into a journal that has rows for the tracker
    again = CliRunner().invoke(main, ["journal", "migrate", "--config", str(config), "--from", str(source)])
    assert again.exit_code == 2
    assert again.output.strip() == f"error: daemon.journal: {pg_url} already holds a journal for jira: " \
                                   "migrate into an empty one"
    assert len(new.entries()) == 2


def test_migrate_refuses_while_a_daemon_runs_on_either_journal(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url)
    source = old_journal(tmp_path)
    with JournalLock(source):  # `escalator run` still on the SQLite file
        result = CliRunner().invoke(main, ["journal", "migrate", "--config", str(config), "--from", str(source)])
    assert result.exit_code == 2 and "another escalator is running with journal" in result.output
    leader = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=60, holder="host-b:42:beef")
    leader.step()  # a daemon already leads jira on PostgreSQL
    result = CliRunner().invoke(main, ["journal", "migrate", "--config", str(config), "--from", str(source)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: daemon.journal: host-b:42:beef leads tracker jira on {pg_url}: " \
                                    "stop every daemon on it before migrating"
    assert PgJournal(pg_url, PASSWORD).entries() == []


def test_leader_says_who_leads_and_exits_1_when_nobody_does(pg_url, tmp_path):
    config = write_config(tmp_path, pg_url)
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert (result.exit_code, result.output) == (1, "jira: no daemon has led it on this journal yet\n")
    leader = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=60, holder="host-a:7:cafe")
    leader.step()
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert result.exit_code == 0
    assert result.output.startswith("jira: led by host-a:7:cafe, epoch 1, since ")
    assert " s left" in result.output
    leader.stop()  # a clean stop ends the lease at once
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith("jira: nobody leads — the lease of host-a:7:cafe (epoch 1) ended ")


def test_the_commands_need_a_postgres_journal_and_its_password(pg_url, tmp_path, monkeypatch):
    config = write_config(tmp_path, "journal.sqlite", password=False)
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert result.exit_code == 2
    assert "error: " in result.output and "journal.sqlite is an SQLite file" in result.output
    monkeypatch.delenv(PASSWORD_ENV)
    config = write_config(tmp_path, pg_url)
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {config}: daemon.journal_password: environment variable " \
                                    f"{PASSWORD_ENV} is not set"
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    result = CliRunner().invoke(main, ["journal", "leader", "--config", str(config)])
    assert result.exit_code == 2
    assert "password authentication failed" in result.output and "not-the-password" not in result.output


def test_a_password_in_the_url_is_refused_without_echoing_it(tmp_path):
    config = write_config(tmp_path, "postgresql://escalator:s3cret-pw@db.example:5432/escalator", password=False)
    try:
        load_config(config)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("a password in the URL was accepted")
    assert message.startswith(f"{config}:") and message.endswith(
        " daemon.journal: the URL holds a password: give it with daemon.journal_password "
        "({env: VARIABLE} or {file: PATH}), never in the file")
    assert "s3cret" not in message
    config = write_config(tmp_path, "journal.sqlite", password=False, extra="\n  lease: 5")
    try:
        load_config(config)
    except ConfigError as exc:
        assert str(exc).startswith(f"{config}:") and str(exc).endswith(
            " lease: only for a PostgreSQL journal (daemon.journal: postgresql://…); an SQLite journal has one daemon")
    else:
        raise AssertionError("a lease with an SQLite journal was accepted")
