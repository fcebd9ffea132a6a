"""Writes the tracker stored but whose answer came too late, or never: never a second note or e-mail.

The sandbox stores each faulted note and notification, then answers only after the
client's read timeout fired (`LATE`), or closes the connection without an answer
(`DROP`) — what a real tracker behind a slow proxy or a reset connection does. The
daemon runs in this process, pass by pass on a manual clock, against the sandbox over
loopback; each test puts at least 20 such notes and 20 such notifications through it.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from connectors.factory import make_connector
from mapping.procedure import Procedure
from plugin.clock import ManualClock
from plugin.daemon import Daemon
from plugin.journal import Journal
from plugin.metrics import Metrics
from sandbox.demo import DEMO_START, JiraSite, Seeded, Site, ZammadSite
from sandbox.server import DROP, LATE, Fault

pytestmark = pytest.mark.e2e

#: incidents of severity 1: each reaches levels 1-3 in its first pass (three notes, three notifications)
TICKETS = 8
#: the client's read timeout: short, so a late answer costs little; the sandbox waits for it to fire
TIMEOUT = 0.3
#: ((method, path pattern) of the note, of the notification) on each tracker. An escalation's note
#: goes with its level in one write: Jira PUT /issue/{key} with `update.comment`, Zammad PUT
#: /tickets/{id} with an `article`.
ROUTES = {"jira": (("PUT", r"/issue/[^/]+$"), ("POST", r"/issue/[^/]+/notify$")),
          "zammad": (("PUT", r"/tickets/\d+$"), ("POST", r"/mentions$"))}


def _faults(kind: str, per_mode: int) -> list[Fault]:
    """The next `per_mode` notes answered late, then `per_mode` dropped; notifications the other way round."""
    (note_method, note), (notify_method, notify) = ROUTES[kind]
    return [Fault(note, method=note_method, times=per_mode, after_write=LATE),
            Fault(note, method=note_method, times=per_mode, after_write=DROP),
            Fault(notify, method=notify_method, times=per_mode, after_write=DROP),
            Fault(notify, method=notify_method, times=per_mode, after_write=LATE)]


@contextmanager
def in_process_daemon(site: Site, clock: ManualClock, sleeps: list[float] | None = None,
                      procedure: Procedure | None = None) -> Iterator[Daemon]:
    """The daemon `escalator run` would start on the site's config, in this process, on `clock`
    (with `procedure`, else the site's); the transport's back-off pauses are recorded in `sleeps`
    instead of slept."""
    config = site.config
    connector = make_connector(config.tracker_settings(), site.mapping, rng=random.Random(7),
                               sleep=(sleeps if sleeps is not None else []).append)
    journal = Journal(":memory:")
    try:
        yield Daemon(connector, procedure or site.procedure, config, journal, clock, mapping=site.mapping, metrics=Metrics(),
                     rng=random.Random(7))
    finally:
        journal.close()
        connector.close()


def _notifications(site: Site, s: Seeded) -> Counter:
    """What reached people, per ticket: Jira's notify calls by subject (one per level), Zammad's
    mentions by the agent mentioned. (A mention is idempotent on Zammad, `Mention.subscribe!`; what
    would tell people twice there is a second note, which the markers count.)"""
    sb = site.sandbox
    if site.kind == "jira":
        return Counter(n.subject for n in sb.notifications if n.issue_key == s.ref)
    with sb.lock:
        return Counter(m["user_id"] for m in sb.store.mentions.values() if m["mentionable_id"] == int(s.ticket_id))


@pytest.mark.parametrize("kind", ["jira", "zammad"])
def test_late_and_dropped_answers_never_double_a_note_or_a_notification(kind, tmp_path) -> None:
    clock = ManualClock(DEMO_START)
    builder = JiraSite if kind == "jira" else ZammadSite
    site = builder.build(tmp_path / kind, clock, tracker_options={"timeout": TIMEOUT})
    try:
        seeded = [site.create(f"core switch {n} down", 1, "24x7") for n in range(TICKETS)]
        (note_method, note_path), _ = ROUTES[kind]
        per_mode = TICKETS * 3 // 2  # 12 late and 12 dropped: every note and notification of the first pass
        for fault in _faults(kind, per_mode):
            site.sandbox.add_fault(fault)
        with in_process_daemon(site, clock) as daemon:
            for _ in range(6):
                daemon.run_pass(poll=True)
                clock.advance(timedelta(minutes=10))
        # every fault was spent: 24 notes (never re-sent by the transport: one note each) and 24
        # notification calls answered late or not at all (on Zammad a mention is re-sent, so fewer mentions)
        assert site.sandbox.faults == []
        assert sum(1 for c in site.sandbox.calls
                   if c.status == 0 and c.method == note_method and re.search(note_path, c.path)) == per_mode
        for s in seeded:
            markers = Counter(site.markers(s))
            assert markers == Counter(["escalation-L1", "escalation-L2", "escalation-L3"]), (s.ref, markers)
            sent = _notifications(site, s)
            assert len(sent) == 3 and set(sent.values()) == {1}, (s.ref, sent)
            assert site.read(s.ticket_id).escalation_level == 3
    finally:
        site.stop()
