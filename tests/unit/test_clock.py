"""The SLA clock: which states count, pauses, reopen, per-contract overrides, crossing instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mapping.clock import SlaClock, sla_elapsed, when_elapsed_reaches
from mapping.incident import Incident, StateChange
from mapping.loader import default_profile_data, merge
from mapping.procedure import Procedure
from mapping.procedure_schema import validated

CST = ZoneInfo("Asia/Shanghai")
# the default profile plus contracts whose 挂起 (suspended) stops the clock
PROCEDURE = validated(Procedure, merge(default_profile_data(), {"contracts": {
    "vendor-pauses": {"calendar": "24x7", "clock": {"suspended": "paused"}},
    "vendor-pauses-business": {"calendar": "cn-business", "clock": {"suspended": "paused"}},
}}))


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def incident(reported: str, history: list[tuple[str, int]], *, state: int | None = None) -> Incident:
    changes = tuple(StateChange(at=cst(at), state=s) for at, s in history)
    current = state if state is not None else changes[-1].state
    return Incident(tracker="jira", id="1", ref="OPS-1", reported_at=cst(reported), updated_at=cst(reported),
                    severity=2, state=current, state_history=changes)


D = "2026-11-20T"  # a Friday
CASES = [
    # id, contract, history (time, state), now, elapsed h, reaches 2h, reaches 4h
    ("paused-stops", "24x7", [(D + "09:00", 1), (D + "09:30", 3), (D + "10:00", 5), (D + "12:00", 3)],
     D + "14:00", 3, D + "13:00", D + "15:00"),
    ("suspended-runs", "24x7", [(D + "09:00", 1), (D + "09:30", 3), (D + "10:00", 4), (D + "12:00", 3)],
     D + "14:00", 5, D + "11:00", D + "13:00"),
    ("contract-makes-suspended-stop", "vendor-pauses",
     [(D + "09:00", 1), (D + "09:30", 3), (D + "10:00", 4), (D + "12:00", 3)], D + "14:00", 3, D + "13:00", D + "15:00"),
    ("reopen-resumes", "24x7", [(D + "09:00", 1), (D + "09:10", 3), (D + "10:00", 6), (D + "11:00", 3)],
     D + "12:00", 2, D + "12:00", D + "14:00"),
    ("resolved-stops", "24x7", [(D + "09:00", 3), (D + "10:00", 6), (D + "11:00", 7)],
     D + "14:00", 1, None, None),
    ("paused-now", "24x7", [(D + "09:00", 3), (D + "11:00", 5)], D + "14:00", 2, D + "11:00", None),
    ("pending-and-dispatched-run", "24x7", [(D + "09:00", 1), (D + "10:00", 2)], D + "11:00", 2,
     D + "11:00", D + "13:00"),
    # business hours: Friday 15:30, paused over the weekend into Monday 10:00
    ("business-pause-over-weekend", "default",
     [(D + "15:30", 1), (D + "16:00", 3), (D + "17:00", 5), ("2026-11-23T10:00", 3)],
     "2026-11-23T11:00", 2.5, "2026-11-23T10:30", "2026-11-23T13:30"),
    ("business-suspended-runs", "default",
     [(D + "15:30", 1), (D + "16:00", 3), (D + "17:00", 4), ("2026-11-23T10:00", 3)],
     "2026-11-23T11:00", 4.5, D + "17:30", "2026-11-23T10:30"),
    ("business-contract-override", "vendor-pauses-business",
     [(D + "15:30", 1), (D + "16:00", 3), (D + "17:00", 4), ("2026-11-23T10:00", 3)],
     "2026-11-23T11:00", 2.5, "2026-11-23T10:30", "2026-11-23T13:30"),
    ("business-across-national-day", "default", [("2026-09-30T16:00", 3), ("2026-09-30T17:00", 4)],
     "2026-10-08T10:00", 3, "2026-09-30T18:00", "2026-10-08T11:00"),
]


@pytest.mark.parametrize(("contract", "history", "now", "hours", "at_2h", "at_4h"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sla_clock(contract: str, history: list[tuple[str, int]], now: str, hours: float,
                   at_2h: str | None, at_4h: str | None) -> None:
    inc = incident(history[0][0], history)
    assert sla_elapsed(inc, PROCEDURE, PROCEDURE.contracts[contract], cst(now)) == timedelta(hours=hours)
    for amount, expected in ((2, at_2h), (4, at_4h)):
        got = when_elapsed_reaches(inc, PROCEDURE, PROCEDURE.contracts[contract], timedelta(hours=amount), cst(now))
        assert got == (cst(expected) if expected else None), f"reaches {amount}h"


@pytest.mark.parametrize(("state", "hours", "at_4h"), [
    (3, 5, D + "13:00"),  # in progress all along
    (5, 0, None),  # paused from the start: nothing counts, nothing projected
    (6, 0, None),
])
def test_an_empty_history_means_the_current_state_since_the_report(state: int, hours: int, at_4h: str | None) -> None:
    inc = incident(D + "09:00", [], state=state)
    clock = SlaClock(inc, PROCEDURE, "24x7", cst(D + "14:00"))
    assert clock.elapsed == timedelta(hours=hours)
    assert clock.reaches(timedelta(hours=4)) == (cst(at_4h) if at_4h else None)
    assert clock.reaches(timedelta(0)) == cst(D + "09:00")  # zero is reached at the report


def test_the_first_entry_counts_from_the_report_time_and_earlier_stamps_are_clamped() -> None:
    # connectors stamp the initial state at creation, which can differ from the report time
    inc = incident(D + "09:00", [(D + "09:05", 3), (D + "10:00", 5)])
    assert sla_elapsed(inc, PROCEDURE, None, cst(D + "12:00")) == timedelta(minutes=60)
    early = Incident(tracker="jira", id="1", ref="OPS-1", reported_at=cst(D + "09:00"), updated_at=cst(D + "09:00"),
                     state=3, state_history=(StateChange(at=cst(D + "08:00"), state=5),
                                             StateChange(at=cst(D + "08:30"), state=3)))
    assert sla_elapsed(early, PROCEDURE, "24x7", cst(D + "10:00")) == timedelta(hours=1)


def test_projection_from_before_the_report_starts_at_the_report() -> None:
    inc = incident(D + "09:00", [(D + "09:00", 3)])
    assert sla_elapsed(inc, PROCEDURE, "24x7", cst(D + "08:00")) == timedelta(0)
    assert when_elapsed_reaches(inc, PROCEDURE, "24x7", timedelta(hours=1), cst(D + "08:00")) == cst(D + "10:00")


def test_crossing_instants_are_utc() -> None:
    inc = incident(D + "09:00", [(D + "09:00", 3)])
    got = when_elapsed_reaches(inc, PROCEDURE, None, timedelta(hours=1), cst(D + "09:30"))
    assert got == cst(D + "10:00") and got.tzinfo == UTC
