"""A year's official arrangement of days off in the calendar, and the years that lack one.

China publishes each year's 放假安排 in the autumn before; the `holidays` package
carries the notices up to its release and only estimates later years. An admin gives a
year's arrangement in the procedure YAML (`calendars.<name>.arrangements.<year>`), and
it takes precedence over the package for that year; `escalator procedure check` warns
of a year a contract's calendar reaches into with neither.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from mapping.calendar import BusinessCalendar, official_years, unannounced_years
from mapping.escalation import deadlines
from mapping.loader import ProcedureError, load_procedure
from mapping.procedure import Calendar
from mapping.procedure_schema import validated
from plugin.calendars import unannounced_lines
from plugin.cli.main import main

CST = ZoneInfo("Asia/Shanghai")
WEEK = {d: ("09:00-12:00", "13:00-18:00") for d in ("mon", "tue", "wed", "thu", "fri")}


def calendar(**fields) -> Calendar:
    return validated(Calendar, fields)

#: a made-up arrangement for 2040 (no notice exists): Spring Festival Mon 02-13 .. Fri 02-17 off,
#: Saturday 02-11 and Sunday 02-19 make-up working days
ARRANGEMENT_2040 = """
    calendars:
      cn-business:
        arrangements:
          2040:
            days_off: [2040-02-13, 2040-02-14, 2040-02-15, 2040-02-16, 2040-02-17]
            working_days: [2040-02-11, 2040-02-19]
"""


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def write(tmp_path: Path, text: str, name: str = "procedure.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_a_calendar_given_for_a_future_year_changes_the_deadlines(tmp_path) -> None:
    plain = load_procedure()
    arranged = load_procedure(write(tmp_path, ARRANGEMENT_2040))
    # severity 4, reported Friday 2040-02-10 17:00: 1 h that day, then 11 h more
    without = deadlines(plain, "default", 4, cst("2040-02-10T17:00"))
    given = deadlines(arranged, "default", 4, cst("2040-02-10T17:00"))
    # the package's estimate for 2040 (02-13..16 off, no make-up day): Fri 02-17 8 h, Mon 02-20 3 h
    assert without[0][3] == cst("2040-02-20T12:00")
    # the arrangement: Saturday 02-11 works 8 h, the festival week is free, Sunday 02-19 works
    assert given[0][3] == cst("2040-02-19T12:00")
    assert given[1][3] == cst("2040-02-20T17:00")  # 24 h: 1 + 8 Sat + 8 Sun + 7 Mon 02-20


def test_the_arrangement_replaces_the_package_for_its_year_only() -> None:
    # a (wrong, but given) arrangement for 2026 that forgets National Day: the admin's word counts
    cal = BusinessCalendar.from_config(calendar(country="CN", hours=WEEK, arrangements={
        2026: {"days_off": [date(2026, 5, 1)], "working_days": [date(2026, 5, 9)]}}))
    assert cal.is_working_day(date(2026, 10, 1))  # Thursday: the package's holiday is not asked
    assert not cal.is_working_day(date(2026, 10, 10))  # the package's make-up Saturday is not either
    assert not cal.is_working_day(date(2026, 5, 1))
    assert cal.is_working_day(date(2026, 5, 9))  # Saturday, listed: Monday's hours
    assert cal.working_ranges(date(2026, 5, 9))[0][0] == cst("2026-05-09T09:00")
    # 2025 is still the package's: National Day off, Saturday 2025-09-28 a make-up working day
    assert not cal.is_working_day(date(2025, 10, 1))
    assert cal.is_working_day(date(2025, 9, 28))


def test_a_new_year_arrangement_may_work_the_december_before() -> None:
    cal = BusinessCalendar.from_config(calendar(country="CN", hours=WEEK, arrangements={
        2041: {"days_off": [date(2041, 1, 2)], "working_days": [date(2040, 12, 29)]}}))
    assert cal.is_working_day(date(2040, 12, 29))  # a Saturday
    assert not cal.is_working_day(date(2041, 1, 2))


@pytest.mark.parametrize(("text", "message"), [
    ("calendars:\n  cn-business:\n    arrangements:\n      2040: {days_off: [2041-01-01]}\n",
     "procedure.yaml:3: calendars.cn-business.arrangements: 2040.days_off: 2041-01-01 is not in 2040 "
     "(put it under 2041)"),
    ("calendars:\n  cn-business:\n    arrangements:\n      2040: {working_days: [2039-11-30]}\n",
     "2040.working_days: 2039-11-30 is not in 2040 or the December before (put it under 2039)"),
    ("calendars:\n  cn-business:\n    arrangements:\n      2040: {days_off: [2040-02-13], "
     "working_days: [2040-02-13]}\n", "2040: 2040-02-13 is listed both as a day off and as a working day"),
    ("calendars:\n  24x7:\n    arrangements:\n      2040: {days_off: [2040-02-13]}\n",
     "calendars.24x7: `arrangements` mean nothing on a 24x7 calendar"),
    ("calendars:\n  cn-business:\n    arrangements:\n      2040: {day_off: [2040-02-13]}\n",
     "calendars.cn-business.arrangements.2040.day_off: unknown key 'day_off' (did you mean 'days_off'?)"),
])
def test_a_bad_arrangement_is_one_line_with_its_place(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ProcedureError) as caught:
        load_procedure(write(tmp_path, text))
    assert any(message in line for line in caught.value.problems), caught.value.problems


def test_which_years_are_known() -> None:
    cn = calendar(country="CN", hours=WEEK, arrangements={2040: {"days_off": [date(2040, 2, 13)]}})
    known = official_years(cn)
    assert {2019, 2020, 2040} <= known  # the package's notices (2001 on) and the calendar's own
    assert 2039 not in known
    # nothing to announce: 24x7, no country, a country whose holidays follow fixed rules
    assert official_years(calendar(always=True)) is None
    assert official_years(calendar(hours=WEEK)) is None
    assert official_years(calendar(country="DE", hours=WEEK, timezone="Europe/Berlin")) is None


@pytest.mark.parametrize(("today", "years"), [
    (date(2039, 6, 1), [2039]),  # 90 days ahead stay in 2039
    (date(2039, 10, 2), [2039]),
    (date(2039, 10, 3), [2039, 2040]),  # 90 days ahead is 2040-01-01
    (date(2040, 12, 1), [2040]),  # 2041 is given
    (date(2041, 3, 1), []),
])
def test_the_years_a_calendar_reaches_into(today: date, years: list[int]) -> None:
    cn = calendar(country="CN", hours=WEEK, arrangements={2041: {"days_off": [date(2041, 2, 1)]}})
    assert unannounced_years(cn, today) == years
    assert unannounced_years(cn, today, lookahead=timedelta(0)) == [y for y in years if y == today.year]


def test_the_warning_names_calendar_contracts_year_and_what_to_add() -> None:
    lines = unannounced_lines(load_procedure(), cst("2039-11-15T10:00"))
    # the 24x7 calendar needs no arrangement; cn-business lacks 2039 and 2040
    assert len(lines) == 2
    assert lines[1].startswith("calendar cn-business (contract default) reaches into 2040, for which neither "
                               "the procedure nor the holidays package ")
    assert "has CN's official arrangement" in lines[1]
    assert lines[1].endswith("Add calendars.cn-business.arrangements.2040 with its days_off and working_days, "
                             "or a holidays package that carries 2040.")


def test_procedure_check_warns_of_a_missing_year_once_and_passes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ESCALATOR_CLOCK", "accelerated:1:2039-11-15T10:00:00+08:00")
    result = CliRunner().invoke(main, ["procedure", "check", str(write(tmp_path, ARRANGEMENT_2040))])
    assert result.exit_code == 0
    assert "OK" in result.stdout
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: calendar cn-business (contract default) "
                                                         "reaches into 2039,")
    covered = write(tmp_path, ARRANGEMENT_2040.replace("2040:", "2039: {days_off: [2039-10-03]}\n          2040:"),
                    "covered.yaml")
    result = CliRunner().invoke(main, ["procedure", "check", str(covered)])
    assert result.exit_code == 0 and result.stderr == ""
