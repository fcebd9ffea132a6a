"""`escalator demo`: the escalator at work on a sandbox Jira and a sandbox Zammad, in a few seconds.

No configuration: it starts both sandbox trackers on loopback (in this process), maps
them (`mapping apply`, through the real provisioners), seeds incidents of every
severity under two contracts (the business-hours default and 24x7), and runs one
daemon per tracker on an accelerated clock (two working hours a second) while a
scripted team lowers a severity, archives an incident straight from 处理中 and asks
for a manual escalation. Each escalation, restored severity and flagged state change
is printed as it happens; a summary table follows. Everything lives in a temporary
folder that is removed at the end, and nothing is left running.

The `JiraSite` / `ZammadSite` builders are also what the end-to-end tests and the
benchmark use: a sandbox, a config file, a mapping file, and a scripted "team".
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import yaml

from connectors.base import Connector
from connectors.factory import make_connector, make_provisioner
from mapping.fieldmap import OptionalField, TrackerMapping
from mapping.incident import Incident
from mapping.loader import load_procedure
from mapping.procedure import Procedure
from mapping.text import text_table
from plugin.clock import AcceleratedClock, Clock, parse_clock
from plugin.config import Config, load_config
from plugin.daemon import DaemonEvent
from plugin.webhooks import WebhookReceiver

#: a Monday, 09:00 in Shanghai: the start of a working day
DEMO_START = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
#: clock seconds per real second: two working hours a second
DEMO_RATE = 7200.0
#: how much clock time the demo covers (to Tuesday 15:00: the business-hours severity-3
#: ladder completes on Tuesday at 14:00)
DEMO_SPAN = timedelta(hours=30)

TOKEN = "sandbox-token"
WEBHOOK_SECRET = "demo-webhook-secret"
WEBHOOK_ENV = "ESCALATOR_DEMO_WEBHOOK_SECRET"
#: real seconds the team waits at most for a tracker's webhook calls after an edit (a guard)
WEBHOOK_WAIT = 60.0
MARKER = re.compile(r"incident-escalator:([\w.-]+)")
STATE_NAMES = {1: "待处理", 2: "已派单", 3: "处理中", 4: "挂起", 5: "暂停", 6: "待审核", 7: "已归档"}
#: the demo's people: (key, display name, role)
PEOPLE = [("eng-liu", "Liu Engineer", "engineer"), ("pm-li", "Li PM", "project_manager"),
          ("dd-wang", "Wang Director", "division_director"), ("ceo-zhao", "Zhao Management", "company_management"),
          ("desk-chen", "Chen ServiceDesk", "service_desk")]
CONTRACT_PROJECT = {"default": "OPS", "24x7": "NOC"}


def _markers(texts: list[str]) -> list[str]:
    return [m for text in texts for m in MARKER.findall(text)]


@dataclass
class Seeded:
    ticket_id: str
    ref: str
    severity: int
    contract: str


@dataclass
class Site:
    """A sandbox tracker, mapped, with a config file the daemon can run on."""

    kind: str
    sandbox: Any
    folder: Path
    config_path: Path
    procedure: Procedure
    mapping: TrackerMapping
    people: dict[str, str]  # person key -> tracker user id (what the role directory names)
    changes: list[str] = field(default_factory=list)
    seeded: list[Seeded] = field(default_factory=list)
    _reader: Connector | None = None

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def reader(self) -> Connector:
        """A connector of our own, to read back what the daemon did."""
        if self._reader is None:
            self._reader = make_connector(self.config.tracker_settings(), self.mapping)
        return self._reader

    def read(self, ticket_id: str) -> Incident:
        result = self.reader().read_one(ticket_id)
        if not isinstance(result, Incident):
            raise AssertionError(f"{self.kind} {ticket_id} is unreadable: {result.reason}")
        return result

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.sandbox.stop()


def _write_config(folder: Path, tracker: dict, people: dict[str, str], *, poll_interval: float,
                  extra: dict | None = None) -> Path:
    roles: dict[str, list[str]] = {}
    for key, _, role in PEOPLE:
        roles.setdefault(role, []).append(people[key])
    data = {
        "tracker": tracker,
        "mapping_file": "mapping.yaml",
        "contracts": {"by_project": {CONTRACT_PROJECT["24x7"]: "24x7"}},
        "roles": {"default": roles},
        "daemon": {"journal": "journal.sqlite", "poll_interval": poll_interval},
        **(extra or {}),
    }
    path = folder / "escalator.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _apply(config_path: Path, procedure: Procedure) -> tuple[TrackerMapping, list[str]]:
    """`escalator mapping apply --yes`, through the real provisioner."""
    config = load_config(config_path)
    provisioner = make_provisioner(config.tracker_settings(), procedure, webhook=config.webhook_settings())
    mapping, changes = provisioner.apply(provisioner.plan())
    return mapping, changes


# -- Jira -----------------------------------------------------------------------------------------
_JIRA_CF = "com.atlassian.jira.plugin.system.customfieldtypes:"


def _free_workflow():
    """Every status reachable from every other, like a lax real workflow: the team can break
    the procedure (straight to 已归档), and the escalator can put it back."""
    from sandbox.jira import Workflow, WorkflowTransition
    return Workflow(STATE_NAMES[1], [WorkflowTransition(str(10 + code), f"to {name}", name)
                                     for code, name in STATE_NAMES.items()])


def _dc_admin_fields(sandbox: Any, procedure: Procedure) -> None:
    """What `mapping plan` asks a Data Center admin to do by hand (DC has no REST resource for
    options): the three select fields with the escalator's option values."""
    from connectors.jira.provision import (
        CASCADE,
        CASCADE_SEARCHER,
        FIELD_NAMES,
        SELECT,
        SELECT_SEARCHER,
    )
    from connectors.provisioning import option_names
    names = option_names(procedure)
    for term in ("severity", "escalation_level"):
        field_id = sandbox.create_custom_field(FIELD_NAMES[term], SELECT, searcher=SELECT_SEARCHER)
        sandbox.add_options(field_id, [names[term][k] for k in sorted(names[term])])
    field_id = sandbox.create_custom_field(FIELD_NAMES["category"], CASCADE, searcher=CASCADE_SEARCHER)
    parents = [c for c in names["category"] if "." not in c]
    parent_ids = dict(zip(parents, sandbox.add_options(field_id, [names["category"][c] for c in parents]),
                          strict=True))
    for code, value in names["category"].items():
        if "." in code:
            sandbox.add_options(field_id, [value], parent=parent_ids[code.split(".")[0]])


class JiraSite(Site):
    @classmethod
    def build(cls, folder: Path, clock: Clock, *, flavour: str = "cloud", rate_limit: float | None = None,
              poll_interval: float = 60.0, extra: dict | None = None, env: str = "ESCALATOR_DEMO_JIRA_TOKEN",
              tracker_options: dict | None = None, port: int = 0, bot: Any = None) -> JiraSite:
        """`bot`: a `sandbox.jira.permissions.BotProfile` restricting what the escalator's token may do."""
        from sandbox.jira import JiraSandbox
        folder.mkdir(parents=True, exist_ok=True)
        sandbox = JiraSandbox(flavour, token=TOKEN, clock=clock.now, rate_limit=rate_limit,
                              time_zone="Asia/Shanghai", port=port, bot=bot)
        categories = {1: "new", 2: "indeterminate", 3: "indeterminate", 4: "indeterminate", 5: "indeterminate",
                      6: "done", 7: "done"}
        for code, name in STATE_NAMES.items():
            sandbox.add_status(name, categories[code])
        for project in CONTRACT_PROJECT.values():
            sandbox.add_project(project, f"{project} incidents", workflow=_free_workflow())
        people = {key: sandbox.add_user(name, f"{key}@example.com") for key, name, _ in PEOPLE}
        sandbox.start()
        os.environ[env] = TOKEN
        tracker = {"kind": "jira", "url": sandbox.base_url, "flavour": flavour, "email": "bot@example.com",
                   "token": {"env": env}, "projects": list(CONTRACT_PROJECT.values()), "issue_types": ["Incident"],
                   **(tracker_options or {})}
        config_path = _write_config(folder, tracker, people, poll_interval=poll_interval, extra=extra)
        procedure = load_procedure()
        if flavour == "datacenter":
            _dc_admin_fields(sandbox, procedure)
        mapping, changes = _apply(config_path, procedure)
        # the record facts §4.1.4 asks for that the provisioner leaves to the admin
        occurred = sandbox.create_custom_field("Occurred at 发生时间", _JIRA_CF + "datetime")
        ci = sandbox.create_custom_field("Affected CI 受影响的配置项", _JIRA_CF + "textfield")
        mapping.occurred_at = OptionalField(field=occurred)
        mapping.affected_ci = OptionalField(field=ci)
        mapping.save(folder / "mapping.yaml")
        return cls("jira", sandbox, folder, config_path, procedure, mapping, people, changes)

    def _text(self, text: str) -> Any:
        if self.sandbox.flavour == "cloud":
            return {"type": "doc", "version": 1,
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
        return text

    def create(self, title: str, severity: int, contract: str, *, complete: bool = True) -> Seeded:
        m, sb = self.mapping, self.sandbox
        fields: dict[str, Any] = {m.severity.field: {"id": m.severity.values[severity]},
                                  m.category.field: {"id": m.category.values["1"],
                                                     "child": {"id": m.category.values["1.2"]}}}
        if complete:
            fields[m.affected_ci.field] = "core-switch-01"
            fields[m.occurred_at.field] = sb.clock().isoformat(timespec="milliseconds")
            fields["description"] = self._text(f"{title}: link down, error 0x51")
        key = sb.create_issue(CONTRACT_PROJECT[contract], "Incident", title, fields=fields,
                              reporter=self.people["desk-chen"])
        for state in (2, 3):
            sb.move_issue(key, STATE_NAMES[state], author=self.people["desk-chen"])
        seeded = Seeded(str(sb.issue(key).id), key, severity, contract)
        self.seeded.append(seeded)
        return seeded

    def lower_severity(self, s: Seeded, to: int, by: str = "eng-liu") -> None:
        m = self.mapping
        self.sandbox.edit_issue(s.ref, {m.severity.field: {"id": m.severity.values[to]}}, author=self.people[by])

    def archive(self, s: Seeded, by: str = "eng-liu") -> None:
        self.sandbox.move_issue(s.ref, STATE_NAMES[7], author=self.people[by])

    def ask_escalation(self, s: Seeded, by: str = "desk-chen") -> None:
        self.add_label(s, self.mapping.labels.escalate, by)

    def add_label(self, s: Seeded, label: str, by: str) -> None:
        self.sandbox.edit_issue(s.ref, update={"labels": [{"add": label}]}, author=self.people[by])

    def notes(self, s: Seeded) -> list[str]:
        from connectors.jira.adf import body_text
        return [body_text(c.body) for c in self.sandbox.issue(s.ref).comments]

    def markers(self, s: Seeded) -> list[str]:
        return _markers(self.notes(s))

    def note_times(self, s: Seeded) -> list[tuple[str, datetime]]:
        """(marker, when the note was written, in clock time) of each escalator note."""
        from connectors.jira.adf import body_text
        return [(m, c.created) for c in self.sandbox.issue(s.ref).comments for m in MARKER.findall(body_text(c.body))]


# -- Zammad ---------------------------------------------------------------------------------------
class ZammadSite(Site):
    @classmethod
    def build(cls, folder: Path, clock: Clock, *, rate_limit: float | None = None, poll_interval: float = 60.0,
              extra: dict | None = None, env: str = "ESCALATOR_DEMO_ZAMMAD_TOKEN",
              tracker_options: dict | None = None, port: int = 0) -> ZammadSite:
        from sandbox.zammad import ZammadSandbox
        folder.mkdir(parents=True, exist_ok=True)
        sandbox = ZammadSandbox(token=TOKEN, clock=clock.now, rate_limit=rate_limit, demo_ticket=False, port=port)
        for project in CONTRACT_PROJECT.values():
            sandbox.add_group(project)
        people = {}
        for key, name, _ in PEOPLE:
            first, last = name.split(" ", 1)
            sandbox.add_user(key, firstname=first, lastname=last, email=f"{key}@example.com",
                             roles=["Agent"])
            people[key] = key
        sandbox.add_user("customer-a", firstname="Zhang", lastname="San", email="zhang.san@example.com",
                         roles=["Customer"], organization="Customer A")
        sandbox.start()
        os.environ[env] = TOKEN
        tracker = {"kind": "zammad", "url": sandbox.base_url, "token": {"env": env},
                   "projects": list(CONTRACT_PROJECT.values()), **(tracker_options or {})}
        config_path = _write_config(folder, tracker, people, poll_interval=poll_interval, extra=extra)
        procedure = load_procedure()
        mapping, changes = _apply(config_path, procedure)
        site = cls("zammad", sandbox, folder, config_path, procedure, mapping, people, changes)
        site._add_fact_attributes()
        mapping.save(folder / "mapping.yaml")
        return site

    def _add_fact_attributes(self) -> None:
        """The record facts §4.1.4 asks for that the provisioner leaves to the admin (object manager)."""
        from connectors.zammad.factory import make_client
        client = make_client(self.config.tracker_settings())
        screens = {s: {"ticket.agent": {"shown": True, "required": False}} for s in ("create_middle", "edit")}
        for n, (name, display, data_type, option) in enumerate((
                ("incident_affected_ci", "Affected CI 受影响的配置项", "input",
                 {"type": "text", "maxlength": 255, "null": True, "default": ""}),
                ("incident_occurred_at", "Occurred at 发生时间", "datetime",
                 {"future": False, "past": True, "diff": 0, "null": True}))):
            client.create_attribute({"name": name, "object": "Ticket", "display": display, "active": True,
                                     "editable": True, "position": 1600 + n, "data_type": data_type,
                                     "data_option": option, "screens": screens})
        client.execute_migrations()
        client.http.close()
        self.mapping.affected_ci = OptionalField(field="incident_affected_ci")
        self.mapping.occurred_at = OptionalField(field="incident_occurred_at")

    def _state_name(self, code: int) -> str:
        state_id = int(self.mapping.states[code][0])
        return self.sandbox.store.states[state_id]["name"]

    def create(self, title: str, severity: int, contract: str, *, complete: bool = True) -> Seeded:
        sb, m = self.sandbox, self.mapping
        attributes: dict[str, Any] = {m.severity.field: m.severity.values[severity],
                                      m.category.field: m.category.values["1.2"]}
        article = None
        if complete:
            attributes["incident_affected_ci"] = "core-switch-01"
            attributes["incident_occurred_at"] = sb.clock().isoformat()
            article = {"body": f"{title}: link down, error 0x51", "type": "phone", "internal": False}
        ticket = sb.add_ticket(title, customer="customer-a", group=CONTRACT_PROJECT[contract],
                               state=self._state_name(1), by="desk-chen", article=article, **attributes)
        for state in (2, 3):
            sb.update_ticket(ticket["id"], by="desk-chen", state=self._state_name(state))
        seeded = Seeded(str(ticket["id"]), str(ticket["number"]), severity, contract)
        self.seeded.append(seeded)
        return seeded

    def lower_severity(self, s: Seeded, to: int, by: str = "eng-liu") -> None:
        m = self.mapping
        self.sandbox.update_ticket(int(s.ticket_id), by=by, **{m.severity.field: m.severity.values[to]})

    def archive(self, s: Seeded, by: str = "eng-liu") -> None:
        self.sandbox.update_ticket(int(s.ticket_id), by=by, state=self._state_name(7))

    def ask_escalation(self, s: Seeded, by: str = "desk-chen") -> None:
        self.add_label(s, self.mapping.labels.escalate, by)

    def add_label(self, s: Seeded, label: str, by: str) -> None:
        """A person adds a tag (Zammad's word for a label)."""
        with self.sandbox.lock:
            store = self.sandbox.store
            store.tag_add(store.tickets[int(s.ticket_id)], label, by=store.user_by(by)["id"])

    def notes(self, s: Seeded) -> list[str]:
        with self.sandbox.lock:
            return [str(a.get("body") or "") for a in self.sandbox.store.articles.values()
                    if a.get("ticket_id") == int(s.ticket_id)]

    def markers(self, s: Seeded) -> list[str]:
        return _markers(self.notes(s))

    def note_times(self, s: Seeded) -> list[tuple[str, datetime]]:
        with self.sandbox.lock:
            articles = [a for a in self.sandbox.store.articles.values() if a.get("ticket_id") == int(s.ticket_id)]
        return [(m, datetime.fromisoformat(str(a["created_at"]).replace("Z", "+00:00")))
                for a in articles for m in MARKER.findall(str(a.get("body") or ""))]


# -- the demo ---------------------------------------------------------------------------------------
@dataclass
class _Printer:
    clock: Clock
    lock: threading.Lock = field(default_factory=threading.Lock)
    lines: list[DaemonEvent] = field(default_factory=list)

    def __call__(self, event: DaemonEvent) -> None:
        self.lines.append(event)
        self.say(event.at, f"{event.tracker:<6} {event.ref:<8} {event.kind:<19} {event.summary}")

    def say(self, at: datetime, text: str) -> None:
        with self.lock:
            click.echo(f"  {at.astimezone(DEMO_START.tzinfo).strftime('%a %H:%M')}  {text}")


def _team(sites: dict[str, Site], clock: Clock, stop: threading.Event, say: Callable[[str], None]) -> None:
    """What people do on the trackers meanwhile, at fixed clock times; the trackers' webhooks, which
    `mapping apply` registered, tell the daemons at once."""
    jira, zammad = sites["jira"], sites["zammad"]
    by_key = {(s.kind, t.severity, t.contract): t for s in sites.values() for t in s.seeded}
    script = [
        (timedelta(hours=1), jira, ("jira", 2, "default"), "lowers severity 2 to 4 (no approval)",
         lambda t: jira.lower_severity(t, 4)),
        (timedelta(hours=1, minutes=30), zammad, ("zammad", 3, "24x7"), "lowers severity 3 to 4 (no approval)",
         lambda t: zammad.lower_severity(t, 4)),
        (timedelta(hours=2), zammad, ("zammad", 4, "default"), "archives it straight from 处理中 to 已归档",
         zammad.archive),
        (timedelta(hours=2, minutes=30), jira, ("jira", 4, "default"), "archives it straight from 处理中 to 已归档",
         jira.archive),
        (timedelta(hours=3), jira, ("jira", 4, "24x7"), "the service desk asks for an escalation (label)",
         jira.ask_escalation),
    ]
    for offset, site, key, what, act in script:
        while not stop.is_set() and clock.now() < DEMO_START + offset:
            clock.wait(stop, min((DEMO_START + offset - clock.now()).total_seconds(), 600.0))
        if stop.is_set():
            return
        ticket = by_key[key]
        say(clock.now(), f"{site.kind:<6} {ticket.ref:<8} {'(team)':<19} {what}")
        act(ticket)
        # the tracker calls its webhooks on a thread of its own: the team goes on once the daemon
        # has been told (milliseconds), so that on a stepped clock (the demo's test) time does not
        # move past the edit before the daemon wakes for it. The poll stays the safety net.
        deliveries = site.sandbox.deliveries
        deliveries.wait_for(lambda _attempts, d=deliveries: d.pending == 0, timeout=WEBHOOK_WAIT)


def run_demo(*, rate: float = DEMO_RATE, span: timedelta = DEMO_SPAN, keep: Path | None = None,
             clock: Clock | None = None) -> int:
    """The whole demo; returns the number of problems found in the result (0 = as expected).

    `clock`: another clock than the demo's accelerated one, starting at `DEMO_START` (its
    test gives one it steps, so that the story does not depend on the machine's speed)."""
    from plugin.cli.daemon import open_daemon

    started = time.monotonic()
    # time stands (nearly) still while the trackers are seeded and first read, so every
    # incident is reported at the start and the first pass costs no clock time
    accelerated = None
    if clock is None:
        clock = accelerated = AcceleratedClock(DEMO_START, 1.0)
    with tempfile.TemporaryDirectory(prefix="escalator-demo-") as tmp:
        root = keep or Path(tmp)
        click.echo("Starting a sandbox Jira Cloud and a sandbox Zammad on 127.0.0.1 ...")
        sites: dict[str, Site] = {}
        threads: list[threading.Thread] = []
        stop = threading.Event()
        daemons = []
        receivers: dict[str, WebhookReceiver] = {}
        awake: dict[str, Any] = {}  # tracker -> its daemon, once it runs (its first poll reads the rest)
        try:
            # webhooks bring the team's edits at once; the poll is only the safety net. The
            # receivers listen first: `mapping apply` registers them with the trackers
            os.environ[WEBHOOK_ENV] = WEBHOOK_SECRET
            for kind in ("jira", "zammad"):
                receivers[kind] = WebhookReceiver(
                    WEBHOOK_SECRET, lambda tracker, ticket: awake[tracker].wake(ticket) if tracker in awake else None,
                    trackers=(kind,))
                receivers[kind].start()
            hooks = {kind: {"webhooks": {"enabled": True, "listen": f"127.0.0.1:{r.port}", "public_url": r.url,
                                         "secret": {"env": WEBHOOK_ENV}}} for kind, r in receivers.items()}
            sites["jira"] = JiraSite.build(root / "jira", clock, poll_interval=5.0, extra=hooks["jira"])
            sites["zammad"] = ZammadSite.build(root / "zammad", clock, poll_interval=5.0, extra=hooks["zammad"])
            for site in sites.values():
                click.echo(f"  {site.kind}: {site.sandbox.base_url} — `mapping apply` made "
                           f"{len(site.changes)} change(s), its webhook calling {receivers[site.kind].url} among them")
            for site in sites.values():
                for contract in ("default", "24x7"):
                    for severity in (1, 2, 3, 4):
                        site.create(f"{contract} severity {severity}", severity, contract)
            pace = f"runs {rate / 3600:g} h a second" if accelerated is not None else "is stepped"
            click.echo(f"Seeded {sum(len(s.seeded) for s in sites.values())} incidents (severities 1-4; "
                       "contracts: default = business hours, 24x7). The clock starts on "
                       f"{DEMO_START:%a %Y-%m-%d %H:%M} (Asia/Shanghai) and {pace}.\n")
            printer = _Printer(clock)
            for site in sites.values():
                context = open_daemon(site.config, dry_run=False, clock=clock)
                daemon = context.__enter__()
                daemon.on_event = printer
                daemons.append((daemon, context))
                awake[site.kind] = daemon
                threads.append(threading.Thread(target=daemon.run, name=f"daemon-{site.kind}", daemon=True))
            threads.append(threading.Thread(target=_team, args=(sites, clock, stop, printer.say),
                                            name="team", daemon=True))
            for thread in threads[:-1]:
                thread.start()
            deadline = time.monotonic() + 30
            while any(d.passes == 0 for d, _ in daemons) and time.monotonic() < deadline:
                time.sleep(0.05)
            if accelerated is not None:
                accelerated.retime(rate)
            threads[-1].start()
            end = DEMO_START + span
            while clock.now() < end:
                clock.wait(stop, (end - clock.now()).total_seconds())
        finally:
            stop.set()
            for daemon, _ in daemons:
                daemon.stop()
            for thread in threads:
                thread.join(timeout=10)
            for receiver in receivers.values():
                receiver.stop()
            for _, context in daemons:
                context.__exit__(None, None, None)
        try:
            problems = _summary(sites)
        finally:
            for site in sites.values():
                site.stop()
    click.echo(f"\nDone in {time.monotonic() - started:.1f} s; the sandboxes are stopped and the temporary "
               "folder is removed.")
    return problems


def _summary(sites: dict[str, Site]) -> int:
    click.echo("\nSummary (read back from the trackers):")
    rows = []
    problems = 0
    for site in sites.values():
        for s in site.seeded:
            inc = site.read(s.ticket_id)
            markers = site.markers(s)
            if len(markers) != len(set(markers)):
                problems += 1
            kinds = ", ".join(sorted({m.split("-")[0] for m in markers})) or "-"
            state = STATE_NAMES.get(inc.state, str(inc.state))
            rows.append([site.kind, s.ref, s.contract, inc.severity, inc.escalation_level, state,
                         f"{len(markers)} ({kinds})"])
    click.echo(text_table(["tracker", "ticket", "contract", "severity", "level", "state", "notes"], rows,
                          indent="  "))
    return problems


@click.command()
@click.option("--rate", type=float, default=DEMO_RATE, show_default=True,
              help="Clock seconds per real second (7200: two working hours a second).")
@click.option("--clock", "clock_spec", default=None, metavar="SPEC", hidden=True,
              help="For the demo's test: 'stepped:<channel file>', a clock the test steps from "
                   f"{DEMO_START.isoformat()}.")
def demo(rate: float, clock_spec: str | None) -> None:
    """Watch the escalator work on a sandbox Jira and Zammad (no configuration; about 20 s)."""
    try:
        clock = parse_clock(clock_spec) if clock_spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--clock") from None
    problems = run_demo(rate=rate, clock=clock)
    if problems:
        click.echo(f"{problems} ticket(s) carry a duplicate note: this is a bug, please report it.", err=True)
        raise SystemExit(1)
