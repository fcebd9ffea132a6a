"""The status page of a running daemon process (`escalator run` with `status_page:`), over HTTP:
the queue, and /healthz and /readyz following a revoked token and an outage, and back.

Ages are clock time (divided by the clock's rate): the test steps the shared clock from one
instant the daemon wakes at to the next until the page says what is expected."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import yaml

from sandbox.demo import TOKEN
from sandbox.server import Fault
from tests.e2e.conftest import free_port, run_until

#: how far (clock time) each change may take: far beyond the back-off's and the pass age's
WEEK = timedelta(days=7)

pytestmark = pytest.mark.e2e


def probe(url: str) -> tuple[int, str]:
    try:
        answer = requests.get(url, timeout=30)
    except requests.RequestException as exc:
        return 0, str(exc)
    return answer.status_code, answer.text


def revoke(site) -> object:
    """Take the escalator's token away on the sandbox; returns what `give_back` needs."""
    sb = site.sandbox
    with sb.lock:
        if site.kind == "jira":
            user = sb.model.users[sb.bot]
            user.token = "revoked"
            return user
        return sb.store.tokens.pop(TOKEN)


def give_back(site, held: object) -> None:
    with site.sandbox.lock:
        if site.kind == "jira":
            held.token = TOKEN
        else:
            site.sandbox.store.tokens[TOKEN] = held


def test_health_follows_a_revoked_token_and_an_outage(site, clock, start_daemon):
    port = free_port()
    data = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    data["status_page"] = {"enabled": True, "listen": f"127.0.0.1:{port}", "max_pass_age": 2, "refresh": 10}
    site.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    ticket = site.create("status page", 2, "24x7")
    base = f"http://127.0.0.1:{port}"
    daemon = start_daemon()
    daemon.wait_ready()

    def until(condition, what: str) -> None:
        run_until(clock, daemon, condition, what, by=clock.now() + WEEK)

    def healthy() -> bool:
        return probe(base + "/healthz")[0] == 200 and probe(base + "/readyz")[0] == 200

    until(healthy, "healthy")
    status, page = probe(base + "/")
    assert status == 200 and ticket.ref in page, page

    held = revoke(site)
    until(lambda: probe(base + "/healthz")[0] == 503, "unhealthy on a revoked token")
    assert "refuses the escalator" in probe(base + "/healthz")[1]
    assert probe(base + "/readyz")[0] == 503
    assert daemon.proc.poll() is None  # not an exit: retried with back-off
    give_back(site, held)
    until(healthy, "healthy again with the token back")

    site.sandbox.add_fault(Fault(path=".", status=503, times=10**6))  # the tracker goes away
    until(lambda: probe(base + "/readyz")[0] == 503, "not ready while the tracker is away")
    until(lambda: probe(base + "/healthz")[0] == 503, "unhealthy once passes stopped")
    assert "last pass" in probe(base + "/healthz")[1]
    with site.sandbox.lock:
        site.sandbox.faults.clear()
    until(healthy, "healthy again after the outage")
    assert daemon.stop() == 0
    log = daemon.output()
    for event in ("daemon.tracker-refused", "daemon.tracker-unreachable", "daemon.tracker-recovered",
                  "statuspage.listening", "daemon.pass"):
        assert event in log, event
