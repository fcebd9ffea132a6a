"""Never twice, never lost: crashes between writes, a second daemon, a lost journal,
an unreachable tracker."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from mapping.incident import SeverityChange, StateChange
from plugin.journal import Journal
from tests.daemon.conftest import T0, incident, make_config, strict_procedure, without_warnings
from tests.daemon.fake import SimulatedCrash

H = timedelta(hours=1)
LEVELS = ["escalation-L1", "escalation-L2", "escalation-L3"]


def markers(world, ticket_id: str) -> list[str]:
    return [n.marker for n in world.tracker.ticket(ticket_id).notes]


def _calls(setup) -> list[str]:
    """The tracker calls one pass makes on a world prepared by `setup`, in order, without a crash."""
    from tests.daemon.conftest import World
    world = World()
    setup(world)
    world.daemon().cycle()
    return [name for name, _ in world.tracker.calls]


def _severity_1(world) -> None:
    world.tracker.add(incident("1", severity=1))  # all three levels due at once


#: the calls of three escalations due at once on one ticket, in order (the fake counts the parts of
#: one write as calls of their own: `add_note` and `set_escalation_level` inside `write`, refused or
#: crashed with it). The first read of the ticket serves its first level's marker check; each level
#: after it checks its marker in what the pass knows (that read, and the notes written since)
ESCALATIONS = _calls(_severity_1)


def test_three_escalations_on_one_ticket_cost_one_read_then_three_each():
    one = ["notify", "read_fresh", "write", "add_note", "set_escalation_level"]
    assert ESCALATIONS == ["search", "read_fresh", *one, *one, *one]


def _nth(calls: list[str], k: int) -> tuple[str, int]:
    """The k-th call as the fake's crash point: (its name, how many of that name up to it)."""
    return calls[k], calls[: k + 1].count(calls[k])


def _told_before_written(calls: list[str], k: int) -> bool:
    """A crash at call k comes after a notification and before the write that carries its note (its
    last part, the level, included: a crash there stores nothing)."""
    for i, name in enumerate(calls[:k]):
        if name == "notify":
            written = next(j for j in range(i, len(calls)) if calls[j] == "set_escalation_level")
            if k <= written:
                return True
    return False


#: a crash at every call of the three escalations: between every pair of writes and reads
CRASHES = [_nth(ESCALATIONS, k) for k in range(len(ESCALATIONS))]


@pytest.mark.parametrize(("crash_on", "nth"), CRASHES, ids=[f"{n}#{i}" for n, i in CRASHES])
def test_crash_between_the_writes_of_an_escalation(world, crash_on, nth):
    """Nobody is told twice: a crash after a notification and before its note finds the journal's
    record of it (see the next test for a lost journal)."""
    _severity_1(world)
    world.tracker.crash_on[crash_on] = nth
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    # a new process: same tracker, same journal
    world.clock.advance(30)
    world.daemon().cycle()
    t = world.tracker.ticket("1")
    assert markers(world, "1") == LEVELS  # each note once, none lost
    assert t.incident.escalation_level == 3
    people = [p for p, _ in t.notified]
    assert sorted(people) == [["ceo-zhao"], ["dd-wang"], ["pm-li"]]  # every role told, once


@pytest.mark.parametrize(("k",), [(k,) for k in range(len(ESCALATIONS))],
                         ids=[f"{n}#{i}" for n, i in CRASHES])
def test_a_crash_with_the_journal_lost_too_may_tell_one_role_twice(world, k):
    """The one write that can repeat: a notification whose journal row is lost with the process's
    journal, when the crash came before its note (nothing on the ticket says it was sent)."""
    crash_on, nth = _nth(ESCALATIONS, k)
    _severity_1(world)
    world.tracker.crash_on[crash_on] = nth
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    world.clock.advance(30)
    world.daemon(journal=Journal(":memory:")).cycle()
    t = world.tracker.ticket("1")
    assert markers(world, "1") == LEVELS and t.incident.escalation_level == 3
    people = [p for p, _ in t.notified]
    assert {tuple(p) for p in people} == {("pm-li",), ("dd-wang",), ("ceo-zhao",)}
    assert len(people) == 3 + _told_before_written(ESCALATIONS, k)


# a restore's calls: read_fresh (still lowered? right before the value), write (note + severity in one
# request; the fake counts add_note and set_severity inside it, both crashed with it)
@pytest.mark.parametrize(("crash_on", "nth"), [("read_fresh", 1), ("write", 1), ("add_note", 1),
                                               ("set_severity", 1)])
def test_crash_between_the_writes_of_a_restore(world, crash_on, nth):
    world.config = make_config(watch_from=T0)  # the lowering is seeded before the daemon starts
    world.tracker.add(incident("1", severity=3))
    world.tracker.update("1", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=3), SeverityChange(at=T0, by="eng-a", severity=4)))
    world.tracker.crash_on[crash_on] = nth
    world.clock.advance(10)
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    world.daemon().cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 3
    assert len(markers(world, "1")) == 1 and markers(world, "1")[0].startswith("severity-restore-")


def test_crash_before_putting_back_an_illegal_change(world, tmp_path):
    world.procedure = without_warnings(strict_procedure(tmp_path))
    world.config = make_config(watch_from=T0)  # the illegal change is seeded before the daemon starts
    world.tracker.add(incident("1", severity=4, contract="strict"))
    world.tracker.update("1", state=7, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=T0 + H, by="eng-a", state=7)))
    world.at(H + timedelta(seconds=1))
    world.tracker.crash_on["set_state"] = 1
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    world.daemon().cycle()
    assert world.tracker.ticket("1").incident.state == 3
    assert len(markers(world, "1")) == 1


@pytest.mark.parametrize("journal_kept", [True, False])
def test_crash_between_a_put_back_and_its_note(world, tmp_path, journal_kept):
    world.procedure = without_warnings(strict_procedure(tmp_path))
    world.config = make_config(watch_from=T0)
    world.tracker.add(incident("1", severity=4, contract="strict"))
    world.tracker.update("1", state=7, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=T0 + H, by="eng-a", state=7)))
    world.at(H + timedelta(seconds=1))
    world.tracker.crash_on["add_note"] = 1
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    # the put-back and its note are one write: the crash inside it leaves neither
    assert world.tracker.ticket("1").incident.state == 7
    world.daemon(journal=world.journal if journal_kept else Journal(":memory:")).cycle()
    t = world.tracker.ticket("1")
    [note] = t.notes
    assert t.incident.state == 3 and world.tracker.count("set_state") == 1
    # with or without the journal, the note lands with the put-back and says it
    assert "本助手将状态改回" in note.text


def test_a_lost_journal_costs_a_re_read_never_a_duplicate(world, tmp_path):
    path = tmp_path / "journal.sqlite"
    for i in range(1, 4):
        world.tracker.add(incident(str(i), severity=2))
    world.at(6 * H + timedelta(seconds=5))
    world.daemon(journal=Journal(path)).cycle()
    before = {k: (list(t.notes), list(t.notified)) for k, t in world.tracker.tickets.items()}
    assert all(markers(world, k) == LEVELS[:2] for k in world.tracker.tickets)
    path.unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"journal.sqlite{suffix}").unlink(missing_ok=True)
    world.clock.advance(60)
    searches = world.tracker.count("search")
    daemon = world.daemon(journal=Journal(path))
    assert daemon.cursor.since is None and len(daemon.schedule) == 0
    daemon.cycle()
    assert world.tracker.count("search") == searches + 1  # everything read again ...
    after = {k: (list(t.notes), list(t.notified)) for k, t in world.tracker.tickets.items()}
    assert after == before  # ... and nothing written twice
    assert len(daemon.schedule) == 3  # the deadlines are known again
    world.at(8 * H)
    daemon.cycle()
    assert all(markers(world, k) == LEVELS for k in world.tracker.tickets)


def test_the_journal_keeps_cursor_and_schedule_across_restarts(world, tmp_path):
    path = tmp_path / "journal.sqlite"
    world.tracker.add(incident("1", severity=3))  # 24x7: level 1 at 6 h
    world.daemon(journal=Journal(path)).cycle()
    world.at(6 * H + timedelta(seconds=2))
    restarted = world.daemon(journal=Journal(path))
    assert restarted.schedule.get("1") == T0 + 6 * H
    restarted.cycle()
    assert markers(world, "1") == ["escalation-L1"]
    # the incremental read found nothing new: the deadline came from the journal's schedule
    assert ("read_fresh", "1") in world.tracker.calls
    audit = Journal(path).entries(ticket_id="1")
    assert [(e.marker, e.kind, e.outcome, e.detail["people"]) for e in audit] == [
        ("escalation-L1|notify", "escalate:notify", "done", ["pm-li"]),  # recorded as soon as it was sent
        ("escalation-L1", "escalate", "done", ["pm-li"])]


def test_a_second_daemon_on_the_same_tracker_adds_nothing(world):
    for i in range(1, 3):
        world.tracker.add(incident(str(i), severity=1))
    first, second = world.daemon(), world.daemon(journal=Journal(":memory:"))
    first.cycle()
    second.cycle()
    for k in ("1", "2"):
        assert markers(world, k) == LEVELS
        assert len(world.tracker.ticket(k).notified) == 3


def test_a_second_daemon_finishes_what_a_crashed_one_began(world):
    world.tracker.add(incident("1", severity=1))
    world.tracker.crash_on["notify"] = 1
    with pytest.raises(SimulatedCrash):
        world.daemon().cycle()
    other = world.daemon(journal=Journal(":memory:"))
    other.cycle()
    world.daemon().cycle()  # the first one, restarted
    assert markers(world, "1") == LEVELS
    assert [p for p, _ in world.tracker.ticket("1").notified] == [["pm-li"], ["dd-wang"], ["ceo-zhao"]]


def test_unreachable_is_logged_once_and_missed_deadlines_are_done_in_order(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    # three incidents whose level-1 deadlines fall while the tracker is down, in this order: 3, 1, 2
    world.tracker.add(incident("1", severity=2, reported_at=T0 + timedelta(minutes=20)))
    world.tracker.add(incident("2", severity=2, reported_at=T0 + timedelta(minutes=40)))
    world.tracker.add(incident("3", severity=2))
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    world.tracker.down = True
    waits = []
    for minutes in range(0, 120, 10):
        world.at(3 * H + timedelta(minutes=minutes))
        waits.append(daemon.cycle())
    assert [r.event for r in caplog.records if "tracker-" in r.event] == ["daemon.tracker-unreachable"]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and max(waits) == daemon.BACKOFF_MAX  # back-off, capped
    world.tracker.down = False
    world.tracker.calls.clear()
    daemon.cycle()
    daemon.cycle()
    assert [r.event for r in caplog.records if "tracker-" in r.event] == \
        ["daemon.tracker-unreachable", "daemon.tracker-recovered"]
    notes = [ticket for name, ticket in world.tracker.calls if name == "add_note"]
    assert notes == ["3", "1", "2"]
    assert all(markers(world, k) == ["escalation-L1"] for k in ("1", "2", "3"))
