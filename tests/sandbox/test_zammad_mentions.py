"""People in the sandbox Zammad as in the real one: a mention link in an article body subscribes the
user (Ticket::Article#check_mentions), the escalator's note renders people that way, and the
connector names them by their full names."""

from __future__ import annotations

from connectors.base import Person, mention
from connectors.zammad.notes import article_payload, note_html
from tests.sandbox.test_zammad_sandbox import AGENT_TOKEN, CUSTOMER_TOKEN, Api, api, clock, sandbox  # noqa: F401


def _ticket(sandbox) -> dict:  # noqa: F811
    return sandbox.add_ticket("link down", customer="carl@example.com")


def _mentioned(api, ticket_id: int) -> list[int]:  # noqa: F811
    found = api.get("/mentions", params={"mentionable_type": "Ticket", "mentionable_id": ticket_id})["mentions"]
    return sorted(m["user_id"] for m in found)


def test_the_note_renders_a_person_as_zammads_mention_link() -> None:
    html = note_html(f"Reported to {mention(Person('pm-li', 'Li <Ming>', '7'))} and {mention(Person('x'))}.",
                     "escalation-L1")
    assert html.startswith('<p>Reported to <a data-mention-user-id="7" rel="nofollow">Li &lt;Ming&gt;</a> and x.</p>')
    payload = article_payload("3", f"To {mention(Person('pm-li', 'Li', '7'))}", "text", "m", public=False)
    assert payload["content_type"] == "text/html" and payload["subject"] == "To Li"


def test_an_article_mentioning_agents_subscribes_them_and_not_others(sandbox, api):  # noqa: F811
    ticket = _ticket(sandbox)
    agent, customer = (sandbox.store.user_by(login) for login in ("agent@example.com", "carl@example.com"))
    body = note_html(f"To {mention(Person('a', 'Ann Agent', str(agent['id'])))}, "
                     f"{mention(Person('c', 'Carl', str(customer['id'])))} and {mention(Person('n', 'N', '9999'))}",
                     "escalation-L1")
    article = api.post("/ticket_articles", json={"ticket_id": ticket["id"], "body": body, "type": "note",
                                                 "internal": True, "content_type": "text/html"})
    assert article["body"] == body and article["content_type"] == "text/html"
    # the agent is subscribed; a customer (no agent access) and an unknown id are skipped, silently
    assert _mentioned(api, ticket["id"]) == [agent["id"]]
    history = api.get(f"/ticket_history/{ticket['id']}")["history"]
    assert any(h.get("object") == "Mention" and h.get("value_to") == str(agent["id"]) for h in history)
    # mentioning again subscribes nobody twice
    api.post("/ticket_articles", json={"ticket_id": ticket["id"], "body": body, "type": "note", "internal": True,
                                       "content_type": "text/html"})
    assert _mentioned(api, ticket["id"]) == [agent["id"]]


def test_an_author_who_may_not_mention_is_refused_and_nothing_is_stored(sandbox, api):  # noqa: F811
    ticket = _ticket(sandbox)
    customer = Api(sandbox.base_url, CUSTOMER_TOKEN)
    before = len(api.get(f"/ticket_articles/by_ticket/{ticket['id']}"))
    refused = customer.raw("POST", "/ticket_articles", json={
        "ticket_id": ticket["id"], "body": '<a data-mention-user-id="2">x</a>', "content_type": "text/html"})
    assert refused.status_code == 500 and "has no permission to mention other Users" in refused.json()["error"]
    assert len(api.get(f"/ticket_articles/by_ticket/{ticket['id']}")) == before
    assert Api(sandbox.base_url, AGENT_TOKEN).get("/users/me")  # the agent token still works


def test_the_connector_names_a_login_by_full_name_with_its_user_id(sandbox, monkeypatch):  # noqa: F811
    from connectors.settings import TrackerSettings
    from connectors.zammad.factory import make_connector
    from mapping.fieldmap import TrackerMapping
    mapping = TrackerMapping.model_validate({
        "tracker": "zammad", "base_url": sandbox.base_url, "projects": ["Users"],
        "severity": {"source": "field", "field": "incident_severity", "values": {1: "1", 2: "2", 3: "3", 4: "4"}},
        "category": {"field": "incident_category", "values": {"1": "1"}},
        "escalation_level": {"field": "incident_escalation_level", "values": {0: "0", 1: "1", 2: "2", 3: "3"}},
        "states": {}})
    settings = TrackerSettings(kind="zammad", url=sandbox.base_url, token="t0ken-admin", projects=("Users",))
    connector = make_connector(settings, mapping)
    agent = connector.person("agent@example.com")
    assert (agent.key, agent.name) == ("agent@example.com", "Ann Agent") and agent.mention_id.isdigit()
    assert connector.person("nobody@example.com") == Person("nobody@example.com")
    connector.close()
