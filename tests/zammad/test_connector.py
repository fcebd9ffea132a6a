"""ZammadConnector against Zammad's REST API mocked with `responses`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connectors.base import Cursor, marker_text
from connectors.http import AuthError, ServerError, TrackerError, Unreachable
from connectors.paging import PagingLoop
from connectors.zammad.connector import ZammadConnector
from mapping.fieldmap import SeverityMap
from mapping.incident import Incident, Unreadable
from tests.zammad import (
    BASE,
    GROUPS,
    STATES,
    TOKEN,
    USERS,
    change,
    client,
    history,
    mapping,
    ticket,
)

SEARCH = f"{BASE}/api/v1/tickets/search"


def _connector(page_size: int = 2, **kw) -> ZammadConnector:
    return ZammadConnector(client(kw.pop("sleeps", None)), kw.pop("mapping", None) or mapping(),
                           page_size=page_size, **kw)


def _lookups(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.get(f"{BASE}/api/v1/groups", json=GROUPS)


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture()
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- reads ------------------------------------------------------------------------------------------
def test_read_pages_until_a_short_page_with_the_condition_and_history(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5, updated="2026-11-20T09:00:00.000Z"), ticket(6, updated="2026-11-20T09:01:00.000Z")])
    rsps.get(SEARCH, json=[ticket(7, updated="2026-11-20T09:02:00.000Z")])
    for tid in (5, 6, 7):
        rsps.get(f"{BASE}/api/v1/ticket_history/{tid}", json=history(tid))
    cursor = Cursor(since=datetime(2026, 11, 20, 8, 30, tzinfo=UTC))

    results = list(_connector().read_changed(cursor))

    assert [r.ref for r in results] == ["77005", "77006", "77007"]
    assert all(isinstance(r, Incident) for r in results)
    searches = [c for c in rsps.calls if c.request.url.startswith(SEARCH)]
    assert len(searches) == 2
    q = _query(searches[0])
    assert q["condition[ticket.updated_at][operator]"] == ["after (absolute)"]
    assert q["condition[ticket.updated_at][value]"] == ["2026-11-20T08:28:00.000Z"]  # since - overlap
    assert q["condition[ticket.group_id][operator]"] == ["is"]
    assert q["condition[ticket.group_id][value][]"] == ["1"]
    assert (q["sort_by"], q["order_by"], q["expand"], q["per_page"]) == (["updated_at"], ["asc"], ["true"], ["2"])
    assert _query(searches[1])["page"] == ["2"]
    assert cursor.since == datetime(2026, 11, 20, 9, 2, tzinfo=UTC)


def test_already_seen_tickets_are_skipped_before_their_history(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5, updated="2026-11-20T09:00:00.000Z")])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    cursor = Cursor()
    cursor.advance("5", datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    assert list(_connector().read_changed(cursor)) == []
    assert not any("/ticket_history/" in c.request.url for c in rsps.calls)


def test_lookups_are_read_once_per_connector(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    connector = _connector()
    list(connector.read_changed(Cursor()))
    list(connector.read_changed(Cursor()))
    paths = [urlsplit(c.request.url).path for c in rsps.calls]
    assert paths.count("/api/v1/ticket_states") == 1
    assert paths.count("/api/v1/groups") == 1
    assert paths.count("/api/v1/users/2") == 0  # users came with the history's assets


def test_a_ticket_updated_while_paging_triggers_one_more_pass(rsps) -> None:
    _lookups(rsps)
    # ticket 5 was updated between page 1 and page 2: it shows up again at the end
    rsps.get(SEARCH, json=[ticket(5, updated="2026-11-20T09:00:00.000Z"), ticket(6, updated="2026-11-20T09:01:00.000Z")])
    rsps.get(SEARCH, json=[ticket(5, updated="2026-11-20T09:05:00.000Z")])
    # second pass: ticket 7 had slipped between the pages
    rsps.get(SEARCH, json=[ticket(6, updated="2026-11-20T09:01:00.000Z"), ticket(7, updated="2026-11-20T09:02:00.000Z")])
    rsps.get(SEARCH, json=[ticket(5, updated="2026-11-20T09:05:00.000Z")])
    for tid in (5, 6, 7):
        rsps.get(f"{BASE}/api/v1/ticket_history/{tid}", json=history(tid))

    refs = [r.ref for r in _connector().read_changed(Cursor())]

    assert refs == ["77005", "77006", "77005", "77007"]


def test_a_server_ignoring_pages_is_an_error_not_a_loop(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5), ticket(6)])
    for tid in (5, 6):
        rsps.get(f"{BASE}/api/v1/ticket_history/{tid}", json=history(tid))
    with pytest.raises(PagingLoop, match=r"zammad: GET /api/v1/tickets/search: page 2 came back the same as "
                                         r"page 1: the server ignores paging"):
        list(_connector().read_changed(Cursor()))


def test_history_becomes_the_incident(rsps) -> None:
    _lookups(rsps)
    t = ticket(5, state_id=11, state="挂起", incident_severity="2", incident_escalation_level="2",
               incident_reported_at="2026-11-20T07:45:00.000Z")
    rsps.get(SEARCH, json=[t])
    entries = [
        change("state", "2026-11-20T08:10:00.000Z", id_from=1, id_to=10, value_from="new", value_to="已派单"),
        change("state", "2026-11-20T08:20:00.000Z", id_from=10, id_to=2, value_from="已派单", value_to="open"),
        change("incident_severity", "2026-11-20T08:30:00.000Z", value_from="3", value_to="1"),
        change("tag", "2026-11-20T08:40:00.000Z", by=2, value_to="escalate", type_="added"),
        change("incident_escalation_level", "2026-11-20T08:45:00.000Z", value_from="0", value_to="2"),
        change("incident_severity", "2026-11-20T08:50:00.000Z", by=4, value_from="1", value_to="2"),
        change("tag", "2026-11-20T08:50:00.000Z", by=4, value_to="severity-downgrade-approved", type_="added"),
        change("state", "2026-11-20T08:55:00.000Z", id_from=2, id_to=11, value_from="open", value_to="挂起"),
        change("group", "2026-11-20T08:56:00.000Z", id_from=1, id_to=2, value_from="Users", value_to="Network"),
        change("tag", "2026-11-20T08:58:00.000Z", by=4, value_to="escalation-acknowledged", type_="added"),
    ]
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5, entries))

    [inc] = list(_connector().read_changed(Cursor()))

    assert isinstance(inc, Incident)
    assert (inc.state, inc.severity, inc.category, inc.escalation_level) == (4, 2, "1.2", 2)
    assert inc.reported_at == datetime(2026, 11, 20, 7, 45, tzinfo=UTC)
    assert [(c.state, c.at.minute) for c in inc.state_history] == [(1, 45), (2, 10), (3, 20), (4, 55)]
    assert [c.severity for c in inc.severity_history] == [3, 1, 2]
    assert inc.severity_history[2].by == "pm1" and inc.severity_history[2].by_name == "Pat Manager"
    assert [(e.level, e.by) for e in inc.escalations] == [(1, "agent1"), (2, "agent1")]
    assert [(r.by, r.at.minute) for r in inc.manual_requests] == [("nicole.braun@zammad.org", 40)]
    assert [(a.by, a.to_severity) for a in inc.approvals] == [("pm1", 2)]
    assert [g.group for g in inc.group_history] == ["Users", "Network"]
    assert [(a.by, a.at.minute) for a in inc.acknowledgements] == [("pm1", 58)]
    # no contract attribute on the ticket: the connector names none (the config's rules are plugin.contracts')
    assert inc.contract is None and inc.organisation == "Zammad Foundation"
    assert inc.facts["reporter"] == "Nicole Braun"
    assert inc.facts["contact"] == "nicole.braun@zammad.org, +49 30 123"
    assert inc.facts["recorded_by"] == "Agent One"
    assert inc.facts["symptom"] == "Core switch down, error E42"
    assert inc.facts["affected_ci"] == "core-switch-01"
    assert inc.facts["occurred_at"] is None
    assert inc.assignee == "agent1" and inc.assignee_name == "Agent One"  # the login; the name people read


def test_without_history_the_current_values_are_the_initial_ones(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    [inc] = list(_connector().read_changed(Cursor()))
    assert [(c.state, c.at) for c in inc.state_history] == [(3, inc.reported_at)]
    assert [c.severity for c in inc.severity_history] == [2]
    assert inc.reported_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # created_at: no report time set


def test_articles_are_fetched_when_the_history_brings_none(rsps) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5, articles=False))
    rsps.get(f"{BASE}/api/v1/ticket_articles/by_ticket/5",
             json=[{"id": 1, "body": "", "content_type": "text/plain", "created_at": "2026-11-20T08:00:00Z"},
                   {"id": 2, "body": "printer jams", "content_type": "text/plain",
                    "created_at": "2026-11-20T08:01:00Z"}])
    [inc] = list(_connector().read_changed(Cursor()))
    assert inc.facts["symptom"] == "printer jams"


@pytest.mark.parametrize(("fields", "needle"), [
    ({"state_id": 3, "state": "pending reminder"}, "state 'pending reminder' (id 3)"),
    ({"incident_severity": "9"}, "incident_severity value '9'"),
    ({"incident_category": "7.7"}, "incident_category value '7.7'"),
    ({"incident_escalation_level": "5"}, "incident_escalation_level value '5'"),
])
def test_unknown_values_make_the_ticket_unreadable_naming_number_and_value(rsps, fields, needle) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5, **fields)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    [result] = list(_connector().read_changed(Cursor()))
    assert isinstance(result, Unreadable)
    assert result.ref == "77005"
    assert result.reason.startswith("ticket 77005: ")
    assert needle in result.reason


def test_an_unknown_state_id_refreshes_the_state_cache(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES[:2])
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.get(f"{BASE}/api/v1/groups", json=GROUPS)
    rsps.get(SEARCH, json=[ticket(5, state_id=11, state="挂起")])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    connector = _connector()
    [inc] = list(connector.read_changed(Cursor()))
    assert inc.state == 4
    assert 11 in connector.lookups.states


def test_read_one_falls_back_to_the_ticket_number(rsps) -> None:
    _lookups(rsps)
    rsps.get(f"{BASE}/api/v1/tickets/77005", status=404, json={"error": "Couldn't find Ticket with 'id'=77005"})
    rsps.get(SEARCH, json=[ticket(5)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5))
    result = _connector().read_one("77005")
    assert result.id == "5"
    search = next(c for c in rsps.calls if c.request.url.startswith(SEARCH))
    assert _query(search)["condition[ticket.number][value]"] == ["77005"]


def test_every_search_is_condition_only_so_zammad_pages_it_in_sql(rsps) -> None:
    # With a `query`, Zammad searches Elasticsearch, whose result window ends at 10,000
    # (zammad/zammad#5559); without one it runs the condition as SQL with OFFSET/LIMIT
    # (CanSearch.search), so offset paging holds for any number of tickets.
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5), ticket(6, updated="2026-11-20T09:01:00.000Z")])
    rsps.get(f"{BASE}/api/v1/tickets/77005", status=404, json={"error": "Couldn't find Ticket"})
    for tid in (5, 6):
        rsps.get(f"{BASE}/api/v1/ticket_history/{tid}", json=history(tid))
    connector = _connector(page_size=200)
    list(connector.read_changed(Cursor()))
    connector.read_one("77005")
    connector.find_task("incident-escalator-callbacks-2026-W47")
    searches = [_query(c) for c in rsps.calls if c.request.url.startswith(SEARCH)]
    assert len(searches) == 3
    assert all("query" not in q and any(k.startswith("condition[") for k in q) for q in searches)


def test_an_unknown_watched_group_is_a_clear_error(rsps) -> None:
    _lookups(rsps)
    connector = _connector(projects=["Nope"])
    with pytest.raises(Exception, match="no Zammad group 'Nope'"):
        list(connector.read_changed(Cursor()))


# -- transport --------------------------------------------------------------------------------------
def test_token_and_from_headers(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/users/me", json={"id": 3})
    client(on_behalf_of="service-desk").me()
    client(auth="oauth2").me()
    first, second = rsps.calls
    assert first.request.headers["Authorization"] == f"Token token={TOKEN}"
    assert first.request.headers["From"] == "service-desk"
    assert second.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "From" not in second.request.headers


@pytest.mark.parametrize(("status", "words"), [(401, "check the Zammad token"), (403, "permission denied")])
def test_auth_errors_are_one_line_without_the_token(rsps, caplog, status, words) -> None:
    rsps.get(f"{BASE}/api/v1/tickets/5",
             json={"error": f"authentication failed for token {TOKEN}", "error_human": f"bad token {TOKEN}"},
             status=status)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthError) as err:
        _connector().read_one("5")
    text = str(err.value)
    assert err.value.status == status and words in text
    assert "\n" not in text and TOKEN not in text and TOKEN not in caplog.text


def test_429_waits_as_long_as_retry_after_says(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_states", status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    sleeps: list[float] = []
    connector = _connector(sleeps=sleeps)
    connector._load("states")
    assert sleeps == [7.0]
    assert len(connector.lookups.states) == len(STATES)


def test_5xx_is_retried_then_succeeds_or_fails_with_its_status(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/groups", status=502, body="bad gateway")
    rsps.get(f"{BASE}/api/v1/groups", json=GROUPS)
    sleeps: list[float] = []
    assert len(client(sleeps).groups()) == 2
    assert len(sleeps) == 1
    rsps.replace(responses.GET, f"{BASE}/api/v1/groups", status=503, json={"error": "down"})
    with pytest.raises(ServerError) as err:
        client([], attempts=2).groups()
    assert err.value.status == 503


# -- writes --------------------------------------------------------------------------------------------
def _incident(**kw) -> Incident:
    data = dict(tracker="zammad", id="5", ref="77005", reported_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
                updated_at=datetime(2026, 11, 20, 9, tzinfo=UTC), state=3, severity=2)
    data.update(kw)
    return Incident(**data)


def _json(call) -> dict:
    return json.loads(call.request.body)


def test_attribute_writes_are_puts_and_logged(rsps, caplog) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.put(f"{BASE}/api/v1/tickets/5", json=ticket(5))
    connector = _connector()
    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        connector.set_severity(_incident(), 1)
        connector.set_escalation_level(_incident(), 2)
        assert connector.set_state(_incident(), 2) is True  # an open state: no pending_time
        assert connector.set_state(_incident(state=4), 4) is True  # already there: no call
    bodies = [_json(c) for c in rsps.calls if c.request.method == "PUT"]
    assert bodies == [{"incident_severity": "1"}, {"incident_escalation_level": "2"}, {"state_id": 10}]
    events = [r.event for r in caplog.records]
    assert events == ["zammad.attribute-set"] * 3
    assert TOKEN not in caplog.text


NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize(("current", "entries", "sent"), [
    # the reminder people set before the ticket left 挂起, still to come: restored
    (None, [change("pending_time", "2026-11-20T08:00:00.000Z", value_from="", value_to="2026-11-21 09:00:00 UTC"),
            change("pending_time", "2026-11-20T09:00:00.000Z", value_from="2026-11-21 09:00:00 UTC", value_to="")],
     "2026-11-21T09:00:00.000Z"),
    # the last one is past (it would fire at once): now + tracker.pending_default
    (None, [change("pending_time", "2026-11-19T08:00:00.000Z", value_from="", value_to="2026-11-19 12:00:00 UTC")],
     "2026-11-20T16:00:00.000Z"),
    (None, [], "2026-11-20T16:00:00.000Z"),  # never pending before: the default
    # a move between pending states: the ticket keeps its own reminder, nothing sent
    ("2026-11-22T08:00:00.000Z", [], None),
])
def test_a_pending_state_goes_with_a_pending_time(rsps, caplog, current, entries, sent) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.get(f"{BASE}/api/v1/tickets/5", json=ticket(5, pending_time=current))
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5, entries))
    rsps.put(f"{BASE}/api/v1/tickets/5", json=ticket(5))
    connector = _connector(pending_default=timedelta(hours=6))
    connector.client.http.now = lambda: NOW
    with caplog.at_level(logging.INFO, logger="escalator.zammad"):
        assert connector.set_state(_incident(), 4) is True
    put = [_json(c) for c in rsps.calls if c.request.method == "PUT"]
    assert put == [{"state_id": 11, **({"pending_time": sent} if sent else {})}]
    if sent:
        assert any(r.event == "zammad.pending-time" and r.pending_time == sent for r in caplog.records)


def test_severity_on_priorities_and_a_missing_state(rsps, caplog) -> None:
    rsps.put(f"{BASE}/api/v1/tickets/5", json=ticket(5))
    m = mapping(severity=SeverityMap(source="priority", values={1: "4", 2: "3", 3: "2", 4: "1"}),
                states={1: ["1"], 3: ["2"]})
    connector = _connector(mapping=m)
    connector.set_severity(_incident(), 1)
    assert _json(rsps.calls[0]) == {"priority_id": 4}
    with caplog.at_level(logging.WARNING):
        assert connector.set_state(_incident(), 5) is False
    assert caplog.records[-1].event == "zammad.state-missing"


def test_notes_are_idempotent_by_marker(rsps, caplog) -> None:
    articles = f"{BASE}/api/v1/ticket_articles/by_ticket/5"
    rsps.get(articles, json=[{"id": 1, "body": "<p>hello</p>", "content_type": "text/html"}])
    rsps.post(f"{BASE}/api/v1/ticket_articles", json={"id": 2}, status=201)
    connector = _connector()
    with caplog.at_level(logging.INFO):
        assert connector.add_note(_incident(), "Escalated to the project manager.\n\nAppeal: ask the PM.",
                                  marker="escalation-L1") is True
    body = _json(rsps.calls[-1])
    assert (body["type"], body["internal"], body["content_type"], body["ticket_id"]) == ("note", True, "text/html", 5)
    assert marker_text("escalation-L1") in body["body"]
    assert "<p>Escalated to the project manager.</p>" in body["body"]
    assert caplog.records[-1].event == "zammad.note-added"

    rsps.replace(responses.GET, articles, json=[{"id": 2, "body": body["body"], "content_type": "text/html"}])
    assert connector.add_note(_incident(), "again", marker="escalation-L1") is False
    assert connector.has_marker(_incident(), "escalation-L1") is True
    assert connector.has_marker(_incident(), "escalation-L2") is False
    assert len([c for c in rsps.calls if c.request.method == "POST"]) == 1


ARTICLES = f"{BASE}/api/v1/ticket_articles"
MAILING_GROUPS = [{"id": 1, "name": "Users", "active": True, "email_address_id": 1},
                  {"id": 2, "name": "Network", "active": True, "email_address_id": None}]


def _reply_mocks(rsps, *, customer: dict, group_id: int = 1) -> None:
    rsps.get(f"{ARTICLES}/by_ticket/5", json=[])
    rsps.get(f"{BASE}/api/v1/tickets/5", json=ticket(5, customer_id=customer["id"], group_id=group_id))
    rsps.get(f"{BASE}/api/v1/users/{customer['id']}", json=customer)
    rsps.get(f"{BASE}/api/v1/groups", json=MAILING_GROUPS)
    rsps.post(ARTICLES, json={"id": 7}, status=201)


def test_a_public_note_is_an_email_reply_to_the_customer(rsps, caplog) -> None:
    _reply_mocks(rsps, customer=USERS["2"])
    with caplog.at_level(logging.INFO):
        assert _connector().add_note(_incident(), "Dear customer,\n\nwe are on it.", marker="customer-update",
                                     public=True) is True
    body = _json(next(c for c in rsps.calls if c.request.method == "POST"))
    assert {k: body[k] for k in ("ticket_id", "type", "sender", "internal", "to", "content_type", "subject")} == {
        "ticket_id": 5, "type": "email", "sender": "Agent", "internal": False, "to": "nicole.braun@zammad.org",
        "content_type": "text/html", "subject": "Dear customer,"}
    assert "<p>we are on it.</p>" in body["body"] and marker_text("customer-update") in body["body"]
    assert "from" not in body  # Zammad sets it from the group's address
    record = caplog.records[-1]
    assert (record.event, record.to) == ("zammad.reply-sent", "nicole.braun@zammad.org")


@pytest.mark.parametrize(("customer", "group_id", "reason"), [
    ({"id": 8, "login": "walk-in", "email": ""}, 1, "customer walk-in has no e-mail address"),
    (USERS["2"], 2, "group Network has no e-mail address to send from"),
])
def test_a_public_note_without_an_email_route_stays_a_public_note(rsps, caplog, customer, group_id, reason) -> None:
    _reply_mocks(rsps, customer=customer, group_id=group_id)
    with caplog.at_level(logging.INFO):
        assert _connector().add_note(_incident(), "Dear customer", marker="customer-update", public=True) is True
    body = _json(next(c for c in rsps.calls if c.request.method == "POST"))
    assert (body["type"], body["internal"], body.get("to")) == ("note", False, None)
    events = [(r.event, getattr(r, "reason", None)) for r in caplog.records]
    assert events == [("zammad.reply-as-note", reason), ("zammad.note-added", None)]


def test_a_ticket_without_customer_gets_a_public_note(rsps, caplog) -> None:
    _reply_mocks(rsps, customer=USERS["2"])
    rsps.replace(responses.GET, f"{BASE}/api/v1/tickets/5", json=ticket(5, customer_id=1))
    with caplog.at_level(logging.WARNING):
        assert _connector().add_note(_incident(), "Dear customer", marker="customer-update", public=True) is True
    assert _json(rsps.calls[-1])["type"] == "note"
    assert caplog.records[-1].reason == "the ticket has no customer"


def test_an_email_reply_already_sent_is_found_by_its_marker(rsps) -> None:
    sent = {"id": 7, "type": "email", "internal": False, "content_type": "text/html",
            "body": "<p>Dear customer</p><p><small>" + marker_text("customer-update") + "</small></p>"}
    rsps.get(f"{ARTICLES}/by_ticket/5", json=[sent])
    assert _connector().add_note(_incident(), "Dear customer", marker="customer-update", public=True) is False
    assert [c.request.method for c in rsps.calls] == ["GET"]


class StoringServer:
    """Zammad storing each article it is sent, then answering as `fail` says: an exception
    (the answer never came), a status, or nothing (201)."""

    def __init__(self, rsps, fail=None, *, store: bool = True):
        self.articles: list[dict] = []
        self.posts = 0
        self.fail, self.store = fail, store
        rsps.add_callback(responses.GET, f"{ARTICLES}/by_ticket/5",
                          callback=lambda request: (200, {}, json.dumps(self.articles)))
        rsps.add_callback(responses.POST, ARTICLES, callback=self._post)

    def _post(self, request):
        self.posts += 1
        article = json.loads(request.body)
        if self.store:
            self.articles.append({"id": len(self.articles) + 1, **article})
        if isinstance(self.fail, Exception):
            raise self.fail
        if isinstance(self.fail, int):
            return self.fail, {}, json.dumps({"error": "upstream timed out"})
        return 201, {}, json.dumps({"id": len(self.articles)})


AMBIGUOUS = [
    pytest.param(requests.exceptions.ReadTimeout("read timed out"), id="read-timeout"),
    pytest.param(requests.exceptions.ConnectionError(ConnectionResetError(104, "reset by peer")), id="reset"),
    pytest.param(502, id="502"),
]


@pytest.mark.parametrize("fail", AMBIGUOUS)
def test_a_note_whose_answer_never_came_is_found_by_its_marker_not_posted_again(rsps, caplog, fail) -> None:
    server = StoringServer(rsps, fail)
    connector = _connector()
    with caplog.at_level(logging.INFO):
        assert connector.add_note(_incident(), "Escalated.", marker="escalation-L1") is True
    assert server.posts == 1 and len(server.articles) == 1
    events = [r.event for r in caplog.records]
    assert events[-2:] == ["zammad.answer-lost", "zammad.note-added"]
    # the next pass: the note is there, nothing is written
    assert connector.add_note(_incident(), "Escalated.", marker="escalation-L1") is False
    assert server.posts == 1


@pytest.mark.parametrize("fail", AMBIGUOUS)
def test_a_note_whose_answer_never_came_and_that_is_not_there_is_the_error(rsps, fail) -> None:
    server = StoringServer(rsps, fail, store=False)
    with pytest.raises(TrackerError) as err:
        _connector().add_note(_incident(), "Escalated.", marker="escalation-L1")
    assert isinstance(err.value, (ServerError, Unreachable))
    assert server.posts == 1  # never sent twice: the next pass tries again, after looking again
    assert [c.request.method for c in rsps.calls].count("GET") == 2  # before, and at once after


def test_an_email_reply_whose_answer_never_came_is_not_sent_twice(rsps, caplog) -> None:
    _reply_mocks(rsps, customer=USERS["2"])
    rsps.remove(responses.GET, f"{ARTICLES}/by_ticket/5")
    rsps.remove(responses.POST, ARTICLES)
    server = StoringServer(rsps, requests.exceptions.ReadTimeout("read timed out"))
    with caplog.at_level(logging.INFO):
        assert _connector().add_note(_incident(), "Dear customer", marker="customer-update", public=True) is True
    assert server.posts == 1 and server.articles[0]["type"] == "email"
    assert [r.event for r in caplog.records][-2:] == ["zammad.answer-lost", "zammad.reply-sent"]


def test_notes_escape_html(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/ticket_articles/by_ticket/5", json=[])
    rsps.post(f"{BASE}/api/v1/ticket_articles", json={"id": 2}, status=201)
    _connector().add_note(_incident(), "<script>x</script> & co", marker="m1")
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in _json(rsps.calls[-1])["body"]


def test_notify_mentions_each_person_once_as_that_person(rsps, caplog) -> None:
    rsps.get(f"{BASE}/api/v1/mentions", json={"mentions": [{"id": 1, "user_id": 3}]})
    rsps.get(f"{BASE}/api/v1/users/search", json=[USERS["4"], {"id": 44, "login": "pm10"}])
    rsps.post(f"{BASE}/api/v1/mentions", json=True, status=201)
    connector = _connector()
    connector._users[3] = USERS["3"]
    with caplog.at_level(logging.INFO):
        connector.notify(_incident(), ["pm1", "agent1", "ghost"], "Escalation L1", "text")
    posts = [c for c in rsps.calls if c.request.method == "POST"]
    assert len(posts) == 1
    assert posts[0].request.headers["From"] == "4"
    assert _json(posts[0]) == {"mentionable_type": "Ticket", "mentionable_id": 5}
    events = [r.event for r in caplog.records]
    assert "zammad.mentioned" in events and "zammad.user-missing" in events


def test_a_ticket_deleted_between_search_and_history_is_skipped(rsps, caplog) -> None:
    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5), ticket(6, updated="2026-11-20T09:01:00.000Z")])
    rsps.get(SEARCH, json=[])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", status=404, json={"error": "Couldn't find Ticket with 'id'=5"})
    rsps.get(f"{BASE}/api/v1/ticket_history/6", json=history(6))
    with caplog.at_level(logging.INFO):
        refs = [r.ref for r in _connector().read_changed(Cursor())]
    assert refs == ["77006"]
    assert any(getattr(r, "event", "") == "zammad.ticket-gone" for r in caplog.records)


def test_the_escalators_own_note_is_no_symptom(rsps) -> None:
    from connectors.zammad.notes import note_html

    _lookups(rsps)
    rsps.get(SEARCH, json=[ticket(5)])
    rsps.get(f"{BASE}/api/v1/ticket_history/5", json=history(5, articles=False))
    rsps.get(f"{BASE}/api/v1/ticket_articles/by_ticket/5",
             json=[{"id": 1, "body": note_html("记录不完整：症状描述", "record-incomplete"),
                    "content_type": "text/html", "created_at": "2026-11-20T08:00:00Z"}])
    [inc] = list(_connector().read_changed(Cursor()))
    assert inc.facts["symptom"] is None
