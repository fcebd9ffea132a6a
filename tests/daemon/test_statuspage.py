"""The daemon's status page and probes, over HTTP: the queue, the last actions, the duties, and
/healthz and /readyz turning red when passes stop or the token is revoked, green again after."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from connectors.http import AuthError, Unreachable
from plugin.statuspage import StatusPage, StatusServer
from tests.daemon.conftest import incident


@pytest.fixture
def served(world):
    world.tracker.add(incident("1", severity=1))  # three levels due at once
    world.tracker.add(incident("2", severity=2))  # the project manager in 4 h (24x7)
    world.tracker.add(incident("3", severity=3, state=5))  # paused
    daemon = world.daemon(poll_interval=60)
    server = StatusServer(daemon, refresh=15)
    server.start()
    yield world, daemon, server
    server.stop()



def revoke(world) -> None:
    """The token is refused (401) on every read."""
    world.tracker.fail("search", 401)
    world.tracker.fail("read_one", 401)


def get(server, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=5)


def test_the_page_shows_the_queue_the_last_actions_and_the_health(served):
    world, daemon, server = served
    daemon.cycle()
    page = get(server, "/")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<meta http-equiv="refresh" content="15">' in html and 'name="viewport"' in html
    assert "healthy: last pass 0 s ago" in html and "ready: the tracker answered the last pass" in html
    assert 'Leader: <span id="leader">this daemon (embedded journal)</span>' in html
    # the queue, what comes first first: OPS-2's level 1 in 4 h, then OPS-1 (every level done: the journal
    # knows before the next read does) and the paused OPS-3
    queue = html[html.index('id="queue"'):html.index("Last actions")]
    assert queue.index("OPS-2") < queue.index("OPS-1") < queue.index("OPS-3")
    assert "in 4 h" in queue and "paused" in queue and "pm-li" in queue
    actions = html[html.index('id="actions"'):]
    assert actions.count("escalation-L") == 3
    # self-contained: nothing fetched from elsewhere
    assert "http://" not in html.replace(world.config.tracker.url, "") and "<script" not in html
    assert "<link" not in html and "@import" not in html and "src=" not in html


def test_status_json_carries_the_same(served):
    _, daemon, server = served
    daemon.cycle()
    data = get(server, "/status.json").json()
    assert data["healthy"] == {"ok": True, "reason": "last pass 0 s ago"}
    assert [(r["ticket"], r["blocking"]) for r in data["incidents"]] == [("OPS-2", None), ("OPS-1", None),
                                                                        ("OPS-3", "paused")]
    assert data["incidents"][0]["next"]["role"] == "project_manager"
    assert data["daemon"]["summary"]["done"] == 3
    assert data["leader"] == "this daemon (embedded journal)"  # one daemon per SQLite journal: it leads


def test_healthz_turns_red_when_passes_stop_and_green_when_they_resume(served):
    world, daemon, server = served
    assert get(server, "/healthz").status_code == 200  # starting
    assert get(server, "/readyz").status_code == 503  # no pass yet
    daemon.cycle()
    assert get(server, "/healthz").text == "ok: last pass 0 s ago\n"
    assert get(server, "/readyz").status_code == 200
    world.at(timedelta(minutes=4))  # no pass for longer than three poll intervals
    red = get(server, "/healthz")
    assert red.status_code == 503 and red.text == "unhealthy: last pass 4 min ago, more than 3 min\n"
    daemon.cycle()
    assert get(server, "/healthz").status_code == 200


def test_a_revoked_token_turns_health_and_readiness_red_until_it_works_again(served):
    world, daemon, server = served
    daemon.cycle()
    revoke(world)
    world.at(timedelta(minutes=1))
    daemon.cycle()
    red = get(server, "/healthz")
    assert red.status_code == 503 and "refuses the escalator" in red.text and "HTTP 401" in red.text
    assert get(server, "/readyz").status_code == 503
    assert "unhealthy" in get(server, "/").text
    world.tracker.faults.clear()
    daemon.cycle()
    assert get(server, "/healthz").status_code == 200 and get(server, "/readyz").status_code == 200


def test_metrics_and_unknown_paths(served):
    _, daemon, server = served
    daemon.cycle()
    metrics = get(server, "/metrics")
    assert metrics.status_code == 200 and metrics.headers["Content-Type"].startswith("text/plain")
    assert 'escalator_escalations_total{level="1",tracker="jira"} 1.0' in metrics.text
    missing = get(server, "/nope")
    assert missing.status_code == 404 and missing.text == "no page at /nope\n"


def test_duties_next_times_are_listed_when_duties_run(world):
    world.config = world.config.model_copy(update={"duties": world.config.duties.model_copy(
        update={"enabled": True})})
    daemon = world.daemon()
    server = StatusServer(daemon)
    server.start()
    try:
        duties = get(server, "/status.json").json()["duties"]
    finally:
        server.stop()
    assert {d["duty"] for d in duties} == {"pm_digest", "customer_update", "review_list", "callbacks"}
    pm = next(d for d in duties if d["duty"] == "pm_digest" and d["contract"] == "default")
    assert pm["local"] == "Mon 03-02 17:00 +0800" and pm["in"] == "in 8 h"


def test_the_queue_names_people_as_the_tracker_does_asking_once_each(world, caplog):
    world.tracker.add(incident("2", severity=2))  # the project manager in 4 h: nothing written now
    world.tracker.names.update({"pm-li": "Li Ming", "dd-wang": "Wang Dan"})
    daemon = world.daemon(poll_interval=60)
    page = StatusPage(daemon)
    asked: list[str] = []
    person = daemon.ctx.connector.person

    def counted(user):
        asked.append(user)
        if user == "ceo-zhao":
            raise AuthError("jira: GET /user: 403 the token may not see this profile", status=403)
        if user == "pm-li" and asked.count(user) == 1:
            raise Unreachable("jira: GET /user: connection refused")  # down: asked again after a pass
        return person(user)

    daemon.ctx.connector.person = counted
    daemon.cycle()
    assert daemon.names == {"ceo-zhao": "ceo-zhao", "dd-wang": "Wang Dan"}  # pm-li: after the next pass
    assert page.data()["incidents"][0]["people_names"] == ["pm-li"]
    world.at(timedelta(minutes=1))
    daemon.cycle()
    html = page.html()
    queue = html[html.index('id="queue"'):html.index("Last actions")]
    assert "Li Ming" in queue and "pm-li" not in queue  # a Jira Cloud accountId says nothing to a person
    first = page.data()["incidents"][0]
    assert (first["people"], first["people_names"]) == (["pm-li"], ["Li Ming"])
    world.at(timedelta(minutes=2))
    daemon.cycle()
    # each person once for the daemon's life, but the one asked while the tracker was down
    assert asked == ["ceo-zhao", "dd-wang", "pm-li", "pm-li"]
    assert len([r for r in caplog.records if getattr(r, "event", None) == "daemon.person-unknown"]) == 1
