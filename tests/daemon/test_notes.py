"""The note texts read right for the cases people will see most.

Whole notes are compared as people read them (`plain`: each mention as the person's name):
every figure in one kind of time, labelled; "immediately" where nothing is allowed; a
deadline met within the daemon's reading not called missed; people by their display names.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from connectors.base import Person, plain, split_mentions
from mapping.actions import (
    Escalate,
    RepeatEscalation,
    RestoreLevel,
    RestoreSeverity,
    WarnBeforeBreach,
)
from mapping.loader import load_procedure
from plugin import notes
from tests.daemon.conftest import T0, incident

PROC = load_procedure()
#: the same procedure with its contracts in English
EN_PROC = replace(PROC, contracts={key: replace(contract, language="en") for key, contract in PROC.contracts.items()})
LI = Person("pm-li", "Li Ming")
BUSINESS_EN = "business calendar Mon–Fri 09:00–12:00, 13:00–18:00, public holidays off"
BUSINESS_ZH = "工作日历：周一至周五 09:00–12:00、13:00–18:00，法定节假日除外"


def escalate(severity: int, allowed: timedelta, contract: str = "24x7", late: timedelta = timedelta(0)) -> Escalate:
    """An escalation of `allowed` SLA time, decided `late` of SLA time after its deadline."""
    return Escalate(level=1, role="project_manager", deadline=T0 + allowed, reason="timetable",
                    severity=severity, contract=contract, elapsed=allowed + late, allowed=allowed)


def lines(text: str) -> list[str]:
    return plain(text).splitlines()


def test_a_late_business_hours_escalation_gives_every_figure_in_working_time() -> None:
    # the case: "due within 6 h … 83 h 43 min overdue, 16 h elapsed" mixed clock and working time
    action = escalate(3, timedelta(hours=6), "default", late=timedelta(hours=2, minutes=10))
    assert lines(notes.escalation_note(action, incident("1", severity=3), EN_PROC, T0 + timedelta(days=3), [LI])) == [
        "[Escalation] OPS-1 escalated to level 1: reported to the project manager (Li Ming).",
        "Rule §5.2.2: under the default contract timetable a severity 3 incident must be reported to the project "
        f"manager within 6 h of working time ({BUSINESS_EN}); the deadline was 2026-03-02 15:00 (Asia/Shanghai), "
        "missed by 2 h 10 min of working time.",
        "— incident-escalator",
    ]
    assert lines(notes.escalation_note(action, incident("1", severity=3), PROC, T0 + timedelta(days=3), [LI])) == [
        "【事件升级】OPS-1 已升级至第1级：上报项目经理（Li Ming）。",
        f"依据§5.2.2，三级事件按《默认合同》时间表须在报告后工作时间6小时（{BUSINESS_ZH}）内上报项目经理；"
        "截止时间 2026-03-02 15:00（Asia/Shanghai），已超时工作时间2小时10分钟。",
        "—— 事件升级助手 incident-escalator",
    ]


def test_a_24x7_escalation_labels_its_figures_24x7() -> None:
    action = escalate(2, timedelta(hours=4), late=timedelta(hours=1, minutes=30))
    text = plain(notes.escalation_note(action, incident("1", severity=2), EN_PROC, T0, [LI]))
    assert "within 4 h (24x7); the deadline was 2026-03-02 13:00 (Asia/Shanghai), missed by 1 h 30 min (24x7)." \
        in text
    assert "working" not in text
    zh = plain(notes.escalation_note(action, incident("1", severity=2), PROC, T0, [LI]))
    assert "须在报告后4小时（7×24）内上报项目经理" in zh and "已超时1小时30分钟（7×24）" in zh


def test_a_severity_1_escalation_says_immediately_and_a_second_late_is_no_miss() -> None:
    action = escalate(1, timedelta(0), late=timedelta(seconds=1))
    assert lines(notes.escalation_note(action, incident("1", severity=1), PROC, T0, [LI]))[1] == (
        "依据§5.2.2，一级事件按《7×24 合同》时间表须立即上报项目经理（报告时间 2026-03-02 09:00，Asia/Shanghai）。")
    en = lines(notes.escalation_note(action, incident("1", severity=1), EN_PROC, T0, [LI]))[1]
    assert en == ("Rule §5.2.2: under the 24x7 contract timetable a severity 1 incident is reported to the project "
                  "manager immediately (it was reported at 2026-03-02 09:00, Asia/Shanghai).")
    for text in (plain(notes.escalation_note(action, incident("1", severity=1), p, T0, [LI])) for p in (PROC, EN_PROC)):
        assert "1 s" not in text and "1秒" not in text and "missed" not in text and "超时" not in text


def test_lateness_within_a_poll_interval_is_not_announced_beyond_it_it_is() -> None:
    minute = timedelta(minutes=1)
    within = escalate(2, timedelta(hours=4), late=4 * minute)
    assert "missed" not in plain(notes.escalation_note(within, incident("1"), EN_PROC, T0, [LI], grace=5 * minute))
    beyond = escalate(2, timedelta(hours=4), late=6 * minute)
    assert "missed by 6 min (24x7)." in plain(notes.escalation_note(beyond, incident("1"), EN_PROC, T0, [LI],
                                                                    grace=5 * minute))
    # an immediate escalation made two working hours late says so, in working time
    late = escalate(1, timedelta(0), "default", late=2 * timedelta(hours=1))
    assert plain(notes.escalation_note(late, incident("1", severity=1), EN_PROC, T0, [LI])).splitlines()[1].endswith(
        f"immediately; it was reported at 2026-03-02 09:00 (Asia/Shanghai), so this is late by 2 h of working "
        f"time ({BUSINESS_EN}).")


def test_people_are_mentioned_and_shown_by_their_display_names() -> None:
    unknown = Person("acct-7")  # a user the tracker does not know: named by the id
    text = notes.escalation_note(escalate(2, timedelta(hours=4)), incident("1"), EN_PROC, T0,
                                 [LI, Person("pm-wu", "Wu Fang", "42"), unknown])
    mentioned = [part for part in split_mentions(text) if isinstance(part, Person)]
    assert mentioned == [LI, Person("pm-wu", "Wu Fang", "42"), unknown]
    assert plain(text).startswith("[Escalation] OPS-1 escalated to level 1: reported to the project manager "
                                  "(Li Ming, Wu Fang, acct-7).")
    assert plain(notes.escalation_note(escalate(2, timedelta(hours=4)), incident("1"), PROC, T0, [])).startswith(
        "【事件升级】OPS-1 已升级至第1级：上报项目经理（角色目录中无人）。")


def test_the_warning_gives_the_time_left_in_the_contract_s_time() -> None:
    warning = WarnBeforeBreach(level=1, role="project_manager", deadline=T0 + timedelta(hours=6), warn_at=T0,
                               severity=3, contract="default", allowed=timedelta(hours=6),
                               left=timedelta(hours=1, minutes=30), notify=("assignee", "target"))
    assert lines(notes.warning_note(warning, incident("1"), EN_PROC, [LI, Person("eng-a", "An Qi")]))[1] == (
        "Rule §5.2.1: escalation starts when an incident will not be repaired in time. Under the default contract "
        f"timetable a severity 3 incident is reported to the project manager within 6 h of working time "
        f"({BUSINESS_EN}); 1 h 30 min of working time is left. Told: Li Ming, An Qi.")
    assert "剩余工作时间1小时30分钟。已通知：Li Ming。" in plain(notes.warning_note(warning, incident("1"), PROC, [LI]))


def test_an_acknowledgement_reminder_names_who_is_reminded() -> None:
    action = RepeatEscalation(level=1, role="project_manager", escalated_at=T0, repeat=2, of=3,
                              due=T0 + timedelta(hours=1))
    assert lines(notes.repeat_note(action, incident("1"), EN_PROC, "default", people=[LI]))[0] == (
        "[Escalation not acknowledged] OPS-1 was escalated to level 1 (project manager: Li Ming) at 2026-03-02 "
        "09:00 (Asia/Shanghai) and nobody has acknowledged it. Reminder 2 of 3.")


def test_an_english_note_is_signed_in_english() -> None:
    escalation = notes.escalation_note(escalate(2, timedelta(hours=4), late=timedelta(hours=1, minutes=30)),
                                       incident("1", severity=2), EN_PROC, T0, [LI])
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    restore = notes.restore_note(action, incident("1", severity=4), EN_PROC, "default", None)
    for text in (escalation, restore):
        assert text.endswith("\n— incident-escalator") and "事件升级助手" not in text


def test_the_restore_note_says_to_record_the_approval_first_within_15_minutes_of_clock_time() -> None:
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    text = plain(notes.restore_note(action, incident("1", severity=4, tracker="zammad"), PROC, "default", None))
    first, then = text.index("先添加"), text.index("再于15分钟（自然时间）内调整分级")
    assert first < then and "severity-downgrade-approved" in text and text.startswith("【不得降级】Liu 于")
    # the person the writer resolved (with the tracker's mention id) is the one mentioned
    mentioned = notes.restore_note(action, incident("1", severity=4), EN_PROC, "default", None,
                                   by=Person("eng-a", "Liu Yang", "7"))
    assert Person("eng-a", "Liu Yang", "7") in split_mentions(mentioned)
    assert "within 15 min (clock time); in Jira both may go in one edit." in plain(mentioned)


def test_the_restore_note_calls_the_approval_what_the_tracker_calls_it() -> None:
    action = RestoreSeverity(to=2, current=4, lowered_by="eng-a", lowered_by_name="Liu", lowered_at=T0)
    en_proc = replace(PROC, contracts={**PROC.contracts, "default": replace(PROC.contracts["default"], language="en")})
    for tracker, zh, en in (("jira", "添加标签“", "add the label '"), ("zammad", "添加标记（tag）“", "add the tag '")):
        inc = incident("1", severity=4, tracker=tracker)
        assert zh in notes.restore_note(action, inc, PROC, "default", None)
        assert en in notes.restore_note(action, inc, en_proc, "default", None)


def test_the_level_write_back_says_why_and_that_it_is_once() -> None:
    action = RestoreLevel(level=2, found=0, reached_at=T0 + timedelta(hours=6))
    assert lines(notes.level_note(action, incident("1"), EN_PROC, "default")) == [
        "[Escalation level restored] The escalation level field of OPS-1 reads empty, but the escalator escalated "
        "it to level 2 (division director) at 2026-03-02 15:00 (Asia/Shanghai). Nobody changed the field on the "
        "ticket (it was most likely deleted and created again), so the escalator writes level 2 back, once.",
        "— incident-escalator",
    ]
    assert "字段现为第1级" in notes.level_note(action.model_copy(update={"found": 1}), incident("1"), PROC, "default")
