"""The Prometheus text endpoint, scraped over HTTP: tickets watched is every open incident the
daemon knows (not only those with a deadline ahead), and the counters show 0 from the start."""

from __future__ import annotations

import re
import urllib.request
from datetime import timedelta

import pytest

from mapping.incident import StateChange
from plugin.journal import Journal
from plugin.metrics import Metrics
from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)


@pytest.fixture
def metrics():
    m = Metrics()
    port = m.serve(0)
    m.url = f"http://127.0.0.1:{port}/metrics"
    yield m
    m.stop()


def scrape(metrics) -> dict[str, float]:
    with urllib.request.urlopen(metrics.url, timeout=5) as answer:
        text = answer.read().decode("utf-8")
    return {name: float(value) for name, value in re.findall(r"^(escalator_\S+) (\S+)$", text, re.MULTILINE)}


def test_the_counters_exist_at_zero_before_anything_happened(world, metrics):
    world.daemon(metrics=metrics)
    seen = scrape(metrics)
    for series in ('escalator_tickets_unreadable_total{tracker="jira"}',
                   'escalator_action_errors_total{tracker="jira"}',
                   'escalator_api_errors_total{tracker="jira"}',
                   'escalator_severities_restored_total{tracker="jira"}',
                   'escalator_transitions_flagged_total{tracker="jira"}',
                   'escalator_escalations_total{level="1",tracker="jira"}',
                   'escalator_escalations_total{level="2",tracker="jira"}',
                   'escalator_escalations_total{level="3",tracker="jira"}',
                   'escalator_tickets_watched{tracker="jira"}'):
        assert seen.get(series) == 0.0, series
    assert 'escalator_escalations_total{level="4",tracker="jira"}' not in seen


def test_tickets_watched_counts_every_open_incident_known(world, metrics, tmp_path):
    # 120 open incidents whose every level is reported: no deadline ahead, watched all the same
    for i in range(120):
        world.tracker.add(incident(f"done-{i}", severity=2, escalation_level=3))
    for i in range(5):
        world.tracker.add(incident(f"new-{i}", severity=3))  # a deadline ahead
    for i in range(10):
        world.tracker.add(incident(f"old-{i}", severity=3, state=7))  # archived: not open
    world.tracker.add(incident("odd", severity=3))
    world.tracker.ticket("odd").unreadable = "severity option 10107 maps to no severity"
    path = tmp_path / "journal.sqlite"
    daemon = world.daemon(metrics=metrics, journal=Journal(path))
    daemon.cycle()
    assert len(daemon.schedule) == 5
    seen = scrape(metrics)
    assert seen['escalator_tickets_watched{tracker="jira"}'] == 125.0
    assert seen['escalator_tickets_unreadable_total{tracker="jira"}'] == 1.0
    # two are resolved (待审核): no longer open
    world.at(H)
    for i in range(2):
        cur = world.tracker.ticket(f"done-{i}").incident
        world.tracker.update(f"done-{i}", state=6,
                             state_history=(*cur.state_history, StateChange(at=T0 + H, by="eng-a", state=6)))
    daemon.cycle()
    assert scrape(metrics)['escalator_tickets_watched{tracker="jira"}'] == 123.0
    # a restart knows, before it reads again, the ones its journal holds a deadline for
    again = Metrics()
    world.daemon(metrics=again, journal=Journal(path))
    assert 'escalator_tickets_watched{tracker="jira"} 5.0' in again.text()
