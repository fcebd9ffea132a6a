"""`escalator status` on the demo's sandbox trackers lists exactly the deadlines the daemon then meets.

Incidents of every severity under both contracts are seeded at the demo's start (a
Monday 09:00 in Shanghai, the clock held still), `status --json` is asked what comes
next, then the daemon runs on the accelerated clock through the next working hours.
Every escalation it carried out up to each ticket's listed next deadline is one that
status listed — same level, role and deadline — and every listed one that fell due
in that time was carried out. A second `status` reads only what changed: one search.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from plugin.cli.daemon import open_daemon
from plugin.cli.main import main
from plugin.clock import AcceleratedClock
from plugin.journal import Journal
from sandbox.demo import DEMO_START, JiraSite, ZammadSite

pytestmark = pytest.mark.e2e

SPAN = timedelta(hours=8)  # Monday 09:00 to 17:00: the first levels of severities 1-4 on 24x7 fall in it
RATE = 7200.0


@pytest.fixture(params=["jira", "zammad"])
def site(request, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clock = AcceleratedClock(DEMO_START, 1.0)  # nearly still while seeding, as in the demo
    build = JiraSite.build if request.param == "jira" else ZammadSite.build
    site = build(tmp_path / request.param, clock, env=f"ESCALATOR_STATUS_{request.param.upper()}_TOKEN")
    site.clock = clock
    for contract in ("default", "24x7"):
        for severity in (1, 2, 3, 4):
            site.create(f"{contract} severity {severity}", severity, contract)
    yield site
    site.stop()


def status(site, *args: str) -> dict:
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--clock", site.clock.spec(),
                                       "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_daemon(site, until: datetime) -> None:
    with open_daemon(site.config, dry_run=False, clock=site.clock) as daemon:
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        end = time.monotonic() + 30
        while daemon.passes == 0 and time.monotonic() < end:
            time.sleep(0.02)
        site.clock.retime(RATE)
        daemon.wake()  # it sleeps on the still clock's terms: let it count again on the fast one
        while site.clock.now() < until and thread.is_alive():
            time.sleep(0.05)
        daemon.stop()
        thread.join(timeout=10)


def test_status_lists_exactly_the_deadlines_the_daemon_then_meets(site):
    listed = status(site)["incidents"]
    assert len(listed) == 8 and all(row["blocking"] is None for row in listed)
    deadlines = [row["next"]["deadline"] for row in listed]
    assert deadlines == sorted(deadlines)  # what comes first, first
    end = DEMO_START + SPAN
    run_daemon(site, end)

    journal = Journal(site.folder / "journal.sqlite")
    done = [e for e in journal.entries(site.kind) if e.kind == "escalate" and e.outcome == "done"]
    journal.close()
    met = 0
    for row in listed:
        steps = [*row["due_now"], *([] if row["due_now"] else [row["next"]])]
        expected = {(s["level"], s["role"], datetime.fromisoformat(s["deadline"])) for s in steps
                    if datetime.fromisoformat(s["deadline"]) <= end}
        horizon = max(datetime.fromisoformat(s["deadline"]) for s in steps)
        carried = {(e.detail["level"], e.detail["role"], datetime.fromisoformat(e.detail["deadline"]))
                   for e in done if e.ref == row["ticket"] and datetime.fromisoformat(e.detail["deadline"]) <= horizon}
        assert carried == expected, (row["ticket"], [(e.ref, e.detail.get("level")) for e in done])
        met += len(expected)
    assert met >= 8  # severity 1: three levels each; the 24x7 first levels of severities 2-4


def test_a_second_status_reads_only_what_changed(site):
    first = status(site)
    assert first["read"] == {"tickets": 8, "full": True}
    server = site.sandbox
    before = len(server.calls)
    second = status(site)
    assert second["read"] == {"tickets": 0, "full": False}
    def plan(rows):
        return [(r["ticket"], r["level"], r["next"]["level"], r["next"]["deadline"]) for r in rows]

    assert plan(second["incidents"]) == plan(first["incidents"])
    searches = [c for c in server.calls[before:] if "search" in c.path]
    assert len(searches) == 1, [c.path for c in server.calls[before:]]
    assert len(server.calls) - before <= 2  # the search, and Jira's time zone of the account

    ticket = site.seeded[0]
    site.archive(ticket)  # closed: it leaves the queue
    third = status(site)
    assert third["read"]["tickets"] == 1
    assert ticket.ref not in [row["ticket"] for row in third["incidents"]]


def test_filters(site):
    rows = status(site, "--contract", "24x7", "--severity", "2", "--severity", "3")["incidents"]
    assert [(r["contract"], r["severity"]) for r in rows] == [("24x7", 2), ("24x7", 3)]
    rows = status(site, "--project", "OPS")["incidents"]
    assert len(rows) == 4 and {r["project"] for r in rows} == {"OPS"}
    result = CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--project", "OPZ"])
    assert result.exit_code == 2 and "OPZ not among the watched (OPS, NOC)" in result.output
