"""Warnings before a breach (§5.2.1): when each level's warning is due, per contract and severity."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from mapping.incident import EscalationRecord
from mapping.loader import ProcedureError, load_procedure
from mapping.procedure import WarningRule
from mapping.procedure_schema import validated
from mapping.warnings import warn_point, warnings_due
from tests.duties import at, incident

H = timedelta(hours=1)


@pytest.fixture(scope="module")
def procedure(tmp_path_factory):
    path = tmp_path_factory.mktemp("warnings") / "procedure.yaml"
    path.write_text(textwrap.dedent("""
        contracts:
          lead:
            calendar: 24x7
            warnings: {severities: {2: {lead: 1h}, 4: "off"}, notify: [assignee, target, service_desk]}
          quiet:
            calendar: 24x7
            warnings: {enabled: false}
    """), encoding="utf-8")
    return load_procedure(path)


def open_(contract: str, severity: int = 2, **extra):
    # reported Friday 11-20 10:00, in progress at once; 24x7: SLA time is wall-clock time
    return incident("W-1", "2026-11-20 10:00", [("2026-11-20 10:00", 3)], severity=severity, contract=contract,
                    **extra)


def test_the_default_warns_when_three_quarters_of_each_level_s_time_have_passed(procedure):
    # severity 2 on 24x7: 4 h / 6 h / 8 h -> warnings at 3 h, 4.5 h, 6 h
    inc = open_("24x7")
    assert warnings_due(inc, procedure, at("2026-11-20 12:59")).due == []
    assert warnings_due(inc, procedure, at("2026-11-20 12:59")).next_warning == at("2026-11-20 13:00")
    (first,) = warnings_due(inc, procedure, at("2026-11-20 13:00")).due
    assert (first.level, first.role, first.warn_at, first.deadline, first.left) == (
        1, "project_manager", at("2026-11-20 13:00"), at("2026-11-20 14:00"), 1 * H)
    assert first.marker == "warning-L1" and first.notify == ("assignee", "target")
    # at 14:30 level 1 is past its deadline (it escalates, no warning), level 2 is warned of
    later = warnings_due(inc, procedure, at("2026-11-20 14:30"))
    assert [w.level for w in later.due] == [2] and later.next_warning == at("2026-11-20 16:00")


def test_a_level_escalated_already_is_not_warned_of(procedure):
    inc = open_("24x7", escalations=(EscalationRecord(at=at("2026-11-20 11:00"), level=2),))
    assert [w.level for w in warnings_due(inc, procedure, at("2026-11-20 16:30")).due] == [3]


def test_a_fixed_lead_per_severity_and_off(procedure):
    # contract lead: severity 2 warns 1 h before each deadline (3 h, 5 h, 7 h); severity 4 never;
    # severity 3 keeps the default (6 / 8 / 12 h -> 4.5 h, 6 h, 9 h)
    inc = open_("lead")
    assert [(w.level, w.warn_at) for w in warnings_due(inc, procedure, at("2026-11-20 15:30")).due] == [
        (2, at("2026-11-20 15:00"))]
    assert warnings_due(inc, procedure, at("2026-11-20 15:30")).due[0].notify == ("assignee", "target",
                                                                                  "service_desk")
    assert warnings_due(open_("lead", severity=4), procedure, at("2026-11-20 21:30")) .due == []
    assert warnings_due(open_("lead", severity=4), procedure, at("2026-11-20 10:00")).next_warning is None
    assert [w.level for w in warnings_due(open_("lead", severity=3), procedure, at("2026-11-20 14:40")).due] == [1]
    assert warnings_due(open_("quiet"), procedure, at("2026-11-20 13:30")).due == []


def test_nothing_to_warn_of_immediately_paused_or_resolved(procedure):
    assert warnings_due(open_("24x7", severity=1), procedure, at("2026-11-20 10:00")).due == []
    paused = incident("W-2", "2026-11-20 10:00", [("2026-11-20 10:00", 3), ("2026-11-20 12:00", 5)],
                      severity=2, contract="24x7")
    outcome = warnings_due(paused, procedure, at("2026-11-20 15:00"))
    assert outcome.due == [] and outcome.next_warning is None  # the clock stands still at 2 h
    resolved = incident("W-3", "2026-11-20 10:00", [("2026-11-20 10:00", 3), ("2026-11-20 12:00", 6)],
                        severity=2, contract="24x7")
    assert warnings_due(resolved, procedure, at("2026-11-20 13:30")).due == []


def test_business_hours_count_working_time():
    # default contract, cn-business: severity 3 reported Friday 16:00; L1 6 h -> warn at 4.5 h of
    # working time: 2 h Friday, 2.5 h Monday -> Monday 11:30
    proc = load_procedure()
    inc = incident("W-4", "2026-11-20 16:00", [("2026-11-20 16:00", 3)], severity=3)
    assert warnings_due(inc, proc, at("2026-11-21 10:00")).next_warning == at("2026-11-23 11:30")


def test_warn_points():
    assert warn_point(4 * H, WarningRule(share=0.75)) == 3 * H
    assert warn_point(4 * H, validated(WarningRule, {"lead": "30m"})) == timedelta(hours=3, minutes=30)
    assert warn_point(1 * H, validated(WarningRule, {"lead": "1h"})) is None  # no time before the deadline to warn in
    assert warn_point(timedelta(0), WarningRule(share=0.5)) is None


@pytest.mark.parametrize(("text", "message"), [
    ("contracts:\n  x: {calendar: 24x7, warnings: {default: {share: 0.5, lead: 1h}}}\n", "either `share`"),
    ("contracts:\n  x: {calendar: 24x7, warnings: {default: {share: 1.5}}}\n", "less than 1"),
    ("contracts:\n  x: {calendar: 24x7, warnings: {severities: {2: sometimes}}}\n", "contracts.x.warnings"),
])
def test_bad_warning_settings_are_refused(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProcedureError) as caught:
        load_procedure(path)
    assert any(message in line for line in caught.value.problems), caught.value.problems
