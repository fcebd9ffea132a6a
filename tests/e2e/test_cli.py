"""`escalator once` and `escalator run` from the command line, against the sandbox Jira."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.clock import SteppedClock
from sandbox.demo import DEMO_START, JiraSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def jira(tmp_path):
    clock = SteppedClock.create(tmp_path / "clock", DEMO_START)
    site = JiraSite.build(tmp_path / "jira", clock, env="ESCALATOR_CLI_JIRA_TOKEN")
    site.clock = clock
    yield site
    site.stop()


def invoke(site, *args: str):
    return CliRunner().invoke(main, [*args, "--config", str(site.config_path), "--clock", site.clock.spec()],
                              catch_exceptions=False)


def test_once_dry_run_writes_nothing_then_once_does_it(jira):
    ticket = jira.create("severity 1", 1, "24x7")
    result = invoke(jira, "once", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 action(s) would be done" in result.output
    assert jira.markers(ticket) == []
    assert not (jira.folder / "journal.sqlite").exists()

    result = invoke(jira, "once")
    assert result.exit_code == 0, result.output
    assert "3 action(s) done" in result.output
    assert jira.markers(ticket) == ["escalation-L1", "escalation-L2", "escalation-L3"]
    assert (jira.folder / "journal.sqlite").exists()
    again = invoke(jira, "once")  # our own writes come back in the read: nothing more to do
    assert again.exit_code == 0 and "0 action(s) done" in again.output


def test_bad_clock_and_bad_config_are_one_line_errors(jira):
    result = CliRunner().invoke(main, ["once", "--config", str(jira.config_path), "--clock", "fast"])
    assert result.exit_code == 2 and "accelerated:<rate>:<start ISO>" in result.output
    assert "stepped:<channel file>" in result.output
    config = jira.config_path.read_text(encoding="utf-8") + "webhooks: {enabled: true}\n"
    jira.config_path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(jira.config_path)])
    assert result.exit_code == 2
    assert "webhooks.secret: webhooks are enabled but have no secret" in result.output
    assert "Traceback" not in result.output


def test_an_unusable_journal_or_port_is_a_one_line_error(jira, tmp_path):
    import socket

    import yaml
    config = yaml.safe_load(jira.config_path.read_text(encoding="utf-8"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    config["daemon"]["journal"] = str(blocker / "journal.sqlite")
    jira.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = invoke(jira, "once")
    assert result.exit_code == 2 and "error: daemon.journal: cannot open" in result.output

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config["daemon"].update(journal="journal.sqlite", metrics_port=taken.getsockname()[1])
        jira.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        result = invoke(jira, "run")
    assert result.exit_code == 2 and "error: daemon.metrics_port: cannot listen on 127.0.0.1" in result.output


def test_the_daemon_warns_once_at_start_of_a_year_without_an_official_arrangement(jira, caplog):
    # the clock in late 2039: the default cn-business calendar reaches into 2039 and 2040, which
    # neither the procedure nor the holidays package arranges; the 24x7 calendar needs nothing
    result = CliRunner().invoke(main, ["once", "--dry-run", "--config", str(jira.config_path),
                                       "--clock", "accelerated:1:2039-11-15T10:00:00+08:00"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    warned = [r for r in caplog.records if getattr(r, "event", None) == "daemon.calendar-unannounced"]
    assert len(warned) == 1
    assert warned[0].fields == {"years": "cn-business:2039,cn-business:2040"}
    assert "Add calendars.cn-business.arrangements.2040 with its days_off" in warned[0].getMessage()
    caplog.clear()
    # in 2024 the package carries the year, and 90 days ahead stay in it
    result = CliRunner().invoke(main, ["once", "--dry-run", "--config", str(jira.config_path),
                                       "--clock", "accelerated:1:2024-03-04T09:00:00+08:00"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not [r for r in caplog.records if getattr(r, "event", None) == "daemon.calendar-unannounced"]
