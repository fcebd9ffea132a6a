"""The incident record sheet, the call-back list and the texts of the daily duties."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from mapping.duties import review_overdue
from mapping.loader import load_procedure
from plugin.reports.callbacks import callback_list, render_callbacks
from plugin.reports.digest import customer_update, pm_digest, review_list
from plugin.reports.record import record_facts, render_record
from tests.duties import CST, NOW, at, incident, month


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


def _k(ref):
    return next(i for i in month() if i.ref == ref)


def test_record_sheet_holds_every_fact_and_marks_the_missing(procedure):
    item = _k("K-11").model_copy(update={"facts": {
        "recorded_by": "服务台 王芳", "reporter": "李雷", "contact": "138-0000-0000", "occurred_at": "2026-11-19 19:40",
        "affected_ci": "", "symptom": "核心交换机宕机 ERR-42"}})
    facts = dict(record_facts(item, procedure, "zh", CST))
    assert list(facts) == [f.name.zh for f in procedure.record_fields]  # every §4.1.4 fact, in order
    assert facts["事件编号"] == "K-11"
    assert facts["报告日期和时间"] == "2026-11-19 20:00"
    assert facts["受影响的配置项"] == ""  # empty on the tracker: missing, not guessed
    assert facts["造成或可能造成的影响级别"] == "一级事件"
    assert facts["处理状态"] == "待审核"
    text = render_record(item, procedure, NOW)
    assert re.search(r"受影响的配置项\s+\(缺失\)", text)
    assert re.search(r"症状描述及错误代码\s+核心交换机宕机 ERR-42", text)
    # SLA time: Fri 11-20 09:00-11:00, resolved since
    assert re.search(r"SLA 计时\s+2小时\n", text)
    # the full timeline, to the second
    assert re.search(r"2026-11-19 20:30:00\s+级别设为 一级事件", text)
    assert re.search(r"2026-11-19 20:40:00\s+转至处理组 server", text)
    assert text.index("20:10:00") < text.index("20:20:00") < text.index("2026-11-20 11:00:00")


def test_record_sheet_ladder_follows_the_sla_clock(procedure):
    # K-04 (severity 4): 12 h reached as it was resolved, Mon 11-09 15:00; the clock stopped there
    assert re.search(r"L1 项目经理\s+12小时\s+2026-11-09 15:00\nL2 事业部总监\s+24小时\s+-\n",
                     render_record(_k("K-04"), procedure, NOW))
    # K-06 runs on: 6 h from Tue 11-10 09:00 = 09-12 + 13-16 -> 16:00
    assert re.search(r"L1 项目经理\s+6小时\s+2026-11-10 16:00", render_record(_k("K-06"), procedure, NOW))


def test_record_sheet_in_html_and_english(procedure):
    item = _k("K-03").model_copy(update={"title": "A & B <down>"})
    html = render_record(item, procedure, NOW, "html", "en")
    assert "<h1>Incident record sheet · K-03</h1>" in html
    assert "A &amp; B &lt;down&gt;" in html
    assert "escalated to L3 company management" in html
    assert html.count("(missing)") == 6  # recorded_by, reporter, contact, occurred_at, affected_ci, symptom


def test_callback_list_of_a_week(procedure):
    items = [i.model_copy(update={"organisation": "ACME", "facts": {"reporter": "Li", "contact": "li@acme.example"}})
             if i.ref == "K-09" else i for i in month()]
    calls = callback_list(items, procedure, "2026-W47")
    # resolved in W47 and still resolved: K-09 (11-16), K-10 (11-17), K-08 (11-18), K-11 (11-20), K-17 (11-21)
    assert [c.incident.ref for c in calls] == ["K-09", "K-10", "K-08", "K-11", "K-17"]
    rows = list(csv.DictReader(io.StringIO(render_callbacks(calls, procedure, "2026-W47", "csv"))))
    assert rows[0] == {"ref": "K-09", "title": "incident K-09", "organisation": "ACME", "reporter": "Li",
                       "contact": "li@acme.example", "severity": "3", "category": "1.2",
                       "resolved_at": "2026-11-16T15:00:00+08:00", "callback_result": ""}
    data = json.loads(render_callbacks(calls, procedure, "2026-W47", "json"))
    assert data["week"] == "2026-W47" and len(data["callbacks"]) == 5
    table = render_callbacks(calls, procedure, "2026-W47")
    assert table.startswith("客户回访清单 2026-W47: 5 本周解决的事件")
    assert re.search(r"K-10 .*\(缺失\)", table)  # no contact on record


def test_pm_digest(procedure):
    items = [incident("D-1", "2026-11-19 17:00", [("2026-11-19 17:10", 2), ("2026-11-20 09:30", 3)], severity=3),
             incident("D-2", "2026-11-20 10:00", severity=2)]
    message = pm_digest(items, procedure, at("2026-11-20 17:00"))
    assert message.subject == "未解决事件日报 2026-11-20：2 起"
    # D-1: age Thu 17-18 + Fri 09-12, 13-17 = 8 h; next deadline (severity 3) company management 12 h:
    # 8 h by Fri 17:00, +1 h Fri 17-18, +3 h Mon 09-12 = 12 h at Mon 11-23 12:00
    assert re.search(r"D-1\s+三级事件\s+处理中\s+8小时\s+2026-11-23 12:00\s+2026-11-20 09:30 状态变为 处理中", message.body)
    # D-2: age 10-12, 13-17 = 6 h; severity 2: director's 6 h reached at 17:00, next is management's 8 h:
    # +1 h Fri 17-18, +1 h Mon 09-10 -> Mon 11-23 10:00
    assert re.search(r"D-2\s+二级事件\s+待处理\s+6小时\s+2026-11-23 10:00", message.body)
    assert message.body.endswith("\n\n—— 事件升级助手 incident-escalator\n")
    # the age is working time of the contract's calendar, and its column says so
    assert "已用时间（工作时间）" in message.body
    round_the_clock = pm_digest([incident("D-3", "2026-11-20 10:00", severity=2).model_copy(
        update={"contract": "24x7"})], procedure, at("2026-11-20 17:00"), "en")
    assert "Time since report (24x7)" in round_the_clock.body and "working" not in round_the_clock.body
    empty = pm_digest([], procedure, at("2026-11-20 17:00"), "en")
    assert (empty.subject, empty.body.splitlines()[0]) == ("Unresolved incidents 2026-11-20: 0",
                                                           "No unresolved incident today.")
    assert empty.body.endswith("\n\n— incident-escalator\n")


def test_review_list_and_customer_update(procedure):
    waiting = incident("R-1", "2026-11-18 08:00", [("2026-11-18 08:10", 2), ("2026-11-18 08:20", 3),
                                                   ("2026-11-18 08:50", 6)])
    fresh = incident("R-2", "2026-11-20 09:00", [("2026-11-20 09:10", 2), ("2026-11-20 09:20", 3),
                                                 ("2026-11-20 10:00", 6)])
    now = at("2026-11-20 09:00")
    overdue = review_overdue([waiting, fresh], procedure, now)
    message = review_list([waiting, fresh], overdue, procedure, now, "en")
    assert message.subject == "Incidents pending review 2026-11-20: 2"
    assert re.search(r"R-1\s+severity 3\s+2026-11-18 08:50\s+!", message.body)
    assert "Waiting for more than a full working day: R-1" in message.body
    assert customer_update(_k("K-13"), procedure).startswith("【事件进展】K-13：当前状态为“暂停”。下一步：等待贵方条件具备后继续处理。")
    assert customer_update(_k("K-06"), procedure, "en").startswith("[Update] K-06 is in progress. Next: the engineer")
