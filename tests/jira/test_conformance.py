"""Every request the Cloud connector and provisioner send is valid against the official v3 spec.

The calls are captured on the transport's `requests.Session` while a whole mapping and
a read/write round trip run against the sandbox Jira, then each one is validated with
`tests/conformance/openapi.py` (skipped when `../shared/reference/` is absent).
"""

from __future__ import annotations

import json

import pytest

from connectors.base import Cursor
from connectors.jira.factory import make_connector, make_provisioner
from plugin.config import load_config
from tests.conformance.openapi import spec, validate_request
from tests.jira.conftest import Sleeps, config_file, transport

pytestmark = pytest.mark.e2e


def _capture(http, sent: list) -> None:
    http.session.hooks["response"].append(lambda resp, *a, **kw: sent.append(resp.request))


def _body(prepared):
    if not prepared.body:
        return None
    raw = prepared.body.decode("utf-8") if isinstance(prepared.body, bytes) else prepared.body
    return json.loads(raw)


def test_cloud_requests_conform_to_the_v3_spec(sandbox, clock, tmp_path, monkeypatch, procedure) -> None:
    spec()  # parse (or skip) before the sandbox work
    config = load_config(config_file(tmp_path, sandbox, monkeypatch))
    provisioner = make_provisioner(config.tracker_settings(), procedure, **transport(Sleeps()))
    sent: list = []
    _capture(provisioner.client.http, sent)
    mapping, _ = provisioner.apply(provisioner.plan())
    provisioner.check(mapping)

    conn = make_connector(config.tracker_settings(), mapping, **transport(Sleeps()))
    _capture(conn.client.http, sent)
    person = sandbox.add_user("Wang Fang", "wangfang@example.com")
    key = sandbox.create_issue("SD", "Incident", "Core switch down", reporter=person,
                               fields={str(mapping.severity.field): {"id": mapping.severity.values[2]}})
    clock.tick(2)
    sandbox.move_issue(key, "已派单", author=person)
    cursor = Cursor()
    (one,) = list(conn.read_changed(cursor))
    list(conn.read_changed(cursor))
    conn.read_one(key)
    conn.set_severity(one, 1)
    conn.set_escalation_level(one, 1)
    conn.set_state(one, 3)
    conn.add_note(one, "escalated", marker="escalation-L1")
    conn.add_note(one, "to the customer", marker="customer-1", public=True)
    conn.notify(one, [person], "subject", "text")

    paths = {(p.method, p.path_url.split("?")[0]) for p in sent}
    assert ("POST", "/rest/api/3/search/jql") in paths and ("POST", "/rest/api/3/changelog/bulkfetch") in paths
    assert ("POST", "/rest/api/3/field/customfield_10001/context/10101/option") in paths
    # the way to SD's edit screen, and the fields put on it
    assert {("GET", "/rest/api/3/issuetypescreenscheme/project"), ("GET", "/rest/api/3/screenscheme")} <= paths
    assert any(m == "POST" and p.endswith("/fields") and "/screens/" in p for m, p in paths)
    problems = []
    for prepared in sent:
        try:
            validate_request(prepared.method, prepared.url, _body(prepared))
        except AssertionError as exc:
            problems.append(str(exc))
    assert problems == []
