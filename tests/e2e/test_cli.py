"""`escalator once` and `escalator run` from the command line, against the sandbox Jira."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from plugin.cli import main
from plugin.clock import AcceleratedClock
from plugin.demo import DEMO_START, JiraSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def jira(tmp_path):
    clock = AcceleratedClock(DEMO_START, 60.0)
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
    config = jira.config_path.read_text(encoding="utf-8") + "webhooks: {enabled: true}\n"
    jira.config_path.write_text(config, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(jira.config_path)])
    assert result.exit_code == 2
    assert "webhooks.secret: webhooks are enabled but have no secret" in result.output
    assert "Traceback" not in result.output
