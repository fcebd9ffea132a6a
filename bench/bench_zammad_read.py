"""Benchmark: reading Zammad tickets — calls made against the minimum, and time against raw HTTP.

Seeds the sandbox Zammad (sandbox/zammad/) with N open tickets in the watched
group, maps the procedure with the provisioner, then measures with a fresh connector:

1. a full read (fresh cursor): search calls against ⌈N / 200⌉ and history calls against N;
2. an incremental read with nothing changed: calls against 1;
3. an incremental read after K tickets changed: calls against 1 search + K history;
4. time: the full read against a baseline measured in the same run — the same search
   pages and history calls made with the bare HTTP client, without translation.

Targets (exit status 1 when one is missed): search calls at most ⌈N / 200⌉ + 1 (Zammad
answers no total, so a last page that is exactly full needs one more, empty, page to
know it was the last), exactly N history calls, and one call for the quiet read.

Not collected by pytest. Run: `python3 bench/bench_zammad_read.py [N]` (default 10,000).
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from connectors.base import Cursor
from connectors.http import HttpClient
from connectors.provisioning import ProvisionSettings
from connectors.zammad.client import (
    AUTH_HINT,
    MAX_SEARCH_PAGE,
    ZammadClient,
    auth_headers,
    search_condition,
)
from connectors.zammad.connector import ZammadConnector
from connectors.zammad.provision import ZammadProvisioner
from mapping.incident import Incident
from mapping.loader import load_procedure
from sandbox.zammad import ZammadSandbox

TOKEN = "bench-zammad-token"
CHANGED = 25


class Clock:
    """Fixed start; every reading a second later, so tickets get distinct `updated_at`."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _client(base_url: str, calls: Counter) -> ZammadClient:
    def on_call(method: str, path: str, status: int | None) -> None:
        kind = "search" if path.endswith("/tickets/search") else "history" if "/ticket_history/" in path else path
        calls[kind] += 1

    return ZammadClient(HttpClient(base_url, tracker="zammad", headers=auth_headers(TOKEN, "token", None),
                                   secrets=[TOKEN], auth_hint=AUTH_HINT, on_call=on_call))


def main(n: int) -> int:
    procedure = load_procedure()
    box = ZammadSandbox(token=TOKEN, clock=Clock(), demo_ticket=False)
    box.add_user("cust@example.com", firstname="Cora", lastname="Customer", roles=["Customer"])
    with box:
        setup_calls: Counter = Counter()
        provisioner = ZammadProvisioner(_client(box.base_url, setup_calls), procedure,
                                        ProvisionSettings(projects=["Users"]), base_url=box.base_url)
        mapping, _ = provisioner.apply(provisioner.plan())
        t0 = time.perf_counter()
        for i in range(n):
            box.add_ticket(f"Incident {i}", customer="cust@example.com", state="open",
                           incident_severity=str(1 + i % 4), incident_category="1.2",
                           incident_escalation_level="0")
        print(f"seeded {n} open tickets in {time.perf_counter() - t0:.1f}s")

        calls: Counter = Counter()
        connector = ZammadConnector(_client(box.base_url, calls), mapping, projects=["Users"],
                                    page_size=MAX_SEARCH_PAGE)
        cursor = Cursor()
        t0 = time.perf_counter()
        results = list(connector.read_changed(cursor))
        full_time = time.perf_counter() - t0
        incidents = sum(isinstance(r, Incident) for r in results)
        min_search = math.ceil(n / MAX_SEARCH_PAGE)
        made = calls["search"] + calls["history"]
        other = sum(v for k, v in calls.items() if k not in ("search", "history"))
        print(f"full read: {len(results)} tickets ({incidents} incidents) in {full_time:.1f}s")
        print(f"  search calls  {calls['search']:>6}  minimum {min_search:>6}  ratio {calls['search'] / min_search:.3f}")
        print(f"  history calls {calls['history']:>6}  minimum {n:>6}  ratio {calls['history'] / n:.3f}")
        print(f"  search+history {made:>5}  minimum {min_search + n:>6}  ratio {made / (min_search + n):.4f}")
        print(f"  look-ups (states, groups; once per connector): {other}")

        missed = []
        if calls["search"] > min_search + 1:
            missed.append("search calls")
        if calls["history"] != n:
            missed.append("history calls")

        calls.clear()
        quiet = list(connector.read_changed(cursor))
        total = sum(calls.values())
        if total != 1:
            missed.append("quiet read")
        print(f"incremental read, nothing changed: {len(quiet)} tickets, {total} call(s), target 1, "
              f"ratio {total / 1:.1f}")

        for tid in list(box.store.tickets)[:CHANGED]:
            box.update_ticket(tid, by="admin@example.com", incident_escalation_level="1")
        calls.clear()
        changed = list(connector.read_changed(cursor))
        total = sum(calls.values())
        print(f"incremental read, {CHANGED} changed: {len(changed)} tickets, {total} calls, "
              f"minimum {1 + CHANGED}, ratio {total / (1 + CHANGED):.2f}")

        # baseline: the same HTTP calls, bare, no translation
        base_calls: Counter = Counter()
        raw = _client(box.base_url, base_calls)
        condition = search_condition(None, [1])
        t0 = time.perf_counter()
        page = 1
        while True:
            batch = raw.search_tickets(condition, page, MAX_SEARCH_PAGE)
            for ticket in batch:
                raw.history(str(ticket["id"]))
            if len(batch) < MAX_SEARCH_PAGE:
                break
            page += 1
        base_time = time.perf_counter() - t0
        print(f"baseline (same calls, no translation): {sum(base_calls.values())} calls in {base_time:.1f}s; "
              f"full read / baseline time ratio {full_time / base_time:.2f}")
        connector.close()
    print("targets met" if not missed else f"targets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
