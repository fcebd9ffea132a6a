"""The real server's recorded answers (../shared/reference/zammad_cassettes) through our parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from connectors.base import Cursor
from connectors.zammad.connector import ZammadConnector
from mapping.fieldmap import SeverityMap
from mapping.incident import Incident
from tests.cassettes import load_cassette
from tests.zammad import BASE, client, mapping


def _answer(cassette: str, method: str, path: str, **query: str):
    for it in load_cassette(cassette):
        if it.method == method and it.path == path and all(it.query.get(k) == v for k, v in query.items()):
            return it
    raise AssertionError(f"{cassette}: no {method} {path} {query}")


def _recorded_mapping():
    # the recorded system: state 1 "new", priority 2 "2 normal", group 1 "Users"
    return mapping(projects=["Users"], severity=SeverityMap(source="priority", values={2: "3", 3: "2", 4: "1"}),
                   states={1: ["1"], 3: ["2"], 6: ["4"]})


@pytest.fixture()
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_recorded_search_page_reads_as_an_incident(rsps) -> None:
    search = _answer("TestAPI.test_tickets", "GET", "/api/v1/tickets/search", expand="true")
    groups = _answer("TestAPI.test_groups", "GET", "/api/v1/groups", expand="true")
    users = _answer("TestAPI.test_users", "GET", "/api/v1/users", page="1")
    rsps.get(f"{BASE}/api/v1/groups", json=groups.response_json)
    rsps.get(f"{BASE}/api/v1/ticket_states", json=[{"id": 1, "name": "new", "state_type_id": 1}])
    rsps.get(f"{BASE}/api/v1/tickets/search", json=search.response_json)
    rsps.get(f"{BASE}/api/v1/ticket_history/1", json={"history": [], "assets": {
        "User": {str(u["id"]): u for u in users.response_json},
        "TicketArticle": {"1": {"id": 1, "ticket_id": 1, "content_type": "text/html",
                                "created_at": "2025-05-13T08:37:16.736Z", "body": "Welcome!"}}}})

    [inc] = list(ZammadConnector(client(), _recorded_mapping(), page_size=10).read_changed(Cursor()))

    assert isinstance(inc, Incident)
    assert (inc.id, inc.ref, inc.title) == ("1", "77001", "Welcome to Zammad!")
    assert (inc.state, inc.severity, inc.project, inc.organisation) == (1, 3, "Users", "Zammad Foundation")
    assert inc.reported_at == datetime(2025, 5, 13, 8, 37, 16, 572000, tzinfo=UTC)
    assert inc.updated_at == datetime(2025, 5, 13, 8, 37, 16, 844000, tzinfo=UTC)
    assert inc.facts["reporter"] == "Nicole Braun"
    assert inc.facts["contact"] == "nicole.braun@zammad.org"
    assert inc.facts["recorded_by"] == "Nicole Braun"
    assert inc.assignee is None  # owner_id 1 is Zammad's "-" (nobody)


def test_a_recorded_plain_ticket_reads_by_id(rsps) -> None:
    show = _answer("TestAPI.test_tickets", "GET", "/api/v1/tickets/1")
    rsps.get(f"{BASE}/api/v1/ticket_states", json=[{"id": 1, "name": "new", "state_type_id": 1}])
    rsps.get(f"{BASE}/api/v1/tickets/1", json=show.response_json)
    rsps.get(f"{BASE}/api/v1/ticket_history/1", json={"history": [], "assets": {}})
    rsps.get(f"{BASE}/api/v1/users/2", json=_answer("TestAPI.test_users", "GET", "/api/v1/users/3").response_json
             | {"id": 2, "login": "nicole.braun@zammad.org", "firstname": "Nicole", "lastname": "Braun"})
    rsps.get(f"{BASE}/api/v1/ticket_articles/by_ticket/1", json=[])
    rsps.get(f"{BASE}/api/v1/groups",
             json=_answer("TestAPI.test_groups", "GET", "/api/v1/groups", expand="true").response_json)

    inc = ZammadConnector(client(), _recorded_mapping()).read_one("1")

    assert isinstance(inc, Incident) and inc.ref == "77001" and inc.state == 1
    assert inc.project == "Users"  # a plain answer names no group: looked up by id


def test_recorded_users_resolve_logins_for_mentions(rsps) -> None:
    found = _answer("TestAPI.test_users", "GET", "/api/v1/users/search")
    rsps.get(f"{BASE}/api/v1/users/search", json=found.response_json)
    connector = ZammadConnector(client(), _recorded_mapping())
    assert connector.user_id("johndoe@example.com") == 3
    assert connector.user_id("JohnDoe@Example.com") == 3  # cached, case-insensitive
    assert len(rsps.calls) == 1


def test_recorded_groups_page_and_resolve_watched_names(rsps) -> None:
    groups = _answer("TestAPI.test_groups", "GET", "/api/v1/groups", expand="true")
    rsps.get(f"{BASE}/api/v1/groups", json=groups.response_json)
    connector = ZammadConnector(client(), _recorded_mapping(), projects=["Users", "Name1"])
    assert connector._group_ids() == [1, 3]


def test_a_recorded_update_answer_is_returned_as_is(rsps) -> None:
    put = _answer("TestAPI.test_tickets", "PUT", "/api/v1/tickets/5")
    rsps.put(f"{BASE}/api/v1/tickets/5", json=put.response_json)
    answer = client().update_ticket("5", put.request_json)
    assert answer["title"] == "TestTicket1" and answer["number"] == "77005"
