"""How the daemon writes: an escalation notifies before its note, and a value (level, severity,
state) is written only from a fresh read, never over a person's edit made after the pass read
the ticket."""

from __future__ import annotations

import logging
from datetime import timedelta

from mapping.incident import DowngradeApproval, SeverityChange, StateChange
from tests.daemon.conftest import T0, incident, strict_procedure

H = timedelta(hours=1)
WRITES = {"notify", "add_note", "set_escalation_level", "set_severity", "set_state"}


def writes(world) -> list[str]:
    return [name for name, _ in world.tracker.calls if name in WRITES]


def events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def test_an_escalation_notifies_then_writes_its_note_then_the_level(world):
    # Zammad's notify subscribes the people: only updates made after it reach them
    world.tracker.add(incident("1", severity=1))  # all three levels due at once
    world.daemon().cycle()
    assert writes(world) == ["notify", "add_note", "set_escalation_level"] * 3
    assert world.tracker.ticket("1").incident.escalation_level == 3


def _lowered_after_the_start(world):
    """Severity 2, lowered to 4 by an engineer an hour after the daemon's first pass."""
    world.tracker.add(incident("1", severity=2))
    daemon = world.daemon()
    daemon.cycle()
    world.at(H)
    world.tracker.update("1", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2), SeverityChange(at=T0 + H, by="eng-a", severity=4)))
    world.at(H + timedelta(seconds=2))
    return daemon


def _pm_raises_to_1(world):
    now = world.clock.now()
    cur = world.tracker.ticket("1").incident
    world.tracker.update("1", severity=1, severity_history=(
        *cur.severity_history, SeverityChange(at=now, by="pm-li", by_name="Li PM", severity=1)))


def test_a_severity_raised_after_the_read_is_not_restored_over(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    daemon = _lowered_after_the_start(world)
    # the pass has read the lowered ticket; the project manager raises it to 1 before the restore
    world.tracker.before["read_fresh"] = lambda: _pm_raises_to_1(world)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 1
    assert t.notes == [] and "set_severity" not in writes(world)
    [skipped] = events(caplog, "daemon.restore-skipped")
    assert skipped.fields["judged"] == 4 and skipped.fields["now"] == 1
    # and the next pass has nothing to put back, nobody to blame (severity 1 is escalated at once)
    world.at(2 * H)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 1 and "set_severity" not in writes(world)
    assert [n.marker for n in t.notes] == ["escalation-L1", "escalation-L2", "escalation-L3"]


def test_a_restore_is_read_right_before_its_one_write_and_the_note_never_lands_alone(world, caplog):
    # the note and the severity are one request: no window between them where a person's edit could
    # go unseen; the read the write is made from is the call right before it
    caplog.set_level(logging.INFO, "escalator.daemon")
    daemon = _lowered_after_the_start(world)
    world.tracker.calls.clear()
    daemon.cycle()
    calls = [name for name, _ in world.tracker.calls]
    at = calls.index("write")
    assert calls[at - 1] == "read_fresh"
    assert calls.count("write") == 1 and writes(world) == ["add_note", "set_severity"]
    t = world.tracker.ticket("1")
    assert t.incident.severity == 2 and len(t.notes) == 1


def test_a_severity_raised_while_the_notification_goes_out_is_not_overwritten(world, caplog):
    # an action with a call before its write (an escalation notifies first) reads again before writing
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=2))
    daemon = world.daemon()
    daemon.cycle()
    world.at(4 * H + timedelta(seconds=3))
    world.tracker.before["notify"] = lambda: world.tracker.update("1", escalation_level=2)
    daemon.cycle()
    calls = [name for name, _ in world.tracker.calls]
    assert calls[calls.index("write") - 1] == "read_fresh"
    t = world.tracker.ticket("1")
    assert t.incident.escalation_level == 2 and "set_escalation_level" not in writes(world)
    assert [n.marker for n in t.notes] == ["escalation-L1"]


def test_a_lowering_approved_after_the_read_stays(world):
    daemon = _lowered_after_the_start(world)
    # same severity as judged, but the project manager recorded the exception meanwhile
    world.tracker.before["read_fresh"] = lambda: world.tracker.update(
        "1", approvals=(DowngradeApproval(at=world.clock.now(), by="pm-li", to_severity=4),))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 4 and t.notes == [] and "set_severity" not in writes(world)


def test_a_restore_still_due_on_the_fresh_read_is_made(world):
    daemon = _lowered_after_the_start(world)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 2 and len(t.notes) == 1
    assert writes(world) == ["add_note", "set_severity"]


def test_the_escalation_level_is_never_lowered(world):
    world.tracker.add(incident("1", severity=2))  # 24x7: project manager (level 1) due at 4 h
    daemon = world.daemon()
    daemon.cycle()
    world.at(4 * H + timedelta(seconds=3))
    # the project manager escalates to management by hand after the pass read the ticket
    world.tracker.before["notify"] = lambda: world.tracker.update("1", escalation_level=3)
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert [n.marker for n in t.notes] == ["escalation-L1"]  # the note and the notification still go out
    assert [p for p, _ in t.notified] == [["pm-li"]]
    assert t.incident.escalation_level == 3
    assert "set_escalation_level" not in writes(world)
    [entry] = [e for e in world.journal.entries(ticket_id="1") if e.kind == "escalate"]
    assert entry.detail["level_written"] is False and entry.detail["level_found"] == 3


def _archived_an_hour_in(world, tmp_path):
    """Ticket 1 (severity 3, the strict contract) watched; an hour on, eng-a moves it 处理中 -> 已归档 in
    its history. The daemon, and that history: the test says what the ticket's state shows."""
    world.procedure = strict_procedure(tmp_path)
    world.tracker.add(incident("1", severity=3, contract="strict"))
    daemon = world.daemon()
    daemon.cycle()
    world.at(H)
    return daemon, (*(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=T0 + H, by="eng-a", state=7))

def test_an_illegal_change_moved_on_by_a_person_is_not_put_back(world, tmp_path):
    daemon, history = _archived_an_hour_in(world, tmp_path)
    world.tracker.update("1", state=7, state_history=history)
    world.at(H + timedelta(seconds=1))
    # after the pass read it, the project manager sends it back to 待审核 herself
    world.tracker.before["read_fresh"] = lambda: world.tracker.update(
        "1", state=6, state_history=(*history, StateChange(at=world.clock.now(), by="pm-li", state=6)))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.state == 6
    assert "set_state" not in writes(world)
    assert [n.marker for n in t.notes] == [f"transition-3-7-{int((T0 + H).timestamp())}"]


def test_whether_to_put_back_is_asked_again_of_the_fresh_read(world, tmp_path):
    """The pass's read shows the illegal change in the history but not the state it left the ticket in
    (on Jira Cloud the search answered before the move, the changelog fetched after it): the read
    before the write shows it still in 已归档, so it is put back, not flagged as history for good."""
    daemon, history = _archived_an_hour_in(world, tmp_path)
    world.tracker.update("1", state=3, state_history=history)  # the state as the search saw it
    world.tracker.before["read_fresh"] = lambda: world.tracker.update("1", state=7)
    world.at(H + timedelta(seconds=1))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.state == 3
    [note] = t.notes
    assert note.marker == f"transition-3-7-{int((T0 + H).timestamp())}" and "本助手将状态改回" in note.text
