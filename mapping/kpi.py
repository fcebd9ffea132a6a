"""The procedure's KPIs (§7.1.1), computed from incident snapshots and their histories, pure.

`compute_kpis(incidents, procedure, start, end, now)` returns a `KpiReport`. The
figures, exactly (every count is an integer; a share is `count / base`, both given).
`plugin.reports.definitions` says the same to the reader of each report.

- **population**: the incidents *reported* in ``[start, end)`` (of one contract when
  `contract` is given; an incident without a contract belongs to the default one).
  Every figure below is of the population, as known at `now`.
- **total**: their number.
- **business impact**: their number per current severity (``unset`` when none) and
  per current category code (``unset`` when none).
- **timetable misses per level** (§7.1.1.3): the base is the incidents with a
  severity; each is judged by its current severity's cell of its contract's timetable
  (§5.2.2). A cell that allows time (severity 2: 4 h to the project manager) is missed
  when the incident's SLA time (`mapping.clock.sla_elapsed`, contract calendar, pauses
  excluded, as of `now`, standing still while resolved) reached it: the incident was
  not resolved when that report fell due. A cell due *immediately* (0, severity 1) sets
  no resolution target — every incident would reach it — so it is missed when the
  report itself was late: no escalation to that level or higher was recorded within
  `escalation.immediate_within` of the incident becoming that severity (the report
  time, or the moment it was raised). Per level, the counts are also given per severity.
- **mean time spent per category** (§7.1.1.4): over the population's incidents
  resolved at `now` (in a stopped-clock state: 待审核, 已归档), the SLA time from the
  report to `now` — all the working time spent on it, work after a reopen included;
  the same figure as its record sheet's SLA time. The exact mean (total / count).
- **first-line resolution** (§7.1.1.5): the base is the population's incidents
  resolved at `now` whose support group is known (`group_history`, else `group`);
  one counts when every support group it was in is a first-line group — without a
  list of first-line groups, when it never changed group. Where the tracker records
  no support group (`groups_recorded=False`: Jira without a mapped support-group
  field) the share cannot be computed and is given as None, never as 100 %.
- **weekly trend** (§7.1.1.6): per ISO week overlapping ``[start, end)`` (in `tz`, by
  default the default contract's calendar zone), of the population: *opened* = those
  reported that week; *resolved* = those resolved at `now` whose last resolution (the
  last entry into a stopped-clock state) lies in that week and before `end`. The
  columns add up: sum(opened) = total; sum(resolved) + `resolved_after` (resolved
  after `end`) = `resolved`; `resolved` + `unresolved` = total.
- **acknowledgement**, per level: the population's escalations to it, how many were
  acknowledged by a holder of its role (`mapping.acknowledge`), and the mean working
  time from the escalation to the acknowledgement.
- **major incidents** (§7.1.1.7): population incidents of severity 1 now or at any
  time (the no-downgrade rule keeps them major), with their full timeline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from mapping.acknowledge import Holders, time_to_acknowledge
from mapping.clock import sla_elapsed
from mapping.duties import is_major, resolutions, stopped_states
from mapping.incident import Incident
from mapping.procedure import Procedure

UNSET = "unset"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MissRule = Literal["resolution", "report"]


class SeverityMisses(_Out):
    """One timetable cell's misses: `rule` says what a miss means for this cell."""

    severity: int
    rule: MissRule  # resolution: not resolved when the time allowed had elapsed; report: reported late
    allowed: timedelta
    base: int
    missed: int


class LevelMisses(_Out):
    level: int
    role: str
    base: int  # incidents with a severity
    missed: int
    by_severity: tuple[SeverityMisses, ...] = ()

    @property
    def share(self) -> float:
        return self.missed / self.base if self.base else 0.0


class CategoryTime(_Out):
    category: str  # code, or "unset"
    resolved: int
    total: timedelta  # SLA time summed over them
    mean: timedelta


class FirstLine(_Out):
    base: int  # resolved incidents of the population whose support group is known
    first_line: int
    unknown: int = 0  # resolved incidents with no support group recorded (left out of the base)
    computable: bool = True  # False: the tracker records no support group

    @property
    def share(self) -> float | None:
        if not self.computable:
            return None
        return self.first_line / self.base if self.base else 0.0


class AckLevel(_Out):
    """Escalations to one level of the population, and how soon they were acknowledged."""

    level: int
    role: str
    escalated: int
    acknowledged: int
    total: timedelta  # working time from escalation to acknowledgement, summed over the acknowledged
    mean: timedelta | None


class WeekTrend(_Out):
    week: str  # "2026-W47"
    opened: int
    resolved: int


class TimelineEvent(_Out):
    at: datetime
    kind: str  # reported, state, severity, group, escalation, manual-request, approval, acknowledgement
    value: str  # the new state code, severity, group, level, or the request's note
    by: str | None = None


class MajorIncident(_Out):
    ref: str
    title: str
    severity: int | None
    state: int
    category: str | None
    reported_at: datetime
    resolved_at: datetime | None  # first resolution
    timeline: tuple[TimelineEvent, ...]


class KpiReport(_Out):
    start: datetime
    end: datetime
    as_of: datetime
    contract: str | None  # None = every contract
    timezone: str
    total: int
    by_severity: dict[str, int]
    by_category: dict[str, int]
    misses: tuple[LevelMisses, ...]
    resolve_time: tuple[CategoryTime, ...]
    first_line: FirstLine
    trend: tuple[WeekTrend, ...]
    majors: tuple[MajorIncident, ...]
    resolved: int = 0  # population incidents resolved at `as_of`
    resolved_after: int = 0  # of those, last resolved at or after `end` (in no week of the trend)
    unresolved: int = 0  # population incidents not resolved at `as_of`
    # what the figures were computed with, for their definitions
    first_line_groups: tuple[str, ...] | None = None
    immediate_within: timedelta = timedelta(0)
    acknowledgement: tuple[AckLevel, ...] = ()


def iso_week(moment: datetime | date, tz: ZoneInfo | None = None) -> str:
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weeks_between(start: datetime, end: datetime, tz: ZoneInfo) -> list[str]:
    """Every ISO week overlapping [start, end), in order."""
    if end <= start:
        return []
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(iso_week(monday))
        monday += timedelta(days=7)
    return weeks


def elapsed_at(incident: Incident, procedure: Procedure, at: datetime) -> timedelta:
    """The incident's SLA time at `at`, in its contract's calendar."""
    return sla_elapsed(incident, procedure, procedure.contract(incident.contract), at)


def groups_of(incident: Incident) -> list[str]:
    """Every support group the incident was in, in order (its current one when no history)."""
    groups = [c.group for c in incident.group_history if c.group]
    if not groups and incident.group:
        groups = [incident.group]
    return groups


def resolved_by_first_line(incident: Incident, first_line_groups: frozenset[str] | None) -> bool:
    """Every group it was in is a first-line group (without a list: it never changed group)."""
    groups = groups_of(incident)
    if first_line_groups is None:
        return len(set(groups)) <= 1
    return all(g in first_line_groups for g in groups)


def timeline(incident: Incident) -> tuple[TimelineEvent, ...]:
    """Everything recorded on the incident, oldest first (ties keep this order of kinds)."""
    events = [TimelineEvent(at=incident.reported_at, kind="reported", value=incident.ref)]
    for c in incident.state_history:
        events.append(TimelineEvent(at=c.at, kind="state", value=str(c.state), by=c.by_name or c.by))
    for c in incident.severity_history:
        events.append(TimelineEvent(at=c.at, kind="severity", value=str(c.severity), by=c.by_name or c.by))
    for c in incident.group_history:
        events.append(TimelineEvent(at=c.at, kind="group", value=c.group or "", by=c.by_name or c.by))
    for c in incident.escalations:
        events.append(TimelineEvent(at=c.at, kind="escalation", value=str(c.level), by=c.by_name or c.by))
    for c in incident.manual_requests:
        events.append(TimelineEvent(at=c.at, kind="manual-request", value=c.note or "", by=c.by_name or c.by))
    for c in incident.approvals:
        events.append(TimelineEvent(at=c.at, kind="approval", value=str(c.to_severity), by=c.by_name or c.by))
    for c in incident.acknowledgements:
        events.append(TimelineEvent(at=c.at, kind="acknowledgement", value="", by=c.by_name or c.by))
    return tuple(sorted(events, key=lambda e: e.at))  # sorted() is stable: kinds keep their order


def first_resolution(incident: Incident, procedure: Procedure, now: datetime) -> datetime | None:
    times = [t for t in resolutions(incident, procedure) if t <= now]
    return times[0] if times else None


def last_resolution(incident: Incident, procedure: Procedure, now: datetime) -> datetime | None:
    """When the incident was last resolved, if it is resolved at `now` (None when open then)."""
    stopped = stopped_states(procedure, incident.contract)
    if incident.state_at(now) not in stopped:
        return None
    times = [t for t in resolutions(incident, procedure) if t <= now]
    return times[-1] if times else None


def became_severity(incident: Incident, severity: int) -> datetime:
    """When the incident last took `severity` (the report time when it was reported so)."""
    when = incident.reported_at
    previous: int | None = None
    for change in incident.severity_history:
        if change.severity == severity and previous != severity:
            when = max(change.at, incident.reported_at)
        previous = change.severity
    return when


def reported_late(incident: Incident, level: int, severity: int, within: timedelta, now: datetime) -> bool | None:
    """For a cell due immediately: was the report to `level` not recorded within `within` of the
    incident becoming `severity`? None while that time has not passed and no report is recorded."""
    deadline = became_severity(incident, severity) + within
    recorded = [e.at for e in incident.escalations if e.level >= level]
    if not recorded and incident.escalation_level >= level:
        recorded = [incident.reported_at]  # the level is set, its history is not: set with the ticket
    if any(at <= deadline for at in recorded):
        return False
    return True if now >= deadline else None


def compute_kpis(incidents: Iterable[Incident], procedure: Procedure, start: datetime, end: datetime,
                 now: datetime, *, contract: str | None = None, first_line_groups: Iterable[str] | None = None,
                 tz: ZoneInfo | None = None, groups_recorded: bool = True,
                 holders: Callable[[Incident], Holders] | None = None) -> KpiReport:
    """The KPIs of the incidents reported in [start, end), as known at `now` (see module docstring).

    `groups_recorded` is False when the tracker records no support group (Jira without a
    mapped support-group field): the first-line share is then not computable. `holders` gives,
    per incident, who holds each escalation level's role (who may acknowledge it; None: anyone).
    """
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    first_line_set = frozenset(first_line_groups) if first_line_groups is not None else None
    within = procedure.escalation.immediate_within
    scope = [i for i in incidents
             if contract is None or (i.contract or procedure.default_contract) == contract]
    population = sorted((i for i in scope if start <= i.reported_at < end), key=lambda i: (i.reported_at, i.ref))

    by_severity = Counter(str(i.severity) if i.severity else UNSET for i in population)
    by_category = Counter(i.category or UNSET for i in population)

    targets = procedure.escalation.targets
    cells: dict[tuple[int, int, MissRule, timedelta], list[int]] = {}  # (level, severity, rule, allowed) -> [base, missed]
    judged = 0
    resolve_totals: dict[str, list[timedelta]] = defaultdict(list)
    first_line_base = first_line = unknown_group = 0
    resolved = resolved_after = 0
    resolved_weeks: Counter[str] = Counter()
    acks: dict[int, list[timedelta | None]] = defaultdict(list)
    majors = []
    for incident in population:
        if incident.severity is not None:
            judged += 1
            row = procedure.timetable_for(procedure.contract(incident.contract))[incident.severity]
            spent = elapsed_at(incident, procedure, now)
            for level, role in enumerate(targets, start=1):
                allowed = row[role]
                rule: MissRule = "report" if allowed <= timedelta(0) else "resolution"
                # contracts may allow different times for one cell: each counts apart
                cell = cells.setdefault((level, incident.severity, rule, allowed), [0, 0])
                cell[0] += 1
                if rule == "resolution":
                    cell[1] += spent >= allowed
                else:
                    cell[1] += bool(reported_late(incident, level, incident.severity, within, now))
        last = last_resolution(incident, procedure, now)
        if last is not None:
            resolved += 1
            # the clock stands still while resolved: the SLA time at `now` is all the time spent
            resolve_totals[incident.category or UNSET].append(elapsed_at(incident, procedure, now))
            if last < end:
                resolved_weeks[iso_week(last, zone)] += 1
            else:
                resolved_after += 1
            if not groups_of(incident):
                unknown_group += 1
            else:
                first_line_base += 1
                first_line += resolved_by_first_line(incident, first_line_set)
        for level, waited in time_to_acknowledge(incident, procedure, holders(incident) if holders else None):
            acks[level].append(waited)
        if is_major(incident):
            majors.append(MajorIncident(ref=incident.ref, title=incident.title, severity=incident.severity,
                                        state=incident.state, category=incident.category,
                                        reported_at=incident.reported_at,
                                        resolved_at=first_resolution(incident, procedure, now),
                                        timeline=timeline(incident)))

    resolve_time = []
    for category in sorted(resolve_totals, key=_category_sort_key):
        spans = resolve_totals[category]
        total = sum(spans, timedelta(0))
        resolve_time.append(CategoryTime(category=category, resolved=len(spans), total=total,
                                         mean=total / len(spans)))

    misses = []
    for level, role in enumerate(targets, start=1):
        rows = tuple(SeverityMisses(severity=sev, rule=rule, allowed=allowed, base=counts[0], missed=counts[1])
                     for (lv, sev, rule, allowed), counts in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][3]))
                     if lv == level)
        misses.append(LevelMisses(level=level, role=role, base=judged, missed=sum(r.missed for r in rows),
                                  by_severity=rows))

    weeks = weeks_between(start, end, zone)
    opened = Counter(iso_week(i.reported_at, zone) for i in population)
    if groups_recorded:
        first = FirstLine(base=first_line_base, first_line=first_line, unknown=unknown_group)
    else:
        first = FirstLine(base=0, first_line=0, unknown=resolved, computable=False)

    return KpiReport(
        start=start, end=end, as_of=now, contract=contract, timezone=str(zone.key), total=len(population),
        by_severity={k: by_severity[k] for k in ("1", "2", "3", "4", UNSET) if by_severity[k]},
        by_category={k: by_category[k] for k in sorted(by_category, key=_category_sort_key)},
        misses=tuple(misses),
        resolve_time=tuple(resolve_time),
        first_line=first,
        trend=tuple(WeekTrend(week=w, opened=opened[w], resolved=resolved_weeks[w]) for w in weeks),
        majors=tuple(majors),
        resolved=resolved, resolved_after=resolved_after, unresolved=len(population) - resolved,
        first_line_groups=tuple(sorted(first_line_set)) if first_line_set is not None else None,
        immediate_within=within,
        acknowledgement=tuple(_ack_level(level, role, acks[level]) for level, role in enumerate(targets, start=1)),
    )


def _ack_level(level: int, role: str, waits: list[timedelta | None]) -> AckLevel:
    done = [w for w in waits if w is not None]
    total = sum(done, timedelta(0))
    return AckLevel(level=level, role=role, escalated=len(waits), acknowledged=len(done), total=total,
                    mean=total / len(done) if done else None)


def _category_sort_key(code: str) -> tuple:
    if code == UNSET:
        return (1,)
    return (0, *(int(p) if p.isdigit() else p for p in code.split(".")))


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """'2026-11' -> [first day 00:00, first day of next month 00:00) in `tz`. ValueError otherwise."""
    try:
        year_s, month_s = month.strip().split("-")
        first = date(int(year_s), int(month_s), 1)
    except ValueError:
        raise ValueError(f"not a month: {month!r} (write e.g. 2026-11)") from None
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tz), datetime.combine(following, time(0), tz)
