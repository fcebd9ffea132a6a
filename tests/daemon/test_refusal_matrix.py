"""The refusal matrix: every write the daemon makes, refused every way a tracker refuses, on one ticket.

For each write (the fake's call names: a note, the escalation level, a severity restore, a
put-back, the notification (Jira's e-mail, Zammad's mention), a problem record and its link,
the weekly call-back task) and each answer (400, 403, 404, 409, 422, 429 with Retry-After,
500, a timeout whose write landed), one ticket refuses that write every time it is sent,
for 10 passes a minute apart and then 10 passes ten minutes apart. Then:

- no write is sent more often than its retries allow: a permanent refusal once per
  action, a retryable one within its attempts (and not at every pass), a notification
  never twice;
- every note on the ticket is true: a note says who could not be told exactly when they
  were not, a put-back is claimed only when the state is back, a restore that failed has
  a note saying so;
- what was given up is reported once (one `daemon.write-refused`, one journal row);
- the other tickets' escalations, restores, put-backs and notes are all done.

Property/preferences writes are not a write of their own here: they are how the Jira and
Zammad connectors store the level and the state, covered by the level and state rows.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest

from mapping.incident import SeverityChange, StateChange
from plugin.outcomes import ONCE
from plugin.refusals import ATTEMPTS, DEFAULT_ATTEMPTS
from tests.daemon.conftest import ROLES, T0, incident, make_config, strict_procedure

H = timedelta(hours=1)
ANSWERS = [400, 403, 404, 409, 422, 429, 500, "timeout"]
PERMANENT = {400, 403, 404, 409, 422}
#: the fake's call -> the write the daemon names it (plugin.writes)
WRITE = {"add_note": "note", "notify": "notify", "set_escalation_level": "level",
         "set_severity": "severity", "set_state": "state", "create_problem": "problem", "link": "problem",
         "create_task": "task"}
#: (call, ticket refusing it, how many actions on that ticket send it)
TARGETS = [("add_note", "esc", 4),  # three escalation notes and the problem record's note
           ("add_note", "low", 1), ("add_note", "bad", 1), ("add_note", "inc", 1),
           ("set_escalation_level", "esc", 3), ("set_severity", "low", 1), ("set_state", "bad", 1),
           ("notify", "esc", 3), ("create_problem", "esc", 1), ("link", "esc", 1)]
PEOPLE = {1: "pm-li", 2: "dd-wang", 3: "ceo-zhao"}


def events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def _world(world, tmp_path):
    world.procedure = strict_procedure(tmp_path)
    config = make_config(watch_from=T0)
    world.config = config.model_copy(update={"duties": config.duties.model_copy(update={"enabled": True})})
    half = T0 + H / 2
    for name in ("esc", "esc2"):  # severity 1: three levels at once, and a problem record
        world.tracker.add(incident(name, severity=1))
    for name in ("low", "low2"):  # severity 3, lowered to 4 by an engineer: restored
        world.tracker.add(incident(name, severity=4, updated_at=half, severity_history=(
            SeverityChange(at=T0, by="desk1", severity=3), SeverityChange(at=half, by="eng-a", severity=4))))
    for name in ("bad", "bad2"):  # 处理中 -> 已归档 on a contract that enforces: put back
        world.tracker.add(incident(name, severity=3, contract="strict", state=7, updated_at=half, state_history=(
            *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=half, by="eng-a", state=7))))
    for name in ("inc", "inc2"):  # the record lacks its facts
        world.tracker.add(incident(name, severity=4, facts={}))
    world.at(H)


def _run(world, caplog, answer, call, target):
    world.tracker.fail(call, answer, ticket=target, retry_after=90 if answer == 429 else None)
    daemon = world.daemon(poll_interval=60, rng=random.Random(3))
    sent = []
    for spacing in [timedelta(minutes=1)] * 10 + [timedelta(minutes=10)] * 10:
        daemon.cycle()
        sent.append(world.tracker.count(call, target))
        world.clock.advance(spacing)
    return sent


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize(("call", "target", "actions"), TARGETS)
def test_a_refused_write_is_never_looped_doubled_or_lied_about(world, tmp_path, caplog, call, target, actions,
                                                              answer):
    caplog.set_level(logging.DEBUG, "escalator.daemon")
    _world(world, tmp_path)
    sent = _run(world, caplog, answer, call, target)
    write = WRITE[call]
    permanent = answer in PERMANENT

    # -- never looped --------------------------------------------------------------------------
    if permanent or (answer == "timeout" and write == "notify"):
        assert sent[-1] <= actions, sent  # once per action, then never again
    else:
        assert sent[-1] <= actions * ATTEMPTS.get(write, DEFAULT_ATTEMPTS), sent
        assert sent[9] < 10 or actions > 1, sent  # not at every pass of the first ten
    if answer == 429:
        # Retry-After: 90 s, passes a minute apart: a refused pass is followed by one that sends nothing
        sends = [sent[0]] + [b - a for a, b in zip(sent, sent[1:10], strict=False)]
        assert all(n <= 1 for n in sends) and not any(a and b for a, b in zip(sends, sends[1:], strict=False)), sent

    # -- never doubled: each role told at most once, on every ticket -------------------------------
    for t in world.tracker.tickets.values():
        told = [p for people, _ in t.notified for p in people]
        assert len(told) == len(set(told)), (t.incident.id, told)

    # -- never lied about ------------------------------------------------------------------------
    _every_note_is_true(world)

    # -- reported once -----------------------------------------------------------------------------
    refused = [e for e in world.journal.entries(ticket_id=target) if e.outcome in ("refused", "unconfirmed")]
    logged = [r for r in events(caplog, "daemon.write-refused") if r.fields["ticket"] == f"OPS-{target}"]
    assert len(logged) == len(refused)
    keys = [e.marker for e in refused]
    assert len(keys) == len(set(keys))  # one row per action and write
    if permanent or answer in (429, 500):
        # refused for good, or for longer than its attempts: given up, and the row says what and why
        assert refused and all(e.kind.endswith(f":{write}") for e in refused), refused
        assert all(e.detail["refusal"]["write"] == write for e in refused)
        status = answer
        assert all(e.detail["refusal"]["status"] == status for e in refused)
    elif write == "notify":
        assert refused and {e.outcome for e in refused} == {"unconfirmed"}  # it may have gone out
    else:
        assert refused == []  # the timed-out write had landed: the retry found it done

    # -- the other tickets: everything done ----------------------------------------------------------
    _all_done(world, [k for k in world.tracker.tickets if k != target])


def _all_done(world, names: list[str]) -> None:
    for name in names:
        t = world.tracker.ticket(name)
        markers = [n.marker for n in t.notes]
        if name.startswith("esc"):
            assert markers[:3] == ["escalation-L1", "escalation-L2", "escalation-L3"] and "problem-record" in markers
            assert t.incident.escalation_level == 3
            assert sorted(p for people, _ in t.notified for p in people) == sorted(PEOPLE.values())
            assert [f.ref for f in world.tracker.filed if name in f.linked_to]
        elif name.startswith("low"):
            assert t.incident.severity == 3 and [m[:17] for m in markers] == ["severity-restore-"]
        elif name.startswith("bad"):
            assert t.incident.state == 3 and len(markers) == 1 and markers[0].startswith("transition-3-7-")
        elif name.startswith("inc"):
            assert markers == ["record-incomplete"]


def _every_note_is_true(world) -> None:
    for name, t in world.tracker.tickets.items():
        told = {p for people, _ in t.notified for p in people}
        markers = [n.marker for n in t.notes]
        for note in t.notes:
            if note.marker.startswith("escalation-L"):
                person = PEOPLE[int(note.marker[-1])]
                if "无法通知" in note.text:  # "could not notify": then they were not
                    assert person not in told, (name, note.text)
                elif "未能确认" not in note.text:  # not "could not confirm": then they were told
                    assert person in told, (name, note.text)
            elif note.marker.startswith("transition-"):
                if "本助手将状态改回" in note.text:  # "the escalator puts the state back"
                    assert t.incident.state == 3, (name, note.text)
                else:
                    assert t.incident.state == 7, (name, note.text)
                    assert "未能将状态改回" in note.text or "状态未改动" in note.text
            elif note.marker.startswith("severity-restore-") and not note.marker.endswith("-failed"):
                # "the escalator restores it": it did, or a second note says it could not
                assert t.incident.severity == 3 or f"{note.marker}-failed" in markers, (name, markers)
            elif note.marker.endswith("-failed"):
                assert "未能将事件分级恢复为" in note.text and t.incident.severity == 4
            elif note.marker == "problem-record":
                ref = note.text.split("已建立问题记录 ")[1].split("（")[0]
                assert any(f.ref == ref and name in f.linked_to for f in world.tracker.filed), note.text


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_refused_call_back_task_is_given_up_once_or_retried_within_its_attempts(world, caplog, answer):
    from tests.daemon.test_duty_runner import cst, settle
    caplog.set_level(logging.INFO, "escalator.daemon")
    config = make_config()
    duties = config.duties.model_copy(update={"enabled": True, "callbacks_task": config.duties.callbacks_task
                                              .model_copy(update={"enabled": True})})
    world.config = config.model_copy(update={"duties": duties, "roles": config.roles.model_copy(
        update={"default": {**ROLES, "service_desk": ["desk-chen"]}})})
    settle(world)
    world.tracker.add(incident("1", severity=3, contract="default", state=6, reported_at=cst("2026-03-03 10:00")))
    world.tracker.add(incident("2", severity=1))  # escalated meanwhile, whatever the task does
    world.clock.set(cst("2026-03-10 10:00"))  # week 10's call-backs are due (the week of 03-02)
    world.tracker.fail("create_task", answer, retry_after=90 if answer == 429 else None)
    daemon = world.daemon(poll_interval=600, rng=random.Random(5))
    for _ in range(20):
        daemon.cycle()
        world.clock.advance(timedelta(minutes=10))
    sent = world.tracker.count("create_task")
    refused = [e for e in world.journal.entries(ticket_id="duty") if e.outcome == "refused"]
    if answer in PERMANENT:
        assert sent == 1 and len(refused) == 1 and refused[0].detail["refusal"]["status"] == answer
    elif answer == "timeout":
        assert sent == 1 and refused == []  # landed: found by its label on the next attempt
        assert len([f for f in world.tracker.filed if "callbacks" in f.label]) == 1
    else:
        assert sent == DEFAULT_ATTEMPTS and len(refused) == 1
    assert len(events(caplog, "daemon.write-refused")) == len(refused)
    assert world.tracker.ticket("2").incident.escalation_level == 3
    assert "task" not in ONCE  # a task is found by its label before it is filed again, not sent once
