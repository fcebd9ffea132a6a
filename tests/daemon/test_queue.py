"""The queue `escalator status` and the status page show: what comes next per open incident, sorted
by what comes first, and what blocks it (paused, no severity, unreadable, a refused write)."""

from __future__ import annotations

from datetime import timedelta

from mapping.incident import SeverityChange, StateChange, Unreadable
from plugin.queue import QueueBuilder, cells, levels_reached, refusals, select, until
from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)


def builder(world, **kw) -> QueueBuilder:
    return QueueBuilder(world.procedure, world.config, None, **kw)


def test_rows_say_what_comes_next_to_whom_sorted_by_what_comes_first(world):
    rows = builder(world).rows([incident("3", severity=3), incident("2", severity=2),
                                incident("1", severity=1), incident("9", severity=2, state=7)], T0 + H)
    assert [r.ref for r in rows] == ["OPS-1", "OPS-2", "OPS-3"]  # the archived one is not in the queue
    first, second, _ = rows
    assert [s.level for s in first.due_now] == [1, 2, 3] and first.step.deadline == T0
    assert second.step.level == 1 and second.step.role == "project_manager"
    assert second.step.deadline == T0 + 4 * H and second.people == ("pm-li",)
    assert cells(second, world.procedure, T0 + H)[4:7] == ("1 project manager", "Mon 03-02 13:00 +0800",
                                                           "in 3 h")
    assert cells(first, world.procedure, T0 + H)[4] == "1-3 project manager"
    assert second.zone == "Asia/Shanghai" and second.blocking is None


def test_a_level_reached_moves_the_next_one(world):
    [row] = builder(world).rows([incident("2", severity=2, escalation_level=1)], T0 + H)
    assert row.level == 1 and row.step.level == 2 and row.step.role == "division_director"
    assert row.step.deadline == T0 + 6 * H


def test_what_blocks_an_incident_is_named(world):
    paused = incident("5", severity=2, state=5)
    unset = incident("6").model_copy(update={"severity": None, "severity_history": ()})
    gone = Unreadable(tracker="jira", id="7", ref="OPS-7", reason="status id 10003 maps to no state")
    odd = incident("8", contract="gold")
    rows = {r.ref: r for r in builder(world).rows([paused, unset, gone, odd], T0 + H)}
    assert rows["OPS-5"].blocking == "paused" and rows["OPS-5"].step is None
    assert rows["OPS-6"].blocking == "no severity"
    assert rows["OPS-7"].blocking == "unreadable: status id 10003 maps to no state"
    assert rows["OPS-8"].blocking == "unreadable: contract 'gold' is not in the procedure's contracts"


def test_a_lowered_severity_counts_as_restored_like_the_daemon_counts_it(world):
    lowered = incident("1", severity=4, severity_history=(SeverityChange(at=T0, by="desk1", severity=2),
                                                           SeverityChange(at=T0 + H, by="eng", severity=4)))
    [row] = builder(world).rows([lowered], T0 + 2 * H)
    assert row.severity == 2 and row.step.deadline == T0 + 4 * H
    [history] = builder(world, watch_from=T0 + 2 * H).rows([lowered], T0 + 2 * H)  # lowered before watching
    assert history.severity == 4


def test_a_refused_write_blocks_until_the_ticket_changes(world):
    world.tracker.add(incident("1", severity=2))  # level 1 due at T0 + 4 h
    world.tracker.fail("set_escalation_level", 403)  # the account may not set the level: given up, reported
    daemon = world.daemon(poll_interval=60)
    world.at(4 * H)
    daemon.cycle()
    blocked = refusals(world.journal.entries("jira"))
    assert list(blocked) == ["1"] and blocked["1"].marker == "escalation-L1" and blocked["1"].level == 1
    assert blocked["1"].error.startswith("level: permanent, HTTP 403")
    levels = levels_reached(world.journal.entries("jira"))
    assert levels == {}  # the note went out, the level did not move: the escalation still waits
    [row] = builder(world).rows([world.tracker.ticket("1").incident], world.clock.now(), blocked, levels)
    assert row.blocking.startswith("refused: level: permanent, HTTP 403") and row.step.level == 1
    assert row.level == 0

    world.tracker.faults.clear()  # the permission is given back; a person sets a field: the daemon tries again
    world.tracker.update("1", title="core switch down")
    world.at(4 * H + timedelta(minutes=2))
    daemon.cycle()
    assert world.tracker.ticket("1").incident.escalation_level == 1
    entries = world.journal.entries("jira")
    [row] = builder(world).rows([world.tracker.ticket("1").incident], world.clock.now(), refusals(entries),
                                levels_reached(entries))
    assert row.blocking is None and row.level == 1 and row.step.level == 2


def test_a_refusal_no_longer_blocks_once_its_level_is_reached(world):
    world.tracker.add(incident("1", severity=1))
    world.tracker.fail("set_escalation_level", 403, times=1)  # level 1's write refused; 2 and 3 go through
    world.daemon().cycle()
    entries = world.journal.entries("jira")
    blocked = refusals(entries)
    assert blocked["1"].level == 1
    [row] = builder(world).rows([world.tracker.ticket("1").incident], T0, blocked, levels_reached(entries))
    assert row.level == 3 and row.blocking is None


def test_filters_and_words(world):
    rows = builder(world).rows([incident("1", severity=1), incident("2", severity=2, contract="default"),
                                incident("3", severity=3, project="NOC")], T0)
    assert [r.ref for r in select(rows, severities=[2, 3])] == ["OPS-2", "OPS-3"]
    assert [r.ref for r in select(rows, contracts=["default"])] == ["OPS-2"]
    assert [r.ref for r in select(rows, projects=["NOC"])] == ["OPS-3"]
    assert until(T0 + 2 * H + timedelta(minutes=10), T0) == "in 2 h 10 min"
    assert until(T0, T0 + timedelta(minutes=5)) == "overdue 5 min" and until(T0, T0) == "now"


def test_a_paused_clock_has_no_next_deadline_but_a_manual_request_still_shows(world):
    paused = incident("5", severity=2, state=5,
                      state_history=tuple(StateChange(at=T0, state=s) for s in (1, 2, 3, 5)))
    [row] = builder(world).rows([paused], T0 + H)
    assert row.step is None and row.level == 0
