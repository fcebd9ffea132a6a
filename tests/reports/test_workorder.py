"""The customer service work order 《客户服务工作单》 of one incident: every field, blanks, both languages."""

from __future__ import annotations

import re

import pytest

from mapping.loader import load_procedure
from plugin.reports.record import record_view
from plugin.reports.workorder import render_workorder, workorder_view
from tests.duties import NOW, month

FACTS = {"reporter": "Zhang San", "contact": "138-0000-0000", "affected_ci": "core-switch-01",
         "symptom": "Core switch down, error 0x51"}


@pytest.fixture(scope="module")
def procedure():
    return load_procedure()


def k18(**update):
    """The month's major incident: handed over, escalated, reopened, resolved again, archived."""
    base = next(i for i in month() if i.ref == "K-18")
    return base.model_copy(update={"facts": FACTS, "organisation": "Customer A", "assignee": "eng-liu", **update})


def test_every_field_of_the_work_order(procedure):
    view = workorder_view(k18(), procedure, NOW, "en")
    assert view["number"] == "WO-K-18"
    assert dict(view["header"]) == {
        "Customer": "Customer A", "Service contract": "default contract", "Contact person": "Zhang San",
        "Contact details": "138-0000-0000", "Configuration item": "core-switch-01", "Reported": "2026-11-25 10:00",
        "Severity": "severity 1", "Category": "contract service / network (1.2)"}
    assert view["reported"] == "incident K-18\nCore switch down, error 0x51"
    # what was done and when: the recorded history after the report, the reopen included
    assert [(when, what) for when, what, _ in view["steps"]] == [
        ("2026-11-25 10:00", "handed to group service_desk"),
        ("2026-11-25 10:05", "state set to dispatched"),
        ("2026-11-25 10:05", "escalated to L1 project manager"),
        ("2026-11-25 10:10", "state set to in progress"),
        ("2026-11-25 10:20", "escalation acknowledged"),
        ("2026-11-25 10:30", "handed to group network"),
        ("2026-11-25 10:40", "escalated to L2 division director"),
        ("2026-11-25 14:00", "state set to pending review"),
        ("2026-11-26 09:00", "state set to in progress"),
        ("2026-11-26 11:00", "state set to pending review"),
        ("2026-11-27 09:00", "state set to archived"),
    ]
    # started at the first 处理中, completed at the last resolution; 5 h of working time in all
    assert dict(view["work"]) == {"Work started": "2026-11-25 10:10", "Completed": "2026-11-26 11:00",
                                  "Time spent (working time)": "5 h", "Current state": "archived",
                                  "Engineer": "eng-liu"}


def test_the_engineer_is_named_as_the_tracker_names_them(procedure):
    # on Jira Cloud the assignee is an accountId: the customer signs a sheet that names a person
    view = workorder_view(k18(assignee="5b10a2844c20165700ede22h", assignee_name="Liu Yang"), procedure, NOW, "en")
    assert dict(view["work"])["Engineer"] == "Liu Yang"
    sheet = dict(record_view(k18(assignee="5b10a2844c20165700ede22h", assignee_name="Liu Yang"), procedure, NOW,
                             "en")["other"])
    assert sheet["Assignee"] == "Liu Yang"


def test_what_the_tracker_does_not_hold_is_a_blank_to_fill_in(procedure):
    open_ = next(i for i in month() if i.ref == "K-06")  # in progress, no facts, no organisation
    view = workorder_view(open_, procedure, NOW, "zh")
    header = dict(view["header"])
    assert header["客户名称"] == "" and header["联系人"] == "" and header["服务对象（配置项）"] == ""
    assert dict(view["work"])["完成时间"] == "尚未解决"
    assert dict(view["work"])["服务工程师"] == ""
    html = render_workorder(open_, procedure, NOW)
    assert html.count('class="blank"') == 5  # customer, contact person, details, CI; engineer


def test_the_printed_page_in_both_languages(procedure):
    zh = render_workorder(k18(), procedure, NOW)
    assert "<title>客户服务工作单 · K-18</title>" in zh
    assert '<html lang="zh-CN">' in zh and "@page { size: A4" in zh
    for label in ("客户名称", "联系方式", "报修内容 / 故障现象", "处理过程", "花费时间（工作时间）", "服务工程师",
                  "客户确认", "客户签字", "工程师签字", "满意", "现场"):
        assert label in zh, label
    en = render_workorder(k18(), procedure, NOW, "en")
    assert "<h1>Customer service work order</h1>" in en
    assert re.search(r"<th>Time spent \(working time\)</th><td>5 h</td>", en)
    # nothing fetched: the page prints as it is
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", zh)


def test_tracker_text_is_escaped(procedure):
    html = render_workorder(k18(title="<b>x</b>", facts={**FACTS, "reporter": "<script>"}), procedure, NOW)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_record_sheet_shows_who_acknowledged_an_escalation(procedure):
    from plugin.reports.record import render_record

    text = render_record(k18(), procedure, NOW, "text", "en")
    assert re.search(r"2026-11-25 10:20:00\s+escalation acknowledged\s+pm-li", text)
