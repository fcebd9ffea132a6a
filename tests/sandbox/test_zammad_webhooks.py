"""The sandbox Zammad's webhooks and triggers: the REST resources, the trigger run, deliveries and retries.

Deliveries run on the sandbox's own thread; the tests wait for an attempt with
`deliveries.wait_for`, and the retries fall due on the sandbox's hand-moved clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from connectors.factory import webhook_for
from sandbox.zammad import BotProfile, ZammadSandbox
from tests.catcher import Catcher
from tests.handclock import HandClock

TOKEN = "t0ken-admin"
SECRET = "zammad-hook-secret"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)



@pytest.fixture
def clock() -> HandClock:
    return HandClock(START)


@pytest.fixture
def zammad(clock):
    box = ZammadSandbox(token=TOKEN, clock=clock)
    box.add_group("OPS")
    box.add_user("eng", firstname="Eng", lastname="One", email="eng@example.com", roles=["Agent"])
    box.add_user("cust@example.com", firstname="Cora", lastname="Customer", roles=["Customer"])
    box.add_token("t0ken-agent", "eng")
    with box:
        yield box


@pytest.fixture
def catcher():
    c = Catcher()
    yield c
    c.stop()


def api(box: ZammadSandbox, token: str = TOKEN) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token token={token}"
    return s


def url(box: ZammadSandbox, path: str) -> str:
    return f"{box.base_url}/api/v1{path}"


def hook_and_trigger(box: ZammadSandbox, endpoint: str, *, mode: str = "always", condition: dict | None = None,
                     token: str | None = SECRET) -> tuple[dict, dict]:
    s = api(box)
    hook = s.post(url(box, "/webhooks"), json={"name": "escalator", "endpoint": endpoint, "signature_token": token,
                                               "ssl_verify": True, "active": True})
    assert hook.status_code == 201, hook.text
    ops = box.store.by_name("groups", "OPS")["id"]
    trigger = s.post(url(box, "/triggers"), json={
        "name": "escalator", "activator": "action", "execution_condition_mode": mode, "active": True,
        "condition": condition if condition is not None else {
            "ticket.group_id": {"operator": "is", "value": [str(ops)]},
            "ticket.updated_by_id": {"operator": "is not", "pre_condition": "specific", "value": [str(box.admin_id)]}},
        "perform": {"notification.webhook": {"webhook_id": hook.json()["id"]}}})
    assert trigger.status_code == 201, trigger.text
    return hook.json(), trigger.json()


def test_the_resources_need_their_permissions_and_validate(zammad):
    agent = api(zammad, "t0ken-agent")
    assert agent.get(url(zammad, "/webhooks")).status_code == 403
    assert agent.get(url(zammad, "/triggers")).status_code == 403
    s = api(zammad)
    bad = s.post(url(zammad, "/webhooks"), json={"name": "x", "endpoint": "hooks.example.com/x"})
    assert bad.status_code == 422 and "no http or https protocol" in bad.json()["error"]
    made = s.post(url(zammad, "/webhooks"), json={"name": "x", "endpoint": "https://h.example.com/w",
                                                 "signature_token": SECRET}).json()
    assert made["signature_token"] == SECRET  # Zammad renders the record as it is
    unknown = s.post(url(zammad, "/triggers"), json={"name": "t", "condition": {"article.body": {
        "operator": "contains", "value": "x"}}, "perform": {"notification.webhook": {"webhook_id": made["id"]}}})
    assert unknown.status_code == 422 and "article.body" in unknown.json()["error"]
    zammad.set_bot_profile(BotProfile(lacks=frozenset({"admin.webhook"})))  # an admin without this one
    assert s.get(url(zammad, "/webhooks")).status_code == 403
    assert s.get(url(zammad, "/triggers")).status_code == 200


def test_a_webhook_in_use_cannot_be_deleted(zammad, catcher):
    hook, trigger = hook_and_trigger(zammad, catcher.url)
    s = api(zammad)
    refused = s.delete(url(zammad, f"/webhooks/{hook['id']}"))
    assert refused.status_code == 422
    assert refused.json()["error"] == ("This object is referenced by other object(s) and thus cannot be deleted: "
                                       f"Trigger / escalator (#{trigger['id']})")
    assert s.delete(url(zammad, f"/triggers/{trigger['id']}")).status_code == 200
    assert s.delete(url(zammad, f"/webhooks/{hook['id']}")).status_code == 200


def test_a_persons_change_is_delivered_signed_with_zammads_payload(zammad, catcher):
    hook_and_trigger(zammad, catcher.url + "/webhooks/zammad")
    ticket = zammad.add_ticket("Link down", customer="cust@example.com", group="OPS", by="eng",
                               article={"body": "down since 9:00", "type": "phone"})
    zammad.update_ticket(ticket["id"], by="eng", title="Link down again")
    assert zammad.deliveries.wait_for(lambda a: len(a) == 2)
    created, updated = catcher.caught
    for got in catcher.caught:
        assert got.path == "/webhooks/zammad"
        assert got.headers["Content-Type"] == "application/json; charset=utf-8"
        assert got.headers["User-Agent"] == "Zammad User Agent"
        assert got.headers["X-Zammad-Trigger"] == "escalator" and got.headers["X-Zammad-Delivery"]
        assert webhook_for("zammad").verify(SECRET, got.body, got.headers["X-Hub-Signature"]) is None
    body = json.loads(created.body)
    assert body["ticket"]["id"] == ticket["id"] and body["ticket"]["title"] == "Link down"
    attributes = [k for k in body["ticket"] if not isinstance(body["ticket"][k], dict) or k == "preferences"]
    assert attributes == sorted(attributes)  # RecordPayload sorts the attributes, then sets the associations
    assert body["ticket"]["group"]["name"] == "OPS" and body["ticket"]["customer"]["login"] == "cust@example.com"
    assert "preferences" not in body["ticket"]["owner"] and "group_ids" not in body["ticket"]["updated_by"]
    assert body["article"]["body"] == "down since 9:00" and body["article"]["accounted_time"] == 0
    assert json.loads(updated.body)["article"] == {}  # no article in that change


def test_the_trigger_skips_the_escalators_own_changes_other_groups_and_lone_tags(zammad, catcher):
    hook_and_trigger(zammad, catcher.url)
    ticket = zammad.add_ticket("x", customer="cust@example.com", group="OPS", by="eng")
    elsewhere = zammad.add_ticket("y", customer="cust@example.com", group="Users", by="eng")
    zammad.update_ticket(ticket["id"], by="admin@example.com", title="the escalator writes")  # the bot
    zammad.update_ticket(elsewhere["id"], by="eng", title="not watched")
    with zammad.lock:  # a tag on its own runs no trigger (zammad/zammad#2438)
        zammad.store.tag_add(zammad.store.tickets[ticket["id"]], "escalate", by=zammad.store.user_by("eng")["id"])
    zammad.update_ticket(ticket["id"], by="eng", title="a person again")
    assert zammad.deliveries.wait_for(lambda a: len(a) == 2)
    titles = [json.loads(c.body)["ticket"]["title"] for c in catcher.caught]
    assert titles == ["x", "a person again"]


def test_a_selective_trigger_runs_when_a_condition_attribute_changed(zammad, catcher):
    ops = zammad.store.by_name("groups", "OPS")["id"]
    hook_and_trigger(zammad, catcher.url, mode="selective",
                     condition={"ticket.group_id": {"operator": "is", "value": [str(ops)]}})
    ticket = zammad.add_ticket("x", customer="cust@example.com", group="Users", by="eng")
    zammad.update_ticket(ticket["id"], by="eng", title="group unchanged: not run")
    zammad.update_ticket(ticket["id"], by="eng", group="OPS")
    assert zammad.deliveries.wait_for(lambda a: len(a) == 1)
    assert json.loads(catcher.caught[0].body)["ticket"]["group_id"] == ops


def test_failed_deliveries_are_retried_like_trigger_webhook_job(zammad, clock):
    catcher = Catcher(answers=[500, 403, 301, 502, 500])
    try:
        hook_and_trigger(zammad, catcher.url)
        zammad.add_ticket("x", customer="cust@example.com", group="OPS", by="eng")
        assert zammad.deliveries.wait_for(lambda a: len(a) == 1)
        for n, wait in enumerate((10, 20, 30, 40), start=2):
            clock.advance(wait - 1)
            clock.advance(1)  # due `executions * 10` s after the failure, on the sandbox's clock
            assert zammad.deliveries.wait_for(lambda a, n=n: len(a) == n)
        attempts = zammad.deliveries.attempts
        assert [a.status for a in attempts] == [500, 403, 301, 502, 500]  # any non-2xx fails the job
        assert [(b.at - a.at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)] == \
            [10, 20, 30, 40]
        assert len({c.headers["X-Zammad-Delivery"] for c in catcher.caught}) == 1  # the same job id
        assert zammad.deliveries.pending == 0  # 5 attempts, then Zammad gives up
    finally:
        catcher.stop()


def test_an_unreachable_endpoint_is_retried_too(zammad, clock):
    gone = Catcher()
    dead = gone.url
    gone.stop()
    hook_and_trigger(zammad, dead)
    zammad.add_ticket("x", customer="cust@example.com", group="OPS", by="eng")
    assert zammad.deliveries.wait_for(lambda a: len(a) == 1)
    assert zammad.deliveries.attempts[0].status is None and zammad.deliveries.attempts[0].error
    assert zammad.deliveries.pending == 1  # waiting for its retry
