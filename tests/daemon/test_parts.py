"""The daemon's parts on their own: clocks, journal, notes, metrics."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests

from connectors.base import Cursor, Person, plain
from mapping.actions import Escalate, FlagIncompleteRecord, RestoreSeverity
from mapping.fieldmap import Labels
from plugin import notes
from plugin.clock import AcceleratedClock, ManualClock, SystemClock, parse_clock
from plugin.journal import Journal
from plugin.metrics import Metrics
from tests.daemon.conftest import T0, incident


class RealTime:
    """Stands in for time.time: epoch seconds that move only when told."""

    def __init__(self) -> None:
        self.t = 1_772_413_200.0

    def __call__(self) -> float:
        return self.t


def test_accelerated_clock_spec_round_trips_so_two_processes_agree():
    real = RealTime()
    clock = AcceleratedClock(T0, 3600, anchor=real.t - 2, real=real)
    other = parse_clock(clock.spec())
    assert isinstance(other, AcceleratedClock)
    assert other.rate == 3600 and other.start == clock.start and other.anchor == clock.anchor
    other.real = real
    assert other.now() == clock.now() == T0 + timedelta(hours=2)
    real.t += 0.5
    assert other.now() == clock.now() == T0 + timedelta(hours=2.5)


def test_accelerated_clock_retime_and_jump_go_on_from_now():
    real = RealTime()
    clock = AcceleratedClock(T0, 1.0, real=real)
    clock.jump(T0 + timedelta(hours=4))
    real.t += 10
    assert clock.now() == T0 + timedelta(hours=4, seconds=10)
    clock.retime(7200)
    real.t += 0.5
    assert clock.rate == 7200 and clock.now() == T0 + timedelta(hours=5, seconds=10)


def test_accelerated_clock_waits_clock_seconds_in_real_time_and_wakes_on_the_event():
    clock = AcceleratedClock(T0, 3600)
    event = threading.Event()
    threading.Timer(0.05, event.set).start()
    started = time.monotonic()
    assert clock.wait(event, 3600 * 10) is True  # ten clock hours, cut short by the event
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("spec", ["fast", "accelerated", "accelerated:x:2026-03-02T09:00:00+08:00",
                                  "accelerated:3600:2026-03-02T09:00:00", "accelerated:0:2026-03-02T09:00:00+08:00",
                                  "accelerated:3600:yesterday"])
def test_bad_clock_specs_say_what_to_write(spec):
    with pytest.raises(ValueError, match="accelerated|time zone|positive"):
        parse_clock(spec)


def test_system_and_manual_clocks():
    assert isinstance(parse_clock(None), SystemClock) and isinstance(parse_clock("system"), SystemClock)
    assert parse_clock("system").now().tzinfo is not None
    manual = ManualClock(T0)
    assert manual.wait(threading.Event(), 90) is False and manual.now() == T0 + timedelta(seconds=90)


def test_journal_keeps_cursor_schedule_and_audit(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    cursor = Cursor()
    cursor.advance("10", T0)
    journal.save_cursor("jira", cursor)
    journal.set_due("jira", "10", "OPS-10", T0 + timedelta(hours=4))
    journal.set_due("jira", "11", "OPS-11", T0 + timedelta(hours=1))
    journal.set_due("jira", "12", "OPS-12", T0)
    journal.set_due("jira", "12", "OPS-12", None)
    journal.record("jira", "10", "OPS-10", "escalation-L1", "escalate", "done", T0, {"people": ["pm-li"]})
    journal.close()
    again = Journal(path)
    assert again.cursor("jira").since == T0 and again.cursor("zammad").since is None
    assert [t for _, t, _ in again.schedule("jira")] == ["11", "10"]
    [entry] = again.entries(ticket_id="10")
    assert (entry.marker, entry.outcome, entry.detail) == ("escalation-L1", "done", {"people": ["pm-li"]})


def test_a_pass_writes_its_schedule_in_one_transaction(world, tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    commits, alone, open_ = [], [], [False]

    def trace(sql: str) -> None:  # every statement the journal runs, as SQLite runs it
        if sql in ("BEGIN", "COMMIT"):
            open_[0] = sql == "BEGIN"
            if sql == "COMMIT":
                commits.append(sql)
        elif sql.startswith(("INSERT INTO schedule", "DELETE FROM schedule")) and not open_[0]:
            alone.append(sql)  # a schedule row committed on its own

    journal._db.set_trace_callback(trace)
    for i in range(50):
        world.tracker.add(incident(str(i), severity=3))
    world.daemon(journal=journal).cycle()
    assert len(journal.schedule("jira")) == 50
    # the schedule of 50 tickets is one transaction, not 50 commits
    assert alone == [] and len(commits) == 1
    assert Journal(tmp_path / "j.sqlite").schedule("jira") == journal.schedule("jira")
    # several rows in one call: new, moved and dropped together
    journal.set_due_many("jira", [("0", "OPS-0", None), ("1", "OPS-1", T0), ("new", "OPS-new", T0)])
    assert len(commits) == 2
    assert {t for _, t, _ in journal.schedule("jira")} == {str(i) for i in range(1, 50)} | {"new"}


def _escalate(**kw) -> Escalate:
    data = dict(level=2, role="division_director", deadline=T0 + timedelta(hours=6), reason="timetable", severity=2,
                contract="24x7", elapsed=timedelta(hours=6, minutes=5), allowed=timedelta(hours=6))
    data.update(kw)
    return Escalate(**data)


def test_escalation_note_names_level_rule_numbers_and_contract(world):
    text = plain(notes.escalation_note(_escalate(), incident("1"), world.procedure,
                                       T0 + timedelta(hours=6, minutes=5), [Person("dd-wang", "Wang Dan")]))
    assert "第2级" in text and "事业部总监（Wang Dan）" in text and "§5.2.2" in text
    assert "二级事件" in text and "《7×24 合同》" in text and "6小时（7×24）" in text and "已超时5分钟（7×24）" in text
    assert "2026-03-02 15:00（Asia/Shanghai）" in text
    assert text.endswith(notes.signature("zh"))


def test_restore_note_in_english_says_how_an_exception_is_recorded_on_zammad(world, tmp_path):
    from mapping.loader import load_procedure
    override = tmp_path / "p.yaml"
    override.write_text("contracts:\n  intl: {calendar: 24x7, language: en}\n", encoding="utf-8")
    procedure = load_procedure(override)
    action = RestoreSeverity(to=1, current=3, lowered_by="eng-a", lowered_by_name=None, lowered_at=T0)
    mapping = type("M", (), {"labels": Labels(approve_downgrade="downgrade-ok")})()
    text = plain(notes.restore_note(action, incident("1", tracker="zammad"), procedure, "intl", mapping))
    assert "eng-a lowered the severity from severity 1 to severity 3" in text
    assert "project manager" in text and "tag 'downgrade-ok'" in text and "§4.3.1.2" in text


def test_incomplete_note_lists_what_is_missing_by_name(world):
    text = notes.incomplete_note(FlagIncompleteRecord(missing=("contact", "affected_ci")), incident("1"),
                                 world.procedure, "default")
    assert "联系方式、受影响的配置项" in text and "§4.1.4" in text


def test_metrics_count_api_calls_by_tracker_and_serve_text():
    metrics = Metrics()
    hook = metrics.on_call("zammad")
    hook("GET", "/api/v1/tickets/1", 200)
    hook("PUT", "/api/v1/tickets/1", 503)
    hook("GET", "/api/v1/tickets/2", None)
    port = metrics.serve(0)
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        metrics.stop()
    assert 'escalator_api_calls_total{method="GET",status="2xx",tracker="zammad"} 1.0' in text
    assert 'escalator_api_errors_total{tracker="zammad"} 2.0' in text
    assert "/api/v1/tickets" not in text  # no path labels: ticket ids would make them unbounded


def test_every_write_has_a_stable_event_name(world, caplog):
    import logging
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1, facts={}))
    world.daemon().cycle()
    names = {r.event for r in caplog.records}
    assert {"daemon.escalated", "daemon.record-incomplete"} <= names
    assert all(r.fields["tracker"] == "jira" for r in caplog.records)


def test_schedule_keeps_the_earliest_deadline_first_and_stays_small():
    from plugin.schedule import Schedule
    schedule = Schedule()
    for i in range(100):
        for hours in (5, 3, 4):  # each ticket's deadline moves three times
            schedule.set(str(i), f"OPS-{i}", T0 + timedelta(hours=hours, minutes=i))
    schedule.set("0", "OPS-0", None)
    assert len(schedule) == 99
    assert schedule.next() == T0 + timedelta(hours=4, minutes=1)
    assert [t for _, t in schedule.due(T0 + timedelta(hours=4, minutes=2))] == ["1", "2"]
    assert schedule.heap_size() <= 2 * len(schedule) + 64


def test_a_manual_escalation_note_names_who_asked(world):
    from mapping.incident import ManualEscalationRequest
    asked = T0 + timedelta(hours=1)
    inc = incident("1", manual_requests=(ManualEscalationRequest(at=asked, by="desk1", by_name="Chen"),))
    text = plain(notes.escalation_note(_escalate(level=1, role="project_manager", reason="manual", deadline=asked),
                                       inc, world.procedure, asked + timedelta(seconds=5), [Person("pm-li")]))
    assert "依据§5.2.1，应Chen于 2026-03-02 10:00 的请求手动升级" in text
