"""Calls made by a full and an incremental read of many open incidents from the sandbox Jira.

    python3 bench/bench_jira_read.py [--incidents 10000] [--page-size 100] [--changed 0.1]
                                     [--flavour cloud|datacenter|both]

Seeds the sandbox (over loopback HTTP, a real socket) with N open incidents, a share of
them changed after creation (so they have a changelog), maps the procedure onto it,
then reads everything with a fresh cursor and, right after, reads again with nothing
changed. Prints the calls made against the minimum the issue sets: at most
⌈N / page size⌉ search calls plus the changelog calls for a full read — on Cloud at most
⌈changed / 1000⌉ bulk changelog calls (1000 issues a request; an issue never changed has
no changelog), on Data Center none (the changelog comes inline) — and one call for an
incremental read with nothing changed. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.base import Cursor  # noqa: E402
from connectors.jira.connector import BULK_CHANGELOG_MAX  # noqa: E402
from connectors.jira.factory import make_connector, make_provisioner  # noqa: E402
from mapping.fieldmap import TrackerMapping  # noqa: E402
from mapping.incident import Incident  # noqa: E402
from mapping.loader import load_procedure  # noqa: E402
from plugin.config import Config  # noqa: E402
from sandbox.jira import JiraSandbox  # noqa: E402

TOKEN_ENV = "ESCALATOR_BENCH_JIRA_TOKEN"
STATES = {1: ["Open"], 2: ["Dispatched"], 3: ["In Progress"], 4: ["Waiting for vendor"],
          5: ["Waiting for customer"], 6: ["Resolved"], 7: ["Closed"]}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _config(sb: JiraSandbox, page_size: int) -> Config:
    tracker = {"kind": "jira", "flavour": sb.flavour, "url": sb.base_url, "token": {"env": TOKEN_ENV},
               "projects": ["SD"], "issue_types": ["Incident"], "states": STATES, "page_size": page_size}
    if sb.flavour == "cloud":
        tracker["email"] = "bot@example.com"
    return Config.model_validate({"tracker": tracker})


def _mapping(sb: JiraSandbox, config: Config, procedure) -> TrackerMapping:
    if sb.flavour == "cloud":
        provisioner = make_provisioner(config.tracker_settings(), procedure)
        mapping, _ = provisioner.apply(provisioner.plan())
        return mapping
    # Jira DC has no REST resource for field options: the admin creates them (here: the seed)
    sev = sb.create_custom_field("Incident severity 事件级别", "select", searcher="multiselectsearcher")
    cat = sb.create_custom_field("Incident category 事件分类", "cascadingselect")
    lvl = sb.create_custom_field("Escalation level 升级级别", "select", searcher="multiselectsearcher")
    sev_ids, lvl_ids, cat_ids = sb.add_options(sev, ["1", "2", "3", "4"]), sb.add_options(lvl, ["0", "1", "2", "3"]), \
        sb.add_options(cat, ["1"])
    statuses = {s.name: s.id for s in sb.model.statuses.values()}
    return TrackerMapping(
        tracker="jira", base_url=sb.base_url, flavour="datacenter", projects=["SD"], issue_types=["10001"],
        severity={"field": sev, "values": dict(enumerate(sev_ids, start=1))},
        category={"field": cat, "values": {"1": cat_ids[0]}},
        escalation_level={"field": lvl, "values": dict(enumerate(lvl_ids))},
        states={k: [statuses[n] for n in v] for k, v in STATES.items()})


def _bare_read(conn) -> None:
    """Fetch what a full read fetches, with the client alone."""
    from connectors.jira.client import JiraCloudClient
    from connectors.jira.translate import history_field_ids, needed_fields
    client, fields, jql = conn.client, needed_fields(conn.mapping), conn.jql(None)
    changed: list[str] = []
    if isinstance(client, JiraCloudClient):
        token = None
        while True:
            page = client.search(jql, fields, conn.page_size, token)
            changed += [i["id"] for i in page.get("issues", []) if i["fields"]["updated"] != i["fields"]["created"]]
            token = page.get("nextPageToken")
            if len(changed) >= 1000 or (not token and changed):
                client.changelogs(changed[:1000], history_field_ids(conn.mapping))
                changed = changed[1000:]
            if not token:
                return
    start = 0
    while True:
        page = client.search(jql, fields, conn.page_size, start)
        start += len(page.get("issues", []))
        if start >= page.get("total", 0) or not page.get("issues"):
            return


def run(flavour: str, n: int, page_size: int, changed_share: float) -> bool:
    clock = Clock()
    procedure = load_procedure()
    sb = JiraSandbox(flavour, token="bench-token", clock=clock)
    sb.add_status("Dispatched", "indeterminate", id="10100")
    from sandbox.jira import Workflow, WorkflowTransition
    sb.set_workflow("SD", Workflow("Open", [WorkflowTransition("11", "Dispatch", "Dispatched", ("Open",)),
                                            WorkflowTransition("21", "Start", "In Progress", ("Dispatched",))]))
    with sb:
        config = _config(sb, page_size)
        mapping = _mapping(sb, config, procedure)
        sev = mapping.severity
        t0 = time.perf_counter()
        every = max(1, round(1 / changed_share)) if changed_share > 0 else 0
        changed = 0
        for i in range(n):
            # one new incident a minute (10,000 take a week): a realistic rate, so the
            # cursor's overlap window holds a handful of issues, not pages of them
            clock.now += timedelta(minutes=1)
            key = sb.create_issue("SD", "Incident", f"Incident {i}",
                                  fields={str(sev.field): {"id": sev.values[1 + i % 4]}})
            if every and i % every == 0:
                clock.now += timedelta(seconds=30)
                sb.move_issue(key, "Dispatched")
                changed += 1
        seeded = time.perf_counter() - t0

        conn = make_connector(config.tracker_settings(), mapping)
        stats = conn.client.http.stats
        cursor = Cursor()
        t0 = time.perf_counter()
        read = list(conn.read_changed(cursor))
        full_s = time.perf_counter() - t0
        ok_read = sum(isinstance(r, Incident) for r in read)
        paths = dict(stats.by_path)
        search_path = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
        searches = paths.get(search_path, 0)
        changelogs = paths.get("/rest/api/3/changelog/bulkfetch", 0) + sum(
            v for k, v in paths.items() if k.startswith("/rest/api/2/issue/"))
        full_calls = stats.calls
        other = full_calls - searches - changelogs
        min_search = math.ceil(n / page_size)
        # Cloud: one bulk request holds 1000 issues; DC: the search's inline changelog suffices
        min_changelog = math.ceil(changed / BULK_CHANGELOG_MAX) if flavour == "cloud" else 0

        # baseline, same run: the same search pages and changelog calls on the bare client,
        # without de-duplication or translation
        t0 = time.perf_counter()
        _bare_read(make_connector(config.tracker_settings(), mapping))
        bare_s = time.perf_counter() - t0

        before = stats.calls
        t0 = time.perf_counter()
        again = list(conn.read_changed(cursor))
        incr_s = time.perf_counter() - t0
        incremental = stats.calls - before

    full_ok = searches <= min_search and changelogs <= min_changelog and ok_read == n and stats.retries == 0
    incr_ok = incremental == 1 and again == []
    print(f"== Jira {flavour}: {n} open incidents ({changed} changed after creation), page size {page_size}")
    print(f"   seeding the sandbox: {seeded:.1f} s")
    print(f"   full read: {len(read)} read ({ok_read} incidents) in {full_s:.1f} s, {full_calls} calls: "
          f"{searches} search (minimum {min_search}, ratio {searches / min_search:.2f}), "
          f"{changelogs} changelog (minimum {min_changelog}"
          f"{f', ratio {changelogs / min_changelog:.2f}' if min_changelog else ''}), "
          f"{other} other (the time zone, once) -> "
          f"{'OK' if full_ok else 'MISSED'}")
    print(f"   full read time: {full_s / bare_s:.2f}x the bare-HTTP baseline ({bare_s:.1f} s)")
    print(f"   incremental read, nothing changed: {incremental} call(s) (target 1) in {incr_s * 1000:.0f} ms -> "
          f"{'OK' if incr_ok else 'MISSED'}")
    return full_ok and incr_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--changed", type=float, default=0.1, help="share of incidents changed after creation")
    parser.add_argument("--flavour", choices=["cloud", "datacenter", "both"], default="both")
    args = parser.parse_args()
    os.environ[TOKEN_ENV] = "bench-token"
    flavours = ["cloud", "datacenter"] if args.flavour == "both" else [args.flavour]
    results = [run(f, args.incidents, args.page_size, args.changed) for f in flavours]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
