"""`ZammadConnector`: reads Zammad tickets as incidents and carries out the daemon's writes.

Reads page through tickets/search (a `condition` on `ticket.updated_at` and the
watched groups, oldest update first, up to 200 a page, expanded), skip what the
cursor has already seen *before* asking for a ticket's history, and take users and
articles from the assets ticket_history/:id already carries, so a read costs one
search call per page plus one history call per changed ticket.

Zammad has no workflow of allowed moves: detecting an illegal change is the daemon's job
(from the state history); this connector only writes what it is told. Zammad's Core
Workflow does check each API update as the agent edit screen would
(app/models/concerns/checks_core_workflow.rb): a pending state needs a `pending_time`
(see `set_state`), and a state of type `new` cannot be set (the mapping writes an
open-type 待处理 instead; connectors/zammad/provision.py).

What the escalator remembers on a ticket (the problem record it filed, that a ticket is
one it filed) lives in the ticket's `preferences`, each under a key of its own: an
object attribute holds no JSON, tags are flat strings and an article per change would
bury the notes people read. Zammad merges `preferences` on update key by key
(TicketsController#update → ApplicationModel#param_preferences_merge) and keeps it out
of the ticket history, so this bookkeeping neither shows nor clobbers Zammad's own keys.

Every write is logged with a stable event name (`zammad.attribute-set`,
`zammad.note-added`, `zammad.mentioned`, `zammad.linked`, ...)
and structured fields; the token never reaches a log line.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.base import (
    Change,
    Cursor,
    Fresh,
    Person,
    ReadResult,
    RecordSpec,
    markers_in,
    plain,
    record_label,
)
from connectors.http import NotFound, TrackerError
from connectors.writes import write_once
from connectors.zammad import notes
from connectors.zammad.client import MAX_SEARCH_PAGE, ZammadClient, search_condition
from connectors.zammad.translate import NOBODY, TRACKER, Lookups, Translator, full_name, parse_time
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable

log = logging.getLogger("escalator.zammad")

#: The key under the incident's `preferences` naming its problem record (written last)
PROBLEM_KEY = "incident_escalator_problem"
#: How far ahead the reminder of a pending state goes when the ticket's history names no
#: reminder still to come (`tracker.pending_default`, hours)
PENDING_DEFAULT = timedelta(hours=24)
#: Zammad's state types whose states need a `pending_time` (CoreWorkflow::Custom::PendingTime)
PENDING_TYPES = frozenset({"pending reminder", "pending action"})
#: The key under the `preferences` of a ticket the escalator filed (a problem, a task): such a
#: ticket may sit in a watched group, but it is no incident and is never read as one
FILED_KEY = "incident_escalator_filed"
#: How many tickets' mentions `read_fresh` keeps for the notification that may follow (the oldest
#: forgotten first; a ticket forgotten costs a GET /mentions when it is notified)
MENTIONS_KEPT = 10_000


class ZammadConnector:
    """`connectors.base.Connector` for Zammad (REST v1)."""

    tracker = TRACKER
    #: Where a Zammad ticket lives; the duty settings name where the escalator files its own
    #: tickets under this key (duties.problems.group, duties.callbacks_task.group)
    container_key = "group"
    #: What Zammad calls a label, in each note language: a tag (the UI's Chinese says 标记)
    label_term = {"zh": "标记（tag）", "en": "tag"}

    def __init__(self, client: ZammadClient, mapping: TrackerMapping, *, projects: list[str] | None = None,
                 page_size: int = MAX_SEARCH_PAGE, pending_default: timedelta = PENDING_DEFAULT):
        self.client = client
        self.pending_default = pending_default
        self.mapping = mapping
        self.projects = list(projects if projects is not None else mapping.projects)
        self.page_size = max(1, min(page_size, MAX_SEARCH_PAGE))
        self.translator = Translator(mapping)
        self.lookups = Lookups()
        self._loaded: set[str] = set()
        self._refreshed: set[int] = set()
        self._users: dict[int, dict | None] = {}
        self._logins: dict[str, int | None] = {}
        #: ticket id -> (its updated_at, the user ids mentioned on it) as `read_fresh` last found them
        self._mentioned: OrderedDict[str, tuple[datetime, frozenset[int]]] = OrderedDict()

    # -- reads ---------------------------------------------------------------------------------------
    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        since = cursor.query_from()
        condition = search_condition(since, self._group_ids())
        started: datetime | None = None  # when the first page reached Zammad, by its clock
        for attempt in range(2):
            drifted = False
            seen_here: set[str] = set()
            for ticket in self.client.all_tickets(condition, self.page_size):
                if attempt == 0 and not seen_here:  # the first page is in, no other call made since
                    started = self.client.http.answered_at
                ticket_id = str(ticket["id"])
                updated = parse_time(ticket.get("updated_at"))
                if ticket_id in seen_here:
                    # updated while we paged: it moved to the end and shifted later pages
                    # left by one, so one ticket may have slipped between two pages
                    drifted = True
                seen_here.add(ticket_id)
                if updated is None or not cursor.is_new(ticket_id, updated):
                    continue
                if (ticket.get("preferences") or {}).get(FILED_KEY):
                    cursor.advance(ticket_id, updated)  # a problem or task of ours: not an incident
                    continue
                try:
                    result = self._read(ticket)
                except NotFound:
                    # deleted (or moved out of our reach) between the search and its history
                    log.info("zammad.ticket-gone", extra={"event": "zammad.ticket-gone", "ticket": ticket.get("number")})
                    continue
                cursor.advance(ticket_id, updated)
                yield result
            if attempt == 0 and not seen_here:  # nothing matched: the one call made was the search
                started = self.client.http.answered_at
            if not drifted:
                break
            log.info("zammad.read-drift", extra={"event": "zammad.read-drift", "attempt": attempt + 1})
        # complete: what was updated `overlap` before the first page was asked for has been shown
        # (`Cursor.read_at`); a read given up half-way never gets here
        cursor.read_at = started

    def read_one(self, ticket_id: str) -> ReadResult:
        """By internal id, else by ticket number."""
        try:
            ticket = self.client.get_ticket(ticket_id)
        except NotFound:
            found = self.client.search_tickets([("condition[ticket.number][operator]", "is"),
                                                ("condition[ticket.number][value]", str(ticket_id))], 1, 1)
            if not found:
                raise
            ticket = found[0]
        return self._read(ticket)

    def read_fresh(self, ticket_id: str) -> Fresh:
        """The ticket, its history, its articles and who is mentioned on it, in ONE call:
        GET /ticket_history/:id. Zammad answers it with `history_get(true)`: the entries of the
        ticket and of its related objects (`history_relation_object 'Ticket::Article', 'Mention', ...`
        in app/models/ticket.rb) and the assets of every record an entry names
        (app/models/concerns/has_history.rb#history_get) — the ticket itself among them, as
        `attributes_with_association_ids` with its organisation and users (app/models/ticket/assets.rb),
        and each article. The markers are looked for in those articles; the mentions are the Mention
        entries' `value_to`, the user id (app/models/mention.rb#history_log_attributes), `created` and
        `removed`. Only a ticket the history names nowhere (an import: History.add skips import mode)
        costs a GET /tickets/:id more."""
        try:
            answer = self.client.history(ticket_id)
        except NotFound:
            return Fresh(self.read_one(ticket_id), frozenset())  # a number: rarely; read_one says
        ticket = self._ticket_of(ticket_id, answer)
        articles: list[dict] = []
        item = self._read(ticket, articles, answer)
        found: set[str] = set()
        for article in articles:
            found |= markers_in(article.get("body"))
        if isinstance(item, Incident):
            self._remember_mentions(item, answer.get("history") or [])
        return Fresh(item, frozenset(found))

    def _ticket_of(self, ticket_id: str, answer: dict) -> dict:
        """The ticket among the history's assets, with its organisation's name as the expanded ticket
        carries it; else GET /tickets/:id."""
        assets = answer.get("assets") or {}
        ticket = (assets.get("Ticket") or {}).get(str(ticket_id))
        if ticket is None:
            return self.client.get_ticket(ticket_id)
        ticket = dict(ticket)
        org_id = ticket.get("organization_id")
        if org_id is not None and not ticket.get("organization"):
            org = (assets.get("Organization") or {}).get(str(org_id))
            if org is None:
                return self.client.get_ticket(ticket_id)  # an older Zammad: its assets name no organisation
            ticket["organization"] = org.get("name")
        return ticket

    def _remember_mentions(self, item: Incident, history: list[dict]) -> None:
        mentioned: set[int] = set()
        for entry in history:
            if entry.get("object") != "Mention" or not str(entry.get("value_to") or "").isdigit():
                continue
            if entry.get("type") == "created":
                mentioned.add(int(entry["value_to"]))
            elif entry.get("type") == "removed":
                mentioned.discard(int(entry["value_to"]))
        self._mentioned.pop(item.id, None)
        self._mentioned[item.id] = (item.updated_at, frozenset(mentioned))
        while len(self._mentioned) > MENTIONS_KEPT:
            self._mentioned.popitem(last=False)

    def _mentions_of(self, incident: Incident) -> set[int]:
        """Who is mentioned on the ticket: as its last `read_fresh` found it when `incident` is that
        read (a mention added or removed touches the ticket, Mention#update_mentionable, so the same
        `updated_at` is the same mentions), else GET /mentions."""
        known = self._mentioned.pop(incident.id, None)
        if known is not None and known[0] == incident.updated_at:
            return set(known[1])
        return {int(m.get("user_id")) for m in self.client.mentions(incident.id) if m.get("user_id") is not None}

    def _read(self, ticket: dict, articles_out: list[dict] | None = None, answer: dict | None = None) -> ReadResult:
        """`ticket` translated with its history (`answer`: the ticket_history answer already in hand)."""
        self._load("states")
        state_id = ticket.get("state_id")
        if state_id is not None and int(state_id) not in self.lookups.states and int(state_id) not in self._refreshed:
            self._refreshed.add(int(state_id))  # once per unknown id: a state created since we looked
            self._load("states", refresh=True)
        if not ticket.get("group") and ticket.get("group_id") is not None:
            self._load("groups")  # a plain (not expanded) answer names no group
        if answer is None:
            answer = self.client.history(str(ticket["id"]))
        history = answer.get("history") or []
        assets = answer.get("assets") or {}
        for user_id, record in (assets.get("User") or {}).items():
            self._users[int(user_id)] = record
        articles = [a for a in (assets.get("TicketArticle") or {}).values()
                    if str(a.get("ticket_id")) == str(ticket["id"])]
        if not articles and int(ticket.get("article_count") or 0) > 0:
            articles = self.client.articles(str(ticket["id"]))
        if articles_out is not None:
            articles_out.extend(articles)
        result = self.translator.translate(ticket, history, self.lookups, self._user, articles)
        if isinstance(result, Unreadable):
            log.warning("zammad.unreadable", extra={"event": "zammad.unreadable", "ticket": result.ref,
                                                    "reason": result.reason})
        return result

    # -- look-ups (cached for the connector's lifetime) -------------------------------------------------
    def _load(self, kind: str, refresh: bool = False) -> None:
        if kind in self._loaded and not refresh:
            return
        if kind == "states":
            self.lookups.states = {int(s["id"]): s for s in self.client.states()}
        elif kind == "groups":
            self.lookups.groups = {int(g["id"]): g for g in self.client.groups()}
        self._loaded.add(kind)

    def _group_ids(self) -> list[int]:
        if not self.projects:
            return []
        self._load("groups")
        by_name = {g.get("name"): gid for gid, g in self.lookups.groups.items()}
        missing = [p for p in self.projects if p not in by_name]
        if missing:
            self._load("groups", refresh=True)
            by_name = {g.get("name"): gid for gid, g in self.lookups.groups.items()}
            missing = [p for p in self.projects if p not in by_name]
        if missing:
            raise TrackerError(f"zammad: tracker.projects names no Zammad group {', '.join(map(repr, missing))} "
                               f"(groups: {', '.join(sorted(str(n) for n in by_name))})")
        return [by_name[p] for p in self.projects]

    def _user(self, user_id: Any) -> dict | None:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            return None
        if key not in self._users:
            try:
                self._users[key] = self.client.user(key)
            except NotFound:
                self._users[key] = None
        return self._users[key]

    def user_id(self, login: str) -> int | None:
        """A login (or e-mail address) as a Zammad user id; None when nobody has it."""
        wanted = login.strip().lower()
        if wanted in self._logins:
            return self._logins[wanted]
        for record in self._users.values():
            if record and wanted in (str(record.get("login", "")).lower(), str(record.get("email", "")).lower()):
                self._logins[wanted] = int(record["id"])
                return self._logins[wanted]
        found = None
        for record in self.client.search_users(login):
            if wanted in (str(record.get("login", "")).lower(), str(record.get("email", "")).lower()):
                found = int(record["id"])
                self._users[found] = record
                break
        self._logins[wanted] = found
        return found

    def person(self, user: str) -> Person:
        """A login of the role directory (or of the history) as the person a note mentions: the user's
        full name and id, from the users a read brought or one search (`user_id`, remembered)."""
        user_id = self.user_id(user)
        record = self._users.get(user_id) if user_id is not None else None
        if not record or user_id == NOBODY:
            return Person(user)
        return Person(user, full_name(record) or str(record.get("login") or user), str(user_id))

    # -- writes ------------------------------------------------------------------------------------
    def _put(self, incident: Incident, fields: dict[str, Any], term: str, value: object) -> None:
        self.client.update_ticket(incident.id, fields)
        log.info("zammad.attribute-set", extra={"event": "zammad.attribute-set", "ticket": incident.ref,
                                                "term": term, "attribute": next(iter(fields)), "value": value})

    def set_severity(self, incident: Incident, severity: int) -> None:
        sev = self.mapping.severity
        option = sev.values[severity]
        if sev.source == "priority":
            self._put(incident, {"priority_id": int(option)}, "severity", severity)
        else:
            self._put(incident, {sev.field: option}, "severity", severity)

    def set_escalation_level(self, incident: Incident, level: int) -> None:
        self._put(incident, {self.mapping.escalation_level.field: self.mapping.escalation_level.values[level]},
                  "escalation_level", level)

    def set_state(self, incident: Incident, state: int) -> bool:
        ids = self.mapping.states.get(state) or []
        if not ids:
            log.warning("zammad.state-missing", extra={"event": "zammad.state-missing", "ticket": incident.ref,
                                                       "state": state})
            return False
        if incident.state == state:
            return True  # already there: nothing to write
        fields: dict[str, Any] = {"state_id": int(ids[0])}
        self._load("states")
        if (self.lookups.states.get(int(ids[0])) or {}).get("state_type") in PENDING_TYPES:
            when = self._pending_time(incident)
            if when is not None:
                fields["pending_time"] = when
        self._put(incident, fields, "state", state)
        return True

    def write(self, incident: Incident, change: Change) -> bool:
        """The note and its attributes in ONE request: PUT /api/v1/tickets/:id takes an `article`
        together with the attributes, and Zammad stores both in one transaction or neither
        (app/controllers/tickets_controller.rb#update: `ticket.with_lock` around `ticket.update!`
        and `article_create`)."""
        fields: dict[str, Any] = {}
        part_of: dict[str, str] = {}  # attribute -> the value it carries, to name a refused one
        if change.severity is not None:
            sev = self.mapping.severity
            option = sev.values[change.severity]
            fields.update({"priority_id": int(option)} if sev.source == "priority" else {sev.field: option})
            part_of["priority_id" if sev.source == "priority" else str(sev.field)] = "severity"
        if change.level is not None:
            lvl = self.mapping.escalation_level
            fields[lvl.field] = lvl.values[change.level]
            part_of[str(lvl.field)] = "level"
        if change.state is not None and incident.state != change.state:
            part_of["state_id"] = "state"
            ids = self.mapping.states.get(change.state) or []
            if not ids:
                log.warning("zammad.state-missing", extra={"event": "zammad.state-missing", "ticket": incident.ref,
                                                           "state": change.state})
                return False
            fields["state_id"] = int(ids[0])
            self._load("states")
            if (self.lookups.states.get(int(ids[0])) or {}).get("state_type") in PENDING_TYPES:
                when = self._pending_time(incident)  # a pending state needs its reminder (see there)
                if when is not None:
                    fields["pending_time"] = when
        subject = plain(change.text).strip().splitlines()[0][:120] if change.text.strip() else change.marker
        article = notes.article_payload(incident.id, subject, change.text, change.marker, public=False)
        article.pop("ticket_id")
        try:
            write_once(lambda: self.client.update_ticket(incident.id, {**fields, "article": article},
                                                         idempotent=False),
                       lambda: change.marker in self.read_fresh(incident.id).markers, tracker="zammad",
                       ticket=incident.ref, marker=change.marker)
        except TrackerError as err:
            err.part = _refused_part(err, part_of)
            raise
        log.info("zammad.written", extra={"event": "zammad.written", "ticket": incident.ref, "marker": change.marker,
                                          "attributes": sorted(fields), **change.values()})
        return True

    def _pending_time(self, incident: Incident) -> str | None:
        """The `pending_time` to send with a move into a pending state, None when the ticket keeps one.

        Core Workflow refuses a pending state without it (422 "Missing required value for field
        'pending_time'!", app/models/core_workflow/custom/pending_time.rb), and Zammad clears it
        whenever a ticket leaves a pending state (Ticket#reset_pending_time), so moving a ticket
        back into 挂起/暂停 always lacks it. Which one: the reminder people last set on the ticket
        (its history), when it is still to come - putting a ticket back should restore what they
        chose, not invent a date; else now plus `tracker.pending_default` - a reminder already
        past would fire at once (Zammad's pending reminder notification, or a pending action's
        automatic move) for a ticket that was only put back.
        """
        ticket = self.client.get_ticket(incident.id)
        if ticket.get("pending_time"):
            return None  # a move between pending states: the ticket's own reminder stays
        now = self.client.http.now()
        last = None
        for entry in self.client.history(incident.id).get("history") or []:
            if entry.get("attribute") == "pending_time" and entry.get("value_to"):
                try:
                    last = parse_time(entry["value_to"])
                except ValueError:
                    continue
        chosen = last if last is not None and last > now else now + self.pending_default
        log.info("zammad.pending-time", extra={"event": "zammad.pending-time", "ticket": incident.ref,
                                               "pending_time": _iso(chosen),
                                               "source": "history" if chosen is last else "default"})
        return _iso(chosen)

    def has_marker(self, incident: Incident, marker: str) -> bool:
        return any(notes.has_marker(a.get("body"), marker) for a in self.client.articles(incident.id))

    def add_note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        if self.has_marker(incident, marker):
            log.info("zammad.note-exists", extra={"event": "zammad.note-exists", "ticket": incident.ref,
                                                  "marker": marker})
            return False
        subject = plain(text).strip().splitlines()[0][:120] if text.strip() else marker

        def create(payload: dict) -> dict | None:
            # the article may have been stored before a failure: its marker tells
            return write_once(lambda: self.client.create_article(payload), lambda: self.has_marker(incident, marker),
                              tracker="zammad", ticket=incident.ref, marker=marker)

        if public:
            to, reason = self._reply_address(incident)
            if to:
                article = create(notes.reply_payload(incident.id, subject, text, marker, to=to))
                log.info("zammad.reply-sent", extra={"event": "zammad.reply-sent", "ticket": incident.ref,
                                                     "marker": marker, "to": to,
                                                     "article": (article or {}).get("id")})
                return True
            log.warning("zammad.reply-as-note", extra={"event": "zammad.reply-as-note", "ticket": incident.ref,
                                                       "marker": marker, "reason": reason})
        article = create(notes.article_payload(incident.id, subject, text, marker, public=public))
        log.info("zammad.note-added", extra={"event": "zammad.note-added", "ticket": incident.ref, "marker": marker,
                                             "public": public, "article": (article or {}).get("id")})
        return True

    def _reply_address(self, incident: Incident) -> tuple[str | None, str]:
        """The customer's e-mail address for a reply, or None and why no e-mail can go out.

        Read from the ticket as it is now (the customer may have changed). Zammad sends an
        agent's e-mail from the ticket group's address and refuses to create one without it
        ("No email address found for group", app/models/ticket/article/adds_metadata_email.rb),
        so a group without an address gets a public note too.
        """
        ticket = self.client.get_ticket(incident.id)
        customer_id = ticket.get("customer_id")
        customer = self._user(customer_id) if customer_id not in (None, NOBODY) else None
        if not customer:
            return None, "the ticket has no customer"
        email = str(customer.get("email") or "").strip()
        if not email:
            return None, f"customer {customer.get('login') or customer_id} has no e-mail address"
        group_id = ticket.get("group_id")
        if group_id is not None:
            self._load("groups")
            if int(group_id) not in self.lookups.groups:
                self._load("groups", refresh=True)
            group = self.lookups.groups.get(int(group_id)) or {}
            if not group.get("email_address_id"):
                return None, f"group {group.get('name') or group_id} has no e-mail address to send from"
        return email, ""

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        """Mention each person on the ticket: Zammad subscribes and notifies them."""
        already = self._mentions_of(incident)
        for login in people:
            user_id = self.user_id(login)
            if user_id is None or user_id == NOBODY:
                log.warning("zammad.user-missing", extra={"event": "zammad.user-missing", "ticket": incident.ref,
                                                          "login": login})
                continue
            if user_id in already:
                continue
            self.client.add_mention(incident.id, user_id)
            already.add(user_id)
            log.info("zammad.mentioned", extra={"event": "zammad.mentioned", "ticket": incident.ref, "login": login,
                                                "user_id": user_id, "subject": subject})

    # -- records the escalator files: problems (§4.3.6) and the weekly call-back task (§4.6.3) ----------
    def find_problem(self, incident: Incident) -> str | None:
        # the preference is written last (after the link): where it is, the problem is complete
        ticket = self.client.get_ticket(incident.id)
        value = (ticket.get("preferences") or {}).get(PROBLEM_KEY)
        return str(value["number"]) if isinstance(value, dict) and value.get("number") else None

    def create_problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        label = record_label("problem", incident.ref)
        found = self._tagged(label)
        if found is None:
            ticket = self.client.get_ticket(incident.id)
            found = self._create(label, title, text, spec.container or incident.project,
                                 customer_id=ticket.get("customer_id"), owner=None, kind="problem")
            log.info("zammad.problem-created", extra={"event": "zammad.problem-created", "ticket": incident.ref,
                                                      "problem": found["number"], "tag": label})
        self._link(incident, found)
        self.client.update_ticket(incident.id, {"preferences": {PROBLEM_KEY: {
            "number": str(found["number"]), "id": int(found["id"])}}})
        return str(found["number"])

    def link_record(self, incident: Incident, label: str, spec: RecordSpec) -> str:
        found = self._tagged(label)
        if found is None:
            raise TrackerError(f"zammad: no ticket tagged {label!r} to link {incident.ref} to")
        self._link(incident, found)
        return str(found["number"])

    def _link(self, incident: Incident, found: dict) -> None:
        """A `normal` link between the incident and `found`, unless one is there (GET /links first)."""
        if not any(str(link.get("link_object_value")) == str(found["id"]) and link.get("link_object") == "Ticket"
                   for link in self.client.links(incident.id)):
            self.client.add_link(incident.id, str(found["number"]), "normal")
            log.info("zammad.linked", extra={"event": "zammad.linked", "ticket": incident.ref,
                                             "other": found["number"], "link_type": "normal"})

    def find_task(self, label: str) -> str | None:
        found = self._tagged(label)
        return str(found["number"]) if found else None

    def create_task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        group = spec.container or (self.projects[0] if self.projects else None)
        found = self._create(label, title, text, group, customer_id=self.client.me().get("id"), owner=assignee,
                             kind="task")
        log.info("zammad.task-created", extra={"event": "zammad.task-created", "ticket": found["number"],
                                               "tag": label, "owner": assignee})
        return str(found["number"])

    def _tagged(self, tag: str) -> dict | None:
        found = self.client.search_tickets([("condition[ticket.tags][operator]", "contains all"),
                                            ("condition[ticket.tags][value]", tag)], 1, 1)
        return found[0] if found else None

    def _create(self, tag: str, title: str, text: str, group: str | None, *, customer_id: Any,
                owner: str | None, kind: str) -> dict:
        if not group:
            raise TrackerError("zammad: no group to file the ticket in (set duties.problems.group)")
        payload: dict[str, Any] = {
            "title": title[:250], "group": group, "customer_id": customer_id, "tags": tag,
            "preferences": {FILED_KEY: kind},
            # an internal note: the record is for the team, not the customer
            "article": {"subject": plain(title)[:250], "body": plain(text), "type": "note", "internal": True,
                        "content_type": "text/plain"}}
        if owner:
            owner_id = self.user_id(owner)
            if owner_id is None:
                log.warning("zammad.user-missing", extra={"event": "zammad.user-missing", "login": owner})
            else:
                payload["owner_id"] = owner_id
        return self.client.create_ticket(payload)

    def close(self) -> None:
        self.client.http.close()


def _refused_part(err: TrackerError, part_of: dict[str, str]) -> str | None:
    """The value a 422 on a ticket update with its article names: Zammad's validation messages name
    the attribute ("Missing required value for field 'pending_time'!" for a pending state without its
    time, app/models/ticket.rb; an attribute's own name for its value); None: the request whole."""
    if err.status != 422:
        return None
    text = " ".join([str(err), *err.messages])
    if "state_id" in part_of and ("pending_time" in text or "state" in text.lower()):
        return "state"
    named = {part for name, part in part_of.items() if name in text}
    return named.pop() if len(named) == 1 else None


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
