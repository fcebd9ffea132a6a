"""The sandbox Jira: a stateful emulation of the REST endpoints the connector and the mapping use.

`JiraSandbox("cloud")` serves Jira Cloud's REST v3 (basic auth with e-mail and API
token, ADF bodies, `/search/jql` with `nextPageToken`, `/changelog/bulkfetch`,
custom field contexts and options); `JiraSandbox("datacenter")` serves Jira Data
Center's REST v2 (a personal access token as `Bearer`, wiki-markup strings,
`/search` with `startAt`). State lives in `sandbox.jira.model`, JQL in
`sandbox.jira.jql`; this module is the HTTP face: routes, auth, rate-limit
headers and error shapes.

Seed it from Python (tests, the demo): `add_user`, `add_project`, `add_status`,
`set_workflow`, `create_custom_field`, `add_options`, `create_issue`, and act as a
person would with `edit_issue`, `move_issue`, `add_comment`. The clock is injectable
and stamps every created/updated/changelog time; `notifications` records what
`POST /issue/{key}/notify` was asked to send.

Flavour differences served: Cloud only — `/search/jql` (the old `/search` is 410
Gone), `/changelog/bulkfetch`, `/issue/{key}/changelog`, `/field/{id}/context[...]`,
`/priority/search`, `/project/search`, the way from a project to its screens
(`/issuetypescreenscheme/project`, `/issuetypescreenscheme/mapping`, `/screenscheme`);
Data Center only — `/search` with `startAt`,
`/customFields/{id}/options` (DC has no REST call that creates options). Both:
issues, transitions, comments (+ JSM `/rest/servicedeskapi/request/{key}/comment`),
watchers, notify, entity properties, editmeta, fields, statuses, priorities, projects,
screens with their tabs and tab fields, `/screens/addToDefault/{fieldId}`. A custom field
can only be set through a project's edit screen (`sandbox.jira.screens`): the seed
API's `create_custom_field` puts it on every project's screen, as the UI's last step does,
while `POST /field` puts it on none.

Response shapes follow `../shared/reference/jira-platform-v3.json` (checked by
`tests/conformance/test_jira_openapi.py`); the comments cite Atlassian's
documentation where the spec is silent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.jira.jql import JqlError
from sandbox.jira.model import JiraModel
from sandbox.jira.types import (
    CATEGORIES,
    SYSTEM_FIELDS,
    ApiError,
    Comment,
    Flavour,
    Issue,
    Notification,
    User,
    Workflow,
    WorkflowTransition,
    default_workflow,
    jira_time,
)
from sandbox.server import HttpError, RateLimiter, Request, Response, SandboxServer

__all__ = ["JiraSandbox", "Workflow", "WorkflowTransition", "default_workflow"]

#: Cloud search/jql: "It returns max 5000 issues" when only ids/keys are asked for; with
#: fields the page shrinks (v3 spec, `maxResults` of GET /rest/api/3/search/jql) — the
#: sandbox uses 100. A larger `maxResults` is silently lowered, as Atlassian's KB "Changing
#: maxResults parameter for Jira Cloud REST API" describes (confluence.atlassian.com/jirakb/
#: changing-maxresults-parameter-for-jira-rest-api-779160706.html): clients must page on.
CLOUD_MAX_IDS, CLOUD_MAX_FIELDS = 5000, 100
#: Data Center: `jira.search.views.default.max` is 1000 ("How to use the maxResults API
#: parameter for Jira Issue Search REST API", support.atlassian.com/jira/kb/).
DC_MAX = 1000
SD_INTERNAL = "sd.public.comment"  # JSM's comment property: {"internal": true} = agents only

#: Old Cloud search, removed by CHANGE-2046 (developer.atlassian.com/changelog/#CHANGE-2046);
#: the body is what Cloud returns (quoted in github.com/taylorwilsdon/open-webui-tools/issues/6).
GONE = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                          "API. A full migration guideline is available at "
                          "https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JiraSandbox(SandboxServer):
    """A Jira Cloud (v3) or Data Center (v2) instance on a loopback socket."""

    poll_interval = 0.05  # tests start and stop many sandboxes: stop() promptly

    def __init__(self, flavour: Flavour = "cloud", *, email: str = "bot@example.com", token: str = "sandbox-token",
                 clock: Callable[[], datetime] | None = None, rate_limit: float | RateLimiter | None = None,
                 workflow: Workflow | None = None, statuses: dict[str, str] | None = None,
                 time_zone: str = "UTC", seed: bool = True, host: str = "127.0.0.1", port: int = 0):
        """`workflow` is the seeded projects' workflow (default: `default_workflow()`);
        `statuses` adds statuses (name -> category key: new, indeterminate, done) it may name.
        `seed=False` starts with the bot user only."""
        limiter = rate_limit if isinstance(rate_limit, RateLimiter) else \
            RateLimiter(rate_limit) if rate_limit else None  # requests per second, real time
        super().__init__(authenticate=self._authenticate, rate_limit=limiter, host=host, port=port)
        self.flavour = flavour
        self.clock = clock or _utc_now
        self.model = JiraModel(flavour, clock=self.clock, base=self._link_base)
        self.workflow = workflow or default_workflow()
        self.errors: list[str] = []  # sandbox bugs answered as 500: tests may assert it stays empty
        self.bot = self.model.add_user("Escalator Bot", email, token=token, time_zone=time_zone)
        if seed:
            self._seed(statuses or {})
        self._register()

    # -- identity ------------------------------------------------------------------------
    def _link_base(self) -> str:
        return self.base_url if self._httpd else "http://127.0.0.1"

    def _caller(self, req: Request) -> User | None:
        header = req.headers.get("authorization", "")
        scheme, _, cred = header.partition(" ")
        if self.flavour == "cloud" and scheme.lower() == "basic":
            try:
                email, _, secret = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user = self.model.user_by_email(email)
            return user if user and user.token and user.token == secret else None
        if self.flavour == "datacenter" and scheme.lower() == "bearer":
            return self.model.user_by_token(cred.strip())
        return None

    def _authenticate(self, req: Request) -> bool:
        with self.lock:
            return self._caller(req) is not None

    def unauthorized(self, request: Request) -> Response:
        if self.flavour == "cloud":
            # Cloud answers a bad API token in plain text with these headers (seen in
            # github.com/atlassian/gajira-login/issues/59 and jira-node/node-jira-client#255).
            return Response(401, "Client must be authenticated to access this resource.",
                            {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                             "WWW-Authenticate": 'Basic realm="protected-area"'})
        return Response(401, {"errorMessages": ["You are not authenticated. Authentication required to perform "
                                                "this operation."], "errors": {}},
                        {"WWW-Authenticate": 'OAuth realm="http%3A%2F%2Flocalhost"'})

    # -- rate limits -----------------------------------------------------------------------
    def rate_limited(self, request: Request, wait: float) -> Response:
        seconds = max(1, round(wait + 0.499))
        headers = {"Retry-After": str(seconds), **self._budget_headers()}
        if self.flavour == "cloud":
            # developer.atlassian.com/cloud/jira/platform/rate-limiting: 429 with Retry-After,
            # X-RateLimit-Reset (ISO 8601, yyyy-MM-ddTHH:mmZ) and RateLimit-Reason.
            reset = self.clock().astimezone(UTC) + timedelta(seconds=seconds)
            headers.update({"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                            "RateLimit-Reason": "jira-burst-based"})
            return Response(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers)
        return Response(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers)

    def common_headers(self) -> dict[str, str]:
        return self._budget_headers() if self.rate_limit else {}

    def _budget_headers(self) -> dict[str, str]:
        rl = self.rate_limit
        if rl is None:
            return {}
        headers = {"X-RateLimit-Limit": str(rl.burst), "X-RateLimit-Remaining": str(max(rl.remaining, 0))}
        if self.flavour == "cloud":
            if rl.remaining < 0.2 * rl.burst:  # "less than 20% of the budget remains"
                headers["X-RateLimit-NearLimit"] = "true"
        else:
            # Jira DC rate limiting headers (confluence.atlassian.com/doc/_ratelimiting_httpheaders-992678779.html)
            headers.update({"X-RateLimit-Interval-Seconds": "1", "X-RateLimit-FillRate": f"{rl.rate:g}"})
        return headers

    def not_found(self, req: Request, *, method_not_allowed: bool) -> Response:
        if method_not_allowed:
            return Response(405, None)
        return Response(404, {"errorMessages": [f"null for uri: {self._link_base()}{req.path}"], "errors": {}})

    # -- seed -------------------------------------------------------------------------------
    def _seed(self, statuses: dict[str, str]) -> None:
        m = self.model
        for sid, name, cat in (("1", "Open", "new"), ("3", "In Progress", "indeterminate"),
                               ("10000", "Waiting for customer", "indeterminate"),
                               ("10001", "Waiting for vendor", "indeterminate"),
                               ("5", "Resolved", "done"), ("6", "Closed", "done")):
            m.add_status(name, cat, id=sid)
        for name, cat in statuses.items():
            m.add_status(name, cat)
        for pid, name, color in (("1", "Highest", "#d04437"), ("2", "High", "#f15c75"), ("3", "Medium", "#f79232"),
                                 ("4", "Low", "#707070"), ("5", "Lowest", "#999999")):
            m.add_priority(name, id=pid, color=color)
        # Jira Service Management's ITSM issue types and its "Problem/Incident" link type
        for tid, name in (("10001", "Incident"), ("10002", "Service Request"), ("10003", "Task"),
                          ("10004", "Problem")):
            m.add_issue_type(name, id=tid)
        m.add_link_type("Problem/Incident", "is caused by", "causes")
        m.add_project("SD", "IT Service Desk", type_key="service_desk", lead=self.bot, workflow=self.workflow)

    def add_user(self, display_name: str, email: str, **kw: Any) -> str:
        """A person; returns their key (accountId on Cloud, username on DC). `token=` lets them call."""
        with self.lock:
            return self.model.add_user(display_name, email, **kw)

    def add_status(self, name: str, category: str, **kw: Any) -> str:
        with self.lock:
            return self.model.add_status(name, category, **kw)

    def add_priority(self, name: str, **kw: Any) -> str:
        with self.lock:
            return self.model.add_priority(name, **kw)

    def add_issue_type(self, name: str, **kw: Any) -> str:
        with self.lock:
            return self.model.add_issue_type(name, **kw)

    def add_project(self, key: str, name: str, *, type_key: str = "service_desk", **kw: Any) -> str:
        with self.lock:
            kw.setdefault("workflow", self.workflow)
            kw.setdefault("lead", self.bot)
            return self.model.add_project(key, name, type_key=type_key, **kw)

    def set_workflow(self, project_key: str, workflow: Workflow) -> None:
        with self.lock:
            self.model.set_workflow(project_key, workflow)

    def add_transition(self, project_key: str, transition: WorkflowTransition) -> None:
        with self.lock:
            self.model.add_transition(project_key, transition)

    def create_custom_field(self, name: str, type_: str, *, searcher: str | None = None,
                            on_screens: bool = True) -> str:
        """A field as an admin makes one in the UI, whose last step puts it on screens: by default
        on every project's edit screen (`on_screens=False`: on none, as `POST /field` leaves it)."""
        with self.lock:
            fid = self.model.create_custom_field(name, type_, searcher=searcher).id
            if on_screens:
                for project in self.model.projects.values():
                    self._put_on_screen(project.key, fid)
            return fid

    def _put_on_screen(self, project_key: str, field_id: str) -> None:
        project = self.model.project(project_key)
        for tid in project.issue_type_ids:
            screen = self.model.screen_for(project.id, tid)
            if field_id not in screen.fields():
                screen.tabs[0].fields.append(field_id)

    def add_field_to_screen(self, project_key: str, field_id: str) -> None:
        """Put a field on the edit screens of a project's issue types (its first tab)."""
        with self.lock:
            self._put_on_screen(project_key, field_id)

    def remove_field_from_screen(self, project_key: str, field_id: str) -> None:
        """An admin takes a field off a project's edit screens: writes to it answer 400 from now on."""
        with self.lock:
            project = self.model.project(project_key)
            for tid in project.issue_type_ids:
                for tab in self.model.screen_for(project.id, tid).tabs:
                    if field_id in tab.fields:
                        tab.fields.remove(field_id)

    def add_options(self, field_id: str, values: list[str], *, context_id: str | None = None,
                    parent: str | None = None) -> list[str]:
        """Options on a field's context (its first, by default); returns their ids."""
        with self.lock:
            cf = self.model.custom_field(field_id)
            ctx = context_id or cf.contexts[0].id
            raw = [{"value": v, **({"optionId": parent} if parent else {})} for v in values]
            return [o.id for o in self.model.add_options(field_id, ctx, raw)]

    def create_issue(self, project_key: str = "SD", issue_type: str = "Incident", summary: str = "An incident",
                     *, fields: dict[str, Any] | None = None, reporter: str | None = None,
                     created: datetime | None = None, status: str | None = None,
                     assignee: str | None = None) -> str:
        """An issue as if a person filed it; `fields` take the REST input shapes. Returns the key."""
        with self.lock:
            return self.model.create_issue(project_key, issue_type, summary, reporter=reporter or self.bot,
                                           fields=fields, created=created, status=status,
                                           assignee=assignee).key

    def edit_issue(self, key: str, fields: dict[str, Any] | None = None, *, update: dict | None = None,
                   author: str | None = None) -> None:
        """A person's edit (changelog entry with `author`), e.g. a human lowering the severity."""
        with self.lock:
            self.model.edit_issue(self.model.issue(key), fields or {}, update or {}, author or self.bot)

    def move_issue(self, key: str, to_status: str, *, author: str | None = None) -> None:
        """A person's transition to the status named `to_status` (must be offered by the workflow)."""
        with self.lock:
            issue = self.model.issue(key)
            for t in self.model.transitions_for(issue):
                if t.to.casefold() == to_status.casefold():
                    self.model.transition_issue(issue, t.id, author or self.bot)
                    return
            raise ValueError(f"{key}: no transition to {to_status!r} from "
                             f"{self.model.statuses[issue.fields['status']].name!r}")

    def add_comment(self, key: str, text: str, *, author: str | None = None, internal: bool = False) -> None:
        with self.lock:
            issue = self.model.issue(key)
            props = [{"key": SD_INTERNAL, "value": {"internal": True}}] if internal else []
            self.model.add_comment(issue, author or self.bot, self._text_body(text), internal=internal,
                                   visibility=None, properties=props)

    @property
    def notifications(self) -> list[Notification]:
        with self.lock:
            return list(self.model.notifications)

    def issue(self, key: str) -> Issue:
        """The stored issue (internal form), for assertions."""
        with self.lock:
            return self.model.issue(key)

    # -- routing helpers --------------------------------------------------------------------
    def _on(self, method: str, pattern: str, fn: Callable[[Request, User], Any]) -> None:
        def handler(req: Request) -> Any:
            caller = self._caller(req)
            assert caller is not None  # the base authenticated the call
            try:
                return fn(req, caller)
            except ApiError as err:
                raise HttpError(err.status, err.body) from None
            except JqlError as err:
                raise HttpError(400, {"errorMessages": [str(err)], "errors": {}}) from None
            except HttpError:
                raise
            except Exception as exc:  # a sandbox bug: answer 500 (not a dropped socket) and keep it
                self.errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
                raise HttpError(500, {"errorMessages": [f"Internal server error: {type(exc).__name__}: {exc}"],
                                      "errors": {}}) from None

        self.route(method, pattern)(handler)

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, ["Unexpected character in the request body: it is not valid JSON."]) from None

    def _obj(self, req: Request) -> dict[str, Any]:
        body = self._body(req)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, ["Can not deserialize the request body: expected a JSON object."])
        return body

    @staticmethod
    def _int(req: Request, name: str, default: int, *, body: dict | None = None) -> int:
        raw = body.get(name, default) if body is not None else req.arg(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, [f"The value '{raw}' for '{name}' is not a number."]) from None

    @staticmethod
    def _tz(user: User) -> ZoneInfo:
        return ZoneInfo(user.time_zone)

    def _text_body(self, text: str) -> Any:
        """A plain text as this flavour stores a comment body (ADF on Cloud, wiki markup on DC)."""
        if self.flavour == "datacenter":
            return text
        return {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]} if line else {"type": "paragraph"}
            for line in text.split("\n")]}

    def _page(self, items: list[Any], req: Request, path: str, default_max: int) -> dict[str, Any]:
        """Jira's PageBean: {self, nextPage?, maxResults, startAt, total, isLast, values}."""
        start = max(self._int(req, "startAt", 0), 0)
        size = max(self._int(req, "maxResults", default_max), 0)
        chunk = items[start:start + size]
        last = start + len(chunk) >= len(items)
        out: dict[str, Any] = {"self": f"{self._link_base()}{path}?startAt={start}&maxResults={size}",
                               "maxResults": size, "startAt": start, "total": len(items), "isLast": last,
                               "values": chunk}
        if not last:
            out["nextPage"] = f"{self._link_base()}{path}?startAt={start + size}&maxResults={size}"
        return out

    # -- routes ----------------------------------------------------------------------------
    def _register(self) -> None:
        a = self.model.api
        i = r"(?P<issue>[^/]+)"
        on = self._on
        on("GET", f"{a}/myself", lambda req, me: self.model.render_user(me.key, full=True))
        on("GET", f"{a}/serverInfo", self._server_info)
        on("POST", f"{a}/issue", self._create_issue)
        on("GET", f"{a}/issue/{i}", self._get_issue)
        on("PUT", f"{a}/issue/{i}", self._edit_issue)
        on("GET", f"{a}/issue/{i}/editmeta", lambda req, me: self.model.render_editmeta(
            self.model.issue(req.params["issue"])))
        on("GET", f"{a}/issue/{i}/transitions", self._get_transitions)
        on("POST", f"{a}/issue/{i}/transitions", self._do_transition)
        on("GET", f"{a}/issue/{i}/comment", self._get_comments)
        on("POST", f"{a}/issue/{i}/comment", self._add_comment)
        on("GET", f"{a}/issue/{i}/watchers", self._get_watchers)
        on("POST", f"{a}/issue/{i}/watchers", self._add_watcher)
        on("DELETE", f"{a}/issue/{i}/watchers", self._remove_watcher)
        on("POST", f"{a}/issue/{i}/notify", self._notify)
        on("GET", f"{a}/issue/{i}/properties", self._property_keys)
        on("GET", f"{a}/issue/{i}/properties/(?P<prop>[^/]+)", self._get_property)
        on("PUT", f"{a}/issue/{i}/properties/(?P<prop>[^/]+)", self._put_property)
        on("DELETE", f"{a}/issue/{i}/properties/(?P<prop>[^/]+)", self._delete_property)
        on("GET", f"{a}/field", lambda req, me: [self.model.render_field(f) for f in
                                                  [*SYSTEM_FIELDS, *self.model.custom_fields]])
        on("POST", f"{a}/field", self._create_field)
        on("GET", f"{a}/status", lambda req, me: [self.model.render_status(s) for s in self.model.statuses])
        on("GET", f"{a}/statuscategory", lambda req, me: [
            {"self": f"{self._link_base()}{a}/statuscategory/{c['id']}", **c} for c in CATEGORIES.values()])
        on("GET", f"{a}/issuetype", lambda req, me: [self.model.render_issue_type(t) for t in self.model.issue_types])
        on("GET", f"{a}/priority", lambda req, me: [self.model.render_priority_full(p)
                                                     for p in self.model.priorities.values()])
        on("GET", f"{a}/project", lambda req, me: [self.model.render_project(p) for p in self.model.projects.values()])
        # not "search": GET /rest/api/3/project/search is a route of its own on Cloud
        on("GET", f"{a}/project/(?P<project>(?!search$)[^/]+)", lambda req, me: self.model.render_project(
            self.model.project(req.params["project"]), full=True))
        on("GET", f"{a}/project/(?P<project>[^/]+)/statuses", self._project_statuses)
        on("POST", r"/rest/servicedeskapi/request/(?P<issue>[^/]+)/comment", self._sd_comment)
        on("POST", f"{a}/issueLink", self._link_issues)
        on("GET", f"{a}/issueLinkType", lambda req, me: {"issueLinkTypes": [
            self._render_link_type(t) for t in self.model.link_types.values()]})
        # screens: the same resources on Cloud v3 and Data Center v2 (Jira DC REST reference,
        # api/2/screens: tabs, tab fields, addToDefault)
        sc, tab = r"(?P<screen>\d+)", r"(?P<tab>\d+)"
        on("GET", f"{a}/screens", self._get_screens)
        on("GET", f"{a}/screens/{sc}/tabs", self._get_tabs)
        on("GET", f"{a}/screens/{sc}/tabs/{tab}/fields", self._get_tab_fields)
        on("POST", f"{a}/screens/{sc}/tabs/{tab}/fields", self._add_tab_field)
        on("DELETE", f"{a}/screens/{sc}/tabs/{tab}/fields/(?P<field>[^/]+)", self._remove_tab_field)
        on("POST", f"{a}/screens/addToDefault/(?P<field>[^/]+)", self._add_to_default)
        if self.flavour == "cloud":
            for old in ("/rest/api/3/search", "/rest/api/2/search", "/rest/api/latest/search"):
                for method in ("GET", "POST"):
                    on(method, old, self._gone)
            on("GET", f"{a}/search/jql", self._search_jql)
            on("POST", f"{a}/search/jql", self._search_jql)
            on("POST", f"{a}/changelog/bulkfetch", self._bulk_changelog)
            on("GET", f"{a}/issue/{i}/changelog", self._issue_changelog)
            on("GET", f"{a}/priority/search", lambda req, me: self._page(
                [self.model.render_priority_full(p) for p in self.model.priorities.values()], req,
                f"{a}/priority/search", 50))
            on("GET", f"{a}/project/search", self._project_search)
            f = r"(?P<field>customfield_\d+)"
            on("GET", f"{a}/field/{f}/context", self._get_contexts)
            on("POST", f"{a}/field/{f}/context", self._create_context)
            on("GET", f"{a}/field/{f}/context/(?P<context>\\d+)/option", self._get_options)
            on("POST", f"{a}/field/{f}/context/(?P<context>\\d+)/option", self._create_options)
            on("PUT", f"{a}/field/{f}/context/(?P<context>\\d+)/project", self._context_projects)
            on("PUT", f"{a}/field/{f}/context/(?P<context>\\d+)/issuetype", self._context_issue_types)
            # Cloud only: the way from a project to its screens (DC's REST API has no resource
            # for screen schemes or issue type screen schemes)
            on("GET", f"{a}/issuetypescreenscheme/project", self._itss_projects)
            on("GET", f"{a}/issuetypescreenscheme/mapping", self._itss_mapping)
            on("GET", f"{a}/screenscheme", self._screen_schemes)
        else:
            on("GET", f"{a}/search", self._search_dc)
            on("POST", f"{a}/search", self._search_dc)
            on("GET", f"{a}/customFields/(?P<number>\\d+)/options", self._dc_field_options)

    # -- handlers: instance -------------------------------------------------------------------
    def _server_info(self, req: Request, me: User) -> dict:
        now = jira_time(self.model.now(), self._tz(me))
        if self.flavour == "cloud":
            return {"baseUrl": self._link_base(), "displayUrl": self._link_base(), "version": "1001.0.0-SNAPSHOT",
                    "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "buildNumber": 100276,
                    "buildDate": "2026-11-01T00:00:00.000+0000", "serverTime": now,
                    "scmInfo": "0d8bd7ba3a3c3e0ea5e2b5d4e0f1c9c0a0b1c2d3", "serverTitle": "Jira"}
        return {"baseUrl": self._link_base(), "version": "9.12.15", "versionNumbers": [9, 12, 15],
                "deploymentType": "Server", "buildNumber": 9120015, "buildDate": "2024-10-01T00:00:00.000+0000",
                "serverTime": now, "scmInfo": "0d8bd7ba3a3c3e0ea5e2b5d4e0f1c9c0a0b1c2d3",
                "serverTitle": "Jira", "defaultLocale": {"locale": "en_US"}}

    def _gone(self, req: Request, me: User) -> Response:
        return Response(410, GONE)

    # -- handlers: search ----------------------------------------------------------------------
    def _fields_param(self, req: Request, body: dict | None) -> list[str]:
        if body is not None:
            raw = body.get("fields") or []
            return [raw] if isinstance(raw, str) else [str(x) for x in raw]
        return req.query.get("fields", [])

    def _expand_param(self, req: Request, body: dict | None) -> set[str]:
        raw = body.get("expand") if body is not None else req.arg("expand")
        if raw is None:
            return set()
        parts = raw if isinstance(raw, list) else str(raw).split(",")
        return {p.strip() for p in parts if p.strip()}

    def _properties_param(self, req: Request, body: dict | None) -> list[str]:
        """`properties`: up to 5 issue entity properties to return with each issue (v3 spec)."""
        raw = body.get("properties") or [] if body is not None else req.query.get("properties", [])
        keys = [k.strip() for item in ([raw] if isinstance(raw, str) else raw) for k in str(item).split(",")
                if k.strip()]
        if len(keys) > 5:
            raise ApiError(400, ["You can request at most 5 issue properties."])
        return keys

    @staticmethod
    def _with_properties(rendered: dict, issue: Issue, keys: list[str]) -> dict:
        if keys:
            rendered["properties"] = {k: issue.properties[k] for k in keys if k in issue.properties}
        return rendered

    def _search_jql(self, req: Request, me: User) -> dict:
        """Cloud: GET/POST /rest/api/3/search/jql, paged by an opaque `nextPageToken`."""
        body = self._obj(req) if req.method == "POST" else None
        jql = (body or {}).get("jql") if body is not None else req.arg("jql")
        query, hits = self.model.search(jql or "", me)
        if not query.bounded:
            raise ApiError(400, ["Unbounded JQL queries are not allowed here. Please add a search restriction "
                                 "to your query."])
        requested = self._fields_param(req, body)
        tokens = {t.strip() for item in requested for t in item.split(",")}
        field_ids = self.model.field_ids(requested, "id")
        id_only = not field_ids and "key" not in tokens and "*all" not in tokens
        cap = CLOUD_MAX_IDS if not field_ids else CLOUD_MAX_FIELDS
        size = min(max(self._int(req, "maxResults", 50, body=body), 1), cap)
        fingerprint = hashlib.sha1(f"{jql}|{sorted(tokens)}".encode()).hexdigest()[:12]
        token = (body or {}).get("nextPageToken") if body is not None else req.arg("nextPageToken")
        start = self._decode_token(token, fingerprint) if token else 0
        page = hits[start:start + size]
        tz, expand = self._tz(me), self._expand_param(req, body)
        props = self._properties_param(req, body)
        out: dict[str, Any] = {"issues": [self._with_properties(
            self.model.render_issue(x, field_ids, tz, expand=expand - {"names"}, id_only=id_only), x, props)
            for x in page]}
        if "names" in expand:  # a search answers `names` once, beside the issues
            out["names"] = {f: self.model.field_name(f) for f in field_ids}
        if start + len(page) < len(hits):
            raw = f"{start + len(page)}:{fingerprint}".encode()
            out["nextPageToken"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            out["isLast"] = False
        else:
            out["isLast"] = True
        return out

    @staticmethod
    def _decode_token(token: str, fingerprint: str) -> int:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset, _, fp = text.partition(":")
            if fp == fingerprint:
                return int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise ApiError(400, ["The provided next page token is invalid or expired."])

    def _search_dc(self, req: Request, me: User) -> dict:
        """Data Center: GET/POST /rest/api/2/search with startAt/maxResults/total."""
        body = self._obj(req) if req.method == "POST" else None
        jql = (body or {}).get("jql") if body is not None else req.arg("jql")
        _, hits = self.model.search(jql or "", me)
        start = max(self._int(req, "startAt", 0, body=body), 0)
        size = min(max(self._int(req, "maxResults", 50, body=body), 0), DC_MAX)
        field_ids = self.model.field_ids(self._fields_param(req, body), "*navigable")
        tz, expand = self._tz(me), self._expand_param(req, body)
        props = self._properties_param(req, body)
        out: dict[str, Any] = {
            "expand": "schema,names", "startAt": start, "maxResults": size, "total": len(hits),
            "issues": [self._with_properties(self.model.render_issue(x, field_ids, tz, expand=expand - {"names"}),
                                             x, props) for x in hits[start:start + size]]}
        if "names" in expand:  # a search answers `names` once, beside the issues
            out["names"] = {f: self.model.field_name(f) for f in field_ids}
        return out

    # -- handlers: changelog -------------------------------------------------------------------
    def _bulk_changelog(self, req: Request, me: User) -> dict:
        """POST /rest/api/3/changelog/bulkfetch: oldest first, by date then issue id (v3 spec)."""
        body = self._obj(req)
        refs = body.get("issueIdsOrKeys")
        if not isinstance(refs, list) or not refs or len(refs) > 1000:
            raise ApiError(400, ["issueIdsOrKeys must hold between 1 and 1000 issue ids or keys."])
        field_ids = body.get("fieldIds")
        if field_ids is not None and (not isinstance(field_ids, list) or len(field_ids) > 10):
            raise ApiError(400, ["fieldIds can hold at most 10 field ids."])
        size = self._int(req, "maxResults", 1000, body=body)
        if not 1 <= size <= 10000:
            raise ApiError(400, ["maxResults must be between 1 and 10000."])
        wanted = set(field_ids) if field_ids else None
        rows = []
        for ref in dict.fromkeys(str(r) for r in refs):
            try:
                issue = self.model.issue(ref)
            except ApiError:
                continue  # issues the caller cannot see are left out, not an error
            for h in issue.histories:
                if wanted is None or any(item.field_id in wanted for item in h.items):
                    rows.append((h.created, issue.id, h.id, h))
        rows.sort(key=lambda r: r[:3])
        fingerprint = hashlib.sha1(json.dumps([refs, field_ids]).encode()).hexdigest()[:12]
        start = self._decode_token(body["nextPageToken"], fingerprint) if body.get("nextPageToken") else 0
        page = rows[start:start + size]
        tz = self._tz(me)
        # Keep the documented global order (date, then issue id): consecutive histories of
        # one issue share an entry, so an issue may appear in more than one entry of a page.
        logs: list[dict[str, Any]] = []
        for _, iid, _, h in page:
            if not logs or logs[-1]["issueId"] != str(iid):
                logs.append({"issueId": str(iid), "changeHistories": []})
            logs[-1]["changeHistories"].append(self.model.render_history(h, tz, wanted))
        out: dict[str, Any] = {"issueChangeLogs": logs}
        if start + len(page) < len(rows):
            raw = f"{start + len(page)}:{fingerprint}".encode()
            out["nextPageToken"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return out

    def _issue_changelog(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        tz = self._tz(me)
        values = [self.model.render_history(h, tz) for h in issue.histories]
        return self._page(values, req, f"{self.model.api}/issue/{issue.key}/changelog", 100)

    # -- handlers: issues ----------------------------------------------------------------------
    def _get_issue(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        field_ids = self.model.field_ids(req.query.get("fields", []), "*all")
        out = self.model.render_issue(issue, field_ids, self._tz(me), expand=self._expand_param(req, None))
        return self._with_properties(out, issue, self._properties_param(req, None))

    def _create_issue(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        fields = dict(body.get("fields") or {})
        errors: dict[str, str] = {}
        project_ref = fields.pop("project", None)
        type_ref = fields.pop("issuetype", None)
        project_ref = project_ref if isinstance(project_ref, dict) else {}
        type_ref = type_ref if isinstance(type_ref, dict) else {}
        summary = fields.pop("summary", None)
        project = None
        try:
            project = self.model.project(str(project_ref.get("key") or project_ref.get("id") or ""))
        except ApiError:
            errors["project"] = "Specify a valid project ID or key"
        type_id = None
        if project is not None:
            for tid in project.issue_type_ids:
                t = self.model.issue_types[tid]
                if type_ref.get("id") == t.id or type_ref.get("name") == t.name:
                    type_id = tid
        if type_id is None:
            errors["issuetype"] = "Specify an issue type"
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        if errors:
            raise ApiError(400, [], errors)
        reporter_ref = fields.pop("reporter", None)
        reporter = me.key
        if reporter_ref:
            reporter = reporter_ref.get("accountId" if self.flavour == "cloud" else "name") \
                if isinstance(reporter_ref, dict) else None
            if reporter not in self.model.users:
                raise ApiError(400, [], {"reporter": "Specify a valid value for reporter"})
        issue = self.model.create_issue(project.key, type_id, summary, reporter=reporter, fields=fields)
        return Response(201, {"id": str(issue.id), "key": issue.key,
                              "self": f"{self._link_base()}{self.model.api}/issue/{issue.id}"})

    def _edit_issue(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        body = self._obj(req)
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise ApiError(400, ["fields and update must be JSON objects."])
        if "status" in fields or "status" in update:
            raise ApiError(400, [], {"status": "Field 'status' cannot be set. It is not on the appropriate "
                                               "screen, or unknown."})
        self.model.edit_issue(issue, fields, update, me.key)
        return Response(204, None)

    def _get_transitions(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        out = []
        for t in self.model.transitions_for(issue):
            status = self.model.status_by_name(t.to)
            entry: dict[str, Any] = {"id": t.id, "name": t.name, "to": self.model.render_status(status.id)}
            if self.flavour == "cloud":
                entry.update({"hasScreen": False, "isGlobal": t.sources is None, "isInitial": False,
                              "isAvailable": True, "isConditional": False, "isLooped": False})
            out.append(entry)
        return {"expand": "transitions", "transitions": out}

    def _do_transition(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        body = self._obj(req)
        ref = body.get("transition") or {}
        tid = ref.get("id") if isinstance(ref, dict) else None
        if tid is None:
            raise ApiError(400, ["Missing 'transition' identifier"])
        self.model.transition_issue(issue, str(tid), me.key, body.get("fields") or {})
        return Response(204, None)

    # -- handlers: comments --------------------------------------------------------------------
    def _get_comments(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        comments: list[Comment] = list(issue.comments)
        if (req.arg("orderBy") or "").startswith("-"):
            comments.reverse()
        start = max(self._int(req, "startAt", 0), 0)
        # Cloud pages comments 100 at a time (v3 spec); Data Center gives all of them by default
        size = max(self._int(req, "maxResults", 100 if self.flavour == "cloud" else len(comments)), 0)
        tz, props = self._tz(me), "properties" in self._expand_param(req, None)
        return {"startAt": start, "maxResults": size, "total": len(comments),
                "comments": [self.model.render_comment(issue, c, tz, with_properties=props)
                             for c in comments[start:start + size]]}

    def _add_comment(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        body = self._obj(req)
        text = body.get("body")
        if self.flavour == "cloud":
            if not (isinstance(text, dict) and text.get("type") == "doc"):
                raise ApiError(400, [], {"comment": "Operation value must be an Atlassian Document "
                                                    "(see the Atlassian Document Format)"})
        elif not isinstance(text, str):
            raise ApiError(400, [], {"comment": "Comment body must be a string."})
        if not text or (isinstance(text, dict) and not text.get("content")) or (isinstance(text, str) and not text.strip()):
            raise ApiError(400, [], {"comment": "Comment body can not be empty!"})
        visibility = body.get("visibility")
        if visibility is not None and not (isinstance(visibility, dict) and visibility.get("type") in ("group", "role")
                                           and isinstance(visibility.get("value") or visibility.get("identifier"), str)):
            # v3 spec, Visibility: type is "group" or "role", named by value (or identifier)
            raise ApiError(400, [], {"commentLevel": "You are currently not a member of the project role or group "
                                                     "named in the visibility restriction."})
        props = body.get("properties") or []
        if not isinstance(props, list) or not all(isinstance(p, dict) and "key" in p for p in props):
            raise ApiError(400, ["properties must be a list of {key, value} objects."])
        # An internal (agents-only) JSM comment is marked by the `sd.public.comment` entity
        # property {"internal": true} (Atlassian KB "Add internal comments to Jira Service
        # Management requests via REST API"); it only means something on a service project.
        flagged = any(p["key"] == SD_INTERNAL and isinstance(p.get("value"), dict)
                      and p["value"].get("internal") is True for p in props)
        project = self.model.project(issue.fields["project_key"])
        internal = flagged and project.type_key == "service_desk"
        comment = self.model.add_comment(issue, me.key, text, internal=internal,
                                         visibility=visibility, properties=props)
        return Response(201, self.model.render_comment(issue, comment, self._tz(me), with_properties="properties"
                                                       in self._expand_param(req, None)))

    def _sd_comment(self, req: Request, me: User) -> Response:
        """JSM: POST /rest/servicedeskapi/request/{key}/comment {body, public}
        (developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/)."""
        try:
            issue = self.model.issue(req.params["issue"])
        except ApiError:
            issue = None
        if issue is None or self.model.project(issue.fields["project_key"]).type_key != "service_desk":
            raise HttpError(404, {"errorMessage": "The request could not be found or you do not have permission "
                                                  "to see it.", "i18nErrorMessage": {
                                                      "i18nKey": "sd.request.error.not.found", "parameters": []}})
        body = self._obj(req)
        text, public = body.get("body"), body.get("public", True)
        if not isinstance(text, str) or not text.strip() or not isinstance(public, bool):
            raise HttpError(400, {"errorMessage": "The comment body must be a non-empty string and 'public' a "
                                                  "boolean.", "i18nErrorMessage": {
                                                      "i18nKey": "sd.request.comment.invalid", "parameters": []}})
        props = [] if public else [{"key": SD_INTERNAL, "value": {"internal": True}}]
        c = self.model.add_comment(issue, me.key, self._text_body(text), internal=not public,
                                   visibility=None, properties=props)
        when = c.created
        author = self.model.render_user(me.key) or {}
        return Response(201, {
            "id": str(c.id), "body": text, "public": public,
            "author": {k: author[k] for k in ("accountId", "name", "key", "emailAddress", "displayName", "active",
                                              "timeZone") if k in author},
            "created": {"iso8601": when.strftime("%Y-%m-%dT%H:%M:%S%z"), "jira": jira_time(when, self._tz(me)),
                        "friendly": when.strftime("%d/%b/%y %I:%M %p"),
                        "epochMillis": int(when.timestamp() * 1000)},
            "_links": {"self": f"{self._link_base()}/rest/servicedeskapi/request/{issue.id}/comment/{c.id}"}})

    # -- handlers: watchers and notify -----------------------------------------------------------
    def _get_watchers(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        return {"self": f"{self._link_base()}{self.model.api}/issue/{issue.key}/watchers",
                "isWatching": me.key in issue.watchers, "watchCount": len(issue.watchers),
                "watchers": [self.model.render_user(w) for w in issue.watchers]}

    def _add_watcher(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        ref = self._body(req)
        user = me.key if ref is None else ref
        if not isinstance(user, str) or user not in self.model.users:
            raise ApiError(404 if isinstance(user, str) else 400,
                           [f"The user \"{user}\" does not exist." if isinstance(user, str)
                            else "The request body must be a JSON string naming the user."])
        if user not in issue.watchers:
            issue.watchers.append(user)
            self.model.touch()
        return Response(204, None)

    def _remove_watcher(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        name = "accountId" if self.flavour == "cloud" else "username"
        user = req.arg(name)
        if not user:
            raise ApiError(400, [f"The {name} query parameter is required."])
        if user not in self.model.users:
            raise ApiError(404, [f"The user \"{user}\" does not exist."])
        if user in issue.watchers:
            issue.watchers.remove(user)
            self.model.touch()
        return Response(204, None)

    def _render_link_type(self, t: Any) -> dict:
        return {"id": t.id, "name": t.name, "inward": t.inward, "outward": t.outward,
                "self": f"{self._link_base()}{self.model.api}/issueLinkType/{t.id}"}

    def _link_issues(self, req: Request, me: User) -> Response:
        """POST /issueLink (LinkIssueRequestJsonBean): 201 with no body, as Jira answers."""
        body = self._obj(req)
        refs = {k: body.get(k) for k in ("type", "inwardIssue", "outwardIssue")}
        missing = [k for k, v in refs.items() if not isinstance(v, dict)]
        if missing:
            raise ApiError(400, [f"{', '.join(missing)}: must be given as an object."])
        type_ = self.model.link_type(refs["type"])
        inward, outward = (self.model.issue(str(refs[k].get("key") or refs[k].get("id") or ""))
                           for k in ("inwardIssue", "outwardIssue"))
        if inward.id == outward.id:
            raise ApiError(400, ["You cannot link an issue to itself."])
        self.model.link_issues(type_, inward, outward)
        return Response(201, None)

    def _notify(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        body = self._obj(req)
        to = body.get("to") or {}
        if not isinstance(to, dict):
            raise ApiError(400, ["'to' must be an object."])
        recipients: list[str] = []
        if to.get("reporter") and issue.fields.get("reporter"):
            recipients.append(issue.fields["reporter"])
        if to.get("assignee") and issue.fields.get("assignee"):
            recipients.append(issue.fields["assignee"])
        if to.get("watchers"):
            recipients.extend(issue.watchers)
        ref_key = "accountId" if self.flavour == "cloud" else "name"
        for u in to.get("users") or []:
            ref = u.get(ref_key) if isinstance(u, dict) else None
            if ref not in self.model.users:
                raise ApiError(400, [f"The user with {ref_key} '{ref}' does not exist."])
            recipients.append(ref)
        if to.get("groups") or to.get("groupIds"):
            raise ApiError(400, ["The sandbox has no groups: notify users, reporter, assignee or watchers."])
        self.model.notifications.append(Notification(
            issue.key, me.key, str(body.get("subject") or ""), str(body.get("textBody") or ""),
            str(body.get("htmlBody") or ""), list(dict.fromkeys(recipients)), body))
        return Response(204, None)

    # -- handlers: entity properties ---------------------------------------------------------------
    def _property_keys(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        base = f"{self._link_base()}{self.model.api}/issue/{issue.id}/properties"
        return {"keys": [{"self": f"{base}/{k}", "key": k} for k in issue.properties]}

    def _get_property(self, req: Request, me: User) -> dict:
        issue = self.model.issue(req.params["issue"])
        key = req.params["prop"]
        if key not in issue.properties:
            raise ApiError(404, [f"The property with key '{key}' does not exist."])
        return {"key": key, "value": issue.properties[key]}

    def _put_property(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        key = req.params["prop"]
        if len(key) > 255:
            raise ApiError(400, ["The property key can not be longer than 255 characters."])
        if not req.body:
            raise ApiError(400, ["The property value must be valid JSON."])
        # "The value ... must be a valid, non-empty JSON ... maximum length is 32768 characters"
        # (v3 spec, PUT /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey})
        if len(req.body) > 32768:
            raise ApiError(400, ["The property value can not be longer than 32768 characters."])
        value = self._body(req)
        created = key not in issue.properties
        issue.properties[key] = value
        self.model.touch()
        return Response(201 if created else 200, None)

    def _delete_property(self, req: Request, me: User) -> Response:
        issue = self.model.issue(req.params["issue"])
        key = req.params["prop"]
        if issue.properties.pop(key, None) is None:
            raise ApiError(404, [f"The property with key '{key}' does not exist."])
        self.model.touch()
        return Response(204, None)

    # -- handlers: fields, contexts, options ---------------------------------------------------------
    def _create_field(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        name, type_ = body.get("name"), body.get("type")
        errors = {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "The custom field name can't be empty."
        if not isinstance(type_, str) or not type_:
            errors["type"] = "The custom field type is required."
        if errors:
            raise ApiError(400, [], errors)
        cf = self.model.create_custom_field(name, type_, searcher=body.get("searcherKey"),
                                            description=str(body.get("description") or ""))
        return Response(201, self.model.render_field(cf.id))

    def _get_contexts(self, req: Request, me: User) -> dict:
        cf = self.model.custom_field(req.params["field"])
        wanted = set(req.query.get("contextId", []))
        is_global = req.arg("isGlobalContext")
        values = []
        for c in cf.contexts:
            entry = {"id": c.id, "name": c.name, "description": c.description,
                     "isGlobalContext": not c.project_ids, "isAnyIssueType": not c.issue_type_ids}
            if wanted and c.id not in wanted:
                continue
            if is_global is not None and entry["isGlobalContext"] != (is_global.lower() == "true"):
                continue
            values.append(entry)
        return self._page(values, req, f"{self.model.api}/field/{cf.id}/context", 50)

    def _create_context(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, [], {"name": "The context name can't be empty."})
        ctx = self.model.create_context(req.params["field"], name, str(body.get("description") or ""),
                                        body.get("projectIds") or [], body.get("issueTypeIds") or [])
        return Response(201, {"id": ctx.id, "name": ctx.name, "description": ctx.description,
                              "projectIds": ctx.project_ids, "issueTypeIds": ctx.issue_type_ids})

    def _get_options(self, req: Request, me: User) -> dict:
        cf = self.model.custom_field(req.params["field"])
        ctx = self.model.context(cf, req.params["context"])
        only = (req.arg("onlyOptions") or "false").lower() == "true"
        option_id = req.arg("optionId")
        # "Options are returned first then cascading options" (v3 spec, GET .../option)
        ordered = [o for o in ctx.options if o.parent_id is None] + \
                  ([] if only else [o for o in ctx.options if o.parent_id is not None])
        if option_id:
            ordered = [o for o in ordered if option_id in (o.id, o.parent_id)]
        values = [{"id": o.id, "value": o.value, **({"optionId": o.parent_id} if o.parent_id else {}),
                   "disabled": o.disabled} for o in ordered]
        return self._page(values, req, f"{self.model.api}/field/{cf.id}/context/{ctx.id}/option", 100)

    def _create_options(self, req: Request, me: User) -> dict:
        body = self._obj(req)
        options = body.get("options")
        if not isinstance(options, list) or not options:
            raise ApiError(400, ["options must be a non-empty list."])
        created = self.model.add_options(req.params["field"], req.params["context"], options)
        return {"options": [{"id": o.id, "value": o.value, **({"optionId": o.parent_id} if o.parent_id else {}),
                             "disabled": o.disabled} for o in created]}

    def _context_projects(self, req: Request, me: User) -> Response:
        ids = self._obj(req).get("projectIds")
        self.model.assign_context_projects(req.params["field"], req.params["context"],
                                           ids if isinstance(ids, list) else [])
        return Response(204, None)

    def _context_issue_types(self, req: Request, me: User) -> Response:
        ids = self._obj(req).get("issueTypeIds")
        self.model.add_context_issue_types(req.params["field"], req.params["context"],
                                           ids if isinstance(ids, list) else [])
        return Response(204, None)

    def _dc_field_options(self, req: Request, me: User) -> dict:
        """Data Center: GET /rest/api/2/customFields/{id}/options ("experimental" in Atlassian's
        Jira DC REST docs, api-group-customfields): page-based (`page` from 1, `maxResults`),
        filtered by the context of `projectIds`/`issueTypeIds`; the answer is
        {options: [{id, self, value, disabled, childrenIds}], total}, ids as numbers. DC has no
        REST call that creates options: an admin adds them in the UI (the sandbox: `add_options`)."""
        cf = self.model.custom_field(f"customfield_{req.params['number']}")
        project_ids = [p for raw in req.query.get("projectIds", []) for p in raw.split(",") if p]
        type_ids = [t for raw in req.query.get("issueTypeIds", []) for t in raw.split(",") if t]
        use_all = (req.arg("useAllContexts") or "false").lower() == "true" or not (project_ids or type_ids)

        def in_scope(ids: list[str], wanted: list[str]) -> bool:  # an empty list means "all"
            return not ids or not wanted or any(w in ids for w in wanted)

        contexts = [c for c in cf.contexts if use_all or (in_scope(c.project_ids, project_ids)
                                                          and in_scope(c.issue_type_ids, type_ids))]
        options = [o for c in contexts for o in c.options]
        query = (req.arg("query") or "").casefold()
        if query:
            options = [o for o in options if query in o.value.casefold()]
        if (req.arg("sortByOptionName") or "false").lower() == "true":
            options.sort(key=lambda o: o.value.casefold())
        page = max(self._int(req, "page", 1), 1)
        size = max(self._int(req, "maxResults", 100), 1)
        chunk = options[(page - 1) * size:page * size]
        return {"options": [{"id": int(o.id), "self": f"{self._link_base()}{self.model.api}/customFieldOption/{o.id}",
                             "value": o.value, "disabled": o.disabled,
                             "childrenIds": [int(k.id) for k in options if k.parent_id == o.id]} for o in chunk],
                "total": len(options)}

    # -- handlers: projects --------------------------------------------------------------------------
    def _project_search(self, req: Request, me: User) -> dict:
        projects = list(self.model.projects.values())
        keys = {k for raw in req.query.get("keys", []) for k in raw.split(",") if k}
        if keys:
            projects = [p for p in projects if p.key in keys]
        type_key = req.arg("typeKey")
        if type_key:
            projects = [p for p in projects if p.type_key in type_key.split(",")]
        full = "issueTypes" in (req.arg("expand") or "")
        values = [self.model.render_project(p, full=full) for p in sorted(projects, key=lambda p: p.key)]
        if self._int(req, "maxResults", 50) > 100:  # the v3 spec caps this page at 100
            req.query["maxResults"] = ["100"]
        return self._page(values, req, f"{self.model.api}/project/search", 50)

    def _project_statuses(self, req: Request, me: User) -> list:
        project = self.model.project(req.params["project"])
        names = project.workflow.status_names()
        statuses = [self.model.render_status(self.model.status_by_name(n).id) for n in names]
        return [{"self": f"{self._link_base()}{self.model.api}/issuetype/{tid}", "id": tid,
                 "name": self.model.issue_types[tid].name, "subtask": self.model.issue_types[tid].subtask,
                 "statuses": statuses} for tid in project.issue_type_ids]

    # -- handlers: screens ----------------------------------------------------------------------------
    @staticmethod
    def _ids(req: Request, name: str) -> set[str]:
        """A repeated id parameter (`id=1&id=2`, as the v3 spec has it; commas taken too)."""
        return {v for raw in req.query.get(name, []) for v in raw.split(",") if v}

    def _get_screens(self, req: Request, me: User) -> Any:
        screens = sorted(self.model.screens.values(), key=lambda x: x.id)
        wanted, text = self._ids(req, "id"), (req.arg("queryString") or "").casefold()
        screens = [x for x in screens if (not wanted or str(x.id) in wanted) and text in x.name.casefold()]
        order = req.arg("orderBy") or ""
        if order.lstrip("+-") == "name":
            screens.sort(key=lambda x: x.name.casefold(), reverse=order.startswith("-"))
        elif order.startswith("-"):
            screens.reverse()
        values = [{"id": x.id, "name": x.name, "description": x.description} for x in screens]
        if self.flavour == "datacenter":
            # DC answers a plain list of screens, no PageBean (jira.js's typing of DC's "get all
            # screens": mrrefactoring.github.io/jira.js/api/functions/server.getAllScreens.html)
            return values
        return self._page(values, req, f"{self.model.api}/screens", 100)

    def _get_tabs(self, req: Request, me: User) -> list:
        screen = self.model.screen(req.params["screen"])
        return [{"id": t.id, "name": t.name} for t in screen.tabs]

    def _get_tab_fields(self, req: Request, me: User) -> list:
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        return [{"id": f, "name": self.model.field_name(f)} for f in tab.fields]

    def _add_tab_field(self, req: Request, me: User) -> dict:
        """POST .../tabs/{tabId}/fields {"fieldId"}: 200 with the ScreenableField (v3 spec; a live
        Cloud site answers 200, github.com/tenable/integration-jira-cloud/issues/23)."""
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        field_id = self._obj(req).get("fieldId")
        if not isinstance(field_id, str) or not field_id:
            raise ApiError(400, [], {"fieldId": "The field ID must be given."})
        self.model.add_field_to_tab(screen, tab, field_id)
        self.model.touch()
        return {"id": field_id, "name": self.model.field_name(field_id)}

    def _remove_tab_field(self, req: Request, me: User) -> Response:
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        self.model.remove_field_from_tab(screen, tab, req.params["field"])
        self.model.touch()
        return Response(204, None)

    def _add_to_default(self, req: Request, me: User) -> dict:
        """POST /screens/addToDefault/{fieldId}: "Adds a field to the default tab of the default
        screen" (v3 spec); not the screens a project has of its own."""
        self.model.add_to_default_screen(req.params["field"])
        self.model.touch()
        return {}

    def _itss_projects(self, req: Request, me: User) -> dict:
        """GET /issuetypescreenscheme/project: each scheme with the projects using it; a project
        with no scheme of its own uses the default one (id "1")."""
        wanted = self._ids(req, "projectId")
        own = {p for itss in self.model.issue_type_screen_schemes.values() for p in itss.project_ids}
        values = []
        for itss in self.model.issue_type_screen_schemes.values():
            users = list(itss.project_ids) if itss.id != "1" else \
                [p.id for p in self.model.projects.values() if p.id not in own]
            if wanted:
                users = [p for p in users if p in wanted]
                if not users:
                    continue
            elif not users:
                continue  # "Only issue type screen schemes used in classic projects are returned."
            entry = {"id": itss.id, "name": itss.name}
            if itss.description:
                entry["description"] = itss.description
            values.append({"issueTypeScreenScheme": entry, "projectIds": users})
        return self._page(values, req, f"{self.model.api}/issuetypescreenscheme/project", 50)

    def _itss_mapping(self, req: Request, me: User) -> dict:
        wanted = self._ids(req, "issueTypeScreenSchemeId")
        values = [{"issueTypeId": tid, "issueTypeScreenSchemeId": itss.id, "screenSchemeId": scheme}
                  for itss in self.model.issue_type_screen_schemes.values() if not wanted or itss.id in wanted
                  for tid, scheme in itss.mapping.items()]
        return self._page(values, req, f"{self.model.api}/issuetypescreenscheme/mapping", 50)

    def _screen_schemes(self, req: Request, me: User) -> dict:
        wanted = self._ids(req, "id")
        values = []
        for scheme in sorted(self.model.screen_schemes.values(), key=lambda x: x.id):
            if wanted and str(scheme.id) not in wanted:
                continue
            entry: dict[str, Any] = {"id": scheme.id, "name": scheme.name, "screens": dict(scheme.screens)}
            if scheme.description:
                entry["description"] = scheme.description
            values.append(entry)
        return self._page(values, req, f"{self.model.api}/screenscheme", 25)
