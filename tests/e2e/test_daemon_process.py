"""The daemon as a separate process against each sandbox tracker (Jira Cloud, Zammad).

Checked on the tracker itself: escalations at the right (accelerated) times, a lowered
severity restored, an illegal state change flagged; no duplicate after SIGKILL and a
restart; correct through injected 429, 5xx and timeouts; webhooks accepted and rejected.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
import requests
import yaml

from connectors.factory import webhook_for
from sandbox.server import Fault
from tests.e2e.conftest import HOUR, free_port, reported_at, wait_for

pytestmark = pytest.mark.e2e

LEVELS = ["escalation-L1", "escalation-L2", "escalation-L3"]
#: how late a note may be, in clock time: at four clock hours a second, 30 min is 0.45 s
LATE = timedelta(minutes=30)


def escalation_markers(site, s) -> list[str]:
    return sorted(m for m in site.markers(s) if m.startswith("escalation-"))


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_escalates_on_time_restores_and_flags(site, clock, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()  # a process takes a few clock hours to start: seed once it runs
    ladder = site.create("24x7 severity 2", 2, "24x7")  # 24x7: 4 h, 6 h, 8 h
    lowered = site.create("24x7 severity 3", 3, "24x7")
    archived = site.create("default severity 4", 4, "default")
    site.lower_severity(lowered, 4)
    site.archive(archived)
    wait_for(lambda: escalation_markers(site, ladder) == LEVELS, 15, "three escalations")
    assert daemon.stop() == 0
    # each level written when its deadline passed (not before, and within seconds of real time)
    start = reported_at(site, ladder.ticket_id)
    times = dict(site.note_times(ladder))
    for marker, offset in zip(LEVELS, (4, 6, 8), strict=True):
        assert start + offset * HOUR <= times[marker] <= start + offset * HOUR + LATE, marker
    incident = site.read(ladder.ticket_id)
    assert incident.escalation_level == 3
    restored = site.read(lowered.ticket_id)
    assert restored.severity == 3
    assert [m for m in site.markers(lowered) if m.startswith("severity-restore-")]
    assert [m for m in site.markers(archived) if m.startswith("transition-3-7-")]
    assert site.read(archived.ticket_id).state == 7  # the default contract flags, it does not put back
    assert "daemon.escalated" in daemon.output() and "Traceback" not in daemon.output()


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_sigkill_mid_pass_then_restart_writes_nothing_twice(site, start_daemon):
    tickets = [site.create(f"severity 1 #{i}", 1, "24x7") for i in range(12)]  # 36 escalations at once
    first = start_daemon()
    wait_for(lambda: sum(len(site.markers(t)) for t in tickets) >= 3, 20, "the first notes")
    first.kill()
    done = sum(len(site.markers(t)) for t in tickets)
    assert done < 36, "the pass finished before the kill: nothing was interrupted"
    second = start_daemon()
    wait_for(lambda: all(escalation_markers(site, t) == LEVELS for t in tickets), 30, "every escalation")
    assert second.stop() == 0
    for t in tickets:
        assert site.markers(t) == LEVELS  # each note exactly once
        assert site.read(t.ticket_id).escalation_level == 3


@pytest.mark.parametrize("site", ["jira"], indirect=True)
def test_a_second_daemon_on_the_same_journal_exits_at_once(site, start_daemon):
    first = start_daemon()
    first.wait_ready()
    second = start_daemon(log="second.log")
    assert second.proc.wait(20) == 2
    journal = site.config_path.resolve().parent / "journal.sqlite"
    message = f"another escalator is running with journal {journal} (pid {first.proc.pid})"
    logged, printed = second.output().splitlines()
    # a failed start is a log event (with its time, for a service manager's log) and the error line
    assert logged.endswith(f' ERROR daemon.start-failed error="{message}"') and printed == f"error: {message}"
    # the first goes on
    t = site.create("24x7 severity 1", 1, "24x7")
    wait_for(lambda: escalation_markers(site, t) == LEVELS, 15, "the first daemon's escalations")
    assert first.stop() == 0
    assert site.markers(t) == LEVELS


def test_correct_through_429_5xx_and_timeouts(site, start_daemon):
    tickets = [site.create(f"severity 1 #{i}", 1, "24x7") for i in range(3)]
    sb = site.sandbox
    sb.add_fault(Fault(path=".", status=429, times=3, retry_after=0))
    sb.add_fault(Fault(path=".", status=503, times=2))
    sb.add_fault(Fault(path=".", status=502, times=1, method="PUT"))
    # a read slower than the client's 1 s timeout (reads only: a POST that times out after
    # the server wrote it is a transport question, see the report)
    sb.add_fault(Fault(path=".", status=0, delay=1.2, times=1, method="GET"))
    daemon = start_daemon()
    wait_for(lambda: all(escalation_markers(site, t) == LEVELS for t in tickets), 40, "every escalation")
    assert daemon.stop() == 0
    for t in tickets:
        assert site.markers(t) == LEVELS
        assert site.read(t.ticket_id).escalation_level == 3
    assert not sb.faults  # every fault was met
    output = daemon.output()
    assert f"{site.kind}.retry" in output
    # when the faults outlast the transport's retries, the daemon backs off: said once, recovered once
    assert output.count("daemon.tracker-unreachable") == output.count("daemon.tracker-recovered") <= 1


def test_webhooks_are_checked_and_wake_the_daemon(site, start_daemon, tmp_path):
    os.environ["ESCALATOR_E2E_WEBHOOK_SECRET"] = "e2e-webhook-secret"
    port, metrics_port = free_port(), free_port()
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["daemon"].update(poll_interval=60.0, metrics_port=metrics_port)
    config["webhooks"] = {"enabled": True, "listen": f"127.0.0.1:{port}",
                          "secret": {"env": "ESCALATOR_E2E_WEBHOOK_SECRET"}}
    site.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    daemon = start_daemon()
    url = f"http://127.0.0.1:{port}/webhooks/{site.kind}"
    daemon.wait_ready()  # the receiver starts before the first pass
    # created after the first pass: with a 60 s poll, only the webhook brings the daemon to it
    t = site.create("24x7 severity 3", 3, "24x7")
    site.lower_severity(t, 4)
    payload = ({"webhookEvent": "jira:issue_updated", "issue": {"id": t.ticket_id, "key": t.ref}}
               if site.kind == "jira" else {"ticket": {"id": int(t.ticket_id)}})
    body = json.dumps(payload).encode()
    assert requests.post(url, data=body, timeout=5).status_code == 401
    assert requests.post(url, data=body, timeout=5,
                         headers={"X-Hub-Signature": webhook_for(site.kind).sign("wrong-secret", body)}).status_code == 403
    assert site.read(t.ticket_id).severity == 4  # nothing read or written for a rejected call
    good = requests.post(url, data=body, timeout=5,
                         headers={"X-Hub-Signature": webhook_for(site.kind).sign("e2e-webhook-secret", body)})
    assert good.status_code == 202
    # read at once: long before the 60 s poll interval
    wait_for(lambda: site.read(t.ticket_id).severity == 3, 5, "the severity restored after the webhook")
    metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert f'escalator_severities_restored_total{{tracker="{site.kind}"}} 1.0' in metrics
    assert f'status="2xx",tracker="{site.kind}"' in metrics  # API calls counted through the transport hook
    assert daemon.stop() == 0
    output = daemon.output()
    assert output.count("webhooks.rejected") == 2  # unsigned, badly signed
    assert "e2e-webhook-secret" not in output
