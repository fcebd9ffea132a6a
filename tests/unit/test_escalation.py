"""Vertical escalation (§5.2): the timetable on both calendars, pauses, reopen, raises, manual requests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mapping.escalation import UnknownContract, deadlines, evaluate
from mapping.incident import (
    EscalationRecord,
    Incident,
    ManualEscalationRequest,
    SeverityChange,
    StateChange,
)
from mapping.loader import default_profile_data, merge
from mapping.procedure import Procedure
from mapping.procedure_schema import validated

CST = ZoneInfo("Asia/Shanghai")
PROCEDURE = validated(Procedure, merge(default_profile_data(), {"contracts": {
    "vendor-pauses-business": {"calendar": "cn-business", "clock": {"suspended": "paused"}},
}}))
ROLES = {1: "project_manager", 2: "division_director", 3: "company_management"}
MINUTE = timedelta(minutes=1)


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def incident(reported: str, severity: int | None, history: list[tuple[str, int]] | None = None, *,
             contract: str | None = None, level: int = 0, escalations: tuple | list = (),
             manual: tuple | list = (), raised: tuple | list = ()) -> Incident:
    history = history if history is not None else [(reported, 3)]
    return Incident(
        tracker="zammad", id="7", ref="31007", reported_at=cst(reported), updated_at=cst(reported),
        severity=severity, state=history[-1][1], contract=contract, escalation_level=level,
        state_history=tuple(StateChange(at=cst(at), state=s) for at, s in history),
        severity_history=tuple(SeverityChange(at=cst(at), severity=s) for at, s in raised),
        escalations=tuple(EscalationRecord(at=cst(at), level=lv) for at, lv in escalations),
        manual_requests=tuple(ManualEscalationRequest(at=cst(at)) for at in manual))


def levels(outcome) -> list[tuple[int, str, str]]:
    return [(e.level, e.reason, e.deadline.astimezone(CST).strftime("%m-%d %H:%M")) for e in outcome.due]


FRIDAY = "2026-11-20T15:30"
# severity, level, due on the 24x7 contract, due on the default (cn-business) contract — by hand:
# Friday 15:30 leaves 2.5 working hours, the weekend is free, Monday starts at 09:00.
CELLS = [
    (1, 1, "2026-11-20T15:30", "2026-11-20T15:30"),
    (1, 2, "2026-11-20T15:30", "2026-11-20T15:30"),
    (1, 3, "2026-11-20T15:30", "2026-11-20T15:30"),
    (2, 1, "2026-11-20T19:30", "2026-11-23T10:30"),
    (2, 2, "2026-11-20T21:30", "2026-11-23T13:30"),
    (2, 3, "2026-11-20T23:30", "2026-11-23T15:30"),
    (3, 1, "2026-11-20T21:30", "2026-11-23T13:30"),
    (3, 2, "2026-11-20T23:30", "2026-11-23T15:30"),
    (3, 3, "2026-11-21T03:30", "2026-11-24T10:30"),
    (4, 1, "2026-11-21T03:30", "2026-11-24T10:30"),
    (4, 2, "2026-11-21T15:30", "2026-11-25T15:30"),
    (4, 3, "2026-11-22T15:30", "2026-11-30T15:30"),
]


@pytest.mark.parametrize("contract", ["24x7", "default"])
@pytest.mark.parametrize(("severity", "level", "due_24x7", "due_business"), CELLS)
def test_every_timetable_cell_falls_due_at_its_instant(contract: str, severity: int, level: int,
                                                        due_24x7: str, due_business: str) -> None:
    due = cst(due_24x7 if contract == "24x7" else due_business)
    inc = incident(FRIDAY, severity, contract=contract, level=level - 1)  # lower levels done
    if due > cst(FRIDAY):
        before = evaluate(inc, PROCEDURE, due - MINUTE)
        assert before.due == [] and before.next_deadline == due
    at = evaluate(inc, PROCEDURE, due)
    assert [(e.level, e.role, e.reason, e.deadline) for e in at.due][:1] == [(level, ROLES[level], "timetable", due)]
    assert [(lv, role, due_at) for lv, role, _, due_at in deadlines(PROCEDURE, contract, severity, cst(FRIDAY))
            if lv == level] == [(level, ROLES[level], due)]


@pytest.mark.parametrize(("reported", "severity", "now", "expected", "next_due", "why"), [
    ("2026-09-30T16:00", 2, "2026-10-08T11:00", [(1, "timetable", "10-08 11:00")], "2026-10-08T14:00",
     "National Day: 2 h Wed, then Thu 10-08: 2 h to 11:00, 4 h to 14:00"),
    ("2026-09-30T16:00", 4, "2026-10-10T16:00", [(1, "timetable", "10-09 11:00"), (2, "timetable", "10-10 16:00")],
     "2026-10-14T16:00", "24 h end on make-up Saturday 10-10; 48 h skip Sunday 10-11"),
    ("2026-02-13T17:00", 2, "2026-02-14T12:00", [(1, "timetable", "02-14 12:00")], "2026-02-14T15:00",
     "make-up Saturday before the Spring Festival"),
    ("2026-02-13T17:00", 3, "2026-02-23T23:00", [(1, "timetable", "02-14 15:00"), (2, "timetable", "02-14 17:00")],
     "2026-02-24T12:00", "the festival 02-15..23 does not count"),
])
def test_business_deadlines_cross_holidays_and_makeup_days(reported: str, severity: int, now: str, expected: list,
                                                           next_due: str, why: str) -> None:
    outcome = evaluate(incident(reported, severity), PROCEDURE, cst(now))
    assert levels(outcome) == expected, why
    assert outcome.next_deadline == cst(next_due), why


@pytest.mark.parametrize(("contract", "pause_state", "pm_due"), [
    ("default", 5, "2026-11-23T14:30"),  # 暂停 stops the clock: 0.5 h Fri + 3.5 h from Mon 10:00
    ("default", 4, "2026-11-23T10:30"),  # 挂起 does not
    ("vendor-pauses-business", 4, "2026-11-23T14:30"),  # unless the contract says so
])
def test_pauses_move_deadlines(contract: str, pause_state: int, pm_due: str) -> None:
    inc = incident(FRIDAY, 2, [(FRIDAY, 3), ("2026-11-20T16:00", pause_state), ("2026-11-23T10:00", 3)],
                   contract=contract)
    assert evaluate(inc, PROCEDURE, cst("2026-11-23T10:00")).next_deadline == cst(pm_due)
    assert evaluate(inc, PROCEDURE, cst(pm_due) - MINUTE).due == []
    assert levels(evaluate(inc, PROCEDURE, cst(pm_due))) == [(1, "timetable", cst(pm_due).strftime("%m-%d %H:%M"))]


def test_while_paused_nothing_new_falls_due_and_no_deadline_is_projected() -> None:
    inc = incident("2026-11-20T09:00", 2, [("2026-11-20T09:00", 3), ("2026-11-20T14:00", 5)], contract="24x7")
    outcome = evaluate(inc, PROCEDURE, cst("2026-11-21T09:00"))
    assert levels(outcome) == [(1, "timetable", "11-20 13:00")]  # reached before the pause
    assert outcome.next_deadline is None


def test_resolution_stops_the_clock_and_a_reopen_resumes_it() -> None:
    history = [("2026-11-20T09:00", 3), ("2026-11-20T10:00", 6)]
    resolved = incident("2026-11-20T09:00", 2, history, contract="24x7", manual=["2026-11-20T10:30"])
    assert evaluate(resolved, PROCEDURE, cst("2026-11-21T09:00")) == evaluate(resolved, PROCEDURE, cst("2026-11-20T11:00"))
    assert evaluate(resolved, PROCEDURE, cst("2026-11-21T09:00")).due == []
    assert evaluate(resolved, PROCEDURE, cst("2026-11-21T09:00")).next_deadline is None
    archived = incident("2026-11-20T09:00", 1, [*history, ("2026-11-20T11:00", 7)], contract="24x7")
    assert evaluate(archived, PROCEDURE, cst("2026-11-20T12:00")).due == []
    # the project manager sends it back at 15:00: 1 h counted before, 3 h more to go
    reopened = incident("2026-11-20T09:00", 2, [*history, ("2026-11-20T15:00", 3)], contract="24x7")
    outcome = evaluate(reopened, PROCEDURE, cst("2026-11-20T17:00"))
    assert outcome.due == [] and outcome.next_deadline == cst("2026-11-20T18:00")
    assert levels(evaluate(reopened, PROCEDURE, cst("2026-11-20T18:00"))) == [(1, "timetable", "11-20 18:00")]


@pytest.mark.parametrize(("contract", "reported", "raised_at", "expected", "next_due"), [
    # raised 3 -> 2 after 5 h: the 4 h project-manager level was due at 13:00
    ("24x7", "2026-11-20T09:00", "2026-11-20T14:00", [(1, "timetable", "11-20 13:00")], "2026-11-20T15:00"),
    # business hours: Monday 09:00, 5 working hours = 15:00; 4 h were reached at 14:00
    ("default", "2026-11-23T09:00", "2026-11-23T15:00", [(1, "timetable", "11-23 14:00")], "2026-11-23T16:00"),
])
def test_a_severity_raised_midway_is_recomputed_from_the_report(contract: str, reported: str, raised_at: str,
                                                               expected: list, next_due: str) -> None:
    before = incident(reported, 3, contract=contract, raised=[(reported, 3)])
    assert evaluate(before, PROCEDURE, cst(raised_at)).due == []  # 6 h not reached yet
    after = incident(reported, 2, contract=contract, raised=[(reported, 3), (raised_at, 2)])
    outcome = evaluate(after, PROCEDURE, cst(raised_at))
    assert levels(outcome) == expected
    assert outcome.next_deadline == cst(next_due)


@pytest.mark.parametrize(("contract", "reported"), [("24x7", "2026-11-20T09:00"), ("default", "2026-11-21T10:00")])
def test_severity_1_escalates_every_level_at_once(contract: str, reported: str) -> None:
    outcome = evaluate(incident(reported, 1, contract=contract), PROCEDURE, cst(reported))
    stamp = cst(reported).strftime("%m-%d %H:%M")  # even on a Saturday off business hours
    assert levels(outcome) == [(1, "timetable", stamp), (2, "timetable", stamp), (3, "timetable", stamp)]
    assert outcome.next_deadline is None


@pytest.mark.parametrize(("manual", "escalations", "level", "now", "expected", "next_due"), [
    (["2026-11-20T10:00"], [], 0, "2026-11-20T10:05", [(1, "manual", "11-20 10:00")], "2026-11-20T17:00"),
    (["2026-11-20T10:00", "2026-11-20T10:30"], [], 0, "2026-11-20T10:35",
     [(1, "manual", "11-20 10:00"), (2, "manual", "11-20 10:30")], "2026-11-20T21:00"),
    # never beyond the top of the ladder
    (["2026-11-20T10:00", "2026-11-20T10:01", "2026-11-20T10:02", "2026-11-20T10:03"], [], 0, "2026-11-20T10:05",
     [(1, "manual", "11-20 10:00"), (2, "manual", "11-20 10:01"), (3, "manual", "11-20 10:02")], None),
    # served: an escalation recorded at or after the request
    (["2026-11-20T10:00"], [("2026-11-20T10:02", 1)], 1, "2026-11-20T10:05", [], "2026-11-20T17:00"),
    (["2026-11-20T10:00", "2026-11-20T10:30"], [("2026-11-20T10:02", 1)], 1, "2026-11-20T10:35",
     [(2, "manual", "11-20 10:30")], "2026-11-20T21:00"),
    # a request after a level fell due escalates beyond it
    (["2026-11-20T15:30"], [], 0, "2026-11-20T15:40",
     [(1, "timetable", "11-20 15:00"), (2, "manual", "11-20 15:30")], "2026-11-20T21:00"),
    # a request made before the level fell due is that level, not one more
    (["2026-11-20T10:00"], [], 0, "2026-11-20T15:10", [(1, "manual", "11-20 10:00")], "2026-11-20T17:00"),
    # a request in the future of `now` does not count yet
    (["2026-11-20T12:00"], [], 0, "2026-11-20T11:00", [], "2026-11-20T15:00"),
])
def test_manual_requests_escalate_one_level_each(manual: list[str], escalations: list, level: int, now: str,
                                                 expected: list, next_due: str | None) -> None:
    # severity 3 on 24x7, reported 09:00: timetable 15:00, 17:00, 21:00
    inc = incident("2026-11-20T09:00", 3, contract="24x7", manual=manual, escalations=escalations, level=level)
    outcome = evaluate(inc, PROCEDURE, cst(now))
    assert levels(outcome) == expected
    assert outcome.next_deadline == (cst(next_due) if next_due else None)


def test_a_manual_request_while_paused_still_escalates() -> None:
    inc = incident("2026-11-20T09:00", 3, [("2026-11-20T09:00", 3), ("2026-11-20T09:30", 5)], contract="24x7",
                   manual=["2026-11-20T10:00"])
    outcome = evaluate(inc, PROCEDURE, cst("2026-11-20T10:01"))
    assert levels(outcome) == [(1, "manual", "11-20 10:00")] and outcome.next_deadline is None


@pytest.mark.parametrize(("level", "escalations", "expected"), [
    (0, [], [1, 2, 3]),
    (1, [], [2, 3]),
    (0, [("2026-11-20T18:00", 2)], [3]),  # a recorded level 2 implies level 1
    (1, [("2026-11-20T18:00", 2)], [3]),
    (3, [], []),
    (0, [("2026-11-20T18:00", 3)], []),
])
def test_nothing_is_due_twice(level: int, escalations: list, expected: list[int]) -> None:
    inc = incident("2026-11-20T09:00", 2, contract="24x7", level=level, escalations=escalations)
    outcome = evaluate(inc, PROCEDURE, cst("2026-11-21T09:00"))
    assert [e.level for e in outcome.due] == expected
    assert outcome.next_deadline is None


def test_without_a_severity_nothing_is_due() -> None:
    inc = incident("2026-11-20T09:00", None, contract="24x7", manual=["2026-11-20T10:00"])
    assert evaluate(inc, PROCEDURE, cst("2026-11-25T09:00")) == evaluate(inc, PROCEDURE, cst("2026-11-20T09:00"))
    assert evaluate(inc, PROCEDURE, cst("2026-11-25T09:00")).due == []


def test_escalate_actions_are_filled_in() -> None:
    inc = incident("2026-11-20T09:00", 2, [("2026-11-20T09:00", 3), ("2026-11-20T10:00", 5), ("2026-11-20T11:00", 3)])
    (action,) = evaluate(inc, PROCEDURE, cst("2026-11-20T15:30")).due  # default contract, business hours
    assert action.model_dump() == {
        "kind": "escalate", "level": 1, "role": "project_manager", "deadline": cst("2026-11-20T15:00"),
        "reason": "timetable", "severity": 2, "contract": "default",
        "elapsed": timedelta(hours=4, minutes=30),  # 09-10, 11-12, 13-15:30
        "allowed": timedelta(hours=4)}
    assert action.overdue(cst("2026-11-20T15:30")) == timedelta(minutes=30)


def test_an_unknown_contract_is_named() -> None:
    inc = incident("2026-11-20T09:00", 2, contract="acme")
    with pytest.raises(UnknownContract, match=r"unknown contract 'acme' \(known: 24x7, default, vendor"):
        evaluate(inc, PROCEDURE, cst("2026-11-20T09:00"))
    with pytest.raises(UnknownContract):
        deadlines(PROCEDURE, "acme", 2, cst("2026-11-20T09:00"))


def test_deadlines_list_every_level_with_its_offset() -> None:
    assert deadlines(PROCEDURE, None, 3, cst("2026-11-20T09:00")) == [
        (1, "project_manager", timedelta(hours=6), cst("2026-11-20T16:00")),
        (2, "division_director", timedelta(hours=8), cst("2026-11-20T18:00")),
        (3, "company_management", timedelta(hours=12), cst("2026-11-23T14:00")),
    ]
