"""A stateful sandbox Zammad over loopback HTTP, for the connector's end-to-end tests and the demo.

It answers the REST API v1 paths the escalator uses with the payload shapes of a real
Zammad (recorded in `../shared/reference/zammad_cassettes/`; where those are silent,
Zammad's controllers are cited per endpoint: app/controllers/*_controller.rb in
zammad/zammad). Records live in `plugin/sandbox/zammad_store.py`, search in
`plugin/sandbox/zammad_search.py`, the object manager in `plugin/sandbox/zammad_objects.py`.

Behaviour worth knowing when writing a client against it (all as the real server):
- Auth: `Authorization: Token token=…` or `Bearer …`; a wrong token is 401 with
  `{"error": "Can't find User for Token"}` (a wrong OAuth2 bearer: "The provided token is
  invalid."), no credentials at all is 403 "Authentication required"
  (application_controller/authenticates.rb; HTTP basic auth is not emulated).
  `From: <id|login|email>` acts on behalf of another user when the token's user has
  `admin.user` (has_user.rb), else 403.
- The history (`GET /ticket_history/:id`) lists entries as History.list builds them:
  `type` (created, updated, added, removed), `object` (Ticket, Ticket::Article, Mention),
  `attribute` (state, priority, group, owner, title, tag, custom names…), `value_from`/
  `value_to` (names, not ids), `id_from`/`id_to` for `_id` attributes, `created_by_id`.
- Errors are `{"error": …, "error_human": …}`; a missing record is 404, a refused value 422.
- PUT /tickets ignores attributes that are not columns — including an object-manager
  attribute before `object_manager_attributes_execute_migrations` ran (param_cleanup).
- Any state may be set: Zammad has no workflow. Every attribute change, tag, article and
  mention writes a history entry; each touches the ticket's `updated_at`. Requests that
  create or change a ticket also leave `notification` entries for the agents told
  (`notifications=False` turns them off).
- `POST /mentions` mentions the *current* user and answers `true` (mentions_controller.rb
  ignores a `user_id`): to mention someone else, send it with `From: <that user>`.
- 429 is Rack::Attack's: text body "Retry later\n" and `Retry-After` in seconds.
- An agent's `email` article is sent at once (Zammad does it in a background job) from
  its group's address (`add_group(email=…)`, `set_group_email`): the mail lands in
  `outbox` and the history gets an `email` entry naming the recipients. A group
  without an address refuses it with a 500, as Zammad's RuntimeError does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.server import Fault, HttpError, RateLimiter, Request, Response, SandboxServer
from sandbox.zammad.objects import ObjectManager
from sandbox.zammad.search import Search
from sandbox.zammad.store import (
    GROUP_WRITABLE,
    LINK_TYPES,
    OBJECT_LOOKUP,
    ROLES,
    STATE_TYPES,
    USER_WRITABLE,
    ApiError,
    Store,
)

__all__ = ["ZammadSandbox", "Fault"]

API = "/api/v1"



@dataclass
class Ctx:
    """One authenticated request."""

    user: dict  # the effective user (the `From` user when acting on behalf)
    real: dict  # the token's user
    params: dict
    request: Request


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _rails_params(query: dict[str, list[str]]) -> dict:
    """Rails' nested query parameters: `condition[ticket.state_id][value][]=1` -> nested dicts/lists."""
    out: dict[str, Any] = {}
    for key, values in query.items():
        parts = re.findall(r"\[([^\]]*)\]", key)
        base = key.split("[", 1)[0]
        if not parts:
            out[key] = values[-1]
            continue
        node = out
        path = [base, *parts]
        for i, part in enumerate(path):
            last = i == len(path) - 1
            nxt_list = not last and path[i + 1] == ""
            if last:
                if part == "":
                    continue
                node[part] = values[-1]
            elif nxt_list and i + 1 == len(path) - 1:
                node[part] = list(values)
                break
            else:
                node = node.setdefault(part, {})
    return out


class ZammadSandbox(ObjectManager, SandboxServer):
    """A fresh Zammad (system user, states, priorities, group "Users", the welcome ticket)
    plus an admin/agent who owns `token`."""

    #: stop() returns within this (tests start and stop many sandboxes)
    poll_interval = 0.05

    def __init__(self, *, token: str = "sandbox-token", clock: Callable[[], datetime] | None = None,
                 rate_limit: float | None = None, demo_ticket: bool = True, notifications: bool = True,
                 admin_login: str = "admin@example.com", admin_firstname: str = "Sandbox",
                 admin_lastname: str = "Admin", host: str = "127.0.0.1", port: int = 0):
        super().__init__(rate_limit=RateLimiter(rate_limit) if rate_limit else None, host=host, port=port)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = Store(clock=self.clock, notifications=notifications)
        self.search = Search(self.store)
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
        self._routes()

    # -- seed API (Python, for tests and the demo; answers are JSON-shaped copies; a refused
    #    value raises ApiError, a ValueError) ----------------------------------------------------
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
            for user in self.store.users.values():
                if 2 in user["role_ids"]:
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
            return dict(self._create_state({"name": name, "state_type_id": type_id,
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

    # -- server hooks ----------------------------------------------------------------------------
    def rate_limited(self, request: Request, wait: float) -> Response:
        # Rack::Attack's default throttled responder with `throttled_response_retry_after_header`
        return Response(429, "Retry later\n", {"Retry-After": str(max(1, round(wait + 0.4999))),
                                               "Content-Type": "text/plain"})

    def common_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json; charset=utf-8"}

    def not_found(self, req: Request, *, method_not_allowed: bool) -> Response:
        # Rails answers an unknown route with 404 and this body (errors_controller#routing)
        msg = f"No route matches [{req.method}] {req.path}"
        return Response(404, {"error": msg, "error_human": msg})

    # -- plumbing ------------------------------------------------------------------------------------
    def _authenticate(self, req: Request) -> tuple[dict, dict]:
        header = req.headers.get("authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        scheme = scheme.lower()
        if scheme not in ("token", "bearer") or not rest.strip():
            raise ApiError(403, "Authentication required")
        token = rest.strip()
        if scheme == "token":
            token = re.sub(r"^token=", "", token).strip('"')
        uid = self.store.tokens.get(token)
        if uid is None or uid not in self.store.users:
            # Rails parses both schemes as an API token first; a bearer that is no token
            # is then tried as an OAuth2 access token.
            raise ApiError(401, "Can't find User for Token" if scheme == "token"
                           else "The provided token is invalid.")
        real = self.store.users[uid]
        if not real["active"]:
            raise ApiError(401, "Login failed. Have you double-checked your credentials and completed "
                                "the email verification step?")
        on_behalf = req.headers.get("from") or req.headers.get("x-on-behalf-of")
        if not on_behalf:
            return real, real
        if not self.store.has_permission(real, "admin.user"):
            raise ApiError(403, "Current user has no permission to use 'From'/'X-On-Behalf-Of'!")
        user = self.store.user_by(on_behalf)
        if user is None:
            raise ApiError(403, f"No such user '{on_behalf}'")
        return user, real

    def _api(self, method: str, path: str, *, permission: str | tuple[str, ...] | None = None):
        """Register an authenticated API route; handlers get a Ctx and may raise ApiError."""

        def deco(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
            def handler(req: Request) -> Response:
                try:
                    user, real = self._authenticate(req)
                    if permission:
                        wanted = (permission,) if isinstance(permission, str) else permission
                        if not any(self.store.has_permission(user, p) for p in wanted):
                            raise ApiError(403, "Not authorized")
                    params = _rails_params(req.query)
                    try:
                        body = req.json()
                    except ValueError:
                        raise ApiError(400, "The request body is not valid JSON") from None
                    if isinstance(body, dict):
                        params.update(body)
                    params.update(req.params)
                    out = fn(Ctx(user, real, params, req))
                except ApiError as err:
                    headers = {"X-Failure": err.message} if err.status in (401, 403) else {}
                    raise HttpError(err.status, {"error": err.message, "error_human": err.message},
                                    headers) from None
                return out if isinstance(out, Response) else Response(200, out)

            self.route(method, f"{API}{path}")(handler)
            return fn

        return deco

    @staticmethod
    def _page(params: dict, *, max_per_page: int, default: int | None = None) -> tuple[int, int]:
        """CanPaginate: `page` from 1, `per_page` capped at the endpoint's max."""
        try:
            page = max(int(params.get("page") or 1), 1)
            per_page = int(params.get("per_page") or params.get("limit") or default or max_per_page)
        except (TypeError, ValueError):
            raise ApiError(422, "page and per_page must be numbers") from None
        per_page = min(max(per_page, 1), max_per_page)
        return (page - 1) * per_page, per_page

    def _find(self, table: str, rid: Any, model: str) -> dict:
        try:
            key = int(rid)
        except (TypeError, ValueError):
            key = None
        rec = getattr(self.store, table).get(key) if key is not None else None
        if rec is None:
            raise ApiError(404, f"Couldn't find {model} with 'id'={rid}")
        return rec

    # -- ticket access (Ticket.access_condition: agents by group, customers their own tickets and,
    #    when the organisation is shared, its tickets) ---------------------------------------------
    def _can_see(self, user: dict, ticket: dict) -> bool:
        if self.store.has_permission(user, "ticket.agent") and str(ticket["group_id"]) in user["group_ids"]:
            return True
        if ticket["customer_id"] == user["id"]:
            return True
        org = self.store.organizations.get(user["organization_id"]) if user["organization_id"] else None
        return bool(org and org["shared"] and self.store.has_permission(user, "ticket.customer")
                    and ticket["organization_id"] == org["id"])

    def _ticket(self, ctx: Ctx, tid: Any) -> dict:
        ticket = self._find("tickets", tid, "Ticket")
        if not self._can_see(ctx.user, ticket):
            raise ApiError(403, "Not authorized")
        return ticket

    def _create_state(self, params: dict, *, by: int) -> dict:
        store = self.store
        name = params.get("name")
        if not name:
            raise ApiError(422, "Name can't be blank")
        if store.by_name("states", name):
            raise ApiError(422, "Name has already been taken")
        try:
            type_id = int(params.get("state_type_id"))
        except (TypeError, ValueError):
            type_id = None
        if type_id not in STATE_TYPES:
            raise ApiError(422, "State type must exist")
        sid = store.next_id("states")
        stamp = store.now()
        ignore = params.get("ignore_escalation")
        rec = {"id": sid, "state_type_id": type_id, "name": name, "next_state_id": params.get("next_state_id"),
               "ignore_escalation": bool(ignore) if ignore is not None else False,
               "default_create": bool(params.get("default_create", False)),
               "default_follow_up": bool(params.get("default_follow_up", False)), "note": params.get("note"),
               "active": bool(params.get("active", True)), "updated_by_id": by, "created_by_id": by,
               "created_at": stamp, "updated_at": stamp}
        store.states[sid] = rec
        return rec

    # -- routes ----------------------------------------------------------------------------------------
    def _routes(self) -> None:
        store = self.store
        api = self._api

        # users (users_controller.rb)
        @api("GET", "/users/me")
        def me(ctx: Ctx) -> Any:
            return store.user_json(ctx.user, expand=_truthy(ctx.params.get("expand")))

        @api("GET", "/users", permission=("admin.user", "ticket.agent"))
        def users(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=500)
            expand = _truthy(ctx.params.get("expand"))
            page = sorted(store.users)[offset:offset + limit]
            return [store.user_json(store.users[u], expand=expand) for u in page]

        @api("GET", "/users/search", permission=("admin.user", "ticket.agent"))
        def users_search(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=500, default=100)
            term = str(ctx.params.get("query") or "").strip("* ").lower()
            hits = [u for u in (store.users[i] for i in sorted(store.users)) if u["id"] != 1 and (
                not term or any(term in str(u[k] or "").lower() for k in ("login", "firstname", "lastname",
                                                                           "email")))]
            hits = hits[offset:offset + limit]
            if _truthy(ctx.params.get("expand")):
                return [store.user_json(u, expand=True) for u in hits]
            return {"user_ids": [u["id"] for u in hits],
                    "assets": {"User": {str(u["id"]): store.user_json(u) for u in hits}}}

        @api("GET", r"/users/(?P<id>\d+)")
        def user_show(ctx: Ctx) -> Any:
            user = self._find("users", ctx.params["id"], "User")
            if user["id"] != ctx.user["id"] and not (store.has_permission(ctx.user, "admin.user")
                                                     or store.has_permission(ctx.user, "ticket.agent")):
                raise ApiError(403, "Not authorized")
            return store.user_json(user, expand=_truthy(ctx.params.get("expand")))

        def _user_values(params: dict) -> dict:
            values = {k: v for k, v in params.items() if k in USER_WRITABLE}
            if params.get("organization"):
                org = store.by_name("organizations", params["organization"])
                if org is None:
                    raise ApiError(422, f"No lookup value found for 'organization': {params['organization']!r}")
                values["organization_id"] = org["id"]
            return values

        @api("POST", "/users", permission=("admin.user", "ticket.agent"))
        def user_create(ctx: Ctx) -> Any:
            p = ctx.params
            roles = p.get("roles")
            if roles is None and p.get("role_ids"):
                roles = [ROLES[int(r)] for r in p["role_ids"] if int(r) in ROLES]
            values = _user_values(p)
            user = store.add_user(login=p.get("login"), firstname=p.get("firstname") or "",
                                  lastname=p.get("lastname") or "", email=p.get("email") or "", roles=roles,
                                  organization_id=values.get("organization_id"), by=ctx.user["id"])
            user["department"] = None
            return Response(201, store.user_json(user))

        @api("PUT", r"/users/(?P<id>\d+)", permission=("admin.user", "ticket.agent"))
        def user_update(ctx: Ctx) -> Any:
            user = self._find("users", ctx.params["id"], "User")
            values = _user_values(ctx.params)
            if not values.get("login"):
                values.pop("login", None)
            if values.get("organization_id") is not None and values["organization_id"] not in store.organizations:
                raise ApiError(422, f"No value found for 'organization' with id {values['organization_id']}")
            user.update(values)
            user["updated_at"] = store.now()
            user["updated_by_id"] = ctx.user["id"]
            return store.user_json(user)

        @api("DELETE", r"/users/(?P<id>\d+)", permission="admin.user")
        def user_delete(ctx: Ctx) -> Any:
            user = self._find("users", ctx.params["id"], "User")
            if any(user["id"] in (t["customer_id"], t["owner_id"]) for t in store.tickets.values()):
                raise ApiError(422, "Can't delete, object has references.")
            del store.users[user["id"]]
            for token in [k for k, v in store.tokens.items() if v == user["id"]]:
                del store.tokens[token]
            return {}

        # organizations (organizations_controller.rb)
        @api("GET", "/organizations")
        def organizations(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=500)
            expand = _truthy(ctx.params.get("expand"))
            ids = sorted(store.organizations)
            if not store.has_permission(ctx.user, "ticket.agent") and not store.has_permission(ctx.user, "admin"):
                ids = [i for i in ids if i == ctx.user["organization_id"]]
            return [store.organization_json(store.organizations[i], expand=expand) for i in ids[offset:offset + limit]]

        @api("GET", r"/organizations/(?P<id>\d+)")
        def organization_show(ctx: Ctx) -> Any:
            org = self._find("organizations", ctx.params["id"], "Organization")
            return store.organization_json(org, expand=_truthy(ctx.params.get("expand")))

        @api("POST", "/organizations", permission=("admin.organization", "ticket.agent"))
        def organization_create(ctx: Ctx) -> Any:
            if not ctx.params.get("name"):
                raise ApiError(422, "Name can't be blank")
            org = store.add_organization(ctx.params["name"], by=ctx.user["id"], note=ctx.params.get("note") or "")
            return Response(201, store.organization_json(org))

        # groups (groups_controller.rb)
        @api("GET", "/groups")
        def groups(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=500)
            expand = _truthy(ctx.params.get("expand"))
            return [store.group_json(store.groups[g], expand=expand) for g in sorted(store.groups)[offset:offset + limit]]

        @api("GET", r"/groups/(?P<id>\d+)")
        def group_show(ctx: Ctx) -> Any:
            return store.group_json(self._find("groups", ctx.params["id"], "Group"),
                                    expand=_truthy(ctx.params.get("expand")))

        @api("POST", "/groups", permission="admin.group")
        def group_create(ctx: Ctx) -> Any:
            if not ctx.params.get("name"):
                raise ApiError(422, "Name can't be blank")
            group = store.add_group(ctx.params["name"], note=ctx.params.get("note") or "", by=ctx.user["id"])
            for key in GROUP_WRITABLE - {"name", "note"}:
                if key in ctx.params:
                    group[key] = ctx.params[key]
            return Response(201, store.group_json(group))

        @api("PUT", r"/groups/(?P<id>\d+)", permission="admin.group")
        def group_update(ctx: Ctx) -> Any:
            group = self._find("groups", ctx.params["id"], "Group")
            for key in GROUP_WRITABLE:
                if key in ctx.params:
                    group[key] = ctx.params[key]
            group["name_last"] = group["name"]
            group["updated_at"] = store.now()
            group["updated_by_id"] = ctx.user["id"]
            return store.group_json(group)

        @api("DELETE", r"/groups/(?P<id>\d+)", permission="admin.group")
        def group_delete(ctx: Ctx) -> Any:
            group = self._find("groups", ctx.params["id"], "Group")
            if any(t["group_id"] == group["id"] for t in store.tickets.values()):
                raise ApiError(422, "Can't delete, object has references.")
            del store.groups[group["id"]]
            for user in store.users.values():
                user["group_ids"].pop(str(group["id"]), None)
            return {}

        # ticket states and priorities (ticket_states_controller.rb, ticket_priorities_controller.rb).
        # Zammad has no ticket_state_types endpoint: `expand=true` names each state's type.
        @api("GET", "/ticket_states")
        def states(ctx: Ctx) -> Any:
            expand = _truthy(ctx.params.get("expand"))
            return [store.state_json(store.states[s], expand=expand) for s in sorted(store.states)]

        @api("GET", r"/ticket_states/(?P<id>\d+)")
        def state_show(ctx: Ctx) -> Any:
            return store.state_json(self._find("states", ctx.params["id"], "Ticket::State"),
                                    expand=_truthy(ctx.params.get("expand")))

        @api("POST", "/ticket_states", permission="admin.object")
        def state_create(ctx: Ctx) -> Any:
            return Response(201, store.state_json(self._create_state(ctx.params, by=ctx.user["id"])))

        @api("PUT", r"/ticket_states/(?P<id>\d+)", permission="admin.object")
        def state_update(ctx: Ctx) -> Any:
            state = self._find("states", ctx.params["id"], "Ticket::State")
            for key in ("name", "state_type_id", "next_state_id", "ignore_escalation", "default_create",
                        "default_follow_up", "note", "active"):
                if key in ctx.params:
                    state[key] = ctx.params[key]
            if state["state_type_id"] not in STATE_TYPES:
                raise ApiError(422, "State type must exist")
            state["updated_at"] = store.now()
            state["updated_by_id"] = ctx.user["id"]
            return store.state_json(state)

        @api("GET", "/ticket_priorities")
        def priorities(ctx: Ctx) -> Any:
            expand = _truthy(ctx.params.get("expand"))
            return [store.priority_json(store.priorities[p], expand=expand) for p in sorted(store.priorities)]

        @api("POST", "/ticket_priorities", permission="admin.object")
        def priority_create(ctx: Ctx) -> Any:
            name = ctx.params.get("name")
            if not name:
                raise ApiError(422, "Name can't be blank")
            if store.by_name("priorities", name):
                raise ApiError(422, "Name has already been taken")
            pid = store.next_id("priorities")
            stamp = store.now()
            rec = {"id": pid, "name": name, "default_create": bool(ctx.params.get("default_create", False)),
                   "ui_icon": ctx.params.get("ui_icon"), "ui_color": ctx.params.get("ui_color"),
                   "note": ctx.params.get("note"), "active": bool(ctx.params.get("active", True)),
                   "updated_by_id": ctx.user["id"], "created_by_id": ctx.user["id"], "created_at": stamp,
                   "updated_at": stamp}
            store.priorities[pid] = rec
            return Response(201, store.priority_json(rec))

        @api("PUT", r"/ticket_priorities/(?P<id>\d+)", permission="admin.object")
        def priority_update(ctx: Ctx) -> Any:
            rec = self._find("priorities", ctx.params["id"], "Ticket::Priority")
            for key in ("name", "default_create", "ui_icon", "ui_color", "note", "active"):
                if key in ctx.params:
                    rec[key] = ctx.params[key]
            rec["updated_at"] = store.now()
            rec["updated_by_id"] = ctx.user["id"]
            return store.priority_json(rec)

        @api("GET", r"/ticket_priorities/(?P<id>\d+)")
        def priority_show(ctx: Ctx) -> Any:
            return store.priority_json(self._find("priorities", ctx.params["id"], "Ticket::Priority"),
                                       expand=_truthy(ctx.params.get("expand")))

        # tickets (tickets_controller.rb)
        @api("GET", "/tickets")
        def tickets(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=100)
            expand = _truthy(ctx.params.get("expand"))
            visible = [t for t in (store.tickets[i] for i in sorted(store.tickets)) if self._can_see(ctx.user, t)]
            return [store.ticket_json(t, expand=expand) for t in visible[offset:offset + limit]]

        def _search(ctx: Ctx) -> Any:
            offset, limit = self._page(ctx.params, max_per_page=200, default=50)
            found = self.search.run(visible=lambda t: self._can_see(ctx.user, t), query=ctx.params.get("query"),
                                    condition=ctx.params.get("condition"), sort_by=ctx.params.get("sort_by"),
                                    order_by=ctx.params.get("order_by"), offset=offset, limit=limit,
                                    now=self.clock())
            if _truthy(ctx.params.get("expand")):
                return [store.ticket_json(t, expand=True) for t in found]
            # `tickets_count` is the size of this page, as the controller counts it
            return {"tickets": [t["id"] for t in found], "tickets_count": len(found),
                    "assets": store.ticket_assets(found)}

        api("GET", "/tickets/search")(_search)
        api("POST", "/tickets/search")(_search)

        @api("GET", r"/tickets/(?P<id>\d+)")
        def ticket_show(ctx: Ctx) -> Any:
            ticket = self._ticket(ctx, ctx.params["id"])
            if _truthy(ctx.params.get("expand")):
                return store.ticket_json(ticket, expand=True)
            return store.ticket_json(ticket)

        def _ticket_params(ctx: Ctx) -> dict:
            params = {k: v for k, v in ctx.params.items() if k not in ("article", "id", "expand", "tags", "number")}
            if not store.has_permission(ctx.user, "ticket.agent"):
                for key in ("owner", "owner_id", "customer", "customer_id", "organization", "organization_id",
                            "preferences"):
                    params.pop(key, None)
            return params

        @api("POST", "/tickets", permission=("ticket.agent", "ticket.customer"))
        def ticket_create(ctx: Ctx) -> Any:
            params = _ticket_params(ctx)
            if not store.has_permission(ctx.user, "ticket.agent"):
                params["customer_id"] = ctx.user["id"]
            elif str(params.get("customer_id", "")).startswith("guess:"):
                email = str(params.pop("customer_id"))[len("guess:"):]
                found = store.user_by(email) or store.add_user(email=email, by=ctx.user["id"])
                params["customer_id"] = found["id"]
            tags = [t for t in str(ctx.params.get("tags") or "").split(",") if t.strip()]
            article = ctx.params.get("article") if isinstance(ctx.params.get("article"), dict) else None
            ticket = store.create_ticket(params, article=article, by=ctx.user["id"], tags=tags)
            store.notify(ticket, "create", by=ctx.user["id"])
            if _truthy(ctx.params.get("expand")):
                return Response(201, store.ticket_json(ticket, expand=True))
            return Response(201, store.ticket_json(ticket, ids=True))

        @api("PUT", r"/tickets/(?P<id>\d+)", permission=("ticket.agent", "ticket.customer"))
        def ticket_update(ctx: Ctx) -> Any:
            ticket = self._ticket(ctx, ctx.params["id"])
            changed = store.update_ticket(ticket, _ticket_params(ctx), by=ctx.user["id"])
            if isinstance(ctx.params.get("article"), dict) and ctx.params["article"]:
                store.create_article(ticket, ctx.params["article"], by=ctx.user["id"])
                changed = True
            if changed:
                store.notify(ticket, "update", by=ctx.user["id"])
            if _truthy(ctx.params.get("expand")):
                return store.ticket_json(ticket, expand=True)
            return store.ticket_json(ticket, ids=True)

        @api("DELETE", r"/tickets/(?P<id>\d+)", permission="admin")
        def ticket_delete(ctx: Ctx) -> Any:
            store.delete_ticket(self._find("tickets", ctx.params["id"], "Ticket"))
            return Response(200, b"", {"Content-Type": "text/html"})  # `head :ok`

        @api("GET", r"/ticket_history/(?P<id>\d+)")
        def ticket_history(ctx: Ctx) -> Any:
            ticket = self._ticket(ctx, ctx.params["id"])
            history = store.history_of(ticket["id"])
            assets = store.ticket_assets([ticket])
            # history_get(true): the assets of every record an entry names
            for entry in history:
                uid = entry["created_by_id"]
                if uid in store.users:
                    assets.setdefault("User", {})[str(uid)] = store.user_json(store.users[uid])
                if entry["object"] == "Ticket::Article" and entry["o_id"] in store.articles:
                    assets.setdefault("TicketArticle", {})[str(entry["o_id"])] = \
                        store.article_json(store.articles[entry["o_id"]])
            return {"history": history, "assets": assets}

        # articles (ticket_articles_controller.rb)
        def _visible_article(ctx: Ctx, article: dict) -> bool:
            return not article["internal"] or store.has_permission(ctx.user, "ticket.agent")

        @api("GET", r"/ticket_articles/by_ticket/(?P<id>\d+)")
        def articles_by_ticket(ctx: Ctx) -> Any:
            ticket = self._ticket(ctx, ctx.params["id"])
            return [store.article_json(store.articles[a]) for a in ticket["article_ids"]
                    if _visible_article(ctx, store.articles[a])]

        @api("GET", r"/ticket_articles/(?P<id>\d+)")
        def article_show(ctx: Ctx) -> Any:
            article = self._find("articles", ctx.params["id"], "Ticket::Article")
            self._ticket(ctx, article["ticket_id"])
            if not _visible_article(ctx, article):
                raise ApiError(403, "Not authorized")
            return store.article_json(article)

        @api("POST", "/ticket_articles", permission=("ticket.agent", "ticket.customer"))
        def article_create(ctx: Ctx) -> Any:
            if not ctx.params.get("ticket_id"):
                raise ApiError(404, "Couldn't find Ticket without an ID")
            ticket = self._ticket(ctx, ctx.params["ticket_id"])
            article = store.create_article(ticket, ctx.params, by=ctx.user["id"])
            store.notify(ticket, "update", by=ctx.user["id"])
            return Response(201, store.article_json(article))

        # tags (tags_controller.rb; history via Tag::WritesToTicketHistory)
        def _tag_target(ctx: Ctx) -> dict:
            if ctx.params.get("object") != "Ticket":
                raise ApiError(422, f"Invalid object {ctx.params.get('object')!r} (the sandbox tags tickets)")
            return self._ticket(ctx, ctx.params.get("o_id"))

        @api("GET", "/tags")
        def tags(ctx: Ctx) -> Any:
            ticket = _tag_target(ctx)
            return {"tags": list(store.tags.get(ticket["id"], []))}

        @api("POST", "/tags/add", permission=("ticket.agent", "admin.tag"))
        def tag_add(ctx: Ctx) -> Any:
            ticket = _tag_target(ctx)
            if not str(ctx.params.get("item") or "").strip():
                raise ApiError(422, "Need item")
            store.tag_add(ticket, str(ctx.params["item"]), by=ctx.user["id"])
            return Response(201, True)

        # the docs show 201 for a removal; the controller renders plain `json: success` (200)
        @api("DELETE", "/tags/remove", permission=("ticket.agent", "admin.tag"))
        def tag_remove(ctx: Ctx) -> Any:
            ticket = _tag_target(ctx)
            store.tag_remove(ticket, str(ctx.params.get("item") or ""), by=ctx.user["id"])
            return True

        # links (links_controller.rb, app/models/link.rb)
        @api("GET", "/links")
        def links(ctx: Ctx) -> Any:
            if ctx.params.get("link_object") != "Ticket":
                raise ApiError(422, "Invalid link_object (the sandbox links tickets)")
            ticket = self._ticket(ctx, ctx.params.get("link_object_value"))
            found = self._links_of("Ticket", ticket["id"])
            linked = [store.tickets[lk["link_object_value"]] for lk in found
                      if lk["link_object_value"] in store.tickets]
            return {"links": found, "assets": store.ticket_assets(linked)}

        @api("POST", "/links/add", permission="ticket.agent")
        def link_add(ctx: Ctx) -> Any:
            p = ctx.params
            source = next((t for t in store.tickets.values()
                           if t["number"] == str(p.get("link_object_source_number"))), None) \
                if p.get("link_object_source") == "Ticket" else None
            if source is None:
                raise ApiError(422, "No such object!")
            link_type = p.get("link_type") or "normal"
            if link_type not in LINK_TYPES.values() or p.get("link_object_target") != "Ticket":
                raise ApiError(422, f"Invalid link_type {link_type!r} or link_object_target")
            target = self._ticket(ctx, p.get("link_object_target_value"))
            self._ticket(ctx, source["id"])
            return Response(201, self._link_add(link_type, source, target, by=ctx.user["id"]))

        @api("DELETE", "/links/remove", permission="ticket.agent")
        def link_remove(ctx: Ctx) -> Any:
            p = ctx.params
            try:
                src, dst = int(p.get("link_object_source_value")), int(p.get("link_object_target_value"))
            except (TypeError, ValueError):
                raise ApiError(422, "link_object_source_value and link_object_target_value are needed") from None
            type_id = next((i for i, n in LINK_TYPES.items() if n == (p.get("link_type") or "normal")), None)
            gone = [lk for lk in store.links.values() if lk["link_type_id"] == type_id and (
                (lk["link_object_source_value"], lk["link_object_target_value"]) in ((src, dst), (dst, src)))]
            for lk in gone:
                del store.links[lk["id"]]
                for tid in (src, dst):
                    if tid in store.tickets:
                        store.touch(store.tickets[tid], ctx.user["id"])
            return Response(201, True)

        # mentions (mentions_controller.rb: the current user is the one mentioned)
        @api("GET", "/mentions")
        def mentions(ctx: Ctx) -> Any:
            p = ctx.params
            found = list(store.mentions.values())
            if p.get("mentionable_type"):
                if p["mentionable_type"] != "Ticket":
                    raise ApiError(422, "The parameter 'mentionable_type' is invalid.")
                if p.get("mentionable_id"):
                    ticket = self._ticket(ctx, p["mentionable_id"])
                    found = [m for m in found if m["mentionable_id"] == ticket["id"]]
            if p.get("user_id"):
                user = self._find("users", p["user_id"], "User")
                found = [m for m in found if m["user_id"] == user["id"]]
            if p.get("id"):
                found = [m for m in found if str(m["id"]) == str(p["id"])]
            found.sort(key=lambda m: (m["created_at"], m["id"]), reverse=True)
            return {"mentions": found}

        @api("POST", "/mentions", permission="ticket.agent")
        def mention_create(ctx: Ctx) -> Any:
            # "The mention will be created for the user of the current session" and the answer
            # is `true` (201); mentioning again is a no-op (Mention.subscribe!).
            # https://docs.zammad.org/en/latest/api/ticket/mentions.html
            p = ctx.params
            if p.get("mentionable_type") != "Ticket":
                raise ApiError(422, "The parameter 'mentionable_type' is invalid.")
            ticket = self._ticket(ctx, p.get("mentionable_id"))
            user = ctx.user
            if any(m["mentionable_id"] == ticket["id"] and m["user_id"] == user["id"]
                   for m in store.mentions.values()):
                return Response(201, True)
            store.touch(ticket, user["id"])  # Mention#update_mentionable
            mid = store.next_id("mentions")
            stamp = ticket["updated_at"]
            store.mentions[mid] = {"id": mid, "mentionable_type": "Ticket", "mentionable_id": ticket["id"],
                                   "user_id": user["id"], "updated_by_id": user["id"], "created_by_id": user["id"],
                                   "created_at": stamp, "updated_at": stamp}
            # Mention#history_log_attributes: related to the ticket, value_to the user id
            store.log(ticket["id"], o_id=mid, type="created", object="Mention", created_by_id=user["id"],
                      created_at=stamp, related_o_id=ticket["id"], related_object="Ticket", value_to=str(user["id"]))
            return Response(201, True)

        @api("DELETE", r"/mentions/(?P<id>\d+)", permission="ticket.agent")
        def mention_delete(ctx: Ctx) -> Any:
            rec = store.mentions.get(int(ctx.params["id"]))
            if rec is None or rec["user_id"] != ctx.user["id"]:
                raise ApiError(404, f"Couldn't find Mention with 'id'={ctx.params['id']}")
            del store.mentions[rec["id"]]
            ticket = store.tickets.get(rec["mentionable_id"])
            if ticket is not None:
                store.touch(ticket, ctx.user["id"])
                store.log(ticket["id"], o_id=rec["id"], type="removed", object="Mention",
                          created_by_id=ctx.user["id"], created_at=ticket["updated_at"], related_o_id=ticket["id"],
                          related_object="Ticket", value_to=str(rec["user_id"]))
            return dict(rec)

        self._object_manager_routes()

    # -- links -------------------------------------------------------------------------------------
    def _links_of(self, obj: str, oid: int) -> list[dict]:
        """Link.list: the other end of each link; parent/child seen from the other side flip."""
        flip = {"parent": "child", "child": "parent", "normal": "normal"}
        out = []
        for lk in sorted(self.store.links.values(), key=lambda x: x["id"]):
            name = LINK_TYPES[lk["link_type_id"]]
            if lk["link_object_source_value"] == oid:
                out.append({"link_type": name, "link_object": obj, "link_object_value": lk["link_object_target_value"]})
            elif lk["link_object_target_value"] == oid:
                out.append({"link_type": flip[name], "link_object": obj,
                            "link_object_value": lk["link_object_source_value"]})
        return out

    def _link_add(self, link_type: str, source: dict, target: dict, *, by: int) -> dict:
        store = self.store
        type_id = next(i for i, n in LINK_TYPES.items() if n == link_type)
        for lk in store.links.values():
            if lk["link_type_id"] == type_id and lk["link_object_source_value"] == source["id"] \
                    and lk["link_object_target_value"] == target["id"]:
                return dict(lk)
        lid = store.next_id("links")
        stamp = store.now()
        rec = {"id": lid, "link_type_id": type_id, "link_object_source_id": OBJECT_LOOKUP["Ticket"],
               "link_object_source_value": source["id"], "link_object_target_id": OBJECT_LOOKUP["Ticket"],
               "link_object_target_value": target["id"], "created_at": stamp, "updated_at": stamp}
        store.links[lid] = rec
        for ticket in (source, target):  # Link touches both ends
            store.touch(ticket, by)
        return dict(rec)
