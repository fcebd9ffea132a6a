"""Business time on the default profile's calendars: every timetable offset, holidays, 调休, DST."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mapping.calendar import BusinessCalendar
from mapping.loader import ProcedureError, load_procedure
from mapping.procedure import Calendar
from mapping.procedure_schema import validated

CST = ZoneInfo("Asia/Shanghai")
PROCEDURE = load_procedure()
BUSINESS = BusinessCalendar.from_config(PROCEDURE.calendars["cn-business"])
ALWAYS = BusinessCalendar.from_config(PROCEDURE.calendars["24x7"])


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


# Reported Friday 2026-11-20 15:30 (Shanghai). Business hours 09-12, 13-18 Monday-Friday:
# 2.5 h are left on Friday, the weekend 21-22 is free, Monday 23 starts at 09:00.
FRIDAY = "2026-11-20T15:30"
TIMETABLE_CELLS = [
    # severity, level (role), offset, due on 24x7, due on cn-business
    (1, "project_manager", 0, "2026-11-20T15:30", "2026-11-20T15:30"),
    (1, "division_director", 0, "2026-11-20T15:30", "2026-11-20T15:30"),
    (1, "company_management", 0, "2026-11-20T15:30", "2026-11-20T15:30"),
    (2, "project_manager", 4, "2026-11-20T19:30", "2026-11-23T10:30"),  # 2.5 Fri + 1.5 Mon
    (2, "division_director", 6, "2026-11-20T21:30", "2026-11-23T13:30"),  # 2.5 + 3 + lunch + 0.5
    (2, "company_management", 8, "2026-11-20T23:30", "2026-11-23T15:30"),  # 2.5 + 3 + 2.5
    (3, "project_manager", 6, "2026-11-20T21:30", "2026-11-23T13:30"),
    (3, "division_director", 8, "2026-11-20T23:30", "2026-11-23T15:30"),
    (3, "company_management", 12, "2026-11-21T03:30", "2026-11-24T10:30"),  # 2.5 + 8 Mon + 1.5 Tue
    (4, "project_manager", 12, "2026-11-21T03:30", "2026-11-24T10:30"),
    (4, "division_director", 24, "2026-11-21T15:30", "2026-11-25T15:30"),  # 2.5 + 8 + 8 + 5.5 Wed
    (4, "company_management", 48, "2026-11-22T15:30", "2026-11-30T15:30"),  # 2.5 + 5 days + 5.5
]


@pytest.mark.parametrize(("severity", "role", "hours", "due_24x7", "due_business"), TIMETABLE_CELLS)
def test_every_timetable_cell_on_both_calendars(severity: int, role: str, hours: int, due_24x7: str,
                                                due_business: str) -> None:
    offset = PROCEDURE.escalation.timetable[severity][role]
    assert offset == timedelta(hours=hours)  # the default profile is the SPEC's table
    assert ALWAYS.add(cst(FRIDAY), offset) == cst(due_24x7)
    assert BUSINESS.add(cst(FRIDAY), offset) == cst(due_business)


@pytest.mark.parametrize(("reported", "hours", "due", "why"), [
    # National Day 2026-10-01..07 is free; Saturday 2026-10-10 is a make-up working day
    ("2026-09-30T16:00", 4, "2026-10-08T11:00", "2 h Wed, holiday week, 2 h Thu"),
    ("2026-09-30T16:00", 12, "2026-10-09T11:00", "2 + 8 Thu + 2 Fri"),
    ("2026-09-30T16:00", 24, "2026-10-10T16:00", "2 + 8 + 8, then 6 h on make-up Saturday 10-10"),
    ("2026-09-30T16:00", 48, "2026-10-14T16:00", "Sat 10-10 works, Sun 10-11 does not"),
    # Spring Festival: Saturday 2026-02-14 works, 02-15..23 are free
    ("2026-02-13T17:00", 4, "2026-02-14T12:00", "1 h Fri, 3 h on make-up Saturday"),
    ("2026-02-13T17:00", 8, "2026-02-14T17:00", "1 + 3 + 4"),
    ("2026-02-13T17:00", 12, "2026-02-24T12:00", "1 + 8 Sat, festival, 3 h Tue 02-24"),
    # make-up Sundays work too: 2026-09-20 (before National Day) and 2026-01-04 (New Year)
    ("2026-09-18T17:00", 4, "2026-09-20T12:00", "1 h Fri, Sat free, 3 h on make-up Sunday"),
    ("2026-01-02T09:00", 2, "2026-01-04T11:00", "New Year 01-01..03 free, Sunday 01-04 works"),
    # reported outside working hours: the clock starts with the next working range
    ("2026-11-21T10:00", 4, "2026-11-23T14:00", "reported on a Saturday"),
    ("2026-11-20T12:30", 1, "2026-11-20T14:00", "reported in the lunch break"),
    ("2026-11-20T14:00", 4, "2026-11-20T18:00", "ends exactly at the end of the day, not Monday 09:00"),
])
def test_business_time_crosses_holidays_and_makeup_days(reported: str, hours: int, due: str, why: str) -> None:
    assert BUSINESS.add(cst(reported), timedelta(hours=hours)) == cst(due), why
    assert BUSINESS.measure(cst(reported), cst(due)) == timedelta(hours=hours), why


@pytest.mark.parametrize(("day", "working"), [
    ("2026-01-04", True),  # Sunday, make-up working day (调休)
    ("2026-02-14", True),  # Saturday, make-up working day
    ("2026-09-20", True),  # Sunday, make-up working day
    ("2026-10-10", True),  # Saturday, make-up working day
    *((f"2026-10-0{d}", False) for d in range(1, 8)),  # National Day, weekdays included
    ("2026-02-16", False),  # Spring Festival (Monday)
    ("2026-11-21", False),  # an ordinary Saturday
    ("2026-11-22", False),  # an ordinary Sunday
    ("2026-11-23", True),  # an ordinary Monday
])
def test_chinese_working_days(day: str, working: bool) -> None:
    d = date.fromisoformat(day)
    assert BUSINESS.is_working_day(d) is working
    assert bool(BUSINESS.working_ranges(d)) is working


def test_working_ranges_are_aware_local_instants_and_makeup_days_use_monday_hours() -> None:
    assert BUSINESS.working_ranges(date(2026, 10, 10)) == [
        (cst("2026-10-10T09:00"), cst("2026-10-10T12:00")), (cst("2026-10-10T13:00"), cst("2026-10-10T18:00"))]
    assert ALWAYS.working_ranges(date(2026, 10, 1)) == [(cst("2026-10-01T00:00"), cst("2026-10-02T00:00"))]
    assert ALWAYS.is_working_day(date(2026, 10, 1))  # 24x7: National Day included


def _calendar(**fields) -> BusinessCalendar:
    return BusinessCalendar.from_config(validated(Calendar, fields))


def test_explicit_lists_override_the_country_and_makeup_hours_apply() -> None:
    cal = _calendar(country="CN", hours={"mon": ("09:00-17:00",)}, makeup_hours=("10:00-12:00",),
                    holidays=(date(2026, 11, 23),), working_days=(date(2026, 10, 1), date(2026, 11, 22)))
    assert not cal.is_working_day(date(2026, 11, 23))  # an explicit holiday beats a Monday
    assert cal.is_working_day(date(2026, 10, 1))  # an explicit working day beats National Day
    # Sunday 11-22 works makeup_hours; Tuesday 11-24 has no hours and is no make-up day
    assert cal.working_ranges(date(2026, 11, 22)) == [(cst("2026-11-22T10:00"), cst("2026-11-22T12:00"))]
    assert not cal.is_working_day(date(2026, 11, 24))
    assert cal.working_ranges(date(2026, 10, 1)) == [(cst("2026-10-01T10:00"), cst("2026-10-01T12:00"))]


def test_without_a_country_the_weekdays_with_hours_work() -> None:
    cal = _calendar(hours={"sat": ("08:00-12:00",), "sun": ("08:00-12:00",)})
    assert cal.is_working_day(date(2026, 10, 3)) and not cal.is_working_day(date(2026, 10, 5))
    # Saturday 08:00 + 6 h = Sunday 10:00
    assert cal.add(cst("2026-10-03T08:00"), timedelta(hours=6)) == cst("2026-10-04T10:00")


def test_a_country_with_weekend_hours_works_ordinary_weekends_but_not_holidays() -> None:
    cal = _calendar(country="CN", hours={d: ("09:00-17:00",) for d in ("mon", "tue", "wed", "thu", "fri", "sat")})
    assert cal.is_working_day(date(2026, 11, 21))  # an ordinary Saturday with hours
    assert not cal.is_working_day(date(2026, 10, 3))  # a Saturday in National Day week
    assert not cal.is_working_day(date(2026, 11, 22))  # a Sunday has no hours


@pytest.mark.parametrize(("start", "end", "hours", "why"), [
    ("2026-03-28T12:00", "2026-03-30T00:00", 35, "spring forward: Sunday 29 March has 23 hours"),
    ("2026-10-24T12:00", "2026-10-26T00:00", 37, "fall back: Sunday 25 October has 25 hours"),
])
def test_daylight_saving_days_are_measured_in_real_hours(start: str, end: str, hours: int, why: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cal = _calendar(timezone="Europe/Berlin", hours={d: ("00:00-24:00",) for d in ("fri", "sat", "sun", "mon")})
    a, b = datetime.fromisoformat(start).replace(tzinfo=berlin), datetime.fromisoformat(end).replace(tzinfo=berlin)
    assert cal.measure(a, b) == timedelta(hours=hours), why
    assert cal.add(a, timedelta(hours=hours)) == b, why


def test_business_hours_keep_their_local_time_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    cal = _calendar(timezone="Europe/Berlin", hours={"fri": ("09:00-17:00",), "mon": ("09:00-17:00",)})
    # Friday 27 March 16:00 CET + 2 h = Monday 30 March 10:00 CEST (08:00 UTC, not 09:00 UTC)
    due = cal.add(datetime(2026, 3, 27, 16, tzinfo=berlin), timedelta(hours=2))
    assert due == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_add_and_measure_edges() -> None:
    start = cst("2026-11-21T10:00")  # a Saturday
    assert BUSINESS.add(start, timedelta(0)) == start  # zero is "immediately", even off hours
    assert BUSINESS.add(start, timedelta(0)).tzinfo == UTC
    assert BUSINESS.measure(start, start - timedelta(hours=1)) == timedelta(0)
    assert BUSINESS.measure(cst("2026-11-21T00:00"), cst("2026-11-23T00:00")) == timedelta(0)
    assert ALWAYS.measure(cst("2026-11-21T00:00"), cst("2026-11-23T00:00")) == timedelta(days=2)
    with pytest.raises(ValueError, match="negative"):
        BUSINESS.add(start, timedelta(hours=-1))


def test_the_index_grows_both_ways_and_keeps_measures_consistent() -> None:
    cal = _calendar(country="CN", hours={"mon": ("09:00-18:00",)}, timezone="Asia/Shanghai")
    mid, early, late = cst("2026-06-01T10:00"), cst("2019-06-03T10:00"), cst("2031-06-02T10:00")
    first = cal.measure(mid, cst("2026-06-08T10:00"))
    assert first == timedelta(hours=9)
    whole = cal.measure(early, late)  # needs the index years before and after
    assert whole == cal.measure(early, mid) + cal.measure(mid, late)
    assert cal.measure(mid, cst("2026-06-08T10:00")) == first
    assert cal.add(early, whole) == late.astimezone(UTC)


def test_calendars_are_built_once_per_config() -> None:
    config = PROCEDURE.calendars["cn-business"]
    assert BusinessCalendar.from_config(config) is BUSINESS
    assert BusinessCalendar.from_config(replace(config)) is BUSINESS  # an equal copy


@pytest.mark.parametrize(("override", "message"), [
    ("calendars:\n  x: {country: XX, hours: {mon: ['09:00-17:00']}}\n", "calendars.x: country 'XX'"),
    ("calendars:\n  x: {hours: {mon: ['09:00-17:00']}, makeup_hours: ['9-5']}\n",
     "calendars.x.makeup_hours: makeup_hours: '9-5' is not a range"),
])
def test_bad_calendars_are_reported(tmp_path, override: str, message: str) -> None:
    path = tmp_path / "procedure.yaml"
    path.write_text(override, encoding="utf-8")
    with pytest.raises(ProcedureError) as caught:
        load_procedure(path)
    assert any(message in line for line in caught.value.problems), caught.value.problems
