"""`escalator once` on a PostgreSQL journal: it takes the lead for its pass and hands it
back, and refuses, naming the leader, while another daemon leads."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.clock import AcceleratedClock
from plugin.journal_pg import PgJournal, PgLeaseStore
from plugin.leader import Leadership
from sandbox.demo import DEMO_START, JiraSite
from sandbox.postgres import PASSWORD
from tests.pg.conftest import PASSWORD_ENV


@pytest.fixture
def site(tmp_path, pg_url):
    built = JiraSite.build(tmp_path / "jira", AcceleratedClock(DEMO_START, 1.0), env="ESCALATOR_ONCE_PG_TOKEN")
    data = yaml.safe_load(built.config_path.read_text(encoding="utf-8"))
    data["daemon"].update(journal=pg_url, journal_password={"env": PASSWORD_ENV}, lease=30)
    built.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield built
    built.stop()


def test_once_leads_for_its_pass_and_hands_the_lead_back(site, pg_url):
    severe = site.create("severity 1", 1, "24x7")  # every level due at once
    result = CliRunner().invoke(main, ["once", "--config", str(site.config_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "action(s) done" in result.output
    assert sorted(m for m in site.markers(severe) if m.startswith("escalation-")) == \
        ["escalation-L1", "escalation-L2", "escalation-L3"]
    journal = PgJournal(pg_url, PASSWORD)
    assert {e.marker for e in journal.entries("jira")} >= {"escalation-L1", "escalation-L2", "escalation-L3"}
    assert {e.epoch for e in journal.entries("jira")} == {1}
    state = PgLeaseStore(pg_url, PASSWORD).state("jira")
    assert state.epoch == 1 and state.expires_in <= 0  # released: a daemon may take it at once


def test_once_refuses_while_another_daemon_leads(site, pg_url):
    leader = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=60, holder="host-b:42:beef")
    leader.step()
    severe = site.create("severity 1", 1, "24x7")
    result = CliRunner().invoke(main, ["once", "--config", str(site.config_path)])
    assert result.exit_code == 2
    assert result.output.strip() == "error: another escalator leads tracker jira: host-b:42:beef (epoch 1); " \
                                    "`once` runs only while none does"
    assert site.markers(severe) == []
    assert PgLeaseStore(pg_url, PASSWORD).state("jira").holder == "host-b:42:beef"


def test_status_says_which_daemon_leads(site, pg_url):
    leader = Leadership(PgLeaseStore(pg_url, PASSWORD), "jira", lease=60, holder="host-b:42:beef")
    leader.step()
    site.create("severity 2", 2, "24x7")
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--no-cache"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "daemon: led by host-b:42:beef (epoch 1), lease " in result.output
    leader.stop()
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--no-cache", "--json"],
                                catch_exceptions=False)
    assert '"leader": "no daemon leads now: the lease of host-b:42:beef (epoch 1) ended ' in result.output
