"""Thin Jira REST clients: one class per API flavour, endpoints as constants, one method each.

`JiraCloudClient` speaks REST v3 (Atlassian Document Format bodies, accountIds);
`JiraDataCenterClient` speaks REST v2 of Jira Data Center / Server (wiki-markup
bodies, user names). Both sit on `connectors.http.HttpClient`, which owns timeouts,
retries and typed errors. The methods return Jira's JSON as is; turning it into
the procedure's terms is `connectors.jira.translate`'s job, deciding what to call
is `connectors.jira.connector`'s and `connectors.jira.provision`'s.

Cloud paths and payloads follow `../shared/reference/jira-platform-v3.json`. Data
Center paths follow Atlassian's Jira Server platform REST API reference
(https://docs.atlassian.com/software/jira/docs/api/REST/latest/).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from connectors.http import HttpClient, NotFound
from connectors.paging import by_number, by_offset, by_token

#: `reconcileIssues` of POST /search/jql "Accepts max 50 ids" (SearchAndReconcileRequestBean)
RECONCILE_MAX = 50


def _q(value: str) -> str:
    return quote(str(value), safe="")


class _JiraClient(ABC):
    """What both flavours share: the same resources under a different API root."""

    flavour = ""
    API = ""  # the API root, set per flavour

    # endpoints below the API root
    MYSELF = "/myself"
    USER = "/user"
    ISSUE = "/issue/{key}"
    TRANSITIONS = "/issue/{key}/transitions"
    COMMENTS = "/issue/{key}/comment"
    NOTIFY = "/issue/{key}/notify"
    ISSUE_PROPERTY = "/issue/{key}/properties/{prop}"
    PROJECT = "/project/{key}"
    PROJECT_STATUSES = "/project/{key}/statuses"
    FIELDS = "/field"
    STATUSES = "/status"
    PRIORITIES = "/priority"
    ISSUE_TYPES = "/issuetype"
    CREATE_ISSUE = "/issue"
    ISSUE_LINK = "/issueLink"
    ISSUE_LINK_TYPES = "/issueLinkType"
    EDITMETA = "/issue/{key}/editmeta"
    SCREEN_TABS = "/screens/{screen}/tabs"
    TAB_FIELDS = "/screens/{screen}/tabs/{tab}/fields"

    def __init__(self, http: HttpClient):
        self.http = http

    def _path(self, template: str, **parts: str) -> str:
        return self.API + template.format(**{k: _q(v) for k, v in parts.items()})

    # -- account -------------------------------------------------------------------------
    def myself(self) -> dict:
        return self.http.get(self._path(self.MYSELF))

    # -- one issue -------------------------------------------------------------------------
    def get_issue(self, key: str, fields: list[str], expand: str | None = None) -> dict:
        params: dict[str, str] = {"fields": ",".join(fields)}
        if expand:
            params["expand"] = expand
        return self.http.get(self._path(self.ISSUE, key=key), params=params)

    def edit_issue(self, key: str, fields: dict) -> None:
        # notifyUsers stays at Jira's default (true): people see what the escalator did
        self.http.put(self._path(self.ISSUE, key=key), json={"fields": fields})

    def edit_with_comment(self, key: str, fields: dict, comment: dict) -> None:
        """The comment and the fields in one request, atomically: PUT /issue/{key} takes
        `update.comment[].add` together with `fields` (IssueUpdateDetails,
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put;
        Data Center's v2 edit takes the same body). Not retried: it adds a comment."""
        body: dict[str, Any] = {"update": {"comment": [{"add": comment}]}}
        if fields:
            body["fields"] = fields
        self.http.put(self._path(self.ISSUE, key=key), json=body, idempotent=False)

    def transition_with_comment(self, key: str, transition_id: str, comment: dict) -> None:
        """A transition and its comment in one request: POST /issue/{key}/transitions takes
        `update.comment[].add` too (IssueUpdateDetails,
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-post).
        Not retried: once taken, the transition may not exist from the new status."""
        self.http.post(self._path(self.TRANSITIONS, key=key), json={
            "transition": {"id": transition_id}, "update": {"comment": [{"add": comment}]}}, idempotent=False)

    @staticmethod
    def comment_bean(body: Any, *, internal: bool) -> dict:
        """A comment as `POST /comment` and `update.comment[].add` take it (see `add_comment`)."""
        payload: dict[str, Any] = {"body": body}
        if internal:
            payload["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        return payload

    def create_issue(self, fields: dict) -> dict:
        """POST /issue: {"id", "key", "self"}. Not retried: a retry could file the issue twice."""
        return self.http.post(self._path(self.CREATE_ISSUE), json={"fields": fields}, idempotent=False) or {}

    def link_issues(self, link_type: str, inward_key: str, outward_key: str) -> None:
        # Jira keeps one link per type and pair, so a retried link is harmless
        self.http.post(self._path(self.ISSUE_LINK), json={
            "type": {"name": link_type}, "inwardIssue": {"key": inward_key}, "outwardIssue": {"key": outward_key}})

    def issue_link_types(self) -> list[dict]:
        return (self.http.get(self._path(self.ISSUE_LINK_TYPES)) or {}).get("issueLinkTypes") or []

    def get_transitions(self, key: str) -> list[dict]:
        return (self.http.get(self._path(self.TRANSITIONS, key=key)) or {}).get("transitions", [])

    def do_transition(self, key: str, transition_id: str) -> None:
        # not idempotent: once taken, the same transition may not exist from the new status
        self.http.post(self._path(self.TRANSITIONS, key=key), json={"transition": {"id": transition_id}},
                       idempotent=False)

    def comments(self, key: str, page_size: int = 100) -> Iterator[dict]:
        """Every comment of an issue, oldest first, paging with startAt (lazily: a caller
        looking for one comment stops asking once it is found)."""
        path = self._path(self.COMMENTS, key=key)
        yield from by_offset(self.http.tracker, "GET", path, lambda start: self.http.get(
            path, params={"startAt": start, "maxResults": page_size, "orderBy": "created"}), key="comments")

    def add_comment(self, key: str, body: Any, *, internal: bool) -> dict:
        payload: dict[str, Any] = {"body": body}
        if internal:
            # Jira Service Management keeps a comment from customers when it carries the
            # property sd.public.comment = {"internal": true} (Atlassian KB "How to add an
            # internal comment to a Jira Service Management issue via REST API"); the
            # platform comment resource takes it on create (Comment.properties).
            payload["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        # not idempotent: a comment that reached Jira before a 5xx or a read timeout must not
        # be posted twice (the connector looks for its marker instead)
        return self.http.post(self._path(self.COMMENTS, key=key), json=payload, idempotent=False)

    def notify(self, key: str, subject: str, text: str, html: str, users: list[str]) -> None:
        self.http.post(self._path(self.NOTIFY, key=key), json={
            "subject": subject, "textBody": text, "htmlBody": html,
            "to": {"users": [self.user_ref(u) for u in users]},
        }, idempotent=False)  # an e-mail sent twice is worse than one retried by the next cycle

    def get_property(self, key: str, prop: str) -> Any | None:
        try:
            return (self.http.get(self._path(self.ISSUE_PROPERTY, key=key, prop=prop)) or {}).get("value")
        except NotFound:
            return None

    def put_property(self, key: str, value: Any, prop: str) -> None:
        self.http.put(self._path(self.ISSUE_PROPERTY, key=key, prop=prop), json=value)

    def get_project(self, key: str) -> dict:
        return self.http.get(self._path(self.PROJECT, key=key))

    def projects(self, keys: list[str]) -> list[dict]:
        """The named projects that exist (an admin maps a handful: one GET each)."""
        found = []
        for key in keys:
            try:
                found.append(self.get_project(key))
            except NotFound:
                continue
        return found

    # -- configuration, for the admin's mapping ---------------------------------------------
    def fields(self) -> list[dict]:
        return self.http.get(self._path(self.FIELDS)) or []

    def create_field(self, name: str, description: str, type_: str, searcher: str) -> dict:
        return self.http.post(self._path(self.FIELDS), json={
            "name": name, "description": description, "type": type_, "searcherKey": searcher},
            idempotent=False)  # Jira allows two fields of one name: never create one twice

    def statuses(self) -> list[dict]:
        return self.http.get(self._path(self.STATUSES)) or []

    def priorities(self) -> list[dict]:
        # GET /priority is marked deprecated in the v3 spec but still answers on Cloud and
        # is the same resource on DC v2; Jira has no more than a handful of priorities.
        return self.http.get(self._path(self.PRIORITIES)) or []

    def issue_types(self) -> list[dict]:
        return self.http.get(self._path(self.ISSUE_TYPES)) or []

    def project_statuses(self, key: str) -> list[dict]:
        return self.http.get(self._path(self.PROJECT_STATUSES, key=key)) or []

    # -- screens: a field can only be set through PUT /issue when it is on the issue's edit screen
    def editmeta(self, key: str) -> dict:
        """GET /issue/{key}/editmeta: {"fields": {id: meta}}, the fields on the issue's edit screen."""
        return (self.http.get(self._path(self.EDITMETA, key=key)) or {}).get("fields") or {}

    def screen_tabs(self, screen_id: str) -> list[dict]:
        return self.http.get(self._path(self.SCREEN_TABS, screen=screen_id)) or []

    def tab_fields(self, screen_id: str, tab_id: str) -> list[dict]:
        return self.http.get(self._path(self.TAB_FIELDS, screen=screen_id, tab=tab_id)) or []

    def add_tab_field(self, screen_id: str, tab_id: str, field_id: str) -> dict:
        # a retry after a lost answer would be refused (400: already on the screen): not retried
        return self.http.post(self._path(self.TAB_FIELDS, screen=screen_id, tab=tab_id),
                              json={"fieldId": field_id}, idempotent=False) or {}

    def user_name(self, user: str) -> str | None:
        """The display name of a user (GET /user); NotFound when Jira knows no such user."""
        return (self.http.get(self._path(self.USER), params=self.user_query(user)) or {}).get("displayName")

    # -- flavour-specific ------------------------------------------------------------------
    @abstractmethod
    def user_query(self, user: str) -> dict:
        """How GET /user names a user: `accountId` on Cloud, `username` on Data Center."""

    @abstractmethod
    def user_ref(self, user: str) -> dict:
        """How a request names a user: {"accountId": ...} on Cloud, {"name": ...} on DC."""

    @abstractmethod
    def user_id(self, user: dict | None) -> str | None:
        """The id the escalator keeps for a user object of an answer."""


class JiraCloudClient(_JiraClient):
    """Jira Cloud platform REST API v3."""

    flavour = "cloud"
    API = "/rest/api/3"
    SEARCH = "/search/jql"
    CHANGELOG_BULK = "/changelog/bulkfetch"
    FIELD_CONTEXTS = "/field/{field}/context"
    CONTEXT_OPTIONS = "/field/{field}/context/{context}/option"
    SCREENS = "/screens"
    ITSS_PROJECTS = "/issuetypescreenscheme/project"
    ITSS_MAPPING = "/issuetypescreenscheme/mapping"
    SCREEN_SCHEMES = "/screenscheme"

    def search(self, jql: str, fields: list[str], page_size: int, token: str | None = None,
               reconcile: list[int] | None = None) -> dict:
        """One page of POST /search/jql; the old /search answers 410 Gone on Cloud.

        The search index is eventually consistent: an issue created a moment ago may be
        missing. `reconcile` names issue ids (at most 50) Jira then checks against the
        search with strong consistency (`reconcileIssues`, SearchAndReconcileRequestBean;
        https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile/).
        """
        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page_size}
        if token:
            body["nextPageToken"] = token
        if reconcile:
            body["reconcileIssues"] = list(reconcile)[-RECONCILE_MAX:]
        return self.http.post(self._path(self.SEARCH), json=body) or {}

    def search_pages(self, jql: str, fields: list[str], page_size: int) -> Iterator[dict]:
        """Every page of a search, in order (each answer whole: issues, isLast, nextPageToken)."""
        pages = by_token(self.http.tracker, "POST", self._path(self.SEARCH),
                         lambda token: self.search(jql, fields, page_size, token), key="issues")
        for answer, _ in pages.pages():
            yield answer or {}

    def changelogs(self, issue_ids: list[str], field_ids: list[str], token: str | None = None) -> dict:
        """One page of POST /changelog/bulkfetch (up to 1000 issues, 10 field ids)."""
        body: dict[str, Any] = {"issueIdsOrKeys": issue_ids, "fieldIds": field_ids, "maxResults": 1000}
        if token:
            body["nextPageToken"] = token
        return self.http.post(self._path(self.CHANGELOG_BULK), json=body) or {}

    def all_changelogs(self, issue_ids: list[str], field_ids: list[str]) -> Iterator[dict]:
        """Every `issueChangeLogs` entry ({issueId, changeHistories}) of the issues, over as many
        pages as the answer takes (an issue's histories may continue on the next page)."""
        yield from by_token(self.http.tracker, "POST", self._path(self.CHANGELOG_BULK),
                            lambda token: self.changelogs(issue_ids, field_ids, token), key="issueChangeLogs",
                            last=None)

    def field_contexts(self, field_id: str) -> list[dict]:
        return _paged(self.http, self._path(self.FIELD_CONTEXTS, field=field_id))

    def create_field_context(self, field_id: str, name: str, project_ids: list[str],
                             issue_type_ids: list[str]) -> dict:
        return self.http.post(self._path(self.FIELD_CONTEXTS, field=field_id), json={
            "name": name, "projectIds": project_ids, "issueTypeIds": issue_type_ids}, idempotent=False)

    def context_options(self, field_id: str, context_id: str) -> list[dict]:
        return _paged(self.http, self._path(self.CONTEXT_OPTIONS, field=field_id, context=context_id))

    def create_options(self, field_id: str, context_id: str, options: list[dict]) -> list[dict]:
        answer = self.http.post(self._path(self.CONTEXT_OPTIONS, field=field_id, context=context_id),
                                json={"options": options}, idempotent=False) or {}
        return answer.get("options") or []

    # -- the way from a project to its edit screens (classic projects; v3 spec) ----------------
    def project_issue_type_screen_schemes(self, project_ids: list[str]) -> list[dict]:
        """[{issueTypeScreenScheme: {id, name}, projectIds}] for the given projects."""
        return _paged(self.http, self._path(self.ITSS_PROJECTS), params={"projectId": project_ids})

    def issue_type_screen_scheme_items(self, scheme_ids: list[str]) -> list[dict]:
        """[{issueTypeScreenSchemeId, issueTypeId ("default" or an id), screenSchemeId}]."""
        return _paged(self.http, self._path(self.ITSS_MAPPING), params={"issueTypeScreenSchemeId": scheme_ids})

    def screen_schemes(self, ids: list[str]) -> list[dict]:
        """[{id, name, screens: {default, edit?, create?, view?}}]."""
        return _paged(self.http, self._path(self.SCREEN_SCHEMES), params={"id": ids})

    def screens(self, ids: list[str]) -> list[dict]:
        return _paged(self.http, self._path(self.SCREENS), params={"id": ids})

    def user_query(self, user: str) -> dict:
        return {"accountId": user}

    def user_ref(self, user: str) -> dict:
        return {"accountId": user}

    def user_id(self, user: dict | None) -> str | None:
        return (user or {}).get("accountId")


class JiraDataCenterClient(_JiraClient):
    """Jira Data Center / Server platform REST API v2."""

    flavour = "datacenter"
    API = "/rest/api/2"
    SEARCH = "/search"
    FIELD_OPTIONS = "/customFields/{field}/options"

    def search_pages(self, jql: str, fields: list[str], page_size: int) -> Iterator[dict]:
        """Every page of a search, in order (each answer whole: issues, names, total)."""
        pages = by_offset(self.http.tracker, "GET", self._path(self.SEARCH),
                          lambda start: self.search(jql, fields, page_size, start), key="issues")
        for answer, _ in pages.pages():
            yield answer or {}

    def search(self, jql: str, fields: list[str], page_size: int, start_at: int = 0) -> dict:
        """One page of GET /search, with the changelog inline (Jira DC returns it whole
        unless `changelog.total` says otherwise) and the field names, to read DC changelog
        items that name custom fields by their display name."""
        return self.http.get(self._path(self.SEARCH), params={
            "jql": jql, "fields": ",".join(fields), "maxResults": page_size, "startAt": start_at,
            "expand": "changelog,names"}) or {}

    def field_options(self, field_id: str) -> list[dict]:
        """Options of a select field, in the shape of Cloud's context options (str ids,
        `optionId` = parent for a cascading child).

        Jira DC 8.x+: GET /rest/api/2/customFields/{id}/options ("experimental", Jira DC REST
        reference, api-group-customfields) pages with `page` from 1 and `maxResults`, and
        answers {options: [{id, value, disabled, childrenIds}], total} with numeric ids."""
        path = self._path(self.FIELD_OPTIONS, field=field_id.removeprefix("customfield_"))
        raw: list[dict] = list(by_number(self.http.tracker, "GET", path, lambda page: self.http.get(
            path, params={"page": page, "maxResults": 100}), size=100, key="options", total="total"))
        parent_of = {str(child): str(o["id"]) for o in raw for child in o.get("childrenIds") or []}
        return [{"id": str(o["id"]), "value": o.get("value"), "disabled": bool(o.get("disabled")),
                 **({"optionId": parent_of[str(o["id"])]} if str(o["id"]) in parent_of else {})} for o in raw]

    def user_query(self, user: str) -> dict:
        # Jira Server/DC REST v2: GET /user?username= (`key=` for a user key, as DC names users
        # whose name changed; the role directory holds names, docs.atlassian.com Jira Server REST)
        return {"key": user} if user.startswith("JIRAUSER") else {"username": user}

    def user_ref(self, user: str) -> dict:
        return {"name": user}

    def user_id(self, user: dict | None) -> str | None:
        return (user or {}).get("name") or (user or {}).get("key")


JiraClient = JiraCloudClient | JiraDataCenterClient


def _paged(http: HttpClient, path: str, page_size: int = 100, params: dict[str, Any] | None = None) -> list[dict]:
    """A `PageBean` resource (startAt / maxResults / isLast / values), read whole."""
    return list(by_offset(http.tracker, "GET", path, lambda start: http.get(
        path, params={**(params or {}), "startAt": start, "maxResults": page_size}), key="values", total=None,
        last="isLast"))
