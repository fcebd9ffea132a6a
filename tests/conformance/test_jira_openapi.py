"""Every Cloud endpoint the sandbox Jira serves, checked against Atlassian's v3 OpenAPI document.

Each case sends a realistic request to a Cloud sandbox over loopback and validates
both the request and the sandbox's answer (status and body) with openapi-core
(`tests/conformance/openapi.py`). Skipped, with the reason, when the reference file
is absent. A few checks at the end make sure the validator really rejects what
does not match, so a silently lenient validator cannot pass these tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests

from sandbox.jira import BotProfile, JiraSandbox
from sandbox.server import Fault
from tests.conformance.openapi import (
    response_hook,
    spec,
    validate_exchange,
    validate_request,
    validate_response,
)

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
API = "/rest/api/3"


@pytest.fixture(scope="module", autouse=True)
def _spec():
    spec()  # parse once (skips the module when the reference file is absent)


class World:
    """A Cloud sandbox with one of everything the connector and the mapping read."""

    def __init__(self, sb: JiraSandbox):
        self.sb = sb
        self.s = requests.Session()
        self.s.auth = ("bot@example.com", "sandbox-token")
        self.pm = sb.add_user("Li Na", "li@example.com")
        self.severity = sb.create_custom_field("Severity", CF + "select", searcher=CF + "multiselectsearcher")
        self.sev_options = sb.add_options(self.severity, ["1", "2", "3", "4"])
        self.category = sb.create_custom_field("Category", CF + "cascadingselect",
                                               searcher=CF + "cascadingselectsearcher")
        (self.contract,) = sb.add_options(self.category, ["合同服务"])
        (self.network,) = sb.add_options(self.category, ["网络"], parent=self.contract)
        self.reported = sb.create_custom_field("Reported at", CF + "datetime", searcher=CF + "datetimerange")
        self.key = sb.create_issue(summary="Core switch down", fields={
            self.severity: {"id": self.sev_options[1]},
            self.category: {"id": self.contract, "child": {"id": self.network}},
            self.reported: "2026-11-20T09:00:00.000+0000",
            "description": {"type": "doc", "version": 1, "content": []}}, reporter=self.pm)
        sb.edit_issue(self.key, {self.severity: {"id": self.sev_options[0]}}, author=self.pm)
        sb.move_issue(self.key, "In Progress")
        sb.add_comment(self.key, "Working on it")

    def url(self, path: str) -> str:
        return f"{self.sb.base_url}{path}"

    def fresh_issue(self) -> str:
        return self.sb.create_issue(summary="Printer offline")

    def sd_screen(self) -> tuple[int, int]:
        """(screen id, first tab id) of the SD project's edit screen for Incidents."""
        screen = self.sb.model.screen_for(self.sb.model.project("SD").id, "10001")
        return screen.id, screen.tabs[0].id

    def sd_schemes(self) -> tuple[str, int]:
        """(issue type screen scheme id, screen scheme id) of the SD project."""
        itss = self.sb.model.issue_type_screen_scheme_of(self.sb.model.project("SD").id)
        return itss.id, int(itss.mapping["default"])

    def offscreen_field(self) -> tuple[str, str]:
        """A select field with one option, made through the REST API and so on no screen."""
        fid = self.sb.create_custom_field("Escalation level", CF + "select", searcher=CF + "multiselectsearcher",
                                          on_screens=False)
        return fid, self.sb.add_options(fid, ["1"])[0]

    def with_bot(self, profile: BotProfile, call: Callable[[], requests.Response]) -> requests.Response:
        """One call made while the bot has `profile`; the bot may do everything again after."""
        self.sb.set_bot_profile(profile)
        try:
            return call()
        finally:
            self.sb.set_bot_profile(None)

    def fresh_field(self) -> str:
        """A new select field; its default context id is left in `last_context`."""
        fid = self.sb.create_custom_field("Contract", CF + "select", searcher=CF + "multiselectsearcher")
        self.last_context = self.sb.model.custom_field(fid).contexts[0].id
        return fid


@pytest.fixture(scope="module")
def world():
    clock = lambda: datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # noqa: E731
    with JiraSandbox("cloud", clock=clock) as sb:
        yield World(sb)


def _adf(text: str) -> dict:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


Case = Callable[[World], requests.Response]

CASES: dict[str, tuple[int, Case]] = {
    "myself": (200, lambda w: w.s.get(w.url(f"{API}/myself"))),
    "my permissions in a project": (200, lambda w: w.with_bot(BotProfile(lacks={"MANAGE_WATCHERS"}), lambda: w.s.get(
        w.url(f"{API}/mypermissions"), params={"projectKey": "SD",
                                               "permissions": "EDIT_ISSUES,MANAGE_WATCHERS,TRANSITION_ISSUES"}))),
    "my permissions, unknown key": (400, lambda w: w.s.get(w.url(f"{API}/mypermissions"),
                                                           params={"permissions": "FLY"})),
    "my permissions in a missing project": (404, lambda w: w.s.get(w.url(f"{API}/mypermissions"), params={
        "projectKey": "NOPE", "permissions": "EDIT_ISSUES"})),
    "serverInfo": (200, lambda w: w.s.get(w.url(f"{API}/serverInfo"))),
    "search/jql GET with fields": (200, lambda w: w.s.get(w.url(f"{API}/search/jql"), params={
        "jql": 'project in (SD) AND issuetype in (Incident) AND updated >= "2026/11/20 09:00" ORDER BY updated ASC',
        "fields": f"summary,status,priority,assignee,reporter,created,updated,{w.severity},{w.category},"
                  f"{w.reported}", "maxResults": 50})),
    "search/jql POST with changelog": (200, lambda w: w.s.post(w.url(f"{API}/search/jql"), json={
        "jql": "project = SD AND statusCategory != Done ORDER BY updated DESC, key ASC",
        "fields": ["*all"], "expand": "changelog,names", "maxResults": 1})),
    "search/jql with properties": (200, lambda w: w.s.post(w.url(f"{API}/search/jql"), json={
        "jql": f"key in ({w.key})", "fields": ["status"], "properties": ["escalator.state"]})),
    "search/jql ids only": (200, lambda w: w.s.get(w.url(f"{API}/search/jql"), params={"jql": "project = SD"})),
    "search/jql bad JQL": (400, lambda w: w.s.get(w.url(f"{API}/search/jql"), params={"jql": "nope = 1"})),
    "changelog bulkfetch": (200, lambda w: w.s.post(w.url(f"{API}/changelog/bulkfetch"), json={
        "issueIdsOrKeys": [w.key], "fieldIds": [w.severity, "status"], "maxResults": 100})),
    "issue changelog": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/changelog"),
                                               params={"startAt": 0, "maxResults": 50})),
    "get issue": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}"), params={"expand": "changelog"})),
    "get missing issue": (404, lambda w: w.s.get(w.url(f"{API}/issue/SD-9999"))),
    "create issue": (201, lambda w: w.s.post(w.url(f"{API}/issue"), json={"fields": {
        "project": {"key": "SD"}, "issuetype": {"name": "Incident"}, "summary": "UPS alarm",
        w.severity: {"id": w.sev_options[2]}}})),
    "create issue, summary too long": (400, lambda w: w.s.post(w.url(f"{API}/issue"), json={"fields": {
        "project": {"key": "SD"}, "issuetype": {"name": "Incident"}, "summary": "x" * 256}})),
    "edit issue": (204, lambda w: w.s.put(w.url(f"{API}/issue/{w.fresh_issue()}"), json={
        "fields": {w.severity: {"id": w.sev_options[0]}, "priority": {"id": "2"}},
        "update": {"labels": [{"add": "escalate"}]}})),
    "edit issue invalid option": (400, lambda w: w.s.put(w.url(f"{API}/issue/{w.key}"), json={
        "fields": {w.severity: {"id": "1"}}})),
    "get editmeta": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/editmeta"))),
    "get transitions": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/transitions"))),
    "do transition": (204, lambda w: w.s.post(w.url(f"{API}/issue/{w.fresh_issue()}/transitions"),
                                              json={"transition": {"id": "11"}})),
    "refused transition": (400, lambda w: w.s.post(w.url(f"{API}/issue/{w.fresh_issue()}/transitions"),
                                                   json={"transition": {"id": "61"}})),
    "get comments": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/comment"),
                                            params={"startAt": 0, "maxResults": 50, "orderBy": "created"})),
    "add internal comment": (201, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/comment"), json={
        "body": _adf("Escalated to the project manager"),
        "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]})),
    "add comment mentioning a person": (201, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/comment"), json={
        "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Reported to "}, {"type": "mention", "attrs": {"id": w.pm, "text": "@Li Na"}}]}]}})),
    "add comment, malformed mention": (400, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/comment"), json={
        "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "mention", "attrs": {"text": "@Li Na"}}]}]}})),
    "get comments, rendered": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/comment"),
                                                      params={"expand": "renderedBody"})),
    "get user": (200, lambda w: w.s.get(w.url(f"{API}/user"), params={"accountId": w.pm})),
    "get missing user": (404, lambda w: w.s.get(w.url(f"{API}/user"), params={"accountId": "nobody-1"})),
    "delete custom field": (303, lambda w: w.s.delete(w.url(f"{API}/field/{w.fresh_field()}"),
                                                      allow_redirects=False)),
    "delete missing custom field": (404, lambda w: w.s.delete(w.url(f"{API}/field/customfield_99999"))),
    "get task": (200, lambda w: w.s.get(w.s.delete(w.url(f"{API}/field/{w.fresh_field()}"),
                                                   allow_redirects=False).headers["Location"])),
    "add watcher": (204, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/watchers"), json=w.pm)),
    "add watcher, no permission": (403, lambda w: w.with_bot(BotProfile(lacks={"MANAGE_WATCHERS"}), lambda: w.s.post(
        w.url(f"{API}/issue/{w.key}/watchers"), json=w.pm))),
    "get watchers": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/watchers"))),
    "remove watcher": (204, lambda w: w.s.delete(w.url(f"{API}/issue/{w.key}/watchers"),
                                                 params={"accountId": w.pm})),
    "notify": (204, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/notify"), json={
        "subject": "Escalated", "textBody": "Severity 1 unresolved for 4h", "htmlBody": "<p>Severity 1</p>",
        "to": {"reporter": True, "assignee": False, "watchers": True, "users": [{"accountId": w.pm}]}})),
    "notify, only the caller": (400, lambda w: w.s.post(w.url(f"{API}/issue/{w.key}/notify"), json={
        "subject": "x", "textBody": "x", "to": {"users": [{"accountId": w.sb.bot}]}})),
    "notify, outgoing mail off": (403, lambda w: w.with_bot(BotProfile(outgoing_mail=False), lambda: w.s.post(
        w.url(f"{API}/issue/{w.key}/notify"), json={"subject": "x", "textBody": "x",
                                                     "to": {"users": [{"accountId": w.pm}]}}))),
    "put property (new)": (201, lambda w: w.s.put(w.url(f"{API}/issue/{w.fresh_issue()}/properties/escalator"),
                                                  json={"level": 1, "sent": ["n-1"]})),
    "put property (update)": (200, lambda w: (
        w.s.put(w.url(f"{API}/issue/{w.key}/properties/escalator.state"), json={"v": 1}),
        w.s.put(w.url(f"{API}/issue/{w.key}/properties/escalator.state"), json={"v": 2}))[1]),
    "get property": (200, lambda w: (
        w.s.put(w.url(f"{API}/issue/{w.key}/properties/escalator.read"), json={"v": 1}),
        w.s.get(w.url(f"{API}/issue/{w.key}/properties/escalator.read")))[1]),
    "get property keys": (200, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/properties"))),
    "delete property": (204, lambda w: (
        w.s.put(w.url(f"{API}/issue/{w.key}/properties/escalator.gone"), json={"v": 1}),
        w.s.delete(w.url(f"{API}/issue/{w.key}/properties/escalator.gone")))[1]),
    "missing property": (404, lambda w: w.s.get(w.url(f"{API}/issue/{w.key}/properties/nothing"))),
    "get fields": (200, lambda w: w.s.get(w.url(f"{API}/field"))),
    "create field": (201, lambda w: w.s.post(w.url(f"{API}/field"), json={
        "name": "Escalation level", "description": "Vertical escalation (§5.2.2)",
        "type": CF + "select", "searcherKey": CF + "multiselectsearcher"})),
    "create field, bad searcher": (400, lambda w: w.s.post(w.url(f"{API}/field"), json={
        "name": "X", "type": CF + "select", "searcherKey": CF + "cascadingselectsearcher"})),
    "get contexts": (200, lambda w: w.s.get(w.url(f"{API}/field/{w.category}/context"))),
    "create context": (201, lambda w: w.s.post(w.url(f"{API}/field/{w.severity}/context"), json={
        "name": "Service desk incidents", "description": "", "projectIds": [w.sb.model.project("SD").id],
        "issueTypeIds": ["10001"]})),
    "get options": (200, lambda w: w.s.get(w.url(
        f"{API}/field/{w.category}/context/{w.sb.model.custom_field(w.category).contexts[0].id}/option"))),
    "create options": (200, lambda w: w.s.post(w.url(
        f"{API}/field/{w.category}/context/{w.sb.model.custom_field(w.category).contexts[0].id}/option"),
        json={"options": [{"value": "工程售后"}, {"value": "存储系统", "optionId": w.contract}]})),
    "assign context to projects": (204, lambda w: w.s.put(w.url(
        f"{API}/field/{w.fresh_field()}/context/{w.last_context}/project"),
        json={"projectIds": [w.sb.model.project("SD").id]})),
    "add issue types to context": (204, lambda w: w.s.put(w.url(
        f"{API}/field/{w.fresh_field()}/context/{w.last_context}/issuetype"), json={"issueTypeIds": ["10001"]})),
    "get screens": (200, lambda w: w.s.get(w.url(f"{API}/screens"), params={"startAt": 0, "maxResults": 2})),
    "get screens by id": (200, lambda w: w.s.get(w.url(f"{API}/screens"), params={"id": [1, w.sd_screen()[0]]})),
    "get issue type screen schemes of a project": (200, lambda w: w.s.get(
        w.url(f"{API}/issuetypescreenscheme/project"), params={"projectId": w.sb.model.project("SD").id})),
    "get issue type screen scheme items": (200, lambda w: w.s.get(
        w.url(f"{API}/issuetypescreenscheme/mapping"), params={"issueTypeScreenSchemeId": w.sd_schemes()[0]})),
    "get screen schemes": (200, lambda w: w.s.get(w.url(f"{API}/screenscheme"),
                                                  params={"id": w.sd_schemes()[1]})),
    "get screen tabs": (200, lambda w: w.s.get(w.url(f"{API}/screens/{w.sd_screen()[0]}/tabs"))),
    "get tabs of a missing screen": (404, lambda w: w.s.get(w.url(f"{API}/screens/99999/tabs"))),
    "get screen tab fields": (200, lambda w: w.s.get(w.url(
        f"{API}/screens/{w.sd_screen()[0]}/tabs/{w.sd_screen()[1]}/fields"))),
    "add field to screen tab": (200, lambda w: w.s.post(w.url(
        f"{API}/screens/{w.sd_screen()[0]}/tabs/{w.sd_screen()[1]}/fields"), json={"fieldId": w.offscreen_field()[0]})),
    "add field already on the screen": (400, lambda w: w.s.post(w.url(
        f"{API}/screens/{w.sd_screen()[0]}/tabs/{w.sd_screen()[1]}/fields"), json={"fieldId": w.severity})),
    "remove field from screen tab": (204, lambda w: w.s.delete(w.url(
        f"{API}/screens/{w.sd_screen()[0]}/tabs/{w.sd_screen()[1]}/fields/{w.fresh_field()}"))),
    "add field to default screen": (200, lambda w: w.s.post(w.url(
        f"{API}/screens/addToDefault/{w.offscreen_field()[0]}"))),
    "add field to default screen, already there": (404, lambda w: w.s.post(w.url(
        f"{API}/screens/addToDefault/summary"))),
    "edit issue, field not on the screen": (400, lambda w: (lambda f: w.s.put(
        w.url(f"{API}/issue/{w.fresh_issue()}"), json={"fields": {f[0]: {"id": f[1]}}}))(w.offscreen_field())),
    "get statuses": (200, lambda w: w.s.get(w.url(f"{API}/status"))),
    "get status categories": (200, lambda w: w.s.get(w.url(f"{API}/statuscategory"))),
    "get issue types": (200, lambda w: w.s.get(w.url(f"{API}/issuetype"))),
    "get priorities": (200, lambda w: w.s.get(w.url(f"{API}/priority"))),
    "search priorities": (200, lambda w: w.s.get(w.url(f"{API}/priority/search"),
                                                 params={"startAt": 0, "maxResults": 2})),
    "get projects": (200, lambda w: w.s.get(w.url(f"{API}/project"))),
    "search projects": (200, lambda w: w.s.get(w.url(f"{API}/project/search"),
                                               params={"keys": "SD", "expand": "issueTypes"})),
    "get project": (200, lambda w: w.s.get(w.url(f"{API}/project/SD"))),
    "get missing project": (404, lambda w: w.s.get(w.url(f"{API}/project/NOPE"))),
    "get project statuses": (200, lambda w: w.s.get(w.url(f"{API}/project/SD/statuses"))),
    "get issue link types": (200, lambda w: w.s.get(w.url(f"{API}/issueLinkType"))),
    "link issues": (201, lambda w: w.s.post(w.url(f"{API}/issueLink"), json={
        "type": {"name": "Problem/Incident"}, "inwardIssue": {"key": w.key},
        "outwardIssue": {"key": w.fresh_issue()}})),
    "link issues, unknown type": (404, lambda w: w.s.post(w.url(f"{API}/issueLink"), json={
        "type": {"name": "Nope"}, "inwardIssue": {"key": w.key}, "outwardIssue": {"key": w.fresh_issue()}})),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sandbox_answers_match_the_v3_spec(world, name):
    status, call = CASES[name]
    resp = call(world)
    assert resp.status_code == status, resp.text
    validate_exchange(resp)


def test_every_cloud_route_has_a_conformance_case(world):
    """A route added to the sandbox without a case here fails this test."""
    exercised = set()
    for _, call in CASES.values():
        resp = call(world)
        exercised.add((resp.request.method, _route_of(world.sb, resp.request.method, resp.request.path_url)))
    served = {(m, p.pattern) for m, p, _ in world.sb.routes
              if p.pattern.startswith(f"^{API}/") and not p.pattern.startswith(f"^{API}/search$")}
    assert served - exercised == set()


def _route_of(sb: JiraSandbox, method: str, path_url: str) -> str:
    path = path_url.split("?", 1)[0]
    for m, pattern, _ in sb.routes:
        if m == method and pattern.match(path):
            return pattern.pattern
    return path


def test_old_search_is_410_outside_the_spec(world):
    # the document still lists /rest/api/3/search (deprecated) without a 410; live Cloud answers 410
    resp = world.s.get(world.url(f"{API}/search"), params={"jql": "project = SD"})
    assert resp.status_code == 410
    assert set(resp.json()) == {"errorMessages", "errors"}


def test_the_validator_rejects_what_does_not_match():
    with pytest.raises(AssertionError, match="total"):
        validate_response("GET", "http://x/rest/api/3/issue/SD-1/changelog", 200, {"total": "many"})
    with pytest.raises(AssertionError, match="date-time"):
        validate_response("GET", "http://x/rest/api/3/issue/SD-1/changelog", 200,
                          {"values": [{"created": "20/11/2026 09:00"}]})
    with pytest.raises(AssertionError, match="status"):
        validate_response("POST", "http://x/rest/api/3/issue/SD-1/transitions", 200, None)
    with pytest.raises(AssertionError, match="issueIdsOrKeys"):
        validate_request("POST", "http://x/rest/api/3/changelog/bulkfetch", {"issueIds": ["SD-1"]})
    with pytest.raises(AssertionError, match="maxResults"):
        validate_request("GET", "http://x/rest/api/3/search/jql?jql=project%20%3D%20SD&maxResults=lots")
    validate_request("POST", "http://x/rest/api/3/search/jql",
                     {"jql": "project = SD", "fields": ["summary"], "maxResults": 100, "nextPageToken": "abc"})


def test_the_response_hook_checks_every_call_of_a_session(world):
    s = requests.Session()
    s.auth = ("bot@example.com", "sandbox-token")
    s.hooks["response"].append(response_hook)
    assert s.get(world.url(f"{API}/issue/{world.key}/changelog")).status_code == 200
    world.sb.add_fault(Fault(path=r"/serverInfo$", status=200, body={"version": 1001}))
    with pytest.raises(AssertionError, match="version"):
        s.get(world.url(f"{API}/serverInfo"))
