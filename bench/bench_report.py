"""A month of 10,000 incidents into the KPIs and the monthly service report 《服务月报》.

    python3 bench/bench_report.py [--incidents 10000] [--source sandbox|generated] [--seed 7]

`sandbox` (the default when the sandbox Jira is there): seeds the sandbox Jira Data
Center over loopback with N incidents reported through November 2026, most of them
dispatched, worked and resolved (so each has a changelog), reads them all back through
the Jira connector with a fresh cursor - what `escalator report monthly` does - then
computes the KPIs and renders the HTML. `generated`: builds the snapshots in memory
(realistic histories: dispatch, work, 暂停 detours, resolution, reopen, archive, group
hand-overs) and times only the KPIs and the rendering.

Baseline, same run: serialising every snapshot to JSON once (`model_dump_json`), the
cost of touching each incident's data one time. Target: the whole report (read +
KPIs + HTML) under 60 s. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mapping.incident import GroupChange, Incident, SeverityChange, StateChange  # noqa: E402
from mapping.loader import load_procedure  # noqa: E402
from plugin.reports.monthly import monthly_kpis, render_monthly  # noqa: E402

TARGET_S = 60.0
MONTH = "2026-11"
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 2026-11-01 00:00 in Asia/Shanghai
NOW = datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
TOKEN_ENV = "ESCALATOR_BENCH_JIRA_TOKEN"


def generated(n: int, seed: int, procedure) -> list[Incident]:
    rng = random.Random(seed)
    leaves = [c.code for c in procedure.all_categories() if not c.children]
    groups = ["service_desk", "onsite", "network", "server", "application", "vendor"]
    step = timedelta(days=30) / n
    out = []
    for i in range(n):
        reported = START + step * i
        t = reported
        states = [StateChange(at=t, state=1, by="desk")]
        group_history = [GroupChange(at=t, group="service_desk")]
        severity = rng.choices((1, 2, 3, 4), weights=(2, 10, 50, 38))[0]
        severities = [SeverityChange(at=t, severity=severity)]
        path = [2, 3]
        if rng.random() < 0.15:
            path += [5, 3]
        if rng.random() < 0.85:
            path += [6]
            if rng.random() < 0.1:
                path += [3, 6]
            if rng.random() < 0.6:
                path += [7]
        for state in path:
            t += timedelta(minutes=rng.randint(5, 60 * 30))
            states.append(StateChange(at=t, state=state, by="eng"))
            if state == 2:
                group_history.append(GroupChange(at=t, group=rng.choice(groups[1:3])))
            if state == 3 and rng.random() < 0.2:
                group_history.append(GroupChange(at=t, group=rng.choice(groups[2:])))
        if rng.random() < 0.05 and severity > 1:
            severities.append(SeverityChange(at=reported + timedelta(minutes=30), severity=severity - 1))
        out.append(Incident(
            tracker="jira", id=str(10000 + i), ref=f"SD-{i + 1}", title=f"Incident {i}", project="SD",
            reported_at=reported, updated_at=max(t, severities[-1].at), severity=severities[-1].severity,
            category=rng.choice(leaves), state=states[-1].state, group=group_history[-1].group,
            state_history=tuple(states), severity_history=tuple(severities), group_history=tuple(group_history),
            facts={"reporter": "user", "contact": "user@example.com"}))
    return out


def from_sandbox(n: int, seed: int, procedure) -> tuple[list[Incident], float, float]:
    """Seed the sandbox Jira DC; return what the connector reads, the seeding and the reading time."""
    from connectors.base import Cursor
    from connectors.jira.factory import make_connector
    from mapping.fieldmap import TrackerMapping
    from plugin.config import Config
    from sandbox.jira import JiraSandbox, Workflow, WorkflowTransition

    states = {1: ["Open"], 2: ["Dispatched"], 3: ["In Progress"], 4: ["Waiting for vendor"],
              5: ["Waiting for customer"], 6: ["Resolved"], 7: ["Closed"]}
    rng = random.Random(seed)
    clock_now = [START]
    sb = JiraSandbox("datacenter", token="bench-token", clock=lambda: clock_now[0])
    sb.add_status("Dispatched", "indeterminate", id="10100")
    sb.set_workflow("SD", Workflow("Open", [WorkflowTransition("11", "Dispatch", "Dispatched", ("Open",)),
                                            WorkflowTransition("21", "Start", "In Progress", ("Dispatched",)),
                                            WorkflowTransition("31", "Resolve", "Resolved", ("In Progress",)),
                                            WorkflowTransition("41", "Close", "Closed", ("Resolved",))]))
    with sb:
        config = Config.model_validate({"tracker": {
            "kind": "jira", "flavour": "datacenter", "url": sb.base_url, "token": {"env": TOKEN_ENV},
            "projects": ["SD"], "issue_types": ["Incident"], "states": states, "page_size": 100}})
        sev = sb.create_custom_field("Incident severity 事件级别", "select", searcher="multiselectsearcher")
        cat = sb.create_custom_field("Incident category 事件分类", "cascadingselect")
        lvl = sb.create_custom_field("Escalation level 升级级别", "select", searcher="multiselectsearcher")
        sev_ids, lvl_ids, cat_ids = (sb.add_options(sev, ["1", "2", "3", "4"]), sb.add_options(lvl, ["0", "1", "2", "3"]),
                                     sb.add_options(cat, ["1"]))
        statuses = {s.name: s.id for s in sb.model.statuses.values()}
        mapping = TrackerMapping(
            tracker="jira", base_url=sb.base_url, flavour="datacenter", projects=["SD"], issue_types=["10001"],
            severity={"field": sev, "values": dict(enumerate(sev_ids, start=1))},
            category={"field": cat, "values": {"1": cat_ids[0]}},
            escalation_level={"field": lvl, "values": dict(enumerate(lvl_ids))},
            states={k: [statuses[s] for s in v] for k, v in states.items()})
        t0 = time.perf_counter()
        step = timedelta(days=30) / n
        for i in range(n):
            clock_now[0] = START + step * i
            key = sb.create_issue("SD", "Incident", f"Incident {i}",
                                  fields={sev: {"id": sev_ids[rng.choices((0, 1, 2, 3), (2, 10, 50, 38))[0]]}})
            # the workflow through resolution, minutes apart, within this incident's slot
            for to in ("Dispatched", "In Progress", "Resolved", "Closed")[:rng.choice((0, 2, 3, 3, 4, 4))]:
                clock_now[0] += step / 5
                sb.move_issue(key, to)
        seeded = time.perf_counter() - t0
        connector = make_connector(config.tracker_settings(), mapping)
        t0 = time.perf_counter()
        read = [r for r in connector.read_changed(Cursor()) if isinstance(r, Incident)]
        reading = time.perf_counter() - t0
        connector.close()
    return read, seeded, reading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--source", choices=["sandbox", "generated"], default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault(TOKEN_ENV, "bench-token")
    procedure = load_procedure()
    source = args.source
    if source is None:
        try:
            import sandbox.jira  # noqa: F401
            source = "sandbox"
        except ImportError:
            source = "generated"
    seeded = reading = 0.0
    if source == "sandbox":
        incidents, seeded, reading = from_sandbox(args.incidents, args.seed, procedure)
    else:
        incidents = generated(args.incidents, args.seed, procedure)

    t0 = time.perf_counter()
    for incident in incidents:
        incident.model_dump_json()
    baseline = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = monthly_kpis(incidents, procedure, MONTH, NOW, first_line_groups=["service_desk", "onsite"])
    kpis = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = render_monthly(report, procedure, MONTH)
    rendering = time.perf_counter() - t0

    total = reading + kpis + rendering
    ok = total < TARGET_S and report.total == len(incidents) == args.incidents
    print(f"== monthly report of {len(incidents)} incidents ({source}), {report.total} in {MONTH}")
    if source == "sandbox":
        print(f"   seeding the sandbox Jira: {seeded:.1f} s (not counted)")
        print(f"   reading through the connector: {reading:.1f} s")
    print(f"   KPIs: {kpis:.2f} s ({kpis / baseline:.1f}x the baseline), HTML: {rendering * 1000:.0f} ms "
          f"({len(html) // 1024} KiB, {rendering / baseline:.2f}x)")
    print(f"   baseline (every snapshot to JSON once): {baseline:.2f} s")
    print(f"   total {total:.1f} s, target under {TARGET_S:.0f} s -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
