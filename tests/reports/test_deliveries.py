"""What a due duty sends, to whom: the few lines the daemon needs to carry the duties out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mapping.duties import due_duties, duty_key
from mapping.loader import load_procedure
from plugin.reports.charts import _fit
from plugin.reports.digest import duty_deliveries
from tests.duties import at, incident, month

PEOPLE = {("OPS", "project_manager"): ["pm-wang"], ("NET", "project_manager"): ["pm-li", "pm-wang"],
          ("OPS", "service_desk"): ["desk-zhao"], ("NET", "service_desk"): ["desk-zhao"]}


def people_of(item, role):
    return PEOPLE.get((item.project, role), [])


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


def _due(procedure, duty, now, contract="default"):
    (due,) = due_duties(procedure, contract, {}, now, duties=[duty])
    return due


def test_pm_digest_one_message_per_project_manager(procedure):
    items = [incident("A-1", "2026-11-20 09:00", severity=2),
             incident("A-2", "2026-11-20 09:30", severity=3, project="NET"),
             incident("A-3", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                                  ("2026-11-20 10:00", 6)]),  # resolved: not listed
             incident("A-4", "2026-11-20 09:00", contract="24x7")]  # another contract's duty
    due = _due(procedure, "pm_digest", at("2026-11-20 17:00"))
    sent = duty_deliveries(due, items, procedure, at("2026-11-20 17:00"), people_of)
    assert [(d.recipients, [i.ref for i in d.incidents]) for d in sent] == [
        (("pm-li",), ["A-2"]), (("pm-wang",), ["A-1", "A-2"])]
    assert sent[1].subject == "未解决事件日报 2026-11-20：2 起"
    assert sent[1].marker == "duty-pm_digest:default:2026-11-20:pm-wang"
    assert not sent[1].public


def test_customer_updates_are_public_notes(procedure):
    severe = replace(procedure, contracts={**procedure.contracts, "default": replace(
        procedure.contracts["default"], customer_updates="severe", language="en")})
    items = [incident("U-1", "2026-11-20 09:00", severity=2), incident("U-2", "2026-11-20 09:00", severity=3)]
    due = _due(severe, "customer_update", at("2026-11-20 17:30"))
    (sent,) = duty_deliveries(due, items, severe, at("2026-11-20 17:30"), people_of)
    assert (sent.public, sent.recipients, sent.incidents[0].ref) == (True, (), "U-1")
    assert sent.body.startswith("[Update] U-1 is pending. Next: dispatch to an engineer.")
    assert sent.marker == "duty-customer_update:default:2026-11-20:1"  # the ticket id


def test_review_list_and_weekly_callbacks(procedure):
    waiting = incident("R-1", "2026-11-18 08:00", [("2026-11-18 08:10", 2), ("2026-11-18 08:20", 3),
                                                   ("2026-11-18 08:50", 6)])
    due = _due(procedure, "review_list", at("2026-11-20 09:00"))
    (sent,) = duty_deliveries(due, [waiting], procedure, at("2026-11-20 09:00"), people_of)
    assert sent.recipients == ("pm-wang",) and "已超过一个完整工作日： R-1" in sent.body
    last_done = {duty_key("callbacks", "default"): "callbacks:default:2026-W46"}
    (due,) = due_duties(procedure, "default", last_done, at("2026-11-23 09:00"), duties=["callbacks"])
    (sent,) = duty_deliveries(due, month(), procedure, at("2026-11-23 09:00"), people_of)
    # default contract's incidents resolved in W47 (K-17 is 24x7's)
    assert [i.ref for i in sent.incidents] == ["K-09", "K-10", "K-08", "K-11"]
    assert sent.recipients == ("desk-zhao",) and sent.subject == "客户回访清单 2026-W47"


def test_chart_labels_fit():
    assert _fit("short", 44) == "short"
    assert _fit("business consulting / front-end application systems (4.1)", 20) == "business consulting…"
    assert _fit("合同服务 / 前端应用系统", 10) == "合同服务…"
