"""The sandbox Zammad's state: records, the fresh-install seed, JSON shapes and history.

The `models` of the moto-shaped package: the REST operations
(`sandbox.zammad.responses`) and the seed API (`sandbox.zammad.server`) work on one
`Store`; a refusal is a `sandbox.zammad.exceptions.ZammadError`.

Everything here runs under the sandbox server's lock (one request at a time), so the
store is a set of plain dicts keyed by integer ids. Records are serialised per request
into the shapes the real server answers with, as recorded in
`../shared/reference/zammad_cassettes/` and as built by Zammad's source:

- `attributes` (plain `render json: record`), `attributes_with_association_ids`
  (adds `*_ids` of has-many associations) and `attributes_with_association_names`
  (`expand=true`: adds each belongs-to association's `login` or `name` when set, and
  has-many lists) — app/models/application_model/can_associations.rb.
- history entries as `History.list` returns them (`type`, `object`, `attribute`,
  `value_from`/`value_to`, `id_from`/`id_to`, related objects) — app/models/history.rb
  and app/models/concerns/has_history.rb.

Timestamps are the server's `2025-05-13T08:37:16.572Z` (UTC, milliseconds) and come
from the injected clock, so tests and the accelerated demo control time.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from sandbox.zammad.exceptions import ZammadError

Clock = Callable[[], datetime]
#: a check run on a ticket write before it is stored: (the ticket as it would be, changed attributes)
Check = Callable[[dict, list[str]], None]

# The seeded roles and the permissions this sandbox checks (db/seeds/roles.rb: Admin has
# admin.*, Agent ticket.agent, Customer ticket.customer). A permission grants its children:
# `admin` grants `admin.user` (User#permissions? checks a key and its parents), not the reverse.
ROLES = {1: "Admin", 2: "Agent", 3: "Customer"}
ROLE_PERMISSIONS = {
    "Admin": {"admin", "admin.user", "admin.object", "admin.group", "admin.organization", "admin.tag",
              "admin.webhook", "admin.trigger"},
    "Agent": {"ticket.agent"},
    "Customer": {"ticket.customer"},
}
#: the children of `admin` this sandbox checks: what a role keeps when only some are taken away
ADMIN_PERMISSIONS = frozenset(p for p in ROLE_PERMISSIONS["Admin"] if p != "admin")

# db/seeds/ticket_state_types.rb and ticket_states.rb of a fresh Zammad.
STATE_TYPES = {1: "new", 2: "open", 3: "pending reminder", 4: "pending action", 5: "closed", 6: "merged",
               7: "removed"}
DEFAULT_STATES = [
    # id, name, state_type_id, next_state_id, ignore_escalation, default_create, default_follow_up, active
    (1, "new", 1, None, False, True, False, True),
    (2, "open", 2, None, False, False, True, True),
    (3, "pending reminder", 3, None, True, False, False, True),
    (4, "closed", 5, None, True, False, False, True),
    (5, "merged", 6, None, True, False, False, True),
    (6, "removed", 7, None, True, False, False, False),
    (7, "pending close", 4, 4, True, False, False, True),
]
# db/seeds/ticket_priorities.rb
DEFAULT_PRIORITIES = [(1, "1 low", False, "low-priority", "low-priority"), (2, "2 normal", True, None, None),
                      (3, "3 high", False, "important", "high-priority")]
# db/seeds/ticket_article_types.rb (ids as on a fresh system: the recording has phone=5, note=10)
ARTICLE_TYPES = {1: "email", 2: "sms", 3: "chat", 4: "fax", 5: "phone", 6: "twitter status",
                 7: "twitter direct-message", 8: "facebook feed post", 9: "facebook feed comment", 10: "note",
                 11: "web", 12: "telegram personal-message"}
ARTICLE_SENDERS = {1: "Agent", 2: "Customer", 3: "System"}
# ObjectLookup ids (assigned on first use in a real system; fixed here)
OBJECT_LOOKUP = {"User": 1, "Ticket": 2, "Organization": 3, "Group": 4, "TicketArticle": 5}
LINK_TYPES = {1: "normal", 2: "parent", 3: "child"}

# Ticket attributes the history ignores (app/models/ticket.rb history_attributes_ignored, and
# HasHistory's own created/updated stamps).
HISTORY_IGNORED = {"create_article_type_id", "create_article_sender_id", "article_count", "preferences",
                   "created_at", "updated_at", "created_by_id", "updated_by_id", "last_contact_at",
                   "last_contact_agent_at", "last_contact_customer_at", "first_response_at"}

#: the ticket columns of a fresh Zammad, in table order (as recorded)
TICKET_COLUMNS = [
    "id", "group_id", "priority_id", "state_id", "organization_id", "number", "title", "owner_id", "customer_id",
    "note", "first_response_at", "first_response_escalation_at", "first_response_in_min",
    "first_response_diff_in_min", "close_at", "close_escalation_at", "close_in_min", "close_diff_in_min",
    "update_escalation_at", "update_in_min", "update_diff_in_min", "last_close_at", "last_contact_at",
    "last_contact_agent_at", "last_contact_customer_at", "last_owner_update_at", "create_article_type_id",
    "create_article_sender_id", "article_count", "escalation_at", "pending_time", "type", "time_unit",
    "preferences", "updated_by_id", "created_by_id", "created_at", "updated_at",
]
#: what PUT/POST /tickets may set (app/models/ticket.rb columns a client writes)
TICKET_WRITABLE = {"group_id", "priority_id", "state_id", "organization_id", "title", "owner_id", "customer_id",
                   "note", "pending_time", "type", "time_unit", "preferences"}
#: belongs-to associations of a ticket: attribute -> (table, expanded name)
TICKET_BELONGS = {"group_id": ("groups", "group"), "organization_id": ("organizations", "organization"),
                  "state_id": ("states", "state"), "priority_id": ("priorities", "priority"),
                  "owner_id": ("users", "owner"), "customer_id": ("users", "customer"),
                  "created_by_id": ("users", "created_by"), "updated_by_id": ("users", "updated_by")}

USER_COLUMNS = [
    "id", "organization_id", "login", "firstname", "lastname", "email", "image", "image_source", "web", "phone",
    "fax", "mobile", "department", "street", "zip", "city", "country", "address", "vip", "verified", "active",
    "note", "last_login", "source", "login_failed", "out_of_office", "out_of_office_start_at",
    "out_of_office_end_at", "out_of_office_replacement_id", "preferences", "updated_by_id", "created_by_id",
    "created_at", "updated_at",
]
USER_WRITABLE = {"organization_id", "login", "firstname", "lastname", "email", "web", "phone", "fax", "mobile",
                 "department", "street", "zip", "city", "country", "address", "vip", "verified", "active", "note",
                 "out_of_office", "preferences"}

GROUP_COLUMNS = ["id", "signature_id", "email_address_id", "name", "name_last", "parent_id", "assignment_timeout",
                 "follow_up_possible", "reopen_time_in_days", "follow_up_assignment", "active", "shared_drafts",
                 "note", "updated_by_id", "created_by_id", "created_at", "updated_at"]
GROUP_WRITABLE = {"signature_id", "email_address_id", "name", "parent_id", "assignment_timeout",
                  "follow_up_possible", "reopen_time_in_days", "follow_up_assignment", "active", "shared_drafts",
                  "note"}

# A new agent's notification settings (User#check_notifications, as recorded for the admin).
_NOTIFY_ON = {"owned_by_me": True, "owned_by_nobody": True, "subscribed": True, "no": False}
_NOTIFY_OWN = {"owned_by_me": True, "owned_by_nobody": False, "subscribed": False, "no": False}
_CHANNELS = {"email": True, "online": True}


def agent_preferences() -> dict:
    return {"notification_config": {"matrix": {
        "create": {"criteria": dict(_NOTIFY_ON), "channel": dict(_CHANNELS)},
        "update": {"criteria": dict(_NOTIFY_ON), "channel": dict(_CHANNELS)},
        "reminder_reached": {"criteria": dict(_NOTIFY_OWN), "channel": dict(_CHANNELS)},
        "escalation": {"criteria": dict(_NOTIFY_OWN), "channel": dict(_CHANNELS)},
    }}, "locale": "en-us"}


def fmt_time(dt: datetime) -> str:
    """Zammad's JSON timestamp: UTC, milliseconds, `Z`."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time as clients send it (`Z` or an offset); ValueError when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"invalid time {value!r}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def ruby_time(iso: str | None) -> str:
    """How a history entry stringifies a time value (`Time#to_s`: `2026-11-20 09:00:00 UTC`)."""
    if not iso:
        return ""
    return parse_time(iso).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class History:
    id: int
    o_id: int
    type: str  # created | updated | added | removed | notification ...
    object: str  # Ticket | Ticket::Article | Mention ...
    created_by_id: int
    created_at: str
    attribute: str | None = None
    value_from: str | None = None
    value_to: str | None = None
    id_from: int | None = None
    id_to: int | None = None
    related_o_id: int | None = None
    related_object: str | None = None

    def to_json(self) -> dict:
        # History.list: attribute ids become names; nil pairs are dropped; the names of
        # unset attribute/related objects stay as `*_id: null`.
        data: dict[str, Any] = {"id": self.id, "o_id": self.o_id}
        if self.attribute is None:
            data["history_attribute_id"] = None
        if self.related_o_id is not None:
            data["related_o_id"] = self.related_o_id
        else:
            data["related_history_object_id"] = None
        if self.value_from is not None or self.value_to is not None:
            data["value_from"] = self.value_from
            data["value_to"] = self.value_to
        if self.id_from is not None or self.id_to is not None:
            data["id_from"] = self.id_from
            data["id_to"] = self.id_to
        data["created_by_id"] = self.created_by_id
        data["created_at"] = self.created_at
        data["object"] = self.object
        data["type"] = self.type
        if self.attribute is not None:
            data["attribute"] = self.attribute
        if self.related_object is not None:
            data["related_object"] = self.related_object
        return data


@dataclass
class Store:
    """All records of one sandbox Zammad."""

    clock: Clock
    users: dict[int, dict] = field(default_factory=dict)
    organizations: dict[int, dict] = field(default_factory=dict)
    groups: dict[int, dict] = field(default_factory=dict)
    states: dict[int, dict] = field(default_factory=dict)
    priorities: dict[int, dict] = field(default_factory=dict)
    tickets: dict[int, dict] = field(default_factory=dict)
    articles: dict[int, dict] = field(default_factory=dict)
    attributes: dict[int, dict] = field(default_factory=dict)  # object manager
    mentions: dict[int, dict] = field(default_factory=dict)
    links: dict[int, dict] = field(default_factory=dict)
    signatures: dict[int, str] = field(default_factory=dict)
    #: EmailAddress records (name, email, channel_id, active): a group's sender address
    email_addresses: dict[int, dict] = field(default_factory=dict)
    #: every e-mail an agent's `email` article sent (what the SMTP channel delivered)
    outbox: list[dict] = field(default_factory=list)
    tags: dict[int, list[str]] = field(default_factory=dict)  # ticket id -> tags, in order added
    history: dict[int, list[History]] = field(default_factory=dict)  # ticket id -> its entries and related ones
    tokens: dict[str, int] = field(default_factory=dict)  # API token -> user id
    #: role id -> {id, name, permissions}; the seeded three plus any the sandbox adds
    roles: dict[int, dict] = field(default_factory=lambda: {
        rid: {"id": rid, "name": name, "permissions": set(ROLE_PERMISSIONS[name])} for rid, name in ROLES.items()})
    #: custom ticket columns that exist (object manager attributes after the migration)
    ticket_columns: dict[str, str] = field(default_factory=dict)  # name -> data_type
    #: write `notification` history entries as Zammad's notification transaction does
    notifications: bool = True
    _seq: dict[str, int] = field(default_factory=dict)
    #: (updated_at, ticket id), sorted: the search index
    _by_updated: list[tuple[str, int]] = field(default_factory=list)
    #: called with (ticket, "create"|"update", user id) after each request that changed a ticket:
    #: the trigger run (sandbox.zammad.webhooks)
    on_transaction: Callable[[dict, str, int], None] | None = None

    # -- ids and time ---------------------------------------------------------------------
    def next_id(self, table: str) -> int:
        self._seq[table] = self._seq.get(table, 0) + 1
        return self._seq[table]

    def reserve_id(self, table: str, used: int) -> None:
        self._seq[table] = max(self._seq.get(table, 0), used)

    def now(self) -> str:
        return fmt_time(self.clock())

    # -- lookups ----------------------------------------------------------------------------
    def user_by(self, key: str) -> dict | None:
        """A user by id, login or e-mail (as the `From` header and name lookups allow)."""
        key = key.strip().lower()
        if key.isdigit() and int(key) in self.users:
            return self.users[int(key)]
        for u in self.users.values():
            if u["login"].lower() == key or (u["email"] and u["email"].lower() == key):
                return u
        return None

    def by_name(self, table: str, name: str) -> dict | None:
        for rec in getattr(self, table).values():
            if rec["name"] == name:
                return rec
        return None

    def permissions(self, user: dict) -> set[str]:
        perms: set[str] = set()
        for rid in user["role_ids"]:
            perms |= self.roles[rid]["permissions"]
        return perms

    def has_permission(self, user: dict, wanted: str) -> bool:
        perms = self.permissions(user)
        return wanted in perms or wanted.split(".")[0] in perms

    def add_role(self, name: str, permissions: set[str]) -> dict:
        rid = max(self.roles) + 1
        self.roles[rid] = {"id": rid, "name": name, "permissions": set(permissions)}
        return self.roles[rid]

    def group_access(self, user: dict, group_id: int, access: str) -> bool:
        """User#group_access?: `full` grants every access (read, create, change, overview)."""
        granted = user["group_ids"].get(str(group_id), [])
        return "full" in granted or access in granted

    def state_type(self, state_id: Any) -> str | None:
        state = self.states.get(state_id) if isinstance(state_id, int) else None
        return STATE_TYPES.get(state["state_type_id"]) if state else None

    def fullname(self, user: dict) -> str:
        name = f"{user['firstname']} {user['lastname']}".strip()
        return name or user["email"] or user["login"]

    # -- seed: a fresh Zammad -----------------------------------------------------------------
    def seed_system(self) -> None:
        """What `rake db:seed` leaves: user 1 "-", states, priorities, group "Users" (id 1)."""
        stamp = self.now()
        self.users[1] = self._user_record(1, login="-", firstname="-", lastname="", email="", role_ids=[],
                                          active=False, stamp=stamp, created_by_id=1)
        self.users[1].update(department="", address="")
        self.reserve_id("users", 1)
        for sid, name, type_id, next_id, ignore, d_create, d_follow, active in DEFAULT_STATES:
            self.states[sid] = {"id": sid, "state_type_id": type_id, "name": name, "next_state_id": next_id,
                                "ignore_escalation": ignore, "default_create": d_create,
                                "default_follow_up": d_follow, "note": None, "active": active,
                                "updated_by_id": 1, "created_by_id": 1, "created_at": stamp, "updated_at": stamp}
        self.reserve_id("states", len(DEFAULT_STATES))
        for pid, name, default, icon, color in DEFAULT_PRIORITIES:
            self.priorities[pid] = {"id": pid, "name": name, "default_create": default, "ui_icon": icon,
                                    "ui_color": color, "note": None, "active": True, "updated_by_id": 1,
                                    "created_by_id": 1, "created_at": stamp, "updated_at": stamp}
        self.reserve_id("priorities", 3)
        self.signatures[1] = "default"
        self.add_group("Users", note="Standard Group/Pool for Tickets.", signature_id=1, by=1)
        self._seed_ticket_attributes(stamp)

    def _seed_ticket_attributes(self, stamp: str) -> None:
        """The built-in ticket attributes a fresh system lists (db/seeds/object_manager_attributes.rb).

        Trimmed to the ones an integration reads; `editable: false`, already migrated.
        """
        builtin = [
            ("title", "Title", "input", {"type": "text", "maxlength": 200, "null": False, "translate": False}, 8),
            ("customer_id", "Customer", "user_autocompletion", {"relation": "User", "null": False}, 10),
            ("group_id", "Group", "select", {"relation": "Group", "null": False, "nulloption": True,
                                             "multiple": False, "translate": False}, 25),
            ("owner_id", "Owner", "select", {"relation": "User", "null": True, "nulloption": True,
                                             "multiple": False, "translate": False}, 30),
            ("state_id", "State", "select", {"relation": "TicketState", "nulloption": True, "multiple": False,
                                             "null": False, "default": 2, "translate": True}, 40),
            ("pending_time", "Pending till", "datetime", {"future": True, "past": False, "diff": None,
                                                          "null": True, "translate": True}, 41),
            ("priority_id", "Priority", "select", {"relation": "TicketPriority", "nulloption": False,
                                                   "multiple": False, "null": False, "default": 2,
                                                   "translate": True}, 80),
            ("tags", "Tags", "tag", {"type": "text", "null": True, "translate": False}, 900),
        ]
        for name, display, data_type, option, position in builtin:
            aid = self.next_id("attributes")
            self.attributes[aid] = {
                "id": aid, "object_lookup_id": OBJECT_LOOKUP["Ticket"], "name": name, "display": display,
                "data_type": data_type, "data_option": option, "data_option_new": {}, "editable": False,
                "active": True, "screens": {}, "to_create": False, "to_migrate": False, "to_delete": False,
                "to_config": False, "position": position, "created_by_id": 1, "updated_by_id": 1,
                "created_at": stamp, "updated_at": stamp,
            }

    def seed_demo(self) -> None:
        """The welcome data of a fresh install: organisation, Nicole Braun, ticket 1 with article 1."""
        org = self.add_organization("Zammad Foundation", by=1)
        nicole = self.add_user(login="nicole.braun@zammad.org", firstname="Nicole", lastname="Braun",
                               email="nicole.braun@zammad.org", roles=["Customer"], organization_id=org["id"],
                               by=1)
        nicole["department"] = ""
        nicole["address"] = ""
        nicole["preferences"] = {"tickets_closed": 0, "tickets_open": 1}
        self.create_ticket({"title": "Welcome to Zammad!", "group_id": 1, "customer_id": nicole["id"],
                            "state_id": 1, "priority_id": 2},
                           article={"type": "phone", "sender": "Customer", "subject": "Welcome to Zammad!",
                                    "content_type": "text/html", "from": "Zammad <zammad@localhost>",
                                    "body": "Welcome!<br><br>Thank you for choosing Zammad."},
                           by=nicole["id"])

    # -- users, organisations, groups ----------------------------------------------------------
    def _user_record(self, uid: int, *, login: str, firstname: str, lastname: str, email: str,
                     role_ids: list[int], stamp: str, created_by_id: int, active: bool = True,
                     organization_id: int | None = None) -> dict:
        rec = {c: "" for c in ("web", "phone", "fax", "mobile", "street", "zip", "city", "country", "note")}
        rec.update(
            id=uid, organization_id=organization_id, login=login, firstname=firstname, lastname=lastname,
            email=email, image=None, image_source=None, department=None, address=None, vip=False, verified=False,
            active=active, last_login=None, source=None, login_failed=0, out_of_office=False,
            out_of_office_start_at=None, out_of_office_end_at=None, out_of_office_replacement_id=None,
            preferences={}, updated_by_id=created_by_id, created_by_id=created_by_id, created_at=stamp,
            updated_at=stamp, role_ids=list(role_ids), group_ids={},
        )
        return rec

    def add_user(self, *, login: str | None = None, firstname: str = "", lastname: str = "", email: str = "",
                 roles: list[str] | None = None, organization_id: int | None = None,
                 group_access: dict[int, list[str]] | None = None, by: int = 1) -> dict:
        role_ids = [rid for rid, role in self.roles.items() if role["name"] in (roles or ["Customer"])]
        if not role_ids:
            raise ZammadError(422, f"unknown roles {roles!r}")
        login = (login or email or f"auto-{uuid.uuid4()}").lower()
        if self.user_by(login) is not None or (email and self.user_by(email) is not None):
            raise ZammadError(422, f"Email address '{email or login}' is already used for another user.")
        if organization_id is not None and organization_id not in self.organizations:
            raise ZammadError(422, f"No value found for 'organization' with id {organization_id}")
        uid = self.next_id("users")
        rec = self._user_record(uid, login=login, firstname=firstname, lastname=lastname, email=email.lower(),
                                role_ids=role_ids, stamp=self.now(), created_by_id=by,
                                organization_id=organization_id)
        agent = any("ticket.agent" in self.roles[r]["permissions"] for r in role_ids)
        rec["preferences"] = agent_preferences() if agent else {"locale": "en-us"}
        if agent:
            rec["group_ids"] = {str(g): list(a) for g, a in (group_access or {}).items()}
            if group_access is None:  # an agent works in every group unless told otherwise
                rec["group_ids"] = {str(g): ["full"] for g in self.groups}
        self.users[uid] = rec
        return rec

    def add_organization(self, name: str, *, by: int = 1, note: str = "") -> dict:
        if self.by_name("organizations", name):
            raise ZammadError(422, "Object already exists!")
        oid = self.next_id("organizations")
        stamp = self.now()
        rec = {"id": oid, "name": name, "shared": True, "domain": "", "domain_assignment": False, "active": True,
               "vip": False, "note": note, "updated_by_id": by, "created_by_id": by, "created_at": stamp,
               "updated_at": stamp}
        self.organizations[oid] = rec
        return rec

    def add_group(self, name: str, *, note: str = "", signature_id: int | None = None, by: int = 1) -> dict:
        if self.by_name("groups", name):
            raise ZammadError(422, "Object already exists!")
        gid = self.next_id("groups")
        stamp = self.now()
        rec = {"id": gid, "signature_id": signature_id, "email_address_id": None, "name": name, "name_last": name,
               "parent_id": None, "assignment_timeout": None, "follow_up_possible": "yes",
               "reopen_time_in_days": None, "follow_up_assignment": True, "active": True, "shared_drafts": True,
               "note": note, "updated_by_id": by, "created_by_id": by, "created_at": stamp, "updated_at": stamp}
        self.groups[gid] = rec
        return rec

    def add_email_address(self, name: str, email: str, *, by: int = 1) -> dict:
        """An EmailAddress with a working outbound channel (what Channels → Email sets up)."""
        eid = self.next_id("email_addresses")
        stamp = self.now()
        rec = {"id": eid, "channel_id": 1, "name": name, "email": email.lower(), "active": True,
               "preferences": {}, "updated_by_id": by, "created_by_id": by, "created_at": stamp,
               "updated_at": stamp}
        self.email_addresses[eid] = rec
        return rec

    def group_user_ids(self, gid: int) -> list[int]:
        return [u["id"] for u in self.users.values() if str(gid) in u["group_ids"]]

    # -- serialisers -------------------------------------------------------------------------------
    def login_of(self, uid: int | None) -> str | None:
        user = self.users.get(uid) if uid is not None else None
        return user["login"] if user else None

    def _stamps(self, data: dict) -> None:
        for src, dst in (("created_by_id", "created_by"), ("updated_by_id", "updated_by")):
            login = self.login_of(data.get(src))
            if login is not None:
                data[dst] = login

    def user_json(self, user: dict, *, expand: bool = False) -> dict:
        data = {c: user[c] for c in USER_COLUMNS}
        data.update(role_ids=list(user["role_ids"]), two_factor_preference_ids=[], organization_ids=[],
                    authorization_ids=[], overview_sorting_ids=[],
                    group_ids={k: list(v) for k, v in user["group_ids"].items()})
        if expand:
            data.update(roles=[self.roles[r]["name"] for r in user["role_ids"]], two_factor_preferences=[],
                        organizations=[],
                        authorizations=[], overview_sortings=[])
            org = self.organizations.get(user["organization_id"]) if user["organization_id"] else None
            if org:
                data["organization"] = org["name"]
            data["groups"] = {self.groups[int(g)]["name"]: list(a) for g, a in user["group_ids"].items()
                              if int(g) in self.groups}
            self._stamps(data)
        return data

    def organization_json(self, org: dict, *, expand: bool = False) -> dict:
        data = dict(org)
        members = [u for u in self.users.values() if u["organization_id"] == org["id"]]
        data["member_ids"] = [u["id"] for u in members]
        data["secondary_member_ids"] = []
        if expand:
            data["members"] = [u["login"] for u in members]
            data["secondary_members"] = []
            self._stamps(data)
        return data

    def group_json(self, group: dict, *, expand: bool = False) -> dict:
        data = {c: group[c] for c in GROUP_COLUMNS}
        data["user_ids"] = self.group_user_ids(group["id"])
        if expand:
            self._stamps(data)
            if group["signature_id"] in self.signatures:
                data["signature"] = self.signatures[group["signature_id"]]
            data["users"] = [self.users[u]["login"] for u in data["user_ids"]]
        return data

    def state_json(self, state: dict, *, expand: bool = False) -> dict:
        data = dict(state)
        if expand:
            data["state_type"] = STATE_TYPES.get(state["state_type_id"])
            if state["next_state_id"] in self.states:
                data["next_state"] = self.states[state["next_state_id"]]["name"]
            self._stamps(data)
        return data

    def priority_json(self, priority: dict, *, expand: bool = False) -> dict:
        data = dict(priority)
        if expand:
            self._stamps(data)
        return data

    def ticket_json(self, ticket: dict, *, ids: bool = False, expand: bool = False) -> dict:
        """`render json: ticket` (plain), with association ids, or expanded (`expand=true`)."""
        data = {c: ticket[c] for c in TICKET_COLUMNS}
        data["preferences"] = dict(ticket["preferences"])
        for name in self.ticket_columns:
            data[name] = ticket.get(name)
        if ids or expand:
            data["article_ids"] = list(ticket["article_ids"])
            data["ticket_time_accounting_ids"] = []
        if expand:
            for attr, (table, name) in TICKET_BELONGS.items():
                rec = getattr(self, table).get(ticket[attr]) if ticket[attr] is not None else None
                if rec is not None:
                    data[name] = rec["login"] if table == "users" else rec["name"]
            data["ticket_time_accounting"] = []
            if ticket["create_article_type_id"] in ARTICLE_TYPES:
                data["create_article_type"] = ARTICLE_TYPES[ticket["create_article_type_id"]]
            if ticket["create_article_sender_id"] in ARTICLE_SENDERS:
                data["create_article_sender"] = ARTICLE_SENDERS[ticket["create_article_sender_id"]]
        return data

    def article_json(self, article: dict) -> dict:
        """Ticket::Article#attributes_with_association_names (what every article endpoint answers)."""
        data = {k: v for k, v in article.items()}
        data["preferences"] = dict(article["preferences"])
        data["type"] = ARTICLE_TYPES.get(article["type_id"])
        data["sender"] = ARTICLE_SENDERS.get(article["sender_id"])
        self._stamps(data)
        data["attachments"] = []
        return data

    def attribute_json(self, attr: dict, *, full: bool) -> dict:
        """GET list (`list_full`: `object` by name, `deletable`) or one record (`object_lookup_id`)."""
        data = dict(attr)
        data["data_option"] = dict(attr["data_option"])
        data["data_option_new"] = dict(attr["data_option_new"])
        if full:
            lookup = data.pop("object_lookup_id")
            data["object"] = next(k for k, v in OBJECT_LOOKUP.items() if v == lookup)
            data["deletable"] = bool(attr["editable"])
        return data

    def ticket_assets(self, tickets: list[dict], assets: dict | None = None) -> dict:
        """`ticket.assets(...)`: the tickets and the users, groups and organisations they refer to."""
        assets = assets if assets is not None else {}
        for t in tickets:
            assets.setdefault("Ticket", {})[str(t["id"])] = self.ticket_json(t, ids=True)
            for uid in {t["owner_id"], t["customer_id"], t["created_by_id"], t["updated_by_id"]}:
                if uid in self.users:
                    assets.setdefault("User", {})[str(uid)] = self.user_json(self.users[uid])
            if t["group_id"] in self.groups:
                assets.setdefault("Group", {})[str(t["group_id"])] = self.group_json(self.groups[t["group_id"]])
            if t["organization_id"] in self.organizations:
                assets.setdefault("Organization", {})[str(t["organization_id"])] = \
                    self.organization_json(self.organizations[t["organization_id"]])
        return assets

    # -- history ------------------------------------------------------------------------------------
    def log(self, ticket_id: int, **kw: Any) -> History:
        entry = History(id=self.next_id("history"), **kw)
        self.history.setdefault(ticket_id, []).append(entry)
        return entry

    def notify(self, ticket: dict, kind: str, *, by: int) -> None:
        """What Transaction::Notification leaves in the history after a request changed a ticket.

        One `notification` entry per agent told, `value_to` "<email or login>(<create|update>:
        online,email)" (app/models/transaction/notification.rb#add_recipient_list_to_history).
        Simplified recipients: on create every agent of the group; on update the owner and
        the mentioned agents, or the whole group while nobody owns the ticket; never the
        person who made the change.
        """
        if self.on_transaction is not None:
            self.on_transaction(ticket, kind, by)
        if not self.notifications:
            return
        group = str(ticket["group_id"])
        agents = [u for u in self.users.values()
                  if u["active"] and self.has_permission(u, "ticket.agent") and group in u["group_ids"]
                  and u["id"] != by]
        if kind == "update" and ticket["owner_id"] not in (None, 1):
            mentioned = {m["user_id"] for m in self.mentions.values() if m["mentionable_id"] == ticket["id"]}
            agents = [u for u in agents if u["id"] == ticket["owner_id"] or u["id"] in mentioned]
        for user in sorted(agents, key=lambda u: u["id"]):
            channels = "online,email" if user["email"] else "online"
            self.log(ticket["id"], o_id=ticket["id"], type="notification", object="Ticket",
                     value_to=f"{user['email'] or user['login']}({kind}:{channels})", created_by_id=by,
                     created_at=ticket["updated_at"])

    def history_of(self, ticket_id: int) -> list[dict]:
        entries = sorted(self.history.get(ticket_id, []), key=lambda h: (h.created_at, h.id))
        return [h.to_json() for h in entries]

    # -- tickets -----------------------------------------------------------------------------------
    def _index(self, ticket: dict, old: str | None) -> None:
        if old is not None:
            i = bisect.bisect_left(self._by_updated, (old, ticket["id"]))
            if i < len(self._by_updated) and self._by_updated[i] == (old, ticket["id"]):
                del self._by_updated[i]
        bisect.insort(self._by_updated, (ticket["updated_at"], ticket["id"]))

    def touch(self, ticket: dict, by: int) -> None:
        old = ticket["updated_at"]
        ticket["updated_at"] = self.now()
        ticket["updated_by_id"] = by
        self._index(ticket, old)

    def tickets_updated_between(self, low: str | None, high: str | None, *, low_inclusive: bool,
                                high_inclusive: bool) -> list[int]:
        """Ticket ids by updated_at ascending within the bounds (the search index)."""
        index = self._by_updated
        start = 0
        if low is not None:
            start = bisect.bisect_left(index, (low, -1)) if low_inclusive else bisect.bisect_right(
                index, (low, float("inf")))
        end = len(index)
        if high is not None:
            end = bisect.bisect_right(index, (high, float("inf"))) if high_inclusive else bisect.bisect_left(
                index, (high, -1))
        return [tid for _, tid in index[start:end]]

    def resolve_names(self, params: dict) -> dict:
        """Ticket.association_name_to_id_convert: `state: "open"` -> `state_id: 2`, users by login/e-mail."""
        out = dict(params)
        for attr, (table, name) in TICKET_BELONGS.items():
            if name not in out:
                continue
            value = out.pop(name)
            if attr in ("created_by_id", "updated_by_id") or value in (None, ""):
                continue
            if out.get(attr) is not None:  # an explicit `_id` wins over the name
                continue
            if table == "users":
                if not isinstance(value, str):
                    raise ZammadError(422, f"String is needed as ref value {value!r} for '{name}'")
                rec = self.user_by(value)
            else:
                rec = self.by_name(table, value)
            if rec is None:
                raise ZammadError(422, f"No lookup value found for '{name}': {value!r}")
            out[attr] = rec["id"]
        return out

    def _check_refs(self, values: dict) -> None:
        for attr, (table, name) in TICKET_BELONGS.items():
            if attr in values and values[attr] is not None:
                try:
                    values[attr] = int(values[attr])
                except (TypeError, ValueError):
                    raise ZammadError(422, f"No value found for '{name}' with id {values[attr]!r}") from None
                if values[attr] not in getattr(self, table):
                    raise ZammadError(422, f"No value found for '{name}' with id {values[attr]}")

    def _custom_value(self, name: str, value: Any) -> Any:
        data_type = self.ticket_columns[name]
        if value in (None, ""):
            return None
        if data_type in ("datetime", "date"):
            try:
                return fmt_time(parse_time(value))
            except ValueError:
                raise ZammadError(422, f"{name}: invalid date/time {value!r}") from None
        if data_type == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ZammadError(422, f"{name}: invalid boolean {value!r}")
        if data_type == "integer":
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ZammadError(422, f"{name}: invalid integer {value!r}") from None
        return str(value)

    def clean_ticket_params(self, params: dict) -> dict:
        """Ticket.param_cleanup: keep only real columns; anything else is ignored silently.

        An object-manager attribute whose migration has not run has no column yet, so a
        value for it is dropped here too (app/models/application_model/can_cleanup_param.rb).
        """
        params = self.resolve_names(params)
        clean = {k: v for k, v in params.items() if k in TICKET_WRITABLE}
        self._check_refs(clean)
        if "pending_time" in clean and clean["pending_time"] not in (None, ""):
            try:
                clean["pending_time"] = fmt_time(parse_time(clean["pending_time"]))
            except ValueError:
                raise ZammadError(422, f"pending_time: invalid date/time {clean['pending_time']!r}") from None
        for name in self.ticket_columns:
            if name in params:
                clean[name] = self._custom_value(name, params[name])
        return clean

    def create_ticket(self, params: dict, *, article: dict | None = None, by: int,
                      tags: list[str] | None = None, check: Check | None = None) -> dict:
        """A new ticket; `check(record, changed)` may refuse it before anything is stored
        (Core Workflow, for a write from a screen)."""
        values = self.clean_ticket_params(params)
        if not values.get("title"):
            raise ZammadError(422, "Title can't be blank")  # Validation failed: Title can't be blank
        if not values.get("group_id"):
            raise ZammadError(422, "Group can't be blank")
        if not values.get("customer_id"):
            raise ZammadError(422, "Customer can't be blank")
        tid = self.next_id("tickets")
        stamp = self.now()
        ticket: dict[str, Any] = {c: None for c in TICKET_COLUMNS}
        ticket.update(id=tid, number=str(77000 + tid), owner_id=1, state_id=1, priority_id=2, article_count=0,
                      preferences={}, created_by_id=by, updated_by_id=by, created_at=stamp, updated_at=stamp,
                      article_ids=[])
        ticket.update({name: None for name in self.ticket_columns})
        ticket.update(self._attribute_defaults(values))
        ticket.update(values)
        if check is not None:
            check(ticket, list(values))
        if ticket["organization_id"] is None:  # Ticket#fill_organization: from the customer
            ticket["organization_id"] = self.users[ticket["customer_id"]]["organization_id"]
        self.tickets[tid] = ticket
        self._index(ticket, None)
        self.log(tid, o_id=tid, type="created", object="Ticket", created_by_id=by, created_at=stamp)
        for tag in tags or []:
            self.tag_add(ticket, tag, by=by)
        if article:
            self.create_article(ticket, article, by=by)
        return ticket

    def update_ticket(self, ticket: dict, params: dict, *, by: int, check: Check | None = None) -> bool:
        """Apply a PUT; True when anything changed. `check(record, changed)` may refuse the
        write first: Rails runs the before_update callbacks (Core Workflow among them) even
        when no attribute changes."""
        values = self.clean_ticket_params(params)
        values.pop("number", None)
        if isinstance(values.get("preferences"), dict):  # param_preferences_merge keeps other keys
            values["preferences"] = {**ticket["preferences"], **values["preferences"]}
        changes = {k: (ticket.get(k), v) for k, v in values.items() if ticket.get(k) != v}
        if check is not None:
            check({**ticket, **values}, list(changes))
        # Ticket#reset_pending_time (before_update): a state change to a state that is not
        # pending* clears pending_time (app/models/ticket.rb)
        if "state_id" in changes and not (self.state_type(values["state_id"]) or "").startswith("pending") \
                and ticket.get("pending_time") is not None:
            changes["pending_time"] = (ticket["pending_time"], None)
        if not changes:
            return False
        for key, (_, new) in changes.items():
            ticket[key] = new
        self.touch(ticket, by)
        if "owner_id" in changes:
            ticket["last_owner_update_at"] = ticket["updated_at"]
        for key, (old, new) in changes.items():
            if key in HISTORY_IGNORED:
                continue
            self.log(ticket["id"], **self._change_entry(ticket, key, old, new, by))
        return True

    def _attribute_defaults(self, values: dict) -> dict:
        """ObjectManager::Attribute::SetDefaults (after_initialize of a new record): an active,
        editable date/datetime attribute the client did not send gets `diff` days/hours from
        now (datetime: to the minute, UTC), none when `diff` is nil
        (app/models/object_manager/attribute/set_defaults.rb). Only attributes with a column
        (migrated) are set."""
        out: dict[str, Any] = {}
        now = self.clock().astimezone(UTC)
        for attr in self.attributes.values():
            name, kind = attr["name"], attr["data_type"]
            if attr["object_lookup_id"] != OBJECT_LOOKUP["Ticket"] or not attr["active"] or not attr["editable"] \
                    or kind not in ("date", "datetime") or name not in self.ticket_columns or name in values:
                continue
            diff = attr["data_option"].get("diff")
            if diff is None or isinstance(diff, bool):
                continue
            if kind == "datetime":
                out[name] = fmt_time((now + timedelta(hours=diff)).replace(second=0, microsecond=0))
            else:
                out[name] = (now + timedelta(days=diff)).date().isoformat()
        return out

    def _change_entry(self, ticket: dict, key: str, old: Any, new: Any, by: int) -> dict:
        """HasHistory#history_update: `_id` attributes record names and ids, others their text."""
        entry: dict[str, Any] = dict(o_id=ticket["id"], type="updated", object="Ticket", created_by_id=by,
                                     created_at=ticket["updated_at"])
        if key.endswith("_id") and key in TICKET_BELONGS:
            table = TICKET_BELONGS[key][0]

            def label(i: int | None) -> str:
                rec = getattr(self, table).get(i) if i is not None else None
                if rec is None:
                    return "" if i is None else str(i)
                return rec["name"] if "name" in rec else self.fullname(rec)

            entry.update(attribute=key[:-3], value_from=label(old), value_to=label(new), id_from=old, id_to=new)
        elif key == "pending_time" or self.ticket_columns.get(key) in ("datetime", "date"):
            entry.update(attribute=key, value_from=ruby_time(old), value_to=ruby_time(new))
        else:
            entry.update(attribute=key, value_from=_to_s(old), value_to=_to_s(new))
        return entry

    def delete_ticket(self, ticket: dict) -> None:
        tid = ticket["id"]
        i = bisect.bisect_left(self._by_updated, (ticket["updated_at"], tid))
        if i < len(self._by_updated) and self._by_updated[i] == (ticket["updated_at"], tid):
            del self._by_updated[i]
        for aid in ticket["article_ids"]:
            self.articles.pop(aid, None)
        for mid in [m["id"] for m in self.mentions.values() if m["mentionable_id"] == tid]:
            del self.mentions[mid]
        for lid in [lk["id"] for lk in self.links.values() if tid in (lk["link_object_source_value"],
                                                                      lk["link_object_target_value"])]:
            del self.links[lid]
        self.tags.pop(tid, None)
        self.history.pop(tid, None)  # HasHistory#history_destroy
        del self.tickets[tid]

    # -- articles ------------------------------------------------------------------------------------
    def check_article(self, params: dict, *, by: int) -> tuple[str, int, str, int, bool, Any]:
        """An article's params checked as article_create checks them (type, sender, body), before
        anything is stored: (type name, type id, sender name, sender id, internal, body)."""
        user = self.users[by]
        type_name = params.get("type") or ARTICLE_TYPES.get(params.get("type_id"), "note")
        type_id = next((i for i, n in ARTICLE_TYPES.items() if n == type_name), None)
        if type_id is None:
            raise ZammadError(422, f"No lookup value found for 'type': {type_name!r}")
        is_agent = self.has_permission(user, "ticket.agent")
        sender_name = params.get("sender") or ARTICLE_SENDERS.get(params.get("sender_id")) or \
            ("Agent" if is_agent else "Customer")
        sender_id = next((i for i, n in ARTICLE_SENDERS.items() if n == sender_name), None)
        if sender_id is None:
            raise ZammadError(422, f"No lookup value found for 'sender': {sender_name!r}")
        internal = params.get("internal", False)
        if isinstance(internal, str):
            internal = internal.lower() == "true"
        if not is_agent:  # a customer can never write an internal article
            internal = False
        body = params.get("body")
        if body is None or body == "":
            raise ZammadError(422, "Need at least an 'body' or an attachment")
        return type_name, type_id, sender_name, sender_id, bool(internal), body

    # -- mentions (app/models/mention.rb) --------------------------------------------------------------
    def subscribe(self, ticket: dict, user_id: int, *, by: int) -> bool:
        """Mention.subscribe!: `user_id` subscribed to the ticket (once), touching it and logging a
        `created` Mention history entry; False when already subscribed."""
        if any(m["mentionable_id"] == ticket["id"] and m["user_id"] == user_id for m in self.mentions.values()):
            return False
        self.touch(ticket, by)  # Mention#update_mentionable
        mid = self.next_id("mentions")
        stamp = ticket["updated_at"]
        self.mentions[mid] = {"id": mid, "mentionable_type": "Ticket", "mentionable_id": ticket["id"],
                              "user_id": user_id, "updated_by_id": by, "created_by_id": by,
                              "created_at": stamp, "updated_at": stamp}
        # Mention#history_log_attributes: related to the ticket, value_to the user id
        self.log(ticket["id"], o_id=mid, type="created", object="Mention", created_by_id=by, created_at=stamp,
                 related_o_id=ticket["id"], related_object="Ticket", value_to=str(user_id))
        return True

    def body_mentions(self, ticket: dict, body: Any, *, by: int) -> list[int]:
        """Ticket::Article#check_mentions (app/models/ticket/article.rb, before validation on create): the
        users an article body names in `a[data-mention-user-id]` links — the body parsed as HTML whatever
        its content type. Raises as Zammad does when the author may not mention (MentionPolicy#create?:
        `ticket.agent`). Returns the ids of existing users with agent access to the ticket's group
        (Mention::Validation: "A mentioned user has no agent access to this ticket" keeps the others out,
        silently, as `first_or_create` does); nothing is stored here."""
        ids = _mention_ids(str(body or ""))
        if not ids:
            return []
        if not self.has_permission(self.users[by], "ticket.agent"):
            raise ZammadError(500, f"User {by} has no permission to mention other Users!")
        found = []
        for raw in ids:
            user = self.users.get(int(raw)) if raw.isdigit() else None
            if user is not None and self.has_permission(user, "ticket.agent") \
                    and self.group_access(user, ticket["group_id"], "read") and user["id"] not in found:
                found.append(user["id"])
        return found

    def create_article(self, ticket: dict, params: dict, *, by: int) -> dict:
        """CreatesTicketArticles#article_create: type/sender by name, agent notes internal on request; the
        users the body mentions are subscribed (`body_mentions`)."""
        user = self.users[by]
        type_name, type_id, sender_name, sender_id, internal, body = self.check_article(params, by=by)
        mentioned = self.body_mentions(ticket, body, by=by)
        content_type = params.get("content_type") or "text/plain"
        aid = self.next_id("articles")
        stamp = self.now()
        article = {
            "id": aid, "ticket_id": ticket["id"], "type_id": type_id, "sender_id": sender_id,
            "from": params.get("from") or self.fullname(user), "to": params.get("to"), "cc": params.get("cc"),
            "subject": params.get("subject"), "reply_to": None, "message_id": None, "message_id_md5": None,
            "in_reply_to": None, "content_type": content_type, "references": None, "body": body,
            "internal": bool(internal), "preferences": {}, "updated_by_id": by, "created_by_id": by,
            "origin_by_id": None, "created_at": stamp, "updated_at": stamp,
        }
        outgoing = type_name == "email" and sender_name != "Customer"
        if outgoing:
            self._email_metadata(ticket, article, user)
        self.articles[aid] = article
        ticket["article_ids"].append(aid)
        ticket["article_count"] = (ticket["article_count"] or 0) + 1
        if ticket["create_article_type_id"] is None:
            ticket["create_article_type_id"] = type_id
            ticket["create_article_sender_id"] = sender_id
        old = ticket["updated_at"]
        # Ticket::Article touches its ticket; public non-note articles count as contact
        # (app/models/ticket/article/… last contact observers).
        if not article["internal"] and type_name != "note":
            ticket["last_contact_at"] = stamp
            key = "last_contact_customer_at" if sender_name == "Customer" else "last_contact_agent_at"
            ticket[key] = stamp
            if sender_name == "Agent" and ticket["first_response_at"] is None:
                ticket["first_response_at"] = stamp
        ticket["updated_at"] = stamp
        ticket["updated_by_id"] = by
        self._index(ticket, old)
        # Ticket::Article#history_log_attributes: related to its ticket
        self.log(ticket["id"], o_id=aid, type="created", object="Ticket::Article", created_by_id=by,
                 created_at=stamp, related_o_id=ticket["id"], related_object="Ticket")
        for user_id in mentioned:
            self.subscribe(ticket, user_id, by=by)
        if outgoing:
            self._deliver(ticket, article)
        return article

    def _email_metadata(self, ticket: dict, article: dict, user: dict) -> None:
        """Ticket::Article::AddsMetadataEmail (before_create) for an agent's e-mail article.

        The subject defaults to the ticket's title; `from` is the group's address with the
        agent's name, as the default `ticket_define_email_from` (AgentNameSystemAddressName,
        separator "via"; db/seeds/settings.rb) builds it; a group without an address is
        refused with a RuntimeError ("No email address found for group"), answered as a 500.
        """
        group = self.groups[ticket["group_id"]]
        address = self.email_addresses.get(group["email_address_id"] or 0)
        if address is None:
            raise ZammadError(500, f"No email address found for group '{group['name']}' ({group['id']})")
        article["subject"] = article["subject"] or ticket["title"]
        fqdn = "zammad.example.com"
        article["message_id"] = (f"<{parse_time(article['created_at']).strftime('%Y%m%d%H%M%S')}."
                                 f"{ticket['id']}.{uuid.uuid4()}@{fqdn}>")
        article["preferences"]["email_address_id"] = address["id"]
        name = f"{self.fullname(user)} via {address['name']}"
        article["from"] = f'"{name}" <{address["email"]}>'

    def _deliver(self, ticket: dict, article: dict) -> None:
        """TicketArticleCommunicateEmailJob, run at once instead of in the background.

        The subject goes out with the ticket hook (`subject_build`: "… [Ticket#<number>]",
        `ticket_hook_position` "right" by default, db/seeds/settings.rb); the article records the delivery in its
        preferences; an `email` history entry on the article, related to the ticket, names
        the subject (`value_from`) and the recipients, to and cc (`value_to`).
        """
        article["preferences"].update(delivery_retry=1, delivery_channel_id=1, delivery_status_message=None,
                                      delivery_status="success", delivery_status_date=article["created_at"])
        self.outbox.append({"ticket_id": ticket["id"], "article_id": article["id"], "from": article["from"],
                            "to": article["to"], "cc": article["cc"], "message_id": article["message_id"],
                            "subject": f"{article['subject']} [Ticket#{ticket['number']}]",
                            "content_type": article["content_type"], "body": article["body"]})
        recipients = ",".join(article[k] for k in ("to", "cc") if article[k])
        if recipients:
            self.log(ticket["id"], o_id=article["id"], type="email", object="Ticket::Article",
                     created_by_id=article["created_by_id"], created_at=article["created_at"],
                     value_from=article["subject"], value_to=recipients, related_o_id=ticket["id"],
                     related_object="Ticket")

    # -- states (ticket_states_controller.rb; app/models/ticket/state.rb) ---------------------------
    def add_state(self, params: dict, *, by: int) -> dict:
        name = params.get("name")
        if not name:
            raise ZammadError(422, "Name can't be blank")
        if self.by_name("states", name):
            raise ZammadError(422, "Name has already been taken")
        try:
            type_id = int(params.get("state_type_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            type_id = None
        if type_id not in STATE_TYPES:
            raise ZammadError(422, "State type must exist")
        sid = self.next_id("states")
        stamp = self.now()
        ignore = params.get("ignore_escalation")
        rec = {"id": sid, "state_type_id": type_id, "name": name, "next_state_id": params.get("next_state_id"),
               "ignore_escalation": bool(ignore) if ignore is not None else False,
               "default_create": bool(params.get("default_create", False)),
               "default_follow_up": bool(params.get("default_follow_up", False)), "note": params.get("note"),
               "active": bool(params.get("active", True)), "updated_by_id": by, "created_by_id": by,
               "created_at": stamp, "updated_at": stamp}
        self.states[sid] = rec
        return rec

    # -- links (app/models/link.rb) --------------------------------------------------------------------
    def links_of(self, obj: str, oid: int) -> list[dict]:
        """Link.list: the other end of each link; parent/child seen from the other side flip."""
        flip = {"parent": "child", "child": "parent", "normal": "normal"}
        out = []
        for lk in sorted(self.links.values(), key=lambda x: x["id"]):
            name = LINK_TYPES[lk["link_type_id"]]
            if lk["link_object_source_value"] == oid:
                out.append({"link_type": name, "link_object": obj, "link_object_value": lk["link_object_target_value"]})
            elif lk["link_object_target_value"] == oid:
                out.append({"link_type": flip[name], "link_object": obj,
                            "link_object_value": lk["link_object_source_value"]})
        return out

    def link_add(self, link_type: str, source: dict, target: dict, *, by: int) -> dict:
        type_id = next(i for i, n in LINK_TYPES.items() if n == link_type)
        for lk in self.links.values():
            if lk["link_type_id"] == type_id and lk["link_object_source_value"] == source["id"] \
                    and lk["link_object_target_value"] == target["id"]:
                return dict(lk)
        lid = self.next_id("links")
        stamp = self.now()
        rec = {"id": lid, "link_type_id": type_id, "link_object_source_id": OBJECT_LOOKUP["Ticket"],
               "link_object_source_value": source["id"], "link_object_target_id": OBJECT_LOOKUP["Ticket"],
               "link_object_target_value": target["id"], "created_at": stamp, "updated_at": stamp}
        self.links[lid] = rec
        for ticket in (source, target):  # Link touches both ends
            self.touch(ticket, by)
        return dict(rec)

    # -- tags (Tag + Tag::WritesToTicketHistory) ------------------------------------------------------
    def tag_add(self, ticket: dict, item: str, *, by: int) -> None:
        item = item.strip()
        current = self.tags.setdefault(ticket["id"], [])
        if item in current:
            return
        current.append(item)
        self.touch(ticket, by)
        self.log(ticket["id"], o_id=ticket["id"], type="added", object="Ticket", attribute="tag", value_to=item,
                 created_by_id=by, created_at=ticket["updated_at"])

    def tag_remove(self, ticket: dict, item: str, *, by: int) -> None:
        item = item.strip()
        current = self.tags.get(ticket["id"], [])
        if item not in current:
            return
        current.remove(item)
        self.touch(ticket, by)
        self.log(ticket["id"], o_id=ticket["id"], type="removed", object="Ticket", attribute="tag",
                 value_to=item, created_by_id=by, created_at=ticket["updated_at"])


def _to_s(value: Any) -> str:
    """Ruby's `to_s` of a stored value, as history keeps it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _MentionLinks(HTMLParser):
    """The `data-mention-user-id` of every `a` element of an HTML body (Nokogiri's css('a[data-mention-user-id]'))."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            value = dict(attrs).get("data-mention-user-id")
            if value:
                self.ids.append(value.strip())


def _mention_ids(body: str) -> list[str]:
    if "data-mention-user-id" not in body:
        return []
    parser = _MentionLinks()
    parser.feed(body)
    parser.close()
    return parser.ids
