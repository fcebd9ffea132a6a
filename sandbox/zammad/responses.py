"""The sandbox Zammad's HTTP shaping: one method per REST operation, Zammad's payloads in and out.

`ZammadResponses` authenticates a request (`Authorization: Token token=…` or `Bearer …`,
`From` to act on behalf of another user), reads Rails-style parameters (the JSON body
over the query, `condition[ticket.state_id][value][]=1` nested), checks the route's
permission and calls the operation with a `Ctx`. The state is `sandbox.zammad.models`
(records and history), `sandbox.zammad.objects` (object manager) and
`sandbox.zammad.search`; which path reaches which method, and with which permission, is
the table in `sandbox.zammad.urls`; refusals are `sandbox.zammad.exceptions.ZammadError`.

Behaviour worth knowing when writing a client against it (all as the real server):
- Auth: a wrong token is 401 with `{"error": "Can't find User for Token"}` (a wrong
  OAuth2 bearer: "The provided token is invalid."), no credentials at all is 403
  "Authentication required" (application_controller/authenticates.rb; HTTP basic auth is
  not emulated). `From: <id|login|email>` acts on behalf of another user when the token's
  user has `admin.user` (has_user.rb), else 403.
- The history (`GET /ticket_history/:id`) lists entries as History.list builds them:
  `type` (created, updated, added, removed), `object` (Ticket, Ticket::Article, Mention),
  `attribute` (state, priority, group, owner, title, tag, custom names…), `value_from`/
  `value_to` (names, not ids), `id_from`/`id_to` for `_id` attributes, `created_by_id`.
- Errors are `{"error": …, "error_human": …}`; a missing record is 404, a refused value 422.
- PUT /tickets ignores attributes that are not columns — including an object-manager
  attribute before `object_manager_attributes_execute_migrations` ran (param_cleanup).
- Ticket writes run Core Workflow for their screen (`sandbox.zammad.core_workflow`): a
  pending state needs `pending_time`, the agent's edit screen offers no `new` state (422);
  leaving a pending state clears `pending_time`. Ticket access follows TicketPolicy:
  group access `read` to see, `change` to update, `create` to create or add an article.
- Every attribute change, tag, article and mention writes a history entry; each touches
  the ticket's `updated_at`. Requests that create or change a ticket also leave
  `notification` entries for the agents told.
- `POST /mentions` mentions the *current* user and answers `true` (mentions_controller.rb
  ignores a `user_id`): to mention someone else, send it with `From: <that user>`.
- An agent's `email` article is sent at once (Zammad does it in a background job) from
  its group's address: the mail lands in `outbox` and the history gets an `email` entry
  naming the recipients. A group without an address refuses it with a 500, as Zammad's
  RuntimeError does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.server import Request, Response
from sandbox.zammad import core_workflow
from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.models import (
    GROUP_WRITABLE,
    LINK_TYPES,
    STATE_TYPES,
    USER_WRITABLE,
    Check,
    Store,
)
from sandbox.zammad.objects import ObjectManager
from sandbox.zammad.search import Search
from sandbox.zammad.webhooks import Webhooks

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


class ZammadResponses:
    """The REST operations of one sandbox Zammad, over its store."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime],
                 migrated: Callable[[int], None] = lambda db_changes: None):
        """`migrated(n)` hears of every executed migration and how many attributes changed
        the database (the server's restart window starts there)."""
        self.store = store
        self.clock = clock
        self.migrated = migrated
        self.finder = Search(store)
        self.objects = ObjectManager(store)
        self.webhooks = Webhooks(store)  # webhooks, triggers, their run and delivery
        store.on_transaction = self.webhooks.transaction

    # -- one request ---------------------------------------------------------------------------------
    def context(self, req: Request, permission: str | tuple[str, ...] | None) -> Ctx:
        """Authenticate, check the route's permission, gather the parameters."""
        user, real = self._authenticate(req)
        if permission:
            wanted = (permission,) if isinstance(permission, str) else permission
            if not any(self.store.has_permission(user, p) for p in wanted):
                raise ZammadError(403, "Not authorized")
        params = _rails_params(req.query)
        try:
            body = req.json()
        except ValueError:
            raise ZammadError(400, "The request body is not valid JSON") from None
        if isinstance(body, dict):
            params.update(body)
        params.update(req.params)
        return Ctx(user, real, params, req)

    def _authenticate(self, req: Request) -> tuple[dict, dict]:
        header = req.headers.get("authorization", "").strip()
        scheme, _, rest = header.partition(" ")
        scheme = scheme.lower()
        if scheme not in ("token", "bearer") or not rest.strip():
            raise ZammadError(403, "Authentication required")
        token = rest.strip()
        if scheme == "token":
            token = re.sub(r"^token=", "", token).strip('"')
        uid = self.store.tokens.get(token)
        if uid is None or uid not in self.store.users:
            # Rails parses both schemes as an API token first; a bearer that is no token
            # is then tried as an OAuth2 access token.
            raise ZammadError(401, "Can't find User for Token" if scheme == "token"
                              else "The provided token is invalid.")
        real = self.store.users[uid]
        if not real["active"]:
            raise ZammadError(401, "Login failed. Have you double-checked your credentials and completed "
                              "the email verification step?")
        on_behalf = req.headers.get("from") or req.headers.get("x-on-behalf-of")
        if not on_behalf:
            return real, real
        if not self.store.has_permission(real, "admin.user"):
            raise ZammadError(403, "Current user has no permission to use 'From'/'X-On-Behalf-Of'!")
        user = self.store.user_by(on_behalf)
        if user is None:
            raise ZammadError(403, f"No such user '{on_behalf}'")
        return user, real

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _page(params: dict, *, max_per_page: int, default: int | None = None) -> tuple[int, int]:
        """CanPaginate: `page` from 1, `per_page` capped at the endpoint's max."""
        try:
            page = max(int(params.get("page") or 1), 1)
            per_page = int(params.get("per_page") or params.get("limit") or default or max_per_page)
        except (TypeError, ValueError):
            raise ZammadError(422, "page and per_page must be numbers") from None
        per_page = min(max(per_page, 1), max_per_page)
        return (page - 1) * per_page, per_page

    def _find(self, table: str, rid: Any, model: str) -> dict:
        try:
            key = int(rid)
        except (TypeError, ValueError):
            key = None
        rec = getattr(self.store, table).get(key) if key is not None else None
        if rec is None:
            raise ZammadError(404, f"Couldn't find {model} with 'id'={rid}")
        return rec

    # -- ticket access (app/policies/ticket_policy.rb): an agent by the access its groups grant
    #    (read, create, change, full), a customer to their own tickets and, when the
    #    organisation is shared, its tickets. A refusal is Pundit's 403 "Not authorized". ---------
    def _agent_access(self, user: dict, ticket: dict, access: str) -> bool:
        return self.store.has_permission(user, "ticket.agent") and \
            self.store.group_access(user, ticket["group_id"], access)

    def _customer_access(self, user: dict, ticket: dict) -> bool:
        if not self.store.has_permission(user, "ticket.customer"):
            return False
        if ticket["customer_id"] == user["id"]:
            return True
        org = self.store.organizations.get(user["organization_id"]) if user["organization_id"] else None
        return bool(org and org["shared"] and ticket["organization_id"] == org["id"])

    def _may(self, user: dict, ticket: dict, access: str) -> bool:
        """TicketPolicy: show? is `read`, create? `create`; update? is `change`, where an
        agent's read access wins over a customer's (change_access?)."""
        if access == "change":
            if self._agent_access(user, ticket, "change"):
                return True
            if self._agent_access(user, ticket, "read"):
                return False
            return self._customer_access(user, ticket)
        return self._agent_access(user, ticket, access) or self._customer_access(user, ticket)

    def _can_see(self, user: dict, ticket: dict) -> bool:
        return self._may(user, ticket, "read")

    def _ticket(self, ctx: Ctx, tid: Any, access: str = "read") -> dict:
        ticket = self._find("tickets", tid, "Ticket")
        if not self._can_see(ctx.user, ticket) or (access != "read" and not self._may(ctx.user, ticket, access)):
            raise ZammadError(403, "Not authorized")
        return ticket

    def _workflow(self, ctx: Ctx, screen: str) -> Check:
        """Core Workflow for a write from `screen`, as the acting user (sandbox.zammad.core_workflow)."""
        return lambda record, changed: core_workflow.validate(self.store, record, changed, user=ctx.user,
                                                              screen=screen)

    # -- handlers ------------------------------------------------------------------------------------
    # users (users_controller.rb)
    def me(self, ctx: Ctx) -> Any:
        return self.store.user_json(ctx.user, expand=_truthy(ctx.params.get("expand")))

    def users(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=500)
        expand = _truthy(ctx.params.get("expand"))
        page = sorted(self.store.users)[offset:offset + limit]
        return [self.store.user_json(self.store.users[u], expand=expand) for u in page]

    def users_search(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=500, default=100)
        term = str(ctx.params.get("query") or "").strip("* ").lower()
        hits = [u for u in (self.store.users[i] for i in sorted(self.store.users)) if u["id"] != 1 and (
            not term or any(term in str(u[k] or "").lower() for k in ("login", "firstname", "lastname",
                                                                      "email")))]
        hits = hits[offset:offset + limit]
        if _truthy(ctx.params.get("expand")):
            return [self.store.user_json(u, expand=True) for u in hits]
        return {"user_ids": [u["id"] for u in hits],
                "assets": {"User": {str(u["id"]): self.store.user_json(u) for u in hits}}}

    def user_show(self, ctx: Ctx) -> Any:
        user = self._find("users", ctx.params["id"], "User")
        if user["id"] != ctx.user["id"] and not (self.store.has_permission(ctx.user, "admin.user")
                                                 or self.store.has_permission(ctx.user, "ticket.agent")):
            raise ZammadError(403, "Not authorized")
        return self.store.user_json(user, expand=_truthy(ctx.params.get("expand")))

    def _user_values(self, params: dict) -> dict:
        values = {k: v for k, v in params.items() if k in USER_WRITABLE}
        if params.get("organization"):
            org = self.store.by_name("organizations", params["organization"])
            if org is None:
                raise ZammadError(422, f"No lookup value found for 'organization': {params['organization']!r}")
            values["organization_id"] = org["id"]
        return values

    def user_create(self, ctx: Ctx) -> Any:
        p = ctx.params
        roles = p.get("roles")
        if roles is None and p.get("role_ids"):
            roles = [self.store.roles[int(r)]["name"] for r in p["role_ids"] if int(r) in self.store.roles]
        values = self._user_values(p)
        user = self.store.add_user(login=p.get("login"), firstname=p.get("firstname") or "",
                                   lastname=p.get("lastname") or "", email=p.get("email") or "", roles=roles,
                                   organization_id=values.get("organization_id"), by=ctx.user["id"])
        user["department"] = None
        return Response(201, self.store.user_json(user))

    def user_update(self, ctx: Ctx) -> Any:
        user = self._find("users", ctx.params["id"], "User")
        values = self._user_values(ctx.params)
        if not values.get("login"):
            values.pop("login", None)
        if values.get("organization_id") is not None and values["organization_id"] not in self.store.organizations:
            raise ZammadError(422, f"No value found for 'organization' with id {values['organization_id']}")
        user.update(values)
        user["updated_at"] = self.store.now()
        user["updated_by_id"] = ctx.user["id"]
        return self.store.user_json(user)

    def user_delete(self, ctx: Ctx) -> Any:
        user = self._find("users", ctx.params["id"], "User")
        if any(user["id"] in (t["customer_id"], t["owner_id"]) for t in self.store.tickets.values()):
            raise ZammadError(422, "Can't delete, object has references.")
        del self.store.users[user["id"]]
        for token in [k for k, v in self.store.tokens.items() if v == user["id"]]:
            del self.store.tokens[token]
        return {}

    # organizations (organizations_controller.rb)
    def organizations(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=500)
        expand = _truthy(ctx.params.get("expand"))
        ids = sorted(self.store.organizations)
        if not self.store.has_permission(ctx.user, "ticket.agent") and not self.store.has_permission(ctx.user, "admin"):
            ids = [i for i in ids if i == ctx.user["organization_id"]]
        return [self.store.organization_json(self.store.organizations[i], expand=expand)
                for i in ids[offset:offset + limit]]

    def organization_show(self, ctx: Ctx) -> Any:
        org = self._find("organizations", ctx.params["id"], "Organization")
        return self.store.organization_json(org, expand=_truthy(ctx.params.get("expand")))

    def organization_create(self, ctx: Ctx) -> Any:
        if not ctx.params.get("name"):
            raise ZammadError(422, "Name can't be blank")
        org = self.store.add_organization(ctx.params["name"], by=ctx.user["id"], note=ctx.params.get("note") or "")
        return Response(201, self.store.organization_json(org))

    # groups (groups_controller.rb)
    def groups(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=500)
        expand = _truthy(ctx.params.get("expand"))
        return [self.store.group_json(self.store.groups[g], expand=expand)
                for g in sorted(self.store.groups)[offset:offset + limit]]

    def group_show(self, ctx: Ctx) -> Any:
        return self.store.group_json(self._find("groups", ctx.params["id"], "Group"),
                                     expand=_truthy(ctx.params.get("expand")))

    def group_create(self, ctx: Ctx) -> Any:
        if not ctx.params.get("name"):
            raise ZammadError(422, "Name can't be blank")
        group = self.store.add_group(ctx.params["name"], note=ctx.params.get("note") or "", by=ctx.user["id"])
        for key in GROUP_WRITABLE - {"name", "note"}:
            if key in ctx.params:
                group[key] = ctx.params[key]
        return Response(201, self.store.group_json(group))

    def group_update(self, ctx: Ctx) -> Any:
        group = self._find("groups", ctx.params["id"], "Group")
        for key in GROUP_WRITABLE:
            if key in ctx.params:
                group[key] = ctx.params[key]
        group["name_last"] = group["name"]
        group["updated_at"] = self.store.now()
        group["updated_by_id"] = ctx.user["id"]
        return self.store.group_json(group)

    def group_delete(self, ctx: Ctx) -> Any:
        group = self._find("groups", ctx.params["id"], "Group")
        if any(t["group_id"] == group["id"] for t in self.store.tickets.values()):
            raise ZammadError(422, "Can't delete, object has references.")
        del self.store.groups[group["id"]]
        for user in self.store.users.values():
            user["group_ids"].pop(str(group["id"]), None)
        return {}

    # ticket states and priorities (ticket_states_controller.rb, ticket_priorities_controller.rb).
    # Zammad has no ticket_state_types endpoint: `expand=true` names each state's type.
    def states(self, ctx: Ctx) -> Any:
        expand = _truthy(ctx.params.get("expand"))
        return [self.store.state_json(self.store.states[s], expand=expand) for s in sorted(self.store.states)]

    def state_show(self, ctx: Ctx) -> Any:
        return self.store.state_json(self._find("states", ctx.params["id"], "Ticket::State"),
                                     expand=_truthy(ctx.params.get("expand")))

    def state_create(self, ctx: Ctx) -> Any:
        return Response(201, self.store.state_json(self.store.add_state(ctx.params, by=ctx.user["id"])))

    def state_update(self, ctx: Ctx) -> Any:
        state = self._find("states", ctx.params["id"], "Ticket::State")
        for key in ("name", "state_type_id", "next_state_id", "ignore_escalation", "default_create",
                    "default_follow_up", "note", "active"):
            if key in ctx.params:
                state[key] = ctx.params[key]
        if state["state_type_id"] not in STATE_TYPES:
            raise ZammadError(422, "State type must exist")
        state["updated_at"] = self.store.now()
        state["updated_by_id"] = ctx.user["id"]
        return self.store.state_json(state)

    def priorities(self, ctx: Ctx) -> Any:
        expand = _truthy(ctx.params.get("expand"))
        return [self.store.priority_json(self.store.priorities[p], expand=expand) for p in sorted(self.store.priorities)]

    def priority_create(self, ctx: Ctx) -> Any:
        name = ctx.params.get("name")
        if not name:
            raise ZammadError(422, "Name can't be blank")
        if self.store.by_name("priorities", name):
            raise ZammadError(422, "Name has already been taken")
        pid = self.store.next_id("priorities")
        stamp = self.store.now()
        rec = {"id": pid, "name": name, "default_create": bool(ctx.params.get("default_create", False)),
               "ui_icon": ctx.params.get("ui_icon"), "ui_color": ctx.params.get("ui_color"),
               "note": ctx.params.get("note"), "active": bool(ctx.params.get("active", True)),
               "updated_by_id": ctx.user["id"], "created_by_id": ctx.user["id"], "created_at": stamp,
               "updated_at": stamp}
        self.store.priorities[pid] = rec
        return Response(201, self.store.priority_json(rec))

    def priority_update(self, ctx: Ctx) -> Any:
        rec = self._find("priorities", ctx.params["id"], "Ticket::Priority")
        for key in ("name", "default_create", "ui_icon", "ui_color", "note", "active"):
            if key in ctx.params:
                rec[key] = ctx.params[key]
        rec["updated_at"] = self.store.now()
        rec["updated_by_id"] = ctx.user["id"]
        return self.store.priority_json(rec)

    def priority_show(self, ctx: Ctx) -> Any:
        return self.store.priority_json(self._find("priorities", ctx.params["id"], "Ticket::Priority"),
                                        expand=_truthy(ctx.params.get("expand")))

    # tickets (tickets_controller.rb)
    def tickets(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=100)
        expand = _truthy(ctx.params.get("expand"))
        visible = [t for t in (self.store.tickets[i] for i in sorted(self.store.tickets)) if self._can_see(ctx.user, t)]
        return [self.store.ticket_json(t, expand=expand) for t in visible[offset:offset + limit]]

    def ticket_search(self, ctx: Ctx) -> Any:
        offset, limit = self._page(ctx.params, max_per_page=200, default=50)
        found = self.finder.run(visible=lambda t: self._can_see(ctx.user, t), query=ctx.params.get("query"),
                                condition=ctx.params.get("condition"), sort_by=ctx.params.get("sort_by"),
                                order_by=ctx.params.get("order_by"), offset=offset, limit=limit,
                                now=self.clock())
        if _truthy(ctx.params.get("expand")):
            return [self.store.ticket_json(t, expand=True) for t in found]
        # `tickets_count` is the size of this page, as the controller counts it
        return {"tickets": [t["id"] for t in found], "tickets_count": len(found),
                "assets": self.store.ticket_assets(found)}


    def ticket_show(self, ctx: Ctx) -> Any:
        ticket = self._ticket(ctx, ctx.params["id"])
        if _truthy(ctx.params.get("expand")):
            return self.store.ticket_json(ticket, expand=True)
        return self.store.ticket_json(ticket)

    def _ticket_params(self, ctx: Ctx) -> dict:
        params = {k: v for k, v in ctx.params.items() if k not in ("article", "id", "expand", "tags", "number")}
        if not self.store.has_permission(ctx.user, "ticket.agent"):
            for key in ("owner", "owner_id", "customer", "customer_id", "organization", "organization_id",
                        "preferences"):
                params.pop(key, None)
        return params

    def ticket_create(self, ctx: Ctx) -> Any:
        params = self._ticket_params(ctx)
        if not self.store.has_permission(ctx.user, "ticket.agent"):
            params["customer_id"] = ctx.user["id"]
        elif str(params.get("customer_id", "")).startswith("guess:"):
            email = str(params.pop("customer_id"))[len("guess:"):]
            found = self.store.user_by(email) or self.store.add_user(email=email, by=ctx.user["id"])
            params["customer_id"] = found["id"]
        tags = [t for t in str(ctx.params.get("tags") or "").split(",") if t.strip()]
        article = ctx.params.get("article") if isinstance(ctx.params.get("article"), dict) else None
        workflow = self._workflow(ctx, "create_middle")

        def check(record: dict, changed: list[str]) -> None:
            # authorize!(ticket, :create?) on the new record, then save! runs Core Workflow
            if not self._may(ctx.user, record, "create"):
                raise ZammadError(403, "Not authorized")
            workflow(record, changed)

        ticket = self.store.create_ticket(params, article=article, by=ctx.user["id"], tags=tags, check=check)
        self.store.notify(ticket, "create", by=ctx.user["id"])
        if _truthy(ctx.params.get("expand")):
            return Response(201, self.store.ticket_json(ticket, expand=True))
        return Response(201, self.store.ticket_json(ticket, ids=True))

    def ticket_update(self, ctx: Ctx) -> Any:
        ticket = self._ticket(ctx, ctx.params["id"], "change")
        article = ctx.params.get("article") if isinstance(ctx.params.get("article"), dict) else None
        if article and not self._may(ctx.user, ticket, "create"):  # Ticket::ArticlePolicy#create?
            raise ZammadError(403, "Not authorized")
        if article:
            # one transaction: `ticket.with_lock` around `ticket.update!` and `article_create`
            # (app/controllers/tickets_controller.rb#update): a refused article stores nothing
            self.store.check_article(article, by=ctx.user["id"])
            self.store.body_mentions(ticket, article.get("body"), by=ctx.user["id"])  # may refuse the author
        changed = self.store.update_ticket(ticket, self._ticket_params(ctx), by=ctx.user["id"],
                                           check=self._workflow(ctx, "edit"))
        if article:
            self.store.create_article(ticket, article, by=ctx.user["id"])
            changed = True
        if changed:
            self.store.notify(ticket, "update", by=ctx.user["id"])
        if _truthy(ctx.params.get("expand")):
            return self.store.ticket_json(ticket, expand=True)
        return self.store.ticket_json(ticket, ids=True)

    def ticket_delete(self, ctx: Ctx) -> Any:
        self.store.delete_ticket(self._find("tickets", ctx.params["id"], "Ticket"))
        return Response(200, b"", {"Content-Type": "text/html"})  # `head :ok`

    def ticket_history(self, ctx: Ctx) -> Any:
        ticket = self._ticket(ctx, ctx.params["id"])
        history = self.store.history_of(ticket["id"])
        # history_get(true) (app/models/concerns/has_history.rb): the assets of every record an entry
        # names that still exists (`lookup`) — the ticket itself (attributes_with_association_ids, its
        # organisation and users: app/models/ticket/assets.rb), each entry's author, each article, each
        # mention still there with its user (app/models/mention/assets.rb); a removed mention's entries
        # stay in the list, its record is gone from the assets
        assets = self.store.ticket_assets([ticket])
        for entry in history:
            uid = entry["created_by_id"]
            if uid in self.store.users:
                assets.setdefault("User", {})[str(uid)] = self.store.user_json(self.store.users[uid])
            if entry["object"] == "Ticket::Article" and entry["o_id"] in self.store.articles:
                assets.setdefault("TicketArticle", {})[str(entry["o_id"])] = \
                    self.store.article_json(self.store.articles[entry["o_id"]])
            if entry["object"] == "Mention" and entry["o_id"] in self.store.mentions:
                mention = self.store.mentions[entry["o_id"]]
                assets.setdefault("Mention", {})[str(mention["id"])] = dict(mention)
                if mention["user_id"] in self.store.users:
                    assets.setdefault("User", {})[str(mention["user_id"])] = \
                        self.store.user_json(self.store.users[mention["user_id"]])
        return {"history": history, "assets": assets}

    # articles (ticket_articles_controller.rb)
    def _visible_article(self, ctx: Ctx, article: dict) -> bool:
        return not article["internal"] or self.store.has_permission(ctx.user, "ticket.agent")

    def articles_by_ticket(self, ctx: Ctx) -> Any:
        ticket = self._ticket(ctx, ctx.params["id"])
        return [self.store.article_json(self.store.articles[a]) for a in ticket["article_ids"]
                if self._visible_article(ctx, self.store.articles[a])]

    def article_show(self, ctx: Ctx) -> Any:
        article = self._find("articles", ctx.params["id"], "Ticket::Article")
        self._ticket(ctx, article["ticket_id"])
        if not self._visible_article(ctx, article):
            raise ZammadError(403, "Not authorized")
        return self.store.article_json(article)

    def article_create(self, ctx: Ctx) -> Any:
        if not ctx.params.get("ticket_id"):
            raise ZammadError(404, "Couldn't find Ticket without an ID")
        ticket = self._ticket(ctx, ctx.params["ticket_id"], "create")  # Ticket::ArticlePolicy#create?
        article = self.store.create_article(ticket, ctx.params, by=ctx.user["id"])
        self.store.notify(ticket, "update", by=ctx.user["id"])
        return Response(201, self.store.article_json(article))

    # tags (tags_controller.rb; history via Tag::WritesToTicketHistory)
    def _tag_target(self, ctx: Ctx) -> dict:
        if ctx.params.get("object") != "Ticket":
            raise ZammadError(422, f"Invalid object {ctx.params.get('object')!r} (the sandbox tags tickets)")
        # changing a ticket's tags is changing the ticket (TicketPolicy#update?)
        return self._ticket(ctx, ctx.params.get("o_id"), "read" if ctx.request.method == "GET" else "change")

    def tags(self, ctx: Ctx) -> Any:
        ticket = self._tag_target(ctx)
        return {"tags": list(self.store.tags.get(ticket["id"], []))}

    def tag_add(self, ctx: Ctx) -> Any:
        ticket = self._tag_target(ctx)
        if not str(ctx.params.get("item") or "").strip():
            raise ZammadError(422, "Need item")
        self.store.tag_add(ticket, str(ctx.params["item"]), by=ctx.user["id"])
        return Response(201, True)

    # the docs show 201 for a removal; the controller renders plain `json: success` (200)
    def tag_remove(self, ctx: Ctx) -> Any:
        ticket = self._tag_target(ctx)
        self.store.tag_remove(ticket, str(ctx.params.get("item") or ""), by=ctx.user["id"])
        return True

    # links (links_controller.rb, app/models/link.rb)
    def links(self, ctx: Ctx) -> Any:
        if ctx.params.get("link_object") != "Ticket":
            raise ZammadError(422, "Invalid link_object (the sandbox links tickets)")
        ticket = self._ticket(ctx, ctx.params.get("link_object_value"))
        found = self.store.links_of("Ticket", ticket["id"])
        linked = [self.store.tickets[lk["link_object_value"]] for lk in found
                  if lk["link_object_value"] in self.store.tickets]
        return {"links": found, "assets": self.store.ticket_assets(linked)}

    def link_add(self, ctx: Ctx) -> Any:
        p = ctx.params
        source = next((t for t in self.store.tickets.values()
                       if t["number"] == str(p.get("link_object_source_number"))), None) \
            if p.get("link_object_source") == "Ticket" else None
        if source is None:
            raise ZammadError(422, "No such object!")
        link_type = p.get("link_type") or "normal"
        if link_type not in LINK_TYPES.values() or p.get("link_object_target") != "Ticket":
            raise ZammadError(422, f"Invalid link_type {link_type!r} or link_object_target")
        target = self._ticket(ctx, p.get("link_object_target_value"))
        self._ticket(ctx, source["id"])
        return Response(201, self.store.link_add(link_type, source, target, by=ctx.user["id"]))

    def link_remove(self, ctx: Ctx) -> Any:
        p = ctx.params
        try:
            src, dst = int(p.get("link_object_source_value")), int(p.get("link_object_target_value"))
        except (TypeError, ValueError):
            raise ZammadError(422, "link_object_source_value and link_object_target_value are needed") from None
        type_id = next((i for i, n in LINK_TYPES.items() if n == (p.get("link_type") or "normal")), None)
        gone = [lk for lk in self.store.links.values() if lk["link_type_id"] == type_id and (
            (lk["link_object_source_value"], lk["link_object_target_value"]) in ((src, dst), (dst, src)))]
        for lk in gone:
            del self.store.links[lk["id"]]
            for tid in (src, dst):
                if tid in self.store.tickets:
                    self.store.touch(self.store.tickets[tid], ctx.user["id"])
        return Response(201, True)

    # mentions (mentions_controller.rb: the current user is the one mentioned)
    def mentions(self, ctx: Ctx) -> Any:
        p = ctx.params
        found = list(self.store.mentions.values())
        if p.get("mentionable_type"):
            if p["mentionable_type"] != "Ticket":
                raise ZammadError(422, "The parameter 'mentionable_type' is invalid.")
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

    def mention_create(self, ctx: Ctx) -> Any:
        # "The mention will be created for the user of the current session" and the answer
        # is `true` (201); mentioning again is a no-op (Mention.subscribe!).
        # https://docs.zammad.org/en/latest/api/ticket/mentions.html
        p = ctx.params
        if p.get("mentionable_type") != "Ticket":
            raise ZammadError(422, "The parameter 'mentionable_type' is invalid.")
        ticket = self._ticket(ctx, p.get("mentionable_id"))
        self.store.subscribe(ticket, ctx.user["id"], by=ctx.user["id"])
        return Response(201, True)

    def mention_delete(self, ctx: Ctx) -> Any:
        rec = self.store.mentions.get(int(ctx.params["id"]))
        if rec is None or rec["user_id"] != ctx.user["id"]:
            raise ZammadError(404, f"Couldn't find Mention with 'id'={ctx.params['id']}")
        del self.store.mentions[rec["id"]]
        ticket = self.store.tickets.get(rec["mentionable_id"])
        if ticket is not None:
            self.store.touch(ticket, ctx.user["id"])
            self.store.log(ticket["id"], o_id=rec["id"], type="removed", object="Mention",
                           created_by_id=ctx.user["id"], created_at=ticket["updated_at"], related_o_id=ticket["id"],
                           related_object="Ticket", value_to=str(rec["user_id"]))
        return dict(rec)

    # object manager (object_manager_attributes_controller.rb; the state is sandbox.zammad.objects)
    def attributes(self, ctx: Ctx) -> Any:
        return [self.store.attribute_json(a, full=True) for a in self.objects.listed()]

    def attribute_show(self, ctx: Ctx) -> Any:
        return self.store.attribute_json(self._find("attributes", ctx.params["id"], "ObjectManager::Attribute"),
                                         full=False)

    def attribute_create(self, ctx: Ctx) -> Any:
        rec = self.objects.create(ctx.params, by=ctx.user["id"])
        return Response(201, self.store.attribute_json(rec, full=False))

    def attribute_update(self, ctx: Ctx) -> Any:
        self._find("attributes", ctx.params["id"], "ObjectManager::Attribute")
        return self.store.attribute_json(self.objects.update(ctx.params, by=ctx.user["id"]), full=False)

    def attribute_delete(self, ctx: Ctx) -> Any:
        self.objects.delete(self._find("attributes", ctx.params["id"], "ObjectManager::Attribute"))
        return {}

    def execute_migrations(self, ctx: Ctx) -> Any:
        self.migrated(self.objects.execute_migrations())
        return {}

    def discard_changes(self, ctx: Ctx) -> Any:
        self.objects.discard_changes()
        return {}
