"""The daemon carries out the duties on a clock and files problem records, against the fake tracker.

A manual clock; the default contract (calendar cn-business: 09:00-12:00 and 13:00-18:00,
China's holidays and make-up days). 2026-03-02 is a Monday; the Spring Festival holidays
end on 2026-02-23 and Saturday 2026-02-28 is a make-up working day (调休).
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from mapping.duties import due_duties
from mapping.incident import EscalationRecord
from plugin.config import SmtpConfig
from plugin.journal import Journal
from tests.daemon.conftest import ROLES, T0, incident
from tests.daemon.fake import FakeTracker, SimulatedCrash

CST = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


@pytest.fixture
def duties_world(world):
    world.config = world.config.model_copy(update={
        "duties": world.config.duties.model_copy(update={"enabled": True}),
        "roles": world.config.roles.model_copy(update={"default": {**ROLES, "service_desk": ["desk-chen"]}}),
    })
    return world


def settle(world, journal: Journal | None = None) -> None:
    """Record every duty as done up to now, as a daemon that has been running would have
    (watching since now, at the latest)."""
    journal = journal or world.journal
    journal.start_watching(world.tracker.tracker, world.clock.now())
    for contract in world.procedure.contracts:
        for due in due_duties(world.procedure, contract, {}, world.clock.now()):
            journal.duty_done(world.tracker.tracker, due.duty_key, due.period_key, world.clock.now())


def duty_notes(world, ticket_id: str, duty: str = "") -> list:
    return [n for n in world.tracker.ticket(ticket_id).notes if n.marker.startswith(f"duty-{duty}")]


def events(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def test_digest_and_customer_update_fall_due_at_their_time_once(duties_world):
    w = duties_world
    w.tracker.names["pm-li"] = "Li Ming"  # the display name the tracker knows
    w.tracker.add(incident("1", severity=3, contract="default"))
    settle(w)
    daemon = w.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    assert duty_notes(w, "1") == []

    w.clock.set(cst("2026-03-02 16:59:59"))
    daemon.cycle()
    assert duty_notes(w, "1") == []

    w.clock.set(cst("2026-03-02 17:00:01"))
    sleep = daemon.cycle()
    (digest,) = duty_notes(w, "1", "pm_digest")
    assert digest.marker == "duty-pm_digest:default:2026-03-02:pm-li" and not digest.public
    assert "OPS-1" in digest.text and "未解决事件" in digest.text
    assert digest.text.splitlines()[1] == "致：Li Ming"  # whom it is for, by name
    assert [p for p, _ in w.tracker.ticket("1").notified if p == ["pm-li"]]
    # it sleeps until the customer update, half an hour later, not the day-long poll interval
    assert sleep == pytest.approx((cst("2026-03-02 17:30") - w.clock.now()).total_seconds())

    w.clock.set(cst("2026-03-02 17:30"))
    daemon.cycle()
    (update,) = duty_notes(w, "1", "customer_update")
    assert update.public and update.marker == "duty-customer_update:default:2026-03-02:1"
    assert update.text.startswith("【事件进展】OPS-1")

    notified = len(w.tracker.ticket("1").notified)
    for minute in (31, 45, 59):
        w.clock.set(cst(f"2026-03-02 17:{minute}"))
        daemon.cycle()
    assert len(duty_notes(w, "1")) == 2 and len(w.tracker.ticket("1").notified) == notified
    assert w.journal.duties_done("jira")["pm_digest:default"] == "pm_digest:default:2026-03-02"


def test_the_loop_wakes_for_a_duty_like_a_deadline(duties_world):
    w = duties_world
    settle(w)
    daemon = w.daemon(poll_interval=24 * 3600)
    # no ticket, no deadline: the next wake-up is the default contract's digest at 17:00
    assert daemon.cycle() == (cst("2026-03-02 17:00") - T0).total_seconds()


def test_a_duty_that_falls_due_during_a_pass_is_done_at_once_not_a_poll_later(duties_world):
    w = duties_world
    w.tracker.add(incident("1", severity=3, contract="default"))
    settle(w)
    daemon = w.daemon(poll_interval=24 * 3600)
    daemon.cycle()
    w.clock.set(cst("2026-03-02 17:00:01"))
    # the digest's note takes until after 17:30, when the customer update falls due
    w.tracker.before["add_note"] = lambda: w.clock.set(cst("2026-03-02 17:31"))
    assert daemon.cycle() == 0  # no sleep: the customer update is due now
    daemon.cycle()
    assert [n.marker for n in duty_notes(w, "1")] == [
        "duty-pm_digest:default:2026-03-02:pm-li", "duty-customer_update:default:2026-03-02:1"]


def test_no_duty_on_holidays_or_weekends_one_on_a_make_up_day(duties_world):
    w = duties_world
    start = cst("2026-02-13 18:00")  # the Friday before the Spring Festival holidays
    w.tracker.add(incident("1", severity=4, contract="default", reported_at=start))
    w.clock.set(start)
    settle(w)
    daemon = w.daemon(poll_interval=24 * 3600)
    while w.clock.now() < cst("2026-03-02 18:00"):
        daemon.cycle()
        w.clock.advance(H)
    days = [n.marker.split(":")[2] for n in duty_notes(w, "1", "pm_digest")]
    assert days == ["2026-02-14", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28",
                    "2026-03-02"]
    review_days = [e.detail["period"] for e in w.journal.entries() if e.kind == "duty-review_list"]
    assert review_days == []  # nothing pending review: an empty list is not sent


def _down_between(w, start: str, end: str):
    """Ticket 1 (severity 4) watched, then the tracker down from `start` to `end`, a pass an hour."""
    w.tracker.add(incident("1", severity=4, contract="default"))
    settle(w)
    daemon = w.daemon(poll_interval=3600)
    daemon.cycle()
    w.tracker.down = True
    w.clock.set(cst(start))
    while w.clock.now() < cst(end):
        daemon.cycle()
        w.clock.advance(H)
    return daemon


def test_an_outage_is_caught_up_once(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    daemon = _down_between(w, "2026-03-02 16:00", "2026-03-04 10:00")  # Monday 16:00 to Wednesday 10:00
    assert duty_notes(w, "1") == []
    w.tracker.down = False
    daemon.cycle()
    # the daily duties: only the latest missed day (Tuesday's digest supersedes Monday's)
    assert [n.marker for n in duty_notes(w, "1")] == ["duty-pm_digest:default:2026-03-03:pm-li",
                                                       "duty-customer_update:default:2026-03-03:1"]
    w.clock.advance(timedelta(minutes=5))
    daemon.cycle()
    assert len(duty_notes(w, "1")) == 2
    late = [r.fields for r in events(caplog, "daemon.duty-done")
            if (r.fields["duty"], r.fields["contract"]) == ("pm_digest", "default")]
    assert len(late) == 1 and late[0]["late_seconds"] == (cst("2026-03-04 10:00") - cst("2026-03-03 17:00")).total_seconds()


def test_a_lost_journal_costs_no_duplicate_on_the_tracker(duties_world):
    w = duties_world
    w.tracker.add(incident("1", severity=4, contract="default"))
    first = w.daemon(poll_interval=3600)
    first.cycle()  # a first run: Saturday's (make-up day) duties were before it watched, skipped
    w.clock.set(cst("2026-03-02 17:00"))
    first.cycle()
    before = [n.marker for n in duty_notes(w, "1")]
    assert before == ["duty-pm_digest:default:2026-03-02:pm-li"]
    notified = len(w.tracker.ticket("1").notified)

    w.clock.set(cst("2026-03-02 17:10"))
    fresh = Journal(":memory:")
    # the journal's first-pass time is lost with it: the config's `daemon.watch_from` still says since when
    w.config = w.config.model_copy(update={"daemon": w.config.daemon.model_copy(update={"watch_from": T0})})
    w.daemon(journal=fresh, poll_interval=3600).cycle()
    assert [n.marker for n in duty_notes(w, "1")] == before
    assert len(w.tracker.ticket("1").notified) == notified
    assert fresh.duties_done("jira")["pm_digest:default"] == "pm_digest:default:2026-03-02"


def test_a_dry_run_writes_nothing(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    w.tracker.add(incident("1", severity=1, contract="default"))
    settle(w)
    w.clock.set(cst("2026-03-02 17:00"))
    daemon = w.daemon(dry_run=True, poll_interval=3600)
    stats = daemon.run_once()
    daemon.cycle()
    assert w.tracker.ticket("1").notes == [] and w.tracker.filed == []
    assert w.journal.entries() == []
    assert w.journal.duties_done("jira")["pm_digest:default"] == "pm_digest:default:2026-02-28"  # as settled
    assert {"duty-delivered", "problem-created"} <= {e.kind for e in stats.events if e.dry_run}
    assert len(events(caplog, "daemon.would-deliver-duty")) == 1  # not again on the next cycle
    assert events(caplog, "daemon.would-create-problem")
    # nothing was done: the log does not say so
    assert events(caplog, "daemon.duty-done") == []
    assert [r.fields["period"] for r in events(caplog, "daemon.would-mark-duty-done")
            if r.fields["contract"] == "default"] == ["pm_digest:default:2026-03-02"]


def test_a_severity_1_incident_gets_one_linked_problem(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    w.tracker.add(incident("1", severity=1, contract="24x7"))
    w.tracker.add(incident("2", severity=3, contract="24x7"))
    settle(w)
    w.daemon().cycle()
    (problem,) = w.tracker.filed
    assert problem.linked_to == ["1"] and problem.spec.issue_type == "Problem"
    assert problem.title == "【问题】OPS-1 incident 1" and "重大事件（一级）" in problem.text
    assert [n.marker for n in w.tracker.ticket("1").notes if n.marker == "problem-record"] == ["problem-record"]
    assert len(events(caplog, "daemon.problem-created")) == 1
    # a restart with the journal lost: the tracker says the problem exists
    w.clock.advance(timedelta(minutes=1))
    w.daemon(journal=Journal(":memory:")).cycle()
    assert len(w.tracker.filed) == 1 and len(w.tracker.notes_with("1", "problem-record")) == 1


def test_a_crash_between_filing_and_linking_the_problem_files_it_once(duties_world):
    w = duties_world
    w.tracker.add(incident("1", severity=1, contract="24x7"))
    settle(w)
    w.tracker.crash_on["link"] = 1
    with pytest.raises(SimulatedCrash):
        w.daemon().cycle()
    assert len(w.tracker.filed) == 1 and w.tracker.filed[0].linked_to == []
    w.daemon(journal=Journal(":memory:")).cycle()
    assert len(w.tracker.filed) == 1 and w.tracker.filed[0].linked_to == ["1"]
    assert len(w.tracker.notes_with("1", "problem-record")) == 1


def test_resolved_with_root_cause_unknown_gets_a_problem_in_the_configured_project(duties_world):
    w = duties_world
    w.config = w.config.model_copy(update={"duties": w.config.duties.model_copy(update={
        "problems": w.config.duties.problems.model_copy(update={"project": "PRB", "link_type": "Relates"})})})
    w.tracker.add(incident("1", severity=3, contract="24x7", state=6, root_cause_unknown=True))
    w.tracker.add(incident("2", severity=3, contract="24x7", state=3, root_cause_unknown=True))  # not resolved
    settle(w)
    w.daemon().cycle()
    (problem,) = w.tracker.filed
    assert problem.linked_to == ["1"] and problem.spec.container == "PRB" and problem.spec.link_type == "Relates"
    assert "根本原因未知" in problem.text


def test_on_zammad_the_problem_goes_to_the_configured_group_not_the_jira_project(duties_world):
    w = duties_world
    w.tracker = FakeTracker(w.clock, tracker="zammad")
    w.config = w.config.model_copy(update={"duties": w.config.duties.model_copy(update={
        "problems": w.config.duties.problems.model_copy(update={"project": "PRB", "group": "Problems"})})})
    w.tracker.add(incident("1", severity=3, contract="24x7", state=6, root_cause_unknown=True, tracker="zammad"))
    settle(w)
    w.daemon().cycle()
    (problem,) = w.tracker.filed
    assert problem.spec.container == "Problems"


def test_the_weekly_callbacks_become_one_task_for_the_service_desk(duties_world):
    w = duties_world
    w.config = w.config.model_copy(update={"duties": w.config.duties.model_copy(update={
        "callbacks_task": w.config.duties.callbacks_task.model_copy(update={"enabled": True})})})
    settle(w)
    w.tracker.add(incident("1", severity=3, contract="default", state=6,
                           reported_at=cst("2026-03-03 10:00")))
    daemon = w.daemon(poll_interval=3600)
    w.clock.set(cst("2026-03-09 09:00:01"))  # the first working day after week 10
    daemon.cycle()
    (task,) = w.tracker.filed
    assert task.assignee == "desk-chen" and task.label == "incident-escalator-callbacks-default-2026-W10"
    assert task.title == "客户回访 2026-W10（默认合同）：1 起" and "OPS-1" in task.text and "138-0000-0000" in task.text
    assert [n.marker for n in duty_notes(w, "1", "callbacks")] == ["duty-callbacks:default:2026-W10:desk-chen"]
    # a restart with the journal lost: the task is found by its label
    w.daemon(journal=Journal(":memory:"), poll_interval=3600).cycle()
    assert len(w.tracker.filed) == 1


class _Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_email_delivery_goes_over_smtp_once(duties_world, smtp_server):
    inbox, port = smtp_server
    w = duties_world
    w.config = w.config.model_copy(update={
        "duties": w.config.duties.model_copy(update={"delivery": "email"}),
        "smtp": SmtpConfig(host="127.0.0.1", port=port, security="none", sender="escalator@example.com",
                           addresses={"pm-li": "li@example.com"}, timeout=5)})
    w.tracker.add(incident("1", severity=3, contract="default"))
    settle(w)
    daemon = w.daemon(poll_interval=3600)
    w.clock.set(cst("2026-03-02 17:00"))
    daemon.cycle()
    (mail,) = inbox.envelopes
    assert mail.rcpt_tos == ["li@example.com"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message["Subject"] == "未解决事件日报 2026-03-02：1 起"
    assert "OPS-1" in message.get_body().get_content()
    assert duty_notes(w, "1", "pm_digest") == []  # by e-mail, not on the ticket
    w.clock.set(cst("2026-03-02 17:30"))
    daemon.cycle()
    assert len(inbox.envelopes) == 1  # not again; the customer's update is public on the ticket
    assert [n.public for n in duty_notes(w, "1", "customer_update")] == [True]


def test_a_refused_email_leaves_the_period_open(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    w.config = w.config.model_copy(update={
        "duties": w.config.duties.model_copy(update={"delivery": "email"}),
        "smtp": SmtpConfig(host="127.0.0.1", port=1, security="none", sender="escalator@example.com",
                           addresses={"pm-li": "li@example.com"}, timeout=2)})
    w.tracker.add(incident("1", severity=3, contract="default"))
    settle(w)
    w.clock.set(cst("2026-03-02 17:00"))
    w.daemon(poll_interval=3600).cycle()
    assert events(caplog, "daemon.duty-failed")
    assert w.journal.duties_done("jira")["pm_digest:default"] != "pm_digest:default:2026-03-02"


def test_missed_weeks_of_call_backs_are_each_caught_up_once_oldest_first(duties_world):
    w = duties_world
    w.config = w.config.model_copy(update={"duties": w.config.duties.model_copy(update={
        "callbacks_task": w.config.duties.callbacks_task.model_copy(update={"enabled": True})})})
    settle(w)  # Monday of week 10: week 9's list is done
    w.tracker.add(incident("1", severity=3, contract="default", state=6, reported_at=cst("2026-03-03 10:00")))
    w.tracker.add(incident("2", severity=3, contract="default", state=7, reported_at=cst("2026-03-10 10:00")))
    w.clock.set(cst("2026-03-17 10:00"))  # nobody ran for two weeks
    daemon = w.daemon(poll_interval=3600)
    daemon.cycle()
    assert [(f.label, f.text.count("OPS-")) for f in w.tracker.filed] == [
        ("incident-escalator-callbacks-default-2026-W10", 1), ("incident-escalator-callbacks-default-2026-W11", 1)]
    assert "OPS-1" in w.tracker.filed[0].text and "OPS-2" in w.tracker.filed[1].text
    w.clock.advance(H)
    daemon.cycle()
    assert len(w.tracker.filed) == 2
    assert w.journal.duties_done("jira")["callbacks:default"] == "callbacks:default:2026-W11"


def test_long_resolved_incidents_leave_the_snapshot_cache(duties_world):
    w = duties_world
    w.tracker.add(incident("old", severity=3, contract="default", state=7, reported_at=cst("2025-10-06 10:00")))
    w.tracker.add(incident("recent", severity=3, contract="default", state=7, reported_at=cst("2026-02-24 10:00")))
    w.tracker.add(incident("open", severity=4, contract="default", reported_at=cst("2025-10-06 10:00")))
    daemon = w.daemon(poll_interval=3600)
    daemon.cycle()
    assert sorted(daemon.snapshots) == ["open", "recent"]


def test_a_refused_week_is_not_skipped_by_the_next_one(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    w.config = w.config.model_copy(update={"duties": w.config.duties.model_copy(update={
        "callbacks_task": w.config.duties.callbacks_task.model_copy(update={"enabled": True})})})
    settle(w)
    w.tracker.add(incident("1", severity=3, contract="default", state=6, reported_at=cst("2026-03-03 10:00")))
    w.tracker.add(incident("2", severity=3, contract="default", state=6, reported_at=cst("2026-03-10 10:00")))
    w.clock.set(cst("2026-03-17 10:00"))
    w.tracker.fail("create_task", 503, times=1)  # the tracker cannot take week 10's task for now
    daemon = w.daemon(poll_interval=3600)
    daemon.cycle()
    assert w.tracker.filed == [] and events(caplog, "daemon.duty-failed")
    assert w.journal.duties_done("jira")["callbacks:default"] == "callbacks:default:2026-W09"
    w.clock.advance(H)
    daemon.cycle()
    assert [f.label[-8:] for f in w.tracker.filed] == ["2026-W10", "2026-W11"]


def test_a_brand_new_install_skips_the_duties_due_before_it_watched(duties_world, caplog):
    caplog.set_level(logging.INFO, logger="escalator.daemon")
    w = duties_world
    w.clock.set(cst("2026-03-03 10:00"))  # first start ever: Tuesday morning
    w.tracker.add(incident("1", severity=4, contract="default", reported_at=cst("2026-03-03 09:30")))
    daemon = w.daemon(poll_interval=24 * 3600)
    sleep = daemon.cycle()
    # no digest nor public update for Monday, nor Tuesday's review list (09:00)
    assert duty_notes(w, "1") == [] and w.tracker.ticket("1").notified == []
    done = w.journal.duties_done("jira")
    assert done["pm_digest:default"] == "pm_digest:default:2026-03-02"
    assert done["customer_update:default"] == "customer_update:default:2026-03-02"
    skipped = {r.fields["period"]: r.fields["reason"] for r in events(caplog, "daemon.duty-skipped")}
    assert skipped["pm_digest:default:2026-03-02"] == "before the escalator watched"
    assert "review_list:default:2026-03-03" in skipped and events(caplog, "daemon.duty-done") == []
    # not left due: the loop sleeps until today's digest instead of waking at once
    assert sleep == (cst("2026-03-03 17:00") - w.clock.now()).total_seconds()
    w.clock.set(cst("2026-03-03 17:00"))
    daemon.cycle()
    assert [n.marker for n in duty_notes(w, "1")] == ["duty-pm_digest:default:2026-03-03:pm-li"]


def test_a_caught_up_digest_is_its_own_days_without_later_tickets(duties_world):
    w = duties_world
    daemon = _down_between(w, "2026-03-03 16:00", "2026-03-04 10:00")
    # reported Wednesday morning, after Tuesday's digest and update were due
    w.tracker.add(incident("2", severity=4, contract="default", reported_at=cst("2026-03-04 09:30")))
    w.tracker.down = False
    daemon.cycle()
    (digest,) = duty_notes(w, "1", "pm_digest")
    assert digest.marker == "duty-pm_digest:default:2026-03-03:pm-li"
    assert digest.text.startswith("未解决事件日报 2026-03-03：1 起") and "OPS-2" not in digest.text
    assert duty_notes(w, "2") == []


def test_the_digest_shows_the_escalation_written_in_the_same_pass(duties_world):
    w = duties_world
    settle(w)  # watching since Monday 09:00
    # reported on Saturday's make-up day; L1 and L2 done; L3 due Monday 10:00 (8 working hours)
    saturday = cst("2026-02-28 10:00")
    w.tracker.add(incident("1", severity=2, contract="default", reported_at=saturday, escalation_level=2,
                           escalations=tuple(EscalationRecord(at=saturday + n * H, by="escalator-bot", level=n)
                                             for n in (1, 2))))
    w.clock.set(cst("2026-03-02 17:00:01"))
    w.daemon(poll_interval=3600).cycle()  # one pass: reads it, escalates to L3, then the digest
    assert w.tracker.ticket("1").incident.escalation_level == 3
    (digest,) = duty_notes(w, "1", "pm_digest")
    assert "已升级至 L3" in digest.text and "已升级至 L2" not in digest.text
