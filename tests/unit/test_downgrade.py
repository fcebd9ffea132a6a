"""No-downgrade (§4.3.1.2): raise freely, lower only with an authorised approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.actions import RestoreSeverity
from mapping.downgrade import APPROVAL_WINDOW, check_downgrade
from mapping.incident import DowngradeApproval, Incident, SeverityChange

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
PM = "pm-li"  # holds project_manager
APPROVERS = {PM}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def incident(history: list[tuple[float, int, str | None]],
             approvals: list[tuple[float, int, str | None]] = (), current: int | None = None) -> Incident:
    """history: (minute, severity, by), the first is the initial severity; approvals: (minute, to, by)."""
    changes = tuple(SeverityChange(at=at(m), severity=s, by=by, by_name=by and by.upper()) for m, s, by in history)
    return Incident(
        tracker="jira", id="10001", ref="OPS-1", reported_at=T0, updated_at=at(history[-1][0]) if history else T0,
        severity=current if current is not None else (history[-1][1] if history else None),
        state=3, severity_history=changes,
        approvals=tuple(DowngradeApproval(at=at(m), to_severity=s, by=by) for m, s, by in approvals),
    )


def restore(to: int, current: int, by: str, minute: float) -> RestoreSeverity:
    return RestoreSeverity(to=to, current=current, lowered_by=by, lowered_by_name=by.upper(), lowered_at=at(minute))


CASES = {
    # name: (history, approvals, expected)
    "initial severity only": ([(0, 3, "desk")], [], None),
    "raise is always allowed": ([(0, 3, "desk"), (30, 2, "eng"), (60, 1, "eng")], [], None),
    "lower without approval is restored": ([(0, 2, "desk"), (30, 3, "eng")], [], restore(2, 3, "eng", 30)),
    "lower with the approval in the same edit": ([(0, 2, "desk"), (30, 3, PM)], [(30, 3, PM)], None),
    "approval label added just after": ([(0, 2, "desk"), (30, 3, PM)], [(40, 3, PM)], None),
    "approval label added first, then lowered": ([(0, 2, "desk"), (30, 3, PM)], [(20, 2, PM)], None),
    "approval by the PM, lowering by the desk": ([(0, 2, "desk"), (30, 3, "desk")], [(31, 3, PM)], None),
    "approval by someone not authorised": ([(0, 2, "desk"), (30, 3, "eng")], [(30, 3, "eng")],
                                           restore(2, 3, "eng", 30)),
    "approval by an unknown account": ([(0, 2, "desk"), (30, 3, "eng")], [(30, 3, None)],
                                       restore(2, 3, "eng", 30)),
    "approval too long after": ([(0, 2, "desk"), (30, 3, PM)], [(46, 3, PM)], restore(2, 3, PM, 30)),
    "approval too long before": ([(0, 2, "desk"), (30, 3, PM)], [(14, 2, PM)], restore(2, 3, PM, 30)),
    "approval for another level": ([(0, 2, "desk"), (30, 4, PM)], [(30, 3, PM)], restore(2, 4, PM, 30)),
    "lower twice, no approval": ([(0, 2, "desk"), (30, 3, "eng"), (90, 4, "desk")], [],
                                 restore(2, 4, "desk", 90)),
    "lower twice, only the first approved": ([(0, 2, "desk"), (30, 3, PM), (90, 4, "eng")], [(30, 3, PM)],
                                             restore(3, 4, "eng", 90)),
    "lower twice, both approved": ([(0, 2, "desk"), (30, 3, PM), (90, 4, PM)], [(30, 3, PM), (90, 4, PM)], None),
    "one approval covers one lowering": ([(0, 2, "desk"), (30, 3, PM), (32, 2, "eng"), (34, 3, "eng")],
                                         [(30, 3, PM)], restore(2, 3, "eng", 34)),
    "raise after lower": ([(0, 2, "desk"), (30, 4, "eng"), (60, 1, "desk")], [], None),
    "back to the original after lower": ([(0, 2, "desk"), (30, 4, "eng"), (60, 2, "desk")], [], None),
    "partial raise after lower blames the lowering": ([(0, 2, "desk"), (30, 4, "eng"), (60, 3, "desk")], [],
                                                      restore(2, 3, "eng", 30)),
    "lower from a raised level": ([(0, 3, "desk"), (30, 1, "eng"), (60, 2, "eng")], [], restore(1, 2, "eng", 60)),
    "approved partial raise sets the floor": ([(0, 2, "desk"), (30, 4, "eng"), (60, 3, PM)], [(60, 3, PM)], None),
    "after the escalator restored it": ([(0, 2, "desk"), (30, 3, "eng"), (31, 2, "escalator")], [], None),
    "lowered again after a restore": ([(0, 2, "desk"), (30, 3, "eng"), (31, 2, "escalator"), (50, 4, "eng")],
                                      [], restore(2, 4, "eng", 50)),
}


@pytest.mark.parametrize("history,approvals,expected", list(CASES.values()), ids=list(CASES))
def test_no_downgrade(history, approvals, expected) -> None:
    assert check_downgrade(incident(history, approvals), APPROVERS) == expected


def test_window_edges() -> None:
    window = APPROVAL_WINDOW.total_seconds() / 60
    assert check_downgrade(incident([(0, 2, "d"), (30, 3, PM)], [(30 + window, 3, PM)]), APPROVERS) is None
    assert check_downgrade(incident([(0, 2, "d"), (30, 3, PM)], [(30 + window + 0.1, 3, PM)]), APPROVERS) is not None


def test_no_history_or_no_severity_is_nothing_to_check() -> None:
    assert check_downgrade(incident([]), APPROVERS) is None
    assert check_downgrade(incident([(0, 2, "d"), (30, 3, "e")]).model_copy(update={"severity": None}),
                           APPROVERS) is None


def test_snapshot_severity_counts_over_a_stale_history() -> None:
    # the last history entry says 2, the ticket says 4 (a change the history missed)
    stale = incident([(0, 2, "desk")], current=4)
    assert check_downgrade(stale, APPROVERS) == restore(2, 4, "desk", 0)


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=12))
def test_without_approvals_the_floor_is_the_most_severe_level_ever_set(levels: list[int]) -> None:
    inc = incident([(i, s, f"u{i}") for i, s in enumerate(levels)])
    result = check_downgrade(inc, APPROVERS)
    if levels[-1] == min(levels):
        assert result is None
    else:
        assert result is not None and (result.to, result.current) == (min(levels), levels[-1])
        # putting it back satisfies the rule: nothing more to do
        restored = incident([*((i, s, f"u{i}") for i, s in enumerate(levels)), (len(levels), result.to, "bot")])
        assert check_downgrade(restored, APPROVERS) is None
