"""The texts the escalator writes on tickets, in Chinese (default) or English.

Each note is short and factual: what the escalator did, under which rule of the
procedure, on which numbers, and — for the no-downgrade rule — how an authorised
exception is recorded. Every note is signed, in its own language (`signed`; the
duties' texts are signed the same way). The marker that makes the note
idempotent is added by the connector, not here.

Every figure of time is in one kind of time and says which (`mapping.spans`: working time
of the contract's business calendar, or 24x7); an allowance of zero is "immediately" (立即);
a deadline met within the daemon's reading is not called missed. Every person is a mention
(`connectors.base.mention`): the connector writes it the tracker's way — a Jira Cloud ADF
mention node, Jira Data Center `[~username]`, a Zammad mention link — which shows the
display name and tells the person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from connectors.base import Person, mention
from connectors.factory import connector_class
from mapping.actions import (
    Escalate,
    FlagIncompleteRecord,
    FlagTransition,
    RepeatEscalation,
    RestoreLevel,
    RestoreSeverity,
    WarnBeforeBreach,
)
from mapping.downgrade import APPROVAL_WINDOW
from mapping.fieldmap import Labels, TrackerMapping
from mapping.incident import Incident
from mapping.procedure import Contract, Language, Procedure
from mapping.spans import clock_span, sla_span
from mapping.text import Texts
from plugin.refusals import NO_WAY, RETRYABLE, UNANSWERED, Refusal

#: every text a note is made of; `{...}` fields are filled in by the functions below. Every figure of
#: SLA time is `mapping.spans.sla_span` (labelled working time or 24x7), every person a mention
_WORDS = Texts("plugin.notes", {
    "signature": ("—— 事件升级助手 incident-escalator", "— incident-escalator"),
    "unknown_user": ("未知用户", "an unknown user"),
    "nobody": ("角色目录中无人", "nobody in the role directory"),
    "and": ("、", ", "),
    "or": ("、", " or "),
    "escalation_head": ("【事件升级】{ref} 已升级至第{level}级：上报{role}（{who}）。",
                        "[Escalation] {ref} escalated to level {level}: reported to the {role} ({who})."),
    "limit_now": ("须立即上报{role}", "immediately"),
    "limit": ("须在报告后{allowed}内上报{role}", "within {allowed}"),
    "requested_by": ("应{asker}于 {deadline} 的请求", "at the request of {asker} ({deadline})"),
    "requested": ("应请求", "on request"),
    "escalation_manual": ("依据§5.2.1，{by}手动升级。{severity}按《{contract}》时间表{limit}。",
                          "Rule §5.2.1: escalated {by}. Under the {contract} timetable a {severity} incident "
                          "is reported to the {role} {limit}."),
    # the deadline met within `grace` (the daemon's reading, not a miss: see `escalation_note`)
    "escalation_timetable": ("依据§5.2.2，{severity}按《{contract}》时间表{limit}；截止时间 {deadline}（{zone}）。",
                             "Rule §5.2.2: under the {contract} timetable a {severity} incident must be reported "
                             "to the {role} {limit}; the deadline was {deadline} ({zone})."),
    "escalation_late": ("依据§5.2.2，{severity}按《{contract}》时间表{limit}；截止时间 {deadline}（{zone}），"
                        "已超时{overdue}。",
                        "Rule §5.2.2: under the {contract} timetable a {severity} incident must be reported to "
                        "the {role} {limit}; the deadline was {deadline} ({zone}), missed by {overdue}."),
    "escalation_at_once": ("依据§5.2.2，{severity}按《{contract}》时间表须立即上报{role}（报告时间 {deadline}，{zone}）。",
                           "Rule §5.2.2: under the {contract} timetable a {severity} incident is reported to the "
                           "{role} immediately (it was reported at {deadline}, {zone})."),
    "escalation_at_once_late": ("依据§5.2.2，{severity}按《{contract}》时间表须立即上报{role}（报告时间 {deadline}，"
                                "{zone}），已超时{overdue}。",
                                "Rule §5.2.2: under the {contract} timetable a {severity} incident is reported to "
                                "the {role} immediately; it was reported at {deadline} ({zone}), so this is late by "
                                "{overdue}."),
    # written before the severity (its marker keeps it single): it says what the escalator does,
    # and `not_restored` follows when the tracker refuses the write
    "restore_head": ("【不得降级】{who} 于 {at} 将事件分级由{old}降为{new}，本助手将其恢复为{old}。",
                     "[No downgrade] {who} lowered the severity from {old} to {new} at {at}; "
                     "the escalator restores it to {old}."),
    "restore_rule": ("依据§4.3.1.2，原则上原有分级不得降低。",
                     "Rule §4.3.1.2: in principle the original severity must not be lowered."),
    "restore_how": ("如确需降级，须由{approvers}先添加{kind}“{label}”记录授权的例外，再于{window}内调整分级"
                    "（Jira 中也可在同一次编辑中完成）。",
                    "An authorised exception is recorded by the {approvers}: first add the {kind} '{label}', then "
                    "set the new severity within {window}; in Jira both may go in one edit."),
    "transition_head": ("【状态变更不合规】{who} 于 {at} 将状态由{source}直接改为{target}。",
                        "[Illegal state change] {who} moved the incident from {source} to {target} at {at}."),
    "transition_rule": ("依据{section}：{rule}。{outcome}", "Rule {section}: {rule}. {outcome}"),
    "reverted": ("本助手将状态改回{source}。", "The escalator puts the state back to {source}."),
    "left_as_is": ("状态未改动，请按程序处理。", "The state was left as is; please follow the procedure."),
    # what the tracker refused (plugin.refusals), said where it matters
    "refused": ("{tracker} 拒绝（HTTP {status}）", "{tracker} refused, HTTP {status}"),
    "not_accepted": ("{tracker} {attempts} 次均未接受（最后一次 HTTP {status}）",
                     "{tracker} did not accept it in {attempts} attempts (last: HTTP {status})"),
    "unanswered": ("{tracker} 未应答（{cause}）", "{tracker} did not answer ({cause})"),
    "no_way": ("{tracker} 的工作流不提供改回该状态的途径", "the {tracker} workflow offers no way back"),
    "detail": ("{reason}：{detail}", "{reason}: {detail}"),
    "not_told": ("无法通知{role}（{people}）：{why}。", "Could not notify the {role} ({people}): {why}."),
    "unconfirmed": ("未能确认已通知{role}（{people}）：{why}。",
                    "Could not confirm that the {role} ({people}) was notified: {why}."),
    "not_back": ("未能将状态改回{source}：{why}。请人工处理。",
                 "It could not be put back to {source}: {why}. Please put it back by hand."),
    "not_restored": ("【分级未能恢复】未能将事件分级恢复为{severity}：{why}。请人工恢复。",
                     "[Severity not restored] The severity could not be restored to {severity}: {why}. "
                     "Please restore it by hand."),
    "incomplete": ("【记录不完整】依据§4.1.4，事件记录缺少：{missing}。请补充。",
                   "[Incomplete record] Rule §4.1.4: the incident record lacks: {missing}. Please complete it."),
    "escalation_subject": ("事件升级（第{level}级，{role}）：{ref} {title}",
                           "Escalation (level {level}, {role}): {ref} {title}"),
    # §5.2.1: before a deadline (mapping.warnings)
    "warning_head": ("【即将超时】{ref} 须在 {deadline}（{zone}）前解决，否则将升级至第{level}级：上报{role}。",
                     "[Deadline ahead] {ref} must be resolved by {deadline} ({zone}), or it is escalated to "
                     "level {level}: reported to the {role}."),
    "warning_rule": ("依据§5.2.1，事件预计未能按时修复时即应升级。{severity}按《{contract}》时间表{limit}；"
                     "剩余{left}。已通知：{who}。",
                     "Rule §5.2.1: escalation starts when an incident will not be repaired in time. Under the "
                     "{contract} timetable a {severity} incident is reported to the {role} {limit}; {left} "
                     "is left. Told: {who}."),
    "warning_subject": ("即将超时（{deadline} 上报{role}）：{ref} {title}",
                        "Deadline ahead ({role} at {deadline}): {ref} {title}"),
    # an escalation not acknowledged yet (mapping.acknowledge)
    "ack_how": ("请{role}添加{kind}“{label}”确认已收到；确认前每{every}重复通知一次，最多{max}次。",
                "The {role} acknowledges by adding the {kind} '{label}'; until then this is repeated every "
                "{every}, at most {max} times."),
    "repeat_head": ("【升级未确认】{ref} 于 {at}（{zone}）升级至第{level}级（{role}：{who}），尚无人确认。"
                    "第{n}次提醒，共{max}次。",
                    "[Escalation not acknowledged] {ref} was escalated to level {level} ({role}: {who}) at {at} "
                    "({zone}) and nobody has acknowledged it. Reminder {n} of {max}."),
    "repeat_how": ("请添加{kind}“{label}”确认已收到（如已有该{kind}，请先移除再添加）。",
                   "Acknowledge by adding the {kind} '{label}' (if it is there already, remove it and add it "
                   "again)."),
    "repeat_subject": ("升级未确认（第{level}级，{role}，第{n}次提醒）：{ref} {title}",
                       "Escalation not acknowledged (level {level}, {role}, reminder {n}): {ref} {title}"),
    # the level field lost its value (recreated, or cleared outside the ticket's history): mapping.level
    "level_back": ("【升级级别已恢复】{ref} 的“升级级别”字段现为{found}，但本助手已于 {at}（{zone}）将其升级至第{level}级"
                   "（{role}）。该字段的值并非由任何人修改（很可能是字段被删除后重建），本助手将其写回第{level}级，仅此一次。",
                   "[Escalation level restored] The escalation level field of {ref} reads {found}, but the "
                   "escalator escalated it to level {level} ({role}) at {at} ({zone}). Nobody changed the field "
                   "on the ticket (it was most likely deleted and created again), so the escalator writes level "
                   "{level} back, once."),
    "level_empty": ("空", "empty"),
    "level_n": ("第{level}级", "level {level}"),
})


def signature(lang: Language) -> str:
    """The line that signs everything the escalator writes, in the text's language."""
    return _WORDS.text("signature", lang)


def signed(lines: Iterable[str], lang: Language) -> str:
    """`lines` as one text, signed in `lang`."""
    return "\n".join([*lines, signature(lang)])


def _words(lang: Language) -> Callable[..., str]:
    """The note texts in `lang`: w(key, **fields) is the text with its fields filled in."""
    def w(key: str, **fields: object) -> str:
        return _WORDS.text(key, lang).format(**fields)
    return w


def _when(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def who(person: Person | None, lang: Language) -> str:
    """A person as a note names them: mentioned (the connector renders the tracker's mention, shown as
    the display name); nobody known: 'an unknown user'."""
    return mention(person) if person is not None else _WORDS.text("unknown_user", lang)


def _people(people: Sequence[Person], lang: Language, empty: str = "nobody") -> str:
    w = _words(lang)
    return w("and").join(mention(p) for p in people) if people else w(empty)


def _person(user: str | None, name: str | None, given: Person | None) -> Person | None:
    """The person the writer resolved (with the tracker's mention id), else the history's id and name."""
    if given is not None:
        return given
    return Person(user, name) if user else None


def _contract_name(key: str, contract: Contract, lang: Language) -> str:
    return contract.name.in_(lang) if contract.name else key


#: Lateness up to `grace` is the daemon's reading, not a missed deadline, and is not announced: a
#: deadline the daemon learns of from a read (a new ticket, a changed severity) is seen at its next
#: poll, up to a poll interval after it passed, and a known one is acted on within seconds. The
#: writer passes its poll interval plus this (the pass's own time); alone, this is the floor.
ON_TIME_WITHIN = timedelta(minutes=1)


def escalation_note(action: Escalate, incident: Incident, procedure: Procedure, now: datetime,
                    people: Sequence[Person], unreached: Refusal | None = None,
                    mapping: TrackerMapping | None = None, *, grace: timedelta = ON_TIME_WITHIN,
                    asker: Person | None = None) -> str:
    """The escalation's note; `unreached`: why its people could not be told (then the note says so). Where
    the contract asks for acknowledgement, it says how (the label of `mapping`).

    Every figure is SLA time of the contract's calendar, labelled (`mapping.spans`): the time the
    timetable allows, and by how much the deadline was missed — in the same time, never a
    wall-clock lateness beside a working-time allowance. A deadline met within `grace` of SLA
    time (the daemon's poll interval, at least `ON_TIME_WITHIN`) is not a miss to announce.
    """
    contract = procedure.contract(action.contract)
    lang = contract.language
    w = _words(lang)
    calendar = procedure.calendar_of(contract)
    zone = calendar.timezone
    role = procedure.role(action.role).name.in_(lang)
    deadline = _when(action.deadline, zone)
    head = w("escalation_head", ref=incident.ref, level=action.level, role=role, who=_people(people, lang))
    facts = {"role": role, "severity": procedure.severity(action.severity).name.in_(lang),
             "contract": _contract_name(action.contract, contract, lang), "deadline": deadline}
    at_once = action.allowed <= timedelta(0)
    if at_once:
        limit = w("limit_now", role=role)
    else:
        limit = w("limit", role=role, allowed=sla_span(action.allowed, calendar, lang, full=True, elapsed=False))
    if action.reason == "manual":
        request = next((r for r in incident.manual_requests if r.at == action.deadline), None)
        by = w("requested_by", asker=who(_person(request.by, request.by_name, asker), lang), deadline=deadline) \
            if request else w("requested")
        why = w("escalation_manual", by=by, limit=limit, **facts)
    else:
        # by how much the deadline was missed, in SLA time: the time counted beyond what was allowed
        overdue = max(action.elapsed - action.allowed, timedelta(0))
        late = overdue > max(grace, ON_TIME_WITHIN)
        if at_once:
            key = "escalation_at_once_late" if late else "escalation_at_once"
        else:
            key = "escalation_late" if late else "escalation_timetable"
        why = w(key, limit=limit, zone=zone, overdue=sla_span(overdue, calendar, lang, full=at_once), **facts)
        at_once = at_once and not late  # the calendar is named once, with the first figure
    lines = [head, why]
    if contract.acknowledge is not None:
        kind, label = _ack_label(incident, mapping)
        lines.append(w("ack_how", role=role, kind=kind[lang], label=label,
                       every=sla_span(contract.acknowledge.repeat_every, calendar, lang, full=at_once),
                       max=contract.acknowledge.max_repeats))
    if unreached is not None:
        key = "unconfirmed" if unreached.kind == UNANSWERED else "not_told"
        lines.append(w(key, role=role, people=_people(people, lang), why=refusal_reason(unreached, lang)))
    return signed(lines, lang)


def _ack_label(incident: Incident, mapping: TrackerMapping | None = None) -> tuple[str, str]:
    """(the tracker's word for a label/tag, in Chinese and English, and the acknowledgement label)."""
    label = mapping.labels.acknowledge if mapping else Labels().acknowledge
    return connector_class(incident.tracker).label_term, label


def warning_note(action: WarnBeforeBreach, incident: Incident, procedure: Procedure,
                 people: Sequence[Person]) -> str:
    """The warning before a deadline (§5.2.1): which deadline comes when, what happens then, who was told."""
    contract = procedure.contract(action.contract)
    lang = contract.language
    w = _words(lang)
    calendar = procedure.calendar_of(contract)
    zone = calendar.timezone
    role = procedure.role(action.role).name.in_(lang)
    return signed([
        w("warning_head", ref=incident.ref, deadline=_when(action.deadline, zone), zone=zone, level=action.level,
          role=role),
        w("warning_rule", severity=procedure.severity(action.severity).name.in_(lang),
          contract=_contract_name(action.contract, contract, lang), role=role,
          limit=w("limit", role=role, allowed=sla_span(action.allowed, calendar, lang, full=True, elapsed=False)),
          left=sla_span(action.left, calendar, lang), who=_people(people, lang)),
    ], lang)


def warning_subject(action: WarnBeforeBreach, incident: Incident, procedure: Procedure) -> str:
    contract = procedure.contract(action.contract)
    lang = contract.language
    return _words(lang)("warning_subject", deadline=_when(action.deadline, procedure.calendar_of(contract).timezone),
                        role=procedure.role(action.role).name.in_(lang), ref=incident.ref, title=incident.title)


def repeat_note(action: RepeatEscalation, incident: Incident, procedure: Procedure, contract_key: str,
                mapping: TrackerMapping | None = None, people: Sequence[Person] = ()) -> str:
    """A reminder of an escalation nobody acknowledged yet, to `people` (who hold its role), and how to
    acknowledge it."""
    contract = procedure.contract(contract_key)
    lang = contract.language
    w = _words(lang)
    zone = procedure.calendar_of(contract).timezone
    kind, label = _ack_label(incident, mapping)
    return signed([
        w("repeat_head", ref=incident.ref, at=_when(action.escalated_at, zone), zone=zone, level=action.level,
          role=procedure.role(action.role).name.in_(lang), n=action.repeat, max=action.of,
          who=_people(people, lang)),
        w("repeat_how", kind=kind[lang], label=label),
    ], lang)


def repeat_subject(action: RepeatEscalation, incident: Incident, procedure: Procedure, contract_key: str) -> str:
    lang = procedure.contract(contract_key).language
    return _words(lang)("repeat_subject", level=action.level, role=procedure.role(action.role).name.in_(lang),
                        n=action.repeat, ref=incident.ref, title=incident.title)


def restore_note(action: RestoreSeverity, incident: Incident, procedure: Procedure, contract_key: str,
                 mapping: TrackerMapping | None, by: Person | None = None) -> str:
    """The no-downgrade note; `by`: the person who lowered it, as the tracker mentions them."""
    contract = procedure.contract(contract_key)
    lang = contract.language
    w = _words(lang)
    zone = procedure.calendar_of(contract).timezone
    old, new = procedure.severity(action.to).name.in_(lang), procedure.severity(action.current).name.in_(lang)
    approvers = w("or").join(procedure.role(r).name.in_(lang) for r in procedure.downgrade_exception.roles)
    label = mapping.labels.approve_downgrade if mapping else "severity-downgrade-approved"
    return signed([
        w("restore_head", who=who(_person(action.lowered_by, action.lowered_by_name, by), lang),
          at=_when(action.lowered_at, zone), old=old, new=new),
        w("restore_rule"),
        # the approval window is clock time, not the contract's (mapping.downgrade.APPROVAL_WINDOW)
        w("restore_how", approvers=approvers, kind=connector_class(incident.tracker).label_term[lang], label=label,
          window=clock_span(APPROVAL_WINDOW, lang)),
    ], lang)


def transition_note(action: FlagTransition, incident: Incident, procedure: Procedure, contract_key: str,
                    reverted: bool, failure: Refusal | None = None, by: Person | None = None) -> str:
    """The flag of an illegal change; `reverted` only once the put-back succeeded, `failure` why it
    could not be put back; `by`: who made the change, as the tracker mentions them."""
    contract = procedure.contract(contract_key)
    lang = contract.language
    w = _words(lang)
    zone = procedure.calendar_of(contract).timezone
    source, target = procedure.state(action.source).name.in_(lang), procedure.state(action.target).name.in_(lang)
    rule = next((t.rule.in_(lang) for t in procedure.transitions if t.name == action.rule), action.rule)
    outcome = w("reverted", source=source) if reverted else w("left_as_is")
    lines = [w("transition_head", who=who(_person(action.by, action.by_name, by), lang), at=_when(action.at, zone),
               source=source, target=target),
             w("transition_rule", section=action.section, rule=rule, outcome=outcome)]
    if failure is not None:
        lines.append(w("not_back", source=source, why=refusal_reason(failure, lang)))
    return signed(lines, lang)


def not_restored_note(action: RestoreSeverity, procedure: Procedure, contract_key: str, refusal: Refusal) -> str:
    """The second note of a restore the tracker refused: the first one said the escalator restores it."""
    lang = procedure.contract(contract_key).language
    return signed([_words(lang)("not_restored", severity=procedure.severity(action.to).name.in_(lang),
                                why=refusal_reason(refusal, lang))], lang)


def level_note(action: RestoreLevel, incident: Incident, procedure: Procedure, contract_key: str) -> str:
    """Why the escalator writes an escalation level back (`mapping.level`): once, and says so."""
    contract = procedure.contract(contract_key)
    lang = contract.language
    w = _words(lang)
    zone = procedure.calendar_of(contract).timezone
    role = procedure.role(procedure.escalation.targets[action.level - 1]).name.in_(lang)
    found = w("level_n", level=action.found) if action.found else w("level_empty")
    return signed([w("level_back", ref=incident.ref, found=found, level=action.level, role=role,
                     at=_when(action.reached_at, zone), zone=zone)], lang)


def refusal_reason(refusal: Refusal, lang: Language) -> str:
    """Why a write was not done, for a note: 'Jira refused, HTTP 403: <the tracker's own words>'."""
    w = _words(lang)
    tracker = {"jira": "Jira", "zammad": "Zammad"}.get(refusal.tracker, refusal.tracker)
    if refusal.kind == NO_WAY:
        return w("no_way", tracker=tracker)
    if refusal.kind == UNANSWERED:
        return w("unanswered", tracker=tracker, cause=refusal.detail)
    if refusal.kind == RETRYABLE and refusal.attempts > 1:
        reason = w("not_accepted", tracker=tracker, attempts=refusal.attempts, status=refusal.status)
    else:
        reason = w("refused", tracker=tracker, status=refusal.status)
    return w("detail", reason=reason, detail=refusal.detail.rstrip(".。")) if refusal.detail else reason


def incomplete_note(action: FlagIncompleteRecord, incident: Incident, procedure: Procedure,
                    contract_key: str) -> str:
    lang = procedure.contract(contract_key).language
    w = _words(lang)
    names = {f.key: f.name.in_(lang) for f in procedure.record_fields}
    return signed([w("incomplete", missing=w("and").join(names.get(key, key) for key in action.missing))], lang)


def escalation_subject(action: Escalate, incident: Incident, procedure: Procedure) -> str:
    lang = procedure.contract(action.contract).language
    return _words(lang)("escalation_subject", level=action.level, role=procedure.role(action.role).name.in_(lang),
                        ref=incident.ref, title=incident.title).rstrip()
