"""The procedure's KPIs (§7.1.1), computed from incident snapshots and their histories, pure.

`compute_kpis(incidents, procedure, start, end, now)` returns a `KpiReport`. The
figures, exactly (every count is an integer; a share is `count / base`, both given):

- **population**: the incidents *reported* in ``[start, end)`` (of one contract when
  `contract` is given; an incident without a contract belongs to the default one).
- **total**: their number.
- **business impact**: their number per current severity (``unset`` when none) and
  per current category code (``unset`` when none).
- **timetable misses per level**: the base is the incidents with a severity. An
  incident missed level N when its SLA time (`mapping.clock.sla_elapsed`, in its
  contract's calendar, pauses excluded, counted as of `now`, the clock standing still
  while it is resolved) reached the level's offset in its contract's timetable: it was
  not resolved before the level's report fell due (§5.2.2). A level whose offset is 0
  (severity 1: "immediately") is reached by every such incident.
- **mean time to resolve per category**: over the population's incidents resolved by
  `now`, the SLA time from the report to the *first* entry into a stopped-clock state
  (待审核, or 已归档 when 待审核 was skipped); the exact mean (total / count, to the
  microsecond).
- **first-line resolution**: the base is the population's incidents resolved now (in a
  stopped-clock state); one counts when every support group it was ever in
  (`group_history`, else its current `group`) is a first-line group. Without a list of
  first-line groups, it counts when it never changed group (at most one distinct group).
- **weekly trend**: per ISO week overlapping ``[start, end)`` (in `tz`, by default the
  default contract's calendar zone): *opened* = population incidents reported that
  week; *resolved* = incidents (of the contract, reported at any time) with a
  resolution - an entry into a stopped-clock state from another state - in that week
  and inside ``[start, end)``, each incident counted once per week.
- **major incidents**: population incidents of severity 1 now or at any time (the
  no-downgrade rule keeps them major), with their full timeline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from mapping.clock import sla_elapsed
from mapping.duties import is_major, resolutions, stopped_states
from mapping.incident import Incident
from mapping.procedure import Procedure

UNSET = "unset"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LevelMisses(_Out):
    level: int
    role: str
    base: int  # incidents with a severity
    missed: int

    @property
    def share(self) -> float:
        return self.missed / self.base if self.base else 0.0


class CategoryTime(_Out):
    category: str  # code, or "unset"
    resolved: int
    total: timedelta  # SLA time summed over them
    mean: timedelta


class FirstLine(_Out):
    base: int  # resolved incidents of the population
    first_line: int

    @property
    def share(self) -> float:
        return self.first_line / self.base if self.base else 0.0


class WeekTrend(_Out):
    week: str  # "2026-W47"
    opened: int
    resolved: int


class TimelineEvent(_Out):
    at: datetime
    kind: str  # reported, state, severity, group, escalation, manual-request, approval
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
    return tuple(sorted(events, key=lambda e: e.at))  # sorted() is stable: kinds keep their order


def first_resolution(incident: Incident, procedure: Procedure, now: datetime) -> datetime | None:
    times = [t for t in resolutions(incident, procedure) if t <= now]
    return times[0] if times else None


def compute_kpis(incidents: Iterable[Incident], procedure: Procedure, start: datetime, end: datetime,
                 now: datetime, *, contract: str | None = None, first_line_groups: Iterable[str] | None = None,
                 tz: ZoneInfo | None = None) -> KpiReport:
    """The KPIs of the incidents reported in [start, end), as known at `now` (see module docstring)."""
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    first_line_set = frozenset(first_line_groups) if first_line_groups is not None else None
    scope = [i for i in incidents
             if contract is None or (i.contract or procedure.default_contract) == contract]
    population = sorted((i for i in scope if start <= i.reported_at < end), key=lambda i: (i.reported_at, i.ref))

    by_severity = Counter(str(i.severity) if i.severity else UNSET for i in population)
    by_category = Counter(i.category or UNSET for i in population)

    targets = procedure.escalation.targets
    missed = Counter()
    judged = 0
    resolve_totals: dict[str, list[timedelta]] = defaultdict(list)
    first_line_base = first_line = 0
    majors = []
    for incident in population:
        stopped = stopped_states(procedure, incident.contract)
        if incident.severity is not None:
            judged += 1
            row = procedure.timetable_for(procedure.contract(incident.contract))[incident.severity]
            spent = elapsed_at(incident, procedure, now)
            for level, role in enumerate(targets, start=1):
                if spent >= row[role]:
                    missed[level] += 1
        resolved_at = first_resolution(incident, procedure, now)
        if resolved_at is not None:
            resolve_totals[incident.category or UNSET].append(elapsed_at(incident, procedure, resolved_at))
        if incident.state in stopped:
            first_line_base += 1
            first_line += resolved_by_first_line(incident, first_line_set)
        if is_major(incident):
            majors.append(MajorIncident(ref=incident.ref, title=incident.title, severity=incident.severity,
                                        state=incident.state, category=incident.category,
                                        reported_at=incident.reported_at, resolved_at=resolved_at,
                                        timeline=timeline(incident)))

    resolve_time = []
    for category in sorted(resolve_totals, key=_category_sort_key):
        spans = resolve_totals[category]
        total = sum(spans, timedelta(0))
        resolve_time.append(CategoryTime(category=category, resolved=len(spans), total=total,
                                         mean=total / len(spans)))

    weeks = weeks_between(start, end, zone)
    opened = Counter(iso_week(i.reported_at, zone) for i in population)
    resolved_weeks: Counter[str] = Counter()
    for incident in scope:
        resolved_weeks.update({iso_week(t, zone) for t in resolutions(incident, procedure)
                               if start <= t < end and t <= now})

    return KpiReport(
        start=start, end=end, as_of=now, contract=contract, timezone=str(zone.key), total=len(population),
        by_severity={k: by_severity[k] for k in ("1", "2", "3", "4", UNSET) if by_severity[k]},
        by_category={k: by_category[k] for k in sorted(by_category, key=_category_sort_key)},
        misses=tuple(LevelMisses(level=n, role=role, base=judged, missed=missed[n])
                     for n, role in enumerate(targets, start=1)),
        resolve_time=tuple(resolve_time),
        first_line=FirstLine(base=first_line_base, first_line=first_line),
        trend=tuple(WeekTrend(week=w, opened=opened[w], resolved=resolved_weeks[w]) for w in weeks),
        majors=tuple(majors),
    )


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
