"""ZammadProvisioner's plan and apply against answers mocked with `responses`."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import responses

from connectors.provisioning import ProvisionSettings
from connectors.zammad.provision import (
    ATTRIBUTES,
    ZammadProvisioner,
    category_tree,
    tree_values,
)
from mapping.loader import load_procedure
from tests.zammad import BASE, STATES, client


@pytest.fixture()
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _attribute(term: str, options, data_type: str, **kw) -> dict:
    return {"id": 100 + list(ATTRIBUTES).index(term), "name": ATTRIBUTES[term], "object": "Ticket",
            "data_type": data_type, "data_option": {"options": options}, "active": True, "to_create": False,
            "to_migrate": False, "to_config": False, **kw}


def test_category_tree_is_the_procedures_two_levels_by_code() -> None:
    tree = category_tree(load_procedure())
    assert [n["value"] for n in tree] == ["1", "2", "3", "4", "5"]
    assert tree[0]["children"][1] == {"name": "1.2 网络", "value": "1.2"}
    assert tree[4]["children"] == []
    assert len(tree_values(tree)) == len(load_procedure().all_categories())


def test_severity_on_priorities_creates_the_missing_ones(rsps) -> None:
    procedure = load_procedure()
    names = {1: "1 一级事件", 2: "2 high", 3: "2 normal", 4: "1 low"}
    rsps.get(f"{BASE}/api/v1/object_manager_attributes", json=[])
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.get(f"{BASE}/api/v1/ticket_priorities", json=[{"id": 1, "name": "1 low"}, {"id": 2, "name": "2 normal"}])
    provisioner = ZammadProvisioner(client(), procedure, ProvisionSettings(severity_source="priority",
                                                                           severity_priorities=names),
                                    base_url=BASE)
    plan = provisioner.plan()
    steps = {s.term: s for s in plan.steps}
    assert "severity" not in steps  # no severity attribute when priorities carry it
    assert (steps["severity:1"].status, steps["severity:2"].status) == ("create", "create")
    assert (steps["severity:3"].status, steps["severity:4"].status) == ("ok", "ok")
    assert steps["state:2"].status == "ok" and steps["state:2"].payload["ids"] == ["10"]
    # Zammad's "new" cannot be set on an existing ticket (the agent edit screen): an own open 待处理
    assert steps["state:1"].status == "create" and steps["state:1"].payload["state_type"] == "open"

    rsps.post(f"{BASE}/api/v1/ticket_states", json={"id": 14, "name": "待处理"}, status=201)
    rsps.post(f"{BASE}/api/v1/ticket_priorities", json={"id": 5, "name": "x"}, status=201)
    rsps.post(f"{BASE}/api/v1/object_manager_attributes", json={"id": 1}, status=201)
    rsps.post(f"{BASE}/api/v1/object_manager_attributes_execute_migrations", json={})
    rsps.replace(responses.GET, f"{BASE}/api/v1/ticket_priorities",
                 json=[{"id": 1, "name": "1 low"}, {"id": 2, "name": "2 normal"}, {"id": 5, "name": "1 一级事件"},
                       {"id": 6, "name": "2 high"}])
    mapping, lines = provisioner.apply(plan)
    posted = [json.loads(c.request.body) for c in rsps.calls
              if c.request.method == "POST" and urlsplit(c.request.url).path.endswith("/ticket_priorities")]
    assert posted == [{"name": "1 一级事件", "active": True}, {"name": "2 high", "active": True}]
    assert "ran the object manager migrations" in lines
    assert mapping.severity.source == "priority"
    assert mapping.severity.values == {1: "5", 2: "6", 3: "2", 4: "1"}


def test_an_own_state_of_the_wrong_type_is_put_back_and_options_are_merged(rsps) -> None:
    procedure = load_procedure()
    states = [dict(s) for s in STATES]
    suspended = next(s for s in states if s["name"] == "挂起")
    suspended.update(state_type="open", state_type_id=2)
    level = _attribute("escalation_level", {"0": "0", "1": "1", "9": "admin's own"}, "select")
    rsps.get(f"{BASE}/api/v1/object_manager_attributes", json=[level])
    rsps.get(f"{BASE}/api/v1/ticket_states", json=states)
    rsps.get(f"{BASE}/api/v1/ticket_priorities", json=[])
    provisioner = ZammadProvisioner(client(), procedure, ProvisionSettings(), base_url=BASE)
    steps = {s.term: s for s in provisioner.plan().steps}

    assert steps["state:4"].status == "update"
    assert steps["state:4"].payload["state_type_id"] == 3 and steps["state:4"].payload["ignore_escalation"] is False
    assert steps["escalation_level"].status == "update"
    assert "add option(s) 2, 3" in steps["escalation_level"].detail
    options = steps["escalation_level"].payload["data_option"]["options"]
    assert options["9"] == "admin's own" and set(options) == {"0", "1", "2", "3", "9"}
    assert steps["migrations"].status == "update"


def test_a_type_clash_is_for_the_admin(rsps) -> None:
    rsps.get(f"{BASE}/api/v1/object_manager_attributes",
             json=[_attribute("category", {"a": "a"}, "select")])
    rsps.get(f"{BASE}/api/v1/ticket_states", json=STATES)
    rsps.get(f"{BASE}/api/v1/ticket_priorities", json=[])
    steps = {s.term: s for s in ZammadProvisioner(client(), load_procedure(), ProvisionSettings(),
                                                  base_url=BASE).plan().steps}
    assert steps["category"].status == "manual"
    assert "is a select, the procedure needs a tree_select" in steps["category"].detail
