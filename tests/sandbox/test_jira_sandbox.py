"""The sandbox Jira over loopback with plain `requests`: auth, search, history, writes, faults.

Time is a fake clock the tests move; the only real waits are the slow-answer fault
(a client timeout of a few hundredths of a second) and nothing else.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests

from sandbox.jira import JiraSandbox, Workflow, WorkflowTransition
from sandbox.server import Fault, RateLimiter
from tests.handclock import HandClock

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)



@pytest.fixture
def clock() -> HandClock:
    return HandClock(T0)


@pytest.fixture
def cloud(clock):
    with JiraSandbox("cloud", clock=clock) as sb:
        yield sb
        assert sb.errors == []  # no handler crashed into a 500


@pytest.fixture
def dc(clock):
    with JiraSandbox("datacenter", clock=clock) as sb:
        yield sb
        assert sb.errors == []


def cloud_session(email: str = "bot@example.com", token: str = "sandbox-token") -> requests.Session:
    s = requests.Session()
    s.auth = (email, token)
    return s


def dc_session(token: str = "sandbox-token") -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def adf(text: str) -> dict:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


# -- auth -----------------------------------------------------------------------------------------
def test_cloud_basic_auth_accepts_the_token_and_refuses_a_wrong_one(cloud):
    ok = cloud_session().get(f"{cloud.base_url}/rest/api/3/myself")
    assert ok.status_code == 200
    assert ok.json()["emailAddress"] == "bot@example.com" and ok.json()["accountId"]
    bad = cloud_session(token="wrong").get(f"{cloud.base_url}/rest/api/3/myself")
    assert bad.status_code == 401
    assert bad.text == "Client must be authenticated to access this resource."
    assert bad.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    # Cloud does not take a bearer API token
    assert dc_session().get(f"{cloud.base_url}/rest/api/3/myself").status_code == 401


def test_datacenter_takes_a_bearer_pat_only(dc):
    ok = dc_session().get(f"{dc.base_url}/rest/api/2/myself")
    assert ok.status_code == 200 and ok.json()["name"] == "bot"
    bad = dc_session("wrong").get(f"{dc.base_url}/rest/api/2/myself")
    assert bad.status_code == 401
    assert bad.json()["errorMessages"] and bad.json()["errors"] == {}
    basic = requests.get(f"{dc.base_url}/rest/api/2/myself", auth=("bot@example.com", "sandbox-token"))
    assert basic.status_code == 401


# -- search ---------------------------------------------------------------------------------------
def _read_all(session, url, params, *, post=False):
    keys, calls, token = [], 0, None
    while True:
        q = dict(params)
        if token:
            q["nextPageToken"] = token
        r = session.post(url, json=q) if post else session.get(url, params=q)
        calls += 1
        assert r.status_code == 200, r.text
        page = r.json()
        keys += [i.get("key", i["id"]) for i in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            return keys, calls
        assert token


def test_cloud_search_pages_with_next_page_token(cloud, clock):
    for n in range(120):
        cloud.create_issue(summary=f"incident {n}")
        clock.advance(seconds=1)
    url = f"{cloud.base_url}/rest/api/3/search/jql"
    s = cloud_session()
    keys, calls = _read_all(s, url, {"jql": "project = SD ORDER BY updated ASC", "maxResults": 50,
                                     "fields": "summary,status"})
    assert calls == 3 and len(keys) == 120 and len(set(keys)) == 120
    assert keys[:2] == ["SD-1", "SD-2"]
    post_keys, _ = _read_all(s, url, {"jql": "project in (SD) ORDER BY updated DESC, key ASC",
                                      "maxResults": 100, "fields": ["summary"]}, post=True)
    assert post_keys == list(reversed(keys))
    # the default is ids only; pages of ids may hold up to 5000, field-heavy pages 100
    first = s.get(url, params={"jql": "project = SD", "maxResults": 5000}).json()
    assert first["issues"][0] == {"id": first["issues"][0]["id"]} and len(first["issues"]) == 120
    capped = s.get(url, params={"jql": "project = SD", "maxResults": 1000, "fields": "*all"}).json()
    assert len(capped["issues"]) == 100 and not capped["isLast"]
    stale = s.get(url, params={"jql": "project = SD AND status = Open", "nextPageToken": capped["nextPageToken"]})
    assert stale.status_code == 400


def test_datacenter_search_pages_with_start_at(dc, clock):
    for n in range(30):
        dc.create_issue(summary=f"incident {n}")
        clock.advance(minutes=1)
    s = dc_session()
    r = s.get(f"{dc.base_url}/rest/api/2/search", params={"jql": "project = SD ORDER BY created ASC",
                                                          "startAt": 20, "maxResults": 25})
    page = r.json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (20, 25, 30)
    assert [i["key"] for i in page["issues"]] == [f"SD-{n}" for n in range(21, 31)]
    assert page["issues"][0]["fields"]["summary"] == "incident 20"  # *navigable by default
    big = s.post(f"{dc.base_url}/rest/api/2/search", json={"jql": "project = SD", "maxResults": 5000}).json()
    assert big["maxResults"] == 1000 and len(big["issues"]) == 30
    # DC has no /search/jql and still serves the old search
    assert s.get(f"{dc.base_url}/rest/api/2/search/jql", params={"jql": "project = SD"}).status_code == 404


def test_updated_filter_is_minute_precise_in_the_users_zone(clock):
    with JiraSandbox("cloud", clock=clock, time_zone="Asia/Shanghai") as sb:
        clock.now = T0.replace(minute=4, second=59)
        early = sb.create_issue(summary="before")
        clock.now = T0.replace(minute=5)
        exact = sb.create_issue(summary="on the minute")
        clock.now = T0.replace(minute=5, second=30)
        late = sb.create_issue(summary="within the minute")
        s = cloud_session()

        def keys(jql):
            r = s.get(f"{sb.base_url}/rest/api/3/search/jql", params={"jql": jql, "fields": "updated"})
            assert r.status_code == 200, r.text
            return [i["key"] for i in r.json()["issues"]]

        # 09:05 UTC is 17:05 in Shanghai: the user's zone is what JQL dates mean
        assert keys('project = SD AND updated >= "2026/11/20 17:05" ORDER BY updated ASC') == [exact, late]
        assert keys('project = SD AND updated > "2026-11-20 17:05" ORDER BY updated ASC') == [late]
        assert keys('project = SD AND updated < "2026/11/20 17:05" ORDER BY updated ASC') == [early]
        # timestamps come back in the user's zone, Jira's format
        issue = s.get(f"{sb.base_url}/rest/api/3/issue/{late}").json()
        assert issue["fields"]["updated"] == "2026-11-20T17:05:30.000+0800"


def test_jql_the_sandbox_cannot_read_is_a_400_like_jira(cloud):
    s, url = cloud_session(), f"{cloud.base_url}/rest/api/3/search/jql"
    key = cloud.create_issue(summary="x")
    cases = {
        "project = NOPE": "The value 'NOPE' does not exist for the field 'project'.",
        "frobnicate = 1": "Field 'frobnicate' does not exist or you do not have permission to view it.",
        "order by key desc": "Unbounded JQL queries are not allowed here.",
        'project = SD AND updated >= "20/11/2026"': "Date value '20/11/2026' for field 'updated' is invalid.",
        "key in (SD-999)": "An issue with key 'SD-999' does not exist for field 'key'.",
        'project = "SD': "Error in the JQL Query: The quoted string 'SD' has not been completed.",
        "project = SD AND": "Error in the JQL Query: Expecting either a value, list or function",
        "project = SD status = Open": "Error in the JQL Query: Expecting either 'OR' or 'AND'",
    }
    for jql, message in cases.items():
        r = s.get(url, params={"jql": jql})
        assert r.status_code == 400, jql
        assert r.json()["errorMessages"][0].startswith(message), r.json()
    ok = s.post(url, json={"jql": f'key in ({key}) AND statusCategory != Done AND issuetype in (Incident, 10002) '
                                  f'AND status in ("Open", "In Progress")', "fields": ["status"]})
    assert [i["key"] for i in ok.json()["issues"]] == [key]


def test_old_cloud_search_is_gone(cloud):
    s = cloud_session()
    for method in ("get", "post"):
        r = getattr(s, method)(f"{cloud.base_url}/rest/api/3/search", params={"jql": "project = SD"})
        assert r.status_code == 410
        assert "/rest/api/3/search/jql" in r.json()["errorMessages"][0]
    assert s.get(f"{cloud.base_url}/rest/api/2/search", params={"jql": "project = SD"}).status_code == 410


def test_a_full_read_of_ten_thousand_issues_is_two_calls(clock):
    with JiraSandbox("cloud", clock=clock) as sb:
        for n in range(10_000):
            sb.create_issue(summary=f"incident {n}")
        keys, calls = _read_all(cloud_session(), f"{sb.base_url}/rest/api/3/search/jql",
                                {"jql": "project = SD ORDER BY key ASC", "maxResults": 5000})
        assert calls == 2 and len(set(keys)) == 10_000
        assert sb.calls_to(r"/search/jql$") == 2


# -- history --------------------------------------------------------------------------------------
def _select_field(sb: JiraSandbox, name: str, values: list[str]) -> tuple[str, list[str]]:
    fid = sb.create_custom_field(name, CF + "select", searcher=CF + "multiselectsearcher")
    return fid, sb.add_options(fid, values)


def test_every_change_leaves_a_changelog_entry_by_its_author(cloud, clock):
    human = cloud.add_user("Wang Fang", "wang@example.com", token="human-token")
    sev, (s1, s2, _s3, _s4) = _select_field(cloud, "Severity", ["1", "2", "3", "4"])
    key = cloud.create_issue(summary="Core switch down", fields={sev: {"id": s2}}, reporter=human)
    base = f"{cloud.base_url}/rest/api/3/issue/{key}"
    clock.advance(minutes=3)
    r = cloud_session().put(base, json={"fields": {sev: {"id": s1}, "priority": {"name": "High"}},
                                        "update": {"labels": [{"add": "escalate"}]}})
    assert r.status_code == 204, r.text
    clock.advance(minutes=2)
    assert cloud_session("wang@example.com", "human-token").post(
        f"{base}/transitions", json={"transition": {"id": "11"}}).status_code == 204
    log = cloud_session().get(f"{base}/changelog").json()
    assert log["total"] == 2 and log["isLast"]
    first, second = log["values"]
    assert first["author"]["displayName"] == "Escalator Bot"
    assert first["created"] == "2026-11-20T09:03:00.000+0000"
    items = {i["fieldId"]: i for i in first["items"]}
    assert items[sev] == {"field": "Severity", "fieldtype": "custom", "fieldId": sev, "from": s2,
                          "fromString": "2", "to": s1, "toString": "1"}
    assert (items["priority"]["fromString"], items["priority"]["toString"]) == ("Medium", "High")
    assert items["labels"]["toString"] == "escalate"
    assert second["author"]["emailAddress"] == "wang@example.com"
    assert second["items"] == [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "1",
                                "fromString": "Open", "to": "3", "toString": "In Progress"}]
    issue = cloud_session().get(base, params={"fields": f"updated,{sev},labels"}).json()["fields"]
    assert issue["updated"] == "2026-11-20T09:05:00.000+0000"
    assert issue[sev]["value"] == "1" and issue[sev]["id"] == s1 and issue["labels"] == ["escalate"]
    # setting a field to the value it has changes nothing and writes no history
    cloud_session().put(base, json={"fields": {sev: {"id": s1}}})
    assert cloud_session().get(f"{base}/changelog").json()["total"] == 2


def test_bulk_changelog_filters_fields_and_pages(cloud, clock):
    sev, (s1, s2, s3, s4) = _select_field(cloud, "Severity", ["1", "2", "3", "4"])
    keys = [cloud.create_issue(summary=f"i{n}", fields={sev: {"id": s4}}) for n in range(3)]
    for option in (s3, s2, s1):
        for key in keys:
            clock.advance(minutes=1)
            cloud.edit_issue(key, {sev: {"id": option}, "summary": f"{key} at {option}"})
    cloud.move_issue(keys[0], "In Progress")
    url, s = f"{cloud.base_url}/rest/api/3/changelog/bulkfetch", cloud_session()
    seen, token, calls = [], None, 0
    while True:
        body = {"issueIdsOrKeys": keys, "fieldIds": [sev], "maxResults": 4}
        if token:
            body["nextPageToken"] = token
        page = s.post(url, json=body).json()
        calls += 1
        for log in page["issueChangeLogs"]:
            for h in log["changeHistories"]:
                assert [i["fieldId"] for i in h["items"]] == [sev]
                seen.append((log["issueId"], h["items"][0]["toString"], h["created"]))
        token = page.get("nextPageToken")
        if not token:
            break
    assert calls == 3 and len(seen) == 9
    assert [c for _, _, c in seen] == sorted(c for _, _, c in seen)  # oldest first
    assert s.post(url, json={"issueIdsOrKeys": []}).status_code == 400


# -- transitions ----------------------------------------------------------------------------------
def test_transitions_follow_the_workflow(cloud):
    key = cloud.create_issue(summary="x")
    base, s = f"{cloud.base_url}/rest/api/3/issue/{key}", cloud_session()
    offered = s.get(f"{base}/transitions").json()["transitions"]
    assert {(t["id"], t["to"]["name"]) for t in offered} == {("11", "In Progress"), ("51", "Resolved")}
    refused = s.post(f"{base}/transitions", json={"transition": {"id": "61"}})
    assert refused.status_code == 400
    assert refused.json()["errorMessages"] == ["Transition id '61' is not valid for this issue."]
    assert s.put(base, json={"fields": {"status": {"id": "6"}}}).status_code == 400
    assert s.post(f"{base}/transitions", json={"transition": {"id": "51"}}).status_code == 204
    assert s.get(base, params={"fields": "status"}).json()["fields"]["status"]["statusCategory"]["key"] == "done"


def test_a_project_workflow_can_be_configured(cloud):
    cloud.add_status("Pending review", "indeterminate")
    cloud.add_project("OPS", "Operations", type_key="software", workflow=Workflow("Open", [
        WorkflowTransition("5", "Close for review", "Pending review", ("Open",)),
        WorkflowTransition("6", "Archive", "Closed", None)]))
    key = cloud.create_issue("OPS", "Task", "x")
    s = cloud_session()
    names = [t["name"] for t in s.get(f"{cloud.base_url}/rest/api/3/issue/{key}/transitions").json()["transitions"]]
    assert names == ["Close for review", "Archive"]
    statuses = s.get(f"{cloud.base_url}/rest/api/3/project/OPS/statuses").json()
    assert [st["name"] for st in statuses[0]["statuses"]] == ["Open", "Pending review", "Closed"]
    with pytest.raises(ValueError, match="unknown statuses"):
        cloud.set_workflow("OPS", Workflow("Open", [WorkflowTransition("7", "x", "Nowhere")]))


def test_the_seeded_workflow_can_hold_every_procedure_state(clock):
    flow = Workflow("Pending", [
        WorkflowTransition("1", "Dispatch", "Dispatched", ("Pending",)),
        WorkflowTransition("2", "Start", "Working", ("Dispatched",)),
        WorkflowTransition("3", "Close for review", "Pending review", ("Working",)),
        WorkflowTransition("4", "Archive", "Archived", ("Pending review",))])
    extra = {"Pending": "new", "Dispatched": "new", "Working": "indeterminate",
             "Pending review": "done", "Archived": "done"}
    with JiraSandbox("datacenter", clock=clock, workflow=flow, statuses=extra) as sb:
        key = sb.create_issue(summary="x")
        for status in ("Dispatched", "Working", "Pending review", "Archived"):
            sb.move_issue(key, status)
        with pytest.raises(ValueError, match="no transition"):
            sb.move_issue(key, "Working")
        page = dc_session().get(f"{sb.base_url}/rest/api/2/search", params={
            "jql": 'statusCategory = Done AND status = "Archived"', "expand": "changelog"}).json()
        assert page["total"] == 1
        assert [h["items"][0]["toString"] for h in page["issues"][0]["changelog"]["histories"]] == [
            "Dispatched", "Working", "Pending review", "Archived"]


# -- comments ---------------------------------------------------------------------------------------
def test_comments_carry_their_visibility(cloud):
    cloud.add_project("DEV", "Development", type_key="software")
    sd_key, dev_key = cloud.create_issue(summary="x"), cloud.create_issue("DEV", "Task", "y")
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3/issue"
    internal = {"key": "sd.public.comment", "value": {"internal": True}}
    r = s.post(f"{api}/{sd_key}/comment", json={"body": adf("for agents"), "properties": [internal]})
    assert r.status_code == 201 and r.json()["jsdPublic"] is False
    r = s.post(f"{api}/{sd_key}/comment", json={"body": adf("for the customer")})
    assert r.json()["jsdPublic"] is True
    # the JSM property means nothing outside a service project
    assert s.post(f"{api}/{dev_key}/comment", json={"body": adf("x"), "properties": [internal]}).json()["jsdPublic"]
    assert s.post(f"{api}/{sd_key}/comment", json={"body": "plain text"}).status_code == 400
    restricted = s.post(f"{api}/{sd_key}/comment", json={"body": adf("admins"),
                                                         "visibility": {"type": "role", "value": "Administrators"}})
    assert restricted.json()["visibility"] == {"type": "role", "value": "Administrators"}
    assert s.post(f"{api}/{sd_key}/comment", json={"body": adf("x"), "visibility": {"type": "team"}}).status_code == 400
    jsm = s.post(f"{cloud.base_url}/rest/servicedeskapi/request/{sd_key}/comment",
                 json={"body": "internal note", "public": False})
    assert jsm.status_code == 201 and jsm.json()["public"] is False
    page = s.get(f"{api}/{sd_key}/comment", params={"startAt": 1, "maxResults": 1}).json()
    assert (page["total"], page["startAt"], len(page["comments"])) == (4, 1, 1)
    every = s.get(f"{api}/{sd_key}/comment").json()["comments"]
    assert [c["jsdPublic"] for c in every] == [False, True, True, False]
    assert every[3]["body"]["content"][0]["content"][0]["text"] == "internal note"
    assert s.post(f"{cloud.base_url}/rest/servicedeskapi/request/{dev_key}/comment",
                  json={"body": "x", "public": True}).status_code == 404


def test_datacenter_comment_bodies_are_wiki_strings(dc):
    key = dc.create_issue(summary="x")
    s, url = dc_session(), f"{dc.base_url}/rest/api/2/issue/{key}/comment"
    r = s.post(url, json={"body": "h1. Escalated\nto *level 2*"})
    assert r.status_code == 201 and r.json()["body"] == "h1. Escalated\nto *level 2*"
    assert "jsdPublic" not in r.json() and "properties" not in r.json()
    internal = {"key": "sd.public.comment", "value": {"internal": True}}
    assert s.post(url, json={"body": "agents only", "properties": [internal]}).status_code == 201
    listed = s.get(url, params={"expand": "properties"}).json()["comments"]
    assert [c["properties"] for c in listed] == [[], [internal]]
    assert s.post(url, json={"body": adf("x")}).status_code == 400


# -- properties, watchers, notify ---------------------------------------------------------------------
def test_issue_entity_properties(cloud):
    key = cloud.create_issue(summary="x")
    s, url = cloud_session(), f"{cloud.base_url}/rest/api/3/issue/{key}/properties"
    assert s.get(f"{url}/escalator").status_code == 404
    assert s.put(f"{url}/escalator", json={"level": 1}).status_code == 201
    assert s.put(f"{url}/escalator", json={"level": 2}).status_code == 200
    assert s.get(f"{url}/escalator").json() == {"key": "escalator", "value": {"level": 2}}
    assert [k["key"] for k in s.get(url).json()["keys"]] == ["escalator"]
    # the daemon's state can come along with a search, without one call per issue
    found = s.post(f"{cloud.base_url}/rest/api/3/search/jql",
                   json={"jql": "project = SD", "properties": ["escalator"]}).json()["issues"]
    assert found == [{"id": found[0]["id"], "properties": {"escalator": {"level": 2}}}]
    assert s.post(f"{cloud.base_url}/rest/api/3/search/jql",
                  json={"jql": "project = SD", "properties": list("abcdef")}).status_code == 400
    assert s.delete(f"{url}/escalator").status_code == 204
    assert s.delete(f"{url}/escalator").status_code == 404
    assert s.get(f"{cloud.base_url}/rest/api/3/issue/SD-99/properties").json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}


def test_watchers_and_notify(cloud):
    pm = cloud.add_user("Li Na", "li@example.com")
    director = cloud.add_user("Zhao Lei", "zhao@example.com")
    reporter = cloud.add_user("Chen Jie", "chen@example.com")
    key = cloud.create_issue(summary="x", reporter=reporter)
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3/issue/{key}"
    assert s.post(f"{api}/watchers", json=pm).status_code == 204
    assert s.post(f"{api}/watchers", json="no-such-account").status_code == 404
    w = s.get(f"{api}/watchers").json()
    assert w["watchCount"] == 1 and w["watchers"][0]["accountId"] == pm and not w["isWatching"]
    r = s.post(f"{api}/notify", json={"subject": "Escalated to level 2", "textBody": "Please act",
                                      "to": {"reporter": True, "watchers": True,
                                             "users": [{"accountId": director}]}})
    assert r.status_code == 204
    (note,) = cloud.notifications
    assert note.issue_key == key and note.subject == "Escalated to level 2"
    assert note.recipients == [reporter, pm, director]
    assert s.delete(f"{api}/watchers", params={"accountId": pm}).status_code == 204
    assert s.get(f"{api}/watchers").json()["watchCount"] == 0


# -- custom fields ----------------------------------------------------------------------------------
def _edit_screen_of(s: requests.Session, api: str, project: str, issue_type: str = "10001") -> tuple[int, int]:
    """(screen id, first tab id) of a project's edit screen, the way the v3 API leads there:
    issue type screen scheme -> its item for the issue type (else `default`) -> screen scheme
    -> its `edit` screen (else `default`) -> tabs."""
    pid = s.get(f"{api}/project/{project}").json()["id"]
    (itss,) = s.get(f"{api}/issuetypescreenscheme/project", params={"projectId": pid}).json()["values"]
    assert itss["projectIds"] == [pid]
    items = s.get(f"{api}/issuetypescreenscheme/mapping",
                  params={"issueTypeScreenSchemeId": itss["issueTypeScreenScheme"]["id"]}).json()["values"]
    by_type = {i["issueTypeId"]: i["screenSchemeId"] for i in items}
    (scheme,) = s.get(f"{api}/screenscheme", params={"id": by_type.get(issue_type) or by_type["default"]}).json()[
        "values"]
    screen = scheme["screens"].get("edit") or scheme["screens"]["default"]
    return screen, s.get(f"{api}/screens/{screen}/tabs").json()[0]["id"]


def test_a_field_is_settable_only_on_its_projects_edit_screen(cloud):
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3"
    fid = s.post(f"{api}/field", json={"name": "Level", "type": CF + "select"}).json()["id"]
    (opt,) = cloud.add_options(fid, ["1"])
    key = cloud.create_issue(summary="x")
    # POST /field puts a field on no screen: Jira refuses to set it, and editmeta leaves it out
    refused = s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": opt}}})
    assert refused.status_code == 400 and refused.json() == {"errorMessages": [], "errors": {
        fid: f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."}}
    assert fid not in s.get(f"{api}/issue/{key}/editmeta").json()["fields"]
    created = s.post(f"{api}/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"},
                                                      "summary": "y", fid: {"id": opt}}})
    assert created.status_code == 400 and fid in created.json()["errors"]
    # the site's Default Screen is not SD's screen: addToDefault does not help SD
    assert s.post(f"{api}/screens/addToDefault/{fid}").status_code == 200
    assert fid in [f["id"] for f in s.get(f"{api}/screens/1/tabs/{cloud.model.screens[1].tabs[0].id}/fields").json()]
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": opt}}}).status_code == 400
    # on SD's own edit screen it can be set
    screen, tab = _edit_screen_of(s, api, "SD")
    added = s.post(f"{api}/screens/{screen}/tabs/{tab}/fields", json={"fieldId": fid})
    assert added.status_code == 200 and added.json() == {"id": fid, "name": "Level"}
    assert s.post(f"{api}/screens/{screen}/tabs/{tab}/fields", json={"fieldId": fid}).status_code == 400
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": opt}}}).status_code == 204
    assert fid in s.get(f"{api}/issue/{key}/editmeta").json()["fields"]
    # taken off again: refused again
    assert s.delete(f"{api}/screens/{screen}/tabs/{tab}/fields/{fid}").status_code == 204
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: None}}).status_code == 400
    named = s.get(f"{api}/screens", params={"id": screen}).json()["values"]
    assert named == [{"id": screen, "name": "SD: Jira Service Management Edit/View Issue Screen", "description": ""}]


def test_data_center_screens(dc):
    s, api = dc_session(), f"{dc.base_url}/rest/api/2"
    fid = s.post(f"{api}/field", json={"name": "Level", "type": CF + "select"}).json()["id"]
    (opt,) = dc.add_options(fid, ["1"])
    key = dc.create_issue(summary="x")
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": opt}}}).status_code == 400
    screens = s.get(f"{api}/screens").json()  # DC: a plain list
    screen = next(x["id"] for x in screens if x["name"].startswith("SD: "))
    (tab,) = s.get(f"{api}/screens/{screen}/tabs").json()
    assert s.post(f"{api}/screens/{screen}/tabs/{tab['id']}/fields", json={"fieldId": fid}).status_code == 200
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": opt}}}).status_code == 204
    assert fid in s.get(f"{api}/issue/{key}/editmeta").json()["fields"]
    # DC has no screen scheme resources
    assert s.get(f"{api}/screenscheme").status_code == 404


def test_custom_fields_contexts_and_options(cloud):
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3"
    bad = s.post(f"{api}/field", json={"name": "Severity", "type": CF + "select", "searcherKey": CF + "datetimerange"})
    assert bad.status_code == 400 and "searcherKey" in bad.json()["errors"]
    made = s.post(f"{api}/field", json={"name": "Category", "type": CF + "cascadingselect",
                                        "searcherKey": CF + "cascadingselectsearcher"})
    assert made.status_code == 201
    fid = made.json()["id"]
    assert fid.startswith("customfield_") and made.json()["schema"]["type"] == "option-with-child"
    assert fid in [f["id"] for f in s.get(f"{api}/field").json()]
    contexts = s.get(f"{api}/field/{fid}/context").json()
    assert contexts["total"] == 1 and contexts["values"][0]["isGlobalContext"]
    project_id = s.get(f"{api}/project/SD").json()["id"]
    ctx = s.post(f"{api}/field/{fid}/context", json={"name": "Service desk", "projectIds": [project_id],
                                                     "issueTypeIds": []})
    assert ctx.status_code == 201
    ctx_id = ctx.json()["id"]
    parents = s.post(f"{api}/field/{fid}/context/{ctx_id}/option",
                     json={"options": [{"value": "合同服务"}, {"value": "工程售后"}]}).json()["options"]
    contract = parents[0]["id"]
    child = s.post(f"{api}/field/{fid}/context/{ctx_id}/option",
                   json={"options": [{"value": "网络", "optionId": contract}]}).json()["options"][0]
    assert child["optionId"] == contract
    dup = s.post(f"{api}/field/{fid}/context/{ctx_id}/option", json={"options": [{"value": "合同服务"}]})
    assert dup.status_code == 400
    listed = s.get(f"{api}/field/{fid}/context/{ctx_id}/option").json()["values"]
    assert [o["value"] for o in listed] == ["合同服务", "工程售后", "网络"]
    key = cloud.create_issue(summary="x")
    screen, tab = _edit_screen_of(s, api, "SD")
    assert s.post(f"{api}/screens/{screen}/tabs/{tab}/fields", json={"fieldId": fid}).status_code == 200
    value = {"id": contract, "child": {"id": child["id"]}}
    assert s.put(f"{api}/issue/{key}", json={"fields": {fid: value}}).status_code == 204
    got = s.get(f"{api}/issue/{key}", params={"fields": fid}).json()["fields"][fid]
    assert (got["value"], got["id"], got["child"]["value"]) == ("合同服务", contract, "网络")
    wrong = s.put(f"{api}/issue/{key}", json={"fields": {fid: {"id": "999999"}}})
    assert wrong.status_code == 400 and wrong.json()["errors"] == {fid: "Option id '999999' is not valid"}
    unknown = s.put(f"{api}/issue/{key}", json={"fields": {"customfield_99999": "x"}})
    assert unknown.json()["errors"]["customfield_99999"].startswith("Field 'customfield_99999' cannot be set.")
    dt = s.post(f"{api}/field", json={"name": "Reported at", "type": CF + "datetime",
                                      "searcherKey": CF + "datetimerange"}).json()["id"]
    cloud.add_field_to_screen("SD", dt)
    assert s.put(f"{api}/issue/{key}", json={"fields": {dt: "2026-11-20T09:00:00.000+0800"}}).status_code == 204
    assert s.get(f"{api}/issue/{key}", params={"fields": dt}).json()["fields"][dt] == "2026-11-20T01:00:00.000+0000"


def test_a_field_is_settable_only_where_a_context_applies(cloud):
    cloud.add_project("DEV", "Development", type_key="software")
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3"
    fid = s.post(f"{api}/field", json={"name": "Level", "type": CF + "select"}).json()["id"]
    global_ctx = s.get(f"{api}/field/{fid}/context").json()["values"][0]["id"]
    cloud.model.custom_field(fid).contexts.clear()  # as if the admin had deleted the default context
    sd = s.get(f"{api}/project/SD").json()["id"]
    ctx = s.post(f"{api}/field/{fid}/context", json={"name": "SD only", "projectIds": [sd]}).json()["id"]
    assert ctx != global_ctx
    (opt,) = cloud.add_options(fid, ["1"], context_id=ctx)
    for project in ("DEV", "SD"):  # on both screens: only the context keeps it from DEV
        cloud.add_field_to_screen(project, fid)
    dev_key, sd_key = cloud.create_issue("DEV", "Task", "x"), cloud.create_issue(summary="y")
    assert s.put(f"{api}/issue/{dev_key}", json={"fields": {fid: {"id": opt}}}).status_code == 400
    assert s.put(f"{api}/issue/{sd_key}", json={"fields": {fid: {"value": "1"}}}).status_code == 204


# -- faults and rate limits --------------------------------------------------------------------------
def test_injected_faults(cloud):
    s, url = cloud_session(), f"{cloud.base_url}/rest/api/3/myself"
    cloud.add_fault(Fault(path=r"/myself$", status=429, retry_after=7))
    cloud.add_fault(Fault(path=r"/myself$", status=503))
    first = s.get(url)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert s.get(url).status_code == 503
    assert s.get(url).status_code == 200
    cloud.add_fault(Fault(path=r"/myself$", status=0, delay=0.5))
    with pytest.raises(requests.Timeout):
        s.get(url, timeout=0.05)
    assert cloud.calls_to(r"/myself$") >= 3


class _Monotonic:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_answers_429_with_atlassian_headers(clock):
    mono = _Monotonic()
    with JiraSandbox("cloud", clock=clock, rate_limit=RateLimiter(2, clock=mono)) as sb:
        s, url = cloud_session(), f"{sb.base_url}/rest/api/3/serverInfo"
        assert [s.get(url).status_code for _ in range(2)] == [200, 200]
        limited = s.get(url)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "1"
        assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
        assert limited.headers["X-RateLimit-Reset"] == "2026-11-20T09:00Z"
        assert limited.headers["X-RateLimit-Limit"] == "2"
        mono.t += 1.0
        assert s.get(url).status_code == 200


def test_datacenter_rate_limit_headers(clock):
    mono = _Monotonic()
    with JiraSandbox("datacenter", clock=clock, rate_limit=RateLimiter(1, clock=mono)) as sb:
        s, url = dc_session(), f"{sb.base_url}/rest/api/2/serverInfo"
        assert s.get(url).status_code == 200
        limited = s.get(url)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert limited.headers["X-RateLimit-FillRate"] == "1"


def test_concurrent_writers_each_leave_one_history(cloud):
    sev, options = _select_field(cloud, "Severity", ["1", "2", "3", "4"])
    key = cloud.create_issue(summary="x")
    url = f"{cloud.base_url}/rest/api/3/issue/{key}"
    errors: list[int] = []

    def writer(n: int) -> None:
        s = cloud_session()
        for i in range(10):
            r = s.put(url, json={"update": {"labels": [{"add": f"w{n}-{i}"}]}})
            if r.status_code != 204:
                errors.append(r.status_code)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cloud_session().get(f"{url}/changelog").json()["total"] == 40
    assert len(cloud.issue(key).fields["labels"]) == 40


def test_editmeta_lists_the_allowed_options(dc):
    """On Data Center the option ids are read from editmeta (DC has no field-context REST API)."""
    cat = dc.create_custom_field("Category", CF + "cascadingselect", searcher=CF + "cascadingselectsearcher")
    (contract,) = dc.add_options(cat, ["合同服务"])
    network, storage = dc.add_options(cat, ["网络", "存储系统"], parent=contract)
    key = dc.create_issue(summary="x")
    meta = dc_session().get(f"{dc.base_url}/rest/api/2/issue/{key}/editmeta").json()["fields"]
    (parent,) = meta[cat]["allowedValues"]
    assert (parent["id"], parent["value"]) == (contract, "合同服务")
    assert [(c["id"], c["value"]) for c in parent["children"]] == [(network, "网络"), (storage, "存储系统")]
    assert [p["name"] for p in meta["priority"]["allowedValues"]][:2] == ["Highest", "High"]
    assert meta["labels"]["operations"] == ["add", "set", "remove"]
    r = dc_session().put(f"{dc.base_url}/rest/api/2/issue/{key}",
                         json={"fields": {cat: {"value": "合同服务", "child": {"value": "存储系统"}}}})
    assert r.status_code == 204
    found = dc_session().get(f"{dc.base_url}/rest/api/2/search", params={
        "jql": f"key = {key}", "fields": cat, "expand": "changelog,names"}).json()
    assert found["names"] == {cat: "Category"}
    history = found["issues"][0]["changelog"]
    assert history["total"] == 1
    (item,) = history["histories"][0]["items"]
    assert item["toString"] == f"Parent values: 合同服务({contract})Level 1 values: 存储系统({storage})"
    assert (item["field"], item["fieldtype"]) == ("Category", "custom") and "fieldId" not in item  # DC: no fieldId


def test_contexts_can_be_narrowed_to_projects_and_issue_types(cloud):
    cloud.add_project("DEV", "Development", type_key="software")
    s, api = cloud_session(), f"{cloud.base_url}/rest/api/3"
    fid = cloud.create_custom_field("Level", CF + "select")
    ctx = s.get(f"{api}/field/{fid}/context").json()["values"][0]["id"]
    sd = s.get(f"{api}/project/SD").json()["id"]
    assert s.put(f"{api}/field/{fid}/context/{ctx}/project", json={"projectIds": [sd]}).status_code == 204
    assert s.put(f"{api}/field/{fid}/context/{ctx}/project", json={"projectIds": [sd]}).status_code == 400
    assert s.put(f"{api}/field/{fid}/context/{ctx}/issuetype", json={"issueTypeIds": ["10001"]}).status_code == 204
    (ctx_entry,) = s.get(f"{api}/field/{fid}/context").json()["values"]
    assert not ctx_entry["isGlobalContext"] and not ctx_entry["isAnyIssueType"]
    cloud.add_options(fid, ["1"])
    incident, task = cloud.create_issue(summary="a"), cloud.create_issue(issue_type="Task", summary="b")
    assert fid in s.get(f"{api}/issue/{incident}/editmeta").json()["fields"]
    assert fid not in s.get(f"{api}/issue/{task}/editmeta").json()["fields"]


def test_datacenter_lists_field_options_by_page(dc):
    sev = dc.create_custom_field("Severity", CF + "select", searcher=CF + "multiselectsearcher")
    ids = dc.add_options(sev, ["1", "2", "3", "4"])
    url = f"{dc.base_url}/rest/api/2/customFields/{sev.removeprefix('customfield_')}/options"
    s = dc_session()
    first = s.get(url, params={"page": 1, "maxResults": 3}).json()
    assert first["total"] == 4 and [o["id"] for o in first["options"]] == [int(i) for i in ids[:3]]
    assert first["options"][0] | {"self": ""} == {"id": int(ids[0]), "self": "", "value": "1", "disabled": False,
                                                 "childrenIds": []}
    assert [o["value"] for o in s.get(url, params={"page": 2, "maxResults": 3}).json()["options"]] == ["4"]
    sd = s.get(f"{dc.base_url}/rest/api/2/project/SD").json()["id"]
    assert s.get(url, params={"projectIds": sd, "issueTypeIds": "10001"}).json()["total"] == 4
    # DC has no field-context REST API (Cloud's /field/{id}/context does not exist there)
    assert s.get(f"{dc.base_url}/rest/api/2/field/{sev}/context").status_code == 404


def test_jql_boolean_logic_relative_dates_and_custom_fields(cloud, clock):
    lvl, (l0, l1) = _select_field(cloud, "Escalation level", ["0", "1"])
    number = lvl.removeprefix("customfield_")
    pm = cloud.add_user("Li Na", "li@example.com")
    old = cloud.create_issue(summary="old", fields={lvl: {"id": l1}, "labels": ["escalate"]}, assignee=pm)
    clock.advance(hours=3)
    new = cloud.create_issue(issue_type="Service Request", summary="new", fields={lvl: {"id": l0}})
    s, url = cloud_session(), f"{cloud.base_url}/rest/api/3/search/jql"

    def keys(jql):
        r = s.get(url, params={"jql": jql, "fields": "key"})
        assert r.status_code == 200, (jql, r.text)
        return [i["key"] for i in r.json()["issues"]]

    assert keys("project = SD AND updated >= -1h") == [new]
    assert keys("project = SD AND updated <= -2h") == [old]
    assert keys(f"cf[{number}] = 1") == [old]
    assert keys(f'"customfield_{number}" in (0, 1) ORDER BY created ASC') == [old, new]
    assert keys("project = SD AND (labels = escalate OR issuetype = \"Service Request\") ORDER BY key") == [old, new]
    assert keys("project = SD AND NOT labels = escalate") == [new]
    assert keys("project = SD AND assignee is EMPTY") == [new]
    assert keys(f"project = SD AND assignee = {pm}") == [old]
    assert keys("project = SD AND labels is not EMPTY") == [old]
    assert keys("project = SD ORDER BY created DESC") == [new, old]


def test_a_status_added_without_an_id_never_replaces_a_seeded_one() -> None:
    sandbox = JiraSandbox()
    before = {sid: st.name for sid, st in sandbox.model.statuses.items()}
    new_id = sandbox.add_status("待审核", "done")
    assert new_id not in before
    assert {sid: st.name for sid, st in sandbox.model.statuses.items() if sid in before} == before
