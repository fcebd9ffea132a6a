"""What the daemon holds while it reads many tickets: a ticket with nothing to do is judged and let
go as it streams in, the snapshots are kept only for the parts that list incidents (and then
compact), and the schedule goes to the journal in batches. The figures at 10,000 and 100,000
incidents are bench/bench_scale.py's."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from datetime import timedelta

from connectors.base import Cursor, ReadResult
from mapping.incident import EscalationRecord, Incident
from plugin.daemon import Daemon
from plugin.journal import Journal
from plugin.metrics import Metrics
from plugin.statuspage import StatusPage
from plugin.watched import Snapshots
from tests.daemon.conftest import T0, incident
from tests.daemon.fake import FakeConnector

H = timedelta(hours=1)


class CopyingConnector(FakeConnector):
    """Reads fresh copies (as a real connector translates each one anew) and keeps a weak reference to
    each: what is still alive when the read ends is what the daemon held on to."""

    def __init__(self, tracker) -> None:
        super().__init__(tracker)
        self.refs: dict[str, weakref.ref] = {}
        self.alive_at_end: list[str] = []

    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        for item in super().read_changed(cursor):
            copy = item.model_copy()
            self.refs[copy.id] = weakref.ref(copy)  # in the order read
            yield copy
            del copy
        self.alive_at_end = sorted(i for i, ref in self.refs.items() if ref() is not None)


def test_a_ticket_with_nothing_to_do_is_let_go_as_soon_as_it_is_read(world):
    # ticket 0 is due (24x7 severity 2, reported 5 h ago: the project manager's 4 h have passed);
    # the 40 others are not (reported now)
    world.tracker.add(incident("0", severity=2, reported_at=T0 - 5 * H))
    for i in range(1, 41):
        world.tracker.add(incident(str(i), severity=3))
    connector = CopyingConnector(world.tracker)
    daemon = Daemon(connector, world.procedure, world.config, world.journal, world.clock, metrics=Metrics())
    stats = daemon.run_pass(poll=True)
    assert stats.read == 41 and stats.acted == 1
    # the one with work waits for the pass's ordered carrying out; of the rest, only the last one read
    # (the loop's own variable when the read ends) is still alive
    last = list(connector.refs)[-1]
    assert last != "0" and connector.alive_at_end == sorted(["0", last])
    assert len(daemon.schedule) == 41
    assert world.tracker.ticket("0").incident.escalation_level == 1


def test_the_first_read_of_a_ticket_in_a_pass_is_the_one_acted_on(world):
    world.tracker.add(incident("1", severity=2, reported_at=T0 - 5 * H))
    daemon = world.daemon(poll_interval=3600)
    daemon.run_pass(poll=True)
    assert world.tracker.ticket("1").incident.escalation_level == 1
    # due again (level 2 at 6 h): re-read as due, and the poll brings it back changed; one escalation
    world.at(2 * H)
    stats = daemon.run_pass(poll=True)
    assert stats.read == 1 and stats.acted == 1
    assert [n.marker for n in world.tracker.ticket("1").notes] == ["escalation-L1", "escalation-L2"]


def test_no_snapshot_is_kept_when_nothing_lists_incidents(world):
    world.tracker.add(incident("1", severity=3))
    daemon = world.daemon()
    daemon.run_pass(poll=True)
    assert len(daemon.snapshots) == 0 and daemon.watched.open == {"1"}
    assert daemon.open_incidents() == []


def test_the_status_page_has_the_open_incidents_kept(world):
    world.tracker.add(incident("1", severity=3))
    world.tracker.add(incident("2", severity=3, state=7))  # archived: not open
    daemon = world.daemon()
    StatusPage(daemon)  # attached before the first pass, as `escalator run` does
    daemon.run_pass(poll=True)
    assert sorted(daemon.snapshots) == ["1", "2"]
    assert [i.id for i in daemon.open_incidents()] == ["1"]
    assert daemon.open_incidents()[0] == world.tracker.ticket("1").incident


def test_a_snapshot_comes_back_equal_and_takes_a_fraction_of_the_memory():
    snapshots = Snapshots()
    original = incident("7", severity=2, escalations=(EscalationRecord(at=T0 + H, by="pm-li", level=1),),
                        facts={"symptom": "链路中断 link down", "affected_ci": "core-switch-1"})
    snapshots["7"] = original
    back = snapshots["7"]
    assert isinstance(back, Incident) and back == original and back is not original
    assert back.reported_at == original.reported_at and back.reported_at.utcoffset() == timedelta(0)
    assert back.escalations[0].at == T0 + H and back.facts["symptom"] == "链路中断 link down"
    assert list(snapshots) == ["7"] and [i.id for i in snapshots.values()] == ["7"]
    assert len(snapshots._blobs["7"]) < len(original.model_dump_json()) / 2
    snapshots["8"] = incident("8", reported_at=T0 + 2 * H)
    assert [i.id for i in snapshots.reported_since(T0 + H)] == ["8"]  # the trend rules' recent ones
    assert [i.id for i in snapshots.reported_since(T0)] == ["7", "8"]
    snapshots.discard("7")
    snapshots.discard("7")  # gone already: nothing to do
    assert [i.id for i in snapshots.reported_since(T0)] == ["8"]
    assert "7" not in snapshots and snapshots.get("7") is None


class CountingJournal(Journal):
    def __init__(self) -> None:
        super().__init__(":memory:")
        self.batches: list[int] = []

    def set_due_many(self, tracker, rows) -> None:
        rows = list(rows)
        self.batches.append(len(rows))
        super().set_due_many(tracker, rows)


def test_the_schedule_goes_to_the_journal_in_batches(world, monkeypatch):
    monkeypatch.setattr(Daemon, "SAVE_EVERY", 10)
    for i in range(25):
        world.tracker.add(incident(str(i), severity=3))
    journal = CountingJournal()
    daemon = world.daemon(journal=journal)
    daemon.run_pass(poll=True)
    assert journal.batches == [10, 10, 5]  # one transaction a batch, the rest at the pass's end
    assert len(journal.schedule("jira")) == 25
