"""The note texts read right for the cases people will see most."""

from __future__ import annotations

from datetime import timedelta

from mapping.actions import Escalate, RestoreSeverity
from mapping.loader import load_procedure
from plugin import notes
from tests.daemon.conftest import T0, incident

PROC = load_procedure()
#: the same procedure with its contracts in English
EN_PROC = PROC.model_copy(update={"contracts": {
    key: contract.model_copy(update={"language": "en"}) for key, contract in PROC.contracts.items()}})


def escalate(severity: int, allowed: timedelta, contract: str = "24x7") -> Escalate:
    return Escalate(level=1, role="project_manager", deadline=T0 + allowed, reason="timetable",
                    severity=severity, contract=contract, elapsed=allowed, allowed=allowed)


def test_a_severity_1_escalation_says_immediately_in_both_languages() -> None:
    inc = incident("1", severity=1)
    zh = notes.escalation_note(escalate(1, timedelta(0)), inc, PROC, T0, ["pm-li"])
    assert "须立即上报项目经理" in zh and "立即内" not in zh
    assert "已超时0秒，已计时0秒" in zh and "已计时立即" not in zh
    en = notes.escalation_note(escalate(1, timedelta(0)), inc, EN_PROC, T0, ["pm-li"])
    assert "reported to the project manager immediately" in en and "within immediately" not in en
    assert "missed by 0 s (SLA time counted: 0 s)" in en


def test_a_timetable_escalation_names_the_allowed_time() -> None:
    text = notes.escalation_note(escalate(2, timedelta(hours=4)), incident("1", severity=2), PROC,
                                 T0 + timedelta(hours=5), ["pm-li"])
    assert "须在报告后4小时内上报项目经理" in text and "已超时1小时" in text
    assert text.endswith("\n—— 事件升级助手 incident-escalator")


def test_an_english_note_is_signed_in_english() -> None:
    escalation = notes.escalation_note(escalate(2, timedelta(hours=4)), incident("1", severity=2), EN_PROC,
                                       T0 + timedelta(hours=5, minutes=30), ["pm-li"])
    assert "within 4 h of being reported" in escalation and "missed by 1 h 30 min" in escalation
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    restore = notes.restore_note(action, incident("1", severity=4), EN_PROC, "default", None)
    for text in (escalation, restore):
        assert text.endswith("\n— incident-escalator") and "事件升级助手" not in text


def test_the_restore_note_says_to_record_the_approval_first() -> None:
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    text = notes.restore_note(action, incident("1", severity=4, tracker="zammad"), PROC, "default", None)
    first, then = text.index("先添加"), text.index("再于15分钟内调整分级")
    assert first < then and "severity-downgrade-approved" in text


def test_the_restore_note_calls_the_approval_what_the_tracker_calls_it() -> None:
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    en_proc = PROC.model_copy(update={"contracts": {
        **PROC.contracts, "default": PROC.contracts["default"].model_copy(update={"language": "en"})}})
    for tracker, zh, en in (("jira", "添加标签“", "add the label '"), ("zammad", "添加标记（tag）“", "add the tag '")):
        inc = incident("1", severity=4, tracker=tracker)
        assert zh in notes.restore_note(action, inc, PROC, "default", None)
        assert en in notes.restore_note(action, inc, en_proc, "default", None)
