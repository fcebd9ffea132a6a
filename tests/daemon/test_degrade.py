"""Degrading truthfully: what the tracker refused is said on the ticket, in the note's language, once."""

from __future__ import annotations

import logging
from datetime import timedelta

from mapping.incident import SeverityChange, StateChange
from mapping.loader import load_procedure
from plugin import notes
from tests.daemon.conftest import T0, incident, make_config, without_warnings

H = timedelta(hours=1)


def events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def _english(world, tmp_path, **contract):
    override = tmp_path / "procedure.yaml"
    extra = "".join(f", {k}: {v}" for k, v in contract.items())
    override.write_text(f"contracts:\n  intl: {{calendar: 24x7, language: en{extra}}}\n", encoding="utf-8")
    world.procedure = without_warnings(load_procedure(override))


def test_an_escalation_whose_notification_is_refused_still_writes_its_note_and_level(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    _english(world, tmp_path)
    world.tracker.add(incident("1", severity=2, contract="intl"))
    world.tracker.fail("notify", 400)  # Jira: the recipient is the calling user
    world.at(4 * H + timedelta(seconds=5))
    daemon = world.daemon()
    daemon.cycle()
    t = world.tracker.ticket("1")
    [note] = t.notes
    assert "Could not notify the project manager (pm-li): Jira refused, HTTP 400: The recipient is the " \
           "calling user." in note.text
    lines = note.text.splitlines()
    assert lines[lines.index(notes.signature("en")) - 1].startswith("Could not notify")  # the note's last line
    assert t.notified == [] and t.incident.escalation_level == 1
    [entry] = [e for e in world.journal.entries(ticket_id="1") if e.kind == "escalate"]
    assert entry.detail["notified"] is False and entry.detail["level_written"] is True
    assert entry.detail["failed"]["notify"].startswith("notify: permanent, HTTP 400")
    [refused] = events(caplog, "daemon.write-refused")
    assert refused.fields["write"] == "notify" and refused.fields["marker"] == "escalation-L1"
    assert 'escalator_writes_refused_total{tracker="jira",write="notify"} 1.0' in daemon.metrics.text()


def test_the_chinese_note_says_it_too(world):
    world.tracker.add(incident("1", severity=2))
    world.tracker.fail("notify", 403)  # outgoing mail is off
    world.at(4 * H + timedelta(seconds=5))
    world.daemon().cycle()
    [note] = world.tracker.ticket("1").notes
    assert "无法通知项目经理（pm-li）：Jira 拒绝（HTTP 403）：Outgoing mail is disabled。" in note.text


def test_a_notification_without_an_answer_is_not_sent_again_and_the_note_says_so(world, tmp_path):
    _english(world, tmp_path)
    world.tracker.add(incident("1", severity=2, contract="intl"))
    world.tracker.fail("notify", "timeout", times=1)  # sent, but the answer was lost
    world.at(4 * H + timedelta(seconds=5))
    daemon = world.daemon()
    daemon.cycle()
    world.at(6 * H + timedelta(seconds=5))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert [p for p, _ in t.notified] == [["pm-li"], ["dd-wang"]]  # once each, never twice
    assert "Could not confirm that the project manager (pm-li) was notified: Jira did not answer " \
           "(read timeout)." in t.notes[0].text
    assert "Could not" not in t.notes[1].text


def test_a_refused_put_back_is_never_announced_and_its_note_says_why(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    _english(world, tmp_path, enforce_transitions="true")
    world.config = make_config(watch_from=T0)
    world.tracker.add(incident("1", severity=3, contract="intl", state=4, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=T0 + H, by="eng-a", state=4))))
    world.tracker.update("1", state=1, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3, 4)), StateChange(at=T0 + 2 * H, by="eng-a", state=1)))
    world.tracker.fail("set_state", 422)  # Zammad: a pending state needs its pending_time
    world.at(2 * H + timedelta(seconds=5))
    daemon = world.daemon()
    daemon.cycle()
    t = world.tracker.ticket("1")
    [note] = t.notes
    assert t.incident.state == 1
    assert "puts the state back" not in note.text
    assert "It could not be put back to" in note.text and \
           "Jira refused, HTTP 422: Missing required value for field 'pending_time'!" in note.text
    for minutes in (1, 2, 30):  # never sent again, never reported again
        world.at(2 * H + timedelta(minutes=minutes))
        daemon.cycle()
    assert world.tracker.count("set_state") == 1 and len(events(caplog, "daemon.write-refused")) == 1
    assert len(world.tracker.ticket("1").notes) == 1


def test_a_put_back_whose_note_must_wait_lands_with_it_and_is_announced_as_done(world, tmp_path):
    _english(world, tmp_path, enforce_transitions="true")
    world.config = make_config(watch_from=T0)
    world.tracker.add(incident("1", severity=3, contract="intl"))
    world.tracker.update("1", state=7, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=T0 + H, by="eng-a", state=7)))
    world.tracker.fail("add_note", 503, times=1)
    world.at(H + timedelta(seconds=5))
    daemon = world.daemon()
    daemon.cycle()
    t = world.tracker.ticket("1")
    # the put-back and its note are one write: refused whole, both wait for the tracker
    assert t.incident.state == 7 and t.notes == []
    world.at(H + timedelta(minutes=5))
    daemon.cycle()
    t = world.tracker.ticket("1")
    [note] = t.notes
    assert t.incident.state == 3 and world.tracker.count("write") == 2
    assert "The escalator puts the state back to" in note.text
    assert world.tracker.count("set_state") == 1


def test_a_refused_restore_gets_a_second_note_saying_it_was_not_done(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.config = make_config(watch_from=T0)
    world.tracker.add(incident("1", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2), SeverityChange(at=T0 + H, by="eng-a", severity=4))))
    world.tracker.fail("set_severity", 400)
    world.at(H + timedelta(seconds=5))
    daemon = world.daemon()
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.severity == 4
    # the restore's note and its severity are one write, refused whole: no note claims the restore,
    # one says it could not be done
    [failed] = t.notes
    assert failed.marker.startswith("severity-restore-") and failed.marker.endswith("-failed")
    assert "本助手将其恢复为" not in failed.text
    assert failed.text.startswith("【分级未能恢复】未能将事件分级恢复为") and "Jira 拒绝（HTTP 400）" in failed.text
    for minutes in (2, 10):
        world.at(H + timedelta(minutes=minutes))
        world.tracker.update("1", title="a person edits the title")  # read again, and again
        daemon.cycle()
    # a person's edit re-arms the restore once per change; never a second note
    assert len(world.tracker.ticket("1").notes) == 1
    assert world.tracker.count("set_severity") <= 3


def test_a_digest_refused_on_one_ticket_still_reaches_the_others(world, caplog):
    from tests.daemon.test_duty_runner import ROLES, cst, settle
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.config = world.config.model_copy(update={
        "duties": world.config.duties.model_copy(update={"enabled": True}),
        "roles": world.config.roles.model_copy(update={"default": {**ROLES, "service_desk": ["desk-chen"]}})})
    for name in ("1", "2"):  # severity 4: no escalation due today, only the digest
        world.tracker.add(incident(name, severity=4, contract="default"))
    settle(world)
    world.tracker.fail("add_note", 403, ticket="1")  # the bot may not comment on ticket 1
    world.tracker.fail("notify", 503, times=1, ticket="2")  # and the digest's notification must wait once
    daemon = world.daemon(poll_interval=600)
    daemon.cycle()
    world.clock.set(cst("2026-03-02 17:00:01"))
    daemon.cycle()
    digest = [n for n in world.tracker.ticket("2").notes if n.marker.startswith("duty-pm_digest")]
    assert len(digest) == 1 and world.tracker.ticket("1").notes == []
    assert world.tracker.ticket("2").notified == []  # not yet: the period stays open
    world.clock.set(cst("2026-03-02 17:20"))
    daemon.cycle()
    assert [p for p, _ in world.tracker.ticket("2").notified] == [["pm-li"]]  # once
    world.clock.set(cst("2026-03-02 17:40"))
    daemon.cycle()
    assert [p for p, _ in world.tracker.ticket("2").notified if p == ["pm-li"]] == [["pm-li"]]
    digest_refused = [r for r in events(caplog, "daemon.write-refused") if r.fields["marker"].startswith("duty-pm")]
    assert [r.fields["ticket"] for r in digest_refused] == ["OPS-1"]  # refused once, never asked again
    assert world.journal.duties_done("jira")["pm_digest:default"] == "pm_digest:default:2026-03-02"


def test_a_refused_level_is_asked_again_only_after_a_person_changes_the_ticket(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=2))
    world.tracker.fail("set_escalation_level", 403, times=1)  # the field is off the edit screen
    world.at(4 * H + timedelta(seconds=5))
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    for minutes in (2, 3, 4):
        world.at(4 * H + timedelta(minutes=minutes))
        daemon.cycle()
    assert world.tracker.count("set_escalation_level") == 1
    assert world.tracker.ticket("1").incident.escalation_level == 0
    # the admin fixes the screen and a person touches the ticket: the level is asked for once more
    world.tracker.update("1", assignee="eng-b")
    world.at(4 * H + timedelta(minutes=5))
    daemon.cycle()
    t = world.tracker.ticket("1")
    assert t.incident.escalation_level == 1 and world.tracker.count("set_escalation_level") == 2
    assert [n.marker for n in t.notes] == ["escalation-L1"] and len(t.notified) == 1
