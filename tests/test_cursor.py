"""connectors.base.Cursor: what an incremental read remembers, and what it costs to remember it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from connectors.base import KEEP, Cursor

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_a_ticket_seen_at_the_same_update_is_not_new_and_a_newer_update_is() -> None:
    cursor = Cursor()
    cursor.advance("1", T0)
    assert not cursor.is_new("1", T0) and cursor.is_new("1", T0 + timedelta(seconds=1)) and cursor.is_new("2", T0)
    assert cursor.since == T0 and cursor.query_from() == T0 - timedelta(minutes=2)


def _crowd(cursor: Cursor, n: int = KEEP, at: datetime = T0) -> None:
    """`n` tickets seen at `at` (ids c0, c1, ...): enough to go past what is kept whatever its age."""
    for i in range(n):
        cursor.advance(f"c{i}", at)


def test_up_to_keep_tickets_are_remembered_whatever_their_age() -> None:
    """A read's second pass asks its first query again, while `since` has moved on: what the
    first pass yielded must still be known (else it is yielded twice)."""
    cursor = Cursor()
    cursor.advance("old", T0)
    _crowd(cursor, KEEP - 2, T0 + timedelta(minutes=1))
    cursor.advance("new", T0 + timedelta(hours=1))
    assert len(cursor.seen) == KEEP and not cursor.is_new("old", T0)


def test_past_keep_what_falls_out_of_the_overlap_window_is_forgotten_oldest_first() -> None:
    cursor = Cursor()
    cursor.advance("old", T0)
    cursor.advance("edge", T0 + timedelta(minutes=1))
    _crowd(cursor, KEEP, T0 + timedelta(minutes=4))  # floor: 4 - 2 (overlap) - 1 (margin) = T0 + 1 min
    assert "old" not in cursor.seen and "edge" in cursor.seen
    cursor.advance("newer", T0 + timedelta(minutes=4, seconds=1))
    assert "edge" not in cursor.seen and len(cursor.seen) == KEEP + 1  # all the rest share the window


def test_a_ticket_seen_again_later_is_not_forgotten_with_its_older_update() -> None:
    cursor = Cursor()
    cursor.advance("1", T0)
    cursor.advance("2", T0 + timedelta(minutes=1))
    cursor.advance("1", T0 + timedelta(minutes=3))
    _crowd(cursor, KEEP, T0 + timedelta(minutes=5))  # floor: T0 + 2 min
    assert cursor.seen["1"] == (T0 + timedelta(minutes=3)).isoformat() and "2" not in cursor.seen


def test_a_saved_cursor_comes_back_and_forgets_as_it_would_have() -> None:
    cursor = Cursor()
    cursor.advance("early", T0)
    _crowd(cursor, KEEP - 1, T0 + timedelta(minutes=3))
    back = Cursor.from_json(cursor.to_json())
    assert dict(back.seen) == dict(cursor.seen) and back.since == cursor.since
    back.advance("late", T0 + timedelta(minutes=3, seconds=1))  # floor: T0 + 0:01 - past KEEP, early goes
    assert "early" not in back.seen and len(back.seen) == KEEP


def _calls(n: int, spacing: timedelta) -> int:
    """Python and C function calls made by `n` advances (sys.setprofile counts them): operations,
    not time, so the figure is the same on any machine and under any load."""
    cursor = Cursor()
    stamps = [(str(i), T0 + spacing * i) for i in range(n)]
    count = 0

    def profile(frame, event, arg) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        for i, (ticket_id, at) in enumerate(stamps):
            cursor.advance(ticket_id, at)
            if count > 50 * (i + 1):
                break  # far past a constant per ticket: no need to wait for the rest
    finally:
        sys.setprofile(None)
    assert count <= 50 * (i + 1), f"{count} calls for the first {i + 1} advances: the cost per ticket grows"
    return count


def test_remembering_a_ticket_costs_the_same_however_many_share_the_window() -> None:
    """8,000 tickets updated within one overlap window (a bulk edit): the cost per ticket stays
    constant. Rebuilding `seen` on each advance past 1,000 entries makes it grow with the count
    (21.9 s for 100,000 tickets before this was fixed)."""
    crowded = _calls(8000, timedelta(milliseconds=10))
    half = _calls(4000, timedelta(milliseconds=10))
    assert crowded <= 2.2 * half  # linear: twice the tickets, twice the work


def test_forgetting_costs_a_constant_per_ticket_too() -> None:
    """Tickets a second apart over three hours: each is forgotten once, two minutes after."""
    _calls(10_000, timedelta(seconds=1))


def test_a_complete_read_moves_the_next_query_on_by_the_trackers_clock() -> None:
    # a burst at T0, then quiet: polls at T0+1 h ask from an hour on, not from the burst
    cursor = Cursor()
    cursor.advance("burst", T0)
    assert cursor.query_from() == T0 - timedelta(minutes=2)  # no read time known: from `since`
    cursor.read_at = T0 + timedelta(hours=1)
    assert cursor.query_from() == T0 + timedelta(hours=1) - timedelta(minutes=2)
    # a read time behind `since` (a change newer than the read began) does not hold the query back
    cursor.read_at = T0 - timedelta(minutes=10)
    assert cursor.query_from() == T0 - timedelta(minutes=2)
    # nothing read yet: everything, whatever the read time
    assert Cursor(read_at=T0).query_from() is None


def test_the_read_time_is_saved_copied_and_dropped_under_another_mapping() -> None:
    cursor = Cursor(mapping="m1")
    cursor.advance("1", T0)
    cursor.read_at = T0 + timedelta(minutes=5)
    back = Cursor.from_json(cursor.to_json())
    assert back.read_at == cursor.read_at and back.query_from() == cursor.query_from()
    assert Cursor.from_json({"since": T0.isoformat(), "seen": {}}).read_at is None  # saved before it was kept
    twin = cursor.copy()
    twin.read_at, twin.seen["2"] = T0 + timedelta(hours=1), T0.isoformat()
    assert cursor.read_at == T0 + timedelta(minutes=5) and "2" not in cursor.seen
    assert cursor.under("m2").read_at is None  # another mapping: a full read, from nothing
