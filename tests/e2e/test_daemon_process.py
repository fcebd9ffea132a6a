"""The daemon as a separate process against each sandbox tracker (Jira Cloud, Zammad).

Checked on the tracker itself: escalations at their deadlines (on the stepped clock, to
the instant), a lowered severity restored, an illegal state change flagged; no duplicate
after SIGKILL with the work half done and a restart; correct through injected 429, 5xx
and timeouts; webhooks accepted and rejected.
"""

from __future__ import annotations

import json
import os
import threading

import pytest
import requests
import yaml

from connectors.factory import webhook_for
from sandbox.demo import DEMO_START
from sandbox.server import Fault
from tests.e2e.conftest import HOUR, free_port, pause, reported_at, run_until, wait_for

pytestmark = pytest.mark.e2e

LEVELS = ["escalation-L1", "escalation-L2", "escalation-L3"]
#: the escalator's notes: a Jira comment, a Zammad article
#: an escalation's note goes in one write with its level: Jira PUT /issue/{key}, Zammad PUT /tickets/{id}
NOTE_PATH = r"/issue/[^/]+$|/tickets/\d+$"
#: the client's timeout where the test is about timeouts (the sites' is far longer)
TIMEOUT = 2.0


def escalation_markers(site, s) -> list[str]:
    return sorted(m for m in site.markers(s) if m.startswith("escalation-"))


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_escalates_on_time_restores_and_flags(site, clock, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()  # seeded once it runs: its first pass finds nothing
    ladder = site.create("24x7 severity 2", 2, "24x7")  # 24x7: 4 h, 6 h, 8 h
    lowered = site.create("24x7 severity 3", 3, "24x7")
    archived = site.create("default severity 4", 4, "default")
    pause(clock, daemon)
    site.lower_severity(lowered, 4)
    site.archive(archived)
    start = reported_at(site, ladder.ticket_id)
    run_until(clock, daemon, lambda: escalation_markers(site, ladder) == LEVELS, "three escalations",
              by=start + 9 * HOUR)
    assert daemon.stop() == 0
    # each level written at its deadline: the daemon wakes for it, to the instant
    times = dict(site.note_times(ladder))
    assert [times[marker] for marker in LEVELS] == [start + offset * HOUR for offset in (4, 6, 8)]
    incident = site.read(ladder.ticket_id)
    assert incident.escalation_level == 3
    restored = site.read(lowered.ticket_id)
    assert restored.severity == 3
    assert [m for m in site.markers(lowered) if m.startswith("severity-restore-")]
    assert [m for m in site.markers(archived) if m.startswith("transition-3-7-")]
    assert site.read(archived.ticket_id).state == 7  # the default contract flags, it does not put back
    assert "daemon.escalated" in daemon.output() and "Traceback" not in daemon.output()


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_sigkill_mid_pass_then_restart_writes_nothing_twice(site, clock, start_daemon, request):
    tickets = [site.create(f"severity 1 #{i}", 1, "24x7") for i in range(12)]  # 36 escalations at once
    # the first three notes go through; the fourth is held in flight, and the daemon is killed
    # while it waits for the answer - which the tracker then gives to nobody: the note is
    # written, the daemon never heard so, and 32 escalations are left to do
    held = threading.Event()
    request.addfinalizer(held.set)  # never leave a sandbox thread waiting
    fourth = Fault(path=NOTE_PATH, method="PUT", status=0, hold=held)
    site.sandbox.add_fault(Fault(path=NOTE_PATH, method="PUT", status=0, times=3))
    site.sandbox.add_fault(fourth)
    first = start_daemon()
    wait_for(lambda: all(f is not fourth for f in site.sandbox.faults), "the fourth note in flight")
    first.kill()
    held.set()
    wait_for(lambda: sum(len(site.markers(t)) for t in tickets) == 4, "the held note written")
    pause(clock)  # the restart comes a minute later
    second = start_daemon()
    run_until(clock, second, lambda: all(escalation_markers(site, t) == LEVELS for t in tickets),
              "every escalation", by=DEMO_START + 2 * HOUR)
    assert second.stop() == 0
    for t in tickets:
        assert site.markers(t) == LEVELS  # each note exactly once
        assert site.read(t.ticket_id).escalation_level == 3


@pytest.mark.parametrize("site", ["jira"], indirect=True)
def test_a_second_daemon_on_the_same_journal_exits_at_once(site, clock, start_daemon):
    first = start_daemon()
    first.wait_ready()
    second = start_daemon(log="second.log")
    wait_for(lambda: second.proc.poll() is not None, "the second daemon to exit")
    assert second.proc.returncode == 2
    journal = site.config_path.resolve().parent / "journal.sqlite"
    message = f"another escalator is running with journal {journal} (pid {first.proc.pid})"
    logged, printed = second.output().splitlines()
    # a failed start is a log event (with its time, for a service manager's log) and the error line
    assert logged.endswith(f' ERROR daemon.start-failed error="{message}"') and printed == f"error: {message}"
    # the first goes on
    t = site.create("24x7 severity 1", 1, "24x7")
    run_until(clock, first, lambda: escalation_markers(site, t) == LEVELS, "the first daemon's escalations",
              by=DEMO_START + 3 * HOUR)
    assert first.stop() == 0
    assert site.markers(t) == LEVELS


def test_correct_through_429_5xx_and_timeouts(site, clock, start_daemon):
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["tracker"]["timeout"] = TIMEOUT
    site.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    tickets = [site.create(f"severity 1 #{i}", 1, "24x7") for i in range(3)]
    sb = site.sandbox
    sb.add_fault(Fault(path=".", status=429, times=3, retry_after=0))
    sb.add_fault(Fault(path=".", status=503, times=2))
    sb.add_fault(Fault(path=".", status=502, times=1, method="PUT"))
    # a read slower than the client's timeout (reads only: a POST that times out after
    # the server wrote it is a transport question, see the report)
    sb.add_fault(Fault(path=".", status=0, delay=TIMEOUT + 0.5, times=1, method="GET"))
    daemon = start_daemon()
    run_until(clock, daemon, lambda: all(escalation_markers(site, t) == LEVELS for t in tickets),
              "every escalation", by=DEMO_START + 24 * HOUR)  # a back-off is a real second: 4 clock hours
    assert daemon.stop() == 0
    for t in tickets:
        assert site.markers(t) == LEVELS
        assert site.read(t.ticket_id).escalation_level == 3
    assert not sb.faults  # every fault was met
    output = daemon.output()
    assert f"{site.kind}.retry" in output
    # when the faults outlast the transport's retries, the daemon backs off: each outage said
    # once, and its end once
    said = ["down" if "daemon.tracker-unreachable" in line else "up" for line in output.splitlines()
            if "daemon.tracker-unreachable" in line or "daemon.tracker-recovered" in line]
    assert said == ["down", "up"] * (len(said) // 2)


def test_webhooks_are_checked_and_wake_the_daemon(site, clock, start_daemon, tmp_path):
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
    # created after the first pass: the stepped clock stands still, so no poll comes; only
    # the webhook brings the daemon to it
    t = site.create("24x7 severity 3", 3, "24x7")
    pause(clock, daemon)  # a minute: no poll comes before the webhook (the next is 240 clock hours away)
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
    # read at once: no poll comes while the clock stands
    wait_for(lambda: site.read(t.ticket_id).severity == 3, "the severity restored after the webhook")
    metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert f'escalator_severities_restored_total{{tracker="{site.kind}"}} 1.0' in metrics
    assert f'status="2xx",tracker="{site.kind}"' in metrics  # API calls counted through the transport hook
    assert daemon.stop() == 0
    output = daemon.output()
    assert output.count("webhooks.rejected") == 2  # unsigned, badly signed
    assert "e2e-webhook-secret" not in output
