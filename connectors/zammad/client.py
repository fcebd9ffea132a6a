"""Thin Zammad REST v1 client: endpoints as constants, one method per endpoint.

The methods return Zammad's JSON as is; turning it into the procedure's terms is
`connectors.zammad.translate`'s job, deciding what to call is
`connectors.zammad.connector`'s and `connectors.zammad.provision`'s. Timeouts,
retries, `Retry-After` and typed errors are `connectors.http.HttpClient`'s.

Paths and payloads follow the recorded answers in `../shared/reference/zammad_cassettes/`
and, where those are silent, Zammad's REST API documentation
(https://docs.zammad.org/en/latest/api/intro.html) and its source
(app/controllers/*_controller.rb, config/routes/*.rb).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.http import HttpClient
from connectors.paging import by_number

#: Zammad answers 401 with {"error": "authentication failed"}: say what to check.
AUTH_HINT = "check the Zammad token (tracker.token) and tracker.auth (token or oauth2)"

#: The largest page tickets/search serves (TicketsController#search: paginate_with(max: 200)).
MAX_SEARCH_PAGE = 200
#: Index endpoints (users, groups) serve at most 100 per page (paginate_with(max: 100)).
MAX_INDEX_PAGE = 100


def zammad_time(value: datetime) -> str:
    """A UTC timestamp as Zammad writes it: 2025-05-13T08:37:16.572Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def auth_headers(token: str, auth: str, on_behalf_of: str | None) -> dict[str, str]:
    """`Authorization: Token token=…` (API token) or `Bearer …` (OAuth2); `From` to act as a user.

    docs.zammad.org, API → Introduction → Authentication and "Actions on behalf of
    other users" (the From header takes a user id, login or e-mail address).
    """
    headers = {"Authorization": f"Bearer {token}" if auth == "oauth2" else f"Token token={token}"}
    if on_behalf_of:
        headers["From"] = on_behalf_of
    return headers


def search_condition(since: datetime | None, group_ids: list[int]) -> list[tuple[str, str]]:
    """A tickets/search `condition` as Rails nested query parameters.

    Zammad's selector syntax (Ticket::Selector::Sql): `{"ticket.updated_at":
    {"operator": "after (absolute)", "value": iso}, "ticket.group_id": {"operator":
    "is", "value": [ids]}}`. A fresh cursor asks from the epoch, so a condition is
    always present and the search never falls back to a full-text query.

    No `query` goes with it, and that keeps paging by `page`/`per_page` safe past 10,000
    tickets: Zammad searches Elasticsearch only when a query is present and otherwise
    runs the condition as SQL with OFFSET/LIMIT (app/models/concerns/can_search.rb,
    CanSearch.search: "we only search in elastic search when we have a query present").
    Elasticsearch's result window (from + size <= 10,000, zammad/zammad#5559 "... when
    searching with a query") therefore never applies to these reads.
    """
    after = zammad_time(since) if since else "1970-01-01T00:00:00.000Z"
    params = [("condition[ticket.updated_at][operator]", "after (absolute)"),
              ("condition[ticket.updated_at][value]", after)]
    if group_ids:
        params.append(("condition[ticket.group_id][operator]", "is"))
        params += [("condition[ticket.group_id][value][]", str(g)) for g in group_ids]
    return params


class ZammadClient:
    """Zammad REST API v1."""

    API = "/api/v1"
    TICKETS = API + "/tickets"
    TICKETS_SEARCH = API + "/tickets/search"
    TICKET = API + "/tickets/{id}"
    TICKET_HISTORY = API + "/ticket_history/{id}"
    ARTICLES = API + "/ticket_articles"
    ARTICLES_BY_TICKET = API + "/ticket_articles/by_ticket/{id}"
    STATES = API + "/ticket_states"
    STATE = API + "/ticket_states/{id}"
    PRIORITIES = API + "/ticket_priorities"
    GROUPS = API + "/groups"
    USER = API + "/users/{id}"
    USERS_SEARCH = API + "/users/search"
    ME = API + "/users/me"
    MENTIONS = API + "/mentions"
    LINKS = API + "/links"
    LINK_ADD = API + "/links/add"
    ATTRIBUTES = API + "/object_manager_attributes"
    ATTRIBUTE = API + "/object_manager_attributes/{id}"
    EXECUTE_MIGRATIONS = API + "/object_manager_attributes_execute_migrations"

    def __init__(self, http: HttpClient):
        self.http = http

    # -- tickets ---------------------------------------------------------------------------
    def all_tickets(self, condition: list[tuple[str, str]], per_page: int) -> Iterator[dict]:
        """Every ticket matching `condition`, page after page until a short one (`search_tickets`)."""
        size = min(per_page, MAX_SEARCH_PAGE)
        yield from by_number(self.http.tracker, "GET", self.TICKETS_SEARCH,
                             lambda page: self.search_tickets(condition, page, size), size=size)

    def search_tickets(self, condition: list[tuple[str, str]], page: int, per_page: int) -> list[dict]:
        """One page of tickets matching `condition`, oldest update first, expanded.

        With expand=true Zammad answers a bare array of tickets carrying the names of
        their associations (state, priority, group, organization, customer ...), as in
        the recorded TestAPI.test_tickets cassette.
        """
        params = [*condition, ("sort_by", "updated_at"), ("order_by", "asc"), ("expand", "true"),
                  ("page", str(page)), ("per_page", str(min(per_page, MAX_SEARCH_PAGE)))]
        return self.http.get(self.TICKETS_SEARCH, params=params) or []

    def create_ticket(self, ticket: dict[str, Any]) -> dict:
        """POST /tickets (title, group, customer_id, article, tags "a,b"); not retried: a
        ticket that reached Zammad before a 5xx must not be filed twice."""
        return self.http.post(self.TICKETS, json=ticket, idempotent=False)

    def get_ticket(self, ticket_id: str) -> dict:
        return self.http.get(self.TICKET.format(id=ticket_id), params={"expand": "true"})

    def update_ticket(self, ticket_id: str, fields: dict[str, Any], *, idempotent: bool = True) -> dict:
        """PUT /tickets/:id; `idempotent=False` when it carries an `article` (sent twice, it adds two)."""
        return self.http.put(self.TICKET.format(id=ticket_id), json=fields, idempotent=idempotent)

    def history(self, ticket_id: str) -> dict:
        """{"history": [...oldest first...], "assets": {"User": {...}, "TicketArticle": {...}}}."""
        return self.http.get(self.TICKET_HISTORY.format(id=ticket_id)) or {}

    # -- articles ----------------------------------------------------------------------------
    def articles(self, ticket_id: str) -> list[dict]:
        return self.http.get(self.ARTICLES_BY_TICKET.format(id=ticket_id)) or []

    def create_article(self, article: dict[str, Any]) -> dict:
        # not idempotent: an article that reached Zammad before a 5xx or a read timeout
        # must not be posted again (the connector looks for its marker instead, at once)
        return self.http.post(self.ARTICLES, json=article, idempotent=False)

    # -- mentions, links ------------------------------------------------------------------
    def mentions(self, ticket_id: str) -> list[dict]:
        params = {"mentionable_type": "Ticket", "mentionable_id": ticket_id}
        return (self.http.get(self.MENTIONS, params=params) or {}).get("mentions") or []

    def add_mention(self, ticket_id: str, user_id: int) -> None:
        """Subscribe `user_id` to the ticket; Zammad then notifies them of it.

        POST /mentions always mentions the session's user; docs.zammad.org (API →
        Ticket → Mentions) says to send the From header with the user to mention.
        """
        self.http.post(self.MENTIONS, json={"mentionable_type": "Ticket", "mentionable_id": int(ticket_id)},
                       headers={"From": str(user_id)})

    def links(self, ticket_id: str) -> list[dict]:
        params = {"link_object": "Ticket", "link_object_value": ticket_id}
        return (self.http.get(self.LINKS, params=params) or {}).get("links") or []

    def add_link(self, target_id: str, source_number: str, link_type: str) -> None:
        self.http.post(self.LINK_ADD, json={
            "link_type": link_type, "link_object_target": "Ticket", "link_object_target_value": int(target_id),
            "link_object_source": "Ticket", "link_object_source_number": source_number})

    # -- look-ups ----------------------------------------------------------------------------------
    def states(self) -> list[dict]:
        return self.http.get(self.STATES, params={"expand": "true"}) or []

    def create_state(self, state: dict[str, Any]) -> dict:
        return self.http.post(self.STATES, json=state, idempotent=False)  # never two states of one name

    def update_state(self, state_id: int, fields: dict[str, Any]) -> dict:
        return self.http.put(self.STATE.format(id=state_id), json=fields)

    def priorities(self) -> list[dict]:
        return self.http.get(self.PRIORITIES) or []

    def create_priority(self, name: str) -> dict:
        return self.http.post(self.PRIORITIES, json={"name": name, "active": True}, idempotent=False)

    def groups(self) -> list[dict]:
        return list(self._index(self.GROUPS))

    def user(self, user_id: int | str) -> dict:
        return self.http.get(self.USER.format(id=user_id))

    def search_users(self, query: str, limit: int = 10) -> list[dict]:
        params = {"query": query, "limit": limit, "expand": "true"}
        return self.http.get(self.USERS_SEARCH, params=params) or []

    def me(self) -> dict:
        return self.http.get(self.ME)

    # -- object manager ----------------------------------------------------------------------------
    def attributes(self) -> list[dict]:
        return self.http.get(self.ATTRIBUTES) or []

    def create_attribute(self, attribute: dict[str, Any]) -> dict:
        return self.http.post(self.ATTRIBUTES, json=attribute, idempotent=False)

    def update_attribute(self, attribute_id: int, attribute: dict[str, Any]) -> dict:
        return self.http.put(self.ATTRIBUTE.format(id=attribute_id), json=attribute)

    def execute_migrations(self) -> None:
        # The attributes become ticket columns only now (ObjectManager::Attribute.migration_execute).
        self.http.post(self.EXECUTE_MIGRATIONS, json={})

    # -- helpers -----------------------------------------------------------------------------------
    def _index(self, path: str) -> Iterator[dict]:
        """Every record of an index endpoint, paging until a short page (cf. test_pagination)."""
        yield from by_number(self.http.tracker, "GET", path, lambda page: self.http.get(
            path, params={"expand": "true", "page": page, "per_page": MAX_INDEX_PAGE}), size=MAX_INDEX_PAGE)
