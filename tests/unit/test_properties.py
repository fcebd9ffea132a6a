"""Properties of business time and deadlines, over generated report times and state histories."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from mapping.calendar import BusinessCalendar
from mapping.clock import SlaClock
from mapping.escalation import deadlines, evaluate
from mapping.incident import Incident, StateChange
from mapping.loader import load_procedure
from mapping.procedure import Calendar
from mapping.procedure_schema import validated

CST = ZoneInfo("Asia/Shanghai")
PROCEDURE = load_procedure()
CONTRACTS = ["default", "24x7"]
BUSINESS_CALENDARS = [
    BusinessCalendar.from_config(PROCEDURE.calendars["cn-business"]),
    # DST twice a year, a split day and a short Saturday
    BusinessCalendar.from_config(validated(Calendar, {"timezone": "Europe/Berlin", "country": "DE", "hours": {
        "mon": ("08:00-12:00", "12:30-17:00"), "wed": ("00:00-24:00",), "sat": ("01:00-04:00",)}})),
]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)

report_times = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1),
                            timezones=st.just(CST))
# state changes as (minutes after the previous one, new state): pauses, suspensions, resolution, reopen
histories = st.lists(st.tuples(st.integers(1, 3 * 24 * 60), st.integers(1, 7)), min_size=1, max_size=8)


def _incident(reported: datetime, severity: int, contract: str, initial: int,
              changes: list[tuple[int, int]]) -> tuple[Incident, list[datetime]]:
    at, history = reported, [StateChange(at=reported, state=initial)]
    for minutes, state in changes:
        at = at + timedelta(minutes=minutes)
        history.append(StateChange(at=at, state=state))
    inc = Incident(tracker="jira", id="1", ref="OPS-1", reported_at=reported, updated_at=at, severity=severity,
                   state=history[-1].state, contract=contract, state_history=tuple(history))
    return inc, [c.at for c in history]


@SETTINGS
@given(reported=report_times, severity=st.integers(1, 4), contract=st.sampled_from(CONTRACTS),
       initial=st.sampled_from([1, 2, 3]), changes=histories, later=st.integers(0, 10 * 24 * 60))
def test_deadlines_never_precede_the_report(reported: datetime, severity: int, contract: str, initial: int,
                                            changes: list[tuple[int, int]], later: int) -> None:
    for _, _, _, due in deadlines(PROCEDURE, contract, severity, reported):
        assert due >= reported
    inc, stamps = _incident(reported, severity, contract, initial, changes)
    now = stamps[-1] + timedelta(minutes=later)
    outcome = evaluate(inc, PROCEDURE, now)
    for action in outcome.due:
        assert reported <= action.deadline <= now
    if outcome.next_deadline is not None:
        assert outcome.next_deadline > now >= reported


@SETTINGS
@given(reported=report_times, severity=st.integers(2, 4), contract=st.sampled_from(CONTRACTS),
       initial=st.sampled_from([1, 2, 3, 5]), changes=histories)
def test_deadlines_never_move_earlier_as_the_history_grows(reported: datetime, severity: int, contract: str,
                                                           initial: int, changes: list[tuple[int, int]]) -> None:
    """Seen at each moment a change happens (before it is known), then with it: never earlier."""
    full, stamps = _incident(reported, severity, contract, initial, changes)
    row = PROCEDURE.timetable_for(PROCEDURE.contract(contract))[severity]
    last_seen: dict[str, tuple[datetime, datetime]] = {}  # role -> (crossing, when it was computed)
    for known in range(1, len(stamps) + 1):
        now = stamps[known] if known < len(stamps) else stamps[-1] + timedelta(days=30)
        prefix = full.model_copy(update={"state_history": full.state_history[:known],
                                         "state": full.state_history[known - 1].state})
        clock = SlaClock(prefix, PROCEDURE, contract, now)
        for role, offset in row.items():
            crossing = clock.reaches(offset)
            if crossing is None:
                continue
            if role in last_seen:
                before, seen_at = last_seen[role]
                assert crossing >= before, (role, known)
                if before <= seen_at:  # it had passed when seen: it is history, fixed for good
                    assert crossing == before, (role, known)
            last_seen[role] = (crossing, now)


@SETTINGS
@given(start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(CST)),
       seconds=st.integers(0, 400 * 3600), which=st.sampled_from([0, 1]))
def test_business_time_added_then_measured_gives_it_back(start: datetime, seconds: int, which: int) -> None:
    calendar = BUSINESS_CALENDARS[which]
    amount = timedelta(seconds=seconds)
    end = calendar.add(start, amount)
    assert end >= start
    assert abs(calendar.measure(start, end) - amount) < timedelta(seconds=1)
    if seconds:  # the earliest such instant: a minute before, a minute less has passed
        assert calendar.measure(start, end - timedelta(minutes=1)) < amount
