"""Tests of the procedure's duties and KPIs, and a small builder of incident snapshots."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from mapping.incident import (
    Acknowledged,
    EscalationRecord,
    GroupChange,
    Incident,
    ManualEscalationRequest,
    SeverityChange,
    StateChange,
)

CST = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2026-11-20 17:00' in China Standard Time (the default calendar's zone)."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def incident(ref: str, reported: str, states: list[tuple[str, int]] | None = None, *, severity: int | None = 3,
             severities: list[tuple[str, int]] | None = None, groups: list[tuple[str, str]] | None = None,
             category: str | None = "1.2", contract: str | None = None, **extra) -> Incident:
    """An incident reported at `reported` (CST) with its state history [(when, state), ...].

    The first state defaults to 1 (待处理) at the report time; the current state is the last.
    """
    reported_at = at(reported)
    history = [StateChange(at=reported_at, state=1)] + [StateChange(at=at(w), state=s) for w, s in states or []]
    sev_history = ([SeverityChange(at=reported_at, severity=severity)] if severity and not severities
                   else [SeverityChange(at=at(w), severity=s) for w, s in severities or []])
    group_history = [GroupChange(at=at(w), group=g) for w, g in groups or []]
    last = max([reported_at, *(c.at for c in history), *(c.at for c in sev_history)])
    fields = dict(tracker="jira", id=ref.split("-")[-1], ref=ref, title=f"incident {ref}", project="OPS",
                  contract=contract, reported_at=reported_at, updated_at=last,
                  severity=sev_history[-1].severity if sev_history else None, category=category,
                  state=history[-1].state, group=group_history[-1].group if group_history else None,
                  state_history=tuple(history), severity_history=tuple(sev_history),
                  group_history=tuple(group_history))
    fields.update(extra)
    return Incident(**fields)


# -- A hand-built month (November 2026) of incidents; tests/duties/test_kpi.py works its KPIs out by hand.
#
# Calendar of the default contract: cn-business, Mon-Fri 09:00-12:00 and 13:00-18:00 (8 h a
# day, no public holiday in November 2026; 11-01 is a Sunday). K-17 is on the 24x7 contract.
# Timetable: severity 2 -> 4 h / 6 h / 8 h, 3 -> 6 / 8 / 12 h, 4 -> 12 / 24 / 48 h, 1 -> 0 / 0 / 0.
# States: 1 待处理, 2 已派单, 3 处理中, 5 暂停 (clock paused), 6 待审核, 7 已归档 (clock stopped).
# The figures are as of NOW.

NOW = at("2026-12-10 12:00")
FIRST_LINE = ("service_desk", "onsite")


def month() -> list:
    sd, on = "service_desk", "onsite"
    return [
        # SLA to 1st resolution: Mon 11-02 09-12 + 13-14 = 4 h
        incident("K-01", "2026-11-02 09:00", [("2026-11-02 09:30", 2), ("2026-11-02 10:00", 3),
                                              ("2026-11-02 14:00", 6), ("2026-11-03 10:00", 7)],
                 severity=3, category="1.2", groups=[("2026-11-02 09:00", sd), ("2026-11-02 09:30", on)]),
        # 11-02 15-18 (3 h) + 11-03 09-12, 13-14 (4 h) = 7 h
        incident("K-02", "2026-11-02 15:00", [("2026-11-02 15:10", 2), ("2026-11-02 15:20", 3),
                                              ("2026-11-03 14:00", 6)],
                 severity=2, category="1.2", groups=[("2026-11-02 15:00", sd), ("2026-11-02 15:10", "network")]),
        # major: 11-04 10-12 + 13-16 = 5 h
        incident("K-03", "2026-11-04 10:00", [("2026-11-04 10:05", 2), ("2026-11-04 10:10", 3),
                                              ("2026-11-04 16:00", 6), ("2026-11-05 09:00", 7)],
                 severity=1, category="1.8", groups=[("2026-11-04 10:00", sd), ("2026-11-04 10:05", on)],
                 escalations=tuple(EscalationRecord(at=at("2026-11-04 10:01"), level=n, by="escalator")
                                   for n in (1, 2, 3))),
        # Thu 11-05 11-12, 13-18 (6 h) + Fri 11-06 09-10 (1 h), paused 10:00 until Mon 09:00,
        # + Mon 11-09 09-12, 13-15 (5 h) = 12 h: exactly the 12 h of level 1
        incident("K-04", "2026-11-05 11:00", [("2026-11-05 11:30", 2), ("2026-11-06 09:00", 3),
                                              ("2026-11-06 10:00", 5), ("2026-11-09 09:00", 3),
                                              ("2026-11-09 15:00", 6)],
                 severity=4, category="3.2", groups=[("2026-11-05 11:00", on)]),
        # Mon 11-09 8 h + Tue 11-10 09-12 (3 h; resolved 12:30 in the lunch break) = 11 h
        incident("K-05", "2026-11-09 09:00", [("2026-11-09 09:15", 2), ("2026-11-09 09:30", 3),
                                              ("2026-11-10 12:30", 6)],
                 severity=3, category="1.2",
                 groups=[("2026-11-09 09:00", sd), ("2026-11-09 09:15", on), ("2026-11-09 11:00", "network")]),
        # still in progress at NOW: a month of working time
        incident("K-06", "2026-11-10 09:00", [("2026-11-10 09:10", 2), ("2026-11-10 09:20", 3)],
                 severity=3, category="2.3", groups=[("2026-11-10 09:00", on)]),
        # 1st resolution: Wed 11-11 17-18 + Thu 11-12 09-10 = 2 h; reopened Fri 11-13 09:00,
        # resolved again 12:00 (+3 h): 5 h in all
        incident("K-07", "2026-11-11 17:00", [("2026-11-11 17:05", 2), ("2026-11-11 17:10", 3),
                                              ("2026-11-12 10:00", 6), ("2026-11-13 09:00", 3),
                                              ("2026-11-13 12:00", 6), ("2026-11-16 10:00", 7)],
                 severity=2, category="2.3", groups=[("2026-11-11 17:00", on)],
                 manual_requests=(ManualEscalationRequest(at=at("2026-11-13 09:05"), by="customer",
                                                          note="again?"),)),
        # Fri 11-13 10-12, 13-18 (7 h) + Mon 8 h + Tue 8 h + Wed 11-18 09-11 (2 h) = 25 h
        incident("K-08", "2026-11-13 10:00", [("2026-11-13 10:30", 2), ("2026-11-16 09:00", 3),
                                              ("2026-11-18 11:00", 6)],
                 severity=4, category="4.1", groups=[("2026-11-13 10:00", "application")]),
        # reported on Saturday 11-14 (week 46): the clock starts Mon 09:00; 09-12 + 13-15 = 5 h
        incident("K-09", "2026-11-14 10:00", [("2026-11-16 09:00", 2), ("2026-11-16 09:30", 3),
                                              ("2026-11-16 15:00", 6)],
                 severity=3, category="1.2", groups=[("2026-11-14 10:00", on)]),
        # Tue 11-17 09-12 + 13:00-13:30 = 3.5 h
        incident("K-10", "2026-11-17 09:00", [("2026-11-17 09:30", 2), ("2026-11-17 10:00", 3),
                                              ("2026-11-17 13:30", 6)],
                 severity=2, category="1.8", groups=[("2026-11-17 09:00", on)]),
        # major (raised 2 -> 1), reported Thu 20:00 after hours: Fri 11-20 09-11 = 2 h
        incident("K-11", "2026-11-19 20:00", [("2026-11-19 20:10", 2), ("2026-11-19 20:20", 3),
                                              ("2026-11-20 11:00", 6)],
                 severities=[("2026-11-19 20:00", 2), ("2026-11-19 20:30", 1)], category="1.4",
                 groups=[("2026-11-19 20:00", sd), ("2026-11-19 20:40", "server")], root_cause_unknown=True),
        # no severity, no category, still pending
        incident("K-12", "2026-11-23 09:00", severity=None, category=None),
        # Tue 11-24 14-15 = 1 h, then paused until NOW
        incident("K-13", "2026-11-24 14:00", [("2026-11-24 14:10", 2), ("2026-11-24 14:20", 3),
                                              ("2026-11-24 15:00", 5)],
                 severity=3, category="1.2", groups=[("2026-11-24 14:00", on)]),
        # Mon 11-30 8 h + Tue 12-01 8 h + Wed 12-02 09-10 1 h = 17 h; resolved after the month
        incident("K-14", "2026-11-30 09:00", [("2026-11-30 09:10", 2), ("2026-11-30 09:20", 3),
                                              ("2026-12-02 10:00", 6)],
                 severity=2, category="1.2", groups=[("2026-11-30 09:00", on)]),
        # reported in October, resolved Tue 11-03: only in the trend's resolved count
        incident("K-15", "2026-10-28 09:00", [("2026-10-28 09:10", 2), ("2026-10-28 09:20", 3),
                                              ("2026-11-03 11:00", 6)],
                 severity=3, category="1.2", groups=[("2026-10-28 09:00", on)]),
        # reported in December: nowhere
        incident("K-16", "2026-12-01 09:00", [("2026-12-01 09:10", 2), ("2026-12-01 09:20", 3),
                                              ("2026-12-01 10:00", 6)],
                 severity=1, category="1.2"),
        # 24x7 contract, Saturday 11-21 10:00-17:00 = 7 h of SLA time
        incident("K-17", "2026-11-21 10:00", [("2026-11-21 10:10", 2), ("2026-11-21 10:20", 3),
                                              ("2026-11-21 17:00", 6)],
                 severity=2, category="1.6", contract="24x7", groups=[("2026-11-21 10:00", on)]),
        # major, handed from the service desk to the network group, reopened by the project manager:
        # Wed 11-25 10-12 + 13-14 = 3 h to the first resolution, reopened Thu 11-26 09:00,
        # resolved again 11:00 (+2 h): 5 h in all. Level 1 reported at 10:05 (within the 15 min
        # of "immediately") and acknowledged by the project manager at 10:20, level 2 at 10:40
        # (late, never acknowledged), level 3 never
        incident("K-18", "2026-11-25 10:00", [("2026-11-25 10:05", 2), ("2026-11-25 10:10", 3),
                                              ("2026-11-25 14:00", 6), ("2026-11-26 09:00", 3),
                                              ("2026-11-26 11:00", 6), ("2026-11-27 09:00", 7)],
                 severity=1, category="1.2", groups=[("2026-11-25 10:00", sd), ("2026-11-25 10:30", "network")],
                 escalations=(EscalationRecord(at=at("2026-11-25 10:05"), level=1, by="escalator"),
                              EscalationRecord(at=at("2026-11-25 10:40"), level=2, by="pm-li")),
                 acknowledgements=(Acknowledged(at=at("2026-11-25 10:20"), by="pm-li"),)),
    ]
