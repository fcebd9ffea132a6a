"""The procedure's duties on a clock (§4.5, §4.6) and links to problems (§4.3.6, §6.1.3), pure.

Two questions are answered here, with `now` passed in:

1. *Which duty is due?* `due_duties(procedure, contract, last_done, now)` returns one
   `DutyDue` per duty whose time has come and whose period was not done yet. Each
   duty has a stable **period key** (``pm_digest:default:2026-11-20``,
   ``callbacks:default:2026-W47``); the daemon records the key once the duty is done
   (in its journal and in the marker of what it wrote), so a duty runs once per
   period across restarts and never twice.
2. *What goes into it?* The selections `unresolved_today`, `pending_review`,
   `review_overdue`, `resolved_in_week`, `customer_update_targets` and `needs_problem`
   pick incidents from snapshots; `digest_line` says, for one incident, what the
   project manager's digest shows.

The duties and when they fall due, in the contract's calendar ("the end of the
working day" is the end of that day's last working range):

====================  =======================================  ==========================
duty                  due at                                   period
====================  =======================================  ==========================
``pm_digest``         1 h before the end of each working day   the working day  (§4.6.1)
``customer_update``   30 min before the end of each working    the working day  (§4.6.2)
                      day (unless the contract says ``off``)
``review_list``       the start of each working day            the working day  (§4.5.2)
``callbacks``         the start of the first working day       the ISO week     (§4.6.3)
                      after the ISO week (the list is then
                      complete: every incident resolved in it)
====================  =======================================  ==========================

Holidays and ordinary weekends have no working range, so nothing falls due on them;
a make-up working day (调休) has ranges, so duties fall due on it.

Catching up after an outage: a daily duty is caught up for its **most recent** missed
period only (yesterday's digest superseded the ones before it: it lists the state as
it is now); the weekly call-back list is caught up for **every** missed week after
the last one done, oldest first, up to `MAX_CATCH_UP_WEEKS` (each week's list names
different incidents, and every resolved incident must be called back). On a first run
(nothing done yet) only the most recent period is due, never the whole past.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from mapping.calendar import BusinessCalendar
from mapping.escalation import evaluate
from mapping.incident import Incident
from mapping.procedure import Procedure

DutyName = Literal["pm_digest", "customer_update", "review_list", "callbacks"]

#: How far back a due-date search looks for the most recent working day (a calendar
#: with no working day in a year is a configuration error the calendar reports).
LOOKBACK_DAYS = 400
#: The oldest missed weekly call-back list still caught up after an outage.
MAX_CATCH_UP_WEEKS = 12


@dataclass(frozen=True)
class Duty:
    """One duty of the procedure: when in the working day it falls due, and how often."""

    name: DutyName
    cadence: Literal["daily", "weekly"]
    anchor: Literal["start", "end"]  # of the working day
    offset: timedelta  # before the end / after the start
    catch_up: Literal["latest", "all"]
    section: str


DUTIES: dict[DutyName, Duty] = {
    "pm_digest": Duty("pm_digest", "daily", "end", timedelta(hours=1), "latest", "§4.6.1"),
    "customer_update": Duty("customer_update", "daily", "end", timedelta(minutes=30), "latest", "§4.6.2"),
    "review_list": Duty("review_list", "daily", "start", timedelta(0), "latest", "§4.5.2"),
    "callbacks": Duty("callbacks", "weekly", "start", timedelta(0), "all", "§4.6.3"),
}


@dataclass(frozen=True)
class DutyDue:
    """A duty whose time has come: do it, then record `period_key` as done for `duty_key`."""

    duty: DutyName
    contract: str
    period_key: str  # e.g. "pm_digest:default:2026-11-20"
    scheduled_at: datetime  # aware, in the contract calendar's time zone
    period_start: datetime  # the working day / ISO week the duty covers, [start, end)
    period_end: datetime

    @property
    def duty_key(self) -> str:
        return duty_key(self.duty, self.contract)

    def late_by(self, now: datetime) -> timedelta:
        return max(now - self.scheduled_at, timedelta(0))


def duty_key(duty: str, contract: str) -> str:
    """The key under which the last period done is recorded: one per duty and contract."""
    return f"{duty}:{contract}"


def calendar_for(procedure: Procedure, contract_name: str | None) -> BusinessCalendar:
    return BusinessCalendar.from_config(procedure.calendar_of(procedure.contract(contract_name)))


def _zone(procedure: Procedure, contract_name: str | None) -> ZoneInfo:
    return ZoneInfo(procedure.calendar_of(procedure.contract(contract_name)).timezone)


def _day_bounds(cal: BusinessCalendar, day: date) -> tuple[datetime, datetime] | None:
    """Start of the first and end of the last working range of `day`, or None (no work)."""
    # a 24x7 calendar works every day (its `is_working_day` speaks of office hours only)
    if not cal.always and not cal.is_working_day(day):
        return None
    ranges = list(cal.working_ranges(day))
    if not ranges:
        return None
    return ranges[0][0], ranges[-1][1]


def scheduled_time(duty: Duty, cal: BusinessCalendar, day: date) -> datetime | None:
    """When `duty` falls due on `day` (a daily duty), or None when `day` is not worked."""
    bounds = _day_bounds(cal, day)
    if bounds is None:
        return None
    start, end = bounds
    return end - duty.offset if duty.anchor == "end" else start + duty.offset


def _iso_week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_iso_week(text: str) -> date:
    """'2026-W47' -> the Monday of that ISO week. ValueError on anything else."""
    try:
        year_s, week_s = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year_s), int(week_s), 1)
    except ValueError:
        raise ValueError(f"not an ISO week: {text!r} (write e.g. 2026-W47)") from None


def week_bounds(monday: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), tz)
    return start, datetime.combine(monday + timedelta(days=7), time(0), tz)


def _first_working_day_from(cal: BusinessCalendar, day: date) -> date | None:
    for i in range(LOOKBACK_DAYS):
        if _day_bounds(cal, day + timedelta(days=i)) is not None:
            return day + timedelta(days=i)
    return None


def _daily_periods(duty: Duty, contract: str, cal: BusinessCalendar, tz: ZoneInfo,
                   now: datetime) -> Iterable[DutyDue]:
    """Periods of a daily duty whose time has come, most recent first."""
    today = now.astimezone(tz).date()
    for back in range(LOOKBACK_DAYS):
        day = today - timedelta(days=back)
        at = scheduled_time(duty, cal, day)
        if at is None or at > now:
            continue
        start = datetime.combine(day, time(0), tz)
        yield DutyDue(duty.name, contract, f"{duty.name}:{contract}:{day.isoformat()}", at,
                      start, start + timedelta(days=1))


def _weekly_periods(duty: Duty, contract: str, cal: BusinessCalendar, tz: ZoneInfo,
                    now: datetime) -> Iterable[DutyDue]:
    """Weeks whose list has come due (at the start of the first working day after), most recent first."""
    local = now.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    for back in range(1, MAX_CATCH_UP_WEEKS + 2):
        week = monday - timedelta(weeks=back)
        first = _first_working_day_from(cal, week + timedelta(days=7))
        if first is None:
            continue
        at = scheduled_time(duty, cal, first)
        if at is None or at > now:
            continue
        start, end = week_bounds(week, tz)
        yield DutyDue(duty.name, contract, f"{duty.name}:{contract}:{_iso_week_key(week)}", at, start, end)


def due_duties(procedure: Procedure, contract_name: str | None, last_done: dict[str, str],
               now: datetime, *, duties: Iterable[DutyName] | None = None) -> list[DutyDue]:
    """The duties of one contract that are due at `now`, oldest first.

    `last_done` maps a duty key (`duty_key(duty, contract)`) to the period key last done.
    Period keys of one duty sort chronologically as text (ISO dates / ISO weeks), so a
    period is due when its key is greater than the one recorded. See the module
    docstring for what is caught up after an outage. A contract whose
    `customer_updates` is ``off`` has no customer_update duty.
    """
    contract = contract_name or procedure.default_contract
    cal = calendar_for(procedure, contract)
    tz = _zone(procedure, contract)
    wanted = tuple(duties) if duties is not None else tuple(DUTIES)
    due: list[DutyDue] = []
    for name in wanted:
        duty = DUTIES[name]
        if name == "customer_update" and procedure.contract(contract).customer_updates == "off":
            continue
        done = last_done.get(duty_key(name, contract))
        periods = (_daily_periods if duty.cadence == "daily" else _weekly_periods)(duty, contract, cal, tz, now)
        pending: list[DutyDue] = []
        for period in periods:
            if done is not None and period.period_key <= done:
                break
            pending.append(period)
            if duty.catch_up == "latest" or done is None:
                break
        due.extend(reversed(pending))
    return sorted(due, key=lambda d: (d.scheduled_at, d.duty))


def next_due_time(procedure: Procedure, contract_name: str | None, now: datetime, *,
                  horizon_days: int = 31) -> datetime | None:
    """The earliest time after `now` at which a duty of the contract falls due (the daemon's
    wake-up, like a deadline); None when no working day lies within `horizon_days`."""
    return min(next_times(procedure, contract_name, now, horizon_days=horizon_days).values(), default=None)


def next_times(procedure: Procedure, contract_name: str | None, now: datetime, *,
               horizon_days: int = 31) -> dict[str, datetime]:
    """Per duty of the contract, the next time after `now` it falls due (none beyond `horizon_days`)."""
    contract = contract_name or procedure.default_contract
    cal = calendar_for(procedure, contract)
    tz = _zone(procedure, contract)
    today = now.astimezone(tz).date()
    found: dict[str, datetime] = {}
    for name, duty in DUTIES.items():
        if name == "customer_update" and procedure.contract(contract).customer_updates == "off":
            continue
        for ahead in range(horizon_days):
            if duty.cadence == "weekly":
                # a week's list falls due on the first working day from the next Monday on
                # (this week's Monday's may still be ahead when Monday was a holiday)
                monday = today - timedelta(days=today.weekday()) + timedelta(weeks=ahead)
                first = _first_working_day_from(cal, monday)
                at = scheduled_time(duty, cal, first) if first is not None else None
            else:
                at = scheduled_time(duty, cal, today + timedelta(days=ahead))
            if at is not None and at > now:
                found[name] = at
                break
    return found


# -- selections --------------------------------------------------------------------


def stopped_states(procedure: Procedure, contract_name: str | None) -> frozenset[int]:
    """States in which the incident counts as resolved: the clock is `stopped` (待审核, 已归档)."""
    contract = procedure.contract(contract_name)
    return frozenset(s.code for s in procedure.states if procedure.clock_mode(contract, s.code) == "stopped")


def is_resolved(incident: Incident, procedure: Procedure) -> bool:
    return incident.state in stopped_states(procedure, incident.contract)


def resolutions(incident: Incident, procedure: Procedure) -> list[datetime]:
    """Each time the incident was resolved: entered a stopped-clock state from another state."""
    stopped = stopped_states(procedure, incident.contract)
    times: list[datetime] = []
    previous: int | None = None
    for change in incident.state_history:
        if change.state in stopped and (previous is None or previous not in stopped):
            times.append(change.at)
        previous = change.state
    if not incident.state_history and incident.state in stopped:
        times.append(incident.reported_at)
    return times


def is_major(incident: Incident) -> bool:
    """Severity 1 now or at any time (§4.2.4): the no-downgrade rule keeps it major."""
    return incident.severity == 1 or any(c.severity == 1 for c in incident.severity_history)


def of_contract(incidents: Iterable[Incident], procedure: Procedure, contract_name: str | None) -> list[Incident]:
    contract = contract_name or procedure.default_contract
    return [i for i in incidents if (i.contract or procedure.default_contract) == contract]


def unresolved_today(incidents: Iterable[Incident], procedure: Procedure) -> list[Incident]:
    """Every incident not resolved (§4.6.1, §4.6.2), most severe and oldest first."""
    open_ = [i for i in incidents if not is_resolved(i, procedure)]
    return sorted(open_, key=lambda i: (i.severity or 5, i.reported_at, i.ref))


def customer_update_targets(incidents: Iterable[Incident], procedure: Procedure) -> list[Incident]:
    """Unresolved incidents whose customer gets the daily public update (§4.6.2).

    Per the incident's contract: ``on`` = all, ``severe`` = severities 1-2 only, ``off`` = none.
    """
    out = []
    for incident in unresolved_today(incidents, procedure):
        policy = procedure.contract(incident.contract).customer_updates
        if policy == "on" or (policy == "severe" and incident.severity in (1, 2)):
            out.append(incident)
    return out


def _review_state(procedure: Procedure) -> int:
    return procedure.state_by_key("pending_review").code


def entered_current_state(incident: Incident) -> datetime:
    """When the incident entered the state it is in now (the start of the last run of that state)."""
    entered = incident.reported_at
    previous: int | None = None
    for change in incident.state_history:
        if change.state != previous:
            entered = change.at
        previous = change.state
    return entered if previous == incident.state else incident.updated_at


def pending_review(incidents: Iterable[Incident], procedure: Procedure) -> list[Incident]:
    """Incidents in 待审核, waiting for their project manager (§4.5.2), longest waiting first."""
    code = _review_state(procedure)
    return sorted((i for i in incidents if i.state == code), key=lambda i: (entered_current_state(i), i.ref))


def full_working_day_passed(cal: BusinessCalendar, since: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """True when a whole working day lies in [since, now]: from its first range's start to its last's end."""
    day = since.astimezone(tz).date()
    for _ in range(LOOKBACK_DAYS):
        bounds = _day_bounds(cal, day)
        if bounds is not None and bounds[0] >= since:  # the first working day that starts after it
            return bounds[1] <= now
        day += timedelta(days=1)
    return False


def review_overdue(incidents: Iterable[Incident], procedure: Procedure, now: datetime) -> list[Incident]:
    """Incidents still in 待审核 after a full working day of their contract: a reminder is due."""
    out = []
    for incident in pending_review(incidents, procedure):
        cal = calendar_for(procedure, incident.contract)
        if full_working_day_passed(cal, entered_current_state(incident), now, _zone(procedure, incident.contract)):
            out.append(incident)
    return out


def resolved_in_week(incidents: Iterable[Incident], procedure: Procedure, start: datetime,
                     end: datetime) -> list[Incident]:
    """Incidents resolved in [start, end) and still resolved: the call-back list (§4.6.3)."""
    out = []
    for incident in incidents:
        if is_resolved(incident, procedure) and any(start <= t < end for t in resolutions(incident, procedure)):
            out.append(incident)
    return sorted(out, key=lambda i: (max(t for t in resolutions(i, procedure) if start <= t < end), i.ref))


ProblemReason = Literal["major", "root_cause_unknown"]

#: The marker of the problem record link; one problem per incident, whatever the reason.
PROBLEM_MARKER = "problem-record"


@dataclass(frozen=True)
class ProblemDue:
    """An incident that needs a linked problem record (§4.3.6)."""

    incident: Incident
    reasons: tuple[ProblemReason, ...]
    marker: str = PROBLEM_MARKER


def needs_problem(incidents: Iterable[Incident], procedure: Procedure,
                  has_problem: Callable[[Incident], bool]) -> list[ProblemDue]:
    """Incidents that need a problem record and have none yet.

    A severity-1 incident, resolved or not, gets one (§4.3.6: major incident); so does an
    incident resolved with its root cause marked unknown. One problem per incident:
    `has_problem` says whether it already has one (the connector looks for the marker).
    """
    out = []
    for incident in incidents:
        reasons: list[ProblemReason] = []
        if is_major(incident):
            reasons.append("major")
        if incident.root_cause_unknown and is_resolved(incident, procedure):
            reasons.append("root_cause_unknown")
        if reasons and not has_problem(incident):
            out.append(ProblemDue(incident, tuple(reasons)))
    return out


# -- the digest's content ------------------------------------------------------------


@dataclass(frozen=True)
class LastAction:
    what: Literal["reported", "state", "severity", "escalation", "manual-request", "approval", "group"]
    at: datetime
    by: str | None
    detail: str  # state code, severity, level or group, as text


def last_action(incident: Incident) -> LastAction:
    """The latest recorded change on the incident (the report itself when none)."""
    best = LastAction("reported", incident.reported_at, None, "")
    for what, items, detail in (
        ("state", incident.state_history, lambda c: str(c.state)),
        ("severity", incident.severity_history, lambda c: str(c.severity)),
        ("escalation", incident.escalations, lambda c: str(c.level)),
        ("manual-request", incident.manual_requests, lambda c: c.note or ""),
        ("approval", incident.approvals, lambda c: str(c.to_severity)),
        ("group", incident.group_history, lambda c: c.group or ""),
    ):
        if items and items[-1].at >= best.at:
            change = items[-1]
            best = LastAction(what, change.at, change.by_name or change.by, detail(change))
    return best


@dataclass(frozen=True)
class DigestLine:
    """One incident in a project manager's end-of-day digest (§4.6.1)."""

    incident: Incident
    age: timedelta  # working time in the contract calendar since the report
    next_deadline: datetime | None
    last: LastAction


def digest_line(incident: Incident, procedure: Procedure, now: datetime) -> DigestLine:
    """The digest's facts for one incident: age in working time, next deadline, last action."""
    cal = calendar_for(procedure, incident.contract)
    return DigestLine(incident, cal.measure(incident.reported_at, now),
                      evaluate(incident, procedure, now).next_deadline, last_action(incident))
