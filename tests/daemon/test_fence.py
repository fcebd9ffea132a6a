"""The daemon under a fence (`plugin.leader`): a standby reads and writes nothing, a new
leader starts from the journal the last one left, and a lead lost mid-pass stops every
write right there — the next leader finishes, nothing twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from plugin.leader import Fenced, FencedConnector
from plugin.statuspage import StatusPage
from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)
LEVELS = ["escalation-L1", "escalation-L2", "escalation-L3"]
WRITES = {"notify", "add_note", "set_escalation_level", "set_severity", "set_state"}


class ScriptedFence:
    """A lease the test hands out and takes back; `lapse_after` checks, it lapses by itself."""

    poll_seconds = 5.0

    def __init__(self, epoch: int | None = None):
        self.epoch = epoch
        self.lapse_after: int | None = None
        self.checks = 0
        self.on_lapse = lambda: None

    def term(self) -> int | None:
        return self.epoch

    def check(self) -> None:
        self.checks += 1
        if self.lapse_after is not None and self.checks > self.lapse_after and self.epoch is not None:
            self.epoch = None
            self.on_lapse()
        if self.epoch is None:
            raise Fenced("jira: this daemon does not hold the lease now; it writes nothing more")

    def guard(self, connector):
        return FencedConnector(connector, self)

    def leader_text(self) -> str:
        return "scripted"


def markers(world, ticket_id: str) -> list[str]:
    return [n.marker for n in world.tracker.ticket(ticket_id).notes]


def writes(world) -> list[tuple[str, str]]:
    return [(name, ticket) for name, ticket in world.tracker.calls if name in WRITES]


def test_a_standby_reads_and_writes_nothing(world):
    world.tracker.add(incident("1", severity=1))  # three escalations due at once
    standby = world.daemon(fence=ScriptedFence())
    world.clock.advance(60)
    assert standby.cycle() == ScriptedFence.poll_seconds
    standby.wake("1")  # a webhook reached the standby: the leader's poll reads that ticket
    assert standby.cycle() == ScriptedFence.poll_seconds
    assert world.tracker.calls == [] and world.journal.entries() == []
    assert standby._requested == {}


def test_a_new_leader_starts_from_the_journal_the_last_one_left(world):
    world.tracker.add(incident("1", severity=2))  # 24x7: L1 at 4 h, L2 at 6 h, L3 at 8 h
    a_fence, b_fence = ScriptedFence(epoch=1), ScriptedFence()
    a, b = world.daemon(fence=a_fence), world.daemon(fence=b_fence)  # b read the journal empty
    a.cycle()
    world.at(4 * H + timedelta(minutes=1))
    a.cycle()
    assert markers(world, "1") == ["escalation-L1"]
    a_fence.epoch, b_fence.epoch = None, 2  # a's lease lapsed, b took it
    world.at(6 * H + timedelta(minutes=1))
    assert a.cycle() == ScriptedFence.poll_seconds
    calls = len(world.tracker.calls)
    read_from = []
    inner = b.ctx.connector._inner
    read_changed = inner.read_changed
    inner.read_changed = lambda cursor: (read_from.append(cursor.since), read_changed(cursor))[1]
    b.cycle()
    # b went on from where a's journal stood: a's cursor (no full read), a's schedule, a's watch_from
    assert read_from == [a.cursor.since] and a.cursor.since is not None
    assert b.watch_from == a.watch_from == T0
    assert markers(world, "1") == ["escalation-L1", "escalation-L2"]  # L1 not again
    assert [n for n, _ in world.tracker.calls[calls:]].count("add_note") == 1
    world.at(8 * H + timedelta(minutes=1))
    b.cycle()
    assert markers(world, "1") == LEVELS
    # each action recorded done once (a notification's own row is `<marker>|notify`)
    assert [e.marker for e in world.journal.entries() if e.outcome == "done" and "|" not in e.marker] == LEVELS


def test_a_lead_lost_mid_pass_stops_every_write_there(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    for ticket_id in "123":
        world.tracker.add(incident(ticket_id, severity=1))  # nine escalations due at once
    a_fence = ScriptedFence(epoch=1)
    a_fence.lapse_after = 4  # the lease lapses after four tracker writes
    at_lapse = []
    a_fence.on_lapse = lambda: at_lapse.append(len(writes(world)))
    a = world.daemon(fence=a_fence)
    world.clock.advance(60)
    a.cycle()
    assert at_lapse and 4 <= at_lapse[0] < 27
    assert len(writes(world)) == at_lapse[0]  # not one more after the lapse
    assert "daemon.fenced" in caplog.text
    done_by_a = [e for e in world.journal.entries() if "|" not in e.marker]
    assert len(done_by_a) < 9  # the lapse cut the pass short
    for entry in done_by_a:  # what is recorded was carried out whole: its note is on the ticket
        assert entry.marker in markers(world, entry.ticket_id)
    a.cycle()
    assert len(writes(world)) == at_lapse[0]  # and a stands by from then on
    b = world.daemon(fence=ScriptedFence(epoch=2))
    world.clock.advance(60)
    b.cycle()
    for ticket_id in "123":
        assert markers(world, ticket_id) == LEVELS  # each note once: b found what a had written
        assert world.tracker.ticket(ticket_id).incident.escalation_level == 3


def test_a_standby_is_alive_but_not_ready(world):
    standby = world.daemon(fence=ScriptedFence())
    world.clock.advance(60)
    standby.cycle()
    assert standby.health.healthy().ok and standby.health.ready() == standby.health.ready().__class__(
        False, "standing by: scripted leads")
    assert standby.health.snapshot()["standby"] == "scripted"
    standby.fence.epoch = 1  # it takes the lead: its first pass makes it ready
    standby.cycle()
    assert standby.health.ready().ok and standby.health.snapshot()["standby"] is None


def test_the_status_page_says_who_leads_on_the_standby_and_on_the_leader(world):
    standby = world.daemon(fence=ScriptedFence())
    standby.fence.leader_text = lambda: "db-host-b:4242 (epoch 7)"
    standby.cycle()
    page = StatusPage(standby)
    assert page.data()["leader"] == "db-host-b:4242 (epoch 7)"
    assert 'Leader: <span id="leader">db-host-b:4242 (epoch 7)</span>' in page.html()
    assert "not ready: standing by: db-host-b:4242 (epoch 7) leads" in page.html()
    standby.fence.epoch = 8  # it took the lead
    standby.fence.leader_text = lambda: "this daemon, db-host-a:17 (epoch 8)"
    standby.cycle()
    assert 'Leader: <span id="leader">this daemon, db-host-a:17 (epoch 8)</span>' in page.html()
