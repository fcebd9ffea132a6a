"""Failover under fire, on both sandbox trackers: three daemons, one PostgreSQL journal.

    python3 bench/bench_failover.py [--incidents 30] [--kills 20] [--lease 4] [--seed 7]
                                    [--tracker jira|zammad|both]

Per tracker: a throwaway PostgreSQL server (`sandbox.postgres`), the sandbox mapped by
the provisioner, three `escalator run` processes sharing the journal; `--incidents`
incidents (24x7, severity 2) reported at random moments through the run, so their
deadlines fall due all through it, a sixth of them lowered with approval, a sixth
lowered without (restored by the escalator), a sixth suspended with a person's note; the
leader SIGKILLed `--kills` times at random (seeded) moments, a new process started each
time; once frozen with SIGSTOP past its lease and resumed with SIGCONT; the server
restarted once (`sandbox.failover` holds the harness and the checks).

Baseline, same run: the bound the lease protocol gives, lease + one standby poll
(`plugin.leader.LeaseTiming.takeover_bound`: the leader's lease runs out, then a standby
looks). Each takeover is measured on the database's clock, from the kill (or freeze) to
the new lease's `acquired_at`, and printed as a ratio of that bound.

**Targets:** 0 duplicate notes, 0 missed escalations, 0 lost human edits, 0 writes by the
resumed frozen leader; takeover p99 within the bound (ratio <= 1.0). Exit status 1 when a
target is missed. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.clock import AcceleratedClock  # noqa: E402
from plugin.leader import LeaseTiming  # noqa: E402
from sandbox.demo import DEMO_START, JiraSite, ZammadSite  # noqa: E402
from sandbox.failover import Failover, Plan  # noqa: E402
from sandbox.postgres import TempCluster  # noqa: E402


def run_one(kind: str, plan: Plan, folder: Path) -> bool:
    clock = AcceleratedClock(DEMO_START, plan.rate)
    builder = JiraSite if kind == "jira" else ZammadSite
    site = builder.build(folder / kind, clock, poll_interval=plan.poll_interval,
                         env=f"ESCALATOR_BENCH_{kind.upper()}_TOKEN", tracker_options={"timeout": 5.0})
    started = time.monotonic()
    with TempCluster() as cluster:
        url = cluster.create_database("bench")
        try:
            outcome = Failover(site, clock, cluster, url, plan, say=lambda line: print(f"  {line}")).run()
        finally:
            site.stop()
    bound = LeaseTiming(plan.lease).takeover_bound
    p99 = outcome.percentile(99)
    print(f"{kind}: {outcome.summary()} ({time.monotonic() - started:.0f} s)")
    print(f"{kind}: takeover bound (lease {plan.lease:g} s + poll {LeaseTiming(plan.lease).poll:g} s) "
          f"{bound:.2f} s; p99 {p99:.2f} s = {p99 / bound:.2f}x the bound; frozen leader said "
          f"{', '.join(outcome.stood_down) or 'nothing'}")
    for line in outcome.duplicates + outcome.missed + outcome.lost_edits + outcome.frozen_writes + outcome.problems:
        print(f"  MISS {line}")
    ok = outcome.clean and len(outcome.stood_down) == plan.freezes and p99 <= bound
    print(f"{kind}: {'targets met' if ok else 'TARGET MISSED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=30)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--lease", type=float, default=4.0, help="seconds (the daemon's default is 15)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tracker", choices=["jira", "zammad", "both"], default="both")
    args = parser.parse_args(argv)
    plan = Plan(incidents=args.incidents, kills=args.kills, freezes=1, pg_restarts=1, lease=args.lease,
                poll_interval=0.5, rate=3600.0, seed=args.seed, guard=180.0)
    kinds = ["jira", "zammad"] if args.tracker == "both" else [args.tracker]
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        results = [run_one(kind, plan, Path(tmp)) for kind in kinds]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
