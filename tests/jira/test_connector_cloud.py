"""The Jira Cloud connector against HTTP mocked with `responses` (payload shapes from the v3 spec)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests
import responses

from connectors.base import Cursor, marker_text
from connectors.http import AuthError, RateLimited
from mapping.incident import Incident, Unreadable
from tests.jira.conftest import CLOUD, TOKEN, load

API = CLOUD + "/rest/api/3"


def _search_and_changelogs() -> None:
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page1.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page2.json"))
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json=load("cloud_changelog_page1.json"))
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json=load("cloud_changelog_page2.json"))


def _bodies(path: str) -> list[dict]:
    return [json.loads(c.request.body) for c in responses.calls if c.request.url.startswith(API + path)]


def _incident(cloud, **kw) -> Incident:
    base = dict(tracker="jira", id="20001", ref="OPS-1", project="OPS", state=3, severity=2,
                reported_at=datetime(2026, 3, 2, 1, tzinfo=UTC), updated_at=datetime(2026, 3, 2, 2, tzinfo=UTC))
    base.update(kw)
    return Incident(**base)


@responses.activate
def test_full_read_pages_with_next_page_token_and_fetches_history_in_bulk(cloud) -> None:
    _search_and_changelogs()
    cursor = Cursor()
    results = list(cloud.read_changed(cursor))

    # OPS-3 was never changed: translated as its page comes; the others wait for their changelog
    assert [r.ref for r in results] == ["OPS-3", "OPS-1", "OPS-2"]
    searches = _bodies("/search/jql")
    assert searches[0] == {"jql": 'project in ("OPS") AND issuetype in (10010) ORDER BY updated ASC, key ASC',
                           "fields": searches[0]["fields"], "maxResults": 2}
    assert searches[1]["nextPageToken"] == "CAEaAggD"
    # only the fields the mapping needs
    assert set(searches[0]["fields"]) == {"summary", "status", "created", "updated", "reporter", "creator",
                                          "assignee", "description", "labels", "project", "customfield_10050",
                                          "customfield_10051", "customfield_10052"}
    bulk = _bodies("/changelog/bulkfetch")
    assert bulk[0] == {"issueIdsOrKeys": ["20001", "20002"], "maxResults": 1000,
                       "fieldIds": ["status", "customfield_10050", "customfield_10052", "labels"]}
    assert bulk[1]["nextPageToken"] == "UxAQBFRF"  # followed the changelog's own paging
    # OPS-3 was never updated after it was created: it has no changelog to fetch
    assert len(bulk) == 2
    # the time zone is asked once, on the first read
    assert sum(c.request.url.endswith("/myself") for c in responses.calls) == 1
    assert cursor.since == datetime(2026, 3, 2, 2, 6, tzinfo=UTC)


@responses.activate
def test_one_changelog_call_serves_several_search_pages(cloud) -> None:
    page2 = load("cloud_search_page2.json")
    page2["issues"][0]["fields"]["updated"] = "2026-03-02T02:08:00.000+0000"  # changed since created
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page1.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=page2)
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json={"issueChangeLogs": []})
    assert len(list(cloud.read_changed(Cursor()))) == 3
    assert [b["issueIdsOrKeys"] for b in _bodies("/changelog/bulkfetch")] == [["20001", "20002", "20003"]]


@responses.activate
def test_a_read_streams_a_page_at_a_time(cloud) -> None:
    """An issue without a history is translated and handed over as its page comes, before the next
    page is asked for: a read holds a page (and the issues waiting for their changelog), not all."""
    page1 = load("cloud_search_page1.json")
    for issue in page1["issues"]:
        issue["fields"]["updated"] = issue["fields"]["created"]  # never changed: no changelog to wait for
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=page1)
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page2.json"))
    reader = cloud.read_changed(Cursor())
    assert next(reader).ref == "OPS-1"
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == ["myself", "jql"]
    assert [r.ref for r in reader] == ["OPS-2", "OPS-3"]
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == ["myself", "jql", "jql"]


@responses.activate
def test_history_translated_from_bulk_changelog(cloud) -> None:
    _search_and_changelogs()
    one = next(r for r in cloud.read_changed(Cursor()) if r.ref == "OPS-1")
    assert isinstance(one, Incident)
    assert [(c.state, c.at.minute) for c in one.state_history] == [(1, 0), (2, 10), (3, 30)]
    assert [(c.severity, c.at.minute) for c in one.severity_history] == [(3, 0), (2, 20), (3, 40)]
    assert [(e.level, e.by) for e in one.escalations] == [(1, "5b10a2844c20165700ede22h")]
    assert [m.at.minute for m in one.manual_requests] == [20]
    assert [(a.to_severity, a.by_name, a.at.minute) for a in one.approvals] == [(3, "Zhang Wei", 50)]
    assert (one.severity, one.state, one.escalation_level, one.category) == (3, 3, 1, "1.2")
    assert one.facts["reporter"] == "Li Lei" and one.facts["contact"] == "lilei@example.com"
    assert one.facts["recorded_by"] == "Mia Krystof"
    assert one.facts["symptom"] == "Core switch down, error E42"
    assert one.reported_at == datetime(2026, 3, 2, 1, tzinfo=UTC)
    # the assignee: the accountId the role directory names, and the name the work order shows
    assert (one.assignee, one.assignee_name) == ("5b10a2844c20165700ede22h", "Wang Fang")


@responses.activate
def test_unmapped_status_is_unreadable_naming_key_and_value(cloud, caplog) -> None:
    _search_and_changelogs()
    with caplog.at_level(logging.WARNING, logger="escalator.jira"):
        results = list(cloud.read_changed(Cursor()))
    bad = next(r for r in results if r.ref == "OPS-3")
    assert isinstance(bad, Unreadable)
    assert "OPS-3" in bad.reason and "'99'" in bad.reason
    assert [r.__dict__.get("event") for r in caplog.records] == ["jira.unreadable"]


@responses.activate
def test_incremental_read_dedups_before_fetching_history(cloud) -> None:
    _search_and_changelogs()
    cursor = Cursor()
    list(cloud.read_changed(cursor))
    responses.reset()
    # the overlap brings OPS-3 back unchanged: one search call, no changelog call
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page2.json"))
    again = list(cloud.read_changed(cursor))
    assert again == []
    assert [c.request.url for c in responses.calls] == [f"{API}/search/jql"]
    # the date is minute-precise in the user's zone (Asia/Shanghai, from /myself earlier):
    # since 02:06 UTC minus 2 minutes of overlap = 10:04 Beijing time
    jql = json.loads(responses.calls[0].request.body)["jql"]
    assert 'updated >= "2026/03/02 10:04"' in jql


@responses.activate
def test_incremental_read_asks_the_time_zone_once(cloud) -> None:
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", json={"isLast": True, "issues": []})
    cursor = Cursor(since=datetime(2026, 3, 2, 2, 6, 30, tzinfo=UTC))
    list(cloud.read_changed(cursor))
    list(cloud.read_changed(cursor))
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == ["myself", "jql", "jql"]


@responses.activate
def test_changed_issue_is_read_again(cloud) -> None:
    _search_and_changelogs()
    cursor = Cursor()
    list(cloud.read_changed(cursor))
    page = load("cloud_search_page2.json")
    page["issues"][0]["fields"]["updated"] = "2026-03-02T02:07:00.000+0000"
    responses.reset()
    responses.add(responses.POST, f"{API}/search/jql", json=page)
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json={"issueChangeLogs": []})
    assert [r.ref for r in cloud.read_changed(cursor)] == ["OPS-3"]


@responses.activate
def test_set_state_takes_the_transition_to_a_mapped_status(cloud, caplog) -> None:
    responses.add(responses.GET, f"{API}/issue/OPS-1/transitions", json=load("cloud_transitions.json"))
    responses.add(responses.POST, f"{API}/issue/OPS-1/transitions", status=204)
    with caplog.at_level(logging.INFO, logger="escalator.jira"):
        assert cloud.set_state(_incident(cloud), 6) is True
    assert json.loads(responses.calls[1].request.body) == {"transition": {"id": "31"}}
    assert caplog.records[-1].__dict__["event"] == "jira.transitioned"


@responses.activate
def test_set_state_without_a_transition_logs_and_forces_nothing(cloud, caplog) -> None:
    responses.add(responses.GET, f"{API}/issue/OPS-1/transitions", json=load("cloud_transitions.json"))
    with caplog.at_level(logging.INFO, logger="escalator.jira"):
        assert cloud.set_state(_incident(cloud), 7) is False
    assert len(responses.calls) == 1
    record = caplog.records[-1]
    assert record.__dict__["event"] == "jira.transition-missing" and record.__dict__["key"] == "OPS-1"


def test_set_state_already_there_calls_nothing(cloud) -> None:
    with responses.RequestsMock():  # any call would fail: none is registered
        assert cloud.set_state(_incident(cloud, state=3), 3) is True


@responses.activate
def test_field_writes_use_option_ids(cloud) -> None:
    responses.add(responses.PUT, f"{API}/issue/OPS-1", status=204)
    cloud.set_severity(_incident(cloud), 1)
    cloud.set_escalation_level(_incident(cloud), 2)
    assert [json.loads(c.request.body) for c in responses.calls] == [
        {"fields": {"customfield_10050": {"id": "10100"}}},
        {"fields": {"customfield_10052": {"id": "10302"}}},
    ]


@responses.activate
def test_severity_on_priorities(sleeps, procedure) -> None:
    from connectors.jira.factory import make_connector
    from tests.jira.conftest import make_config, make_mapping, transport
    mapping = make_mapping(severity={"source": "priority", "values": {1: "1", 2: "2", 3: "3", 4: "4"}})
    conn = make_connector(make_config().tracker_settings(), mapping, **transport(sleeps))
    responses.add(responses.PUT, f"{API}/issue/OPS-1", status=204)
    conn.set_severity(_incident(conn), 2)
    assert json.loads(responses.calls[0].request.body) == {"fields": {"priority": {"id": "2"}}}


@responses.activate
def test_note_is_internal_on_service_desk_and_written_once(cloud, caplog) -> None:
    responses.add(responses.GET, f"{API}/project/OPS", json={"id": "10000", "key": "OPS",
                                                             "projectTypeKey": "service_desk"})
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment",
                  json={"comments": [], "maxResults": 100, "startAt": 0, "total": 0})
    posted: dict = {}

    def create(request):
        posted.update(json.loads(request.body))
        return 201, {}, json.dumps({"id": "10000", "body": posted["body"]})

    responses.add_callback(responses.POST, f"{API}/issue/OPS-1/comment", callback=create)
    with caplog.at_level(logging.INFO, logger="escalator.jira"):
        assert cloud.add_note(_incident(cloud), "Escalated to the project manager.\nDue 10:00.",
                              marker="escalation-L1") is True
    assert posted["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    assert posted["body"]["type"] == "doc"
    assert posted["body"]["content"][-1]["content"][0]["text"] == marker_text("escalation-L1")
    assert caplog.records[-1].__dict__["event"] == "jira.comment-added"

    # the comment is now on the issue: a second note with that marker writes nothing
    responses.replace(responses.GET, f"{API}/issue/OPS-1/comment",
                      json={"comments": [{"id": "10000", "body": posted["body"]}], "maxResults": 100,
                            "startAt": 0, "total": 1})
    before = len(responses.calls)
    assert cloud.add_note(_incident(cloud), "again", marker="escalation-L1") is False
    assert [c.request.method for c in responses.calls[before:]] == ["GET"]


@responses.activate
def test_public_note_has_no_internal_property(cloud) -> None:
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json={"comments": [], "startAt": 0, "total": 0})
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=201, json={"id": "1"})
    assert cloud.add_note(_incident(cloud), "Dear customer", marker="customer-update", public=True)
    assert "properties" not in json.loads(responses.calls[-1].request.body)


@responses.activate
def test_has_marker_pages_through_comments(cloud) -> None:
    first = {"comments": [{"id": str(i), "body": {"type": "doc", "version": 1, "content": []}} for i in range(2)],
             "startAt": 0, "maxResults": 2, "total": 3}
    second = {"comments": [{"id": "3", "body": {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": marker_text("x-1")}]}]}}],
        "startAt": 2, "maxResults": 2, "total": 3}
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json=first)
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json=second)
    assert cloud.has_marker(_incident(cloud), "x-1")
    assert "startAt=2" in responses.calls[1].request.url


@responses.activate
def test_notify_is_one_mail_by_account_id_and_no_watcher(cloud, caplog) -> None:
    responses.add(responses.POST, f"{API}/issue/OPS-1/notify", status=204)
    with caplog.at_level(logging.INFO, logger="escalator.jira"):
        cloud.notify(_incident(cloud), ["acc-pm"], "OPS-1 escalated", "Please act <now>")
    [call] = responses.calls  # the answer to the one call is the notification's outcome
    body = json.loads(call.request.body)
    assert body["to"] == {"users": [{"accountId": "acc-pm"}]}
    assert body["htmlBody"] == "<p>Please act &lt;now&gt;</p>"
    assert caplog.records[-1].__dict__["event"] == "jira.notified"


@responses.activate
def test_basic_auth_and_401_is_one_line_without_the_token(cloud) -> None:
    responses.add(responses.GET, f"{API}/myself", status=401,
                  json={"errorMessages": ["You are not authenticated. Authentication required to perform this operation."]})
    with pytest.raises(AuthError) as err:
        list(cloud.read_changed(Cursor()))
    message = str(err.value)
    assert "\n" not in message and TOKEN not in message
    assert "tracker.email" in message and err.value.status == 401
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_403_names_the_missing_permission(cloud) -> None:
    responses.add(responses.PUT, f"{API}/issue/OPS-1", status=403,
                  json={"errorMessages": ["You do not have permission to edit issues in this project."], "errors": {}})
    with pytest.raises(AuthError) as err:
        cloud.set_severity(_incident(cloud), 1)
    assert "permission" in str(err.value) and "edit issues" in str(err.value)
    assert TOKEN not in str(err.value) and err.value.status == 403


@responses.activate
def test_429_honours_retry_after_with_injected_sleep(cloud, sleeps) -> None:
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", status=429, headers={"Retry-After": "7"}, json={})
    responses.add(responses.POST, f"{API}/search/jql", json={"isLast": True, "issues": []})
    assert list(cloud.read_changed(Cursor())) == []
    assert sleeps == [7.0]


@responses.activate
def test_429_until_retries_run_out_is_rate_limited(cloud, sleeps) -> None:
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    for _ in range(3):
        responses.add(responses.POST, f"{API}/search/jql", status=429, headers={"Retry-After": "2"}, json={})
    with pytest.raises(RateLimited):
        list(cloud.read_changed(Cursor()))
    assert sleeps == [2.0, 2.0]


@responses.activate
def test_5xx_is_retried_then_succeeds(cloud, sleeps) -> None:
    responses.add(responses.PUT, f"{API}/issue/OPS-1", status=503, json={"errorMessages": ["busy"]})
    responses.add(responses.PUT, f"{API}/issue/OPS-1", status=204)
    cloud.set_escalation_level(_incident(cloud), 1)
    assert len(responses.calls) == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5
    assert cloud.client.http.stats.retries == 1


@responses.activate
def test_read_one_fetches_issue_and_changelog(cloud) -> None:
    issue = load("cloud_search_page1.json")["issues"][0]
    responses.add(responses.GET, f"{API}/issue/OPS-1", json=issue)
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json=load("cloud_changelog_page1.json"))
    responses.add(responses.POST, f"{API}/changelog/bulkfetch", json=load("cloud_changelog_page2.json"))
    one = cloud.read_one("OPS-1")
    assert isinstance(one, Incident) and len(one.state_history) == 3
    assert "fields=summary" in responses.calls[0].request.url.replace("%2C", ",")


@responses.activate
def test_a_page_token_served_twice_stops_the_read(cloud) -> None:
    from connectors.paging import PagingLoop
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    looping = {"isLast": False, "nextPageToken": "SAME", "issues": []}
    for _ in range(3):
        responses.add(responses.POST, f"{API}/search/jql", json=looping)
    with pytest.raises(PagingLoop, match="POST /rest/api/3/search/jql: .*page token it had already given"):
        list(cloud.read_changed(Cursor()))


@responses.activate
def test_a_changelog_token_served_twice_is_the_same_error_not_a_short_history(cloud) -> None:
    """A looping bulk changelog once ended the read quietly with part of the history; now it is
    the one paging error every read raises."""
    from connectors.paging import PagingLoop
    responses.add(responses.GET, f"{API}/myself", json=load("cloud_myself.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page1.json"))
    responses.add(responses.POST, f"{API}/search/jql", json=load("cloud_search_page2.json"))
    looping = {"issueChangeLogs": [{"issueId": "20001", "changeHistories": []}], "nextPageToken": "SAME"}
    for _ in range(3):
        responses.add(responses.POST, f"{API}/changelog/bulkfetch", json=looping)
    with pytest.raises(PagingLoop, match="POST /rest/api/3/changelog/bulkfetch: "):
        list(cloud.read_changed(Cursor()))


@responses.activate
def test_a_comment_is_never_posted_twice_on_a_server_error(cloud, sleeps) -> None:
    from connectors.http import ServerError
    responses.add(responses.GET, f"{API}/project/OPS", json={"key": "OPS", "projectTypeKey": "software"})
    empty = {"comments": [], "startAt": 0, "total": 0}
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json=empty)
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=502, json={})
    # Jira stored it before failing: the marker check finds it, no second POST
    stored = {"comments": [{"id": "9", "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph",
              "content": [{"type": "text", "text": marker_text("escalation-L1")}]}]}}], "startAt": 0, "total": 1}
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json=stored)
    assert cloud.add_note(_incident(cloud), "x", marker="escalation-L1") is True
    assert [c.request.method for c in responses.calls].count("POST") == 1 and sleeps == []

    # not stored: the error surfaces (the next cycle tries again, marker first)
    responses.reset()
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json=empty)
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=503, json={"errorMessages": ["busy"]})
    with pytest.raises(ServerError, match="after 1 attempts"):
        cloud.add_note(_incident(cloud), "x", marker="escalation-L1")
    assert [c.request.method for c in responses.calls].count("POST") == 1


@pytest.mark.parametrize("fail", [
    pytest.param(requests.exceptions.ReadTimeout("read timed out"), id="read-timeout"),
    pytest.param(requests.exceptions.ConnectionError(ConnectionResetError(104, "reset by peer")), id="reset"),
])
@responses.activate
def test_a_comment_whose_answer_never_came_is_found_by_its_marker(cloud, sleeps, caplog, fail) -> None:
    """Jira stored the comment, the answer was lost: the marker is looked for at once."""
    stored: list[dict] = []

    def post(request):
        stored.append({"id": str(len(stored) + 1), "body": json.loads(request.body)["body"]})
        raise fail

    responses.add(responses.GET, f"{API}/project/OPS", json={"key": "OPS", "projectTypeKey": "software"})
    responses.add_callback(responses.GET, f"{API}/issue/OPS-1/comment", callback=lambda request: (
        200, {}, json.dumps({"comments": stored, "startAt": 0, "total": len(stored)})))
    responses.add_callback(responses.POST, f"{API}/issue/OPS-1/comment", callback=post)
    with caplog.at_level(logging.INFO):
        assert cloud.add_note(_incident(cloud), "x", marker="escalation-L1") is True
    assert len(stored) == 1 and sleeps == []
    assert [r.event for r in caplog.records][-2:] == ["jira.answer-lost", "jira.comment-added"]
    assert cloud.add_note(_incident(cloud), "x", marker="escalation-L1") is False
    assert [c.request.method for c in responses.calls].count("POST") == 1


@responses.activate
def test_a_rate_limited_comment_is_retried(cloud, sleeps) -> None:
    responses.add(responses.GET, f"{API}/project/OPS", json={"key": "OPS", "projectTypeKey": "software"})
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json={"comments": [], "startAt": 0, "total": 0})
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=429, headers={"Retry-After": "4"}, json={})
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=201, json={"id": "1"})
    assert cloud.add_note(_incident(cloud), "x", marker="m") is True
    assert sleeps == [4.0]
