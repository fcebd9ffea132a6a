"""One pass of the daemon against the fake tracker: the right writes at the right times."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from mapping.incident import DowngradeApproval, SeverityChange, StateChange
from tests.daemon.conftest import T0, incident, make_config, strict_procedure

H = timedelta(hours=1)


def events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def test_escalates_each_level_when_its_deadline_passes(world):
    world.tracker.add(incident("1", severity=2))  # 24x7: PM at 4 h, director at 6 h, management at 8 h
    daemon = world.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.notes == [] and t.incident.escalation_level == 0
    assert daemon.schedule.get("1") == T0 + 4 * H

    world.at(4 * H - timedelta(seconds=1))
    daemon.cycle()
    assert t.notes == []

    world.at(4 * H + timedelta(seconds=3))
    sleep = daemon.cycle()
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1"]
    assert t.incident.escalation_level == 1
    assert t.notified == [(["pm-li"], t.notified[0][1])]
    # 3 s after the deadline is the daemon's reading, not a missed deadline: the note does not say "missed"
    assert "已超时" not in t.notes[0].text and "截止时间 2026-03-02 13:00（Asia/Shanghai）" in t.notes[0].text
    assert "项目经理" in t.notes[0].text and "7×24 合同" in t.notes[0].text
    assert t.notes[0].text.rstrip().splitlines()[-2] == "—— 事件升级助手 incident-escalator"
    # it sleeps until the next deadline, not the (long) poll interval
    assert sleep == (2 * H - timedelta(seconds=3)).total_seconds()

    world.at(8 * H)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]
    assert t.incident.escalation_level == 3
    assert [p for p, _ in t.notified] == [["pm-li"], ["dd-wang"], ["ceo-zhao"]]
    assert daemon.schedule.get("1") is None
    kinds = [(e.marker, e.outcome) for e in world.journal.entries() if e.kind == "escalate"]
    assert kinds == [("escalation-L1", "done"), ("escalation-L2", "done"), ("escalation-L3", "done")]


def test_loop_sleeps_until_the_deadline_so_the_lag_is_seconds(world):
    world.tracker.add(incident("1", severity=3))  # 24x7: 6 h / 8 h / 12 h
    daemon = world.daemon(poll_interval=3600)
    seen = []

    def on_event(event):
        seen.append((event.kind, world.clock.now() - T0))
        if len(seen) == 3:
            daemon.stop()

    daemon.on_event = on_event
    daemon.run()
    assert seen == [("escalated", 6 * H), ("escalated", 8 * H), ("escalated", 12 * H)]
    text = daemon.metrics.text()
    assert 'escalator_escalation_lag_seconds_bucket{le="1.0",tracker="jira"} 3.0' in text
    assert 'escalator_escalations_total{level="2",tracker="jira"} 1.0' in text


def test_english_contract_writes_english_notes(world, tmp_path):
    from mapping.loader import load_procedure
    override = tmp_path / "procedure.yaml"
    override.write_text("contracts:\n  intl: {calendar: 24x7, language: en, name: {zh: 国际, en: international}}\n",
                        encoding="utf-8")
    world.procedure = load_procedure(override)
    world.tracker.add(incident("1", severity=1, contract="intl"))
    world.daemon().cycle()
    note = world.tracker.ticket("1").notes[0].text
    assert note.startswith("[Escalation] OPS-1 escalated to level 1: reported to the project manager (pm-li).")
    assert "international timetable" in note


def test_restores_a_lowered_severity_and_says_how_to_record_an_exception(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=2))
    daemon = world.daemon()
    daemon.cycle()
    world.at(H)
    lowered = world.tracker.update("1", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2),
        SeverityChange(at=T0 + H, by="eng-a", by_name="Engineer A", severity=4)))
    assert lowered.severity == 4
    world.at(H + timedelta(seconds=2))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 2
    assert len(t.notes) == 1
    note = t.notes[0].text
    assert "Engineer A 于" in note and "eng-a" not in note and "由二级事件降为四级事件" in note
    assert "项目经理" in note and "severity-downgrade-approved" in note
    assert [r.fields["lowered_by"] for r in events(caplog, "daemon.severity-restored")] == ["eng-a"]
    # the escalator's own restore is not a lowering: nothing more on the next passes
    world.at(2 * H)
    daemon.cycle()
    assert len(world.tracker.ticket("1").notes) == 1


def test_an_approved_lowering_stays(world):
    world.config = make_config(watch_from=T0)  # judged although made before the daemon's first pass
    world.tracker.add(incident("1", severity=2))
    daemon = world.daemon()
    world.tracker.update("1", severity=3, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2),
        SeverityChange(at=T0 + H, by="pm-li", severity=3)),
        approvals=(DowngradeApproval(at=T0 + H, by="pm-li", to_severity=3),))
    world.at(H + timedelta(seconds=1))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 3 and t.notes == []


def _archived_directly_under_watch(world):
    """Ticket 1 watched, archived straight from 处理中 an hour later, then a pass: the daemon, the ticket."""
    daemon = world.daemon()
    daemon.cycle()
    world.at(H)
    _archive_directly(world, "1")
    daemon.cycle()
    return daemon, world.tracker.ticket("1")


def _archive_directly(world, ticket_id: str):
    world.tracker.update(ticket_id, state=7, state_history=(
        StateChange(at=T0, state=1), StateChange(at=T0, state=2), StateChange(at=T0, state=3),
        StateChange(at=T0 + H, by="eng-a", by_name="Engineer A", state=7)))


def test_flags_an_illegal_state_change_without_putting_it_back(world):
    world.tracker.add(incident("1", severity=3))
    _, t = _archived_directly_under_watch(world)
    assert t.incident.state == 7
    assert [n.marker for n in t.notes] == [f"transition-3-7-{int((T0 + H).timestamp())}"]
    assert "由处理中直接改为已归档" in t.notes[0].text and "§4.5.2" in t.notes[0].text
    assert world.tracker.count("set_state") == 0


def test_puts_an_illegal_state_change_back_where_the_contract_enforces(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.procedure = strict_procedure(tmp_path)
    world.tracker.add(incident("1", severity=3, contract="strict"))
    daemon, t = _archived_directly_under_watch(world)
    assert t.incident.state == 3
    assert len(t.notes) == 1 and "本助手将状态改回处理中" in t.notes[0].text
    assert [r.fields["reverted"] for r in events(caplog, "daemon.transition-flagged")] == [True]
    # our own undo (7 -> 3) is not flagged as a new illegal change, nor put back
    for hours in (2, 3):
        world.at(hours * H)
        daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.state == 3 and len(t.notes) == 1 and world.tracker.count("set_state") == 1


def test_an_incomplete_record_gets_one_note(world):
    world.tracker.add(incident("1", severity=4, facts={"recorded_by": "desk1", "reporter": "Zhang San"}))
    daemon = world.daemon()
    daemon.cycle()
    for hours in (1, 2):
        world.at(hours * H)
        world.tracker.update("1", title="still incomplete")  # a human edit brings it back to the pass
        daemon.cycle()
    t = world.tracker.ticket("1")
    assert len(t.notes) == 1
    assert t.notes[0].marker == "record-incomplete"
    assert world.tracker.count("has_marker") == 1  # the journal spares the tracker a search each pass
    assert "联系方式、发生日期和时间、受影响的配置项、症状描述及错误代码" in t.notes[0].text


def test_dry_run_writes_nothing_and_says_what_it_would_do(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.procedure = strict_procedure(tmp_path)
    world.config = make_config(watch_from=T0)  # the lowering and the illegal change come before the start
    world.tracker.add(incident("1", severity=1, contract="strict", facts={}))
    world.tracker.add(incident("2", severity=2, contract="strict", facts={}))  # open: its record is checked
    world.tracker.update("2", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2), SeverityChange(at=T0, by="eng-a", severity=4)))
    _archive_directly(world, "1")
    world.at(5 * H)  # ticket 2 (restored to severity 2) is due at level 1
    before = {k: v.incident for k, v in world.tracker.tickets.items()}
    daemon = world.daemon(dry_run=True)
    daemon.cycle()
    written = {name for name, _ in world.tracker.calls} - {"search", "read_one", "has_marker"}
    assert written == set()
    assert {k: v.incident for k, v in world.tracker.tickets.items()} == before
    assert world.journal.entries() == [] and world.journal.schedule("jira") == []
    assert world.journal.cursor("jira").since is None
    names = {r.event for r in caplog.records if getattr(r, "event", "").startswith("daemon.would-")}
    assert names == {"daemon.would-escalate", "daemon.would-restore-severity", "daemon.would-flag-transition",
                     "daemon.would-flag-record", "daemon.would-warn"}  # level 2 (6 h) is warned of from 4.5 h
    # the next cycle does not say it all again, and does not spin: it sleeps until the next deadline
    said = len(caplog.records)
    assert daemon.cycle() > 0
    assert [r for r in caplog.records[said:] if getattr(r, "event", "").startswith("daemon.would-")] == []


def test_unreadable_ticket_is_logged_counted_and_skipped(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1))
    world.tracker.add(incident("2", severity=1))
    world.tracker.ticket("1").unreadable = "severity option 10107 maps to no severity"
    daemon = world.daemon()
    daemon.cycle()
    assert world.tracker.ticket("1").notes == []
    assert [n.marker for n in world.tracker.ticket("2").notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]
    [record] = events(caplog, "daemon.ticket-unreadable")
    assert record.fields["ticket"] == "OPS-1" and "10107" in record.fields["reason"]
    assert 'escalator_tickets_unreadable_total{tracker="jira"} 1.0' in daemon.metrics.text()


def test_unknown_contract_is_unreadable_not_guessed(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1, contract="no-such-contract"))
    world.daemon().cycle()
    assert world.tracker.ticket("1").notes == []
    [record] = events(caplog, "daemon.ticket-unreadable")
    assert "no-such-contract" in record.fields["reason"]


def test_contract_and_roles_come_from_the_config(world):
    from plugin.config import ContractRules, RoleDirectory
    world.config = world.config.model_copy(update={
        "contracts": ContractRules(by_project={"OPS": "24x7"}),
        "roles": RoleDirectory(default={"project_manager": ["pm-li"]},
                               by_contract={"24x7": {"project_manager": ["pm-night"]}})})
    world.tracker.add(incident("1", severity=2, contract=None))
    world.at(4 * H + timedelta(minutes=1))  # 24x7: due; the business-hours default would not be
    world.daemon().cycle()
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1"]
    assert t.notified[0][0] == ["pm-night"]


def test_a_refused_write_is_reported_once_and_the_others_go_on(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1))
    world.tracker.add(incident("2", severity=1))
    world.tracker.fail("set_escalation_level", 400, times=1)  # the first level write: L1 on ticket 1
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    [refused] = events(caplog, "daemon.write-refused")
    assert refused.fields["ticket"] == "OPS-1" and refused.fields["write"] == "level"
    assert refused.fields["status"] == 400 and refused.fields["refusal"] == "permanent"
    assert world.tracker.ticket("2").incident.escalation_level == 3
    t = world.tracker.ticket("1")
    # the escalation went on: its people were told, its note written; the higher levels were written
    assert [n.marker for n in t.notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]
    assert t.incident.escalation_level == 3
    [entry] = [e for e in world.journal.entries(ticket_id="1") if e.marker == "escalation-L1"]
    assert entry.outcome == "done" and entry.detail["level_written"] is False
    assert entry.detail["failed"]["level"].startswith("level: permanent, HTTP 400")
    # never asked again: not on the next passes, nor reported again
    world.at(timedelta(minutes=2))
    daemon.cycle()
    world.at(timedelta(minutes=4))
    daemon.cycle()
    assert world.tracker.count("set_escalation_level", "1") == 3
    assert len(events(caplog, "daemon.write-refused")) == 1


def test_a_write_the_tracker_cannot_take_now_waits_for_its_ticket_alone(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1))
    world.tracker.add(incident("2", severity=1))
    world.tracker.fail("set_escalation_level", 503, times=2, ticket="1")
    daemon = world.daemon(poll_interval=3600, rng=random.Random(7))
    daemon.cycle()
    assert world.tracker.ticket("2").incident.escalation_level == 3  # the other ticket is not held up
    t = world.tracker.ticket("1")
    # the note and the level are one write: refused whole, neither is on the ticket
    assert t.notes == [] and t.incident.escalation_level == 0 and len(t.notified) == 1
    [deferred] = events(caplog, "daemon.write-deferred")
    until = datetime.fromisoformat(deferred.fields["until"])
    assert T0 + timedelta(seconds=1) <= until <= T0 + timedelta(seconds=2)  # 2 s, half of it jittered
    assert daemon.schedule.get("1") == until  # looked at again then, not at the hour's poll
    daemon.wake("1")  # a webhook names it: read, but too early to write
    daemon.cycle()
    assert ("read_fresh", "1") in world.tracker.calls
    assert world.tracker.count("set_escalation_level", "1") == 1
    world.clock.set(until)
    daemon.cycle()  # refused again: twice as long
    second = datetime.fromisoformat(events(caplog, "daemon.write-deferred")[1].fields["until"])
    assert until + timedelta(seconds=2) <= second <= until + timedelta(seconds=4)
    world.clock.set(second)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]
    assert t.incident.escalation_level == 3 and len(t.notified) == 3  # nobody told twice
    assert not events(caplog, "daemon.write-refused")


def test_stop_finishes_the_action_in_flight_then_returns(world):
    for i in range(1, 4):
        world.tracker.add(incident(str(i), severity=2))
    world.at(4 * H + timedelta(seconds=1))
    daemon = world.daemon()
    done = []

    def on_event(event):
        done.append(event.ref)
        daemon.stop()

    daemon.on_event = on_event
    daemon.run()
    assert len(done) == 1
    escalated = [k for k, t in world.tracker.tickets.items() if t.incident.escalation_level]
    assert len(escalated) == 1
    assert world.journal.cursor("jira").since is None  # the batch was not finished: read again next time
    # the next run does the rest, and nothing twice
    world.daemon().cycle()
    for t in world.tracker.tickets.values():
        assert [n.marker for n in t.notes] == ["escalation-L1"] and t.incident.escalation_level == 1


def test_a_deleted_ticket_is_dropped_from_the_schedule(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=2))
    world.tracker.add(incident("2", severity=2))
    daemon = world.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    del world.tracker.tickets["1"]
    world.at(4 * H + timedelta(seconds=1))
    daemon.cycle()
    assert [r.fields["ticket"] for r in events(caplog, "daemon.ticket-gone")] == ["1"]
    assert daemon.schedule.get("1") is None and world.journal.schedule("jira")[0][1] == "2"
    assert [n.marker for n in world.tracker.ticket("2").notes] == ["escalation-L1"]


def test_a_failing_pass_is_logged_and_the_daemon_goes_on(world, caplog, monkeypatch):
    import plugin.daemon
    from mapping.decide import decide
    world.tracker.add(incident("1", severity=1))
    calls = []

    def broken(incident, procedure, now, approvers, watch_from=None, holders=None):
        calls.append(incident.id)
        if len(calls) == 1:
            raise RuntimeError("a bug in the rules")
        return decide(incident, procedure, now, approvers, watch_from=watch_from, holders=holders)

    monkeypatch.setattr(plugin.daemon, "decide", broken)
    daemon = world.daemon()
    assert daemon.cycle() == daemon.BACKOFF_START
    assert [r for r in caplog.records if getattr(r, "event", None) == "daemon.pass-failed"]
    daemon.cycle()
    assert [n.marker for n in world.tracker.ticket("1").notes] == ["escalation-L1", "escalation-L2",
                                                                   "escalation-L3"]


def test_a_webhook_for_an_unwatched_project_is_ignored(world):
    from mapping.fieldmap import CategoryMap, LevelMap, SeverityMap, TrackerMapping
    mapping = TrackerMapping(tracker="jira", base_url="http://jira.invalid", projects=["OPS"],
                             severity=SeverityMap(field="cf1", values={1: "1", 2: "2", 3: "3", 4: "4"}),
                             category=CategoryMap(field="cf2", values={}),
                             escalation_level=LevelMap(field="cf3", values={}), states={})
    world.tracker.add(incident("9", severity=1, project="HR"))
    daemon = world.daemon(mapping=mapping)
    daemon.wake("9")
    daemon.cycle()
    assert world.tracker.ticket("9").notes == []
    assert daemon.schedule.get("9") is None


def test_a_due_ticket_changed_before_the_incremental_read_is_decided_on_its_later_version(world):
    """A pass reads the tickets whose deadline came, then what changed since the cursor. A person's edit
    between the two shows in the second read, which the cursor then counts as seen: the decision is
    made on that version, not on the earlier one (else the edit is never read again)."""
    world.tracker.add(incident("1", severity=3))  # 24x7: PM at 6 h, director at 8 h, management at 12 h
    daemon = world.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    assert daemon.schedule.get("1") == T0 + 6 * H
    world.at(6 * H + timedelta(seconds=1))
    history = (SeverityChange(at=T0, severity=3), SeverityChange(at=world.clock.now(), by="pm-li", severity=1))
    world.tracker.before["search"] = lambda: world.tracker.update("1", severity=1, severity_history=history)
    daemon.run_pass(poll=True)
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]
    assert t.incident.escalation_level == 3
