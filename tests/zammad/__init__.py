"""Zammad connector tests: shared builders (a mapping, a client with injected sleep, tickets)."""

from __future__ import annotations

import random
from typing import Any

from connectors.http import HttpClient, RetryPolicy
from connectors.zammad.client import AUTH_HINT, ZammadClient, auth_headers
from mapping.fieldmap import CategoryMap, LevelMap, OptionalField, SeverityMap, TrackerMapping

BASE = "https://zammad.example.com"
TOKEN = "s3cr3t-zammad-token-value"


def mapping(**overrides: Any) -> TrackerMapping:
    data: dict[str, Any] = dict(
        tracker="zammad", base_url=BASE, projects=["Users"],
        severity=SeverityMap(source="field", field="incident_severity", values={1: "1", 2: "2", 3: "3", 4: "4"}),
        category=CategoryMap(field="incident_category", values={"1": "1", "1.2": "1.2", "2": "2"}),
        escalation_level=LevelMap(field="incident_escalation_level", values={0: "0", 1: "1", 2: "2", 3: "3"}),
        report_time=OptionalField(field="incident_reported_at"),
        affected_ci=OptionalField(field="incident_ci"),
        states={1: ["1"], 2: ["10"], 3: ["2"], 4: ["11"], 5: ["12"], 6: ["4"], 7: ["13"]},
    )
    data.update(overrides)
    return TrackerMapping(**data)


def client(sleeps: list[float] | None = None, *, auth: str = "token", on_behalf_of: str | None = None,
           attempts: int = 3) -> ZammadClient:
    sleeps = sleeps if sleeps is not None else []
    http = HttpClient(BASE, tracker="zammad", headers=auth_headers(TOKEN, auth, on_behalf_of), secrets=[TOKEN],
                      auth_hint=AUTH_HINT, sleep=sleeps.append, rng=random.Random(4),
                      retry=RetryPolicy(attempts=attempts))
    return ZammadClient(http)


STATES = [
    {"id": 1, "name": "new", "state_type_id": 1, "state_type": "new", "active": True},
    {"id": 2, "name": "open", "state_type_id": 2, "state_type": "open", "active": True},
    {"id": 3, "name": "pending reminder", "state_type_id": 3, "state_type": "pending reminder", "active": True},
    {"id": 4, "name": "closed", "state_type_id": 5, "state_type": "closed", "active": True},
    {"id": 10, "name": "已派单", "state_type_id": 2, "state_type": "open", "active": True},
    {"id": 11, "name": "挂起", "state_type_id": 3, "state_type": "pending reminder", "active": True},
    {"id": 12, "name": "暂停", "state_type_id": 3, "state_type": "pending reminder", "active": True},
    {"id": 13, "name": "已归档", "state_type_id": 5, "state_type": "closed", "active": True},
]
GROUPS = [{"id": 1, "name": "Users", "active": True}, {"id": 2, "name": "Network", "active": True}]
USERS = {
    "2": {"id": 2, "login": "nicole.braun@zammad.org", "firstname": "Nicole", "lastname": "Braun",
          "email": "nicole.braun@zammad.org", "phone": "+49 30 123", "mobile": ""},
    "3": {"id": 3, "login": "agent1", "firstname": "Agent", "lastname": "One", "email": "agent1@example.com"},
    "4": {"id": 4, "login": "pm1", "firstname": "Pat", "lastname": "Manager", "email": "pm1@example.com"},
}


def ticket(ticket_id: int = 5, *, updated: str = "2026-11-20T09:00:00.000Z", **fields: Any) -> dict:
    """An expanded ticket as tickets/search?expand=true answers it (cf. the recorded cassette)."""
    data: dict[str, Any] = {
        "id": ticket_id, "group_id": 1, "priority_id": 2, "state_id": 2, "organization_id": 1,
        "number": f"{77000 + ticket_id}", "title": f"Ticket {ticket_id}", "owner_id": 3, "customer_id": 2,
        "article_count": 1, "preferences": {}, "updated_by_id": 3, "created_by_id": 3,
        "created_at": "2026-11-20T08:00:00.000Z", "updated_at": updated,
        "group": "Users", "organization": "Zammad Foundation", "state": "open", "priority": "2 normal",
        "owner": "agent1", "customer": "nicole.braun@zammad.org", "created_by": "agent1",
        "incident_severity": "2", "incident_category": "1.2", "incident_escalation_level": "0",
        "incident_reported_at": None, "incident_ci": "core-switch-01",
    }
    data.update(fields)
    return data


def history(ticket_id: int = 5, entries: list[dict] | None = None, *, articles: bool = True) -> dict:
    assets: dict[str, Any] = {"User": USERS}
    if articles:
        assets["TicketArticle"] = {"9": {"id": 9, "ticket_id": ticket_id, "content_type": "text/html",
                                         "created_at": "2026-11-20T08:00:00.000Z",
                                         "body": "<p>Core switch down, error E42</p>"}}
    return {"history": entries or [], "assets": assets}


def change(attribute: str, at: str, *, by: int = 3, value_from: Any = None, value_to: Any = None,
           id_from: int | None = None, id_to: int | None = None, type_: str = "updated") -> dict:
    entry: dict[str, Any] = {"id": 1, "o_id": 5, "object": "Ticket", "type": type_, "attribute": attribute,
                             "created_by_id": by, "created_at": at}
    if value_from is not None or value_to is not None:
        entry.update(value_from=value_from, value_to=value_to)
    if id_from is not None or id_to is not None:
        entry.update(id_from=id_from, id_to=id_to)
    return entry
