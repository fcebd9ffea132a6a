"""The texts of the daily duties: the project manager's digest, the customer's update, the review list.

Pure: built from `mapping.duties` selections; the daemon delivers them through the
tracker (a note, a mention) or by e-mail (`plugin.mailer`). Short, factual, signed as
the escalator, in the contract's language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mapping.duties import (
    DigestLine,
    DutyDue,
    customer_update_targets,
    digest_line,
    entered_current_state,
    of_contract,
    pending_review,
    resolutions,
    resolved_in_week,
    review_overdue,
    unresolved_today,
)
from mapping.incident import Incident
from mapping.procedure import Language, Procedure
from mapping.spans import time_kind
from mapping.text import Texts, format_duration, text_table
from plugin.notes import signed
from plugin.reports import Names, local, t
from plugin.reports.callbacks import CallBack, render_callbacks
from plugin.reports.kpi_formats import event_text

_WORDS = Texts("plugin.reports.digest", {
    "digest_subject": ("未解决事件日报 {day}：{n} 起", "Unresolved incidents {day}: {n}"),
    "digest_intro": ("以下是截至今日下班前一小时仍未解决的事件（§4.6.1）：",
                     "These incidents were not resolved one hour before the end of today (§4.6.1):"),
    "digest_empty": ("今日没有未解决的事件。", "No unresolved incident today."),
    "age": ("已用时间（{kind}）", "Time since report ({kind})"),
    "for_people": ("致：{who}", "For: {who}"),
    "and": ("、", ", "),
    "next_deadline": ("下一升级时限", "Next deadline"),
    "last_action": ("最近操作", "Last action"),
    "update": ("【事件进展】{ref}：当前状态为“{state}”。下一步：{next}。",
               "[Update] {ref} is {state}. Next: {next}."),
    "next_pending": ("等待派单给工程师", "dispatch to an engineer"),
    "next_dispatched": ("工程师将开始处理", "the engineer starts work"),
    "next_in_progress": ("工程师继续处理", "the engineer continues the work"),
    "next_suspended": ("等待厂商支持或外修结果", "waiting on the vendor or the outside repair"),
    "next_paused": ("等待贵方条件具备后继续处理", "work resumes once your side is ready"),
    "review_subject": ("待审核事件 {day}：{n} 起", "Incidents pending review {day}: {n}"),
    "review_intro": ("以下事件处于“待审核”，请确认归档或退回（§4.5.2）：",
                     "These incidents are pending review: please archive or reopen them (§4.5.2):"),
    "review_overdue": ("已超过一个完整工作日：", "Waiting for more than a full working day:"),
    "waiting_since": ("进入待审核", "Pending review since"),
})
_w = _WORDS.text


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def _last_action_text(line: DigestLine, names: Names, tz: ZoneInfo) -> str:
    last = line.last
    if last.what == "reported":
        text = event_text("reported", "", names)
    else:
        text = event_text(last.what, last.detail, names)
    who = f" ({last.by})" if last.by else ""
    return f"{local(last.at, tz)} {text}{who}"


def pm_digest(incidents: Iterable[Incident], procedure: Procedure, now: datetime, lang: Language = "zh",
              tz: ZoneInfo | None = None, day: date | None = None) -> Message:
    """One project manager's end-of-day digest of their unresolved incidents (§4.6.1).

    `incidents` are the ones `mapping.duties.unresolved_today` selected for this manager;
    `day` is the working day the digest is for (a caught-up one is not today's), else `now`'s.
    """
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    names = Names(procedure, lang)
    lines = [digest_line(i, procedure, now) for i in incidents]
    subject = _w("digest_subject", lang).format(day=(day or now.astimezone(zone).date()).isoformat(), n=len(lines))
    if not lines:
        return Message(subject, signed([_w("digest_empty", lang), ""], lang) + "\n")
    rows = [[line.incident.ref, names.severity(line.incident.severity), names.state(line.incident.state),
             format_duration(line.age, lang, elapsed=True), local(line.next_deadline, zone) or "-",
             _last_action_text(line, names, zone),
             line.incident.title] for line in lines]
    # the age is counted on the contract's calendar: its column says which kind of time
    kind = time_kind(procedure.calendar_of(procedure.contract(lines[0].incident.contract)), lang)
    table = text_table([t("ticket", lang), t("severity", lang), t("state", lang), _w("age", lang).format(kind=kind),
                        _w("next_deadline", lang), _w("last_action", lang), t("title", lang)], rows)
    return Message(subject, signed([_w("digest_intro", lang), "", table, ""], lang) + "\n")


def customer_update(incident: Incident, procedure: Procedure, lang: Language = "zh") -> str:
    """The short public update a customer gets on an unresolved incident (§4.6.2)."""
    names = Names(procedure, lang)
    key = procedure.state(incident.state).key
    next_key = f"next_{key}"
    following = _w(next_key, lang) if next_key in _WORDS else _w("next_in_progress", lang)
    return signed([_w("update", lang).format(ref=incident.ref, state=names.state(incident.state), next=following)],
                  lang)


def review_list(pending: Iterable[Incident], overdue: Iterable[Incident], procedure: Procedure, now: datetime,
                lang: Language = "zh", tz: ZoneInfo | None = None, day: date | None = None) -> Message:
    """The daily list of incidents in 待审核 for one project manager, the overdue ones named (§4.5.2).

    `day` is the working day the list is for (a caught-up one is not today's), else `now`'s.
    """
    zone = tz or ZoneInfo(procedure.calendar_of(procedure.contract(None)).timezone)
    names = Names(procedure, lang)
    pending = list(pending)
    overdue_refs = {i.ref for i in overdue}
    rows = [[i.ref, names.severity(i.severity), local(entered_current_state(i), zone),
             "!" if i.ref in overdue_refs else "", i.title] for i in pending]
    body = [_w("review_intro", lang), "",
            text_table([t("ticket", lang), t("severity", lang), _w("waiting_since", lang), "", t("title", lang)],
                       rows)]
    if overdue_refs:
        body += ["", _w("review_overdue", lang) + " " + ", ".join(i.ref for i in pending if i.ref in overdue_refs)]
    subject = _w("review_subject", lang).format(day=(day or now.astimezone(zone).date()).isoformat(), n=len(pending))
    return Message(subject, signed([*body, ""], lang) + "\n")


@dataclass(frozen=True)
class Delivery:
    """One message a due duty produces: who gets it, the text, and the incidents it is about.

    `public` is the customer's update (customer-facing on `incidents[0]`: a public comment
    on Jira, an e-mail reply on Zammad); the others go to
    people (a note mentioning them on each listed ticket, or e-mail). `marker` is stable
    per duty, period and recipient, for the tracker-side idempotency of `add_note`.
    """

    duty: str
    period_key: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    incidents: tuple[Incident, ...]
    public: bool
    marker: str
    lang: Language = "zh"

    def note(self, names: list[str]) -> str:
        """The text of its note on each listed ticket: the subject, whom it is for (`names`: their display
        names), the body; a customer's update is its own text. The recipients are named, not mentioned:
        a digest of ten tickets is one notification (`plugin.duty_runner`), not ten mentions."""
        if self.public:
            return self.body
        head = self.subject
        if names:
            head += "\n" + _w("for_people", self.lang).format(who=_w("and", self.lang).join(names))
        return f"{head}\n\n{self.body}"


PeopleOf = Callable[[Incident, str], list[str]]  # (incident, role key) -> tracker user ids


def _by_person(incidents: Iterable[Incident], role: str, people_of: PeopleOf) -> dict[str, list[Incident]]:
    grouped: dict[str, list[Incident]] = {}
    for incident in incidents:
        for person in people_of(incident, role):
            grouped.setdefault(person, []).append(incident)
    return grouped


def duty_deliveries(due: DutyDue, incidents: Iterable[Incident], procedure: Procedure, now: datetime,
                    people_of: PeopleOf) -> list[Delivery]:
    """What to send for one due duty, from the contract's incidents (`people_of` is the role directory).

    pm_digest and review_list: one message per project manager, listing their incidents;
    customer_update: one public update per incident, as the contract allows; callbacks: one
    list per service-desk person, of the week's resolved incidents. An empty digest is not sent.

    A period done late (caught up after an outage) is still that period's: titled with its
    day, and without the incidents reported after its due time (they belong to a later one).
    """
    scope = [i for i in of_contract(incidents, procedure, due.contract) if i.reported_at <= due.scheduled_at]
    lang = procedure.contract(due.contract).language
    tz = ZoneInfo(procedure.calendar_of(procedure.contract(due.contract)).timezone)
    day = due.scheduled_at.astimezone(tz).date()
    out: list[Delivery] = []

    def add(person: str | None, message: Message, items: list[Incident], public: bool = False) -> None:
        recipients = (person,) if person else ()
        suffix = f":{person}" if person else f":{items[0].id}"
        out.append(Delivery(due.duty, due.period_key, recipients, message.subject, message.body, tuple(items),
                            public, f"duty-{due.period_key}{suffix}", lang))

    if due.duty == "pm_digest":
        for person, items in sorted(_by_person(unresolved_today(scope, procedure), "project_manager",
                                               people_of).items()):
            add(person, pm_digest(items, procedure, now, lang, tz, day), items)
    elif due.duty == "customer_update":
        for incident in customer_update_targets(scope, procedure):
            add(None, Message(incident.ref, customer_update(incident, procedure, lang)), [incident], public=True)
    elif due.duty == "review_list":
        overdue = review_overdue(scope, procedure, now)
        for person, items in sorted(_by_person(pending_review(scope, procedure), "project_manager",
                                               people_of).items()):
            add(person, review_list(items, [i for i in overdue if i in items], procedure, now, lang, tz, day),
                items)
    elif due.duty == "callbacks":
        resolved = resolved_in_week(scope, procedure, due.period_start, due.period_end)
        for person, items in sorted(_by_person(resolved, "service_desk", people_of).items()):
            week = due.period_key.rsplit(":", 1)[1]
            body = render_callbacks([CallBack(i, max(r for r in resolutions(i, procedure)
                                                     if due.period_start <= r < due.period_end)) for i in items],
                                    procedure, week, "table", lang, tz)
            add(person, Message(f"{t('callbacks_title', lang)} {week}", signed([body], lang) + "\n"), items)
    return out
