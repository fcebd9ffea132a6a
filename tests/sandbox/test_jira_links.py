"""The sandbox Jira's issue links (POST /issueLink, GET /issueLinkType) behave like Jira's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from sandbox.jira import JiraSandbox


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request):
    clock = lambda: datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # noqa: E731
    with JiraSandbox(request.param, clock=clock) as sb:
        s = requests.Session()
        if request.param == "cloud":
            s.auth = ("bot@example.com", "sandbox-token")
        else:
            s.headers["Authorization"] = "Bearer sandbox-token"
        yield sb, s, f"{sb.base_url}{sb.model.api}"


def test_link_types_include_jsm_problem_incident_and_the_builtins(jira):
    sb, s, api = jira
    names = {t["name"]: t for t in s.get(f"{api}/issueLinkType").json()["issueLinkTypes"]}
    assert {"Blocks", "Cloners", "Duplicate", "Relates", "Problem/Incident"} <= set(names)
    assert names["Problem/Incident"]["outward"] == "causes" and names["Problem/Incident"]["inward"] == "is caused by"
    assert "Problem" in {t["name"] for t in s.get(f"{api}/issuetype").json()}


def test_linking_twice_keeps_one_link_and_bad_links_are_refused(jira):
    sb, s, api = jira
    incident, problem = sb.create_issue(summary="Core switch down"), sb.create_issue(summary="Why?")
    body = {"type": {"name": "Problem/Incident"}, "inwardIssue": {"key": incident},
            "outwardIssue": {"key": problem}}
    first, again = s.post(f"{api}/issueLink", json=body), s.post(f"{api}/issueLink", json=body)
    assert (first.status_code, again.status_code) == (201, 201) and first.content == b""
    links = sb.model.links_of(sb.model.issue(incident))
    assert [(t.name, side, other.key) for t, side, other in links] == [("Problem/Incident", "outward", problem)]
    unknown = s.post(f"{api}/issueLink", json={**body, "type": {"name": "Nope"}})
    assert unknown.status_code == 404 and unknown.json()["errorMessages"] == ["No issue link type with name 'Nope' found."]
    missing = s.post(f"{api}/issueLink", json={**body, "outwardIssue": {"key": "SD-999"}})
    assert missing.status_code == 404
    itself = s.post(f"{api}/issueLink", json={**body, "outwardIssue": {"key": incident}})
    assert itself.status_code == 400
    assert s.post(f"{api}/issueLink", json={"type": {"name": "Relates"}}).status_code == 400
