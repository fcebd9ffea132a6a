"""Problem records and tasks the Jira connector files, against HTTP mocked with `responses`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from connectors.base import RecordSpec
from connectors.http import Conflict
from mapping.incident import Incident
from tests.jira.conftest import CLOUD, DC

API = f"{CLOUD}/rest/api/3"
DC_API = f"{DC}/rest/api/2"
PROPERTY = "/issue/OPS-1/properties/incident-escalator-problem"


def _incident() -> Incident:
    return Incident(tracker="jira", id="20001", ref="OPS-1", project="OPS", state=3, severity=1, title="Core down",
                    reported_at=datetime(2026, 3, 2, 1, tzinfo=UTC), updated_at=datetime(2026, 3, 2, 2, tzinfo=UTC))


def _bodies(prefix: str, path: str, method: str = "POST") -> list[dict]:
    return [json.loads(c.request.body) for c in responses.calls
            if c.request.method == method and c.request.url.split("?")[0] == prefix + path]


@responses.activate
def test_a_problem_is_filed_labelled_linked_with_the_type_that_exists_then_recorded(cloud) -> None:
    responses.add(responses.GET, API + PROPERTY, status=404, json={"errorMessages": ["no property"]})
    responses.add(responses.POST, f"{API}/search/jql", json={"issues": [], "isLast": True})
    responses.add(responses.POST, f"{API}/issue", status=201, json={"id": "20050", "key": "OPS-50", "self": "x"})
    # a plain Jira site: no "Problem/Incident" link type, so "Relates"
    responses.add(responses.GET, f"{API}/issueLinkType", json={"issueLinkTypes": [
        {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
        {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"}]})
    responses.add(responses.POST, f"{API}/issueLink", status=201)
    responses.add(responses.PUT, API + PROPERTY, status=201)
    assert cloud.find_problem(_incident()) is None
    assert cloud.create_problem(_incident(), "[Problem] OPS-1", "Why did it go down?", RecordSpec()) == "OPS-50"
    (search,) = _bodies(API, "/search/jql")
    assert search["jql"] == 'labels = "incident-escalator-problem-OPS-1" ORDER BY created ASC'
    (created,) = _bodies(API, "/issue")
    fields = created["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Problem"}
    assert fields["labels"] == ["incident-escalator-problem-OPS-1"] and fields["description"]["type"] == "doc"
    assert _bodies(API, "/issueLink") == [{"type": {"name": "Relates"}, "inwardIssue": {"key": "OPS-1"},
                                           "outwardIssue": {"key": "OPS-50"}}]
    assert _bodies(API, PROPERTY, "PUT") == [{"key": "OPS-50"}]


@responses.activate
def test_a_half_made_problem_is_finished_not_filed_again(dc) -> None:
    responses.add(responses.GET, f"{DC_API}/search", json={"issues": [{"id": "30", "key": "PRB-7"}], "total": 1})
    responses.add(responses.POST, f"{DC_API}/issueLink", status=201)
    responses.add(responses.PUT, DC_API + PROPERTY, status=200)
    spec = RecordSpec(container="PRB", link_type="Problem/Incident")
    assert dc.create_problem(_incident(), "[Problem] OPS-1", "text", spec) == "PRB-7"
    assert _bodies(DC_API, "/issue") == []  # nothing filed
    assert _bodies(DC_API, "/issueLink")[0]["type"] == {"name": "Problem/Incident"}
    responses.add(responses.GET, DC_API + PROPERTY, json={"key": "incident-escalator-problem",
                                                          "value": {"key": "PRB-7"}})
    assert dc.find_problem(_incident()) == "PRB-7"


@responses.activate
def test_a_task_is_assigned_and_found_by_its_label(cloud) -> None:
    responses.add(responses.POST, f"{API}/issue", status=201, json={"id": "20060", "key": "OPS-60", "self": "x"})
    ref = cloud.create_task("incident-escalator-callbacks-default-2026-W10", "Call-backs 2026-W10", "list",
                            RecordSpec(issue_type="Task"), "5b10ac8d82e05b22cc7d4ef8")
    assert ref == "OPS-60"
    (created,) = _bodies(API, "/issue")
    assert created["fields"]["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef8"}
    assert created["fields"]["project"] == {"key": "OPS"} and created["fields"]["issuetype"] == {"name": "Task"}


class LaggingIndex:
    """Jira Cloud whose search index has not caught up with the issues it just created: a
    search finds one only when `reconcileIssues` names it (read-after-write, v3 spec)."""

    def __init__(self) -> None:
        self.issues: list[dict] = []  # {"id", "key", "label"}
        responses.add_callback(responses.POST, f"{API}/issue", callback=self._create)
        responses.add_callback(responses.POST, f"{API}/search/jql", callback=self._search)

    def _create(self, request):
        fields = json.loads(request.body)["fields"]
        issue = {"id": str(20050 + len(self.issues)), "key": f"OPS-{50 + len(self.issues)}",
                 "label": fields["labels"][0]}
        self.issues.append(issue)
        return 201, {}, json.dumps({"id": issue["id"], "key": issue["key"], "self": "x"})

    def _search(self, request):
        body = json.loads(request.body)
        label = body["jql"].split('"')[1]
        visible = {int(i) for i in body.get("reconcileIssues", [])}
        hits = [{"id": i["id"], "key": i["key"]} for i in self.issues if i["label"] == label and int(i["id"]) in visible]
        return 200, {}, json.dumps({"issues": hits[:body["maxResults"]], "isLast": True})


@responses.activate
def test_a_problem_filed_a_moment_ago_is_found_though_the_search_index_lags(cloud) -> None:
    """The link failed right after the problem was filed: the next attempt must find that problem
    by its label - which Cloud's search shows only when asked to reconcile its id."""
    index = LaggingIndex()
    responses.add(responses.GET, f"{API}/issueLinkType", json={"issueLinkTypes": [{"id": "1", "name": "Relates"}]})
    responses.add(responses.POST, f"{API}/issueLink", status=400, json={"errorMessages": ["No permission to link"]})
    responses.add(responses.PUT, API + PROPERTY, status=201)
    with pytest.raises(Conflict):
        cloud.create_problem(_incident(), "[Problem] OPS-1", "text", RecordSpec())
    responses.replace(responses.POST, f"{API}/issueLink", status=201)
    assert cloud.create_problem(_incident(), "[Problem] OPS-1", "text", RecordSpec()) == "OPS-50"
    assert len(index.issues) == 1  # filed once
    searches = _bodies(API, "/search/jql")
    assert "reconcileIssues" not in searches[0] and searches[1]["reconcileIssues"] == [20050]


@responses.activate
def test_the_ids_named_for_reconciling_are_the_latest_fifty(cloud) -> None:
    index = LaggingIndex()
    for week in range(1, 53):
        cloud.create_task(f"incident-escalator-callbacks-default-2026-W{week:02d}", "Call-backs", "list",
                          RecordSpec(issue_type="Task"), None)
    assert cloud.find_task("incident-escalator-callbacks-default-2026-W52") == "OPS-101"
    assert cloud.find_task("incident-escalator-callbacks-default-2026-W01") is None  # beyond the 50 remembered
    (last, _) = _bodies(API, "/search/jql")
    assert last["reconcileIssues"] == [20050 + n for n in range(2, 52)]
    assert len(index.issues) == 52


@responses.activate
def test_a_search_naming_issues_to_reconcile_conforms_to_the_v3_spec(cloud) -> None:
    from tests.conformance.openapi import validate_request
    LaggingIndex()
    cloud.create_task("incident-escalator-callbacks-default-2026-W10", "Call-backs", "list",
                      RecordSpec(issue_type="Task"), None)
    assert cloud.find_task("incident-escalator-callbacks-default-2026-W10") == "OPS-50"
    (search,) = _bodies(API, "/search/jql")
    validate_request("POST", f"{API}/search/jql", search)  # reconcileIssues: int64 ids, at most 50
