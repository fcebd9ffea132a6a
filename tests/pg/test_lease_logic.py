"""The lease protocol of `plugin.leader`, on an injected clock and an in-memory lease table.

The table keeps the database's side: its own clock (`Db.now`, skewed from the daemons'
monotonic clocks on purpose — only durations on each side may matter), and the same
conditions as `plugin.journal_pg.PgLeaseStore`'s statements.
"""

from __future__ import annotations

import logging

import pytest

from plugin.leader import (
    Fenced,
    Grant,
    JournalUnreachable,
    Leadership,
    LeaseState,
    LeaseTiming,
    Sole,
)
from plugin.metrics import Metrics

LEASE = 12.0
T = LeaseTiming(LEASE)


class Time:
    """One real time line; each daemon reads it through its own monotonic offset."""

    def __init__(self) -> None:
        self.t = 1000.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def monotonic(self, offset: float = 0.0):
        return lambda: self.t + offset


class Db:
    """The lease rows, as PgLeaseStore's SQL treats them, on the database's clock."""

    def __init__(self, time: Time, skew: float = 3 * 3600.0):
        self.time = time
        self.skew = skew  # the database host's clock is hours off: it must not matter
        self.rows: dict[str, list] = {}  # tracker -> [holder, epoch, expires_at]
        self.down = False
        self.latency = 0.0  # real seconds each call takes, before the database acts
        self.calls: list[str] = []

    def now(self) -> float:
        return self.time.t + self.skew

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.down:
            raise JournalUnreachable("journal postgresql://db/escalator: cannot connect: Connection refused")
        self.time.advance(self.latency)

    def _state(self, tracker: str) -> LeaseState | None:
        row = self.rows.get(tracker)
        return LeaseState(row[0], row[1], row[2] - self.now()) if row else None

    def acquire(self, tracker: str, holder: str, lease: float):
        self._call("acquire")
        previous = self._state(tracker)
        if previous is None:
            self.rows[tracker] = [holder, 1, self.now() + lease]
        elif previous.holder == holder or previous.expires_in <= 0:
            self.rows[tracker] = [holder, previous.epoch + 1, self.now() + lease]
        else:
            return previous
        return Grant(self.rows[tracker][1], previous)

    def renew(self, tracker: str, holder: str, epoch: int, lease: float) -> bool:
        self._call("renew")
        row = self.rows.get(tracker)
        if row and row[0] == holder and row[1] == epoch and row[2] > self.now():
            row[2] = self.now() + lease
            return True
        return False

    def release(self, tracker: str, holder: str, epoch: int) -> None:
        self._call("release")
        row = self.rows.get(tracker)
        if row and row[0] == holder and row[1] == epoch:
            row[2] = self.now()

    def state(self, tracker: str) -> LeaseState | None:
        return self._state(tracker)


@pytest.fixture
def time_() -> Time:
    return Time()


@pytest.fixture
def db(time_) -> Db:
    return Db(time_)


def daemon(db: Db, time_: Time, name: str, offset: float = 0.0, **kw) -> Leadership:
    # each host's monotonic clock starts anywhere
    return Leadership(db, "jira", lease=LEASE, holder=name, monotonic=time_.monotonic(offset), **kw)


def test_the_first_daemon_leads_the_others_stand_by_and_say_who_leads(db, time_, caplog):
    caplog.set_level(logging.INFO, "escalator.leader")
    metrics = Metrics()
    a, b = daemon(db, time_, "host-a:1", metrics=metrics), daemon(db, time_, "host-b:2", offset=-500)
    assert a.step() == T.renew_every and a.term() == 1
    assert b.step() == T.poll and b.term() is None
    assert b.leader_text() == "host-a:1 (epoch 1)"
    events = [(r.event, r.fields.get("holder") or r.fields.get("leader")) for r in caplog.records]
    assert events == [("leader.elected", "host-a:1"), ("leader.standby", "host-a:1")]
    text = metrics.text()
    assert 'escalator_leader{tracker="jira"} 1.0' in text
    assert 'escalator_leader_epoch{tracker="jira"} 1.0' in text
    assert 'escalator_leader_takeovers_total{tracker="jira"} 1.0' in text


def test_a_leader_that_cannot_renew_stops_writing_before_its_lease_can_end(db, time_):
    a, b = daemon(db, time_, "a"), daemon(db, time_, "b", offset=77)
    a.step()
    b.step()
    db.down = True  # a cannot renew (b cannot look either)
    time_.advance(T.renew_every)
    a.step()  # fails: a still leads on its last renewal
    assert a.term() == 1
    time_.advance(LEASE - T.margin - T.renew_every - 0.001)
    a.check()  # the last instant it may write
    time_.advance(0.001)
    with pytest.raises(Fenced):
        a.check()
    assert a.term() is None
    # ... and at that instant the database still holds its lease for the whole margin
    db.down = False
    assert db.state("jira").expires_in == pytest.approx(T.margin)
    b.step()
    assert b.term() is None, "a standby took a lease that could still be in use"
    time_.advance(T.margin)
    b.step()
    assert b.term() == 2


def test_the_lease_is_counted_from_when_the_renewal_was_sent_not_answered(db, time_):
    a = daemon(db, time_, "a")
    a.step()
    db.latency = 2.0  # the renewal reaches the database 2 s after it was sent
    time_.advance(T.renew_every)
    sent = time_.t
    a.step()
    expires_db = db.rows["jira"][2] - db.skew  # on the real time line
    assert expires_db == pytest.approx(sent + 2.0 + LEASE)
    time_.advance(sent + LEASE - T.margin - time_.t - 0.001)
    assert a.term() == 1
    time_.advance(0.002)
    assert a.term() is None  # a full margin (plus the latency) before the database lets the lease go


def test_a_frozen_leader_finds_on_waking_that_it_may_not_write(db, time_, caplog):
    caplog.set_level(logging.INFO, "escalator.leader")
    a, b = daemon(db, time_, "a"), daemon(db, time_, "b")
    a.step()
    b.step()
    time_.advance(3 * LEASE)  # a is SIGSTOPped: no step, no write; b goes on looking
    for _ in range(3):
        b.step()
    assert b.term() == 2
    # SIGCONT: a's very next check, before anything else, refuses
    with pytest.raises(Fenced):
        a.check()
    assert any(r.event == "leader.lapsed" for r in caplog.records)
    a.step()  # its lease is b's now: it stands by
    assert a.term() is None and b.term() == 2
    assert db.rows["jira"][:2] == ["b", 2]


def test_a_lease_that_lapsed_here_but_not_there_is_taken_again_with_a_new_epoch(db, time_):
    a = daemon(db, time_, "a")
    a.step()
    time_.advance(LEASE - T.margin)  # no renewal step ran (a long pause of the heartbeat)
    assert a.term() is None
    a.step()  # the database still shows a's lease: a takes it again, as a new term
    assert a.term() == 2 and a.takeovers == 2


def test_a_renewal_after_a_takeover_is_refused_and_the_old_leader_stands_down(db, time_, caplog):
    caplog.set_level(logging.INFO, "escalator.leader")
    a = daemon(db, time_, "a")
    a.step()
    db.rows["jira"] = ["b", 2, db.now() + LEASE]  # b took it (a's heartbeat was late, its clock ran slow)
    a.step()
    assert a.term() is None
    assert [r.event for r in caplog.records][-1] == "leader.lost"


def test_a_clean_stop_hands_over_at_the_standbys_next_look(db, time_):
    a, b = daemon(db, time_, "a"), daemon(db, time_, "b")
    a.step()
    b.step()
    a.stop()
    assert a.term() is None
    b.step()
    assert b.term() == 2


@pytest.mark.parametrize("phase", [i / 10 for i in range(10)])
def test_a_standby_takes_over_within_the_lease_and_one_look_of_the_leaders_death(db, time_, phase):
    """The leader dies at any moment between two renewals, the standby's looks at any phase."""
    a, b = daemon(db, time_, "a"), daemon(db, time_, "b")
    a.step()
    time_.advance(phase * T.poll)
    b.step()
    next_a, next_b = T.renew_every - phase * T.poll, T.poll  # a's heartbeat and b's looks out of step
    died = time_.t + 2.5 * T.renew_every  # a dies after its second renewal, mid-interval
    while time_.t < died:
        step = min(next_a, next_b, died - time_.t)
        time_.advance(step)
        next_a, next_b = next_a - step, next_b - step
        if next_a <= 0:
            next_a = a.step()
        if next_b <= 0:
            next_b = b.step()
    while b.term() is None:
        time_.advance(next_b)
        next_b = b.step()
    assert time_.t - died <= T.takeover_bound + 1e-9
    # the standby saw the end coming: it looked right after it, not up to a poll interval late
    assert time_.t - died <= LEASE + 0.011


def test_a_guarded_connector_writes_only_while_the_lease_holds(db, time_):
    class Tracker:
        tracker = "jira"
        writes: list[str] = []

        def read_one(self, ticket_id):
            return ticket_id

        def add_note(self, incident, text, *, marker, public=False):
            self.writes.append(marker)
            return True

    a = daemon(db, time_, "a")
    guarded = a.guard(Tracker())
    with pytest.raises(Fenced):
        guarded.add_note("1", "text", marker="m0")  # not leading yet
    a.step()
    assert guarded.add_note("1", "text", marker="m1") and guarded.tracker == "jira"
    calls = []
    after_call = a.after_call(lambda *args: calls.append(args))
    slept = []
    after_sleep = a.after_sleep(slept.append)
    after_call("GET", "/x", 200)
    after_sleep(1.5)
    time_.advance(LEASE)
    assert guarded.read_one("1") == "1"  # reads are not writes
    with pytest.raises(Fenced):
        guarded.add_note("1", "text", marker="m2")
    with pytest.raises(Fenced):
        after_call("GET", "/y", 200)  # the metrics hook still counted the call
    with pytest.raises(Fenced):
        after_sleep(2.0)
    assert Tracker.writes == ["m1"] and len(calls) == 2 and slept == [1.5, 2.0]


def test_the_journal_unreachable_is_logged_once_and_its_return_once(db, time_, caplog):
    caplog.set_level(logging.INFO, "escalator.leader")
    b = daemon(db, time_, "b")
    db.down = True
    for _ in range(3):
        b.step()
    assert b.leader_text().startswith("unknown")
    db.down = False
    b.step()
    events = [r.event for r in caplog.records]
    assert events.count("leader.journal-unreachable") == 1 and events.count("leader.journal-recovered") == 1
    assert "password" not in caplog.text.lower() or "cannot connect" in caplog.text


def test_the_embedded_journal_always_leads():
    metrics = Metrics()
    sole = Sole(metrics, "zammad")
    sole.check()
    assert sole.term() == 0 and sole.guard(connector := object()) is connector
    assert 'escalator_leader{tracker="zammad"} 1.0' in metrics.text()
