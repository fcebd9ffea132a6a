"""Installed on a site with history: what happened before the escalator started to watch is
left alone (no note e-mailed to the watchers of every old ticket); what happens after is judged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mapping.incident import SeverityChange, StateChange
from plugin.config import ConfigError, load_config
from plugin.journal import Journal
from tests.daemon.conftest import T0, incident, make_config

H = timedelta(hours=1)


def _lower(world, ticket_id: str, at, by: str = "eng-a") -> None:
    world.tracker.update(ticket_id, severity=4, severity_history=(
        SeverityChange(at=T0, by="desk1", severity=3), SeverityChange(at=at, by=by, severity=4)))


def _archive(world, ticket_id: str, at, by: str = "eng-a") -> None:
    world.tracker.update(ticket_id, state=7, state_history=(
        *(StateChange(at=T0, state=s) for s in (1, 2, 3)), StateChange(at=at, by=by, state=7)))


def _old_site(world) -> None:
    """Before the escalator is installed: a lowering and an archive straight from 处理中."""
    world.tracker.add(incident("1", severity=3))
    world.tracker.add(incident("2", severity=3))
    world.at(H)
    _lower(world, "1", T0 + H)
    _archive(world, "2", T0 + H)


def test_history_before_the_first_pass_is_left_alone_and_what_follows_is_judged(world, tmp_path):
    _old_site(world)
    path = tmp_path / "journal.sqlite"
    world.at(2 * H)
    daemon = world.daemon(journal=Journal(path))
    daemon.cycle()
    assert world.tracker.ticket("1").notes == [] and world.tracker.ticket("1").incident.severity == 4
    assert world.tracker.ticket("2").notes == []
    assert not {"set_severity", "add_note"} & {name for name, _ in world.tracker.calls}
    assert Journal(path).watch_from("jira") == T0 + 2 * H
    # after the start: the same kinds of change are restored and flagged
    world.tracker.add(incident("3", severity=3))
    world.tracker.add(incident("4", severity=3))
    world.at(3 * H)
    _lower(world, "3", T0 + 3 * H)
    _archive(world, "4", T0 + 3 * H)
    world.at(3 * H + timedelta(seconds=2))
    daemon.cycle()
    assert world.tracker.ticket("3").incident.severity == 3
    assert [n.marker[:17] for n in world.tracker.ticket("3").notes] == ["severity-restore-"]
    assert [n.marker for n in world.tracker.ticket("4").notes] == [f"transition-3-7-{int((T0 + 3 * H).timestamp())}"]
    # the recorded start never moves: a restart (even with the cursor forgotten) keeps it
    world.at(5 * H)
    restarted = world.daemon(journal=Journal(path))
    assert restarted.watch_from == T0 + 2 * H
    restarted.cursor.since = None
    restarted.cycle()
    assert world.tracker.ticket("1").notes == [] and world.tracker.ticket("2").notes == []
    assert Journal(path).start_watching("jira", T0 + 9 * H) == T0 + 2 * H


def test_daemon_watch_from_in_the_config_reaches_back(world):
    _old_site(world)
    world.config = make_config(watch_from=T0)
    world.at(2 * H)
    world.daemon().cycle()
    assert world.tracker.ticket("1").incident.severity == 3
    assert [n.marker[:17] for n in world.tracker.ticket("1").notes] == ["severity-restore-"]
    assert [n.marker for n in world.tracker.ticket("2").notes] == [f"transition-3-7-{int((T0 + H).timestamp())}"]
    assert world.journal.watch_from("jira") == T0 + 2 * H  # the first pass is recorded all the same


def test_a_dry_run_records_no_start(world):
    _old_site(world)
    world.at(2 * H)
    daemon = world.daemon(dry_run=True)
    daemon.cycle()
    assert daemon.watch_from == T0 + 2 * H and world.journal.watch_from("jira") is None
    assert world.tracker.ticket("1").notes == [] and world.tracker.ticket("2").notes == []


def test_watch_from_without_a_time_zone_is_a_one_line_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("tracker: {kind: zammad, url: http://z, token: {env: T}}\n"
                    "daemon: {watch_from: '2026-03-01T09:00:00'}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}:2: daemon.watch_from: 2026-03-01T09:00:00 has no time zone: "
                                 "write an offset, e.g. 2026-03-01T09:00:00+08:00")
    path.write_text("tracker: {kind: zammad, url: http://z, token: {env: T}}\n"
                    "daemon: {watch_from: 2026-03-01T09:00:00+08:00}\n", encoding="utf-8")
    assert load_config(path).daemon.watch_from == T0 - timedelta(days=1)
