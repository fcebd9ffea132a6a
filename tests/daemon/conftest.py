"""Fixtures for the daemon's unit tests: the real procedure and rules, a fake tracker,
a manual clock and an in-memory journal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mapping.incident import Incident, SeverityChange, StateChange
from mapping.loader import load_procedure
from mapping.procedure import Procedure, Warnings
from plugin.clock import ManualClock
from plugin.config import Config, RoleDirectory, Secret, TrackerConfig
from plugin.daemon import Daemon
from plugin.journal import Journal
from plugin.metrics import Metrics
from tests.daemon.fake import FakeConnector, FakeTracker

#: a Monday, 09:00 in Shanghai
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

FACTS = {"recorded_by": "desk1", "reporter": "Zhang San", "contact": "138-0000-0000",
         "occurred_at": "2026-03-02 08:50", "affected_ci": "core-switch-1", "symptom": "link down"}

#: a legal way from 待处理 to each state, all at the report time
_PATH = {1: (1,), 2: (1, 2), 3: (1, 2, 3), 4: (1, 2, 3, 4), 5: (1, 2, 3, 5), 6: (1, 2, 3, 6), 7: (1, 2, 3, 6, 7)}

ROLES = {"project_manager": ["pm-li"], "division_director": ["dd-wang"], "company_management": ["ceo-zhao"]}


def incident(ticket_id: str, *, severity: int = 2, contract: str | None = "24x7", state: int = 3,
             reported_at: datetime = T0, facts: dict | None = None, tracker: str = "jira", **extra) -> Incident:
    data = dict(
        tracker=tracker, id=ticket_id, ref=f"OPS-{ticket_id}", title=f"incident {ticket_id}", project="OPS",
        contract=contract, reported_at=reported_at, updated_at=reported_at, severity=severity, state=state,
        state_history=tuple(StateChange(at=reported_at, state=s) for s in _PATH[state]),
        severity_history=(SeverityChange(at=reported_at, by="desk1", severity=severity),),
        facts=dict(FACTS if facts is None else facts),
    )
    data.update(extra)
    return Incident(**data)


def make_config(tmp_path=None, **daemon) -> Config:
    return Config(tracker=TrackerConfig(kind="jira", url="http://jira.invalid", email="bot@example.com",
                                        token=Secret(env="UNUSED_TOKEN"), projects=["OPS"]),
                  roles=RoleDirectory(default=ROLES), daemon=daemon or {})


def strict_procedure(tmp_path) -> Procedure:
    """The default procedure with a `strict` contract (24x7) that puts illegal state changes back."""
    override = tmp_path / "procedure.yaml"
    override.write_text("contracts:\n  strict: {calendar: 24x7, enforce_transitions: true}\n", encoding="utf-8")
    return load_procedure(override)


def without_warnings(procedure: Procedure) -> Procedure:
    """`procedure` with every contract's warnings before a breach turned off."""
    off = Warnings(enabled=False)
    return replace(procedure, contracts={name: replace(c, warnings=off) for name, c in procedure.contracts.items()})


class World:
    """A fake tracker, a clock, and a way to start daemons on them."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        # the tests of escalations, restores and flags count every note and notification: they run
        # without warnings before a breach, which tests/daemon/test_warnings_acks.py turns on
        self.procedure = without_warnings(load_procedure())
        self.tracker = FakeTracker(self.clock)
        self.config = make_config()
        self.journal = Journal(":memory:")

    def daemon(self, *, journal: Journal | None = None, **kw) -> Daemon:
        kw.setdefault("metrics", Metrics())
        return Daemon(FakeConnector(self.tracker), self.procedure, self.config, journal or self.journal,
                      self.clock, **kw)

    def at(self, delta: timedelta) -> datetime:
        self.clock.set(T0 + delta)
        return self.clock.now()


@pytest.fixture
def world() -> World:
    return World()
