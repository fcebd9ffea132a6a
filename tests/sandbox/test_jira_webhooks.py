"""The sandbox Jira's admin webhooks: the REST resource, and deliveries as Jira makes them.

Deliveries run on the sandbox's own thread; the tests wait for an attempt with
`deliveries.wait_for`, and retries are due on the sandbox's fake clock, which the tests move.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.factory import webhook_for
from sandbox.jira import BotProfile, JiraSandbox
from tests.catcher import Catcher
from tests.handclock import HandClock

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PATH = "/rest/webhooks/1.0/webhook"
SECRET = "jira-hook-secret"



@pytest.fixture
def clock() -> HandClock:
    return HandClock(T0)


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request, clock):
    with JiraSandbox(request.param, clock=clock) as sb:
        sb.add_project("OPS", "Operations")
        yield sb
        assert sb.errors == []


@pytest.fixture
def catcher():
    c = Catcher()
    yield c
    c.stop()


def session(sb: JiraSandbox, user: str = "bot") -> requests.Session:
    s = requests.Session()
    if sb.flavour == "cloud":
        s.auth = ("bot@example.com" if user == "bot" else f"{user}@example.com", "sandbox-token" if user == "bot"
                  else f"{user}-token")
    else:
        s.headers["Authorization"] = f"Bearer {'sandbox-token' if user == 'bot' else user + '-token'}"
    return s


def register(sb: JiraSandbox, url: str, **extra) -> dict:
    body = {"name": "hook", "url": url, "events": ["jira:issue_created", "jira:issue_updated", "comment_created"],
            "filters": {"issue-related-events-section": 'project = "SD"'}, "excludeBody": False,
            "secret": SECRET, **extra}
    answer = session(sb).post(sb.base_url + PATH, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_resource_never_shows_the_secret_and_stamps_every_edit(jira, clock):
    s = session(jira)
    created = register(jira, "https://escalator.example.com/webhooks/jira")
    assert "secret" not in created and SECRET not in json.dumps(created)
    hook_id = created["self"].rsplit("/", 1)[1]
    assert created["self"] == f"{jira.base_url}{PATH}/{hook_id}"
    assert created["enabled"] is True and created["filters"] == {"issue-related-events-section": 'project = "SD"'}
    assert created["lastUpdated"] == int(T0.timestamp() * 1000)
    assert s.get(jira.base_url + PATH).json() == [created]
    clock.advance(60)
    edited = s.put(f"{jira.base_url}{PATH}/{hook_id}", json={"enabled": False}).json()
    assert edited["enabled"] is False and edited["lastUpdated"] == created["lastUpdated"] + 60_000
    assert s.get(f"{jira.base_url}{PATH}/{hook_id}").json() == edited
    assert s.delete(f"{jira.base_url}{PATH}/{hook_id}").status_code == 204
    assert s.get(f"{jira.base_url}{PATH}/{hook_id}").status_code == 404


def test_only_an_administrator_may_manage_webhooks(jira):
    jira.set_bot_profile(BotProfile(lacks=frozenset({"ADMINISTER"})))
    answer = session(jira).get(jira.base_url + PATH)
    assert answer.status_code == 403 and answer.json()["errorMessages"]
    assert session(jira).post(jira.base_url + PATH, json={"name": "x", "url": "https://x"}).status_code == 403
    jira.set_bot_profile(None)
    assert session(jira).get(jira.base_url + PATH).status_code == 200


def test_a_bad_filter_or_url_is_refused(jira):
    s = session(jira)
    bad = s.post(jira.base_url + PATH, json={"name": "x", "url": "ftp://x", "filters": {
        "issue-related-events-section": 'project = "NOPE"'}})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"url", "filters"}


def test_issue_created_updated_and_commented_are_delivered_signed(jira, catcher):
    register(jira, catcher.url + "/webhooks/jira")
    key = jira.create_issue("SD", "Incident", "Link down")
    jira.edit_issue(key, {"summary": "Link down again"})
    jira.add_comment(key, "looking")
    jira.create_issue("OPS", "Incident", "not in the filter")
    assert jira.deliveries.wait_for(lambda a: len(a) == 4)
    events = [(a.event, json.loads(a.body).get("issue_event_type_name")) for a in jira.deliveries.attempts]
    assert events == [("jira:issue_created", "issue_created"), ("jira:issue_updated", "issue_updated"),
                      ("comment_created", None), ("jira:issue_updated", "issue_commented")]
    for got in catcher.caught:
        assert got.path == "/webhooks/jira"
        assert webhook_for("jira").verify(SECRET, got.body, got.headers["X-Hub-Signature"]) is None
        assert got.headers["X-Hub-Signature"].startswith("sha256=")
        assert got.headers["X-Atlassian-Webhook-Flow"] == "Primary" and got.headers["X-Atlassian-Webhook-Identifier"]
        assert "X-Atlassian-Webhook-Retry" not in got.headers
    created, updated, comment, commented = (json.loads(c.body) for c in catcher.caught)
    issue = jira.issue(key)
    assert created["issue"]["id"] == str(issue.id) and created["issue"]["key"] == key
    assert created["issue"]["fields"]["summary"] == "Link down"
    assert created["user"]["displayName"] == "Escalator Bot" and isinstance(created["timestamp"], int)
    assert [(i["field"], i["toString"]) for i in updated["changelog"]["items"]] == [("summary", "Link down again")]
    assert comment["comment"]["body"] and comment["issue"]["key"] == key and "user" not in comment
    assert commented["comment"]["id"] == comment["comment"]["id"]


def test_a_transition_is_an_issue_generic_event(jira, catcher):
    register(jira, catcher.url)
    key = jira.create_issue("SD", "Incident", "x")
    jira.move_issue(key, "In Progress")
    assert jira.deliveries.wait_for(lambda a: len(a) == 2)
    moved = json.loads(jira.deliveries.attempts[1].body)
    assert moved["issue_event_type_name"] == "issue_generic"
    assert [i["field"] for i in moved["changelog"]["items"]] == ["status"]


def test_disabled_unsubscribed_and_bodiless_webhooks(jira, catcher):
    register(jira, catcher.url + "/off", name="off", enabled=False)
    register(jira, catcher.url + "/created-only", name="created", events=["jira:issue_created"])
    register(jira, catcher.url + "/bare", name="bare", excludeBody=True, events=["jira:issue_updated"])
    key = jira.create_issue("SD", "Incident", "x")
    jira.edit_issue(key, {"summary": "y"})
    assert jira.deliveries.wait_for(lambda a: len(a) == 2)
    assert sorted((c.path, c.body) for c in catcher.caught)[0] == ("/bare", b"")
    assert [c.path for c in catcher.caught if c.path == "/created-only"] == ["/created-only"]
    bare = next(c for c in catcher.caught if c.path == "/bare")
    assert "X-Hub-Signature" not in bare.headers  # nothing to sign


def test_failed_deliveries_are_retried_on_jiras_terms(jira, clock):
    catcher = Catcher(answers=[503, 429])
    try:
        register(jira, catcher.url)
        jira.create_issue("SD", "Incident", "x")
        assert jira.deliveries.wait_for(lambda a: len(a) == 1)
        clock.advance(9)
        clock.advance(1)  # the first retry is due 10 s later, on the sandbox's clock
        assert jira.deliveries.wait_for(lambda a: len(a) == 2)
        clock.advance(60)
        assert jira.deliveries.wait_for(lambda a: len(a) == 3)
        first, second, third = jira.deliveries.attempts
        assert [a.status for a in (first, second, third)] == [503, 429, 200]
        assert (second.at - first.at, third.at - second.at) == (timedelta(seconds=10), timedelta(seconds=60))
        assert first.key == second.key == third.key  # one webhook, one identifier
        ids = {c.headers["X-Atlassian-Webhook-Identifier"] for c in catcher.caught}
        assert len(ids) == 1
        assert [c.headers.get("X-Atlassian-Webhook-Retry") for c in catcher.caught] == [None, "1", "2"]
        assert jira.deliveries.pending == 0
    finally:
        catcher.stop()


def test_a_refusal_other_than_jiras_retry_statuses_is_final(jira):
    catcher = Catcher(answers=[401])
    try:
        register(jira, catcher.url)
        jira.create_issue("SD", "Incident", "x")
        assert jira.deliveries.wait_for(lambda a: len(a) == 1)
        assert jira.deliveries.attempts[0].status == 401
        assert jira.deliveries.pending == 0  # nothing waits for a retry
    finally:
        catcher.stop()
