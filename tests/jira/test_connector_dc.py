"""The Jira Data Center connector (REST v2) against HTTP mocked with `responses`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.base import Cursor, marker_text
from connectors.http import AuthError
from mapping.incident import Incident
from tests.jira.conftest import DC, TOKEN, load

API = DC + "/rest/api/2"


def _query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def _incident(**kw) -> Incident:
    base = dict(tracker="jira", id="20001", ref="OPS-1", project="OPS", state=2, severity=2,
                reported_at=datetime(2026, 3, 2, 1, tzinfo=UTC), updated_at=datetime(2026, 3, 2, 2, tzinfo=UTC))
    base.update(kw)
    return Incident(**base)


@responses.activate
def test_pages_with_start_at_inline_changelog_and_refetches_a_truncated_one(dc) -> None:
    responses.add(responses.GET, f"{API}/myself", json={"name": "bot", "timeZone": "Asia/Shanghai"})
    responses.add(responses.GET, f"{API}/search", json=load("dc_search_page1.json"))
    responses.add(responses.GET, f"{API}/search", json=load("dc_search_page2.json"))
    responses.add(responses.GET, f"{API}/issue/OPS-2", json=load("dc_issue_full_changelog.json"))
    results = list(dc.read_changed(Cursor()))

    searches = [_query(c) for c in responses.calls if urlsplit(c.request.url).path.endswith("/search")]
    assert [q["startAt"] for q in searches] == ["0", "1"]
    assert searches[0]["expand"] == "changelog,names" and searches[0]["maxResults"] == "2"
    assert searches[0]["jql"] == 'project in ("OPS") AND issuetype in (10010) ORDER BY updated ASC, key ASC'
    # OPS-1's inline changelog was whole: no extra call; OPS-2's was cut short: one
    issue_calls = [c for c in responses.calls if "/issue/" in c.request.url]
    assert [urlsplit(c.request.url).path for c in issue_calls] == ["/rest/api/2/issue/OPS-2"]
    assert _query(issue_calls[0])["expand"] == "changelog"

    first, second = results
    assert isinstance(first, Incident) and isinstance(second, Incident)
    # the custom field is named by its display name in DC changelog items: `names` resolves it
    assert [c.severity for c in first.severity_history] == [3, 2]
    assert [c.state for c in first.state_history] == [1, 2]
    assert first.state_history[1].by == "wangfang"
    assert first.reported_at == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert [m.by for m in first.manual_requests] == ["wangfang"]
    assert first.facts["symptom"] == "Core switch down, error E42"
    assert len(second.severity_history) == 2  # from the refetched, complete changelog


@responses.activate
def test_bearer_token_and_401_hint(dc) -> None:
    responses.add(responses.GET, f"{API}/myself", status=401, body="")
    with pytest.raises(AuthError) as err:
        list(dc.read_changed(Cursor()))
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "personal access token" in str(err.value) and TOKEN not in str(err.value)


@responses.activate
def test_note_in_wiki_markup_internal_and_idempotent(dc) -> None:
    responses.add(responses.GET, f"{API}/project/OPS", json={"key": "OPS", "projectTypeKey": "service_desk"})
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json={"comments": [], "startAt": 0, "total": 0})
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=201, json={"id": "1"})
    assert dc.add_note(_incident(), "Severity [2] restored {by rule}", marker="severity-restore-1") is True
    body = json.loads(responses.calls[-1].request.body)
    assert isinstance(body["body"], str)
    assert body["body"].startswith("Severity \\[2\\] restored \\{by rule\\}")
    assert "{color:#97a0af}\\[incident-escalator:severity-restore-1\\]{color}" in body["body"]
    assert body["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]

    responses.replace(responses.GET, f"{API}/issue/OPS-1/comment",
                      json={"comments": [{"id": "1", "body": body["body"]}], "startAt": 0, "total": 1})
    assert dc.has_marker(_incident(), "severity-restore-1")
    assert dc.add_note(_incident(), "again", marker="severity-restore-1") is False


@responses.activate
def test_software_project_note_is_plain(dc) -> None:
    responses.add(responses.GET, f"{API}/project/OPS", json={"key": "OPS", "projectTypeKey": "software"})
    responses.add(responses.GET, f"{API}/issue/OPS-1/comment", json={"comments": [], "startAt": 0, "total": 0})
    responses.add(responses.POST, f"{API}/issue/OPS-1/comment", status=201, json={"id": "1"})
    dc.add_note(_incident(), "hello", marker="m")
    assert "properties" not in json.loads(responses.calls[-1].request.body)


@responses.activate
def test_notify_by_user_name(dc) -> None:
    responses.add(responses.POST, f"{API}/issue/OPS-1/notify", status=204)
    dc.notify(_incident(), ["zhangwei"], "subject", "text")
    [call] = responses.calls
    assert json.loads(call.request.body)["to"] == {"users": [{"name": "zhangwei"}]}


def test_marker_text_survives_wiki_escaping() -> None:
    from connectors.jira.adf import body_text, wiki_note
    assert marker_text("transition-3-1-99") in body_text(wiki_note("x", "transition-3-1-99"))
