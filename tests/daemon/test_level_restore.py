"""A level field that lost its value gets the level the escalator reached written back: once, with a note.

The pure rule (`mapping.level.lost_level`) and the daemon around it on the fake tracker: the
journal's memory of the level reached, one write of note and level, nothing when a person
changed the field, nothing twice when the value does not stay.
"""

from __future__ import annotations

from datetime import timedelta

from mapping.actions import RestoreLevel
from mapping.incident import LevelChange
from mapping.level import LevelMemory, lost_level
from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)
REACHED = LevelMemory(reached=2, reached_at=T0 + 6 * H)


def test_a_new_empty_field_gets_the_level_reached() -> None:
    recreated = incident("1", escalation_level=0)  # no history: the field is new
    assert lost_level(recreated, REACHED) == RestoreLevel(level=2, found=0, reached_at=T0 + 6 * H)


def test_a_value_gone_outside_the_history_gets_what_the_history_last_set() -> None:
    # the history says the escalator set 2; the field reads 0 and no change set 0
    vanished = incident("1", escalation_level=0, level_changes=(LevelChange(at=T0 + 6 * H, by="bot", level=2),))
    assert lost_level(vanished, REACHED).level == 2
    # a person lowered it to 1 before the field lost its value: 1 comes back, not the escalator's 2
    lowered = incident("1", escalation_level=0, level_changes=(LevelChange(at=T0 + 6 * H, by="bot", level=2),
                                                               LevelChange(at=T0 + 7 * H, by="pm-li", level=1)))
    assert lost_level(lowered, REACHED).level == 1


def test_a_persons_edit_and_a_level_at_or_above_are_left_alone() -> None:
    cleared = incident("1", escalation_level=0, level_changes=(LevelChange(at=T0 + 6 * H, by="bot", level=2),
                                                               LevelChange(at=T0 + 7 * H, by="pm-li", level=0)))
    assert lost_level(cleared, REACHED) is None  # the history set what it reads: a person's edit
    assert lost_level(incident("1", escalation_level=2), REACHED) is None
    assert lost_level(incident("1", escalation_level=3), REACHED) is None
    assert lost_level(incident("1", escalation_level=0), None) is None  # the journal knows nothing
    assert lost_level(incident("1", escalation_level=0), LevelMemory(2, T0, written_back=2)) is None  # once


def _escalated(world):
    """A severity-2 incident on 24x7 escalated to level 1 by the daemon (4 h), and that daemon."""
    world.tracker.add(incident("1", severity=2))
    daemon = world.daemon(poll_interval=60)
    world.at(4 * H + timedelta(seconds=5))
    daemon.cycle()
    assert world.tracker.ticket("1").incident.escalation_level == 1
    return daemon


def test_the_daemon_writes_a_lost_level_back_once_in_one_write(world) -> None:
    daemon = _escalated(world)
    writes = world.tracker.count("write")
    # the admin deletes the field and creates it again: empty, no history (an edit moves `updated`)
    world.tracker.update("1", escalation_level=0, escalations=(), level_changes=())
    world.at(4 * H + timedelta(minutes=5))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.escalation_level == 1
    assert world.tracker.count("write") == writes + 1  # the level with its note, one request
    [note] = world.tracker.notes_with("1", "level-restore-L1")
    assert note.text.startswith("【升级级别已恢复】OPS-1 的“升级级别”字段现为空，但本助手已于 2026-03-02 13:00（Asia/Shanghai）"
                                "将其升级至第1级（项目经理）。")
    assert len(world.tracker.notes_with("1", "escalation-L1")) == 1  # not escalated again
    assert t.notified == [(["pm-li"], t.notified[0][1])]  # nobody told twice
    [row] = [e for e in world.journal.entries("jira", "1") if e.kind == "restore-level"]
    assert (row.outcome, row.detail) == ("done", {"level": 1, "found": 0})

    # the value goes again: not written back a second time, on any later pass, nor escalated again
    level_writes = world.tracker.count("set_escalation_level")
    world.tracker.update("1", escalation_level=0, escalations=(), level_changes=())
    for minutes in (10, 30, 90):  # before level 2 falls due at 6 h
        world.at(4 * H + timedelta(minutes=minutes))
        daemon.cycle()
    assert world.tracker.count("write") == writes + 1 and world.tracker.count("set_escalation_level") == level_writes
    assert len(world.tracker.notes_with("1", "level-restore-L1")) == 1
    # a restarted daemon (the journal kept) does not either
    again = world.daemon(poll_interval=60)
    world.tracker.update("1", title="touched")
    again.cycle()
    assert world.tracker.count("write") == writes + 1


def test_a_level_a_person_cleared_is_theirs(world) -> None:
    daemon = _escalated(world)
    writes = world.tracker.count("write")
    cur = world.tracker.ticket("1").incident
    world.tracker.update("1", escalation_level=0, level_changes=(
        *cur.level_changes, LevelChange(at=world.clock.now(), by="pm-li", by_name="Li", level=0)))
    world.at(4 * H + timedelta(minutes=5))
    daemon.cycle()
    assert world.tracker.ticket("1").incident.escalation_level == 0
    assert world.tracker.count("write") == writes and world.tracker.notes_with("1", "level-restore-L1") == []


def test_a_refused_level_is_reported_and_not_asked_again_while_the_ticket_stays(world) -> None:
    daemon = _escalated(world)
    world.tracker.update("1", escalation_level=0, escalations=(), level_changes=())
    world.tracker.fail("set_escalation_level", 400)  # the new field is not on the edit screen
    world.at(4 * H + timedelta(minutes=5))
    daemon.cycle()
    sent = world.tracker.count("write")
    world.at(4 * H + timedelta(minutes=10))
    daemon.cycle()
    assert world.tracker.count("write") == sent  # not again: the same ticket, the same refusal
    assert world.tracker.notes_with("1", "level-restore-L1") == []  # no note claims a level not written
    assert any(e.kind == "restore-level" and e.outcome in ("failed", "refused")
               for e in world.journal.entries("jira", "1"))
