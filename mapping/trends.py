"""Trend problems (§6.1.3): patterns in the incidents that call for a problem record, pure.

§6.1.3 asks for a problem when "trend analysis shows a possible problem, e.g. the type
or number of incidents" (事件类型或数量的趋势分析存在问题). The admin states what counts
as a pattern with `TrendRule`s; `detect_trends` finds, as of `now`, every pattern a rule
sees, each with the incidents that make it.

Two kinds of rule:

- ``count``: at least `count` incidents of one category (`by: category`, the exact code),
  of one configuration item (`by: configuration_item`, the §4.1.4.5 fact) or in all
  (`by: all`) reported within one `window` — a calendar day, an ISO week or a calendar
  month in the contract calendar's time zone;
- ``rise``: a week-on-week rise — this ISO week's incidents (of one category, one
  configuration item, or all) number at least `count` and at least `1 + rise` times the
  whole previous week's.

Windows are fixed periods, not sliding ones, so a pattern has a stable key — rule,
contract, what it is of, and the period (`trend:net-week:default:category=1.2:2026-W47`)
— and the caller files **one problem per key**, once, however often it asks. A cluster
that straddles two periods counts in each apart (three on Sunday and three on Monday
are not six in one week). Patterns are per contract: one customer's incidents, in its
calendar's zone. Only the period containing `now` and the one before it are judged (the
one before, so that a pattern completed just before a restart is not lost); a pattern
keeps the incidents known when it was first found.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mapping.incident import Incident
from mapping.procedure import Procedure

TrendBy = Literal["category", "configuration_item", "all"]
Window = Literal["day", "week", "month"]


class TrendRule(BaseModel):
    """One pattern that calls for a problem record (§6.1.3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="a short stable name: it is part of every key")
    kind: Literal["count", "rise"] = "count"
    by: TrendBy = "category"
    count: int = Field(ge=2, description="count: incidents in one window; rise: this week's at least")
    window: Window = Field(default="week", description="count only: the period the incidents fall in")
    rise: float | None = Field(default=None, gt=0, description="rise only: this week >= (1 + rise) x the last")

    @model_validator(mode="after")
    def _consistent(self) -> TrendRule:
        if self.kind == "rise" and self.rise is None:
            raise ValueError("a `rise` rule needs `rise`, e.g. 0.5 for +50 % on the week before")
        if self.kind == "count" and self.rise is not None:
            raise ValueError("`rise` belongs to a `kind: rise` rule")
        if self.kind == "rise" and self.window != "week":
            raise ValueError("a `rise` rule compares ISO weeks: leave `window` out")
        return self


@dataclass(frozen=True)
class TrendDue:
    """A pattern found: file one problem under `key`, listing `incidents`."""

    rule: TrendRule
    contract: str
    value: str | None  # the category code or CI; None for `by: all`
    period: str  # "2026-11-20", "2026-W47" or "2026-11"
    start: datetime
    end: datetime
    incidents: tuple[Incident, ...]  # reported in the period, oldest first
    previous: int | None = None  # rise: the previous week's count

    @property
    def key(self) -> str:
        what = "all" if self.rule.by == "all" else f"{self.rule.by}={self.value}"
        return f"trend:{self.rule.name}:{self.contract}:{what}:{self.period}"


def period_of(moment: datetime, window: Window, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    """The period of `window` containing `moment`: its name and its bounds in `tz`."""
    day = moment.astimezone(tz).date()
    if window == "day":
        first, last = day, day + timedelta(days=1)
        name = day.isoformat()
    elif window == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
        year, week, _ = first.isocalendar()
        name = f"{year}-W{week:02d}"
    else:
        first = day.replace(day=1)
        last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        name = f"{first.year}-{first.month:02d}"
    return name, datetime.combine(first, time(0), tz), datetime.combine(last, time(0), tz)


def _value(incident: Incident, by: TrendBy) -> str | None:
    if by == "all":
        return ""
    if by == "category":
        return incident.category or None
    ci = (incident.facts.get("affected_ci") or "").strip()
    return ci.casefold() if ci else None  # "Core-Switch-01" and "core-switch-01" are one item


def detect_trends(incidents: Iterable[Incident], procedure: Procedure, rules: Iterable[TrendRule],
                  now: datetime, *, between: tuple[datetime, datetime] | None = None) -> list[TrendDue]:
    """Every pattern the rules see in the current and the previous period, as of `now`; with `between`
    (start, end), in every period overlapping it instead (the monthly report's)."""
    by_contract: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        if incident.reported_at <= now:
            by_contract[incident.contract or procedure.default_contract].append(incident)
    found: list[TrendDue] = []
    for contract, items in sorted(by_contract.items()):
        tz = ZoneInfo(procedure.calendar_of(procedure.contract(contract)).timezone)
        for rule in rules:
            window = rule.window if rule.kind == "count" else "week"
            periods = _periods(window, now, tz) if between is None else _periods_between(window, *between, tz)
            found += _count(rule, contract, items, periods) if rule.kind == "count" \
                else _rise(rule, contract, items, periods)
    return found


def counted_since(rules: Iterable[TrendRule], now: datetime) -> datetime:
    """No incident reported before this counts for `detect_trends(..., now)` (without `between`):
    the start of the earliest period judged — the one before the current, a week earlier still for
    a rise — less a day, which covers any contract's time zone. A caller holding many incidents
    hands over only those reported since (the daemon rebuilds each from a compact copy)."""
    earliest = now
    for rule in rules:
        window = rule.window if rule.kind == "count" else "week"
        (_, start, _), _ = _periods(window, now, ZoneInfo("UTC"))
        earliest = min(earliest, start - (timedelta(days=7) if rule.kind == "rise" else timedelta(0)))
    return earliest - timedelta(days=1)


def _groups(rule: TrendRule, items: list[Incident], start: datetime, end: datetime) -> dict[str, list[Incident]]:
    groups: dict[str, list[Incident]] = defaultdict(list)
    for incident in sorted(items, key=lambda i: (i.reported_at, i.ref)):
        value = _value(incident, rule.by)
        if value is not None and start <= incident.reported_at < end:
            groups[value].append(incident)
    return groups


Period = tuple[str, datetime, datetime]


def _periods(window: Window, now: datetime, tz: ZoneInfo) -> list[Period]:
    current = period_of(now, window, tz)
    previous = period_of(current[1] - timedelta(seconds=1), window, tz)
    return [previous, current]


def _periods_between(window: Window, start: datetime, end: datetime, tz: ZoneInfo) -> list[Period]:
    out: list[Period] = []
    moment = start
    while moment < end:
        period = period_of(moment, window, tz)
        out.append(period)
        moment = period[2]
    return out


def _count(rule: TrendRule, contract: str, items: list[Incident], periods: list[Period]) -> list[TrendDue]:
    out = []
    for name, start, end in periods:
        for value, group in sorted(_groups(rule, items, start, end).items()):
            if len(group) >= rule.count:
                out.append(TrendDue(rule, contract, value or None, name, start, end, tuple(group)))
    return out


def _rise(rule: TrendRule, contract: str, items: list[Incident], periods: list[Period]) -> list[TrendDue]:
    assert rule.rise is not None  # the model insists
    out = []
    for name, start, end in periods:
        before = _groups(rule, items, start - timedelta(days=7), start)
        for value, group in sorted(_groups(rule, items, start, end).items()):
            previous = len(before.get(value, ()))
            if len(group) >= rule.count and len(group) >= (1 + rule.rise) * previous:
                out.append(TrendDue(rule, contract, value or None, name, start, end, tuple(group), previous))
    return out
