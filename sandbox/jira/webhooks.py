"""The sandbox Jira's admin webhooks: the REST resource that registers them, and their delivery.

Admin webhooks are what an administrator creates under System → WebHooks, or through
`/rest/webhooks/1.0/webhook` (GET the list, POST one; GET, PUT, DELETE `/{id}`), on Cloud
(developer.atlassian.com/cloud/jira/platform/webhooks/, "Registering a webhook using the
REST API") and on Data Center alike (developer.atlassian.com/server/jira/platform/webhooks/).
A webhook is a name, a URL, the events it is sent for, a JQL filter on the issues
(`filters: {"issue-related-events-section": jql}`), `excludeBody`, `enabled`, and a
`secret`. The resource needs the "Administer Jira" global permission: a caller whose
`BotProfile` lacks `ADMINISTER` is refused with 403 (the refusal's wording is the sandbox's own).

The secret is write-only: "Once saved, it cannot be accessed or retrieved again" (Atlassian's
"Secure admin webhooks"); no answer carries it. A PUT without `secret` keeps the one set
(the UI's edit form does the same), a PUT with `"secret": ""` removes it. Every write stamps
`lastUpdated` (epoch milliseconds) and `lastUpdatedUser`.

Delivery: when an issue the filter matches is created (`jira:issue_created`), changed
(`jira:issue_updated`: `issue_event_type_name` `issue_generic` for a transition, else
`issue_updated`, with the `changelog` of the change) or commented (`comment_created`, and
`jira:issue_updated` with `issue_event_type_name` `issue_commented`), each enabled webhook
subscribed to the event gets a POST with `{timestamp, webhookEvent, issue_event_type_name,
user, issue[, changelog][, comment]}` — no body when `excludeBody` is set. Headers as Jira
sends them: `X-Atlassian-Webhook-Identifier` (the same on every retry), `X-Atlassian-Webhook-Flow:
Primary`, and with a secret `X-Hub-Signature: sha256=<HMAC-SHA256 of the body, hex>` (WebSub's
method=signature; "Secure admin webhooks"). Retries follow Jira Cloud's policy: a 408, 409,
425, 429 or 5xx answer, a refused connection or a timeout is tried again, with
`X-Atlassian-Webhook-Retry: <n>` (community.developer.atlassian.com/t/30554, "New Jira Cloud
Webhook Retry Policy": "delivered later than usually (up to 30 minutes)"); other answers are
final. The waits (`RETRY_WAITS`) are the sandbox's pick within those 30 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.deliveries import Courier, Delivery
from sandbox.jira.exceptions import JiraError, JqlError
from sandbox.jira.jql import parse
from sandbox.jira.types import Comment, History, Issue
from sandbox.server import Request, Response

PATH = "/rest/webhooks/1.0/webhook"
FILTER_KEY = "issue-related-events-section"
#: clock seconds before each retry (Jira: "up to 30 minutes" late in all)
RETRY_WAITS = (10.0, 60.0, 300.0, 600.0, 900.0)
RETRY_STATUSES = frozenset({408, 409, 425, 429})
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class AdminWebhook:
    id: int
    name: str
    url: str
    events: list[str]
    jql: str
    exclude_body: bool
    enabled: bool
    secret: str | None
    updated_by: str
    updated: datetime


class JiraRetries:
    """Jira Cloud's webhook retry policy (see the module docstring)."""

    def retry_in(self, attempt: int, status: int | None) -> float | None:
        if attempt > len(RETRY_WAITS):
            return None
        if status is None or status in RETRY_STATUSES or status >= 500:
            return RETRY_WAITS[attempt - 1]
        return None

    def retry_headers(self, delivery: Delivery) -> dict[str, str]:
        return {"X-Atlassian-Webhook-Retry": str(delivery.attempt - 1)}


class _Resolver:
    """The model as a JQL resolver (its `custom_field` is `resolve_custom_field`)."""

    def __init__(self, model: Any):
        self.m = model

    def __getattr__(self, name: str) -> Any:
        return self.m.resolve_custom_field if name == "custom_field" else getattr(self.m, name)


class AdminWebhooks:
    """The admin webhooks of one sandbox Jira (state, REST operations, delivery); runs under the
    server's lock like the rest of the model, and hands deliveries to its `Courier`."""

    def __init__(self, model: Any):
        self.model = model
        self.hooks: dict[int, AdminWebhook] = {}
        self._ids = itertools.count(1)
        self.courier = Courier(model.now, JiraRetries(), timeout=(10.0, 30.0))

    # -- the REST resource ----------------------------------------------------------------------
    def _admin(self, me: Any) -> None:
        if not self.model.can(me.key, "ADMINISTER"):  # a BotProfile may lack it (sandbox.jira.permissions)
            raise JiraError(403, ["Only Jira administrators may manage webhooks (the 'Administer Jira' "
                                  "global permission)."])

    def _hook(self, req: Request) -> AdminWebhook:
        hook = self.hooks.get(int(req.params["id"]))
        if hook is None:
            raise JiraError(404, [f"No webhook with id {req.params['id']}."])
        return hook

    def render(self, hook: AdminWebhook) -> dict:
        user = self.model.users.get(hook.updated_by)
        return {"self": f"{self.model.base}{PATH}/{hook.id}", "name": hook.name, "url": hook.url,
                "excludeBody": hook.exclude_body, "filters": {FILTER_KEY: hook.jql}, "events": list(hook.events),
                "enabled": hook.enabled, "lastUpdatedUser": hook.updated_by,
                "lastUpdatedDisplayName": user.display_name if user else hook.updated_by,
                "lastUpdated": int(hook.updated.timestamp() * 1000)}

    def list(self, req: Request, me: Any) -> list:
        self._admin(me)
        return [self.render(h) for h in self.hooks.values()]

    def get(self, req: Request, me: Any) -> dict:
        self._admin(me)
        return self.render(self._hook(req))

    def create(self, req: Request, me: Any) -> Response:
        self._admin(me)
        hook = AdminWebhook(next(self._ids), "", "", [], "", False, True, None, me.key, self.model.now())
        self._fill(hook, _body(req), creating=True)
        self.hooks[hook.id] = hook
        return Response(201, self.render(hook))

    def update(self, req: Request, me: Any) -> dict:
        self._admin(me)
        hook = self._hook(req)
        changed = AdminWebhook(**vars(hook))
        self._fill(changed, _body(req), creating=False)
        changed.updated_by, changed.updated = me.key, self.model.now()
        self.hooks[hook.id] = changed
        return self.render(changed)

    def delete(self, req: Request, me: Any) -> Response:
        self._admin(me)
        del self.hooks[self._hook(req).id]
        return Response(204, None)

    def _fill(self, hook: AdminWebhook, body: Any, *, creating: bool) -> None:
        if not isinstance(body, dict):
            raise JiraError(400, ["The request body must be a JSON object."])
        errors = {}
        for key, attr in (("name", "name"), ("url", "url")):
            if key in body or creating:
                value = body.get(key)
                if not isinstance(value, str) or not value.strip():
                    errors[key] = f"The webhook's {key} is required."
                else:
                    setattr(hook, attr, value.strip())
        if hook.url and not hook.url.lower().startswith(("http://", "https://")):
            errors["url"] = "The URL must be an http or https URL."
        if "events" in body:
            if not isinstance(body["events"], list) or not all(isinstance(e, str) for e in body["events"]):
                errors["events"] = "events must be a list of event names."
            else:
                hook.events = list(body["events"])
        if "filters" in body:
            filters = body["filters"] if isinstance(body["filters"], dict) else {}
            jql = filters.get(FILTER_KEY) or ""
            try:
                if jql.strip():
                    parse(jql, _Resolver(self.model), now=self.model.now(), tz=UTC_ZONE)
            except JqlError as exc:
                errors["filters"] = str(exc)
            hook.jql = jql
        for key, attr in (("excludeBody", "exclude_body"), ("enabled", "enabled")):
            if key in body:
                setattr(hook, attr, bool(body[key]))
        if "secret" in body:
            hook.secret = str(body["secret"]) if body["secret"] else None
        if errors:
            raise JiraError(400, [], errors)

    # -- events, from the model ---------------------------------------------------------------------
    def issue_created(self, issue: Issue, author: str) -> None:
        self._deliver("jira:issue_created", "issue_created", issue, author)

    def issue_changed(self, issue: Issue, author: str, history: History) -> None:
        kind = "issue_generic" if any(i.field_id == "status" for i in history.items) else "issue_updated"
        self._deliver("jira:issue_updated", kind, issue, author, history=history)

    def comment_created(self, issue: Issue, author: str, comment: Comment) -> None:
        self._deliver("comment_created", None, issue, author, comment=comment)
        self._deliver("jira:issue_updated", "issue_commented", issue, author, comment=comment)

    def _deliver(self, event: str, type_name: str | None, issue: Issue, author: str, *,
                 history: History | None = None, comment: Comment | None = None) -> None:
        hooks = [h for h in self.hooks.values() if h.enabled and event in h.events and self._matches(h, issue)]
        if not hooks:
            return
        body = self._payload(event, type_name, issue, author, history, comment)
        for hook in hooks:
            raw = b"" if hook.exclude_body else json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Atlassian HttpClient",
                       "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex, "X-Atlassian-Webhook-Flow": "Primary"}
            if hook.secret and raw:
                headers["X-Hub-Signature"] = "sha256=" + hmac.new(hook.secret.encode("utf-8"), raw,
                                                                  hashlib.sha256).hexdigest()
            self.courier.send(Delivery(hook.url, raw, headers, event, headers["X-Atlassian-Webhook-Identifier"]))

    def _matches(self, hook: AdminWebhook, issue: Issue) -> bool:
        if not hook.jql.strip():
            return True
        try:
            where = parse(hook.jql, _Resolver(self.model), now=self.model.now(), tz=UTC_ZONE).where
        except JqlError:
            return False  # e.g. a project the filter names was deleted since: Jira matches nothing
        return where is None or where(issue)

    def _payload(self, event: str, type_name: str | None, issue: Issue, author: str, history: History | None,
                 comment: Comment | None) -> dict:
        m = self.model
        fields = m.field_ids(["*all"], "*all")
        out: dict[str, Any] = {"timestamp": int(m.now().astimezone(UTC).timestamp() * 1000), "webhookEvent": event}
        if type_name:
            out["issue_event_type_name"] = type_name
        if event == "comment_created":
            assert comment is not None
            out["comment"] = m.render_comment(issue, comment, UTC_ZONE)
            brief = m.render_issue(issue, ["summary", "status", "priority", "issuetype", "assignee"], UTC_ZONE)
            out["issue"] = {k: brief[k] for k in ("id", "self", "key", "fields")}
            return out
        out["user"] = m.render_user(author)
        out["issue"] = m.render_issue(issue, fields, UTC_ZONE)
        if history is not None:
            rendered = m.render_history(history, UTC_ZONE)
            out["changelog"] = {"id": rendered["id"], "items": rendered["items"]}
        if comment is not None:
            out["comment"] = m.render_comment(issue, comment, UTC_ZONE)
        return out


def _body(req: Request) -> Any:
    try:
        return req.json()
    except ValueError:
        raise JiraError(400, ["Invalid request payload: the body is not JSON."]) from None


# -- the routes (sandbox.jira.urls): (responses, request, caller) -> answer ---------------------------
def list_webhooks(r: Any, req: Request, me: Any) -> Any:
    return r.model.webhooks.list(req, me)


def create_webhook(r: Any, req: Request, me: Any) -> Any:
    return r.model.webhooks.create(req, me)


def get_webhook(r: Any, req: Request, me: Any) -> Any:
    return r.model.webhooks.get(req, me)


def update_webhook(r: Any, req: Request, me: Any) -> Any:
    return r.model.webhooks.update(req, me)


def delete_webhook(r: Any, req: Request, me: Any) -> Any:
    return r.model.webhooks.delete(req, me)


ROUTES = [
    ("GET", PATH, list_webhooks),
    ("POST", PATH, create_webhook),
    ("GET", PATH + r"/(?P<id>\d+)", get_webhook),
    ("PUT", PATH + r"/(?P<id>\d+)", update_webhook),
    ("DELETE", PATH + r"/(?P<id>\d+)", delete_webhook),
]
