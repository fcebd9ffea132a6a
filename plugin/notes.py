"""The texts the escalator writes on tickets, in Chinese (default) or English.

Each note is short and factual: what the escalator did, under which rule of the
procedure, on which numbers, and — for the no-downgrade rule — how an authorised
exception is recorded. Every note is signed. The marker that makes the note
idempotent is added by the connector, not here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mapping.actions import Escalate, FlagIncompleteRecord, FlagTransition, RestoreSeverity
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident
from mapping.procedure import Contract, Language, Procedure

SIGNATURE = "—— 事件升级助手 incident-escalator"


def _duration(value: timedelta, lang: Language) -> str:
    minutes = max(int(round(value.total_seconds() / 60)), 0)
    if minutes == 0:
        return "立即" if lang == "zh" else "immediately"
    hours, minutes = divmod(minutes, 60)
    if lang == "zh":
        return (f"{hours}小时" if hours else "") + (f"{minutes}分钟" if minutes else "")
    return " ".join(p for p in ((f"{hours} h" if hours else ""), (f"{minutes} min" if minutes else "")) if p)


def _elapsed(value: timedelta, lang: Language) -> str:
    """Time counted so far: never 'immediately' (that is an allowance, not an amount)."""
    if value < timedelta(minutes=1):
        return "不足1分钟" if lang == "zh" else "under a minute"
    return _duration(value, lang)


def _overdue(value: timedelta, lang: Language) -> str:
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}秒" if lang == "zh" else f"{seconds} s"
    return _duration(value, lang)


def _when(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _who(user: str | None, name: str | None, lang: Language) -> str:
    if name and user and name != user:
        return f"{name} ({user})"
    return name or user or ("未知用户" if lang == "zh" else "an unknown user")


def _contract_name(key: str, contract: Contract, lang: Language) -> str:
    return contract.name.in_(lang) if contract.name else key


def _sign(lines: list[str]) -> str:
    return "\n".join([*lines, SIGNATURE])


def escalation_note(action: Escalate, incident: Incident, procedure: Procedure, now: datetime,
                    people: list[str]) -> str:
    contract = procedure.contract(action.contract)
    lang = contract.language
    zone = procedure.calendar_of(contract).timezone
    role = procedure.role(action.role).name.in_(lang)
    severity = procedure.severity(action.severity).name.in_(lang)
    contract_name = _contract_name(action.contract, contract, lang)
    who = ", ".join(people) if people else ("角色目录中无人" if lang == "zh" else "nobody in the role directory")
    allowed, overdue = _duration(action.allowed, lang), _overdue(action.overdue(now), lang)
    elapsed, deadline = _elapsed(action.elapsed, lang), _when(action.deadline, zone)
    request = next((r for r in incident.manual_requests if r.at == action.deadline), None)
    asker = _who(request.by, request.by_name, lang) if request else None
    at_once = action.allowed <= timedelta(0)
    if lang == "zh":
        head = f"【事件升级】{incident.ref} 已升级至第{action.level}级：上报{role}（{who}）。"
        limit = f"须立即上报{role}" if at_once else f"须在报告后{allowed}内上报{role}"
        if action.reason == "manual":
            by = f"应{asker}于 {deadline} 的请求" if asker else "应请求"
            why = f"依据§5.2.1，{by}手动升级。{severity}按《{contract_name}》时间表{limit}。"
        else:
            why = (f"依据§5.2.2，{severity}按《{contract_name}》时间表{limit}；"
                   f"截止时间 {deadline}（{zone}），已超时{overdue}，已计时{elapsed}。")
        return _sign([head, why])
    limit = "immediately" if at_once else f"within {allowed} of being reported"
    head = f"[Escalation] {incident.ref} escalated to level {action.level}: reported to the {role} ({who})."
    if action.reason == "manual":
        by = f"at the request of {asker} ({deadline})" if asker else "on request"
        why = (f"Rule §5.2.1: escalated {by}. Under the {contract_name} timetable a {severity} incident "
               f"is reported to the {role} {limit}.")
    else:
        why = (f"Rule §5.2.2: under the {contract_name} timetable a {severity} incident must be reported to "
               f"the {role} {limit}; the deadline was {deadline} ({zone}), "
               f"missed by {overdue} (SLA time counted: {elapsed}).")
    return _sign([head, why])


def restore_note(action: RestoreSeverity, incident: Incident, procedure: Procedure, contract_key: str,
                 mapping: TrackerMapping | None) -> str:
    contract = procedure.contract(contract_key)
    lang = contract.language
    zone = procedure.calendar_of(contract).timezone
    old, new = procedure.severity(action.to).name.in_(lang), procedure.severity(action.current).name.in_(lang)
    who = _who(action.lowered_by, action.lowered_by_name, lang)
    at = _when(action.lowered_at, zone)
    approvers = "、".join(procedure.role(r).name.in_(lang) for r in procedure.downgrade_exception.roles) \
        if lang == "zh" else " or ".join(procedure.role(r).name.in_(lang) for r in procedure.downgrade_exception.roles)
    label = mapping.labels.approve_downgrade if mapping else "severity-downgrade-approved"
    tracker = incident.tracker
    if lang == "zh":
        kind = "标签" if tracker == "jira" else "标记（tag）"
        return _sign([
            f"【不得降级】{who} 于 {at} 将事件分级由{old}降为{new}，本助手将其恢复为{old}。",
            "依据§4.3.1.2，原则上原有分级不得降低。",
            f"如确需降级，须由{approvers}先添加{kind}“{label}”记录授权的例外，再于15分钟内调整分级"
            "（Jira 中也可在同一次编辑中完成）。",
        ])
    kind = "label" if tracker == "jira" else "tag"
    return _sign([
        f"[No downgrade] {who} lowered the severity from {old} to {new} at {at}; the escalator restores it to {old}.",
        "Rule §4.3.1.2: in principle the original severity must not be lowered.",
        f"An authorised exception is recorded by the {approvers}: first add the {kind} '{label}', then "
        "set the new severity within 15 minutes (in Jira both may go in one edit).",
    ])


def transition_note(action: FlagTransition, incident: Incident, procedure: Procedure, contract_key: str,
                    reverted: bool) -> str:
    contract = procedure.contract(contract_key)
    lang = contract.language
    zone = procedure.calendar_of(contract).timezone
    source, target = procedure.state(action.source).name.in_(lang), procedure.state(action.target).name.in_(lang)
    rule = next((t.rule.in_(lang) for t in procedure.transitions if t.name == action.rule), action.rule)
    who = _who(action.by, action.by_name, lang)
    at = _when(action.at, zone)
    if lang == "zh":
        outcome = f"本助手将状态改回{source}。" if reverted else "状态未改动，请按程序处理。"
        return _sign([f"【状态变更不合规】{who} 于 {at} 将状态由{source}直接改为{target}。",
                      f"依据{action.section}：{rule}。{outcome}"])
    outcome = (f"The escalator puts the state back to {source}." if reverted
               else "The state was left as is; please follow the procedure.")
    return _sign([f"[Illegal state change] {who} moved the incident from {source} to {target} at {at}.",
                  f"Rule {action.section}: {rule}. {outcome}"])


def revert_failed_note(action: FlagTransition, incident: Incident, procedure: Procedure, contract_key: str) -> str:
    lang = procedure.contract(contract_key).language
    source = procedure.state(action.source).name.in_(lang)
    if lang == "zh":
        return _sign([f"【状态未能恢复】跟踪系统不允许从当前状态改回{source}，请人工处理。"])
    return _sign([f"[State not put back] The tracker offers no way back to {source}; please do it by hand."])


def incomplete_note(action: FlagIncompleteRecord, incident: Incident, procedure: Procedure,
                    contract_key: str) -> str:
    lang = procedure.contract(contract_key).language
    names = {f.key: f.name.in_(lang) for f in procedure.record_fields}
    missing = [names.get(key, key) for key in action.missing]
    if lang == "zh":
        return _sign([f"【记录不完整】依据§4.1.4，事件记录缺少：{'、'.join(missing)}。请补充。"])
    return _sign([f"[Incomplete record] Rule §4.1.4: the incident record lacks: {', '.join(missing)}. "
                  "Please complete it."])


def escalation_subject(action: Escalate, incident: Incident, procedure: Procedure) -> str:
    contract = procedure.contract(action.contract)
    lang = contract.language
    role = procedure.role(action.role).name.in_(lang)
    if lang == "zh":
        return f"事件升级（第{action.level}级，{role}）：{incident.ref} {incident.title}".rstrip()
    return f"Escalation (level {action.level}, {role}): {incident.ref} {incident.title}".rstrip()
