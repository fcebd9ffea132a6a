"""The duties on a clock: when each falls due, once per period, never on days off, caught up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mapping.duties import (
    customer_update_targets,
    digest_line,
    due_duties,
    duty_key,
    entered_current_state,
    full_working_day_passed,
    last_action,
    needs_problem,
    parse_iso_week,
    pending_review,
    resolutions,
    resolved_in_week,
    review_overdue,
    unresolved_today,
    week_bounds,
)
from mapping.incident import EscalationRecord
from mapping.loader import load_procedure
from tests.duties import CST, at, incident


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


def _contracts(procedure, **policies):
    """The procedure with extra contracts on the default calendar, one per customer_updates policy."""
    base = procedure.contracts["default"]
    extra = {name: replace(base, customer_updates=policy) for name, policy in policies.items()}
    return replace(procedure, contracts={**procedure.contracts, **extra})


def _keys(due):
    return [d.period_key for d in due]


# One row per question: (duty, now in CST, last period done or None, expected period keys due)
# Default contract, calendar cn-business (CN holidays; working 09:00-12:00, 13:00-18:00).
# 2026-11-20 is a Friday, 2026-11-21/22 an ordinary weekend; 2026-10-01..07 the National Day
# holidays (10-04 an ordinary Sunday in between); 2026-10-10 a make-up working Saturday (调休).
CASES = [
    # pm_digest: one hour before the end of the working day (18:00 -> 17:00), §4.6.1
    ("pm_digest", "2026-11-20 16:59", "pm_digest:default:2026-11-19", []),
    ("pm_digest", "2026-11-20 17:00", "pm_digest:default:2026-11-19", ["pm_digest:default:2026-11-20"]),
    ("pm_digest", "2026-11-20 23:00", "pm_digest:default:2026-11-19", ["pm_digest:default:2026-11-20"]),
    # once per period: the same key recorded is not due again, that day nor the next morning
    ("pm_digest", "2026-11-20 17:01", "pm_digest:default:2026-11-20", []),
    ("pm_digest", "2026-11-21 17:00", "pm_digest:default:2026-11-20", []),  # Saturday: no work
    ("pm_digest", "2026-11-22 17:30", "pm_digest:default:2026-11-20", []),  # Sunday
    ("pm_digest", "2026-11-23 17:00", "pm_digest:default:2026-11-20", ["pm_digest:default:2026-11-23"]),
    # customer_update: half an hour before the end (17:30), §4.6.2
    ("customer_update", "2026-11-20 17:29", "customer_update:default:2026-11-19", []),
    ("customer_update", "2026-11-20 17:30", "customer_update:default:2026-11-19",
     ["customer_update:default:2026-11-20"]),
    # review_list: the start of the working day (09:00), §4.5.2
    ("review_list", "2026-11-20 08:59", "review_list:default:2026-11-19", []),
    ("review_list", "2026-11-20 09:00", "review_list:default:2026-11-19", ["review_list:default:2026-11-20"]),
    # holidays: nothing from 10-01 to 10-07, the next digest on 10-08
    *[("pm_digest", f"2026-10-0{d} 17:30", "pm_digest:default:2026-09-30", []) for d in range(1, 8)],
    ("pm_digest", "2026-10-08 17:00", "pm_digest:default:2026-09-30", ["pm_digest:default:2026-10-08"]),
    # make-up working Saturday 2026-10-10 and Sunday 2026-09-20 work like a weekday
    ("pm_digest", "2026-10-10 17:00", "pm_digest:default:2026-10-09", ["pm_digest:default:2026-10-10"]),
    ("review_list", "2026-10-10 09:00", "review_list:default:2026-10-09", ["review_list:default:2026-10-10"]),
    ("customer_update", "2026-09-20 17:30", "customer_update:default:2026-09-18",
     ["customer_update:default:2026-09-20"]),
    # an outage: only the most recent missed day of a daily duty is caught up
    ("pm_digest", "2026-11-20 10:00", "pm_digest:default:2026-11-02", ["pm_digest:default:2026-11-19"]),
    ("pm_digest", "2026-11-20 17:30", "pm_digest:default:2026-11-02", ["pm_digest:default:2026-11-20"]),
    # first run: only the most recent period, never the whole past
    ("review_list", "2026-11-22 12:00", None, ["review_list:default:2026-11-20"]),
    # callbacks: the start of the first working day after the ISO week, §4.6.3
    ("callbacks", "2026-11-23 08:59", "callbacks:default:2026-W46", []),
    ("callbacks", "2026-11-23 09:00", "callbacks:default:2026-W46", ["callbacks:default:2026-W47"]),
    ("callbacks", "2026-11-27 09:00", "callbacks:default:2026-W47", []),
    # the week of 09-28..10-04 ends in holidays: its list is due on 10-08, not 10-05
    ("callbacks", "2026-10-07 18:00", "callbacks:default:2026-W39", []),
    ("callbacks", "2026-10-08 09:00", "callbacks:default:2026-W39", ["callbacks:default:2026-W40"]),
    # an outage: every missed week is caught up, oldest first, none twice
    ("callbacks", "2026-11-23 10:00", "callbacks:default:2026-W43",
     ["callbacks:default:2026-W44", "callbacks:default:2026-W45", "callbacks:default:2026-W46",
      "callbacks:default:2026-W47"]),
    ("callbacks", "2026-11-23 10:00", None, ["callbacks:default:2026-W47"]),
]


@pytest.mark.parametrize(("duty", "now", "done", "expected"), CASES)
def test_duty_falls_due_once_per_period(procedure, duty, now, done, expected):
    last_done = {duty_key(duty, "default"): done} if done else {}
    due = due_duties(procedure, "default", last_done, at(now), duties=[duty])
    assert _keys(due) == expected


def test_scheduled_times_and_periods(procedure):
    due = {d.duty: d for d in due_duties(procedure, None, {}, at("2026-11-23 18:00"))}
    assert due["pm_digest"].scheduled_at == at("2026-11-23 17:00")
    assert due["customer_update"].scheduled_at == at("2026-11-23 17:30")
    assert due["review_list"].scheduled_at == at("2026-11-23 09:00")
    assert due["callbacks"].scheduled_at == at("2026-11-23 09:00")
    assert (due["callbacks"].period_start, due["callbacks"].period_end) == (at("2026-11-16 00:00"),
                                                                             at("2026-11-23 00:00"))
    assert (due["pm_digest"].period_start, due["pm_digest"].period_end) == (at("2026-11-23 00:00"),
                                                                             at("2026-11-24 00:00"))
    assert due["pm_digest"].late_by(at("2026-11-23 18:00")) == timedelta(hours=1)
    assert due["pm_digest"].duty_key == "pm_digest:default"


def test_done_periods_are_not_due_again_across_a_simulated_day(procedure):
    """Run the duties every 10 minutes over a working week, recording each as done: each once a day."""
    last_done: dict[str, str] = {}
    fired: list[str] = []
    now = at("2026-11-16 00:00")
    while now < at("2026-11-23 00:00"):
        for due in due_duties(procedure, "default", last_done, now, duties=["pm_digest", "customer_update"]):
            fired.append(f"{due.period_key}@{due.scheduled_at.strftime('%a %H:%M')}")
            last_done[due.duty_key] = due.period_key
        now += timedelta(minutes=10)
    # first run at Monday 00:00: the previous working day (Friday 11-13) is the most recent period
    days = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]
    assert fired[:2] == ["pm_digest:default:2026-11-13@Fri 17:00", "customer_update:default:2026-11-13@Fri 17:30"]
    expected = []
    for day in days:
        weekday = at(f"{day} 00:00").strftime("%a")
        expected += [f"pm_digest:default:{day}@{weekday} 17:00", f"customer_update:default:{day}@{weekday} 17:30"]
    assert fired[2:] == expected


def test_customer_update_policy_off_and_24x7(procedure):
    proc = _contracts(procedure, quiet="off")
    due = due_duties(proc, "quiet", {}, at("2026-11-20 18:00"))
    assert "customer_update" not in {d.duty for d in due}
    # a 24x7 contract works every day, holidays included: its day ends at midnight
    due = {d.duty: d for d in due_duties(procedure, "24x7", {}, at("2026-10-01 23:30"))}
    assert due["pm_digest"].period_key == "pm_digest:24x7:2026-10-01"
    assert due["pm_digest"].scheduled_at == at("2026-10-01 23:00")
    assert due["review_list"].scheduled_at == at("2026-10-01 00:00")


def test_customer_update_targets_follow_each_contract(procedure):
    proc = _contracts(procedure, severe="severe", quiet="off")
    incidents = [
        incident("A-1", "2026-11-20 09:00", severity=1, contract="severe"),
        incident("A-2", "2026-11-20 09:00", severity=3, contract="severe"),
        incident("A-3", "2026-11-20 09:00", severity=1, contract="quiet"),
        incident("A-4", "2026-11-20 09:00", severity=4),
        incident("A-5", "2026-11-20 09:00", [("2026-11-20 10:00", 2), ("2026-11-20 11:00", 3),
                                             ("2026-11-20 12:00", 6)], severity=2),
    ]
    assert [i.ref for i in customer_update_targets(incidents, proc)] == ["A-1", "A-4"]
    # not resolved: most severe first; A-5 is in 待审核
    assert [i.ref for i in unresolved_today(incidents, proc)] == ["A-1", "A-3", "A-2", "A-4"]


def test_pending_review_and_the_reminder_after_a_full_working_day(procedure):
    thu = incident("R-1", "2026-11-19 08:00", [("2026-11-19 08:30", 2), ("2026-11-19 08:40", 3),
                                               ("2026-11-19 10:00", 6)])
    early = incident("R-2", "2026-11-18 08:00", [("2026-11-18 08:10", 2), ("2026-11-18 08:20", 3),
                                                 ("2026-11-18 08:50", 6)])
    holiday = incident("R-3", "2026-09-30 09:00", [("2026-09-30 09:10", 2), ("2026-09-30 09:20", 3),
                                                   ("2026-09-30 10:00", 6)])
    archived = incident("R-4", "2026-11-18 08:00", [("2026-11-18 09:00", 2), ("2026-11-18 10:00", 3),
                                                    ("2026-11-18 11:00", 6), ("2026-11-18 12:00", 7)])
    # reopened from 待审核 and resolved again: it waits from its second entry
    again = incident("R-5", "2026-11-17 09:00", [("2026-11-17 09:10", 2), ("2026-11-17 09:20", 3),
                                                 ("2026-11-17 10:00", 6), ("2026-11-19 09:30", 3),
                                                 ("2026-11-19 11:00", 6)])
    everything = [thu, early, holiday, archived, again]
    assert [i.ref for i in pending_review(everything, procedure)] == ["R-3", "R-2", "R-1", "R-5"]
    assert entered_current_state(again) == at("2026-11-19 11:00")
    # R-2 entered before Wednesday's start: Wednesday is a full day, overdue from its 18:00
    assert [i.ref for i in review_overdue(everything, procedure, at("2026-11-18 17:59"))] == ["R-3"]
    assert [i.ref for i in review_overdue(everything, procedure, at("2026-11-18 18:00"))] == ["R-3", "R-2"]
    # R-1 entered Thursday 10:00: Friday is its first full day
    assert [i.ref for i in review_overdue([thu, again], procedure, at("2026-11-20 17:59"))] == []
    assert [i.ref for i in review_overdue([thu, again], procedure, at("2026-11-20 18:00"))] == ["R-1", "R-5"]


@pytest.mark.parametrize(("since", "now", "passed"), [
    ("2026-09-30 10:00", "2026-10-07 23:00", False),  # 10-01..07 holidays: no full day yet
    ("2026-09-30 10:00", "2026-10-08 17:59", False),
    ("2026-09-30 10:00", "2026-10-08 18:00", True),
    ("2026-10-09 12:00", "2026-10-10 18:00", True),  # the make-up Saturday is a full day
    ("2026-11-20 09:00", "2026-11-20 18:00", True),  # from the very start of the day
    ("2026-11-20 09:01", "2026-11-22 23:00", False),  # the weekend is not worked
])
def test_full_working_day(procedure, since, now, passed):
    from mapping.duties import calendar_for

    assert full_working_day_passed(calendar_for(procedure, None), at(since), at(now), CST) is passed


def test_resolved_in_week_is_the_callback_list(procedure):
    start, end = week_bounds(parse_iso_week("2026-W47"), CST)
    assert (start, end) == (at("2026-11-16 00:00"), at("2026-11-23 00:00"))
    items = [
        incident("C-1", "2026-11-16 09:00", [("2026-11-16 09:10", 2), ("2026-11-16 09:20", 3),
                                             ("2026-11-18 10:00", 6)]),
        incident("C-2", "2026-11-10 09:00", [("2026-11-10 09:10", 2), ("2026-11-10 09:20", 3),
                                             ("2026-11-13 10:00", 6), ("2026-11-17 10:00", 7)]),  # resolved W46
        incident("C-3", "2026-11-16 09:00", [("2026-11-16 09:10", 2), ("2026-11-16 09:20", 3),
                                             ("2026-11-16 11:00", 6), ("2026-11-17 09:00", 3)]),  # reopened
        incident("C-4", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                             ("2026-11-22 23:59", 6), ("2026-11-23 09:00", 7)]),
        incident("C-5", "2026-11-13 09:00", [("2026-11-13 09:10", 2), ("2026-11-13 09:20", 3),
                                             ("2026-11-16 00:00", 6)]),  # the week's first instant counts
        incident("C-6", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                             ("2026-11-23 00:00", 6)]),  # next week
    ]
    assert [i.ref for i in resolved_in_week(items, procedure, start, end)] == ["C-5", "C-1", "C-4"]
    assert resolutions(items[1], procedure) == [at("2026-11-13 10:00")]  # 6 -> 7 is no new resolution
    with pytest.raises(ValueError, match="not an ISO week"):
        parse_iso_week("2026-47")


def test_problem_records(procedure):
    major = incident("P-1", "2026-11-20 09:00", severities=[("2026-11-20 09:00", 1), ("2026-11-20 10:00", 2)])
    unknown_resolved = incident("P-2", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                                            ("2026-11-20 11:00", 6)], root_cause_unknown=True)
    unknown_open = incident("P-3", "2026-11-20 09:00", root_cause_unknown=True)
    both = incident("P-4", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                                ("2026-11-20 11:00", 6)], severity=1, root_cause_unknown=True)
    done = incident("P-5", "2026-11-20 09:00", severity=1)
    plain = incident("P-6", "2026-11-20 09:00", severity=2)
    due = needs_problem([major, unknown_resolved, unknown_open, both, done, plain], procedure,
                        has_problem=lambda i: i.ref == "P-5")
    assert [(d.incident.ref, d.reasons) for d in due] == [
        ("P-1", ("major",)), ("P-2", ("root_cause_unknown",)), ("P-4", ("major", "root_cause_unknown"))]
    assert {d.marker for d in due} == {"problem-record"}


def test_digest_line(procedure):
    item = incident("D-1", "2026-11-19 17:00", [("2026-11-19 17:10", 2), ("2026-11-20 09:30", 3)], severity=3,
                    escalations=(EscalationRecord(at=at("2026-11-20 10:00"), level=1, by="bot"),))
    line = digest_line(item, procedure, at("2026-11-20 11:00"))
    # working time: Thu 17:00-18:00 (1 h) + Fri 09:00-11:00 (2 h)
    assert line.age == timedelta(hours=3)
    # severity 3: division director after 8 h of SLA time: 1 h Thu + 7 h Fri = Fri 09:00 + 7 h
    # (lunch 12:00-13:00 excluded) = 17:00
    assert line.next_deadline == at("2026-11-20 17:00")
    assert (line.last.what, line.last.at, line.last.by, line.last.detail) == (
        "escalation", at("2026-11-20 10:00"), "bot", "1")
    assert last_action(incident("D-2", "2026-11-19 17:00", severity=None)).what == "state"
