"""End to end over loopback: `escalator mapping plan|apply|check --tracker zammad` and the
connector's reads and writes against the sandbox Zammad (sandbox/zammad/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from connectors.base import Cursor, marker_text
from connectors.factory import make_connector, make_provisioner
from connectors.http import Conflict
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident, Unreadable
from mapping.loader import load_procedure
from plugin.cli.main import main
from plugin.config import load_config
from plugin.contracts import contract_of
from sandbox.zammad import Fault, ZammadError, ZammadSandbox

TOKEN = "e2e-zammad-token-42"


class Clock:
    """The sandbox's clock: starts at a fixed instant, one second later at each reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture()
def sandbox():
    box = ZammadSandbox(token=TOKEN, clock=Clock())
    box.add_user("pm1", firstname="Pat", lastname="Manager", email="pm1@example.com", roles=["Agent"])
    box.add_user("cust@example.com", firstname="Cora", lastname="Customer", roles=["Customer"],
                 organization="ACME")
    with box:
        yield box


@pytest.fixture()
def config_path(tmp_path: Path, sandbox: ZammadSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZAMMAD_E2E_TOKEN", TOKEN)
    path = tmp_path / "escalator.yaml"
    path.write_text(yaml.safe_dump({
        "tracker": {"kind": "zammad", "url": sandbox.base_url, "token": {"env": "ZAMMAD_E2E_TOKEN"},
                    "projects": ["Users"], "timeout": 5},
        "mapping_file": "mapping.yaml",
        "contracts": {"by_organisation": {"ACME": "24x7"}},
    }), encoding="utf-8")
    return path


def _cli(*args: str):
    return CliRunner().invoke(main, ["mapping", *args], catch_exceptions=False)


def _apply(config_path: Path) -> TrackerMapping:
    result = _cli("apply", "--config", str(config_path), "--tracker", "zammad", "--yes")
    assert result.exit_code == 0, result.output
    return TrackerMapping.load(config_path.parent / "mapping.yaml")


# -- the admin's mapping ----------------------------------------------------------------------------
def test_plan_apply_check_from_bare_and_again_from_mapped(config_path: Path, sandbox: ZammadSandbox) -> None:
    plan = _cli("plan", "--config", str(config_path), "--tracker", "zammad")
    assert plan.exit_code == 0, plan.output
    assert "create  severity" in plan.output and "create  category" in plan.output
    assert "update  migrations" in plan.output
    # Zammad's "new" means 待处理 but the agent edit screen cannot set it: an own open-type 待处理
    assert "create  state:4" in plan.output and "create  state:1" in plan.output
    assert sandbox.calls_to("/object_manager_attributes$", "POST") == 0  # plan writes nothing

    first = _cli("apply", "--config", str(config_path), "--tracker", "zammad", "--yes")
    assert first.exit_code == 0, first.output
    assert "changed: created select attribute 'incident_severity'" in first.output
    assert "changed: ran the object manager migrations" in first.output
    assert "changed: created 'pending reminder' state '挂起'" in first.output
    mapping = TrackerMapping.load(config_path.parent / "mapping.yaml")
    assert mapping.tracker == "zammad" and mapping.severity.field == "incident_severity"
    assert sorted(mapping.states) == [1, 2, 3, 4, 5, 6, 7]
    states = {s["name"]: s for s in _get(config_path, "/api/v1/ticket_states", expand="true")}
    assert states["挂起"]["state_type"] == "pending reminder" and states["挂起"]["ignore_escalation"] is False
    assert states["暂停"]["state_type"] == "pending reminder" and states["暂停"]["ignore_escalation"] is True
    assert states["已归档"]["state_type"] == "closed"
    assert mapping.states[4] == [str(states["挂起"]["id"])]
    assert mapping.states[3] == [str(states["open"]["id"])]

    again = _cli("apply", "--config", str(config_path), "--tracker", "zammad", "--yes")
    assert again.exit_code == 0, again.output
    assert "0 change(s) to make" in again.output and "0 change(s) made" in again.output
    assert TrackerMapping.load(config_path.parent / "mapping.yaml") == mapping

    check = _cli("check", "--config", str(config_path), "--tracker", "zammad")
    assert check.exit_code == 0, check.output
    assert "The mapping matches the tracker." in check.output


def test_dry_run_changes_nothing(config_path: Path, sandbox: ZammadSandbox) -> None:
    result = _cli("apply", "--config", str(config_path), "--tracker", "zammad", "--dry-run")
    assert result.exit_code == 0 and "Dry run: nothing changed." in result.output
    assert not (config_path.parent / "mapping.yaml").exists()
    assert sandbox.calls_to("/ticket_states$", "POST") == 0


def test_check_reports_drift_one_line_each(config_path: Path, sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    with sandbox.lock:
        store = sandbox.store
        del store.states[int(mapping.states[4][0])]
        attr = next(a for a in store.attributes.values() if a["name"] == "incident_escalation_level")
        attr["data_option"]["options"].pop("3")
    result = _cli("check", "--config", str(config_path), "--tracker", "zammad")
    assert result.exit_code == 1
    drift = [line for line in result.output.splitlines() if line.strip().startswith("drift:")]
    assert any("state 4 (挂起): ticket state id" in d and "is gone" in d for d in drift)
    assert any("escalation_level: option '3' of attribute 'incident_escalation_level' is gone" in d for d in drift)
    assert len(drift) == 2


def test_an_option_removed_on_the_tracker_is_put_back(config_path: Path, sandbox: ZammadSandbox) -> None:
    _apply(config_path)
    with sandbox.lock:
        attr = next(a for a in sandbox.store.attributes.values() if a["name"] == "incident_severity")
        attr["data_option"]["options"].pop("4")
    plan = _cli("plan", "--config", str(config_path), "--tracker", "zammad")
    assert "update  severity" in plan.output and "add option(s) 4" in plan.output
    _apply(config_path)
    assert "0 change(s) to make" in _cli("plan", "--config", str(config_path), "--tracker", "zammad").output


def test_a_wrong_token_is_one_line_without_the_token(config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAMMAD_E2E_TOKEN", "not-the-token-123")
    result = CliRunner().invoke(main, ["mapping", "plan", "--config", str(config_path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "HTTP 401" in lines[0] and "check the Zammad token" in lines[0]
    assert "not-the-token-123" not in result.output and "Traceback" not in result.output


# -- reads and writes over loopback ---------------------------------------------------------------
def _get(config_path: Path, path: str, **params: str):
    config = load_config(config_path)
    provisioner = make_provisioner(config.tracker_settings(), load_procedure())
    return provisioner.client.http.get(path, params=params)


def _http(config_path: Path):
    config = load_config(config_path)
    return make_provisioner(config.tracker_settings(), load_procedure()).client.http


def _connector(config_path: Path, mapping: TrackerMapping):
    return make_connector(load_config(config_path).tracker_settings(), mapping, sleep=lambda s: None)


def test_read_and_write_round_trip(config_path: Path, sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Core switch down", customer="cust@example.com",
                           article={"body": "All floors offline, error E42", "type": "phone"},
                           incident_severity="3", incident_category="1.2", incident_escalation_level="0")
    sandbox.update_ticket(t["id"], by="admin@example.com", state="open", incident_severity="1")
    sandbox.update_ticket(t["id"], by="pm1", incident_severity="2")
    sandbox.add_ticket("Other group", customer="cust@example.com", group="Users", state="closed")
    connector = _connector(config_path, mapping)
    cursor = Cursor()

    results = {r.ref: r for r in connector.read_changed(cursor)}

    inc = results[t["number"]]
    assert isinstance(inc, Incident)
    assert (inc.state, inc.severity, inc.category, inc.escalation_level) == (3, 2, "1.2", 0)
    assert [c.state for c in inc.state_history] == [1, 3]
    assert [c.severity for c in inc.severity_history] == [3, 1, 2]
    assert inc.severity_history[-1].by == "pm1"
    # the ticket names no contract; the config's rule for its organisation picks one, as for the daemon
    assert inc.contract is None and inc.organisation == "ACME"
    assert contract_of(inc, load_config(config_path), load_procedure()) == "24x7"
    assert inc.facts["reporter"] == "Cora Customer" and inc.facts["contact"].startswith("cust@example.com")
    assert "error E42" in (inc.facts["symptom"] or "")
    assert any(isinstance(r, Incident) and r.state == 6 for r in results.values())  # Zammad "closed" = 待审核

    # nothing changed: one search call, no history
    before = len(sandbox.calls)
    assert list(connector.read_changed(cursor)) == []
    assert [c.path for c in sandbox.calls[before:]] == ["/api/v1/tickets/search"]

    # writes
    connector.set_severity(inc, 1)
    connector.set_escalation_level(inc, 1)
    assert connector.set_state(inc, 4) is True
    assert connector.add_note(inc, "Reported to the project manager (§5.2.2).", marker="escalation-L1") is True
    assert connector.add_note(inc, "Reported to the project manager (§5.2.2).", marker="escalation-L1") is False
    assert connector.has_marker(inc, "escalation-L1")
    assert connector.add_note(inc, "We are on it.", marker="customer-update-1", public=True) is True
    connector.notify(inc, ["pm1"], "Escalation", "see the note")
    connector.notify(inc, ["pm1"], "Escalation", "see the note")

    stored = sandbox.ticket(t["id"])
    assert (stored["incident_severity"], stored["incident_escalation_level"]) == ("1", "1")
    assert str(stored["state_id"]) == mapping.states[4][0]
    articles = _get(config_path, f"/api/v1/ticket_articles/by_ticket/{t['id']}")
    markers = [a for a in articles if marker_text("escalation-L1") in (a.get("body") or "")]
    assert len(markers) == 1 and markers[0]["internal"] is True and markers[0]["type"] == "note"
    public = [a for a in articles if marker_text("customer-update-1") in (a.get("body") or "")]
    assert public[0]["internal"] is False
    mentions = _get(config_path, "/api/v1/mentions", mentionable_type="Ticket", mentionable_id=str(t["id"]))
    pm = sandbox.store.user_by("pm1")
    assert [m["user_id"] for m in mentions["mentions"]] == [pm["id"]]

    # the daemon's own writes come back once, as what they are
    again = {r.ref: r for r in connector.read_changed(cursor)}
    mine = again[t["number"]]
    assert (mine.state, mine.severity, mine.escalation_level) == (4, 1, 1)
    assert [e.level for e in mine.escalations] == [1]


def test_a_customer_update_is_emailed_to_the_customer(config_path: Path, sandbox: ZammadSandbox, caplog) -> None:
    mapping = _apply(config_path)
    sandbox.set_group_email("Users", "support@example.com")
    sandbox.add_user("walk-in", firstname="Walk", lastname="In", email="", roles=["Customer"])
    t = sandbox.add_ticket("Core switch down", customer="cust@example.com", incident_severity="2")
    mute = sandbox.add_ticket("No address", customer="walk-in", incident_severity="2")
    connector = _connector(config_path, mapping)
    results = {r.ref: r for r in connector.read_changed(Cursor())}
    inc, walk_in = results[t["number"]], results[mute["number"]]

    assert connector.add_note(inc, "State: in progress.\n\nNext: on site at 10:00.", marker="customer-update-1",
                              public=True) is True
    assert connector.add_note(inc, "State: in progress.", marker="customer-update-1", public=True) is False
    assert connector.has_marker(inc, "customer-update-1")
    [mail] = sandbox.outbox
    assert (mail["to"], mail["from"]) == ("cust@example.com", '"Sandbox Admin via Users" <support@example.com>')
    assert mail["subject"] == f"State: in progress. [Ticket#{t['number']}]"
    assert marker_text("customer-update-1") in mail["body"]
    [article] = [a for a in _get(config_path, f"/api/v1/ticket_articles/by_ticket/{t['id']}") if a["type"] == "email"]
    assert (article["internal"], article["sender"], article["to"]) == (False, "Agent", "cust@example.com")
    assert article["preferences"]["delivery_status"] == "success"
    sent = [h for h in sandbox.history(t["id"]) if h["type"] == "email"]
    assert [(h["object"], h["o_id"], h["value_to"]) for h in sent] == [("Ticket::Article", article["id"],
                                                                       "cust@example.com")]

    with caplog.at_level("WARNING", logger="escalator.zammad"):
        assert connector.add_note(walk_in, "State: in progress.", marker="customer-update-1", public=True) is True
    assert [r.reason for r in caplog.records if r.event == "zammad.reply-as-note"] == [
        "customer walk-in has no e-mail address"]
    [note] = [a for a in _get(config_path, f"/api/v1/ticket_articles/by_ticket/{mute['id']}")
              if marker_text("customer-update-1") in a["body"]]
    assert (note["type"], note["internal"]) == ("note", False)
    assert len(sandbox.outbox) == 1

    # the reply and its history read back as an incident like any other change
    again = {r.ref: r for r in connector.read_changed(Cursor())}
    assert isinstance(again[t["number"]], Incident)


def test_an_email_article_in_a_group_without_address_is_refused(sandbox: ZammadSandbox) -> None:
    t = sandbox.add_ticket("x", customer="cust@example.com")
    with pytest.raises(ZammadError, match="No email address found for group 'Users'"):
        sandbox.add_article(t["id"], "<p>hi</p>", by="admin@example.com", type="email")
    assert sandbox.outbox == []


def test_manual_requests_approvals_and_unreadable(config_path: Path, sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Printer", customer="cust@example.com", incident_severity="2")
    sandbox.update_ticket(t["id"], by="pm1", incident_severity="3", tags=None)
    with sandbox.lock:
        sandbox.store.tag_add(sandbox.store.tickets[t["id"]], "severity-downgrade-approved",
                              by=sandbox.store.user_by("pm1")["id"])
        sandbox.store.tag_add(sandbox.store.tickets[t["id"]], "escalate",
                              by=sandbox.store.user_by("cust@example.com")["id"])
    bad = sandbox.add_ticket("Odd", customer="cust@example.com", state="pending close")
    results = {r.ref: r for r in _connector(config_path, mapping).read_changed(Cursor())}

    inc = results[t["number"]]
    assert [(a.by, a.to_severity) for a in inc.approvals] == [("pm1", 3)]
    assert [r.by for r in inc.manual_requests] == ["cust@example.com"]
    odd = results[bad["number"]]
    assert isinstance(odd, Unreadable)
    assert odd.reason.startswith(f"ticket {bad['number']}: state 'pending close'")


def test_rate_limits_and_server_errors_over_loopback(config_path: Path, sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Slow day", customer="cust@example.com", incident_severity="4")
    sandbox.add_fault(Fault(path=r"/tickets/search$", status=429, retry_after=3))
    sandbox.add_fault(Fault(path=r"/ticket_history/", status=502, times=2))
    sleeps: list[float] = []
    connector = make_connector(load_config(config_path).tracker_settings(), mapping, sleep=sleeps.append)
    results = {r.ref: r for r in connector.read_changed(Cursor())}
    assert isinstance(results[t["number"]], Incident)
    assert sleeps[0] == 3.0 and len(sleeps) == 3  # Retry-After honoured, then two jittered back-offs


def test_read_fresh_and_one_write_with_its_article(config_path: Path, sandbox: ZammadSandbox) -> None:
    """One read (the history, whose assets carry the ticket and its articles) and ONE PUT
    /tickets/:id carrying the article with the attributes: stored whole, or refused whole with
    nothing stored."""
    from connectors.base import Change
    from connectors.http import TrackerError
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Core switch down", customer="cust@example.com",
                           incident_severity="3", incident_escalation_level="0")
    sandbox.update_ticket(t["id"], by="admin@example.com", state="open")
    connector = _connector(config_path, mapping)

    connector.read_fresh(str(t["id"]))  # the first read also loads the states and groups, once per connector
    before = len(sandbox.calls)
    fresh = connector.read_fresh(str(t["id"]))
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [("GET", f"/api/v1/ticket_history/{t['id']}")]
    assert isinstance(fresh.item, Incident) and fresh.markers == frozenset()
    # the ticket as the history's assets carry it reads as the expanded ticket does (GET /tickets/:id)
    assert fresh.item == connector.read_one(str(t["id"]))
    assert fresh.item.organisation == "ACME"

    before = len(sandbox.calls)
    assert connector.write(fresh.item, Change("Reported to the project manager.", "escalation-L1", level=1)) is True
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [("PUT", f"/api/v1/tickets/{t['id']}")]
    assert sandbox.ticket(t["id"])["incident_escalation_level"] == "1"
    fresh = connector.read_fresh(str(t["id"]))
    assert fresh.markers == frozenset({"escalation-L1"}) and fresh.item.escalation_level == 1
    articles = len(_get(config_path, f"/api/v1/ticket_articles/by_ticket/{t['id']}"))

    # a state Zammad no longer has: it refuses the request, the article with it
    with sandbox.lock:
        del sandbox.store.states[int(mapping.states[5][0])]
    with pytest.raises(TrackerError) as err:
        connector.write(fresh.item, Change("Put back, level 2.", "escalation-L2", level=2, state=5))
    assert err.value.status == 422 and "state" in str(err.value) and err.value.part == "state"
    stored = sandbox.ticket(t["id"])
    assert stored["incident_escalation_level"] == "1" and str(stored["state_id"]) != mapping.states[5][0]
    assert len(_get(config_path, f"/api/v1/ticket_articles/by_ticket/{t['id']}")) == articles
    assert connector.read_fresh(str(t["id"])).markers == frozenset({"escalation-L1"})


def test_the_fresh_read_knows_who_is_mentioned_so_notifying_sends_only_the_mentions_missing(
        config_path: Path, sandbox: ZammadSandbox) -> None:
    """Mentions are history (app/models/mention.rb: created and removed, value_to the user id): the
    notification after a fresh read of the same ticket lists no mentions; one made on an older
    snapshot asks GET /mentions."""
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Core switch down", customer="cust@example.com", incident_severity="3")
    connector = _connector(config_path, mapping)
    pm1 = connector.user_id("pm1")
    fresh = connector.read_fresh(str(t["id"]))
    before = len(sandbox.calls)
    connector.notify(fresh.item, ["pm1"], "escalated", "text")
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [("POST", "/api/v1/mentions")]
    answer = _get(config_path, f"/api/v1/ticket_history/{t['id']}")
    [mention] = answer["assets"]["Mention"].values()
    assert mention["user_id"] == pm1 and str(pm1) in answer["assets"]["User"]

    fresh = connector.read_fresh(str(t["id"]))  # pm1 is mentioned now: nothing to send
    before = len(sandbox.calls)
    connector.notify(fresh.item, ["pm1"], "escalated again", "text")
    assert sandbox.calls[before:] == []

    # pm1 unsubscribes: the history says so, the mention is gone from the assets, the next one is sent
    with sandbox.lock:
        mid = next(m["id"] for m in sandbox.store.mentions.values() if m["mentionable_id"] == t["id"])
    _http(config_path).delete(f"/api/v1/mentions/{mid}", headers={"From": "pm1"})  # as pm1 (admin.user)
    answer = _get(config_path, f"/api/v1/ticket_history/{t['id']}")
    assert "Mention" not in answer["assets"]
    assert [e["type"] for e in answer["history"] if e["object"] == "Mention"] == ["created", "removed"]
    stale = fresh.item  # the snapshot from before the removal: its mentions are asked for
    fresh = connector.read_fresh(str(t["id"]))
    before = len(sandbox.calls)
    connector.notify(stale, ["pm1"], "escalated", "text")
    assert [(c.method, c.path) for c in sandbox.calls[before:]] == [("GET", "/api/v1/mentions"),
                                                                   ("POST", "/api/v1/mentions")]


# -- writes Core Workflow accepts (the agent edit screen; sandbox/zammad/core_workflow.py) -----------
def test_put_back_into_a_pending_state_restores_the_reminder_people_set(config_path: Path,
                                                                         sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Vendor case", customer="cust@example.com", incident_severity="3")
    sandbox.update_ticket(t["id"], by="admin@example.com", state="挂起", pending_time="2026-11-25T09:00:00Z")
    sandbox.update_ticket(t["id"], by="pm1", state="open")  # out of 挂起: Zammad clears pending_time
    assert sandbox.ticket(t["id"])["pending_time"] is None
    connector = _connector(config_path, mapping)
    inc = {r.ref: r for r in connector.read_changed(Cursor())}[t["number"]]
    assert inc.state == 3
    connector.client.http.now = lambda: datetime(2026, 11, 21, 12, tzinfo=UTC)  # before that reminder

    assert connector.set_state(inc, 4) is True  # without a pending_time Zammad answers 422
    stored = sandbox.ticket(t["id"])
    assert str(stored["state_id"]) == mapping.states[4][0]
    assert stored["pending_time"].startswith("2026-11-25T09:00:00")


def test_put_back_into_pending_with_no_reminder_to_restore_takes_the_default(config_path: Path,
                                                                           sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    t = sandbox.add_ticket("Waiting", customer="cust@example.com", incident_severity="3", state="open")
    connector = _connector(config_path, mapping)
    inc = {r.ref: r for r in connector.read_changed(Cursor())}[t["number"]]
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    connector.client.http.now = lambda: now
    assert connector.set_state(inc, 5) is True
    stored = sandbox.ticket(t["id"])
    assert str(stored["state_id"]) == mapping.states[5][0]
    assert stored["pending_time"].startswith("2026-12-02T10:00:00")  # tracker.pending_default: 24 hours


def test_put_back_into_待处理_is_a_state_the_edit_screen_offers(config_path: Path, sandbox: ZammadSandbox) -> None:
    mapping = _apply(config_path)
    states = {s["name"]: s for s in _get(config_path, "/api/v1/ticket_states", expand="true")}
    # the escalator's own open-type 待处理 is written; Zammad's "new" still reads as 待处理
    assert mapping.states[1] == [str(states["待处理"]["id"]), str(states["new"]["id"])]
    assert states["待处理"]["state_type"] == "open"
    arrived = sandbox.add_ticket("Just in", customer="cust@example.com", incident_severity="3")
    t = sandbox.add_ticket("Skipped dispatch", customer="cust@example.com", incident_severity="3")
    sandbox.update_ticket(t["id"], by="pm1", state="open")
    connector = _connector(config_path, mapping)
    results = {r.ref: r for r in connector.read_changed(Cursor())}
    assert results[arrived["number"]].state == 1
    with pytest.raises(Conflict, match="Invalid value"):  # why: Zammad refuses a "new" state on edit
        connector.client.update_ticket(str(t["id"]), {"state_id": states["new"]["id"]})
    assert connector.set_state(results[t["number"]], 1) is True
    assert sandbox.ticket(t["id"])["state_id"] == states["待处理"]["id"]


def test_the_report_time_has_no_default(config_path: Path, sandbox: ZammadSandbox) -> None:
    _apply(config_path)
    t = sandbox.add_ticket("No report time given", customer="cust@example.com", incident_severity="3")
    assert sandbox.ticket(t["id"])["incident_reported_at"] is None
    # an attribute an earlier version created with diff 0 is put right
    with sandbox.lock:
        attr = next(a for a in sandbox.store.attributes.values() if a["name"] == "incident_reported_at")
        attr["data_option"]["diff"] = 0
    plan = _cli("plan", "--config", str(config_path), "--tracker", "zammad")
    assert "update  report_time" in plan.output and "no default value" in plan.output
    applied = _cli("apply", "--config", str(config_path), "--tracker", "zammad", "--yes")
    assert "removed the default value of attribute 'incident_reported_at'" in applied.output
    assert "0 change(s) to make" in _cli("plan", "--config", str(config_path), "--tracker", "zammad").output


def test_check_names_missing_group_access(config_path: Path, sandbox: ZammadSandbox) -> None:
    from sandbox.zammad.bot import BotProfile

    _apply(config_path)
    full = _cli("check", "--config", str(config_path), "--tracker", "zammad")
    assert full.exit_code == 0 and "The bot holds every permission the escalator uses." in full.output
    sandbox.set_bot_profile(BotProfile(groups={"Users": ["read"]}))
    blocked = _cli("check", "--config", str(config_path), "--tracker", "zammad")
    assert blocked.exit_code == 1
    assert "MISSING: group access 'change' missing in group Users: no note, level or state can be written" \
        in blocked.output
    assert "group access 'read'" not in blocked.output
