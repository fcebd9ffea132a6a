"""Failover end to end, on both sandbox trackers: three `escalator run` processes on one
PostgreSQL journal (the suite's own server), incidents falling due and a team editing
them all through the run, the leader killed (SIGKILL) at seeded random moments, frozen
past its lease (SIGSTOP, then SIGCONT), and the server restarted mid-run
(`sandbox.failover` says what each check reads on the tracker).

The seeded, smaller version of `bench/bench_failover.py` (twenty kills and the takeovers'
p99 are measured there): no duplicate note, no missed escalation, no lost human edit, and
the frozen leader stands down without a write.
"""

from __future__ import annotations

import pytest
import yaml

from plugin.clock import AcceleratedClock
from sandbox.demo import DEMO_START, JiraSite, ZammadSite
from sandbox.failover import Failover, Plan

pytestmark = pytest.mark.e2e

PLAN = Plan(incidents=8, kills=3, freezes=1, pg_restarts=1, lease=2.0, poll_interval=0.5, rate=3600.0, seed=12)


@pytest.fixture(params=["jira", "zammad"])
def site(request, tmp_path):
    clock = AcceleratedClock(DEMO_START, PLAN.rate)
    options = dict(poll_interval=PLAN.poll_interval, env=f"ESCALATOR_FAILOVER_{request.param.upper()}_TOKEN",
                   tracker_options={"timeout": 5.0})
    builder = JiraSite if request.param == "jira" else ZammadSite
    built = builder.build(tmp_path / request.param, clock, **options)
    # no warnings before the deadlines: whether one is written depends on when a daemon is up
    # (none after its deadline), and the notes are counted below
    (built.folder / "procedure.yaml").write_text(
        "contracts:\n  default: {warnings: {enabled: false}}\n  24x7: {warnings: {enabled: false}}\n", encoding="utf-8")
    data = yaml.safe_load(built.config_path.read_text(encoding="utf-8"))
    data["procedure"] = "procedure.yaml"
    built.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    yield built, clock
    built.stop()


def test_failover_writes_nothing_twice_misses_nothing_and_keeps_every_edit(site, pg_url, pg_cluster):
    site, clock = site
    run = Failover(site, clock, pg_cluster, pg_url, PLAN, say=print)
    outcome = run.run()
    print(outcome.summary())
    report = "\n".join(outcome.log)
    assert outcome.incidents == PLAN.incidents
    assert outcome.duplicates == [], report
    assert outcome.missed == [], report
    assert outcome.lost_edits == [], report
    assert outcome.frozen_writes == [], report
    assert len(outcome.stood_down) == PLAN.freezes, outcome.problems
    assert outcome.problems == [], "\n".join(outcome.problems)
    assert len(outcome.takeovers) == PLAN.kills + PLAN.freezes
    # every escalation of every incident is on the tracker (3 each, and a restore for each incident
    # lowered without approval), each once (no duplicates, above), besides the other notes
    assert outcome.notes >= 3 * PLAN.incidents + sum(1 for n in range(PLAN.incidents) if n % 6 == 3)
