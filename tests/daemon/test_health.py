"""Knowing the daemon is alive: a heartbeat per pass, outages restated at a bounded rate, a revoked
token retried with back-off rather than an exit, and health/readiness that follow all of it."""

from __future__ import annotations

import logging
from datetime import timedelta

from tests.daemon.conftest import T0, incident

H = timedelta(hours=1)



def revoke(world) -> None:
    """The token is refused (401) on every read."""
    world.tracker.fail("search", 401)
    world.tracker.fail("read_one", 401)


def events(caplog, *names: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) in names]


def test_one_heartbeat_line_per_pass_says_what_it_did_and_what_comes_next(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1))  # three escalations due at once
    world.tracker.add(incident("2", severity=2))  # project manager due at T0 + 4 h (24x7)
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    [beat] = events(caplog, "daemon.pass")
    assert beat.levelno == logging.INFO
    assert beat.fields == {"tracker": "jira", "read": 2, "due": 3, "done": 3, "refused": 0, "unreadable": 0,
                           "watched": 2, "next_deadline": (T0 + 4 * H).isoformat()}
    world.at(timedelta(minutes=1))
    daemon.cycle()
    assert len(events(caplog, "daemon.pass")) == 2


def test_a_refused_write_is_counted_in_the_heartbeat(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1", severity=1))
    world.tracker.fail("set_escalation_level", 403, times=1)
    world.daemon().cycle()
    [beat] = events(caplog, "daemon.pass")
    assert beat.fields["refused"] == 1 and beat.fields["due"] == 3


def test_an_outage_is_restated_with_its_length_at_a_bounded_rate(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1"))
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    world.tracker.down = True
    for minute in range(1, 32):  # a failed pass every clock minute for half an hour
        world.at(timedelta(minutes=minute))
        daemon.cycle()
    lines = events(caplog, "daemon.tracker-unreachable", "daemon.outage-continues")
    assert [r.event for r in lines] == ["daemon.tracker-unreachable"] + ["daemon.outage-continues"] * 6
    assert [r.fields["down_for"] for r in lines] == ["0 s", "5 min", "10 min", "15 min", "20 min", "25 min",
                                                     "30 min"]
    assert all(r.levelno == logging.WARNING and "connection failed" in r.fields["error"] for r in lines)
    world.tracker.down = False
    world.at(timedelta(minutes=33))
    daemon.cycle()
    [recovered] = events(caplog, "daemon.tracker-recovered")
    assert recovered.fields["down_for"] == "32 min" and recovered.fields["outage"] == "unreachable"


def test_a_revoked_token_is_logged_and_retried_with_back_off_not_an_exit(world, caplog):
    caplog.set_level(logging.INFO, "escalator.daemon")
    world.tracker.add(incident("1"))
    daemon = world.daemon(poll_interval=60)
    daemon.cycle()
    assert daemon.health.healthy().ok and daemon.health.ready().ok
    revoke(world)
    world.at(timedelta(minutes=1))  # the next poll
    waits = [daemon.cycle() for _ in range(8)]  # no exception: it goes on
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and max(waits) == daemon.BACKOFF_MAX
    [refused] = events(caplog, "daemon.tracker-refused")
    assert refused.levelno == logging.ERROR and "HTTP 401" in refused.fields["error"]
    assert "tracker.token" in refused.fields["hint"]
    healthy = daemon.health.healthy()
    assert not healthy.ok and "refuses the escalator" in healthy.reason
    assert not daemon.health.ready().ok

    world.tracker.faults.clear()  # a new token (or the permission given back)
    daemon.cycle()
    assert [r.fields["outage"] for r in events(caplog, "daemon.tracker-recovered")] == ["refused"]
    assert daemon.health.healthy().ok and daemon.health.ready().ok


def test_health_turns_red_when_passes_stop_and_green_when_they_resume(world):
    world.tracker.add(incident("1"))
    daemon = world.daemon(poll_interval=60)  # bound: three poll intervals, 180 s
    assert daemon.health.healthy().ok and not daemon.health.ready().ok  # starting: no pass yet
    daemon.cycle()
    world.at(timedelta(seconds=179))
    assert daemon.health.healthy().ok
    world.at(timedelta(seconds=181))
    verdict = daemon.health.healthy()
    assert not verdict.ok and verdict.reason == "last pass 3 min ago, more than 3 min"
    daemon.cycle()
    assert daemon.health.healthy().ok


def test_the_bound_is_configurable(world):
    world.config = world.config.model_copy(update={"status_page": world.config.status_page.model_copy(
        update={"max_pass_age": 30.0})})
    daemon = world.daemon()
    daemon.cycle()
    world.at(timedelta(seconds=31))
    assert not daemon.health.healthy().ok
