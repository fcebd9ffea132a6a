"""Reaction to a person's change: with the tracker's webhooks, and with polling only, on both trackers.

    python3 bench/bench_reaction.py [--changes 100] [--poll-interval 5] [--tracker jira|zammad|both]

A deadline is known in advance; a person's change is not. This measures the time from a
person's change on the sandbox tracker — a severity lowered (3 → 4, no approval) or an
illegal state change (处理中 → 已归档) — to the daemon's note about it on the ticket, both
stamped by the sandbox's clock, which runs in real time here.

Per tracker, two runs on a bare sandbox mapped by `mapping apply` (the provisioner, as
`mapping apply --yes` runs it):
1. webhooks: `webhooks.public_url` names the in-process receiver, so apply registers the
   tracker's side (Jira: an admin webhook; Zammad: a webhook and its trigger) and the
   sandbox delivers on its own thread, signed; the daemon polls once an hour, so only a
   delivery can explain a reaction;
2. polling only: no webhook; the daemon polls every `--poll-interval` seconds.
The daemon runs in this process (the demo's `open_daemon`), on `--changes` incidents
(24x7, severity 3: no deadline comes during the run), and each incident gets one change, at
random gaps of 0.2-0.5 s (`GAP`), half of each kind. The baseline is the poll interval measured in the same run
(the median gap between the starts of two polls of the polling run): each reaction time is
printed as a ratio of it. Polling should answer in ~0.5× (p50) and ~1× (p99) of it.

**Target:** with webhooks, p99 ≤ 1 s on both trackers. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.cli.daemon import open_daemon  # noqa: E402
from plugin.clock import AcceleratedClock  # noqa: E402
from plugin.webhooks import WebhookReceiver  # noqa: E402
from sandbox.demo import DEMO_START, JiraSite, Seeded, Site, ZammadSite  # noqa: E402

TARGET_P99 = 1.0  # seconds, with webhooks
SECRET_ENV = "ESCALATOR_BENCH_HOOK_SECRET"
#: real seconds between two people's changes: apart enough that one reaction does not queue behind the
#: last (the daemon handles one ticket at a time), close enough to keep the run short
GAP = (0.2, 0.5)


class Run(NamedTuple):
    tracker: str
    mode: str
    latencies: list[float]
    poll_gaps: list[float]
    missing: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build(kind: str, folder: Path, clock: AcceleratedClock, *, poll_interval: float, port: int | None) -> Site:
    extra = None
    if port is not None:
        extra = {"webhooks": {"enabled": True, "listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}",
                              "secret": {"env": SECRET_ENV}}}
    env = f"ESCALATOR_BENCH_{kind.upper()}_TOKEN"
    if kind == "jira":
        return JiraSite.build(folder, clock, poll_interval=poll_interval, extra=extra, env=env)
    return ZammadSite.build(folder, clock, poll_interval=poll_interval, extra=extra, env=env)


def _reacted(site: Site, s: Seeded, kind: str) -> datetime | None:
    prefix = "severity-restore-" if kind == "lower" else "transition-3-7-"
    return next((at for marker, at in site.note_times(s) if marker.startswith(prefix)), None)


def run(kind: str, mode: str, changes: int, poll_interval: float, rng: random.Random) -> Run:
    clock = AcceleratedClock(DEMO_START, 1.0)  # real time: the sandbox's stamps are the stopwatch
    webhooks = mode == "webhooks"
    port = free_port() if webhooks else None
    with tempfile.TemporaryDirectory(prefix=f"bench-reaction-{kind}-") as tmp:
        site = _build(kind, Path(tmp), clock, poll_interval=3600.0 if webhooks else poll_interval, port=port)
        receiver = None
        try:
            if webhooks and not [c for c in site.changes if "webhook" in c]:
                raise SystemExit(f"{kind}: `mapping apply` registered no webhook: {site.changes}")
            with open_daemon(site.config, dry_run=False, clock=clock) as daemon:
                polls: list[float] = []
                reader = daemon.ctx.connector.read_changed

                def timed_read(cursor):  # the baseline: when each poll starts
                    polls.append(time.monotonic())
                    return reader(cursor)

                daemon.ctx.connector.read_changed = timed_read  # type: ignore[method-assign]
                if webhooks:
                    receiver = WebhookReceiver(os.environ[SECRET_ENV], lambda _t, ticket: daemon.wake(ticket),
                                               port=port or 0, trackers=(kind,))
                    receiver.start()
                tickets = [site.create(f"reaction {i}", 3, "24x7") for i in range(changes)]
                while site.sandbox.deliveries.pending:  # the filing's own deliveries, before the clock starts
                    time.sleep(0.01)
                thread = threading.Thread(target=daemon.run, name=f"daemon-{kind}", daemon=True)
                thread.start()
                while daemon.passes == 0:
                    time.sleep(0.01)
                done: list[tuple[Seeded, str, datetime]] = []
                for i, ticket in enumerate(rng.sample(tickets, len(tickets))):
                    time.sleep(rng.uniform(*GAP))
                    what = "lower" if i % 2 == 0 else "archive"
                    at = clock.now()
                    site.lower_severity(ticket, 4) if what == "lower" else site.archive(ticket)
                    done.append((ticket, what, at))
                end = time.monotonic() + (5.0 if webhooks else 2 * poll_interval + 5.0)
                while time.monotonic() < end and any(_reacted(site, t, w) is None for t, w, _ in done):
                    time.sleep(0.05)
                daemon.stop()
                thread.join(timeout=30)
            latencies = [(seen - at).total_seconds() for t, w, at in done if (seen := _reacted(site, t, w))]
            gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
            return Run(kind, mode, latencies, gaps, len(done) - len(latencies))
        finally:
            if receiver is not None:
                receiver.stop()
            site.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--tracker", choices=["jira", "zammad", "both"], default="both")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault(SECRET_ENV, "bench-reaction-secret")
    rng = random.Random(args.seed)
    ok = True
    for kind in (["jira", "zammad"] if args.tracker == "both" else [args.tracker]):
        runs = {mode: run(kind, mode, args.changes, args.poll_interval, rng) for mode in ("webhooks", "polling")}
        gaps = runs["polling"].poll_gaps
        interval = statistics.median(gaps) if gaps else float("nan")
        print(f"{kind}: poll interval measured {interval:.2f} s (configured {args.poll_interval:g} s, "
              f"{len(gaps)} gaps)")
        for mode, r in runs.items():
            if not r.latencies:
                print(f"  {mode:<9} no reaction at all ({r.missing} missing)")
                ok = False
                continue
            p50, p99 = statistics.median(r.latencies), r.pct(0.99)
            print(f"  {mode:<9} p50 {p50:6.3f} s = {p50 / interval:5.3f}× the poll interval, "
                  f"p99 {p99:6.3f} s = {p99 / interval:5.3f}×, max {max(r.latencies):.3f} s "
                  f"over {len(r.latencies)} changes" + (f", {r.missing} MISSING" if r.missing else ""))
        hooked = runs["webhooks"]
        met = bool(hooked.latencies) and hooked.missing == 0 and hooked.pct(0.99) <= TARGET_P99
        ok &= met and runs["polling"].missing == 0
        print(f"  target: with webhooks p99 ≤ {TARGET_P99:g} s -> {'MET' if met else 'NOT MET'}")
    print("all targets met" if ok else "a target was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
