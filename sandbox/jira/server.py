"""`JiraSandbox`: the sandbox Jira on the shared loopback server, and its seed API.

`JiraSandbox("cloud")` serves Jira Cloud's REST v3 (basic auth with e-mail and API
token, ADF bodies, `/search/jql` with `nextPageToken`, `/changelog/bulkfetch`, custom
field contexts and options); `JiraSandbox("datacenter")` serves Jira Data Center's REST
v2 (a personal access token as `Bearer`, wiki-markup strings, `/search` with `startAt`).

The package is laid out as moto lays out a service: the state is `models.JiraModel`
(with `render`, `screens`, `jql` and the records of `types`), the REST operations are
`responses.JiraResponses`, the routing table is `urls.url_paths`, the refusals are
`exceptions`. This module joins them to `sandbox.server.SandboxServer`: it
authenticates the caller, shapes the rate-limit answers and headers, and offers the
seed API.

Seed it from Python (tests, the demo): `add_user`, `add_project`, `add_status`,
`set_workflow`, `create_custom_field`, `add_options`, `create_issue`, and act as a
person would with `edit_issue`, `move_issue`, `add_comment`. The clock is injectable
and stamps every created/updated/changelog time; `notifications` records what
`POST /issue/{key}/notify` was asked to send. A custom field can only be set through a
project's edit screen (`sandbox.jira.screens`): the seed API's `create_custom_field`
puts it on every project's screen, as the UI's last step does, while `POST /field` puts
it on none. Admin webhooks (`sandbox.jira.webhooks`) are called on a thread of their own:
`deliveries` holds every attempt.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.deliveries import Courier
from sandbox.jira.exceptions import JiraError, internal_error, no_route, unauthorized
from sandbox.jira.models import JiraModel
from sandbox.jira.permissions import BotProfile
from sandbox.jira.responses import SD_INTERNAL, JiraResponses
from sandbox.jira.types import (
    Flavour,
    Issue,
    Notification,
    User,
    Workflow,
    WorkflowTransition,
    default_workflow,
)
from sandbox.jira.urls import Handler, url_paths
from sandbox.server import HttpError, RateLimiter, Request, Response, SandboxServer

#: default `search_lag`: "The majority of modifications are shown within seconds"
#: (developer.atlassian.com/cloud/jira/platform/search-and-reconcile)
SEARCH_LAG = 5.0

RATE_LIMITED_HTML = ("<!doctype html><html lang=\"en\"><head><title>HTTP Status 429 – Too Many Requests</title>"
                     "</head><body><h1>HTTP Status 429 – Too Many Requests</h1></body></html>")


@dataclass(frozen=True)
class PerIssueWriteLimit:
    """At most `writes` writes to one issue within `seconds` (sandbox clock)."""

    writes: int = 20
    seconds: float = 2.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JiraSandbox(SandboxServer):
    """A Jira Cloud (v3) or Data Center (v2) instance on a loopback socket."""

    poll_interval = 0.05  # tests start and stop many sandboxes: stop() promptly

    def __init__(self, flavour: Flavour = "cloud", *, email: str = "bot@example.com", token: str = "sandbox-token",
                 clock: Callable[[], datetime] | None = None, rate_limit: float | RateLimiter | None = None,
                 workflow: Workflow | None = None, statuses: dict[str, str] | None = None,
                 time_zone: str = "UTC", seed: bool = True, bot: BotProfile | None = None,
                 search_lag: float = SEARCH_LAG, per_issue_writes: PerIssueWriteLimit | None = None,
                 rate_limit_html: bool = False, host: str = "127.0.0.1", port: int = 0):
        """`workflow` is the seeded projects' workflow (default: `default_workflow()`);
        `statuses` adds statuses (name -> category key: new, indeterminate, done) it may name.
        `seed=False` starts with the bot user only.

        Refusals: `bot` takes permissions and site settings from the bot (`BotProfile`;
        default: it may do everything); `search_lag` is how long (seconds of the sandbox
        clock) an issue created over REST stays out of Cloud's `/search/jql` (0: at once);
        `per_issue_writes` turns on Cloud's per-issue write limit; `rate_limit_html` makes
        the rate limiter's 429 an HTML page, as a proxy in front of Data Center answers."""
        limiter = rate_limit if isinstance(rate_limit, RateLimiter) else \
            RateLimiter(rate_limit) if rate_limit else None  # requests per second, real time
        super().__init__(authenticate=self._authenticate, rate_limit=limiter, host=host, port=port)
        self.flavour = flavour
        self.clock = clock or _utc_now
        self.model = JiraModel(flavour, clock=self.clock, base=self._link_base)
        self.model.search_lag = timedelta(seconds=search_lag) if flavour == "cloud" else timedelta(0)
        self.responses = JiraResponses(self.model)
        self.per_issue_writes = per_issue_writes
        self._writes: dict[int, list[datetime]] = {}  # issue id -> times of its recent writes
        self.rate_limit_html = rate_limit_html
        self.workflow = workflow or default_workflow()
        self.errors: list[str] = []  # sandbox bugs answered as 500: tests may assert it stays empty
        self.bot = self.model.add_user("Escalator Bot", email, token=token, time_zone=time_zone)
        if bot is not None:
            self.model.profiles[self.bot] = bot
        if seed:
            self.model.seed_site(lead=self.bot, workflow=self.workflow, statuses=statuses or {})
        for method, pattern, handler in url_paths(flavour):
            self.route(method, pattern)(self._bind(handler))

    def stop(self) -> None:
        self.model.webhooks.courier.stop()  # no delivery outlives the sandbox
        super().stop()

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
        return unauthorized(self.flavour)

    def not_found(self, req: Request, *, method_not_allowed: bool) -> Response:
        return no_route(self._link_base(), req.path, method_not_allowed=method_not_allowed)

    def _bind(self, fn: Handler) -> Callable[[Request], Any]:
        """A route handler: the caller (authenticated by the base) and the responses object."""

        def handler(req: Request) -> Any:
            caller = self._caller(req)
            assert caller is not None  # the base authenticated the call
            try:
                self._count_write(req)
                return fn(self.responses, req, caller)
            except HttpError:
                raise
            except Exception as exc:  # a sandbox bug: answer 500 (not a dropped socket) and keep it
                self.errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
                raise internal_error(exc) from None

        return handler

    # -- rate limits -----------------------------------------------------------------------
    def _count_write(self, req: Request) -> None:
        """Cloud's per-issue write limit: too many writes to one issue in a short window are
        refused with 429, `RateLimit-Reason: jira-per-issue-on-write` and `Retry-After`
        ("Per-issue write limit ... Space out writes to that issue", developer.atlassian.com/
        cloud/jira/platform/build-an-app-that-respects-rate-limits/). A write is any
        non-GET call on a path that names one issue; the window runs on the sandbox clock."""
        limit = self.per_issue_writes
        if limit is None or self.flavour != "cloud" or req.method == "GET" or "issue" not in req.params:
            return
        try:
            issue_id = self.model.issue(req.params["issue"]).id
        except JiraError:
            return  # the handler answers the missing issue
        now = self.clock()
        recent = [t for t in self._writes.get(issue_id, []) if now - t < timedelta(seconds=limit.seconds)]
        if len(recent) >= limit.writes:
            self._writes[issue_id] = recent
            wait = max(1, math.ceil(limit.seconds - (now - recent[0]).total_seconds()))
            reset = now.astimezone(UTC) + timedelta(seconds=wait)
            raise JiraError(429, ["Rate limit exceeded."], headers={
                "Retry-After": str(wait), "RateLimit-Reason": "jira-per-issue-on-write",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ")})
        self._writes[issue_id] = [*recent, now]

    def rate_limited(self, request: Request, wait: float) -> Response:
        seconds = max(1, round(wait + 0.499))
        headers = {"Retry-After": str(seconds), **self._budget_headers()}
        if self.flavour == "cloud":
            # developer.atlassian.com/cloud/jira/platform/rate-limiting: 429 with Retry-After,
            # X-RateLimit-Reset (ISO 8601, yyyy-MM-ddTHH:mmZ) and RateLimit-Reason.
            reset = self.clock().astimezone(UTC) + timedelta(seconds=seconds)
            headers.update({"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                            "RateLimit-Reason": "jira-burst-based"})
        elif self.rate_limit_html:
            # a reverse proxy (or Tomcat's error page) in front of Data Center answers the 429
            # as an HTML page; the rate-limit headers still come from Jira
            return Response(429, RATE_LIMITED_HTML, {**headers, "Content-Type": "text/html;charset=UTF-8"})
        return JiraError(429, ["Rate limit exceeded."], headers=headers).response

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

    # -- seed API ---------------------------------------------------------------------------
    def set_bot_profile(self, profile: BotProfile | None) -> None:
        """Change what the bot may do from now on (None: everything)."""
        with self.lock:
            if profile is None:
                self.model.profiles.pop(self.bot, None)
            else:
                self.model.profiles[self.bot] = profile
            self.model.touch()

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
                    self.model.put_on_project_screens(project.key, fid)
            return fid

    def add_field_to_screen(self, project_key: str, field_id: str) -> None:
        """Put a field on the edit screens of a project's issue types (its first tab)."""
        with self.lock:
            self.model.put_on_project_screens(project_key, field_id)

    def remove_field_from_screen(self, project_key: str, field_id: str) -> None:
        """An admin takes a field off a project's edit screens: writes to it answer 400 from now on."""
        with self.lock:
            self.model.take_off_project_screens(project_key, field_id)

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
            self.model.add_comment(issue, author or self.bot, self.model.text_body(text), internal=internal,
                                   visibility=None, properties=props)

    @property
    def deliveries(self) -> Courier:
        """The webhook calls this Jira makes (`attempts`, `wait_for`), on a thread of their own."""
        return self.model.webhooks.courier

    @property
    def notifications(self) -> list[Notification]:
        with self.lock:
            return list(self.model.notifications)

    def issue(self, key: str) -> Issue:
        """The stored issue (internal form), for assertions."""
        with self.lock:
            return self.model.issue(key)
