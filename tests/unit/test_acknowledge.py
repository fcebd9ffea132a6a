"""Acknowledgement of escalations and the repeats until then: when, how many, by whom."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from mapping.acknowledge import escalations_of, repeats_due, time_to_acknowledge
from mapping.incident import Acknowledged, EscalationRecord
from mapping.loader import ProcedureError, load_procedure
from tests.duties import at, incident

PM, DD = "pm-li", "dd-wang"
HOLDERS = {1: {PM}, 2: {DD}, 3: {"ceo-zhao"}}


@pytest.fixture(scope="module")
def procedure(tmp_path_factory):
    path = tmp_path_factory.mktemp("ack") / "procedure.yaml"
    path.write_text(textwrap.dedent("""
        contracts:
          acked:
            calendar: 24x7
            acknowledge: {repeat_every: 30m, max_repeats: 2}
          office:
            calendar: cn-business
            acknowledge: {repeat_every: 1h, max_repeats: 3}
    """), encoding="utf-8")
    return load_procedure(path)


def escalated(contract: str = "acked", levels=((1, "2026-11-20 14:00"),), acks=(), states=None):
    return incident("A-1", "2026-11-20 10:00", states or [("2026-11-20 10:00", 3)], severity=2, contract=contract,
                    escalations=tuple(EscalationRecord(at=at(when), level=lv) for lv, when in levels),
                    acknowledgements=tuple(Acknowledged(at=at(when), by=by) for by, when in acks))


def test_an_unacknowledged_escalation_is_repeated_the_configured_number_of_times(procedure):
    inc = escalated()
    assert repeats_due(inc, procedure, at("2026-11-20 14:29")).due == []
    assert repeats_due(inc, procedure, at("2026-11-20 14:29")).next_repeat == at("2026-11-20 14:30")
    (first,) = repeats_due(inc, procedure, at("2026-11-20 14:30")).due
    assert (first.level, first.repeat, first.of, first.due, first.marker) == (
        1, 1, 2, at("2026-11-20 14:30"), "escalation-L1-repeat-1")
    (second,) = repeats_due(inc, procedure, at("2026-11-20 15:10")).due
    assert second.repeat == 2 and second.marker == "escalation-L1-repeat-2"
    # and no more: the second is the last one due, for ever
    much_later = repeats_due(inc, procedure, at("2026-11-21 09:00"))
    assert [r.repeat for r in much_later.due] == [2] and much_later.next_repeat is None


def test_an_acknowledged_escalation_stops_repeating(procedure):
    inc = escalated(acks=[(PM, "2026-11-20 14:40")])
    # the first repeat (14:30) came before the acknowledgement; none after it
    assert [r.repeat for r in repeats_due(inc, procedure, at("2026-11-20 14:35")).due] == [1]
    outcome = repeats_due(inc, procedure, at("2026-11-20 16:00"))
    assert [r.repeat for r in outcome.due] == [1] and outcome.next_repeat is None
    acked_early = escalated(acks=[(PM, "2026-11-20 14:05")])
    assert repeats_due(acked_early, procedure, at("2026-11-20 16:00")).due == []


def test_only_a_holder_of_the_role_escalated_to_acknowledges_and_only_what_came_before(procedure):
    # level 1 at 14:00, level 2 at 15:00; the PM acknowledges at 14:10, someone else at 15:05
    inc = escalated(levels=((1, "2026-11-20 14:00"), (2, "2026-11-20 15:00")),
                    acks=[(PM, "2026-11-20 14:10"), ("eng-liu", "2026-11-20 15:05")])
    acks = {e.level: e.acknowledged for e in escalations_of(inc, procedure, HOLDERS)}
    assert acks[1].by == PM and acks[2] is None
    assert [(r.level, r.repeat) for r in repeats_due(inc, procedure, at("2026-11-20 15:30"), HOLDERS).due] == [
        (2, 1)]
    # without a role directory anyone's acknowledgement counts
    assert repeats_due(inc, procedure, at("2026-11-20 15:30")).due == []
    # the PM's acknowledgement at 14:10 came before the level-2 escalation: it does not cover it
    early = escalated(levels=((1, "2026-11-20 14:00"), (2, "2026-11-20 15:00")), acks=[(DD, "2026-11-20 14:10")])
    assert {e.level: e.acknowledged for e in escalations_of(early, procedure, HOLDERS)}[2] is None


def test_a_level_set_straight_to_3_escalated_to_every_level_at_once(procedure):
    inc = escalated(levels=((3, "2026-11-20 14:00"),))
    assert [(e.level, e.role, e.at) for e in escalations_of(inc, procedure)] == [
        (1, "project_manager", at("2026-11-20 14:00")), (2, "division_director", at("2026-11-20 14:00")),
        (3, "company_management", at("2026-11-20 14:00"))]
    assert len(repeats_due(inc, procedure, at("2026-11-20 14:30")).due) == 3


def test_no_repeats_off_contract_resolved_or_in_the_night(procedure):
    assert repeats_due(escalated(contract="24x7"), procedure, at("2026-11-20 16:00")).due == []
    resolved = escalated(states=[("2026-11-20 10:00", 3), ("2026-11-20 14:20", 6)])
    assert repeats_due(resolved, procedure, at("2026-11-20 16:00")).due == []
    # business hours: escalated Friday 17:30, repeats every working hour: Monday 09:30, 10:30, 11:30
    office = escalated(contract="office", levels=((1, "2026-11-20 17:30"),))
    outcome = repeats_due(office, procedure, at("2026-11-21 12:00"))
    assert outcome.due == [] and outcome.next_repeat == at("2026-11-23 09:30")


def test_time_to_acknowledge(procedure):
    inc = escalated(levels=((1, "2026-11-20 14:00"), (2, "2026-11-20 15:00")), acks=[(PM, "2026-11-20 14:25")])
    assert time_to_acknowledge(inc, procedure, HOLDERS) == [(1, timedelta(minutes=25)), (2, None)]


@pytest.mark.parametrize(("text", "message"), [
    ("contracts:\n  x: {calendar: 24x7, acknowledge: {max_repeats: 2}}\n", "repeat_every: required"),
    ("contracts:\n  x: {calendar: 24x7, acknowledge: {repeat_every: 0}}\n", "more than 0"),
    ("contracts:\n  x: {calendar: 24x7, acknowledge: {repeat_every: 1h, max_repeats: 0}}\n", "greater than or equal to 1"),
])
def test_bad_acknowledgement_settings_are_refused(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProcedureError) as caught:
        load_procedure(path)
    assert any(message in line for line in caught.value.problems), caught.value.problems


def test_an_acknowledgement_just_before_the_level_is_set_counts(procedure):
    # the daemon notifies and writes its note before it sets the level: a quick answer comes first
    quick = escalated(acks=[(PM, "2026-11-20 13:55")])
    assert escalations_of(quick, procedure, HOLDERS)[0].acknowledged is not None
    assert repeats_due(quick, procedure, at("2026-11-20 16:00"), HOLDERS).due == []
    # one from long before is of an earlier escalation, not of this one
    old = escalated(acks=[(PM, "2026-11-20 13:45")])
    assert escalations_of(old, procedure, HOLDERS)[0].acknowledged is None
