"""Deadline order under pressure (§4.2.3, the more urgent first): when more is due than can be done
at once, work goes by severity, then deadline — escalation by escalation, not ticket by ticket."""

from __future__ import annotations

from datetime import timedelta

from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)


def note_order(world) -> list[str]:
    """ticket:marker of every note written, in the order the tracker received them."""
    left = {k: [n.marker.removeprefix("escalation-") for n in t.notes] for k, t in world.tracker.tickets.items()}
    return [f"{k}:{left[k].pop(0)}" for name, k in world.tracker.calls if name == "add_note"]


def _three_tickets(world):
    # a: severity 2 reported at 09:00 — project manager due at 13:00, director at 15:00
    # b: severity 2 reported at 10:00 — project manager due at 14:00
    # c: severity 1 reported at 15:00 — every level due at once, the latest deadline of all
    world.tracker.add(incident("a", severity=2))
    world.tracker.add(incident("b", severity=2, reported_at=T0 + H))
    world.tracker.add(incident("c", severity=1, reported_at=T0 + 6 * H))


def test_one_read_severity_first_then_each_escalation_by_its_deadline(world):
    _three_tickets(world)
    world.at(6 * H + timedelta(minutes=1))
    world.daemon().cycle()
    # ticket by ticket (a's two levels, then b, then c, by each ticket's earliest deadline) would be
    # a:L1 a:L2 b:L1 c:...; the severity-1 incident comes first, then a's and b's levels by deadline
    assert note_order(world) == ["c:L1", "c:L2", "c:L3", "a:L1", "b:L1", "a:L2"]


def test_scheduled_deadlines_and_the_poll_share_one_order(world):
    world.tracker.add(incident("a", severity=2))
    world.tracker.add(incident("b", severity=2, reported_at=T0 + H))
    daemon = world.daemon(poll_interval=3600)
    daemon.cycle()  # a and b are scheduled (13:00, 14:00)
    world.at(6 * H)
    world.tracker.add(incident("c", severity=1, reported_at=T0 + 6 * H))  # new: only the poll brings it
    world.at(6 * H + timedelta(minutes=1))
    daemon.cycle()
    assert note_order(world) == ["c:L1", "c:L2", "c:L3", "a:L1", "b:L1", "a:L2"]


def test_a_restore_comes_before_the_escalations_counted_on_it(world):
    from mapping.incident import SeverityChange
    from tests.daemon.conftest import make_config
    world.config = make_config(watch_from=T0)
    world.tracker.add(incident("a", severity=2))
    # lowered 2 -> 4 at 09:30: restored to 2, so its project manager was due at 13:00
    world.tracker.add(incident("d", severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=2), SeverityChange(at=T0 + H / 2, by="eng-a", severity=4))))
    world.at(4 * H + timedelta(minutes=1))
    world.daemon().cycle()
    order = note_order(world)
    assert order[0].startswith("d:severity-restore-")
    assert order[1:] == ["a:L1", "d:L1"]  # same severity, same deadline: as read
