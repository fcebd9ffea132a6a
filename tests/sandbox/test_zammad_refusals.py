"""The sandbox Zammad refuses as Zammad does: Core Workflow on ticket writes, object
attribute defaults and position, the restart after migrations, and bot profiles.

Each test shows one refusal (or one server-made value) over loopback with Zammad's
status, its `{"error", "error_human"}` body and, for a refused permission, the
`X-Failure` header. Time is a hand-moved clock; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sandbox.zammad import BotProfile, RestartWindow, ZammadSandbox
from tests.handclock import HandClock

TOKEN, AGENT_TOKEN, CUSTOMER_TOKEN = "t0ken-admin", "t0ken-agent", "t0ken-customer"
START = datetime(2026, 11, 20, 9, 0, 30, tzinfo=UTC)
PENDING_TIME = "Missing required value for field 'pending_time'!"



class Api:
    def __init__(self, sb: ZammadSandbox, token: str):
        self.base = f"{sb.base_url}/api/v1"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Token token={token}"

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.s.request(method, self.base + path, json=body, timeout=10, **kw)

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        resp = self.call(method, path, body, **kw)
        assert resp.status_code in (200, 201), f"{method} {path}: {resp.status_code} {resp.text[:300]}"
        return resp.json()


def refused(resp: requests.Response, status: int, message: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json() == {"error": message, "error_human": message}


@pytest.fixture
def clock() -> HandClock:
    return HandClock(START)


def _people(sb: ZammadSandbox) -> None:
    sb.add_user("agent@example.com", firstname="Ann", lastname="Agent", roles=["Agent"])
    sb.add_user("carl@example.com", firstname="Carl", lastname="Customer", roles=["Customer"])
    sb.add_token(AGENT_TOKEN, "agent@example.com")
    sb.add_token(CUSTOMER_TOKEN, "carl@example.com")


@pytest.fixture
def sandbox(clock: HandClock) -> Iterator[ZammadSandbox]:
    with ZammadSandbox(token=TOKEN, clock=clock) as sb:
        _people(sb)
        yield sb


@pytest.fixture
def api(sandbox: ZammadSandbox) -> Api:
    return Api(sandbox, TOKEN)


def state_id(sb: ZammadSandbox, name: str) -> int:
    return sb.store.by_name("states", name)["id"]


# -- Core Workflow ------------------------------------------------------------------------------------
def test_a_pending_state_needs_pending_time_on_the_edit_screen(sandbox, api):
    tid = sandbox.add_ticket("Disk full", customer="carl@example.com", state="open")["id"]
    refused(api.call("PUT", f"/tickets/{tid}", {"state": "pending reminder"}), 422, PENDING_TIME)
    refused(api.call("PUT", f"/tickets/{tid}", {"state": "pending close", "pending_time": ""}), 422, PENDING_TIME)
    assert sandbox.ticket(tid)["state_id"] == state_id(sandbox, "open")  # nothing was written
    out = api.ok("PUT", f"/tickets/{tid}", {"state": "pending reminder", "pending_time": "2026-11-21T09:00:00Z"})
    assert (out["state_id"], out["pending_time"]) == (state_id(sandbox, "pending reminder"),
                                                      "2026-11-21T09:00:00.000Z")
    # a pending ticket keeps its time through other edits
    assert api.ok("PUT", f"/tickets/{tid}", {"priority_id": 3})["pending_time"] == "2026-11-21T09:00:00.000Z"


def test_every_edit_of_a_pending_ticket_without_pending_time_is_refused(sandbox, api):
    # written without a screen (the seed API, like a trigger or the console): no Core Workflow
    tid = sandbox.add_ticket("Waiting", customer="carl@example.com", state="pending reminder")["id"]
    assert sandbox.ticket(tid)["pending_time"] is None
    refused(api.call("PUT", f"/tickets/{tid}", {"priority_id": 3}), 422, PENDING_TIME)
    refused(api.call("PUT", f"/tickets/{tid}", {}), 422, PENDING_TIME)  # callbacks run without changes too


def test_the_agent_edit_screen_offers_no_new_merged_or_removed_state(sandbox, api):
    tid = sandbox.add_ticket("Printer", customer="carl@example.com", state="open")["id"]
    for name in ("new", "merged"):
        sid = state_id(sandbox, name)
        refused(api.call("PUT", f"/tickets/{tid}", {"state_id": sid}), 422, f"Invalid value '{sid}' for field 'state_id'!")
    new = sandbox.add_ticket("Fresh", customer="carl@example.com")["id"]
    assert api.ok("PUT", f"/tickets/{new}", {"state": "new", "title": "Fresh!"})["title"] == "Fresh!"  # unchanged
    assert api.ok("PUT", f"/tickets/{tid}", {"state": "closed"})["state_id"] == state_id(sandbox, "closed")


def test_a_customer_edits_to_open_or_closed_only(sandbox):
    tid = sandbox.add_ticket("Mine", customer="carl@example.com", state="open")["id"]
    carl = Api(sandbox, CUSTOMER_TOKEN)
    sid = state_id(sandbox, "pending reminder")
    refused(carl.call("PUT", f"/tickets/{tid}", {"state_id": sid, "pending_time": "2026-11-21T09:00:00Z"}), 422,
            f"Invalid value '{sid}' for field 'state_id'!")
    assert carl.ok("PUT", f"/tickets/{tid}", {"state": "closed"})["state_id"] == state_id(sandbox, "closed")


def test_the_create_screen_needs_pending_time_too(sandbox, api):
    ticket = {"title": "New", "group": "Users", "customer": "carl@example.com", "article": {"body": "x"}}
    refused(api.call("POST", "/tickets", {**ticket, "state": "pending reminder"}), 422, PENDING_TIME)
    made = api.ok("POST", "/tickets", {**ticket, "state": "pending reminder", "pending_time": "2026-11-21T09:00:00Z"})
    assert made["pending_time"] == "2026-11-21T09:00:00.000Z"
    # a customer's create screen offers new and closed
    carl = Api(sandbox, CUSTOMER_TOKEN)
    sid = state_id(sandbox, "open")
    refused(carl.call("POST", "/tickets", {**ticket, "state_id": sid}), 422, f"Invalid value '{sid}' for field 'state_id'!")
    assert carl.ok("POST", "/tickets", ticket)["state_id"] == state_id(sandbox, "new")


def test_leaving_a_pending_state_clears_pending_time(sandbox, api):
    tid = sandbox.add_ticket("Waiting", customer="carl@example.com", state="pending reminder",
                             pending_time="2026-11-21T09:00:00Z")["id"]
    out = api.ok("PUT", f"/tickets/{tid}", {"state": "open"})
    assert out["pending_time"] is None
    entry = [h for h in api.ok("GET", f"/ticket_history/{tid}")["history"] if h.get("attribute") == "pending_time"]
    assert [(h["value_from"], h["value_to"]) for h in entry] == [("2026-11-21 09:00:00 UTC", "")]
    # a model callback: the seed API's writes clear it too
    again = sandbox.add_ticket("Waiting", customer="carl@example.com", state="pending close",
                               pending_time="2026-11-21T09:00:00Z")["id"]
    assert sandbox.update_ticket(again, by="admin@example.com", state="closed")["pending_time"] is None


# -- object attributes ---------------------------------------------------------------------------------
def _datetime_attribute(api: Api, name: str, diff: int | None, position: int = 1500) -> dict:
    return api.ok("POST", "/object_manager_attributes", {
        "object": "Ticket", "name": name, "display": name, "data_type": "datetime", "position": position,
        "data_option": {"future": False, "past": True, "diff": diff, "null": True}})


def test_the_controller_puts_every_new_attribute_at_position_1550(api):
    assert _datetime_attribute(api, "reported_at", 0, position=1510)["position"] == 1550


def test_a_datetime_attribute_with_diff_0_defaults_to_now_on_new_tickets(sandbox, api, clock):
    _datetime_attribute(api, "reported_at", 0)
    _datetime_attribute(api, "resolved_at", None)
    api.ok("POST", "/object_manager_attributes_execute_migrations")
    clock.advance(hours=2)
    made = api.ok("POST", "/tickets", {"title": "New", "group": "Users", "customer": "carl@example.com",
                                       "article": {"body": "x"}})
    # SetDefaults#build_value_datetime: diff hours from now, seconds dropped
    assert (made["reported_at"], made["resolved_at"]) == ("2026-11-20T11:00:00.000Z", None)
    sent = api.ok("POST", "/tickets", {"title": "Given", "group": "Users", "customer": "carl@example.com",
                                       "reported_at": "2026-11-19T08:00:00Z", "article": {"body": "x"}})
    assert sent["reported_at"] == "2026-11-19T08:00:00.000Z"
    seeded = sandbox.add_ticket("Seeded", customer="carl@example.com")
    assert seeded["reported_at"] == "2026-11-20T11:00:00.000Z"
    old = sandbox.ticket(1)  # tickets from before the attribute stay empty
    assert old["reported_at"] is None


def test_an_attribute_waiting_for_its_migration_sets_no_default(sandbox, api):
    _datetime_attribute(api, "reported_at", 0)
    made = api.ok("POST", "/tickets", {"title": "New", "group": "Users", "customer": "carl@example.com",
                                       "article": {"body": "x"}})
    assert "reported_at" not in made


# -- restart after migrations ------------------------------------------------------------------------------
def _new_attribute(api: Api, name: str) -> None:
    api.ok("POST", "/object_manager_attributes", {
        "object": "Ticket", "name": name, "display": name, "data_type": "input",
        "data_option": {"type": "text", "maxlength": 20, "null": True}})


def test_zammad_restarts_for_a_while_after_a_migration_that_changed_the_database(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, restart=RestartWindow(seconds=10)) as sb:
        api = Api(sb, TOKEN)
        _new_attribute(api, "ci")
        assert api.call("POST", "/object_manager_attributes_execute_migrations").status_code == 200
        down = api.call("GET", "/tickets/1")
        assert down.status_code == 502
        assert down.headers["Content-Type"].startswith("text/html") and "502 Bad Gateway" in down.text
        clock.advance(seconds=9)
        assert api.call("GET", "/users/me").status_code == 502
        clock.advance(seconds=1)
        assert api.ok("GET", "/tickets/1")["ci"] is None
        # a config-only change does not restart
        ci = next(a for a in api.ok("GET", "/object_manager_attributes") if a["name"] == "ci")
        api.ok("PUT", f"/object_manager_attributes/{ci['id']}", {
            "object": "Ticket", "name": "ci", "display": "CI", "data_type": "input",
            "data_option": {"type": "text", "maxlength": 40, "null": True}})
        api.ok("POST", "/object_manager_attributes_execute_migrations")
        assert api.call("GET", "/tickets/1").status_code == 200


def test_the_restart_window_can_count_requests_instead(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, restart=RestartWindow(requests=2)) as sb:
        api = Api(sb, TOKEN)
        _new_attribute(api, "ci")
        api.ok("POST", "/object_manager_attributes_execute_migrations")
        assert [api.call("GET", "/users/me").status_code for _ in range(3)] == [502, 502, 200]


def test_without_a_restart_window_migrations_answer_at_once(sandbox, api):
    _new_attribute(api, "ci")
    api.ok("POST", "/object_manager_attributes_execute_migrations")
    assert api.call("GET", "/tickets/1").status_code == 200
    with pytest.raises(ValueError, match="either seconds or requests"):
        RestartWindow()


# -- bot profiles -------------------------------------------------------------------------------------------
def test_a_bot_without_admin_user_may_not_act_on_behalf_of_others(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, bot=BotProfile(lacks={"admin.user"})) as sb:
        _people(sb)
        api = Api(sb, TOKEN)
        resp = api.call("GET", "/tickets/1", headers={"From": "agent@example.com"})
        message = "Current user has no permission to use 'From'/'X-On-Behalf-Of'!"
        refused(resp, 403, message)
        assert resp.headers["X-Failure"] == message
        me = api.ok("GET", "/users/me")
        assert me["role_ids"] == [4]  # one role of its own after the seeded Admin, Agent, Customer
        assert api.ok("GET", "/users/me", params={"expand": "true"})["roles"] == ["Escalator bot"]
        assert api.ok("GET", "/tickets/1")["id"] == 1  # the rest still works
        assert api.ok("GET", "/object_manager_attributes")


def test_a_bot_without_ticket_agent_gets_no_ticket(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, bot=BotProfile(lacks={"ticket.agent"})) as sb:
        _people(sb)
        api = Api(sb, TOKEN)
        resp = api.call("GET", "/tickets/1")
        refused(resp, 403, "Not authorized")
        assert resp.headers["X-Failure"] == "Not authorized"
        refused(api.call("POST", "/tickets", {"title": "x", "group": "Users", "customer": "carl@example.com"}),
                403, "Not authorized")
        assert api.ok("GET", "/tickets/search", params={"query": "*", "expand": "true"}) == []


def test_a_bot_with_read_access_to_a_group_may_read_but_not_change_its_tickets(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, bot=BotProfile(groups={"Users": ["read"]})) as sb:
        _people(sb)
        sb.add_group("Network")
        net = sb.add_ticket("Router", customer="carl@example.com", group="Network")["id"]
        api = Api(sb, TOKEN)
        assert api.ok("GET", "/users/me")["group_ids"] == {"1": ["read"]}
        assert api.ok("GET", "/tickets/1")["id"] == 1
        refused(api.call("PUT", "/tickets/1", {"priority_id": 3}), 403, "Not authorized")
        refused(api.call("POST", "/ticket_articles", {"ticket_id": 1, "body": "x", "type": "note"}), 403,
                "Not authorized")
        refused(api.call("POST", "/tags/add", {"object": "Ticket", "o_id": 1, "item": "x"}), 403, "Not authorized")
        refused(api.call("GET", f"/tickets/{net}"), 403, "Not authorized")  # no access to Network at all
        found = api.ok("GET", "/tickets/search", params={"query": "*", "expand": "true"})
        assert [t["id"] for t in found] == [1]
        # other agents still get the new group, as the admin would grant it
        assert Api(sb, AGENT_TOKEN).ok("GET", f"/tickets/{net}")["id"] == net


def test_a_profile_names_what_the_sandbox_checks():
    with pytest.raises(ValueError, match="ticket.customer"):
        BotProfile(lacks={"ticket.customer"})
    with pytest.raises(ValueError, match="write"):
        BotProfile(groups={"Users": ["write"]})
