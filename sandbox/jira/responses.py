"""The sandbox Jira's HTTP shaping: one method per REST operation, Jira's payloads in and out.

`JiraResponses` reads a request (query, JSON body, the authenticated caller), asks the
state in `sandbox.jira.models` and answers with Jira's shapes: PageBeans, the Cloud
`nextPageToken` search, the DC `startAt` search, ADF or wiki-markup bodies. Which path
reaches which method is the table in `sandbox.jira.urls`; refusals are
`sandbox.jira.exceptions.JiraError`s. Every handler takes `(request, caller)` and runs
under the server's lock.

Response shapes follow `../shared/reference/jira-platform-v3.json` (checked by
`tests/conformance/test_jira_openapi.py`); the comments cite Atlassian's documentation
where the spec is silent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.jira.adf import adf_invalid
from sandbox.jira.exceptions import GONE, JiraError, ServiceDeskError
from sandbox.jira.models import JiraModel
from sandbox.jira.permissions import CATALOGUE
from sandbox.jira.permissions import render as render_permission
from sandbox.jira.types import (
    CATEGORIES,
    SYSTEM_FIELDS,
    Comment,
    Issue,
    Notification,
    User,
    jira_time,
)
from sandbox.server import Request, Response

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


class JiraResponses:
    """The REST operations of one sandbox Jira, over its `JiraModel`."""

    def __init__(self, model: JiraModel):
        self.model = model

    @property
    def flavour(self) -> str:
        return self.model.flavour

    def _link_base(self) -> str:
        return self.model.base

    # -- request helpers ----------------------------------------------------------------------
    def _issue(self, req: Request, me: User) -> Issue:
        """The path's issue, if the caller may browse it (else Jira's 404)."""
        return self.model.browsable_issue(req.params["issue"], me.key)

    def _require(self, me: User, permission: str, status: int, message: str) -> None:
        """Refuse with Jira's ErrorCollection when the caller lacks a project permission."""
        if not self.model.can(me.key, permission):
            raise JiraError(status, [message])

    @staticmethod
    def _body(req: Request) -> Any:
        try:
            return req.json()
        except (ValueError, UnicodeDecodeError):
            raise JiraError(400, ["Unexpected character in the request body: it is not valid JSON."]) from None

    def _obj(self, req: Request) -> dict[str, Any]:
        body = self._body(req)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise JiraError(400, ["Can not deserialize the request body: expected a JSON object."])
        return body

    @staticmethod
    def _int(req: Request, name: str, default: int, *, body: dict | None = None) -> int:
        raw = body.get(name, default) if body is not None else req.arg(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise JiraError(400, [f"The value '{raw}' for '{name}' is not a number."]) from None

    @staticmethod
    def _tz(user: User) -> ZoneInfo:
        return ZoneInfo(user.time_zone)

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

    # -- handlers: small reads -------------------------------------------------------------------
    def myself(self, req: Request, me: User) -> dict:
        return self.model.render_user(me.key, full=True)

    def user(self, req: Request, me: User) -> dict:
        """GET /user: one user by `accountId` (Cloud; v3 spec, "Get user": 404 when not found), by
        `username` or `key` (Data Center, Jira Server REST reference api/2/user: 404 "The user
        named '…' does not exist")."""
        if self.flavour == "cloud":
            wanted = req.arg("accountId")
            if not wanted:
                raise JiraError(400, ["The accountId query parameter needs to be provided."])
            found = next((u for u in self.model.users.values() if u.account_id == wanted), None)
            if found is None:
                raise JiraError(404, ["Specified user does not exist or you do not have required permissions"])
        else:
            name, key = req.arg("username"), req.arg("key")
            if not (name or key):
                raise JiraError(400, ["Either the 'username' or the 'key' query parameter is required."])
            found = next((u for u in self.model.users.values()
                          if (name and u.name.casefold() == name.casefold()) or (key and u.dc_key == key)), None)
            if found is None:
                raise JiraError(404, [f"The user named '{name or key}' does not exist"])
        return self.model.render_user(found.key)

    def editmeta(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        # "8. User has Edit issues permission" is one of the conditions for a field to be
        # listed (v3 spec, GET /rest/api/3/issue/{issueIdOrKey}/editmeta)
        if not self.model.can(me.key, "EDIT_ISSUES"):
            return {"fields": {}}
        return self.model.render_editmeta(issue)

    def fields(self, req: Request, me: User) -> list:
        return [self.model.render_field(f) for f in [*SYSTEM_FIELDS, *self.model.custom_fields]]

    def statuses(self, req: Request, me: User) -> list:
        return [self.model.render_status(s) for s in self.model.statuses]

    def status_categories(self, req: Request, me: User) -> list:
        return [{"self": f"{self._link_base()}{self.model.api}/statuscategory/{c['id']}", **c}
                for c in CATEGORIES.values()]

    def issue_types(self, req: Request, me: User) -> list:
        return [self.model.render_issue_type(t) for t in self.model.issue_types]

    def priorities(self, req: Request, me: User) -> list:
        return [self.model.render_priority_full(p) for p in self.model.priorities.values()]

    def priority_search(self, req: Request, me: User) -> dict:
        return self._page(self.priorities(req, me), req, f"{self.model.api}/priority/search", 50)

    def projects(self, req: Request, me: User) -> list:
        # only the projects the caller may browse are listed (v3 spec, GET /rest/api/3/project)
        if not self.model.can(me.key, "BROWSE_PROJECTS"):
            return []
        return [self.model.render_project(p) for p in self.model.projects.values()]

    def project(self, req: Request, me: User) -> dict:
        return self.model.render_project(self.model.browsable_project(req.params["project"], me.key), full=True)

    def link_types(self, req: Request, me: User) -> dict:
        return {"issueLinkTypes": [self._render_link_type(t) for t in self.model.link_types.values()]}

    # -- handlers: instance -------------------------------------------------------------------
    def server_info(self, req: Request, me: User) -> dict:
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

    def gone(self, req: Request, me: User) -> Response:
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
            raise JiraError(400, ["You can request at most 5 issue properties."])
        return keys

    @staticmethod
    def _with_properties(rendered: dict, issue: Issue, keys: list[str]) -> dict:
        if keys:
            rendered["properties"] = {k: issue.properties[k] for k in keys if k in issue.properties}
        return rendered

    def search_jql(self, req: Request, me: User) -> dict:
        """Cloud: GET/POST /rest/api/3/search/jql, paged by an opaque `nextPageToken`."""
        body = self._obj(req) if req.method == "POST" else None
        jql = (body or {}).get("jql") if body is not None else req.arg("jql")
        query, hits = self.model.search(jql or "", me)
        if not query.bounded:
            raise JiraError(400, ["Unbounded JQL queries are not allowed here. Please add a search restriction "
                                  "to your query."])
        hits = self._indexed(hits, self._reconcile_param(req, body))
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

    def _reconcile_param(self, req: Request, body: dict | None) -> set[int]:
        """`reconcileIssues`: "Strong consistency issue ids to be reconciled with search
        results. Accepts max 50 ids." (v3 spec, GET/POST /rest/api/3/search/jql)."""
        raw = (body.get("reconcileIssues") or []) if body is not None else \
            [v for item in req.query.get("reconcileIssues", []) for v in item.split(",") if v.strip()]
        if not isinstance(raw, list):
            raise JiraError(400, ["reconcileIssues must be a list of issue ids."])
        try:
            ids = {int(v) for v in raw}
        except (TypeError, ValueError):
            raise JiraError(400, ["reconcileIssues must be a list of issue ids."]) from None
        if len(ids) > 50:
            raise JiraError(400, ["reconcileIssues accepts at most 50 issue ids."])
        return ids

    def _indexed(self, hits: list[Issue], reconcile: set[int]) -> list[Issue]:
        """What the eventually consistent index shows: an issue created over REST less than
        `search_lag` ago is missing unless `reconcileIssues` names it (developer.atlassian.com/
        cloud/jira/platform/search-and-reconcile: "The API doesn't provide read-after-write
        consistency by default")."""
        pending = self.model.searchable_from
        if not pending:
            return hits
        now = self.model.now()
        for iid in [i for i, due in pending.items() if due <= now]:
            del pending[iid]
        return [x for x in hits if x.id not in pending or x.id in reconcile]

    @staticmethod
    def _decode_token(token: str, fingerprint: str) -> int:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset, _, fp = text.partition(":")
            if fp == fingerprint:
                return int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        raise JiraError(400, ["The provided next page token is invalid or expired."])

    def search_dc(self, req: Request, me: User) -> dict:
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
    def bulk_changelog(self, req: Request, me: User) -> dict:
        """POST /rest/api/3/changelog/bulkfetch: oldest first, by date then issue id (v3 spec)."""
        body = self._obj(req)
        refs = body.get("issueIdsOrKeys")
        if not isinstance(refs, list) or not refs or len(refs) > 1000:
            raise JiraError(400, ["issueIdsOrKeys must hold between 1 and 1000 issue ids or keys."])
        field_ids = body.get("fieldIds")
        if field_ids is not None and (not isinstance(field_ids, list) or len(field_ids) > 10):
            raise JiraError(400, ["fieldIds can hold at most 10 field ids."])
        size = self._int(req, "maxResults", 1000, body=body)
        if not 1 <= size <= 10000:
            raise JiraError(400, ["maxResults must be between 1 and 10000."])
        wanted = set(field_ids) if field_ids else None
        rows = []
        for ref in dict.fromkeys(str(r) for r in refs):
            try:
                issue = self.model.browsable_issue(ref, me.key)
            except JiraError:
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

    def issue_changelog(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        tz = self._tz(me)
        values = [self.model.render_history(h, tz) for h in issue.histories]
        return self._page(values, req, f"{self.model.api}/issue/{issue.key}/changelog", 100)

    # -- handlers: issues ----------------------------------------------------------------------
    def get_issue(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        field_ids = self.model.field_ids(req.query.get("fields", []), "*all")
        out = self.model.render_issue(issue, field_ids, self._tz(me), expand=self._expand_param(req, None))
        return self._with_properties(out, issue, self._properties_param(req, None))

    def create_issue(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        fields = dict(body.get("fields") or {})
        errors: dict[str, str] = {}
        project_ref = fields.pop("project", None)
        type_ref = fields.pop("issuetype", None)
        project_ref = project_ref if isinstance(project_ref, dict) else {}
        type_ref = type_ref if isinstance(type_ref, dict) else {}
        summary = fields.pop("summary", None)
        project = None
        try:  # a project the caller cannot browse is no valid project to create in
            project = self.model.browsable_project(str(project_ref.get("key") or project_ref.get("id") or ""),
                                                   me.key)
        except JiraError:
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
            raise JiraError(400, [], errors)
        reporter_ref = fields.pop("reporter", None)
        reporter = me.key
        if reporter_ref:
            reporter = reporter_ref.get("accountId" if self.flavour == "cloud" else "name") \
                if isinstance(reporter_ref, dict) else None
            if reporter not in self.model.users:
                raise JiraError(400, [], {"reporter": "Specify a valid value for reporter"})
        issue = self.model.create_issue(project.key, type_id, summary, reporter=reporter, fields=fields)
        if self.model.search_lag:  # not in Cloud's search index yet (sandbox.jira.models)
            self.model.searchable_from[issue.id] = self.model.now() + self.model.search_lag
        return Response(201, {"id": str(issue.id), "key": issue.key,
                              "self": f"{self._link_base()}{self.model.api}/issue/{issue.id}"})

    def edit_issue(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        body = self._obj(req)
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise JiraError(400, ["fields and update must be JSON objects."])
        if "status" in fields or "status" in update:
            raise JiraError(400, [], {"status": "Field 'status' cannot be set. It is not on the appropriate "
                                      "screen, or unknown."})
        if not self.model.can(me.key, "EDIT_ISSUES"):
            # without Edit issues no field is editable (editmeta is empty), so each one named
            # is refused as not on the screen: 400, "the user does not have the necessary
            # permission to edit one or more fields" (v3 spec, PUT /rest/api/3/issue/{issueIdOrKey})
            raise JiraError(400, [], {f: f"Field '{f}' cannot be set. It is not on the appropriate screen, "
                                      "or unknown." for f in [*fields, *update]})
        update = dict(update)
        # Jira applies an edit whole or refuses it whole: the comment is checked with the fields,
        # and stored only once they were
        comments = self._comment_ops(issue, update)
        self.model.edit_issue(issue, fields, update, me.key)
        self._add_comments(issue, me, comments)
        return Response(204, None)

    def get_transitions(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        out = []
        # "if the user does not have the Transition issues project permission the response will
        # not list any transitions" (v3 spec, GET /rest/api/3/issue/{issueIdOrKey}/transitions)
        allowed = self.model.can(me.key, "TRANSITION_ISSUES")
        for t in self.model.transitions_for(issue) if allowed else []:
            status = self.model.status_by_name(t.to)
            entry: dict[str, Any] = {"id": t.id, "name": t.name, "to": self.model.render_status(status.id)}
            if self.flavour == "cloud":
                entry.update({"hasScreen": False, "isGlobal": t.sources is None, "isInitial": False,
                              "isAvailable": True, "isConditional": False, "isLooped": False})
            out.append(entry)
        return {"expand": "transitions", "transitions": out}

    def do_transition(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        body = self._obj(req)
        ref = body.get("transition") or {}
        tid = ref.get("id") if isinstance(ref, dict) else None
        if tid is None:
            raise JiraError(400, ["Missing 'transition' identifier"])
        # 400 "the user does not have permission to transition the issue" (v3 spec, POST
        # .../transitions); the wording is the sandbox's
        self._require(me, "TRANSITION_ISSUES", 400, "You do not have permission to transition this issue.")
        update = body.get("update") or {}
        if not isinstance(update, dict):
            raise JiraError(400, ["update must be a JSON object."])
        comments = self._comment_ops(issue, dict(update))  # whole or nothing, as an edit
        self.model.transition_issue(issue, str(tid), me.key, body.get("fields") or {})
        self._add_comments(issue, me, comments)
        return Response(204, None)

    # -- handlers: comments --------------------------------------------------------------------
    def _comment_bean(self, issue: Issue, body: dict) -> tuple[Any, bool, dict | None, list[dict]]:
        """A comment as POST /comment and `update.comment[].add` take it, checked: (body, internal,
        visibility, properties). Raises the error Jira answers; nothing is stored here."""
        if not isinstance(body, dict):
            raise JiraError(400, [], {"comment": "Operation value must be a comment object."})
        text = body.get("body")
        if self.flavour == "cloud":
            if not (isinstance(text, dict) and text.get("type") == "doc"):
                raise JiraError(400, [], {"comment": "Operation value must be an Atlassian Document "
                                          "(see the Atlassian Document Format)"})
            if adf_invalid(text):
                # a document the ADF schema refuses (`sandbox.jira.adf`): Jira Cloud answers 400
                # INVALID_INPUT and stores nothing (github.com/nguyenvanduocit/jira-mcp/issues/42)
                raise JiraError(400, ["INVALID_INPUT"])
        elif not isinstance(text, str):
            raise JiraError(400, [], {"comment": "Comment body must be a string."})
        if not text or (isinstance(text, dict) and not text.get("content")) or (isinstance(text, str) and not text.strip()):
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        visibility = body.get("visibility")
        if visibility is not None and not (isinstance(visibility, dict) and visibility.get("type") in ("group", "role")
                                           and isinstance(visibility.get("value") or visibility.get("identifier"), str)):
            # v3 spec, Visibility: type is "group" or "role", named by value (or identifier)
            raise JiraError(400, [], {"commentLevel": "You are currently not a member of the project role or group "
                                      "named in the visibility restriction."})
        props = body.get("properties") or []
        if not isinstance(props, list) or not all(isinstance(p, dict) and "key" in p for p in props):
            raise JiraError(400, ["properties must be a list of {key, value} objects."])
        # An internal (agents-only) JSM comment is marked by the `sd.public.comment` entity
        # property {"internal": true} (Atlassian KB "Add internal comments to Jira Service
        # Management requests via REST API"); it only means something on a service project.
        flagged = any(p["key"] == SD_INTERNAL and isinstance(p.get("value"), dict)
                      and p["value"].get("internal") is True for p in props)
        project = self.model.project(issue.fields["project_key"])
        return text, flagged and project.type_key == "service_desk", visibility, props

    def _comment_ops(self, issue: Issue, update: dict) -> list[tuple[Any, bool, dict | None, list[dict]]]:
        """`update.comment`: the comments to add with an edit or a transition (IssueUpdateDetails,
        https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put;
        the comment field takes only `add`), each checked before anything is stored."""
        ops = update.pop("comment", None)
        if ops is None:
            return []
        if not isinstance(ops, list) or not all(isinstance(op, dict) and list(op) == ["add"] for op in ops):
            raise JiraError(400, [], {"comment": "Field 'comment' only supports the 'add' operation."})
        return [self._comment_bean(issue, op["add"]) for op in ops]

    def _add_comments(self, issue: Issue, me: User, comments: list[tuple[Any, bool, dict | None, list[dict]]]) -> None:
        for text, internal, visibility, props in comments:
            self.model.add_comment(issue, me.key, text, internal=internal, visibility=visibility, properties=props)

    def get_comments(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        comments: list[Comment] = list(issue.comments)
        if (req.arg("orderBy") or "").startswith("-"):
            comments.reverse()
        start = max(self._int(req, "startAt", 0), 0)
        # Cloud pages comments 100 at a time (v3 spec); Data Center gives all of them by default
        size = max(self._int(req, "maxResults", 100 if self.flavour == "cloud" else len(comments)), 0)
        tz, expand = self._tz(me), self._expand_param(req, None)
        props, html = "properties" in expand, "renderedBody" in expand
        return {"startAt": start, "maxResults": size, "total": len(comments),
                "comments": [self.model.render_comment(issue, c, tz, with_properties=props, with_html=html)
                             for c in comments[start:start + size]]}

    def add_comment(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        # Jira's CommentService refuses a commenter without Add comments with this text, and
        # the REST layer answers it 403 (the v3 spec requires "Browse projects and Add comments")
        self._require(me, "ADD_COMMENTS", 403, "You do not have the permission to comment on this issue.")
        text, internal, visibility, props = self._comment_bean(issue, self._obj(req))
        comment = self.model.add_comment(issue, me.key, text, internal=internal,
                                         visibility=visibility, properties=props)
        return Response(201, self.model.render_comment(issue, comment, self._tz(me), with_properties="properties"
                                                       in self._expand_param(req, None)))

    def sd_comment(self, req: Request, me: User) -> Response:
        """JSM: POST /rest/servicedeskapi/request/{key}/comment {body, public}
        (developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/)."""
        try:
            issue = self._issue(req, me)
        except JiraError:
            issue = None
        if issue is None or self.model.project(issue.fields["project_key"]).type_key != "service_desk":
            raise ServiceDeskError(404, "The request could not be found or you do not have permission to see it.",
                                   "sd.request.error.not.found")
        body = self._obj(req)
        text, public = body.get("body"), body.get("public", True)
        if not isinstance(text, str) or not text.strip() or not isinstance(public, bool):
            raise ServiceDeskError(400, "The comment body must be a non-empty string and 'public' a boolean.",
                                   "sd.request.comment.invalid")
        props = [] if public else [{"key": SD_INTERNAL, "value": {"internal": True}}]
        c = self.model.add_comment(issue, me.key, self.model.text_body(text), internal=not public,
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
    def get_watchers(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        return {"self": f"{self._link_base()}{self.model.api}/issue/{issue.key}/watchers",
                "isWatching": me.key in issue.watchers, "watchCount": len(issue.watchers),
                "watchers": [self.model.render_user(w) for w in issue.watchers]}

    def _watch_rules(self, me: User, user: str) -> None:
        """POST/DELETE .../watchers "requires the Allow users to watch issues option to be ON"
        and, to add (or remove) anyone but the caller, "Manage watcher list" (v3 spec); both
        refusals are 403 (the wording is the sandbox's)."""
        if not self.model.profile(me.key).watching:
            raise JiraError(403, ["Watching is disabled: the 'Allow users to watch issues' option is OFF."])
        if user != me.key:
            self._require(me, "MANAGE_WATCHERS", 403, "You do not have the permission to manage the watcher "
                                                      "list of this issue.")

    def add_watcher(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        ref = self._body(req)
        user = me.key if ref is None else ref
        if not isinstance(user, str) or user not in self.model.users:
            raise JiraError(404 if isinstance(user, str) else 400,
                            [f"The user \"{user}\" does not exist." if isinstance(user, str)
                            else "The request body must be a JSON string naming the user."])
        self._watch_rules(me, user)
        if user not in issue.watchers:
            issue.watchers.append(user)
            self.model.touch()
        return Response(204, None)

    def remove_watcher(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        name = "accountId" if self.flavour == "cloud" else "username"
        user = req.arg(name)
        if not user:
            raise JiraError(400, [f"The {name} query parameter is required."])
        if user not in self.model.users:
            raise JiraError(404, [f"The user \"{user}\" does not exist."])
        self._watch_rules(me, user)
        if user in issue.watchers:
            issue.watchers.remove(user)
            self.model.touch()
        return Response(204, None)

    def _render_link_type(self, t: Any) -> dict:
        return {"id": t.id, "name": t.name, "inward": t.inward, "outward": t.outward,
                "self": f"{self._link_base()}{self.model.api}/issueLinkType/{t.id}"}

    def link_issues(self, req: Request, me: User) -> Response:
        """POST /issueLink (LinkIssueRequestJsonBean): 201 with no body, as Jira answers."""
        body = self._obj(req)
        refs = {k: body.get(k) for k in ("type", "inwardIssue", "outwardIssue")}
        missing = [k for k, v in refs.items() if not isinstance(v, dict)]
        if missing:
            raise JiraError(400, [f"{', '.join(missing)}: must be given as an object."])
        type_ = self.model.link_type(refs["type"])
        inward, outward = (self.model.browsable_issue(str(refs[k].get("key") or refs[k].get("id") or ""), me.key)
                           for k in ("inwardIssue", "outwardIssue"))
        if inward.id == outward.id:
            raise JiraError(400, ["You cannot link an issue to itself."])
        self.model.link_issues(type_, inward, outward)
        return Response(201, None)

    def notify(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        body = self._obj(req)
        to = body.get("to") or {}
        if not isinstance(to, dict):
            raise JiraError(400, ["'to' must be an object."])
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
                raise JiraError(400, [f"The user with {ref_key} '{ref}' does not exist."])
            recipients.append(ref)
        if to.get("groups") or to.get("groupIds"):
            raise JiraError(400, ["The sandbox has no groups: notify users, reporter, assignee or watchers."])
        # 403 "if outgoing emails are disabled" (v3 spec, POST /rest/api/3/issue/{key}/notify)
        if not self.model.profile(me.key).outgoing_mail:
            raise JiraError(403, ["Outgoing mail is disabled: the notification cannot be queued."])
        # Jira never mails the caller their own notification: a request whose only recipient
        # is the caller is 400 ("the recipient is the same as the calling user", v3 spec), and
        # one left with nobody is refused with "No recipients were defined for notification."
        # (quoted in the docs of github.com/jira-node/node-jira-client, IssueClient#sendEmailNotification)
        recipients = [r for r in dict.fromkeys(recipients) if r != me.key]
        if not recipients:
            raise JiraError(400, ["No recipients were defined for notification."])
        self.model.notifications.append(Notification(
            issue.key, me.key, str(body.get("subject") or ""), str(body.get("textBody") or ""),
            str(body.get("htmlBody") or ""), recipients, body))
        return Response(204, None)

    # -- handlers: entity properties ---------------------------------------------------------------
    def property_keys(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        base = f"{self._link_base()}{self.model.api}/issue/{issue.id}/properties"
        return {"keys": [{"self": f"{base}/{k}", "key": k} for k in issue.properties]}

    def get_property(self, req: Request, me: User) -> dict:
        issue = self._issue(req, me)
        key = req.params["prop"]
        if key not in issue.properties:
            raise JiraError(404, [f"The property with key '{key}' does not exist."])
        return {"key": key, "value": issue.properties[key]}

    def put_property(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        key = req.params["prop"]
        if len(key) > 255:
            raise JiraError(400, ["The property key can not be longer than 255 characters."])
        if not req.body:
            raise JiraError(400, ["The property value must be valid JSON."])
        # "The value ... must be a valid, non-empty JSON ... maximum length is 32768 characters"
        # (v3 spec, PUT /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey})
        if len(req.body) > 32768:
            raise JiraError(400, ["The property value can not be longer than 32768 characters."])
        value = self._body(req)
        created = key not in issue.properties
        issue.properties[key] = value
        self.model.touch()
        return Response(201 if created else 200, None)

    def delete_property(self, req: Request, me: User) -> Response:
        issue = self._issue(req, me)
        key = req.params["prop"]
        if issue.properties.pop(key, None) is None:
            raise JiraError(404, [f"The property with key '{key}' does not exist."])
        self.model.touch()
        return Response(204, None)

    # -- handlers: fields, contexts, options ---------------------------------------------------------
    def create_field(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        name, type_ = body.get("name"), body.get("type")
        errors = {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "The custom field name can't be empty."
        if not isinstance(type_, str) or not type_:
            errors["type"] = "The custom field type is required."
        if errors:
            raise JiraError(400, [], errors)
        cf = self.model.create_custom_field(name, type_, searcher=body.get("searcherKey"),
                                            description=str(body.get("description") or ""))
        return Response(201, self.model.render_field(cf.id))

    def delete_field(self, req: Request, me: User) -> Response:
        """DELETE /field/{id} (Cloud): "This operation is asynchronous": 303 See Other with the task's
        `location` and its TaskProgressBean (v3 spec, "Delete custom field"; Administer Jira). The sandbox
        finishes the task at once: the field is gone from fields, screens and issues."""
        self._require(me, "ADMINISTER", 403, "Only Jira administrators can delete custom fields.")
        cf = self.model.custom_fields.get(req.params["field"])
        if cf is None:
            raise JiraError(404, [f"The custom field {req.params['field']} was not found."])
        self.model.delete_custom_field(cf.id)
        stamp = int(self.model.now().timestamp() * 1000)
        task_id = str(10000 + len(self.model.tasks))
        url = f"{self._link_base()}{self.model.api}/task/{task_id}"
        task = {"self": url, "id": task_id, "description": f"Deleting custom field {cf.name}", "status": "COMPLETE",
                "result": None, "submittedBy": 10000, "progress": 100, "elapsedRuntime": 0, "submitted": stamp,
                "started": stamp, "finished": stamp, "lastUpdate": stamp}
        self.model.tasks[task_id] = task
        return Response(303, task, {"Location": url})

    def get_task(self, req: Request, me: User) -> dict:
        """GET /task/{taskId}: a task's progress (v3 spec, "Get task")."""
        task = self.model.tasks.get(req.params["task"])
        if task is None:
            raise JiraError(404, [f"The task {req.params['task']} was not found."])
        return task

    def get_contexts(self, req: Request, me: User) -> dict:
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

    def create_context(self, req: Request, me: User) -> Response:
        body = self._obj(req)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise JiraError(400, [], {"name": "The context name can't be empty."})
        ctx = self.model.create_context(req.params["field"], name, str(body.get("description") or ""),
                                        body.get("projectIds") or [], body.get("issueTypeIds") or [])
        return Response(201, {"id": ctx.id, "name": ctx.name, "description": ctx.description,
                              "projectIds": ctx.project_ids, "issueTypeIds": ctx.issue_type_ids})

    def get_options(self, req: Request, me: User) -> dict:
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

    def create_options(self, req: Request, me: User) -> dict:
        body = self._obj(req)
        options = body.get("options")
        if not isinstance(options, list) or not options:
            raise JiraError(400, ["options must be a non-empty list."])
        created = self.model.add_options(req.params["field"], req.params["context"], options)
        return {"options": [{"id": o.id, "value": o.value, **({"optionId": o.parent_id} if o.parent_id else {}),
                             "disabled": o.disabled} for o in created]}

    def context_projects(self, req: Request, me: User) -> Response:
        ids = self._obj(req).get("projectIds")
        self.model.assign_context_projects(req.params["field"], req.params["context"],
                                           ids if isinstance(ids, list) else [])
        return Response(204, None)

    def context_issue_types(self, req: Request, me: User) -> Response:
        ids = self._obj(req).get("issueTypeIds")
        self.model.add_context_issue_types(req.params["field"], req.params["context"],
                                           ids if isinstance(ids, list) else [])
        return Response(204, None)

    def dc_field_options(self, req: Request, me: User) -> dict:
        """Data Center: GET /rest/api/2/customFields/{id}/options ("experimental" in Atlassian's
        Jira DC REST docs, api-group-customfields): page-based (`page` from 1, `maxResults`),
        filtered by the context of `projectIds`/`issueTypeIds`, or - with neither given - the
        global context's options only, unless `useAllContexts=true` asks for every context's
        (the parameters of "Get custom field options", developer.atlassian.com/server/jira/
        platform/rest/v10004/api-group-customfields/); the answer is
        {options: [{id, self, value, disabled, childrenIds}], total}, ids as numbers. DC has no
        REST call that creates options: an admin adds them in the UI (the sandbox: `add_options`)."""
        cf = self.model.custom_field(f"customfield_{req.params['number']}")
        project_ids = [p for raw in req.query.get("projectIds", []) for p in raw.split(",") if p]
        type_ids = [t for raw in req.query.get("issueTypeIds", []) for t in raw.split(",") if t]
        use_all = (req.arg("useAllContexts") or "false").lower() == "true"

        def in_scope(ids: list[str], wanted: list[str]) -> bool:  # an empty list means "all"
            return not ids or not wanted or any(w in ids for w in wanted)

        if use_all:
            contexts = list(cf.contexts)
        elif project_ids or type_ids:
            contexts = [c for c in cf.contexts if in_scope(c.project_ids, project_ids)
                        and in_scope(c.issue_type_ids, type_ids)]
        else:  # the global context: one that applies to every project
            contexts = [c for c in cf.contexts if not c.project_ids]
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

    # -- handlers: permissions -------------------------------------------------------------------------
    def my_permissions(self, req: Request, me: User) -> dict:
        """GET /mypermissions?projectKey|projectId|issueKey|issueId&permissions=A,B: which of the
        named permissions the caller holds there (v3 spec, `Permissions`). The context must be
        one the caller may browse (404 otherwise, as for a missing one). Cloud requires
        `permissions` (400 when empty or naming an unknown key); Data Center lists every
        permission when it is left out (Jira DC REST reference, api/2/mypermissions). The
        400 texts are the sandbox's."""
        keys = [k.strip() for raw in req.query.get("permissions", []) for k in raw.split(",") if k.strip()]
        if not keys:
            if self.flavour == "cloud":
                raise JiraError(400, ["The 'permissions' query parameter is required: name one or more "
                                      "permission keys."])
            keys = list(CATALOGUE)
        unknown = [k for k in keys if k not in CATALOGUE]
        if unknown:
            raise JiraError(400, [f"Invalid permission key: {k}" for k in unknown])
        issue_ref = req.arg("issueId") or req.arg("issueKey")
        project_ref = req.arg("projectId") or req.arg("projectKey")
        if issue_ref:
            self.model.browsable_issue(issue_ref, me.key)
        elif project_ref:
            self.model.browsable_project(project_ref, me.key)
        return {"permissions": {k: render_permission(k, self.model.can(me.key, k)) for k in dict.fromkeys(keys)}}

    # -- handlers: projects --------------------------------------------------------------------------
    def project_search(self, req: Request, me: User) -> dict:
        projects = list(self.model.projects.values()) if self.model.can(me.key, "BROWSE_PROJECTS") else []
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

    def project_statuses(self, req: Request, me: User) -> list:
        project = self.model.browsable_project(req.params["project"], me.key)
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

    def get_screens(self, req: Request, me: User) -> Any:
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

    def get_tabs(self, req: Request, me: User) -> list:
        screen = self.model.screen(req.params["screen"])
        return [{"id": t.id, "name": t.name} for t in screen.tabs]

    def get_tab_fields(self, req: Request, me: User) -> list:
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        return [{"id": f, "name": self.model.field_name(f)} for f in tab.fields]

    def add_tab_field(self, req: Request, me: User) -> dict:
        """POST .../tabs/{tabId}/fields {"fieldId"}: 200 with the ScreenableField (v3 spec; a live
        Cloud site answers 200, github.com/tenable/integration-jira-cloud/issues/23)."""
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        field_id = self._obj(req).get("fieldId")
        if not isinstance(field_id, str) or not field_id:
            raise JiraError(400, [], {"fieldId": "The field ID must be given."})
        self.model.add_field_to_tab(screen, tab, field_id)
        self.model.touch()
        return {"id": field_id, "name": self.model.field_name(field_id)}

    def remove_tab_field(self, req: Request, me: User) -> Response:
        screen = self.model.screen(req.params["screen"])
        tab = self.model.screen_tab(screen, req.params["tab"])
        self.model.remove_field_from_tab(screen, tab, req.params["field"])
        self.model.touch()
        return Response(204, None)

    def add_to_default(self, req: Request, me: User) -> dict:
        """POST /screens/addToDefault/{fieldId}: "Adds a field to the default tab of the default
        screen" (v3 spec); not the screens a project has of its own."""
        self.model.add_to_default_screen(req.params["field"])
        self.model.touch()
        return {}

    def itss_projects(self, req: Request, me: User) -> dict:
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

    def itss_mapping(self, req: Request, me: User) -> dict:
        wanted = self._ids(req, "issueTypeScreenSchemeId")
        values = [{"issueTypeId": tid, "issueTypeScreenSchemeId": itss.id, "screenSchemeId": scheme}
                  for itss in self.model.issue_type_screen_schemes.values() if not wanted or itss.id in wanted
                  for tid, scheme in itss.mapping.items()]
        return self._page(values, req, f"{self.model.api}/issuetypescreenscheme/mapping", 50)

    def screen_schemes(self, req: Request, me: User) -> dict:
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

