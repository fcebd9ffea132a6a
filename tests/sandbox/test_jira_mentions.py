"""People in the sandbox Jira as in the real one: GET /user, ADF mention nodes checked as Jira Cloud
checks them, `[~username]` on Data Center, and each shown by the person's display name
(`expand=renderedBody`); and the connector that names and mentions them."""

from __future__ import annotations

import random

from connectors.base import Person, mention
from connectors.http import RetryPolicy
from connectors.jira.adf import adf_note, wiki_note
from connectors.jira.factory import make_connector
from sandbox.jira.adf import adf_invalid
from tests.jira.conftest import make_mapping
from tests.sandbox.test_jira_sandbox import adf, clock, cloud, cloud_session, dc, dc_session  # noqa: F401

LI = "Li Ming"


def test_get_user_by_account_id_on_cloud_and_by_name_on_data_center(cloud, dc):  # noqa: F811
    account = cloud.add_user(LI, "li@example.com")
    found = cloud_session().get(f"{cloud.base_url}/rest/api/3/user", params={"accountId": account})
    assert found.status_code == 200 and found.json()["displayName"] == LI
    missing = cloud_session().get(f"{cloud.base_url}/rest/api/3/user", params={"accountId": "nobody-7"})
    assert missing.status_code == 404 and missing.json()["errorMessages"]
    name = dc.add_user(LI, "li@example.com")
    assert dc_session().get(f"{dc.base_url}/rest/api/2/user", params={"username": name}).json()["displayName"] == LI
    assert dc_session().get(f"{dc.base_url}/rest/api/2/user", params={"username": "nobody"}).status_code == 404


def test_the_escalators_adf_mention_is_valid_and_a_malformed_one_is_refused_as_jira_does(cloud):  # noqa: F811
    account = cloud.add_user(LI, "li@example.com")
    key = cloud.create_issue(summary="link down")
    url = f"{cloud.base_url}/rest/api/3/issue/{key}/comment"
    body = adf_note(f"Reported to {mention(Person(account, LI))}.", "escalation-L1")
    assert adf_invalid(body) is None
    assert body["content"][0]["content"][1] == {"type": "mention", "attrs": {"id": account, "text": f"@{LI}"}}
    assert cloud_session().post(url, json={"body": body}).status_code == 201
    for bad in ({"type": "mention", "attrs": {"text": "@Li"}},  # no accountId
                {"type": "mention", "attrs": {"id": account, "name": "Li"}},  # an attribute the schema lacks
                {"type": "mention", "attrs": {"id": account, "userType": "BOT"}},
                {"type": "text", "text": ""}):  # an empty text node
        doc = adf("x")
        doc["content"][0]["content"].append(bad)
        refused = cloud_session().post(url, json={"body": doc})
        assert (refused.status_code, refused.json()) == (400, {"errorMessages": ["INVALID_INPUT"], "errors": {}})
    # the issue view shows the person by their current name, linked to their profile
    comments = cloud_session().get(url, params={"expand": "renderedBody"}).json()["comments"]
    assert f'class="user-hover" rel="{account}">{LI}</a>' in comments[0]["renderedBody"]
    assert len(comments) == 1  # nothing of the refused ones was stored


def test_data_center_stores_the_wiki_mention_and_renders_the_display_name(dc):  # noqa: F811
    name = dc.add_user(LI, "li@example.com")
    key = dc.create_issue(summary="link down")
    url = f"{dc.base_url}/rest/api/2/issue/{key}/comment"
    body = wiki_note(f"Reported to {mention(Person(name, LI))} [sic].", "escalation-L1")
    assert body.startswith(f"Reported to [~{name}] \\[sic\\].")
    assert dc_session().post(url, json={"body": body}).status_code == 201
    [comment] = dc_session().get(url, params={"expand": "renderedBody"}).json()["comments"]
    assert comment["body"] == body
    assert f'rel="{name}">{LI}</a> [sic].' in comment["renderedBody"]


def test_the_connector_names_people_once_each_and_an_unknown_one_by_the_id(cloud, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ESCALATOR_TEST_JIRA_TOKEN", "sandbox-token")
    account = cloud.add_user(LI, "li@example.com")
    from tests.jira.conftest import make_config
    settings = make_config("cloud", url=cloud.base_url).tracker_settings()
    connector = make_connector(settings, make_mapping("cloud"), sleep=lambda s: None, rng=random.Random(1),
                               retry=RetryPolicy(attempts=1, base=0.1))
    before = len(cloud.calls)
    assert connector.person(account) == Person(account, LI)
    assert connector.person(account) == Person(account, LI)  # remembered: asked once
    assert connector.person("gone-1") == Person("gone-1")
    assert len(cloud.calls) - before == 2
    connector.close()
