"""Benchmark: `escalator status` on 10,000 open incidents, once the cache is warm.

A warm `status` makes one incremental read (the call count is checked end to end in
tests/e2e/test_status.py), loads the cached snapshots and builds the queue. This times
the two local parts on 10,000 open incidents with realistic state histories:

- loading the snapshots from the cache (`plugin.statuscache`), and
- building the sorted rows (`plugin.queue`: contract, restore rule, outlook per incident),

against a baseline measured in the same run: `mapping.decide.decide` over the same
incidents — what the daemon computes for them on a full pass anyway.

Targets: rows, and the cache load, each at most 2x the baseline (on the 2-core dev
machine, shared: load 2.0 s, rows 2.7 s, baseline 2.4 s for 10,000 — ratios 0.8 and 1.1).

    python3 bench/bench_status.py [--incidents 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.base import Cursor  # noqa: E402
from mapping.decide import decide  # noqa: E402
from mapping.fieldmap import CategoryMap, LevelMap, SeverityMap, TrackerMapping  # noqa: E402
from mapping.incident import Incident, SeverityChange, StateChange  # noqa: E402
from mapping.loader import load_procedure  # noqa: E402
from plugin.config import Config, RoleDirectory, Secret, TrackerConfig  # noqa: E402
from plugin.queue import QueueBuilder  # noqa: E402
from plugin.statuscache import SnapshotCache  # noqa: E402

NOW = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)  # a Wednesday, 14:00 in Shanghai
RATIO_TARGET = 2.0


def incidents(n: int, rng: random.Random) -> list[Incident]:
    out = []
    for i in range(n):
        reported = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 5))
        states, at = [StateChange(at=reported, state=1, by="desk")], reported
        for state in (2, 3, *rng.choice(((), (4, 3), (5, 3), (5,), (4,)))):
            at = min(at + timedelta(minutes=rng.choice((5, 30, 90, 300))), NOW)
            states.append(StateChange(at=at, state=state, by="eng"))
        severity = rng.choice((1, 2, 2, 3, 3, 3, 4, 4))
        out.append(Incident(tracker="jira", id=str(10000 + i), ref=f"OPS-{i}", title=f"incident {i}",
                            project=rng.choice(("OPS", "NOC")), reported_at=reported, updated_at=at,
                            severity=severity, state=states[-1].state, state_history=tuple(states),
                            severity_history=(SeverityChange(at=reported, by="desk", severity=severity),),
                            escalation_level=rng.choice((0, 0, 0, 1, 2))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    procedure = load_procedure()
    config = Config(tracker=TrackerConfig(kind="jira", url="http://jira.invalid", email="bot@example.com",
                                          token=Secret(env="UNUSED"), projects=["OPS", "NOC"]),
                    contracts={"by_project": {"NOC": "24x7"}},
                    roles=RoleDirectory(default={"project_manager": ["pm"], "division_director": ["dd"],
                                                 "company_management": ["ceo"]}))
    mapping = TrackerMapping(tracker="jira", base_url="http://jira.invalid", projects=["OPS", "NOC"],
                             severity=SeverityMap(field="cf1", values={1: "1", 2: "2", 3: "3", 4: "4"}),
                             category=CategoryMap(field="cf2", values={"1.2": "12"}),
                             escalation_level=LevelMap(field="cf3", values={0: "0", 1: "1", 2: "2", 3: "3"}),
                             states={s: [str(s)] for s in range(1, 8)})
    items = incidents(args.incidents, random.Random(args.seed))
    builder = QueueBuilder(procedure, config, mapping)

    with tempfile.TemporaryDirectory() as tmp:
        cache = SnapshotCache(Path(tmp) / "status.sqlite", "bench")
        cache.save(Cursor(since=NOW), {i.id: i for i in items}, full_at=NOW)
        started = time.perf_counter()
        _, loaded = cache.load(NOW)
        load_s = time.perf_counter() - started
        cache.close()
    assert len(loaded) == len(items)

    resolved = [i.model_copy(update={"contract": "24x7" if i.project == "NOC" else "default"}) for i in items]
    started = time.perf_counter()
    for item in resolved:
        decide(item, procedure, NOW, set())
    baseline_s = time.perf_counter() - started
    started = time.perf_counter()
    rows = builder.rows(loaded.values(), NOW)
    rows_s = time.perf_counter() - started

    ratio, load_ratio = rows_s / baseline_s, load_s / baseline_s
    print(f"{len(items)} open incidents, {len(rows)} rows")
    print(f"  baseline decide  {baseline_s:6.2f} s")
    print(f"  cache load       {load_s:6.2f} s  -> load/baseline {load_ratio:.2f} (target <= {RATIO_TARGET})")
    print(f"  rows (queue)     {rows_s:6.2f} s  -> rows/baseline {ratio:.2f} (target <= {RATIO_TARGET}), "
          f"{rows_s / len(items) * 1e6:.0f} µs per incident")
    ok = ratio <= RATIO_TARGET and load_ratio <= RATIO_TARGET
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
