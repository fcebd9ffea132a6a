"""A Zammad ticket and its history → `mapping.incident.Incident`, through the admin's mapping.

Input is what Zammad answers: a ticket from tickets/search or tickets/:id with
expand=true (association names beside their ids; custom object-manager attributes
as top-level keys), and the entries of ticket_history/:id. A history entry is
`{type: "updated"|"added"|"removed"|..., object: "Ticket", attribute: "state",
id_from, id_to, value_from, value_to, created_by_id, created_at}`: ids for
association columns (state, priority, group), values for plain attributes, and
`attribute: "tag"` with the tag in `value_to` for tags added or removed
(app/models/concerns/has_history.rb, app/models/tag.rb in Zammad's source).

Nothing is guessed: a state, severity, category or level value the mapping does not
know makes the ticket `Unreadable`, with the ticket number and the value in the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import MARKER_PREFIX
from connectors.zammad.notes import plain_text
from mapping.fieldmap import TrackerMapping
from mapping.incident import (
    Acknowledged,
    DowngradeApproval,
    EscalationRecord,
    GroupChange,
    Incident,
    LevelChange,
    ManualEscalationRequest,
    SeverityChange,
    StateChange,
    Unreadable,
)

TRACKER = "zammad"
#: Zammad's placeholder user "-" (id 1) stands for "nobody" (owner not set, system actions).
NOBODY = 1

UserLookup = Callable[[Any], "dict | None"]


class _Unmapped(Exception):
    """A value the mapping does not know: the reason, for `Unreadable`."""


def parse_time(value: Any) -> datetime | None:
    """Zammad's `2025-05-13T08:37:16.572Z` (and the older `2025-05-13 08:37:16 UTC`) as aware UTC."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class Lookups:
    """Zammad's reference data, by id (the connector caches them)."""

    states: dict[int, dict] = field(default_factory=dict)
    groups: dict[int, dict] = field(default_factory=dict)


@dataclass
class Translator:
    """Turns one ticket (+ history) into an Incident.

    The contract is the ticket's own (the mapped contract attribute) or None: the rules
    that pick one for a ticket naming none are the escalator's (`plugin.contracts`), not
    the tracker's.
    """

    mapping: TrackerMapping

    def __post_init__(self) -> None:
        m = self.mapping
        self._severity = {str(v): k for k, v in m.severity.values.items()}
        self._category = {str(v): k for k, v in m.category.values.items()}
        self._level = {str(v): k for k, v in m.escalation_level.values.items()}

    # -- the whole ticket ----------------------------------------------------------------------
    def translate(self, ticket: dict, history: list[dict], lookups: Lookups, user: UserLookup,
                  articles: list[dict] | None = None) -> Incident | Unreadable:
        number = str(ticket.get("number") or ticket.get("id"))
        updated = parse_time(ticket.get("updated_at"))
        try:
            return self._incident(ticket, history, lookups, user, articles or [])
        except _Unmapped as exc:
            return Unreadable(tracker=TRACKER, id=str(ticket.get("id")), ref=number,
                              reason=f"ticket {number}: {exc}", updated_at=updated)

    def _incident(self, ticket: dict, history: list[dict], lookups: Lookups, user: UserLookup,
                  articles: list[dict]) -> Incident:
        m = self.mapping
        created = parse_time(ticket.get("created_at"))
        updated = parse_time(ticket.get("updated_at"))
        if created is None or updated is None:
            raise _Unmapped("has no created_at/updated_at")
        reported = created
        if m.report_time.field and not _blank(ticket.get(m.report_time.field)):
            reported = parse_time(ticket.get(m.report_time.field)) or created
        start = min(reported, created)  # the initial values of every history hold from here
        creator = self._who(ticket.get("created_by_id"), user)

        updates = sorted((e for e in history if e.get("type") == "updated"), key=lambda e: e.get("created_at") or "")
        tags = [e for e in history if e.get("attribute") == "tag" and e.get("type") == "added"]

        state = self._state(ticket.get("state_id"), ticket.get("state"), lookups)
        state_history = self._state_history(updates, ticket, lookups, start, creator, user)
        severity, severity_history = self._severities(ticket, updates, start, creator, user)
        level, escalations, level_changes = self._levels(ticket, updates, user)
        category = self._category_of(ticket)
        group = self._group_name(ticket.get("group_id"), ticket.get("group"), lookups)
        organisation = ticket.get("organization") or None
        contract = None
        if m.contract.field and not _blank(ticket.get(m.contract.field)):
            contract = str(ticket.get(m.contract.field))

        approvals: list[DowngradeApproval] = []
        requests: list[ManualEscalationRequest] = []
        acknowledged: list[Acknowledged] = []
        for entry in tags:
            at = parse_time(entry.get("created_at"))
            if at is None:
                continue
            by, by_name = self._who(entry.get("created_by_id"), user)
            if entry.get("value_to") == m.labels.escalate:
                requests.append(ManualEscalationRequest(at=at, by=by, by_name=by_name))
            elif entry.get("value_to") == m.labels.acknowledge:
                acknowledged.append(Acknowledged(at=at, by=by, by_name=by_name))
            elif entry.get("value_to") == m.labels.approve_downgrade:
                # the severity in effect right after the approval was recorded
                after = [c.severity for c in severity_history if c.at <= at]
                if after:
                    approvals.append(DowngradeApproval(at=at, by=by, by_name=by_name, to_severity=after[-1]))

        owner_id = ticket.get("owner_id")
        assignee = assignee_name = None
        if owner_id not in (None, NOBODY):
            owner = user(owner_id) or {}
            assignee = owner.get("login") or ticket.get("owner") or str(owner_id)
            assignee_name = full_name(owner)

        facts = self._facts(ticket, user, creator, reported, severity, state, lookups, articles)
        return Incident(
            tracker=TRACKER, id=str(ticket["id"]), ref=str(ticket.get("number") or ticket["id"]),
            title=ticket.get("title") or "", project=group, organisation=organisation, contract=contract,
            reported_at=reported, updated_at=updated, severity=severity, category=category, state=state,
            assignee=assignee, assignee_name=assignee_name, group=group, escalation_level=level,
            state_history=tuple(state_history),
            severity_history=tuple(severity_history), escalations=tuple(escalations), level_changes=tuple(level_changes),
            manual_requests=tuple(requests), approvals=tuple(approvals), acknowledgements=tuple(acknowledged),
            group_history=tuple(self._group_history(updates, ticket, lookups, start, creator, user)),
            root_cause_unknown=self._flag(ticket, m.root_cause_unknown.field), facts=facts,
        )

    # -- states ------------------------------------------------------------------------------------
    def _state(self, state_id: Any, name: Any, lookups: Lookups) -> int:
        if state_id is None and name is not None:
            state_id = next((i for i, s in lookups.states.items() if s.get("name") == name), None)
        code = self.mapping.state_of(str(state_id)) if state_id is not None else None
        if code is None:
            shown = name or (lookups.states.get(_int(state_id)) or {}).get("name") or "?"
            raise _Unmapped(f"state {shown!r} (id {state_id}) is mapped to no procedure state")
        return code

    def _state_history(self, updates: list[dict], ticket: dict, lookups: Lookups, start: datetime,
                       creator: tuple[str | None, str | None], user: UserLookup) -> list[StateChange]:
        changes = [e for e in updates if e.get("attribute") == "state"]
        if changes:
            first = changes[0]
            initial = self._state(first.get("id_from"), first.get("value_from"), lookups)
        else:
            initial = self._state(ticket.get("state_id"), ticket.get("state"), lookups)
        out = [StateChange(state=initial, at=start, by=creator[0], by_name=creator[1])]
        for entry in changes:
            at = parse_time(entry.get("created_at"))
            if at is None:
                continue
            by, by_name = self._who(entry.get("created_by_id"), user)
            out.append(StateChange(state=self._state(entry.get("id_to"), entry.get("value_to"), lookups),
                                   at=at, by=by, by_name=by_name))
        return out

    # -- severity ------------------------------------------------------------------------------------
    def _severity_value(self, value: Any, what: str) -> int | None:
        if _blank(value):
            return None
        key = str(value)
        if key not in self._severity:
            raise _Unmapped(f"{what} {value!r} is mapped to no severity")
        return self._severity[key]

    def _severities(self, ticket: dict, updates: list[dict], start: datetime, creator: tuple[str | None, str | None],
                    user: UserLookup) -> tuple[int | None, list[SeverityChange]]:
        sev = self.mapping.severity
        if sev.source == "priority":
            attribute, current_raw = "priority", ticket.get("priority_id")
            what = f"priority {ticket.get('priority') or current_raw!r}"

            def raw(entry: dict, side: str) -> Any:
                return entry.get(f"id_{side}")
        else:
            attribute, current_raw = sev.field or "", ticket.get(sev.field or "")
            what = f"{attribute} value"

            def raw(entry: dict, side: str) -> Any:
                return entry.get(f"value_{side}")
        current = self._severity_value(current_raw, what)
        changes = [e for e in updates if e.get("attribute") == attribute]
        initial = self._severity_value(raw(changes[0], "from"), what) if changes else current
        out = []
        if initial is not None:
            out.append(SeverityChange(severity=initial, at=start, by=creator[0], by_name=creator[1]))
        for entry in changes:
            at = parse_time(entry.get("created_at"))
            value = self._severity_value(raw(entry, "to"), what)
            if at is not None and value is not None:
                by, by_name = self._who(entry.get("created_by_id"), user)
                out.append(SeverityChange(severity=value, at=at, by=by, by_name=by_name))
        return current, out

    # -- escalation level -------------------------------------------------------------------------
    def _level_value(self, value: Any) -> int:
        if _blank(value):
            return 0
        key = str(value)
        if key not in self._level:
            raise _Unmapped(f"{self.mapping.escalation_level.field} value {value!r} is mapped to no escalation level")
        return self._level[key]

    def _levels(self, ticket: dict, updates: list[dict], user: UserLookup
                ) -> tuple[int, list[EscalationRecord], list[LevelChange]]:
        """The level field now, the escalations its history shows, and every change of it."""
        name = self.mapping.escalation_level.field
        current = self._level_value(ticket.get(name))
        records: list[EscalationRecord] = []
        changes: list[LevelChange] = []
        for entry in updates:
            if entry.get("attribute") != name:
                continue
            at = parse_time(entry.get("created_at"))
            if at is None:
                continue
            before, after = self._level_value(entry.get("value_from")), self._level_value(entry.get("value_to"))
            by, by_name = self._who(entry.get("created_by_id"), user)
            changes.append(LevelChange(level=after, at=at, by=by, by_name=by_name))
            if after <= before:
                continue
            # a jump (0 -> 2) means every rung up to it has been reported
            records += [EscalationRecord(level=lvl, at=at, by=by, by_name=by_name) for lvl in range(before + 1, after + 1)]
        return current, records, changes

    # -- category, group, flags ----------------------------------------------------------------------
    def _category_of(self, ticket: dict) -> str | None:
        value = ticket.get(self.mapping.category.field)
        if _blank(value):
            return None
        if str(value) not in self._category:
            raise _Unmapped(f"{self.mapping.category.field} value {value!r} is mapped to no category")
        return self._category[str(value)]

    @staticmethod
    def _group_name(group_id: Any, name: Any, lookups: Lookups) -> str | None:
        if not _blank(name):
            return str(name)
        record = lookups.groups.get(_int(group_id)) if group_id is not None else None
        return (record or {}).get("name") or (str(group_id) if group_id is not None else None)

    def _group_history(self, updates: list[dict], ticket: dict, lookups: Lookups, start: datetime,
                       creator: tuple[str | None, str | None], user: UserLookup) -> list[GroupChange]:
        changes = [e for e in updates if e.get("attribute") == "group"]
        if changes:
            initial = self._group_name(changes[0].get("id_from"), changes[0].get("value_from"), lookups)
        else:
            initial = self._group_name(ticket.get("group_id"), ticket.get("group"), lookups)
        out = [GroupChange(group=initial, at=start, by=creator[0], by_name=creator[1])]
        for entry in changes:
            at = parse_time(entry.get("created_at"))
            if at is not None:
                by, by_name = self._who(entry.get("created_by_id"), user)
                out.append(GroupChange(group=self._group_name(entry.get("id_to"), entry.get("value_to"), lookups),
                                       at=at, by=by, by_name=by_name))
        return out

    @staticmethod
    def _flag(ticket: dict, name: str | None) -> bool:
        if not name:
            return False
        value = ticket.get(name)
        return value is True or str(value).lower() in ("true", "1", "yes")

    # -- §4.1.4 facts ------------------------------------------------------------------------------
    def _facts(self, ticket: dict, user: UserLookup, creator: tuple[str | None, str | None], reported: datetime,
               severity: int | None, state: int, lookups: Lookups, articles: list[dict]) -> dict[str, str | None]:
        m = self.mapping
        customer = user(ticket.get("customer_id")) if ticket.get("customer_id") not in (None, NOBODY) else None
        contact = None
        if customer:
            contact = ", ".join(str(customer[k]) for k in ("email", "phone", "mobile") if not _blank(customer.get(k)))
        symptom = None
        for article in sorted(articles, key=lambda a: (a.get("created_at") or "", a.get("id") or 0)):
            text = plain_text(article.get("body"), article.get("content_type"))
            # the escalator's own notes describe no symptom: only what people wrote counts
            if text and MARKER_PREFIX not in text:
                symptom = text
                break
        return {
            "number": str(ticket.get("number") or ""),
            "reported_at": reported.isoformat(),
            "recorded_by": creator[1] or creator[0],
            "reporter": (full_name(customer) if customer else None) or _none(ticket.get("customer")),
            "contact": contact or None,
            "occurred_at": _none(ticket.get(m.occurred_at.field)) if m.occurred_at.field else None,
            "affected_ci": _none(ticket.get(m.affected_ci.field)) if m.affected_ci.field else None,
            "symptom": symptom,
            "impact": str(severity) if severity is not None else None,
            "state": (lookups.states.get(_int(ticket.get("state_id"))) or {}).get("name") or ticket.get("state")
            or str(state),
        }

    # -- people ------------------------------------------------------------------------------------
    @staticmethod
    def _who(user_id: Any, user: UserLookup) -> tuple[str | None, str | None]:
        """(login, display name) of a user id; the login is what the role directory names."""
        if user_id is None:
            return None, None
        record = user(user_id)
        if not record:
            return str(user_id), None
        return record.get("login") or str(user_id), full_name(record) or record.get("login")


def full_name(record: dict) -> str | None:
    """A user's first and last name, as Zammad shows it; None when neither is set."""
    name = " ".join(str(record[k]) for k in ("firstname", "lastname") if not _blank(record.get(k))).strip()
    return name or None


def _none(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
