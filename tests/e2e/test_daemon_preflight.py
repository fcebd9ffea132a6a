"""The daemon asks, at start, what its token may not do (`plugin.permission_check`), logs each gap once
as `daemon.permission-missing`, and runs anyway."""

from __future__ import annotations

import logging

import pytest

from plugin.cli.daemon import open_daemon
from plugin.clock import ManualClock
from sandbox.demo import DEMO_START, JiraSite
from sandbox.jira.permissions import BotProfile
from sandbox.server import Fault

pytestmark = pytest.mark.e2e


def _events(caplog, name: str) -> list[dict]:
    return [r.fields for r in caplog.records if getattr(r, "event", None) == name]


def test_each_missing_permission_is_one_event_at_start_and_the_daemon_runs_on(tmp_path, caplog) -> None:
    clock = ManualClock(DEMO_START)
    site = JiraSite.build(tmp_path / "jira", clock, bot=BotProfile(lacks={"TRANSITION_ISSUES"}))
    try:
        s = site.create("core switch down", 1, "24x7")
        caplog.set_level(logging.INFO, logger="escalator")
        with open_daemon(site.config, dry_run=False, clock=clock) as daemon:
            missing = _events(caplog, "daemon.permission-missing")
            assert sorted((e["permission"], e["where"]) for e in missing) == [
                ("TRANSITION_ISSUES", "NOC"), ("TRANSITION_ISSUES", "OPS")]
            assert all(e["breaks"] == "an illegal status change cannot be put back; it is flagged in a note "
                                      "instead" and e["blocking"] is False for e in missing)
            assert site.sandbox.calls_to("/mypermissions$") == 2  # once per mapped project, at start only
            daemon.run_pass(poll=True)
            daemon.run_pass(poll=True)
        assert site.sandbox.calls_to("/mypermissions$") == 2
        assert len(_events(caplog, "daemon.permission-missing")) == 2
        assert site.markers(s) == ["escalation-L1", "escalation-L2", "escalation-L3"]
    finally:
        site.stop()


def test_a_preflight_the_tracker_will_not_answer_is_one_event_and_the_daemon_runs_on(tmp_path, caplog) -> None:
    clock = ManualClock(DEMO_START)
    site = JiraSite.build(tmp_path / "jira", clock)
    try:
        s = site.create("core switch down", 1, "24x7")
        site.sandbox.add_fault(Fault("/mypermissions$", status=404, times=1,
                                     body={"errorMessages": ["No such resource"], "errors": {}}))
        caplog.set_level(logging.INFO, logger="escalator")
        with open_daemon(site.config, dry_run=False, clock=clock) as daemon:
            [failed] = _events(caplog, "daemon.preflight-failed")
            assert "HTTP 404" in failed["error"] and failed["tracker"] == "jira"
            assert _events(caplog, "daemon.permission-missing") == []
            daemon.run_pass(poll=True)
        assert site.markers(s) == ["escalation-L1", "escalation-L2", "escalation-L3"]
    finally:
        site.stop()


def test_a_bot_with_every_permission_logs_no_gap(tmp_path, caplog) -> None:
    clock = ManualClock(DEMO_START)
    site = JiraSite.build(tmp_path / "jira", clock)
    try:
        caplog.set_level(logging.INFO, logger="escalator")
        with open_daemon(site.config, dry_run=True, clock=clock):
            pass
        assert site.sandbox.calls_to("/mypermissions$") == 2
        assert _events(caplog, "daemon.permission-missing") == [] == _events(caplog, "daemon.preflight-failed")
    finally:
        site.stop()
