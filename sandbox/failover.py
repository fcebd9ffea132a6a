"""Failover on a sandbox tracker: several `escalator run` processes share one PostgreSQL
journal while incidents fall due and a team edits them, and the leader is killed
(SIGKILL), frozen past its lease (SIGSTOP, then SIGCONT) and the server restarted.

What `tests/pg/test_failover.py` (small and seeded) and `bench/bench_failover.py` (twenty
kills, the takeovers' p99) run. Every check reads the tracker itself, not the daemons'
word:

- **no duplicate note**: every marker is on its ticket at most once;
- **no missed escalation**: every incident's ladder (L1, L2, L3) is on it, and the
  restore of a severity lowered without approval;
- **no lost human edit**: an approved lowering, a suspension (挂起) and a person's comment
  are still there at the end;
- **a frozen leader stands down without writing**: once a standby has taken over, the new
  leader and every other daemon are frozen too, the old one resumed alone, and the
  tracker must receive no write until it has logged that it lost the lead;
- **every takeover measured**: from the kill (or the freeze), on the database's clock, to
  the new lease's `acquired_at`.

Real time is the lease's (the database's clock); the tracker and the daemons share an
accelerated clock (`rate` clock seconds a real second), so an incident's ladder (4, 6,
8 clock hours on the 24x7 contract) passes in seconds. The harness waits on conditions,
each with a generous hang-guard, never on a fixed guess of how fast the machine is.
"""

from __future__ import annotations

import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import yaml

from plugin.clock import AcceleratedClock
from sandbox.demo import STATE_NAMES, Seeded, Site
from sandbox.postgres import PASSWORD, TempCluster

#: the log events of a write to the tracker (plugin.daemon, plugin.duty_runner)
WRITE_EVENTS = ("daemon.escalated", "daemon.severity-restored", "daemon.transition-flagged",
                "daemon.record-incomplete", "daemon.duty-delivered", "daemon.problem-created",
                "daemon.callbacks-task-created")
#: what a daemon logs when it finds it may not write any more (plugin.leader, plugin.daemon)
STAND_DOWN = ("leader.lapsed", "leader.lost", "daemon.fenced")
LADDER = ["escalation-L1", "escalation-L2", "escalation-L3"]
PASSWORD_ENV = "ESCALATOR_FAILOVER_PG_PASSWORD"
HUMAN_NOTE = "客户已确认：等待厂商备件 (a person's note)"
#: POST requests that read (Jira's search and changelog): not writes
_READ_POSTS = re.compile(r"/search(/jql)?$|/bulkfetch$")


@dataclass
class Plan:
    incidents: int = 30
    kills: int = 20
    freezes: int = 1
    pg_restarts: int = 0
    daemons: int = 3
    lease: float = 2.0  # real seconds
    poll_interval: float = 0.5  # real seconds between the leader's reads of the tracker
    rate: float = 3600.0  # clock seconds a real second
    seed: int = 7
    guard: float = 90.0  # hang-guard of each wait, real seconds


@dataclass
class Outcome:
    takeovers: list[float] = field(default_factory=list)  # seconds: kill or freeze -> new lease
    leader_changes: int = 0  # every new epoch seen, the ones nobody caused included
    duplicates: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    lost_edits: list[str] = field(default_factory=list)
    frozen_writes: list[str] = field(default_factory=list)  # writes while a resumed stale leader stood alone
    stood_down: list[str] = field(default_factory=list)  # how each resumed leader said so
    problems: list[str] = field(default_factory=list)  # tracebacks, daemons that died by themselves
    log: list[str] = field(default_factory=list)
    incidents: int = 0
    notes: int = 0

    def percentile(self, p: float) -> float:
        values = sorted(self.takeovers)
        if not values:
            return 0.0
        return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.missed or self.lost_edits or self.frozen_writes or self.problems)

    def summary(self) -> str:
        t = self.takeovers
        timing = (f"takeovers {len(t)}: p50 {statistics.median(t):.2f} s, p99 {self.percentile(99):.2f} s, "
                  f"max {max(t):.2f} s") if t else "no takeover measured"
        return (f"{self.incidents} incidents, {self.notes} escalator notes; {timing}; {self.leader_changes} leader "
                f"changes in all; duplicates {len(self.duplicates)}, missed {len(self.missed)}, lost edits "
                f"{len(self.lost_edits)}, writes by a resumed stale leader {len(self.frozen_writes)}")


class DaemonProcess:
    """`escalator run` as a child process with a log file of its own."""

    def __init__(self, number: int, config: Path, clock: AcceleratedClock, folder: Path):
        self.number = number
        self.log = folder / f"daemon-{number}.log"
        command = [sys.executable, "-c", "from plugin.cli.main import main; main(prog_name='escalator')",
                   "-v", "run", "--config", str(config), "--clock", clock.spec()]
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(command, stdout=self._out, stderr=subprocess.STDOUT, env=dict(os.environ),
                                     cwd=folder)
        self.killed = False
        self.frozen = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self, since: int = 0) -> str:
        with open(self.log, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def size(self) -> int:
        return self.log.stat().st_size

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        if sig in (signal.SIGSTOP, signal.SIGCONT):
            self.frozen = sig == signal.SIGSTOP

    def kill(self) -> None:
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()


@dataclass
class _Incident:
    seeded: Seeded
    kind: str  # plain | approved | restored | suspended
    edited: bool = False


class Failover:
    """One run of `plan` on `site` (built on `clock`), with `cluster`'s database `url` as the journal."""

    def __init__(self, site: Site, clock: AcceleratedClock, cluster: TempCluster, url: str, plan: Plan,
                 say: Callable[[str], None] | None = None):
        self.site, self.clock, self.cluster, self.url, self.plan = site, clock, cluster, url, plan
        self.rng = random.Random(plan.seed)
        self.say = say or (lambda _line: None)
        self.outcome = Outcome()
        self.daemons: list[DaemonProcess] = []
        self.incidents: list[_Incident] = []
        self._db: psycopg.Connection | None = None
        self._team_error: BaseException | None = None
        os.environ[PASSWORD_ENV] = PASSWORD
        data = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
        data["daemon"] = {**data.get("daemon", {}), "journal": url, "journal_password": {"env": PASSWORD_ENV},
                          "lease": plan.lease, "poll_interval": plan.poll_interval}
        site.config_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        self.tracker = site.kind

    # -- the database's view ------------------------------------------------------------------
    def _query(self, sql: str) -> tuple | None:
        for _ in range(int(self.plan.guard / 0.1)):
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg.connect(self.url, password=PASSWORD, autocommit=True, connect_timeout=2)
                return self._db.execute(sql, ()).fetchone()
            except psycopg.errors.UndefinedTable:
                return None  # no daemon has made the journal's tables yet
            except psycopg.OperationalError:
                self._db = None
                time.sleep(0.1)  # the server is restarting
        raise AssertionError(f"the journal's server did not answer for {self.plan.guard} s")

    def db_now(self) -> datetime:
        return self._query("SELECT clock_timestamp()")[0]

    def lease(self) -> tuple[str, int, datetime, bool, datetime] | None:
        """(holder, epoch, acquired_at, live, renewed_at) of the tracker's lease."""
        return self._query(f"SELECT holder, epoch, acquired_at, expires_at > clock_timestamp(), renewed_at "
                           f"FROM leases WHERE tracker = '{self.tracker}'")

    def _by_holder(self, holder: str) -> DaemonProcess | None:
        pid = int(holder.split(":")[-2])
        return next((d for d in self.daemons if d.pid == pid), None)

    def wait_leader(self, after_epoch: int = 0, since: datetime | None = None
                    ) -> tuple[DaemonProcess, int, datetime]:
        """Until a live lease with an epoch above `after_epoch` (renewed after `since`) is held by
        one of our daemons."""
        end = time.monotonic() + self.plan.guard
        while time.monotonic() < end:
            row = self.lease()
            if row and row[1] > after_epoch and row[3] and (since is None or row[4] > since):
                daemon = self._by_holder(row[0])
                if daemon is not None and daemon.proc.poll() is None and not daemon.frozen:
                    return daemon, row[1], row[2]
            time.sleep(0.02)
        raise AssertionError(f"no daemon took the lead within {self.plan.guard} s (epoch above {after_epoch}):\n"
                             + self._tails())

    def _wait_started(self) -> None:
        end = time.monotonic() + self.plan.guard
        while time.monotonic() < end:
            if all("daemon.started" in d.output() for d in self.daemons if d.proc.poll() is None):
                return
            time.sleep(0.05)
        raise AssertionError(f"a daemon did not start within {self.plan.guard} s:\n" + self._tails())

    def _tails(self) -> str:
        return "\n".join(f"--- daemon {d.number} (pid {d.pid}):\n" + "\n".join(d.output().splitlines()[-15:])
                         for d in self.daemons)

    # -- the team -------------------------------------------------------------------------------
    def _team_plan(self, span: float) -> list[tuple[float, Callable[[], None]]]:
        kinds = ["plain", "approved", "plain", "restored", "plain", "suspended"]
        moments = sorted(self.rng.uniform(0, span) for _ in range(self.plan.incidents))
        steps: list[tuple[float, Callable[[], None]]] = []
        for n, at in enumerate(moments):
            kind = kinds[n % len(kinds)]
            steps.append((at, lambda n=n, kind=kind: self._create(n, kind)))
            if kind != "plain":
                # one to two clock hours after the report: before the first deadline (4 h)
                steps.append((at + self.rng.uniform(3600, 7200) / self.plan.rate, lambda n=n: self._edit(n)))
        return sorted(steps, key=lambda s: s[0])

    def _create(self, n: int, kind: str) -> None:
        seeded = self.site.create(f"failover #{n} ({kind})", 2, "24x7")
        self.incidents.append(_Incident(seeded, kind))

    def _edit(self, n: int) -> None:
        incident = self.incidents[n]  # the team creates them in order, each before its edit
        s, site, sb = incident.seeded, self.site, self.site.sandbox
        approve = site.mapping.labels.approve_downgrade
        if site.kind == "zammad":
            ticket_id = int(s.ticket_id)
            if incident.kind == "approved":  # the tag first, then the lowering: both by the project manager
                with sb.lock:
                    store = sb.store
                    store.tag_add(store.tickets[ticket_id], approve, by=store.user_by("pm-li")["id"])
                site.lower_severity(s, 3, by="pm-li")
            elif incident.kind == "restored":
                site.lower_severity(s, 4, by="eng-liu")
            else:
                sb.add_article(ticket_id, HUMAN_NOTE, by="eng-liu", internal=True)
                # 挂起 is a pending state: Zammad wants its "pending till" with it, from a person as from a bot
                until = (self.clock.now() + timedelta(days=2)).isoformat()
                sb.update_ticket(ticket_id, by="eng-liu", state=site._state_name(4), pending_time=until)
        else:
            m = site.mapping
            if incident.kind == "approved":  # one edit: the lower severity and the approval label
                sb.edit_issue(s.ref, {m.severity.field: {"id": m.severity.values[3]}},
                              update={"labels": [{"add": approve}]}, author=site.people["pm-li"])
            elif incident.kind == "restored":
                site.lower_severity(s, 4, by="eng-liu")
            else:
                sb.add_comment(s.ref, HUMAN_NOTE, author=site.people["eng-liu"])
                sb.move_issue(s.ref, STATE_NAMES[4], author=site.people["eng-liu"])
        incident.edited = True

    def _run_team(self, steps: list[tuple[float, Callable[[], None]]], stop: threading.Event) -> None:
        start = time.monotonic()
        try:
            for at, step in steps:
                if stop.wait(max(0.0, start + at - time.monotonic())):
                    return
                step()
        except BaseException as exc:  # noqa: BLE001 - reported by run()
            self._team_error = exc

    # -- the run --------------------------------------------------------------------------------
    def start_daemon(self) -> DaemonProcess:
        daemon = DaemonProcess(len(self.daemons) + 1, self.site.config_path, self.clock, self.site.folder)
        self.daemons.append(daemon)
        return daemon

    def run(self) -> Outcome:
        plan, out = self.plan, self.outcome
        events = ["kill"] * plan.kills + ["freeze"] * plan.freezes + ["pg-restart"] * plan.pg_restarts
        self.rng.shuffle(events)
        if events and events[0] != "kill" and "kill" in events:  # the first leader dies an ordinary death
            events.insert(0, events.pop(events.index("kill")))
        # incidents fall due all through the chaos: each event takes about twice the lease
        span = max(len(events), 1) * plan.lease * 2.0
        stop = threading.Event()
        team = threading.Thread(target=self._run_team, args=(self._team_plan(span), stop), name="team")
        try:
            for _ in range(plan.daemons):
                self.start_daemon()
            leader, epoch, _ = self.wait_leader()
            out.log.append(f"daemon {leader.number} leads (epoch {epoch})")
            team.start()
            for event in events:
                # the host of the last one killed has started it again: the next event comes once it
                # runs (a takeover is measured between daemons that are up, not against a start-up)
                self._wait_started()
                time.sleep(self.rng.uniform(0.2, 1.0) * plan.lease)  # a random moment of the leader's term
                leader, epoch, _ = self.wait_leader()
                getattr(self, "_" + event.replace("-", "_"))(leader, epoch)
            team.join(span + plan.guard)
            if self._team_error is not None:
                raise self._team_error
            self._settle()
        finally:
            stop.set()
            if team.is_alive():
                team.join(10)
            for daemon in self.daemons:
                daemon.stop()
            if self._db is not None:
                self._db.close()
        row = self.lease()
        out.leader_changes = (row[1] - 1) if row else 0
        self._verify()
        return out

    def _kill(self, leader: DaemonProcess, epoch: int) -> None:
        at = self.db_now()
        leader.kill()
        self.start_daemon()  # keep the number of daemons up: the killed one's host restarts it
        successor, new_epoch, acquired = self.wait_leader(after_epoch=epoch)
        took = (acquired - at).total_seconds()
        self.outcome.takeovers.append(took)
        self.outcome.log.append(f"SIGKILL daemon {leader.number}: daemon {successor.number} leads after {took:.2f} s "
                                f"(epoch {new_epoch})")
        self.say(self.outcome.log[-1])

    def _freeze(self, leader: DaemonProcess, epoch: int) -> None:
        at = self.db_now()
        leader.signal(signal.SIGSTOP)
        successor, new_epoch, acquired = self.wait_leader(after_epoch=epoch)
        took = (acquired - at).total_seconds()
        self.outcome.takeovers.append(took)
        time.sleep(self.rng.uniform(0.2, 0.8) * self.plan.lease)  # the new leader at work
        # everyone else frozen: from now on only the resumed one could write to the tracker
        others = [d for d in self.daemons if d is not leader and d.proc.poll() is None]
        for d in others:
            d.signal(signal.SIGSTOP)
        writes_before = self._writes()
        offset = leader.size()
        leader.signal(signal.SIGCONT)
        end = time.monotonic() + self.plan.guard
        said = None
        while time.monotonic() < end and said is None:
            text = leader.output(offset)
            said = next((e for e in STAND_DOWN if e in text), None)
            time.sleep(0.01)
        writes_after = self._writes()
        text = leader.output(offset)
        for d in others:
            d.signal(signal.SIGCONT)
        if said is None:
            self.outcome.problems.append(f"daemon {leader.number}, resumed after its lease, never said it lost "
                                         f"the lead:\n{text}")
        else:
            self.outcome.stood_down.append(said)
        stale = writes_after[len(writes_before):]
        logged = [e for e in WRITE_EVENTS if e in text.split(said)[0]] if said else []
        self.outcome.frozen_writes += [f"{m} {p}" for m, p in stale] + logged
        self.outcome.log.append(f"SIGSTOP daemon {leader.number}: daemon {successor.number} leads after {took:.2f} s "
                                f"(epoch {new_epoch}); SIGCONT: it logged {said}, {len(stale)} write(s) meanwhile")
        self.say(self.outcome.log[-1])

    def _pg_restart(self, leader: DaemonProcess, epoch: int) -> None:
        started = time.monotonic()
        self.cluster.restart()
        back = self.db_now()
        successor, new_epoch, _ = self.wait_leader(since=back)  # a daemon renewed or took it since
        self.outcome.log.append(f"PostgreSQL restarted: daemon {successor.number} leads (epoch {new_epoch}) "
                                f"{time.monotonic() - started:.2f} s after the restart began")
        self.say(self.outcome.log[-1])

    def _writes(self) -> list[tuple[str, str]]:
        with self.site.sandbox.lock:
            calls = list(self.site.sandbox.calls)
        return [(c.method, c.path) for c in calls if c.method != "GET" and not _READ_POSTS.search(c.path)]

    # -- the end --------------------------------------------------------------------------------
    def _expected(self, incident: _Incident) -> bool:
        """Is all there that should be: the ladder, the team's edit, a restore where it lowered?"""
        markers = self.site.markers(incident.seeded)
        if not all(m in markers for m in LADDER) or (incident.kind != "plain" and not incident.edited):
            return False
        return incident.kind != "restored" or any(m.startswith("severity-restore-") for m in markers)

    def _settle(self) -> None:
        """Until every incident carries all it should (the hang-guard: `guard`), then two more polls."""
        end = time.monotonic() + self.plan.guard
        while time.monotonic() < end:
            if len(self.incidents) == self.plan.incidents and all(self._expected(i) for i in self.incidents):
                break
            time.sleep(0.1)
        time.sleep(2 * self.plan.poll_interval)  # a late duplicate would come now

    def _verify(self) -> None:
        out = self.outcome
        out.incidents = len(self.incidents)
        for incident in self.incidents:
            s = incident.seeded
            markers = self.site.markers(s)
            out.notes += len(markers)
            out.duplicates += [f"{s.ref}: {m} x{n}" for m, n in Counter(markers).items() if n > 1]
            out.missed += [f"{s.ref}: {m}" for m in LADDER if m not in markers]
            restores = [m for m in markers if m.startswith("severity-restore-")]
            ticket = self.site.read(s.ticket_id)
            if incident.kind == "restored":
                if not restores:
                    out.missed.append(f"{s.ref}: the restore of the severity lowered without approval")
                elif ticket.severity != 2:
                    out.missed.append(f"{s.ref}: severity {ticket.severity}, not restored to 2")
            elif restores:
                out.lost_edits.append(f"{s.ref}: severity restored over a {incident.kind} incident: {restores}")
            if incident.kind == "approved" and ticket.severity != 3:
                out.lost_edits.append(f"{s.ref}: the approved lowering to 3 is gone (severity {ticket.severity})")
            if incident.kind == "suspended":
                if ticket.state != 4:
                    out.lost_edits.append(f"{s.ref}: suspended (挂起) by a person, now in state {ticket.state}")
                if [n.strip() for n in self.site.notes(s)].count(HUMAN_NOTE) != 1:
                    out.lost_edits.append(f"{s.ref}: the person's note is not there once")
            if ticket.escalation_level != 3:
                out.missed.append(f"{s.ref}: escalation level {ticket.escalation_level}, not 3")
        for daemon in self.daemons:
            text = daemon.output()
            if "Traceback" in text:
                out.problems.append(f"daemon {daemon.number}: a traceback in its log:\n{text[-3000:]}")
            code = daemon.proc.returncode
            if not daemon.killed and code not in (0, None):
                out.problems.append(f"daemon {daemon.number} exited with {code}:\n{text[-2000:]}")
