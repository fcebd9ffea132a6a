"""Jira Cloud: a read asks the bulk changelog only for issues changed after creation, a full
bulk request at a time, however many unchanged issues lie between them (sandbox, over loopback)."""

from __future__ import annotations

import math

import pytest

from connectors.base import Cursor
from connectors.jira import connector as jira_connector
from connectors.jira.factory import make_connector, make_provisioner
from mapping.incident import Incident
from plugin.config import load_config
from tests.jira.conftest import Sleeps, config_file, transport

pytestmark = pytest.mark.e2e

BULK = 3  # a bulk request's size, made small: the real one (1000) would need thousands of issues


@pytest.fixture
def conn(sandbox, tmp_path, monkeypatch, procedure):
    monkeypatch.setattr(jira_connector, "BULK_CHANGELOG_MAX", BULK)
    config = load_config(config_file(tmp_path, sandbox, monkeypatch))  # page size 2
    provisioner = make_provisioner(config.tracker_settings(), procedure)
    mapping, _ = provisioner.apply(provisioner.plan())
    return make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))


def _spy(conn) -> list[list[str]]:
    asked, changelogs = [], conn.client.changelogs

    def spying(ids, *args, **kw):
        asked.append(list(ids))
        return changelogs(ids, *args, **kw)

    conn.client.changelogs = spying
    return asked


@pytest.mark.parametrize("changed", [1, 3, 4, 7])
def test_changelog_calls_are_the_minimum_for_the_changed_issues(sandbox, conn, clock, changed) -> None:
    keys, every = [], 12 // changed
    for n in range(12):
        clock.tick(1)
        keys.append(sandbox.create_issue("SD", "Incident", f"Incident {n + 1}"))
        if n % every == 0 and n // every < changed:
            # changed right away: in `updated` order the changed issues stay spread over
            # the pages, between unchanged ones
            clock.tick(0.5)
            sandbox.move_issue(keys[-1], "已派单")
    asked = _spy(conn)

    results = list(conn.read_changed(Cursor()))

    assert sorted(r.ref for r in results) == sorted(keys) and all(isinstance(r, Incident) for r in results)
    assert len(asked) == math.ceil(changed / BULK)  # 12 issues over 6 pages would have cost 4 before
    assert all(len(ids) <= BULK for ids in asked) and sum(len(ids) for ids in asked) == changed
    moved = [r for r in results if r.state == 2]
    assert len(moved) == changed and all(len(r.state_history) == 2 for r in moved)


def test_no_changed_issue_means_no_changelog_call(sandbox, conn, clock) -> None:
    for n in range(7):
        clock.tick(1)
        sandbox.create_issue("SD", "Incident", f"Incident {n + 1}")
    asked = _spy(conn)
    assert len(list(conn.read_changed(Cursor()))) == 7
    assert asked == []
