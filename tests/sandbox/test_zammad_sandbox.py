"""The sandbox Zammad over loopback: auth, search, history, articles, object attributes with
their migration step, links, mentions, faults and the rate limiter.

Time is a hand-moved clock; nothing here sleeps. The one slow answer is the server's
(an injected fault) and the client gives up after its own short timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from connectors.http import HttpClient, RetryPolicy
from sandbox.server import Fault
from sandbox.zammad import ZammadSandbox
from tests.handclock import HandClock

TOKEN = "t0ken-admin"
AGENT_TOKEN = "t0ken-agent"
CUSTOMER_TOKEN = "t0ken-customer"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)



class Api:
    """requests with the base URL and a token; `raw` returns the response, the others its JSON."""

    def __init__(self, base: str, token: str | None, scheme: str = "Token"):
        self.base = f"{base}/api/v1"
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Token token={token}" if scheme == "Token" \
                else f"{scheme} {token}"

    def raw(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kw)

    def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        resp = self.raw(method, path, **kw)
        assert resp.status_code == expect, f"{method} {path}: HTTP {resp.status_code}: {resp.text[:300]}"
        return resp.json() if resp.content else None

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, expect: int = 201, **kw: Any) -> Any:
        return self.call("POST", path, expect=expect, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, json=json, **kw)

    def delete(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("DELETE", path, json=json, **kw)


@pytest.fixture
def clock() -> HandClock:
    return HandClock(START)


@pytest.fixture
def sandbox(clock: HandClock) -> Iterator[ZammadSandbox]:
    with ZammadSandbox(token=TOKEN, clock=clock) as sb:
        sb.add_user("agent@example.com", firstname="Ann", lastname="Agent", roles=["Agent"])
        sb.add_user("carl@example.com", firstname="Carl", lastname="Customer", roles=["Customer"],
                    organization="ACME")
        sb.add_token(AGENT_TOKEN, "agent@example.com")
        sb.add_token(CUSTOMER_TOKEN, "carl@example.com")
        yield sb


@pytest.fixture
def api(sandbox: ZammadSandbox) -> Api:
    return Api(sandbox.base_url, TOKEN)


def _ids(tickets: list[dict]) -> list[int]:
    return [t["id"] for t in tickets]


# -- auth -------------------------------------------------------------------------------------------
def test_a_wrong_token_is_401_with_zammads_message(sandbox: ZammadSandbox):
    resp = Api(sandbox.base_url, "wrong").raw("GET", "/users/me")
    assert resp.status_code == 401
    assert resp.json() == {"error": "Can't find User for Token", "error_human": "Can't find User for Token"}
    assert resp.headers["X-Failure"] == "Can't find User for Token"
    bearer = Api(sandbox.base_url, "wrong", scheme="Bearer").raw("GET", "/users/me")
    assert (bearer.status_code, bearer.json()["error"]) == (401, "The provided token is invalid.")
    anonymous = Api(sandbox.base_url, None).raw("GET", "/tickets/1")
    assert (anonymous.status_code, anonymous.json()["error"]) == (403, "Authentication required")


def test_token_and_bearer_both_authenticate(sandbox: ZammadSandbox):
    assert Api(sandbox.base_url, TOKEN).get("/users/me")["login"] == "admin@example.com"
    assert Api(sandbox.base_url, TOKEN, scheme="Bearer").get("/users/me")["login"] == "admin@example.com"
    assert Api(sandbox.base_url, AGENT_TOKEN).get("/users/me")["login"] == "agent@example.com"


def test_from_header_acts_on_behalf_of_another_user(sandbox: ZammadSandbox, api: Api):
    agent = api.get("/users/me", headers={"From": "agent@example.com"})
    assert agent["login"] == "agent@example.com"
    article = api.post("/ticket_articles", {"ticket_id": 1, "body": "on behalf", "type": "note", "internal": True},
                       headers={"From": "agent@example.com"})
    assert article["created_by_id"] == agent["id"] and article["created_by"] == "agent@example.com"
    entry = [h for h in api.get("/ticket_history/1")["history"] if h["object"] == "Ticket::Article"][-1]
    assert (entry["o_id"], entry["created_by_id"]) == (article["id"], agent["id"])
    # by id works too; an unknown user or a token without admin.user is refused
    assert api.get("/users/me", headers={"From": str(agent["id"])})["id"] == agent["id"]
    unknown = api.raw("GET", "/users/me", headers={"From": "nobody@example.com"})
    assert (unknown.status_code, unknown.json()["error"]) == (403, "No such user 'nobody@example.com'")
    denied = Api(sandbox.base_url, AGENT_TOKEN).raw("GET", "/users/me", headers={"From": "admin@example.com"})
    assert denied.status_code == 403
    assert denied.json()["error"] == "Current user has no permission to use 'From'/'X-On-Behalf-Of'!"


# -- search -----------------------------------------------------------------------------------------
def _five_tickets(sandbox: ZammadSandbox, clock: HandClock) -> list[int]:
    ids = []
    for n in range(5):
        clock.advance(minutes=10)
        ids.append(sandbox.add_ticket(f"Printer {n}", customer="carl@example.com", state="open" if n % 2 else "new",
                                      article={"body": f"body {n}", "type": "web"})["id"])
    return ids


def test_search_condition_after_updated_at_sorted_and_paged(sandbox: ZammadSandbox, clock: HandClock, api: Api):
    ids = _five_tickets(sandbox, clock)  # updated at 09:10, 09:20 ... 09:50
    cond = {"ticket.updated_at": {"operator": "after (absolute)", "value": "2026-11-20T09:20:00Z"}}
    found = api.post("/tickets/search", {"condition": cond, "sort_by": "updated_at", "order_by": "asc",
                                         "expand": True, "per_page": 200}, expect=200)
    # selector2sql compares `updated_at >= value`: the ticket updated at 09:20 is in
    assert _ids(found) == ids[1:]
    assert found[0]["state"] in ("new", "open") and found[0]["customer"] == "carl@example.com"
    pages = [api.post("/tickets/search", {"condition": cond, "sort_by": "updated_at", "order_by": "asc",
                                          "expand": True, "per_page": 2, "page": p}, expect=200) for p in (1, 2, 3)]
    assert [_ids(p) for p in pages] == [ids[1:3], ids[3:5], []]
    newest_first = api.post("/tickets/search", {"condition": cond, "expand": True}, expect=200)
    assert _ids(newest_first) == list(reversed(ids[1:]))  # default: updated_at desc


def test_search_over_get_with_rails_nested_params_and_without_expand(sandbox, clock, api):
    ids = _five_tickets(sandbox, clock)
    params = {"condition[ticket.updated_at][operator]": "after (absolute)",
              "condition[ticket.updated_at][value]": "2026-11-20T09:35:00.000Z",
              "condition[ticket.state_id][operator]": "is", "condition[ticket.state_id][value][]": ["1"],
              "sort_by": "updated_at", "order_by": "asc"}
    found = api.get("/tickets/search", params=params)
    # without expand: ids, the count of this page, and the records in assets
    assert found["tickets"] == [ids[4]] and found["tickets_count"] == 1
    assert found["assets"]["Ticket"][str(ids[4])]["state_id"] == 1
    assert "carl@example.com" in {u["login"] for u in found["assets"]["User"].values()}


def test_search_operators_expert_tree_query_and_visibility(sandbox, clock, api):
    ids = _five_tickets(sandbox, clock)
    not_new = api.post("/tickets/search", {"condition": {"ticket.state_id": {"operator": "is not", "value": [1]}},
                                           "expand": True, "sort_by": "id", "order_by": "asc"}, expect=200)
    assert _ids(not_new) == [ids[1], ids[3]]
    tree = {"operator": "OR", "conditions": [
        {"name": "ticket.title", "operator": "contains", "value": "printer 0"},
        {"operator": "AND", "conditions": [{"name": "ticket.state_id", "operator": "is", "value": ["2"]},
                                           {"name": "ticket.updated_at", "operator": "after (absolute)",
                                            "value": "2026-11-20T09:30:00Z"}]}]}
    found = api.post("/tickets/search", {"condition": tree, "expand": True, "sort_by": "id", "order_by": "asc"},
                     expect=200)
    assert _ids(found) == [ids[0], ids[3]]
    recent = api.post("/tickets/search", {"condition": {"ticket.updated_at": {
        "operator": "within last (relative)", "value": 5, "range": "minute"}}, "expand": True}, expect=200)
    assert _ids(recent) == [ids[4]]
    assert _ids(api.get("/tickets/search", params={"query": "Printer 3", "expand": "true"})) == [ids[3]]
    bad = api.raw("POST", "/tickets/search", json={"condition": {"ticket.state_id": {"operator": "resembles",
                                                                                       "value": 1}}})
    assert bad.status_code == 422 and "Invalid operator" in bad.json()["error"]
    # a customer finds only their own tickets (not the welcome ticket of Nicole Braun)
    mine = Api(sandbox.base_url, CUSTOMER_TOKEN).get("/tickets/search", params={"query": "*", "expand": "true"})
    assert sorted(_ids(mine)) == ids


def test_search_caps_per_page_at_200(sandbox, clock, api):
    for n in range(205):
        sandbox.add_ticket(f"bulk {n}", customer="carl@example.com")
    first = api.get("/tickets/search", params={"query": "bulk", "per_page": 500, "page": 1})
    second = api.get("/tickets/search", params={"query": "bulk", "per_page": 500, "page": 2})
    assert (len(first["tickets"]), len(second["tickets"])) == (200, 5)
    assert len(api.get("/tickets", params={"per_page": 500})) == 100  # GET /tickets caps at 100


# -- tickets and history ---------------------------------------------------------------------------------
def test_every_attribute_change_writes_history(sandbox, clock, api):
    tid = sandbox.add_ticket("Disk full", customer="carl@example.com")["id"]
    agent = api.get("/users/search", params={"query": "agent@", "expand": "true"})[0]
    clock.advance(minutes=5)
    out = api.put(f"/tickets/{tid}", {"state": "pending reminder", "priority_id": 3, "owner_id": agent["id"],
                                      "title": "Disk full on db1", "no_such_attribute": "ignored",
                                      "pending_time": "2026-11-21T09:00:00Z"})
    assert out["state_id"] == 3 and "no_such_attribute" not in out
    assert out["updated_at"] == "2026-11-20T09:05:00.000Z"
    clock.advance(minutes=1)
    api.put(f"/tickets/{tid}", {"state": "closed"})
    clock.advance(minutes=1)
    api.put(f"/tickets/{tid}", {"state": "open"})  # Zammad has no state workflow: closed -> open
    history = api.get(f"/ticket_history/{tid}")["history"]
    changes = [(h["attribute"], h["value_from"], h["value_to"], h.get("id_from"), h.get("id_to"))
               for h in history if h["type"] == "updated"]
    assert ("state", "new", "pending reminder", 1, 3) in changes
    assert ("priority", "2 normal", "3 high", 2, 3) in changes
    assert ("owner", "-", "Ann Agent", 1, agent["id"]) in changes
    assert ("title", "Disk full", "Disk full on db1", None, None) in changes
    assert ("pending_time", "", "2026-11-21 09:00:00 UTC", None, None) in changes
    # leaving the pending state cleared pending_time (Ticket#reset_pending_time)
    assert changes[-3:] == [("state", "pending reminder", "closed", 3, 4),
                            ("pending_time", "2026-11-21 09:00:00 UTC", "", None, None),
                            ("state", "closed", "open", 4, 2)]
    assert history[0]["type"] == "created" and history[0]["created_at"] == "2026-11-20T09:00:00.000Z"
    assert history[-1]["created_at"] == "2026-11-20T09:07:00.000Z"
    assert {h["created_by_id"] for h in history if h["type"] == "updated"} == {sandbox.admin_id}
    assert api.put(f"/tickets/{tid}", {"state": "nonsense"}, expect=422)["error"] == \
        "No lookup value found for 'state': 'nonsense'"
    assert api.put(f"/tickets/{tid}", {"group_id": 999}, expect=422)["error"].startswith("No value found")
    assert api.get("/tickets/999", expect=404)["error"] == "Couldn't find Ticket with 'id'=999"


def test_tags_are_listed_and_historised(sandbox, clock, api):
    tid = sandbox.add_ticket("Tagged", customer="carl@example.com")["id"]
    clock.advance(minutes=3)
    assert api.post("/tags/add", {"object": "Ticket", "o_id": tid, "item": "escalate"}) is True
    api.post("/tags/add", {"object": "Ticket", "o_id": tid, "item": "escalate"})  # already there: no entry
    api.post("/tags/add", {"object": "Ticket", "o_id": tid, "item": "vip"})
    clock.advance(minutes=1)
    assert api.delete("/tags/remove", {"object": "Ticket", "o_id": tid, "item": "vip"}) is True
    assert api.get("/tags", params={"object": "Ticket", "o_id": tid}) == {"tags": ["escalate"]}
    tags = [(h["type"], h["value_to"]) for h in api.get(f"/ticket_history/{tid}")["history"]
            if h.get("attribute") == "tag"]
    assert tags == [("added", "escalate"), ("added", "vip"), ("removed", "vip")]
    assert sandbox.ticket(tid)["updated_at"] == "2026-11-20T09:04:00.000Z"  # tags touch the ticket


def test_articles_internal_and_public(sandbox, clock, api):
    tid = sandbox.add_ticket("Mail down", customer="carl@example.com",
                             article={"body": "help", "type": "web", "sender": "Customer"})["id"]
    clock.advance(minutes=2)
    note = api.post("/ticket_articles", {"ticket_id": tid, "type": "note", "internal": True,
                                         "body": "<p>escalated</p>", "content_type": "text/html"})
    assert (note["type"], note["sender"], note["internal"], note["content_type"]) == \
        ("note", "Agent", True, "text/html")
    reply = api.post("/ticket_articles", {"ticket_id": tid, "type": "web", "internal": False, "body": "on it",
                                          "subject": "Re: Mail down"})
    assert reply["internal"] is False and reply["subject"] == "Re: Mail down"
    assert [a["id"] for a in api.get(f"/ticket_articles/by_ticket/{tid}")][-2:] == [note["id"], reply["id"]]
    customer = Api(sandbox.base_url, CUSTOMER_TOKEN)
    seen = [a["id"] for a in customer.get(f"/ticket_articles/by_ticket/{tid}")]
    assert note["id"] not in seen and reply["id"] in seen
    sneaky = customer.post("/ticket_articles", {"ticket_id": tid, "body": "hi", "type": "note", "internal": True})
    assert (sneaky["internal"], sneaky["sender"]) == (False, "Customer")
    ticket = sandbox.ticket(tid)
    assert ticket["article_count"] == 4 and ticket["last_contact_agent_at"] == "2026-11-20T09:02:00.000Z"
    answer = api.get(f"/ticket_history/{tid}")
    assert answer["assets"]["TicketArticle"][str(note["id"])]["internal"] is True
    created = [h for h in answer["history"] if h["object"] == "Ticket::Article"]
    assert [(h["o_id"], h["related_o_id"], h["related_object"]) for h in created][-3:] == \
        [(note["id"], tid, "Ticket"), (reply["id"], tid, "Ticket"), (sneaky["id"], tid, "Ticket")]
    assert api.post("/ticket_articles", {"ticket_id": tid, "type": "carrier pigeon", "body": "x"},
                    expect=422)["error"] == "No lookup value found for 'type': 'carrier pigeon'"


def test_an_agents_email_article_is_sent_from_the_groups_address(sandbox, clock, api):
    tid = sandbox.add_ticket("Mail down", customer="carl@example.com")["id"]
    refused = api.post("/ticket_articles", {"ticket_id": tid, "type": "email", "to": "carl@example.com",
                                            "body": "<p>on it</p>", "content_type": "text/html"}, expect=500)
    assert refused["error"] == "No email address found for group 'Users' (1)"  # AddsMetadataEmail
    assert sandbox.outbox == [] and sandbox.ticket(tid)["article_count"] == 0

    sandbox.set_group_email("Users", "support@example.com")
    clock.advance(minutes=1)
    mail = api.post("/ticket_articles", {"ticket_id": tid, "type": "email", "to": "carl@example.com",
                                         "internal": False, "body": "<p>on it</p>", "content_type": "text/html"})
    assert (mail["type"], mail["sender"], mail["internal"]) == ("email", "Agent", False)
    assert mail["subject"] == "Mail down"  # empty subject: the ticket's title
    assert mail["from"] == '"Sandbox Admin via Users" <support@example.com>'
    assert mail["message_id"].startswith(f"<20261120090100.{tid}.") and mail["message_id"].endswith(">")
    assert mail["preferences"]["delivery_status"] == "success" and mail["preferences"]["email_address_id"]
    assert mail["body"] == "<p>on it</p>"  # kept as sent
    [sent] = sandbox.outbox
    assert (sent["to"], sent["subject"], sent["body"]) == ("carl@example.com", f"Mail down [Ticket#{77000 + tid}]",
                                                           "<p>on it</p>")
    history = api.get(f"/ticket_history/{tid}")["history"]
    email = [h for h in history if h["type"] == "email"]
    assert [(h["object"], h["o_id"], h["value_from"], h["value_to"], h["related_o_id"]) for h in email] == [
        ("Ticket::Article", mail["id"], "Mail down", "carl@example.com", tid)]
    assert sandbox.ticket(tid)["last_contact_agent_at"] == "2026-11-20T09:01:00.000Z"

    # a customer's e-mail article is incoming mail: nothing is sent
    customer = Api(sandbox.base_url, CUSTOMER_TOKEN)
    customer.post("/ticket_articles", {"ticket_id": tid, "type": "email", "body": "thanks"})
    assert len(sandbox.outbox) == 1


def test_ticket_states_with_state_types(sandbox, api):
    states = {s["name"]: s for s in api.get("/ticket_states", params={"expand": "true"})}
    assert {n: (s["id"], s["state_type"]) for n, s in states.items()} == {
        "new": (1, "new"), "open": (2, "open"), "pending reminder": (3, "pending reminder"),
        "closed": (4, "closed"), "merged": (5, "merged"), "removed": (6, "removed"),
        "pending close": (7, "pending action")}
    assert states["pending close"]["next_state_id"] == 4
    made = api.post("/ticket_states", {"name": "挂起", "state_type_id": 3, "ignore_escalation": True})
    assert (made["id"], made["state_type_id"], made["ignore_escalation"]) == (8, 3, True)
    assert api.post("/ticket_states", {"name": "挂起", "state_type_id": 3}, expect=422)["error"]
    assert Api(sandbox.base_url, AGENT_TOKEN).post("/ticket_states", {"name": "x", "state_type_id": 2},
                                                   expect=403)["error"] == "Not authorized"
    assert [p["name"] for p in api.get("/ticket_priorities")] == ["1 low", "2 normal", "3 high"]
    made = api.post("/ticket_priorities", {"name": "4 critical", "active": True})
    assert made["id"] == 4 and api.get("/ticket_priorities/4")["name"] == "4 critical"
    assert api.put("/ticket_priorities/4", {"name": "4 urgent"})["name"] == "4 urgent"
    # Zammad has no ticket_state_types endpoint (config/routes/ticket.rb): types come with expand
    assert api.get("/ticket_state_types", expect=404)["error"].startswith("No route matches")


# -- object manager ------------------------------------------------------------------------------------------
SEVERITY = {"object": "Ticket", "name": "severity", "display": "Severity", "data_type": "select",
            "data_option": {"options": {"1": "1", "2": "2", "3": "3", "4": "4"}, "default": "", "null": True},
            "active": True, "screens": {"edit": {"ticket.agent": {"shown": True, "required": False}}}}


def test_an_attribute_is_unusable_until_migrations_ran(sandbox, clock, api):
    tid = sandbox.add_ticket("Sev", customer="carl@example.com")["id"]
    made = api.post("/object_manager_attributes", SEVERITY)
    assert (made["to_create"], made["to_migrate"], made["editable"]) == (True, True, True)
    assert made["data_option"]["options"]["2"] == "2"
    assert api.post("/object_manager_attributes", SEVERITY, expect=422)["error"] == "already exists"
    listed = {a["name"]: a for a in api.get("/object_manager_attributes")}
    assert listed["severity"]["object"] == "Ticket" and listed["state_id"]["editable"] is False
    # the keys of the list as documented (docs.zammad.org/en/latest/api/object.html)
    assert set(listed["severity"]) == {
        "id", "name", "display", "data_type", "data_option", "data_option_new", "editable", "active", "screens",
        "to_create", "to_migrate", "to_delete", "to_config", "position", "created_by_id", "updated_by_id",
        "created_at", "updated_at", "object", "deletable"}
    # before the migration the ticket has no such column: the value is dropped silently
    clock.advance(minutes=1)
    out = api.put(f"/tickets/{tid}", {"severity": "2"})
    assert "severity" not in out
    assert not [h for h in api.get(f"/ticket_history/{tid}")["history"] if h.get("attribute") == "severity"]
    assert api.post("/object_manager_attributes_execute_migrations", expect=200) == {}
    migrated = api.get(f"/object_manager_attributes/{made['id']}")
    assert (migrated["to_create"], migrated["to_migrate"]) == (False, False)
    assert api.get(f"/tickets/{tid}")["severity"] is None
    clock.advance(minutes=1)
    assert api.put(f"/tickets/{tid}", {"severity": "2"})["severity"] == "2"
    entry = [h for h in api.get(f"/ticket_history/{tid}")["history"] if h.get("attribute") == "severity"]
    assert [(h["value_from"], h["value_to"]) for h in entry] == [("", "2")]
    found = api.post("/tickets/search", {"condition": {"ticket.severity": {"operator": "is", "value": "2"}},
                                         "expand": True}, expect=200)
    assert _ids(found) == [tid]


def test_attribute_types_validation_and_pending_config(sandbox, api):
    category = {"object": "Ticket", "name": "category", "display": "Category", "data_type": "tree_select",
                "data_option": {"options": [{"name": "Network", "value": "1", "children": [
                    {"name": "WAN", "value": "1::1"}]}], "default": "", "null": True}}
    report_time = {"object": "Ticket", "name": "report_time", "display": "Report time", "data_type": "datetime",
                   "data_option": {"future": False, "past": True, "diff": None, "null": True}}
    broken = {**report_time, "name": "broken", "data_option": {"null": True}}
    assert "future" in api.post("/object_manager_attributes", broken, expect=422)["error"]
    assert api.post("/object_manager_attributes", {**SEVERITY, "name": "bad_id"}, expect=422)["error"]
    assert api.post("/object_manager_attributes", {**SEVERITY, "name": "state_id"}, expect=422)["error"]
    for payload in (category, report_time, SEVERITY):
        api.post("/object_manager_attributes", payload)
    api.post("/object_manager_attributes_execute_migrations", expect=200)
    tid = sandbox.add_ticket("Typed", customer="carl@example.com")["id"]
    out = api.put(f"/tickets/{tid}", {"category": "1::1", "report_time": "2026-11-20T17:00:00+08:00"})
    assert (out["category"], out["report_time"]) == ("1::1", "2026-11-20T09:00:00.000Z")
    times = [h for h in api.get(f"/ticket_history/{tid}")["history"] if h.get("attribute") == "report_time"]
    assert times[0]["value_to"] == "2026-11-20 09:00:00 UTC"
    assert api.put(f"/tickets/{tid}", {"report_time": "yesterday"}, expect=422)["error"]
    # changing options waits for the next migration
    sev_id = next(a["id"] for a in api.get("/object_manager_attributes") if a["name"] == "severity")
    changed = {**SEVERITY, "data_option": {**SEVERITY["data_option"], "options": {"1": "P1", "2": "P2"}}}
    pending = api.put(f"/object_manager_attributes/{sev_id}", changed)
    assert pending["to_config"] is True and pending["data_option_new"]["options"] == {"1": "P1", "2": "P2"}
    assert pending["data_option"]["options"]["1"] == "1"
    api.post("/object_manager_attributes_execute_migrations", expect=200)
    done = api.get(f"/object_manager_attributes/{sev_id}")
    assert done["to_config"] is False and done["data_option"]["options"] == {"1": "P1", "2": "P2"}
    assert Api(sandbox.base_url, AGENT_TOKEN).raw("GET", "/object_manager_attributes").status_code == 403
    # discarding drops what was never migrated
    api.post("/object_manager_attributes", {**SEVERITY, "name": "scratch"})
    api.post("/object_manager_attributes_discard_changes", expect=200)
    assert "scratch" not in {a["name"] for a in api.get("/object_manager_attributes")}


# -- links and mentions ----------------------------------------------------------------------------------
def test_links_between_tickets(sandbox, api):
    incident = sandbox.add_ticket("Incident", customer="carl@example.com")
    problem = sandbox.add_ticket("Problem", customer="carl@example.com")
    link = api.post("/links/add", {"link_type": "parent", "link_object_target": "Ticket",
                                   "link_object_target_value": problem["id"], "link_object_source": "Ticket",
                                   "link_object_source_number": incident["number"]})
    assert (link["link_object_source_value"], link["link_object_target_value"]) == (incident["id"], problem["id"])
    from_incident = api.get("/links", params={"link_object": "Ticket", "link_object_value": incident["id"]})
    assert from_incident["links"] == [{"link_type": "parent", "link_object": "Ticket",
                                       "link_object_value": problem["id"]}]
    assert str(problem["id"]) in from_incident["assets"]["Ticket"]
    from_problem = api.get("/links", params={"link_object": "Ticket", "link_object_value": problem["id"]})
    assert from_problem["links"] == [{"link_type": "child", "link_object": "Ticket",
                                      "link_object_value": incident["id"]}]
    assert api.delete("/links/remove", {"link_type": "parent", "link_object_source": "Ticket",
                                        "link_object_source_value": incident["id"], "link_object_target": "Ticket",
                                        "link_object_target_value": problem["id"]}, expect=201) is True
    assert api.get("/links", params={"link_object": "Ticket", "link_object_value": problem["id"]})["links"] == []
    assert api.post("/links/add", {"link_type": "normal", "link_object_target": "Ticket",
                                   "link_object_target_value": problem["id"], "link_object_source": "Ticket",
                                   "link_object_source_number": "nope"}, expect=422) == \
        {"error": "No such object!", "error_human": "No such object!"}


def test_mentions_name_the_current_user(sandbox, clock, api):
    tid = sandbox.add_ticket("Mention me", customer="carl@example.com")["id"]
    agent = api.get("/users/me", headers={"From": "agent@example.com"})
    clock.advance(minutes=2)
    # a user_id is ignored by Zammad: the mention is the caller's, so act on behalf of the agent
    assert api.post("/mentions", {"mentionable_type": "Ticket", "mentionable_id": tid, "user_id": agent["id"]}) \
        is True
    assert api.post("/mentions", {"mentionable_type": "Ticket", "mentionable_id": tid},
                    headers={"From": "agent@example.com"}) is True
    assert api.post("/mentions", {"mentionable_type": "Ticket", "mentionable_id": tid}) is True  # again: no-op
    listed = api.get("/mentions", params={"mentionable_type": "Ticket", "mentionable_id": tid})["mentions"]
    assert sorted(m["user_id"] for m in listed) == sorted([sandbox.admin_id, agent["id"]])
    assert set(listed[0]) == {"id", "mentionable_type", "mentionable_id", "user_id", "updated_by_id",
                              "created_by_id", "created_at", "updated_at"}
    assert api.post("/mentions", {"mentionable_type": "Organization", "mentionable_id": 1}, expect=422)["error"]
    mine = next(m for m in listed if m["user_id"] == sandbox.admin_id)
    theirs = next(m for m in listed if m["user_id"] == agent["id"])
    assert api.delete(f"/mentions/{theirs['id']}", expect=404)  # only one's own mention can be removed
    assert api.delete(f"/mentions/{mine['id']}")["id"] == mine["id"]
    assert [m["id"] for m in api.get("/mentions", params={"mentionable_type": "Ticket",
                                                          "mentionable_id": tid})["mentions"]] == [theirs["id"]]
    entries = [h for h in api.get(f"/ticket_history/{tid}")["history"] if h["object"] == "Mention"]
    assert [(h["type"], h["value_to"], h["related_o_id"]) for h in entries] == \
        [("created", str(sandbox.admin_id), tid), ("created", str(agent["id"]), tid),
         ("removed", str(sandbox.admin_id), tid)]
    assert sandbox.ticket(tid)["updated_at"] == "2026-11-20T09:02:00.000Z"


# -- faults and rate limit ---------------------------------------------------------------------------------
def test_injected_429_and_503(sandbox, api):
    sandbox.add_fault(Fault(path=r"/tickets/search$", status=429, retry_after=7))
    sandbox.add_fault(Fault(path=r"/ticket_history/", status=503, times=2))
    throttled = api.raw("GET", "/tickets/search", params={"query": "*"})
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
    assert api.raw("GET", "/tickets/search", params={"query": "*"}).status_code == 200
    assert [api.raw("GET", "/ticket_history/1").status_code for _ in range(3)] == [503, 503, 200]
    assert sandbox.calls_to(r"/ticket_history/") == 3


def test_the_connector_transport_retries_honouring_retry_after(sandbox):
    waits: list[float] = []
    client = HttpClient(sandbox.base_url, tracker="zammad", headers={"Authorization": f"Token token={TOKEN}"},
                        secrets=[TOKEN], sleep=waits.append, retry=RetryPolicy(attempts=3))
    sandbox.add_fault(Fault(path=r"/users/me", status=429, retry_after=2))
    assert client.get("/api/v1/users/me")["login"] == "admin@example.com"
    assert waits == [2.0]


def test_a_slow_answer_trips_the_client_timeout(sandbox, api):
    sandbox.add_fault(Fault(path=r"/tickets/1$", status=0, delay=0.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.raw("GET", "/tickets/1", timeout=0.1)
    assert api.get("/tickets/1")["id"] == 1  # the fault was used up


def test_rate_limit_answers_like_rack_attack(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, rate_limit=1.0) as sandbox:
        api = Api(sandbox.base_url, TOKEN)
        assert api.raw("GET", "/users/me").status_code == 200
        limited = api.raw("GET", "/users/me")
        assert limited.status_code == 429
        assert limited.text == "Retry later\n" and limited.headers["Content-Type"].startswith("text/plain")
        assert int(limited.headers["Retry-After"]) >= 1


# -- the seed API ------------------------------------------------------------------------------------------
def test_seed_api_writes_like_a_person_would(clock):
    with ZammadSandbox(token=TOKEN, clock=clock, demo_ticket=False) as sandbox:
        api = Api(sandbox.base_url, TOKEN)
        assert api.get("/tickets") == []
        sandbox.add_group("2nd Level")
        sandbox.add_user("eve@example.com", firstname="Eve", roles=["Agent"], groups={"2nd Level": ["full"]})
        sandbox.add_user("bob@example.com", roles=["Customer"], organization="Bob & Co")
        sandbox.add_token(AGENT_TOKEN, "eve@example.com")
        waiting = sandbox.add_state("暂停", "pending reminder", ignore_escalation=True)
        ticket = sandbox.add_ticket("VPN down", customer="bob@example.com", group="2nd Level",
                                    tags=["network"])
        assert ticket["organization_id"] == api.get("/organizations")[0]["id"]  # from the customer
        clock.advance(minutes=30)
        sandbox.add_article(ticket["id"], "vendor called", by="eve@example.com", internal=True)
        changed = sandbox.update_ticket(ticket["id"], by="eve@example.com", state_id=waiting["id"])
        assert changed["state_id"] == waiting["id"] and changed["updated_at"] == "2026-11-20T09:30:00.000Z"
        eve = Api(sandbox.base_url, AGENT_TOKEN)
        assert [t["id"] for t in eve.get("/tickets")] == [ticket["id"]]
        history = eve.get(f"/ticket_history/{ticket['id']}")["history"]
        last = [h for h in history if h["type"] == "updated"][-1]
        assert (last["attribute"], last["value_to"], last["created_by_id"]) == \
            ("state", "暂停", eve.get("/users/me")["id"])
        assert [h["type"] for h in history if h["type"] != "notification"] == \
            ["created", "added", "created", "updated"]
        # Zammad's notification transaction: the group's agents on create, never the author
        told = [(h["value_to"], h["created_by_id"]) for h in history if h["type"] == "notification"]
        bob, eve_id = api.get("/users/search", params={"query": "bob@"})["user_ids"][0], eve.get("/users/me")["id"]
        assert told == [("admin@example.com(create:online,email)", bob), ("eve@example.com(create:online,email)", bob),
                        ("admin@example.com(update:online,email)", eve_id),
                        ("admin@example.com(update:online,email)", eve_id)]
        assert [h for h in history if h["type"] == "notification"][0]["value_from"] is None
        with pytest.raises(ValueError, match="No lookup value found for 'state'"):
            sandbox.add_ticket("bad", customer="bob@example.com", state="nonexistent")
