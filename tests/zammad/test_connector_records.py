"""ZammadConnector's own records (problems §4.3.6, the weekly call-back task §4.6.3) against
Zammad's REST API mocked with `responses`: payload shapes, idempotency, errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connectors.base import RecordSpec, record_label
from connectors.http import Conflict, ServerError, TrackerError
from connectors.zammad.connector import FILED_KEY, PROBLEM_KEY, ZammadConnector
from mapping.incident import Incident
from tests.zammad import BASE, USERS, client, mapping, ticket

API = f"{BASE}/api/v1"
SEARCH = f"{API}/tickets/search"
LABEL = record_label("problem", "77005")


@pytest.fixture()
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _connector() -> ZammadConnector:
    return ZammadConnector(client(), mapping())


def _incident(**kw) -> Incident:
    data = dict(tracker="zammad", id="5", ref="77005", project="Users", state=3, severity=1,
                reported_at=datetime(2026, 11, 20, 8, tzinfo=UTC), updated_at=datetime(2026, 11, 20, 9, tzinfo=UTC))
    data.update(kw)
    return Incident(**data)


def _calls(rsps, method: str, url: str) -> list:
    return [c for c in rsps.calls if c.request.method == method and c.request.url.split("?")[0] == url]


def _json(call) -> dict:
    return json.loads(call.request.body)


def _problem(**fields) -> dict:
    return ticket(10, title="Problem: core switch", group="Problems", group_id=3, customer_id=2,
                  preferences={FILED_KEY: "problem"}, **fields)


# -- find_problem -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("preferences", "found"), [
    ({PROBLEM_KEY: {"number": "77010", "id": 10}}, "77010"),
    ({}, None),
    ({PROBLEM_KEY: "77010"}, None),  # not what the escalator writes: not trusted
    ({PROBLEM_KEY: {"id": 10}}, None),
])
def test_find_problem_reads_the_incidents_preference(rsps, preferences, found) -> None:
    rsps.get(f"{API}/tickets/5", json=ticket(5, preferences=preferences))
    assert _connector().find_problem(_incident()) == found
    assert len(rsps.calls) == 1 and parse_qs(urlsplit(rsps.calls[0].request.url).query)["expand"] == ["true"]


# -- create_problem -----------------------------------------------------------------------------------
def test_create_problem_files_links_and_remembers(rsps, caplog) -> None:
    rsps.get(SEARCH, json=[])
    rsps.get(f"{API}/tickets/5", json=ticket(5, customer_id=2))
    rsps.post(f"{API}/tickets", json=_problem(), status=201)
    rsps.get(f"{API}/links", json={"links": []})
    rsps.post(f"{API}/links/add", json={}, status=201)
    rsps.put(f"{API}/tickets/5", json=ticket(5))

    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        number = _connector().create_problem(_incident(), "Problem: core switch", "Root cause unknown.",
                                             RecordSpec(container="Problems"))

    assert number == "77010"
    query = parse_qs(urlsplit(_calls(rsps, "GET", SEARCH)[0].request.url).query)
    assert query["condition[ticket.tags][operator]"] == ["contains all"]
    assert query["condition[ticket.tags][value]"] == [LABEL]
    assert (query["page"], query["per_page"]) == (["1"], ["1"])
    [create] = _calls(rsps, "POST", f"{API}/tickets")
    assert _json(create) == {
        "title": "Problem: core switch", "group": "Problems", "customer_id": 2, "tags": LABEL,
        "preferences": {FILED_KEY: "problem"},
        "article": {"subject": "Problem: core switch", "body": "Root cause unknown.", "type": "note",
                    "internal": True, "content_type": "text/plain"}}
    [link] = _calls(rsps, "POST", f"{API}/links/add")
    assert _json(link) == {"link_type": "normal", "link_object_target": "Ticket", "link_object_target_value": 5,
                           "link_object_source": "Ticket", "link_object_source_number": "77010"}
    [remember] = _calls(rsps, "PUT", f"{API}/tickets/5")
    assert _json(remember) == {"preferences": {PROBLEM_KEY: {"number": "77010", "id": 10}}}
    # the preference is written last: where it is, the problem is complete
    assert rsps.calls[-1] is remember
    assert [r.event for r in caplog.records] == ["zammad.problem-created", "zammad.linked"]


def test_create_problem_defaults_to_the_incidents_group(rsps) -> None:
    rsps.get(SEARCH, json=[])
    rsps.get(f"{API}/tickets/5", json=ticket(5))
    rsps.post(f"{API}/tickets", json=_problem(), status=201)
    rsps.get(f"{API}/links", json={"links": []})
    rsps.post(f"{API}/links/add", json={}, status=201)
    rsps.put(f"{API}/tickets/5", json=ticket(5))
    _connector().create_problem(_incident(project="Network"), "t", "x", RecordSpec())
    assert _json(_calls(rsps, "POST", f"{API}/tickets")[0])["group"] == "Network"


def test_a_problem_filed_before_a_crash_is_found_by_its_tag_not_filed_again(rsps, caplog) -> None:
    rsps.get(SEARCH, json=[_problem()])
    rsps.get(f"{API}/links", json={"links": []})
    rsps.post(f"{API}/links/add", json={}, status=201)
    rsps.put(f"{API}/tickets/5", json=ticket(5))
    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        assert _connector().create_problem(_incident(), "t", "x", RecordSpec(container="Problems")) == "77010"
    assert _calls(rsps, "POST", f"{API}/tickets") == []
    assert len(_calls(rsps, "POST", f"{API}/links/add")) == 1
    assert _json(_calls(rsps, "PUT", f"{API}/tickets/5")[0]) == {
        "preferences": {PROBLEM_KEY: {"number": "77010", "id": 10}}}
    assert [r.event for r in caplog.records] == ["zammad.linked"]


def test_a_problem_already_linked_is_only_remembered(rsps) -> None:
    rsps.get(SEARCH, json=[_problem()])
    rsps.get(f"{API}/links", json={"links": [{"link_type": "normal", "link_object": "Ticket",
                                              "link_object_value": 10}]})
    rsps.put(f"{API}/tickets/5", json=ticket(5))
    assert _connector().create_problem(_incident(), "t", "x", RecordSpec(container="Problems")) == "77010"
    assert [(c.request.method, c.request.url.split("?")[0]) for c in rsps.calls] == [
        ("GET", SEARCH), ("GET", f"{API}/links"), ("PUT", f"{API}/tickets/5")]


def test_create_problem_without_a_group_says_what_to_set(rsps) -> None:
    rsps.get(SEARCH, json=[])
    rsps.get(f"{API}/tickets/5", json=ticket(5))
    with pytest.raises(TrackerError, match=r"no group to file the ticket in \(set duties.problems.group\)"):
        _connector().create_problem(_incident(project=None), "t", "x", RecordSpec())
    assert _calls(rsps, "POST", f"{API}/tickets") == []


def test_a_5xx_on_create_is_not_retried_and_nothing_is_linked(rsps) -> None:
    rsps.get(SEARCH, json=[])
    rsps.get(f"{API}/tickets/5", json=ticket(5))
    rsps.post(f"{API}/tickets", json={"error": "boom"}, status=502)
    with pytest.raises(ServerError) as err:
        _connector().create_problem(_incident(), "t", "x", RecordSpec(container="Problems"))
    assert err.value.status == 502
    # it may have reached Zammad: the next pass finds it by its tag instead of filing twice
    assert len(_calls(rsps, "POST", f"{API}/tickets")) == 1
    assert [c.request.method for c in rsps.calls if c.request.method != "GET"] == ["POST"]


def test_a_refused_problem_keeps_zammads_reason(rsps) -> None:
    rsps.get(SEARCH, json=[])
    rsps.get(f"{API}/tickets/5", json=ticket(5))
    rsps.post(f"{API}/tickets", json={"error": "No lookup value found for 'group': \"Problems\"",
                                      "error_human": "No lookup value found for 'group': \"Problems\""}, status=422)
    with pytest.raises(Conflict) as err:
        _connector().create_problem(_incident(), "t", "x", RecordSpec(container="Problems"))
    assert err.value.status == 422 and "Problems" in str(err.value)


# -- the weekly call-back task ---------------------------------------------------------------------------
def test_find_task_by_its_tag(rsps) -> None:
    label = record_label("callbacks", "2026-W47")
    rsps.get(SEARCH, json=[ticket(12)])
    assert _connector().find_task(label) == "77012"
    query = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert query["condition[ticket.tags][value]"] == [label]
    rsps.replace(responses.GET, SEARCH, json=[])
    assert _connector().find_task(label) is None


def test_create_task_files_for_the_service_desk_as_the_escalator(rsps, caplog) -> None:
    label = record_label("callbacks", "2026-W47")
    rsps.get(f"{API}/users/me", json={"id": 9, "login": "escalator"})
    rsps.get(f"{API}/users/search", json=[USERS["3"]])
    rsps.post(f"{API}/tickets", json=ticket(12, title="Call-backs"), status=201)
    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        number = _connector().create_task(label, "Call-backs", "1. 77005", RecordSpec(container="Service Desk"),
                                          "agent1")
    assert number == "77012"
    body = _json(_calls(rsps, "POST", f"{API}/tickets")[0])
    assert {k: body[k] for k in ("title", "group", "customer_id", "owner_id", "tags", "preferences")} == {
        "title": "Call-backs", "group": "Service Desk", "customer_id": 9, "owner_id": 3, "tags": label,
        "preferences": {FILED_KEY: "task"}}
    assert (body["article"]["type"], body["article"]["internal"]) == ("note", True)
    record = caplog.records[-1]
    assert (record.event, record.ticket, record.owner) == ("zammad.task-created", "77012", "agent1")


def test_create_task_with_an_unknown_owner_files_it_unowned(rsps, caplog) -> None:
    rsps.get(f"{API}/users/me", json={"id": 9})
    rsps.get(f"{API}/users/search", json=[])
    rsps.post(f"{API}/tickets", json=ticket(12), status=201)
    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        _connector().create_task("lbl", "t", "x", RecordSpec(), "nobody")
    body = _json(_calls(rsps, "POST", f"{API}/tickets")[0])
    assert "owner_id" not in body and body["group"] == "Users"  # the first watched group
    assert [r.event for r in caplog.records] == ["zammad.user-missing", "zammad.task-created"]


def test_create_task_refused_raises_with_the_status(rsps) -> None:
    rsps.get(f"{API}/users/me", json={"id": 9})
    rsps.post(f"{API}/tickets", json={"error": "Not authorized"}, status=422)
    with pytest.raises(Conflict) as err:
        _connector().create_task("lbl", "t", "x", RecordSpec(), None)
    assert err.value.status == 422
