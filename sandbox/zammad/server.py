"""`ZammadSandbox`: the sandbox Zammad on the shared loopback server, and its seed API.

A fresh Zammad (system user, states, priorities, group "Users", the welcome ticket)
plus an admin/agent who owns the API token, answering the REST API v1 paths the
escalator uses with the payload shapes of a real Zammad (recorded in
`../shared/reference/zammad_cassettes/`; where those are silent, Zammad's source is
cited where each rule is emulated).

The package is laid out as moto lays out a service: the state is `models.Store` (with
`objects.ObjectManager` and `search.Search`), the REST operations are
`responses.ZammadResponses`, the routing table is `urls.URL_PATHS`, the refusals are
`exceptions`. This module joins them to `sandbox.server.SandboxServer` and offers the
seed API (Python, for tests and the demo; answers are JSON-shaped copies; a refused
value raises `ZammadError`, a ValueError).

429 is Rack::Attack's: text body "Retry later\n" and `Retry-After` in seconds. Webhooks and
the triggers that fire them are `sandbox.zammad.webhooks`; `deliveries` holds every call
they made, on a thread of their own.

Refusals beyond the per-request rules: `bot=BotProfile(...)` (sandbox.zammad.bot) takes
permissions or group access from the token's user; `restart=RestartWindow(...)` answers
5xx for a while after a migration that changed the database, as Zammad restarting does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.deliveries import Courier
from sandbox.server import RateLimiter, Request, Response, SandboxServer
from sandbox.zammad import bot as bots
from sandbox.zammad.bot import BotProfile
from sandbox.zammad.exceptions import no_route, throttled
from sandbox.zammad.models import STATE_TYPES, Store
from sandbox.zammad.responses import Ctx, ZammadResponses
from sandbox.zammad.urls import Permission, url_paths

#: nginx's own 502 page (src/http/ngx_http_special_response.c), what a Zammad behind nginx
#: answers while its application server restarts
NGINX_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
             "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


@dataclass(frozen=True)
class RestartWindow:
    """Zammad restarts after executing migrations that changed the database: with
    APP_RESTART_CMD set, ObjectManager::Attribute.migration_execute queues
    AppVersionRestartJob (app/models/object_manager/attribute.rb); until the application
    server is back, nginx answers 502. The window lasts `seconds` of the sandbox clock or
    the next `requests` calls, whichever is given."""

    seconds: float = 0.0
    requests: int = 0

    def __post_init__(self) -> None:
        if (self.seconds > 0) == (self.requests > 0):
            raise ValueError("RestartWindow: give either seconds or requests (a positive number)")


class ZammadSandbox(SandboxServer):
    """A fresh Zammad plus an admin/agent who owns `token`, on a loopback socket."""

    #: stop() returns within this (tests start and stop many sandboxes)
    poll_interval = 0.05

    def __init__(self, *, token: str = "sandbox-token", clock: Callable[[], datetime] | None = None,
                 rate_limit: float | None = None, demo_ticket: bool = True, notifications: bool = True,
                 admin_login: str = "admin@example.com", admin_firstname: str = "Sandbox",
                 admin_lastname: str = "Admin", bot: BotProfile | None = None,
                 restart: RestartWindow | None = None, host: str = "127.0.0.1", port: int = 0):
        """`bot` limits what the token's user (the admin) may do; `restart` turns on the 5xx
        window after a migration."""
        super().__init__(rate_limit=RateLimiter(rate_limit) if rate_limit else None, host=host, port=port)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = Store(clock=self.clock, notifications=notifications)
        self.responses = ZammadResponses(self.store, clock=self.clock, migrated=self._migrated)
        self.restart = restart
        self._down_until: datetime | None = None
        self._down_requests = 0
        self.bot_profile: BotProfile | None = None
        self.store.seed_system()
        if demo_ticket:
            self.store.seed_demo()
        else:
            # ids as on a fresh system even without the welcome data
            self.store.reserve_id("users", 2)
            self.store.reserve_id("organizations", 1)
        admin = self.store.add_user(login=admin_login, firstname=admin_firstname, lastname=admin_lastname,
                                    email=admin_login, roles=["Admin", "Agent"])
        self.admin_id = admin["id"]
        self.store.tokens[token] = admin["id"]
        if bot is not None:
            self.set_bot_profile(bot)
        for method, path, handler, permission in url_paths():
            self.route(method, path)(self._bind(handler, permission))

    def _bind(self, fn: Callable[[ZammadResponses, Ctx], Any], permission: Permission) -> Callable[[Request], Any]:
        def handler(req: Request) -> Response:
            out = fn(self.responses, self.responses.context(req, permission))
            return out if isinstance(out, Response) else Response(200, out)

        return handler

    def stop(self) -> None:
        self.responses.webhooks.courier.stop()  # no delivery outlives the sandbox
        super().stop()

    @property
    def deliveries(self) -> Courier:
        """The webhook calls this Zammad's triggers make (`attempts`, `wait_for`), on a thread of their own."""
        return self.responses.webhooks.courier

    # -- server hooks ----------------------------------------------------------------------------
    def _migrated(self, db_changes: int) -> None:
        """A config-only migration does not restart (AppVersion 'config_changed')."""
        if self.restart is None or not db_changes:
            return
        if self.restart.seconds:
            self._down_until = self.clock() + timedelta(seconds=self.restart.seconds)
        else:
            self._down_requests = self.restart.requests

    def outage(self, request: Request) -> Response | None:
        if self._down_requests > 0:
            self._down_requests -= 1
        elif self._down_until is not None and self.clock() < self._down_until:
            pass
        else:
            self._down_until = None
            return None
        return Response(502, NGINX_502, {"Content-Type": "text/html", "Server": "nginx"})

    def rate_limited(self, request: Request, wait: float) -> Response:
        return throttled(wait)

    def common_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json; charset=utf-8"}

    def not_found(self, req: Request, *, method_not_allowed: bool) -> Response:
        return no_route(req.method, req.path)

    # -- seed API ----------------------------------------------------------------------------------
    def set_bot_profile(self, profile: BotProfile) -> None:
        """Limit the token's user (the admin) from now on; `profile.groups` names existing groups."""
        with self.lock:
            bots.apply(self.store, self.store.users[self.admin_id], profile)
            self.bot_profile = profile

    def add_token(self, token: str, user: str) -> None:
        """Give `user` (login or e-mail) an API token."""
        with self.lock:
            rec = self.store.user_by(user)
            if rec is None:
                raise KeyError(user)
            self.store.tokens[token] = rec["id"]

    def add_user(self, login: str, *, firstname: str = "", lastname: str = "", email: str | None = None,
                 roles: list[str] | None = None, organization: str | None = None,
                 groups: dict[str, list[str]] | None = None) -> dict:
        """A user; `roles` from Admin/Agent/Customer; agents get full access to every group unless
        `groups` (group name -> access list) says otherwise."""
        with self.lock:
            org_id = None
            if organization:
                org = self.store.by_name("organizations", organization) or self.store.add_organization(organization)
                org_id = org["id"]
            access = None
            if groups is not None:
                access = {self._group(name)["id"]: acc for name, acc in groups.items()}
            user = self.store.add_user(login=login, firstname=firstname, lastname=lastname,
                                       email=email if email is not None else (login if "@" in login else ""),
                                       roles=roles, organization_id=org_id, group_access=access)
            return self.store.user_json(user)

    def add_organization(self, name: str) -> dict:
        with self.lock:
            return self.store.organization_json(self.store.add_organization(name))

    def add_group(self, name: str, *, note: str = "", email: str | None = None) -> dict:
        """A group; existing agents get full access to it (as the admin would grant). With
        `email`, the group sends its agents' e-mail replies from that address."""
        with self.lock:
            group = self.store.add_group(name, note=note)
            if email:
                group["email_address_id"] = self.store.add_email_address(name, email)["id"]
            fixed = self.bot_profile is not None and self.bot_profile.groups is not None
            for user in self.store.users.values():
                if self.store.has_permission(user, "ticket.agent") and not (fixed and user["id"] == self.admin_id):
                    user["group_ids"].setdefault(str(group["id"]), ["full"])
            return self.store.group_json(group)

    def set_group_email(self, name: str, email: str) -> dict:
        """Give an existing group (e.g. the seeded "Users") a sender address."""
        with self.lock:
            group = self._group(name)
            group["email_address_id"] = self.store.add_email_address(name, email)["id"]
            return self.store.group_json(group)

    @property
    def outbox(self) -> list[dict]:
        """The e-mails agents' `email` articles sent, oldest first (copies)."""
        with self.lock:
            return [dict(m) for m in self.store.outbox]

    def add_state(self, name: str, state_type: str, *, ignore_escalation: bool | None = None) -> dict:
        with self.lock:
            type_id = next(i for i, n in STATE_TYPES.items() if n == state_type)
            return dict(self.store.add_state({"name": name, "state_type_id": type_id,
                                              "ignore_escalation": ignore_escalation}, by=1))

    def add_ticket(self, title: str, *, customer: str, group: str = "Users", state: str = "new",
                   priority: str = "2 normal", owner: str | None = None, by: str | None = None,
                   article: dict | None = None, tags: list[str] | None = None, **attributes: Any) -> dict:
        """A ticket as `by` (default: the customer) creates it; `attributes` are custom columns."""
        with self.lock:
            author = self.store.user_by(by or customer)
            if author is None:
                raise KeyError(by or customer)
            params = {"title": title, "customer": customer, "group": group, "state": state, "priority": priority,
                      **attributes}
            if owner:
                params["owner"] = owner
            ticket = self.store.create_ticket(params, article=article, by=author["id"], tags=tags)
            self.store.notify(ticket, "create", by=author["id"])
            return self.store.ticket_json(ticket, ids=True)

    def add_article(self, ticket_id: int, body: str, *, by: str, internal: bool = False, type: str = "note",
                    subject: str | None = None, content_type: str = "text/plain") -> dict:
        with self.lock:
            author = self.store.user_by(by)
            if author is None:
                raise KeyError(by)
            ticket = self.store.tickets[ticket_id]
            article = self.store.create_article(ticket, {"body": body, "internal": internal, "type": type,
                                                         "subject": subject, "content_type": content_type},
                                                by=author["id"])
            self.store.notify(ticket, "update", by=author["id"])
            return self.store.article_json(article)

    def update_ticket(self, ticket_id: int, *, by: str, **params: Any) -> dict:
        """Change a ticket as a person would in the UI (history and updated_at follow)."""
        with self.lock:
            author = self.store.user_by(by)
            if author is None:
                raise KeyError(by)
            ticket = self.store.tickets[ticket_id]
            if self.store.update_ticket(ticket, params, by=author["id"]):
                self.store.notify(ticket, "update", by=author["id"])
            return self.store.ticket_json(ticket, ids=True)

    def execute_migrations(self) -> None:
        """What `POST /object_manager_attributes_execute_migrations` does."""
        with self.lock:
            self.responses.objects.execute_migrations()

    def ticket(self, ticket_id: int) -> dict:
        """The stored ticket as GET /tickets/:id with its association ids (a copy)."""
        with self.lock:
            return self.store.ticket_json(self.store.tickets[ticket_id], ids=True)

    def history(self, ticket_id: int) -> list[dict]:
        with self.lock:
            return self.store.history_of(ticket_id)

    def _group(self, name: str) -> dict:
        group = self.store.by_name("groups", name)
        if group is None:
            raise KeyError(name)
        return group
