"""The queue of open incidents, what comes next for each, and what blocks it — for `escalator
status` and the daemon's status page.

A row is one open incident of a watched project: its contract (resolved as the daemon
resolves it, `plugin.contracts`), severity (as the daemon counts it: a lowering that
no-downgrade will restore counts as restored), the level reached, what comes first
(`mapping.outlook`: the lowest level due now, else the next one ahead), the role and
people it goes to, and what blocks it:

- `paused`: the SLA clock does not run in the ticket's state (暂停);
- `no severity`: nothing can fall due until one is set;
- `unreadable: ...`: the connector cannot translate the ticket (a value the mapping
  does not know) or its contract is unknown: the daemon skips it;
- `refused: ...`: the tracker refused one of the daemon's writes for it and the daemon
  gave it up (`plugin.outcomes` keeps it in the journal); it blocks until the action is
  done, its level reached, or the ticket changed since (the daemon then tries anew).

Rows are sorted by what comes first: the earliest deadline (overdue ones first), then
the rows with none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mapping.downgrade import check_downgrade
from mapping.escalation import UnknownContract
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.outlook import Step, outlook
from mapping.procedure import Procedure
from mapping.text import Language, in_language
from plugin.config import Config
from plugin.contracts import contract_of
from plugin.health import span
from plugin.refusals import Refusal as StoredRefusal

#: an escalation's marker (`mapping.actions.Escalate.marker`)
_ESCALATION = re.compile(r"escalation-L(\d+)")


@dataclass(frozen=True)
class Refusal:
    marker: str
    error: str
    at: datetime
    level: int | None = None  # of a refused escalation

    def holds(self, incident: Incident, level: int) -> bool:
        """Whether it still blocks: an escalation until its level is reached (by a later run, or a
        person); anything else until the ticket changes after it (the daemon then judges it anew)."""
        if self.level is not None:
            return level < self.level
        return incident.updated_at <= self.at


@dataclass(frozen=True)
class Row:
    tracker: str
    ticket_id: str
    ref: str
    title: str = ""
    project: str | None = None
    contract: str | None = None
    severity: int | None = None
    level: int | None = None  # reached
    step: Step | None = None  # what comes first
    due_now: tuple[Step, ...] = ()
    people: tuple[str, ...] = ()
    zone: str | None = None  # the contract calendar's time zone
    blocking: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple:
        return (self.step is None, self.step.deadline if self.step else datetime.min, self.ref)


def refusals(entries: Iterable[Any]) -> dict[str, Refusal]:
    """Per ticket id, the write the tracker refused (given up on, `plugin.outcomes`) for an action not
    done since: from `Journal.entries` of one tracker. A refusal's row is keyed by the action's marker
    and the write (`escalation-L2|level-refused|<fingerprint>`, `escalation-L2|notify`)."""
    refused: dict[tuple[str, str], Refusal] = {}
    done: set[tuple[str, str]] = set()
    for e in entries:
        marker, _, write = e.marker.partition("|")
        if write and e.outcome in ("refused", "unconfirmed") and isinstance(e.detail.get("refusal"), dict):
            said = StoredRefusal.from_json(e.detail["refusal"])
            level = _ESCALATION.fullmatch(marker)
            refused[(e.ticket_id, marker)] = Refusal(marker, said.summary(), e.at,
                                                     int(level.group(1)) if level else None)
        elif not write and e.outcome in ("done", "already-done") and _level_of(e) is not False:
            done.add((e.ticket_id, e.marker))
    latest: dict[str, Refusal] = {}
    for (ticket, marker), refusal in refused.items():
        if (ticket, marker) not in done and (ticket not in latest or refusal.at > latest[ticket].at):
            latest[ticket] = refusal
    return latest


def levels_reached(entries: Iterable[Any]) -> dict[str, int]:
    """Per ticket id, the highest escalation level the journal says was carried out.

    The daemon's snapshot of a ticket is the one it read before writing: until the next
    read brings its own writes back, the journal is the fresher word on the level.
    """
    levels: dict[str, int] = {}
    for e in entries:
        level = _level_of(e)
        if level:
            levels[e.ticket_id] = max(levels.get(e.ticket_id, 0), level)
    return levels


def _level_of(entry: Any) -> int | bool | None:
    """The level an escalation's row says the ticket reached; False when its level write was refused
    (the note went out, the level field did not move: the escalation still waits); None for other rows."""
    if entry.kind != "escalate" or entry.outcome not in ("done", "already-done") or "level" not in entry.detail:
        return None
    detail = entry.detail
    if detail.get("level_written", True) or int(detail.get("level_found") or 0) >= int(detail["level"]):
        return int(detail["level"])
    return False


class QueueBuilder:
    """Turns snapshots into rows the way the daemon judges them."""

    def __init__(self, procedure: Procedure, config: Config, mapping: TrackerMapping | None, *,
                 watch_from: datetime | None = None):
        self.procedure = procedure
        self.config = config
        self.mapping = mapping
        self.watch_from = watch_from
        self._approver_roles = procedure.downgrade_exception.roles

    def is_open(self, item: Incident | Unreadable) -> bool:
        """Whether a ticket belongs in the queue at all (an unreadable one does: it is blocked)."""
        if isinstance(item, Unreadable):
            return True
        if self.mapping and self.mapping.projects and item.project not in self.mapping.projects:
            return False
        name = contract_of(item, self.config, self.procedure)
        if name not in self.procedure.contracts:
            return True
        return self.procedure.clock_mode(self.procedure.contracts[name], item.state) != "stopped"

    def rows(self, items: Iterable[Incident | Unreadable], now: datetime,
             refused: dict[str, Refusal] | None = None, levels: dict[str, int] | None = None) -> list[Row]:
        """The sorted rows; `refused` and `levels` from the journal (`refusals`, `levels_reached`)."""
        refused, levels = refused or {}, levels or {}
        rows = [row for item in items
                if (row := self.row(item, now, refused.get(item.id), levels.get(item.id, 0))) is not None]
        return sorted(rows, key=Row.sort_key)

    def row(self, item: Incident | Unreadable, now: datetime, refusal: Refusal | None = None,
            level: int = 0) -> Row | None:
        """The row of one ticket; None when it is not an open incident of a watched project."""
        if isinstance(item, Unreadable):
            return Row(item.tracker, item.id, item.ref, blocking=f"unreadable: {item.reason}")
        if level > item.escalation_level:
            item = item.model_copy(update={"escalation_level": level})
        if self.mapping and self.mapping.projects and item.project not in self.mapping.projects:
            return None
        name = contract_of(item, self.config, self.procedure)
        base = dict(tracker=item.tracker, ticket_id=item.id, ref=item.ref, title=item.title, project=item.project,
                    contract=name, severity=item.severity)
        if name not in self.procedure.contracts:
            return Row(**base, blocking=f"unreadable: contract {name!r} is not in the procedure's contracts")
        contract = self.procedure.contracts[name]
        if self.procedure.clock_mode(contract, item.state) == "stopped":
            return None  # resolved or archived: not in the queue
        incident = item if item.contract == name else item.model_copy(update={"contract": name})
        restore = check_downgrade(incident, self._approvers(incident))
        if restore is not None and (self.watch_from is None or restore.lowered_at >= self.watch_from):
            incident = incident.model_copy(update={"severity": restore.to})  # as `mapping.decide` counts it
            base["severity"] = restore.to
        try:
            view = outlook(incident, self.procedure, now)
        except (UnknownContract, ValueError, LookupError) as exc:
            return Row(**base, blocking=f"unreadable: the procedure cannot judge it: {exc}")
        step = view.first
        people = tuple(self._people(step.role, incident)) if step else ()
        blocking = None
        if refusal is not None and refusal.holds(incident, view.level):
            blocking = f"refused: {refusal.error}"
        elif incident.severity is None:
            blocking = "no severity"
        elif view.clock == "paused":
            blocking = "paused"
        zone = self.procedure.calendar_of(contract).timezone
        return Row(**base, level=view.level, step=step, due_now=view.due, people=people, zone=zone,
                   blocking=blocking)

    def _approvers(self, incident: Incident) -> set[str]:
        found: set[str] = set()
        for role in self._approver_roles:
            found.update(self._people(role, incident))
        return found

    def _people(self, role: str, incident: Incident) -> list[str]:
        return self.config.roles.people(role, contract=incident.contract, organisation=incident.organisation,
                                        project=incident.project)


def select(rows: Iterable[Row], *, projects: Iterable[str] = (), contracts: Iterable[str] = (),
           severities: Iterable[int] = ()) -> list[Row]:
    """The rows that pass every filter given (an empty filter passes all)."""
    projects, contracts, severities = set(projects), set(contracts), set(severities)
    return [r for r in rows if (not projects or r.project in projects) and (not contracts or r.contract in contracts)
            and (not severities or r.severity in severities)]


# -- words -------------------------------------------------------------------------------------
def until(deadline: datetime, now: datetime, lang: Language = "en") -> str:
    """`in 2 h 10 min`, `now`, `overdue 5 min` (`2小时10分钟后`, `现在`, `已超时5分钟`)."""
    seconds = (deadline - now).total_seconds()
    if abs(seconds) < 1:
        return in_language("现在", "now", lang)
    if seconds > 0:
        return in_language(f"{span(seconds, lang)}后", f"in {span(seconds)}", lang)
    return in_language(f"已超时{span(-seconds, lang)}", f"overdue {span(-seconds)}", lang)


def local(deadline: datetime, zone: str | None) -> datetime:
    return deadline.astimezone(ZoneInfo(zone)) if zone else deadline


def role_name(procedure: Procedure, role: str, lang: Language) -> str:
    try:
        return procedure.role(role).name.in_(lang)
    except StopIteration:
        return role


def as_json(row: Row, procedure: Procedure, now: datetime, lang: Language = "en") -> dict[str, Any]:
    def step(s: Step) -> dict[str, Any]:
        return {"level": s.level, "role": s.role, "role_name": role_name(procedure, s.role, lang),
                "deadline": s.deadline.isoformat(), "deadline_local": local(s.deadline, row.zone).isoformat(),
                "seconds_left": round((s.deadline - now).total_seconds(), 3), "reason": s.reason,
                "allowed_seconds": s.allowed.total_seconds()}

    return {"tracker": row.tracker, "id": row.ticket_id, "ticket": row.ref, "title": row.title,
            "project": row.project, "contract": row.contract, "severity": row.severity, "level": row.level,
            "next": step(row.step) if row.step else None, "due_now": [step(s) for s in row.due_now],
            "people": list(row.people), "blocking": row.blocking}


HEADERS = {"en": ("ticket", "sev", "contract", "level", "next", "due (contract time)", "when", "blocking"),
           "zh": ("事件", "级别", "合同", "已升级", "下一步", "截止（合同时区）", "距今", "阻碍")}


def cells(row: Row, procedure: Procedure, now: datetime, lang: Language = "en") -> tuple[str, ...]:
    """One row of the table, as text."""
    nxt = due = when = "-"
    if row.step is not None:
        s = row.step
        levels = f"{s.level}-{row.due_now[-1].level}" if len(row.due_now) > 1 else str(s.level)
        nxt = f"{levels} {role_name(procedure, s.role, lang)}"
        due = local(s.deadline, row.zone).strftime("%a %m-%d %H:%M %z")
        when = until(s.deadline, now, lang)
    return (row.ref, str(row.severity or "-"), row.contract or "-", "-" if row.level is None else str(row.level),
            nxt, due, when, row.blocking or "")
