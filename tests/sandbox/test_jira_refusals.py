"""The sandbox Jira refuses as Jira does: bot profiles, watchers, notify, the per-issue write
limit, search lag, field limits, Data Center's 429 page and its custom field options.

Each test shows one refusal over loopback: its status, Jira's error body and, where Jira
sends one, the header that says why. Time is the sandbox's fake clock; nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from sandbox.jira import BotProfile, JiraSandbox, PerIssueWriteLimit
from sandbox.server import RateLimiter
from tests.handclock import HandClock

CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."



@pytest.fixture
def clock() -> HandClock:
    return HandClock(T0)


def session(sb: JiraSandbox) -> requests.Session:
    s = requests.Session()
    if sb.flavour == "cloud":
        s.auth = ("bot@example.com", "sandbox-token")
    else:
        s.headers["Authorization"] = "Bearer sandbox-token"
    return s


def api(sb: JiraSandbox) -> str:
    return f"{sb.base_url}{sb.model.api}"


def jira_error(resp: requests.Response) -> dict:
    body = resp.json()
    assert set(body) == {"errorMessages", "errors"}, body
    return body


def started(flavour: str = "cloud", **kw) -> JiraSandbox:
    sb = JiraSandbox(flavour, **kw)
    sb.start()
    return sb


@pytest.fixture
def stop():
    boxes: list[JiraSandbox] = []
    yield boxes.append
    for sb in boxes:
        assert sb.errors == []
        sb.stop()


def box(stop, flavour: str = "cloud", **kw) -> JiraSandbox:
    sb = started(flavour, **kw)
    stop(sb)
    return sb


# -- bot profiles ---------------------------------------------------------------------------------------
def test_a_profile_names_only_permissions_the_sandbox_enforces():
    with pytest.raises(ValueError, match="LINK_ISSUES"):
        BotProfile(lacks={"LINK_ISSUES"})


def test_without_browse_projects_issues_and_projects_do_not_exist(stop, clock):
    sb = box(stop, clock=clock, bot=BotProfile(lacks={"BROWSE_PROJECTS"}))
    key = sb.create_issue(summary="Core switch down")
    s, a = session(sb), api(sb)
    hidden = s.get(f"{a}/issue/{key}")
    assert hidden.status_code == 404
    assert jira_error(hidden)["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]
    assert s.post(f"{a}/issue/{key}/comment", json={"body": "x"}).status_code == 404
    assert s.get(f"{a}/project/SD").status_code == 404 and s.get(f"{a}/project").json() == []
    bad_jql = s.get(f"{a}/search/jql", params={"jql": "project = SD"})
    assert bad_jql.status_code == 400
    assert jira_error(bad_jql)["errorMessages"] == ["The value 'SD' does not exist for the field 'project'."]
    assert s.get(f"{a}/search/jql", params={"jql": f"key = {key}"}).json()["issues"] == []
    created = s.post(f"{a}/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"},
                                                    "summary": "x"}})
    assert created.status_code == 400 and jira_error(created)["errors"] == {
        "project": "Specify a valid project ID or key", "issuetype": "Specify an issue type"}


def test_without_edit_issues_the_edit_screen_is_empty_and_every_field_is_refused(stop, clock):
    sb = box(stop, clock=clock, bot=BotProfile(lacks={"EDIT_ISSUES"}))
    key = sb.create_issue(summary="Core switch down")
    s, a = session(sb), api(sb)
    assert s.get(f"{a}/issue/{key}/editmeta").json() == {"fields": {}}
    refused = s.put(f"{a}/issue/{key}", json={"fields": {"summary": "y"}, "update": {"labels": [{"add": "x"}]}})
    assert refused.status_code == 400
    assert jira_error(refused)["errors"] == {"summary": NOT_ON_SCREEN.format("summary"),
                                             "labels": NOT_ON_SCREEN.format("labels")}
    assert sb.issue(key).fields["summary"] == "Core switch down"


def test_without_add_comments_a_comment_is_403(stop, clock):
    sb = box(stop, clock=clock, bot=BotProfile(lacks={"ADD_COMMENTS"}))
    key = sb.create_issue(summary="x")
    refused = session(sb).post(f"{api(sb)}/issue/{key}/comment", json={"body": {
        "type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}})
    assert refused.status_code == 403
    assert jira_error(refused)["errorMessages"] == ["You do not have the permission to comment on this issue."]
    assert sb.issue(key).comments == []


def test_without_transition_issues_no_transition_is_offered_or_taken(stop, clock):
    sb = box(stop, "datacenter", clock=clock, bot=BotProfile(lacks={"TRANSITION_ISSUES"}))
    key = sb.create_issue(summary="x")
    s, a = session(sb), api(sb)
    assert s.get(f"{a}/issue/{key}/transitions").json()["transitions"] == []
    refused = s.post(f"{a}/issue/{key}/transitions", json={"transition": {"id": "11"}})
    assert refused.status_code == 400
    assert jira_error(refused)["errorMessages"] == ["You do not have permission to transition this issue."]
    assert sb.model.statuses[sb.issue(key).fields["status"]].name == "Open"


def test_my_permissions_tells_the_profile_truthfully(stop, clock):
    sb = box(stop, clock=clock, bot=BotProfile(lacks={"MANAGE_WATCHERS", "EDIT_ISSUES"}))
    key = sb.create_issue(summary="x")
    s, a = session(sb), api(sb)
    answer = s.get(f"{a}/mypermissions", params={"projectKey": "SD",
                                                 "permissions": "BROWSE_PROJECTS,EDIT_ISSUES,MANAGE_WATCHERS"})
    assert answer.status_code == 200
    perms = answer.json()["permissions"]
    assert {k: p["havePermission"] for k, p in perms.items()} == {
        "BROWSE_PROJECTS": True, "EDIT_ISSUES": False, "MANAGE_WATCHERS": False}
    assert perms["EDIT_ISSUES"] | {"havePermission": None} == {
        "id": "12", "key": "EDIT_ISSUES", "name": "Edit Issues", "type": "PROJECT",
        "description": "Ability to edit issues.", "havePermission": None}
    by_issue = s.get(f"{a}/mypermissions", params={"issueKey": key, "permissions": "ADD_COMMENTS"}).json()
    assert by_issue["permissions"]["ADD_COMMENTS"]["havePermission"] is True
    assert s.get(f"{a}/mypermissions", params={"projectKey": "SD"}).status_code == 400  # Cloud needs the keys
    unknown = s.get(f"{a}/mypermissions", params={"permissions": "FLY"})
    assert unknown.status_code == 400 and jira_error(unknown)["errorMessages"] == ["Invalid permission key: FLY"]


def test_my_permissions_on_data_center_lists_every_permission_and_hides_unbrowsable_projects(stop, clock):
    sb = box(stop, "datacenter", clock=clock, bot=BotProfile(lacks={"BROWSE_PROJECTS"}))
    s, a = session(sb), api(sb)
    everything = s.get(f"{a}/mypermissions").json()["permissions"]
    assert everything["BROWSE_PROJECTS"]["havePermission"] is False
    assert everything["ADD_COMMENTS"]["havePermission"] is True and "ADMINISTER" in everything
    hidden = s.get(f"{a}/mypermissions", params={"projectKey": "SD", "permissions": "BROWSE_PROJECTS"})
    assert hidden.status_code == 404
    assert jira_error(hidden)["errorMessages"] == ["No project could be found with key 'SD'."]


# -- watchers and notify ---------------------------------------------------------------------------------
def test_watchers_need_manage_watchers_for_others_and_watching_on(stop, clock):
    sb = box(stop, clock=clock, bot=BotProfile(lacks={"MANAGE_WATCHERS"}))
    pm = sb.add_user("Li Na", "li@example.com")
    key = sb.create_issue(summary="x")
    s, url = session(sb), f"{api(sb)}/issue/{key}/watchers"
    refused = s.post(url, json=pm)
    assert refused.status_code == 403
    assert jira_error(refused)["errorMessages"] == [
        "You do not have the permission to manage the watcher list of this issue."]
    assert s.post(url, json=sb.bot).status_code == 204  # watching oneself needs no permission
    sb.issue(key).watchers.append(pm)
    assert s.delete(url, params={"accountId": pm}).status_code == 403
    sb.set_bot_profile(BotProfile(watching=False))
    off = s.post(url, json=sb.bot)
    assert off.status_code == 403
    assert jira_error(off)["errorMessages"] == ["Watching is disabled: the 'Allow users to watch issues' option is OFF."]
    assert sb.issue(key).watchers == [sb.bot, pm]


def test_notify_refuses_a_notification_only_for_the_caller_and_when_mail_is_off(stop, clock):
    sb = box(stop, clock=clock)
    pm = sb.add_user("Li Na", "li@example.com")
    key = sb.create_issue(summary="x")  # reported by the bot
    s, url = session(sb), f"{api(sb)}/issue/{key}/notify"
    only_me = s.post(url, json={"subject": "s", "textBody": "t", "to": {"reporter": True}})
    assert only_me.status_code == 400
    assert jira_error(only_me)["errorMessages"] == ["No recipients were defined for notification."]
    mixed = s.post(url, json={"subject": "s", "textBody": "t", "to": {"reporter": True, "users": [{"accountId": pm}]}})
    assert mixed.status_code == 204 and sb.notifications[-1].recipients == [pm]
    sb.set_bot_profile(BotProfile(outgoing_mail=False))
    off = s.post(url, json={"subject": "s", "textBody": "t", "to": {"users": [{"accountId": pm}]}})
    assert off.status_code == 403
    assert jira_error(off)["errorMessages"] == ["Outgoing mail is disabled: the notification cannot be queued."]
    assert len(sb.notifications) == 1


# -- rate limits -----------------------------------------------------------------------------------------
def test_cloud_per_issue_write_limit_answers_429_with_its_reason(stop, clock):
    sb = box(stop, clock=clock, per_issue_writes=PerIssueWriteLimit(writes=3, seconds=2))
    busy, calm = sb.create_issue(summary="busy"), sb.create_issue(summary="calm")
    s, a = session(sb), api(sb)

    def label(key: str, n: int) -> requests.Response:
        return s.put(f"{a}/issue/{key}", json={"update": {"labels": [{"add": f"l{n}"}]}})

    assert [label(busy, n).status_code for n in range(3)] == [204, 204, 204]
    clock.advance(seconds=0.5)
    limited = label(busy, 3)
    assert limited.status_code == 429
    assert limited.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert limited.headers["Retry-After"] == "2"  # the oldest write leaves the window 1.5 s from now
    assert jira_error(limited)["errorMessages"] == ["Rate limit exceeded."]
    assert s.get(f"{a}/issue/{busy}").status_code == 200  # reads are not limited
    assert label(calm, 0).status_code == 204  # nor writes to another issue
    clock.advance(seconds=1.5)
    assert label(busy, 4).status_code == 204
    assert "l3" not in sb.issue(busy).fields["labels"]


def test_per_issue_write_limit_is_off_unless_asked_for(stop, clock):
    sb = box(stop, clock=clock)
    key = sb.create_issue(summary="x")
    s = session(sb)
    assert {s.put(f"{api(sb)}/issue/{key}", json={"update": {"labels": [{"add": f"l{n}"}]}}).status_code
            for n in range(30)} == {204}


def test_datacenter_rate_limit_can_answer_an_html_page_with_the_headers(stop, clock):
    class Mono:
        t = 0.0

        def __call__(self) -> float:
            return self.t

    sb = box(stop, "datacenter", clock=clock, rate_limit=RateLimiter(1, clock=Mono()), rate_limit_html=True)
    s, url = session(sb), f"{api(sb)}/serverInfo"
    assert s.get(url).status_code == 200
    limited = s.get(url)
    assert limited.status_code == 429
    assert limited.headers["Content-Type"].startswith("text/html")
    assert "429" in limited.text and limited.text.lstrip().startswith("<!doctype html>")
    assert limited.headers["Retry-After"] == "1"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Interval-Seconds",
            "X-RateLimit-FillRate"} <= set(limited.headers)


# -- search lag --------------------------------------------------------------------------------------------
def test_cloud_search_misses_a_just_created_issue_unless_reconciled(stop, clock):
    sb = box(stop, clock=clock, search_lag=5)
    seeded = sb.create_issue(summary="seeded")
    clock.advance(seconds=1)
    s, a = session(sb), api(sb)
    created = s.post(f"{a}/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"},
                                                    "summary": "new"}}).json()
    url, jql = f"{a}/search/jql", "project = SD ORDER BY created ASC"
    assert [i["id"] for i in s.get(url, params={"jql": jql}).json()["issues"]] == [str(sb.issue(seeded).id)]
    reconciled = s.get(url, params={"jql": jql, "reconcileIssues": created["id"]}).json()["issues"]
    assert [i["id"] for i in reconciled] == [str(sb.issue(seeded).id), created["id"]]
    posted = s.post(url, json={"jql": jql, "reconcileIssues": [int(created["id"])]}).json()["issues"]
    assert len(posted) == 2
    assert s.get(f"{a}/issue/{created['key']}").status_code == 200  # only search lags
    clock.advance(seconds=5)
    assert len(s.get(url, params={"jql": jql}).json()["issues"]) == 2
    too_many = s.post(url, json={"jql": jql, "reconcileIssues": list(range(1, 52))})
    assert too_many.status_code == 400


def test_data_center_search_has_no_lag(stop, clock):
    sb = box(stop, "datacenter", clock=clock, search_lag=5)
    s, a = session(sb), api(sb)
    s.post(f"{a}/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"},
                                          "summary": "new"}})
    assert s.get(f"{a}/search", params={"jql": "project = SD"}).json()["total"] == 1


# -- field limits ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("flavour", "message"), [("cloud", "Summary can't exceed 255 characters."),
                                                  ("datacenter", "Summary must be less than 255 characters.")])
def test_a_summary_over_255_characters_is_400(stop, clock, flavour, message):
    sb = box(stop, flavour, clock=clock)
    s, a = session(sb), api(sb)
    long = "x" * 256
    created = s.post(f"{a}/issue", json={"fields": {"project": {"key": "SD"}, "issuetype": {"name": "Incident"},
                                                    "summary": long}})
    assert created.status_code == 400 and jira_error(created) == {"errorMessages": [], "errors": {"summary": message}}
    key = sb.create_issue(summary="x" * 255)
    edited = s.put(f"{a}/issue/{key}", json={"fields": {"summary": long}})
    assert edited.status_code == 400 and jira_error(edited)["errors"] == {"summary": message}


# -- Data Center custom field options -------------------------------------------------------------------------
def test_datacenter_field_options_are_the_global_contexts_unless_all_contexts_are_asked_for(stop, clock):
    sb = box(stop, "datacenter", clock=clock)
    fid = sb.create_custom_field("Category", CF + "select", searcher=CF + "multiselectsearcher")
    sb.add_options(fid, ["global"])
    sd = sb.model.project("SD").id
    scoped = sb.model.create_context(fid, "SD only", "", [sd], [])
    sb.add_options(fid, ["sd"], context_id=scoped.id)
    s, url = session(sb), f"{api(sb)}/customFields/{fid.removeprefix('customfield_')}/options"

    def values(**params: str) -> list[str]:
        return [o["value"] for o in s.get(url, params=params).json()["options"]]

    assert values() == ["global"]
    assert values(useAllContexts="true") == ["global", "sd"]
    assert values(projectIds=sd) == ["global", "sd"]
