"""The combined decision: restore, then escalations (at the restored severity), then flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mapping.actions import (
    Escalate,
    FlagIncompleteRecord,
    FlagTransition,
    RestoreSeverity,
    WarnBeforeBreach,
)
from mapping.decide import Decision, decide
from mapping.incident import DowngradeApproval, Incident, SeverityChange, StateChange
from mapping.loader import load_procedure

PROC = load_procedure()
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
PM = "pm-li"
FACTS = {"recorded_by": "desk-wang", "reporter": "Zhang San", "contact": "+86 10 5555 0100",
         "occurred_at": "2026-11-20T08:40+08:00", "affected_ci": "core-sw-01", "symptom": "link down"}


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def incident(*, severities: list[tuple[float, int, str]], states: list[tuple[float, int]],
             approvals: list[tuple[float, int, str]] = (), facts: dict[str, str | None] = FACTS) -> Incident:
    return Incident(
        tracker="jira", id="10001", ref="OPS-1", contract="24x7", reported_at=T0, updated_at=h(1),
        severity=severities[-1][1], state=states[-1][1],
        severity_history=tuple(SeverityChange(at=h(t), severity=s, by=by) for t, s, by in severities),
        state_history=tuple(StateChange(at=h(t), state=s, by="eng") for t, s in states),
        approvals=tuple(DowngradeApproval(at=h(t), to_severity=s, by=by) for t, s, by in approvals),
        facts=facts,
    )


def test_nothing_due() -> None:
    inc = incident(severities=[(0, 3, "desk")], states=[(0, 1), (0.1, 2), (0.2, 3)])
    # the first thing to come is the warning before the 6 h deadline, at three quarters of it
    assert decide(inc, PROC, h(1), {PM}) == Decision(actions=[], next_deadline=h(4.5))


def test_every_rule_in_order_and_escalation_at_the_restored_severity() -> None:
    # reported as severity 2; the engineer lowers it to 4 without approval after 30 min,
    # skips 已派单 (1 -> 3), and the contact is missing. At 5 h, with severity 4, nothing
    # would be due (12 h); with the severity restored to 2, the 4 h report is late.
    inc = incident(severities=[(0, 2, "desk"), (0.5, 4, "eng")], states=[(0, 1), (0.2, 3)],
                   facts={**FACTS, "contact": " "})
    decision = decide(inc, PROC, h(5), {PM})
    assert decision.actions == [
        RestoreSeverity(to=2, current=4, lowered_by="eng", lowered_at=h(0.5)),
        Escalate(level=1, role="project_manager", deadline=h(4), reason="timetable", severity=2,
                 contract="24x7", elapsed=timedelta(hours=5), allowed=timedelta(hours=4)),
        FlagTransition(source=1, target=3, at=h(0.2), by="eng", rule="start", section="§4.3", revert=False),
        FlagIncompleteRecord(missing=("contact",)),
        # severity 2's 6 h deadline comes at h(6): warned of from 4.5 h, on the restored severity
        WarnBeforeBreach(level=2, role="division_director", deadline=h(6), warn_at=h(4.5), severity=2,
                         contract="24x7", allowed=timedelta(hours=6), left=timedelta(hours=1.5),
                         notify=("assignee", "target")),
    ]
    assert decision.next_deadline == h(6)


def test_an_approved_lowering_counts_for_the_escalations() -> None:
    inc = incident(severities=[(0, 2, "desk"), (0.5, 4, PM)], states=[(0, 1), (0.1, 2), (0.2, 3)],
                   approvals=[(0.5, 4, PM)])
    # severity 4 (approved): 12 h to the first report, warned of at 9 h
    assert decide(inc, PROC, h(5), {PM}) == Decision(actions=[], next_deadline=h(9))
    # the same approval by someone without the role does not count
    decision = decide(inc, PROC, h(5), {"someone-else"})
    assert [a.kind for a in decision.actions] == ["restore-severity", "escalate", "warn-before-breach"]


def test_resolved_incident_only_gets_its_transition_flag() -> None:
    # resolved (1 -> 6, skipping the work): flagged; the record check speaks of open incidents only
    inc = incident(severities=[(0, 1, "desk")], states=[(0, 1), (0.1, 6)], facts={})
    decision = decide(inc, PROC, h(30), {PM})
    assert [a.kind for a in decision.actions] == ["flag-transition"]
    assert decision.next_deadline is None


def test_what_happened_before_the_escalator_watched_is_history() -> None:
    # lowered without approval at 0.5 h and 1 -> 3 at 0.2 h; the escalator started at 1 h
    inc = incident(severities=[(0, 2, "desk"), (0.5, 4, "eng")], states=[(0, 1), (0.2, 3)])
    assert [a.kind for a in decide(inc, PROC, h(2), {PM}, watch_from=h(1)).actions] == []
    # watching from before: both are flagged, and the restored severity 2 is late at 5 h
    kinds = [a.kind for a in decide(inc, PROC, h(5), {PM}, watch_from=h(0.1)).actions]
    assert kinds == ["restore-severity", "escalate", "flag-transition", "warn-before-breach"]


def test_warnings_and_repeats_join_the_decision(tmp_path) -> None:
    from mapping.incident import Acknowledged, EscalationRecord
    path = tmp_path / "procedure.yaml"
    path.write_text("contracts:\n  24x7: {calendar: 24x7, acknowledge: {repeat_every: 30m, max_repeats: 2}}\n",
                    encoding="utf-8")
    proc = load_procedure(path)
    # severity 2, level 1 escalated at 4 h; at 4.6 h: level 2 (6 h) is warned of since 4.5 h, level 1's
    # escalation was not acknowledged: its first reminder (4.5 h) is due
    inc = incident(severities=[(0, 2, "desk")], states=[(0, 1), (0.1, 2), (0.2, 3)]).model_copy(
        update={"escalations": (EscalationRecord(at=h(4), level=1),), "escalation_level": 1})
    decision = decide(inc, proc, h(4.6), {PM}, holders={1: {PM}})
    assert [(a.kind, a.marker) for a in decision.actions] == [("warn-before-breach", "warning-L2"),
                                                             ("repeat-escalation", "escalation-L1-repeat-1")]
    assert decision.next_deadline == h(5)  # the second reminder comes before the 6 h deadline
    acked = inc.model_copy(update={"acknowledgements": (Acknowledged(at=h(4.2), by=PM),)})
    decision = decide(acked, proc, h(4.6), {PM}, holders={1: {PM}})
    assert [a.kind for a in decision.actions] == ["warn-before-breach"] and decision.next_deadline == h(6)
    # a level escalated in this very decision is not also warned of
    late = decide(inc.model_copy(update={"escalations": (), "escalation_level": 0}), PROC, h(5.9), {PM})
    assert [a.kind for a in late.actions] == ["escalate", "warn-before-breach"]
    assert [a.level for a in late.actions] == [1, 2]
