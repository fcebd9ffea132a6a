"""A Jira issue and its changelog -> the procedure's `Incident` snapshot, or `Unreadable`.

Everything goes through the admin's `TrackerMapping`: status ids to states, option
(or priority) ids to severities, escalation levels and categories. A value that maps
to nothing - an unmapped status, an unknown option - makes the issue `Unreadable`
with a reason naming the issue key and the value; nothing is guessed. No severity set
at all is read as Zammad reads it: `severity=None` (no escalation; the record check
names the missing impact). The history is rebuilt from the changelog: the initial value of a field is
the `from` of its first change, or the current value when it never changed.

Both API flavours are read here. Cloud changelog items name a field by `fieldId`;
Data Center items may only carry `field`, the display name for a custom field, which
the search's `names` expansion (field id -> name) resolves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.jira.adf import body_text
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

TRACKER = "jira"
UserId = Callable[[dict | None], str | None]


class _Unmapped(Exception):
    """A value the mapping does not know; becomes Unreadable.reason."""


def parse_time(value: str | int | float | None) -> datetime | None:
    """Jira's '2024-01-02T10:00:00.000+0000' (or ISO with a colon) -> aware UTC datetime.

    Numbers are epoch seconds (milliseconds when too large for seconds): the v3 spec's
    own example of `POST /changelog/bulkfetch` gives `created` as a number."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
    when = datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def needed_fields(mapping: TrackerMapping) -> list[str]:
    """The issue fields a translation reads: nothing more is requested from Jira."""
    names = ["summary", "status", "created", "updated", "reporter", "creator", "assignee", "description",
             "labels", "project"]
    names.append("priority" if mapping.severity.source == "priority" else str(mapping.severity.field))
    names += [mapping.category.field, mapping.escalation_level.field]
    for optional in (mapping.report_time, mapping.occurred_at, mapping.affected_ci, mapping.contract,
                     mapping.root_cause_unknown, mapping.support_group):
        if optional.field:
            names.append(optional.field)
    return list(dict.fromkeys(n for n in names if n))


def history_field_ids(mapping: TrackerMapping) -> list[str]:
    """The fields whose changes make the procedure's histories (for changelog filters)."""
    severity = "priority" if mapping.severity.source == "priority" else str(mapping.severity.field)
    fields = ["status", severity, mapping.escalation_level.field, "labels"]
    if mapping.support_group.field:
        fields.append(mapping.support_group.field)
    return list(dict.fromkeys(fields))


@dataclass
class _Fields:
    """Which changelog items belong to which procedure term."""

    severity: str
    level: str
    names: dict[str, str] = field(default_factory=dict)  # field id -> display name (DC)

    def is_(self, item: dict, field_id: str) -> bool:
        if item.get("fieldId"):
            return item["fieldId"] == field_id
        name = item.get("field")
        return name == field_id or (field_id in self.names and name == self.names[field_id])


def _option_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") is not None else None
    return str(value)


def _lookup(table: dict[Any, str], option: str, what: str, key: str) -> Any:
    for term, option_id in table.items():
        if str(option_id) == option:
            return term
    raise _Unmapped(f"{key}: {what} value {option!r} is not in the mapping file "
                    f"(run `escalator mapping check`)")


def _text(value: Any) -> str | None:
    """A field value as text: strings, options, users, ADF documents, numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict):
        if value.get("type") == "doc":
            return body_text(value).strip() or None
        for key in ("value", "name", "displayName", "key"):
            if value.get(key):
                return str(value[key])
        return None
    if isinstance(value, list):
        parts = [t for t in (_text(v) for v in value) if t]
        return ", ".join(parts) or None
    return str(value)


def _labels(text: str | None) -> set[str]:
    return set((text or "").split())


class Translator:
    """Translates issues of one Jira site with one mapping file."""

    def __init__(self, mapping: TrackerMapping, user_id: UserId):
        self.mapping = mapping
        self.user_id = user_id

    # -- value maps ---------------------------------------------------------------------
    def state_of(self, status_id: str | None, key: str) -> int:
        state = self.mapping.state_of(str(status_id)) if status_id is not None else None
        if state is None:
            raise _Unmapped(f"{key}: status id {status_id!r} is mapped to no procedure state "
                            f"(add it under `states` in the mapping file)")
        return state

    def severity_of(self, option: str | None, key: str) -> int | None:
        """None when no severity is set (read like Zammad: the rules do not escalate it and the
        record check lists the missing impact); an option the mapping lacks is unreadable."""
        if option is None:
            return None
        return _lookup(self.mapping.severity.values, option, "severity", key)

    def level_of(self, option: str | None, key: str) -> int:
        if option is None:
            return 0
        return _lookup(self.mapping.escalation_level.values, option, "escalation level", key)

    def category_of(self, value: Any, key: str) -> str | None:
        """Cascading select {id, value, child: {id, value}} -> the deepest mapped code."""
        if not value:
            return None
        parent = _option_id(value)
        child = _option_id(value.get("child")) if isinstance(value, dict) else None
        return _lookup(self.mapping.category.values, child or str(parent), "category", key)

    # -- the translation -------------------------------------------------------------------
    def translate(self, issue: dict, histories: list[dict], names: dict[str, str] | None = None) -> Incident | Unreadable:
        key = str(issue.get("key"))
        fields = issue.get("fields") or {}
        updated = parse_time(fields.get("updated"))
        try:
            return self._incident(issue, fields, histories, names or {})
        except _Unmapped as exc:
            return Unreadable(tracker=TRACKER, id=str(issue.get("id")), ref=key, reason=str(exc), updated_at=updated)
        except (ValueError, TypeError, KeyError) as exc:
            return Unreadable(tracker=TRACKER, id=str(issue.get("id")), ref=key,
                              reason=f"{key}: cannot read the issue: {exc}", updated_at=updated)

    def _incident(self, issue: dict, fields: dict, histories: list[dict], names: dict[str, str]) -> Incident:
        m = self.mapping
        key = str(issue["key"])
        by_priority = m.severity.source == "priority"
        which = _Fields(severity="priority" if by_priority else str(m.severity.field),
                        level=m.escalation_level.field, names=names)

        created = parse_time(fields.get("created"))
        updated = parse_time(fields.get("updated"))
        if created is None or updated is None:
            raise _Unmapped(f"{key}: the answer lacks `created` or `updated`")
        reported = created
        if m.report_time.field and fields.get(m.report_time.field):
            reported = parse_time(str(fields[m.report_time.field])) or created

        state = self.state_of(_option_id(fields.get("status")), key)
        severity = self.severity_of(_option_id(fields.get(which.severity)), key)
        level = self.level_of(_option_id(fields.get(which.level)), key)
        category = self.category_of(fields.get(m.category.field), key)

        entries = sorted(histories, key=lambda h: (parse_time(h.get("created")) or created, str(h.get("id"))))
        status_items = [(h, i) for h in entries for i in h.get("items") or [] if which.is_(i, "status")]
        severity_items = [(h, i) for h in entries for i in h.get("items") or [] if which.is_(i, which.severity)]

        # initial values: the `from` of the first change, else the current value
        first_state = self.state_of(status_items[0][1].get("from"), key) if status_items else state
        state_history = [StateChange(at=reported, state=first_state)]
        first_sev_from = severity_items[0][1].get("from") if severity_items else None
        severity_history = []
        if not severity_items and severity is not None:
            severity_history.append(SeverityChange(at=reported, severity=severity))
        elif first_sev_from:
            severity_history.append(SeverityChange(at=reported, severity=self.severity_of(first_sev_from, key)))

        # the support group (§4.2.2) in the mapped field: its value's text, and its changes' display
        # strings (`fromString`/`toString`), the first change's `from` being the initial group
        group_field = m.support_group.field
        group = _text(fields.get(group_field)) if group_field else None
        group_items = [(h, i) for h in entries for i in h.get("items") or [] if group_field and which.is_(i, group_field)]
        group_history: list[GroupChange] = []
        if group_field:
            first_group = (group_items[0][1].get("fromString") or None) if group_items else group
            if first_group:
                group_history.append(GroupChange(at=reported, group=first_group))

        escalations: list[EscalationRecord] = []
        level_changes: list[LevelChange] = []
        manual: list[ManualEscalationRequest] = []
        approvals: list[DowngradeApproval] = []
        acknowledged: list[Acknowledged] = []
        current_severity = severity_history[0].severity if severity_history else None
        for entry in entries:
            at = parse_time(entry.get("created")) or created
            author = entry.get("author")
            who = {"by": self.user_id(author), "by_name": (author or {}).get("displayName")}
            added_labels: set[str] = set()
            for item in entry.get("items") or []:
                if which.is_(item, "status"):
                    state_history.append(StateChange(at=at, state=self.state_of(item.get("to"), key), **who))
                elif which.is_(item, which.severity):
                    if item.get("to"):  # a cleared severity is no severity change; current is checked above
                        current_severity = self.severity_of(item.get("to"), key)
                        severity_history.append(SeverityChange(at=at, severity=current_severity, **who))
                elif which.is_(item, which.level):
                    new_level = self.level_of(item.get("to") or None, key)
                    level_changes.append(LevelChange(at=at, level=new_level, **who))
                    if new_level >= 1:
                        escalations.append(EscalationRecord(at=at, level=new_level, **who))
                elif which.is_(item, "labels"):
                    added_labels |= _labels(item.get("toString")) - _labels(item.get("fromString"))
                elif group_field and which.is_(item, group_field):
                    group_history.append(GroupChange(at=at, group=item.get("toString") or None, **who))
            if m.labels.escalate in added_labels:
                manual.append(ManualEscalationRequest(at=at, **who))
            if m.labels.acknowledge in added_labels:
                acknowledged.append(Acknowledged(at=at, **who))
            if m.labels.approve_downgrade in added_labels and current_severity is not None:
                approvals.append(DowngradeApproval(at=at, to_severity=current_severity, **who))

        reporter = fields.get("reporter") or {}
        creator = fields.get("creator") or {}
        project = fields.get("project") or {}
        description = body_text(fields.get("description")).strip()
        facts: dict[str, str | None] = {
            "number": key,
            "reported_at": reported.isoformat(),
            "recorded_by": creator.get("displayName") or self.user_id(creator),
            "reporter": reporter.get("displayName") or self.user_id(reporter),
            "contact": reporter.get("emailAddress") or None,
            "occurred_at": _text(fields.get(m.occurred_at.field)) if m.occurred_at.field else None,
            "affected_ci": _text(fields.get(m.affected_ci.field)) if m.affected_ci.field else None,
            "symptom": description[:500] or None,
            "impact": str(severity) if severity is not None else None,
            "state": str(state),
        }
        contract = _text(fields.get(m.contract.field)) if m.contract.field else None
        # a checkbox / select / text field: any value but "no" means the root cause is unknown (§4.3.6)
        root_unknown = _text(fields.get(m.root_cause_unknown.field)) if m.root_cause_unknown.field else None
        root_cause_unknown = root_unknown is not None and root_unknown.strip().casefold() not in {"no", "否", "false"}
        return Incident(
            tracker=TRACKER, id=str(issue["id"]), ref=key, title=str(fields.get("summary") or ""),
            project=project.get("key"), contract=contract, reported_at=reported, updated_at=updated,
            severity=severity, category=category, state=state,
            assignee=self.user_id(fields.get("assignee")),
            assignee_name=(fields.get("assignee") or {}).get("displayName"),
            group=group, group_history=tuple(group_history),
            escalation_level=level,
            state_history=tuple(state_history), severity_history=tuple(severity_history),
            escalations=tuple(escalations), level_changes=tuple(level_changes), manual_requests=tuple(manual), approvals=tuple(approvals),
            acknowledgements=tuple(acknowledged),
            root_cause_unknown=root_cause_unknown, facts=facts,
        )
