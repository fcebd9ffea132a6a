"""Warnings before a breach and repeats until acknowledged, carried out by the daemon on the fake tracker."""

from __future__ import annotations

import logging
from datetime import timedelta

from mapping.incident import Acknowledged, EscalationRecord
from mapping.loader import load_procedure
from plugin.journal import Journal
from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)


def _procedure(tmp_path, contract: str):
    path = tmp_path / "procedure.yaml"
    path.write_text(f"contracts:\n  c: {contract}\n", encoding="utf-8")
    return load_procedure(path)


def markers(world, ticket: str = "1") -> list[str]:
    return [n.marker for n in world.tracker.ticket(ticket).notes]


def test_a_warning_before_each_deadline_once_across_restarts(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.procedure = _procedure(tmp_path, "{calendar: 24x7}")  # the default rule: at 3/4 of the time
    world.tracker.add(incident("1", severity=2, contract="c", assignee="eng-liu"))
    daemon = world.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    assert daemon.schedule.get("1") == T0 + 3 * H  # the daemon wakes for the warning, not only the deadline

    world.at(3 * H + timedelta(seconds=2))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert markers(world) == ["warning-L1"]
    # the assignee and the role the deadline escalates to, told before the note is written
    assert t.notified[0][0] == ["eng-liu", "pm-li"] and "即将超时" in t.notified[0][1]
    note = t.notes[0].text
    assert "【即将超时】OPS-1 须在 2026-03-02 13:00（Asia/Shanghai）前解决，否则将升级至第1级：上报项目经理。" in note
    assert "剩余1小时（7×24）" in note and "依据§5.2.1" in note
    assert [r.fields["marker"] for r in caplog.records if getattr(r, "event", None) == "daemon.warned"] == [
        "warning-L1"]

    # a restart, and a restart that lost its journal: the marker on the ticket keeps the warning single
    world.daemon(poll_interval=24 * 3600).cycle()
    world.daemon(journal=Journal(":memory:"), poll_interval=24 * 3600).cycle()
    assert markers(world) == ["warning-L1"] and len(t.notified) == 1

    # each later deadline has its own: level 1 escalates at 4 h, level 2 is warned of at 4.5 h
    for at in (4 * H + timedelta(seconds=1), 4.5 * H + timedelta(seconds=1), 6 * H + timedelta(seconds=1),
               8 * H + timedelta(seconds=1)):
        world.at(at)
        daemon.cycle()
    assert markers(world) == ["warning-L1", "escalation-L1", "warning-L2", "escalation-L2", "warning-L3",
                              "escalation-L3"]


def test_no_warning_after_its_deadline(world, tmp_path):
    # the daemon was down from before the warning (3 h) until after the deadline (4 h): it escalates
    world.procedure = _procedure(tmp_path, "{calendar: 24x7}")
    world.tracker.add(incident("1", severity=2, contract="c"))
    world.daemon().cycle()
    world.at(4 * H + timedelta(minutes=5))
    world.daemon().cycle()
    assert markers(world) == ["escalation-L1"]


def test_warnings_off_or_at_a_fixed_lead(world, tmp_path):
    world.procedure = _procedure(tmp_path, "{calendar: 24x7, warnings: {severities: {2: {lead: 30m}, 3: 'off'}}}")
    world.tracker.add(incident("1", severity=2, contract="c"))
    world.tracker.add(incident("2", severity=3, contract="c"))
    daemon = world.daemon()
    world.at(3 * H)
    daemon.cycle()
    assert markers(world, "1") == [] and markers(world, "2") == []
    world.at(3.5 * H + timedelta(seconds=1))
    daemon.cycle()
    assert markers(world, "1") == ["warning-L1"] and markers(world, "2") == []


def test_an_unacknowledged_escalation_is_repeated_the_configured_number_of_times_and_no_more(world, tmp_path):
    world.procedure = _procedure(tmp_path, "{calendar: 24x7, warnings: {enabled: false}, "
                                           "acknowledge: {repeat_every: 30m, max_repeats: 2}}")
    world.tracker.add(incident("1", severity=2, contract="c"))
    daemon = world.daemon(poll_interval=24 * 3600)
    world.at(4 * H + timedelta(seconds=1))
    daemon.cycle()
    note = world.tracker.ticket("1").notes[0].text
    assert "请项目经理添加标签“escalation-acknowledged”确认已收到；确认前每30分钟（7×24）重复通知一次，最多2次。" in note
    assert daemon.schedule.get("1") == T0 + 4.5 * H + timedelta(seconds=1)
    for minutes in (30, 60, 90, 115):  # to just before level 2 falls due (6 h)
        world.at(4 * H + timedelta(minutes=minutes, seconds=2))
        daemon.cycle()
    assert markers(world) == ["escalation-L1", "escalation-L1-repeat-1", "escalation-L1-repeat-2"]
    t = world.tracker.ticket("1")
    assert [people for people, _ in t.notified] == [["pm-li"]] * 3
    assert "【升级未确认】" in t.notes[1].text and "第1次提醒，共2次" in t.notes[1].text
    assert world.daemon(journal=Journal(":memory:")).cycle() is not None
    assert len(world.tracker.ticket("1").notes) == 3  # a restart without its journal repeats nothing


def test_an_acknowledged_escalation_stops_repeating(world, tmp_path):
    world.procedure = _procedure(tmp_path, "{calendar: 24x7, warnings: {enabled: false}, "
                                           "acknowledge: {repeat_every: 30m, max_repeats: 3}}")
    world.tracker.add(incident("1", severity=2, contract="c"))
    daemon = world.daemon()
    world.at(4 * H + timedelta(seconds=1))
    daemon.cycle()
    world.at(4.5 * H + timedelta(seconds=2))
    daemon.cycle()
    assert markers(world) == ["escalation-L1", "escalation-L1-repeat-1"]
    # someone who is not the project manager adds the label: it does not count
    world.tracker.update("1", acknowledgements=(Acknowledged(at=T0 + 4.6 * H, by="eng-liu"),))
    world.at(5 * H + timedelta(seconds=2))
    daemon.cycle()
    assert markers(world)[-1] == "escalation-L1-repeat-2"
    # the project manager acknowledges: no more reminders
    world.tracker.update("1", acknowledgements=(Acknowledged(at=T0 + 4.6 * H, by="eng-liu"),
                                                Acknowledged(at=T0 + 5.1 * H, by="pm-li")))
    for hours in (5.5, 6):
        world.at(hours * H + timedelta(seconds=2))
        daemon.cycle()
    assert markers(world) == ["escalation-L1", "escalation-L1-repeat-1", "escalation-L1-repeat-2",
                              "escalation-L2"]
    # level 2 (escalated at 6 h, after that acknowledgement) waits for its own: reminded at 6.5 h
    world.at(6.5 * H + timedelta(seconds=5))
    daemon.cycle()
    assert markers(world)[-1] == "escalation-L2-repeat-1"
    assert world.tracker.ticket("1").notified[-1][0] == ["dd-wang"]


def test_a_dry_run_says_what_it_would_warn_and_repeat(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.procedure = _procedure(tmp_path, "{calendar: 24x7, acknowledge: {repeat_every: 30m}}")
    # level 1 was escalated at 4 h (by a person); at 4.6 h its first reminder and level 2's warning are due
    world.tracker.add(incident("1", severity=2, contract="c", escalation_level=1,
                               escalations=(EscalationRecord(at=T0 + 4 * H, level=1),)))
    world.at(4.6 * H)
    world.daemon(dry_run=True).cycle()
    names = {r.event for r in caplog.records if getattr(r, "event", "").startswith("daemon.would-")}
    assert names == {"daemon.would-warn", "daemon.would-repeat-escalation"}
    assert markers(world) == []
