"""The daemon's duties on a clock (§4.5, §4.6) and problem records (§4.3.6, §6.1.3), carried out.

`mapping.duties` says *what* is due and `plugin.reports.digest.duty_deliveries` *what
to send*; this module does it, through the daemon's connector (a note on each listed
ticket, its recipients notified) or by e-mail (`plugin.mailer`), and records it.

Never twice, never lost, as for escalations:
- a tracker delivery writes a note carrying the delivery's marker (stable per duty,
  period and recipient) on each ticket it lists; `add_note` writes nothing when the
  marker is there, and the recipients are notified only with a note actually written.
  So a restart, a lost journal or a second daemon adds no duplicate note;
- the journal records each delivery after the tracker or the SMTP server accepted it,
  and the period once every delivery of it is done (`Journal.duty_done`); a failed
  delivery leaves the period open and it is tried again on the next pass. E-mail has no
  tracker-side marker: there the journal is the only record, and losing it may resend
  the most recent period's e-mail once;
- a problem record is found before it is made (`Connector.find_problem`, then the
  label/tag the connector gives what it files), and its note carries a marker.

Which incidents a duty lists: the daemon keeps a snapshot of every watched ticket it
has read (`plugin.watched.Watched`), kept current by its incremental reads (every change,
including the daemon's own writes, moves `updated` and comes back in the next read),
plus one full read per process when the daemon resumed from a saved cursor and so never
saw the unchanged tickets. Reading the whole tracker at every duty instead would cost a
full read (and every ticket's history) several times a day; the cache costs one.
The cache selects; what a delivery says comes from a fresh read of each ticket it lists
(`_fresh_deliveries`): the daemon's own writes of the same pass (an escalation to L3 just
before 17:00) come back only with the next read, and the copy the daemon read just before
writing would show the state before it. One read per listed ticket, once a day, is cheap.

A period due before the escalator watched the tracker (`DaemonContext.watch_from`: a brand-new
install, or the config's `daemon.watch_from`) is history, like a change made before it:
recorded done without being carried out (`daemon.duty-skipped`), so a first pass posts
no digest or public update for yesterday.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from connectors.base import Cursor, RecordSpec, record_label
from connectors.http import RateLimited, ServerError, TrackerError, Unreachable
from mapping.duties import (
    MAX_CATCH_UP_WEEKS,
    DutyDue,
    due_duties,
    is_resolved,
    needs_problem,
    next_due_time,
    resolutions,
    resolved_in_week,
)
from mapping.incident import Incident, Unreadable
from mapping.text import Texts
from mapping.trends import TrendDue, counted_since, detect_trends
from plugin.context import DaemonContext, PassStats
from plugin.mailer import MailError, send_digest
from plugin.notes import signature
from plugin.outcomes import Outcomes, RetryLater
from plugin.refusals import Refused
from plugin.reports.callbacks import CallBack, render_callbacks
from plugin.reports.digest import Delivery, duty_deliveries
from plugin.watched import Watched

#: the journal's ticket id for what a duty delivered (a delivery is about several tickets)
DUTY_TICKET = "duty"
#: "the tracker is not there": the pass fails and is retried with back-off (as in the daemon)
_DOWN = (Unreachable, ServerError, RateLimited)

_TEXT = Texts("plugin.duty_runner", {
    "problem_title": ("【问题】{ref} {title}", "[Problem] {ref} {title}"),
    "problem_body": ("事件 {ref}（{title}）需要问题记录（§4.3.6）：{reasons}。请在问题管理流程中分析根本原因。",
                     "Incident {ref} ({title}) needs a problem record (§4.3.6): {reasons}. "
                     "Analyse its root cause in problem management."),
    "problem_note": ("已建立问题记录 {problem}（§4.3.6）：{reasons}。",
                     "Problem record {problem} filed (§4.3.6): {reasons}."),
    "major": ("重大事件（一级）", "major incident (severity 1)"),
    "root_cause_unknown": ("已解决但根本原因未知", "resolved with its root cause unknown"),
    "callbacks_task": ("客户回访 {week}（{contract}）：{n} 起", "Call-backs {week} ({contract}): {n}"),
    # §6.1.3: a pattern found by a trend rule (mapping.trends)
    "trend_title": ("【问题·趋势】{what}：{period} 共 {n} 起事件（{contract}）",
                    "[Problem · trend] {what}: {n} incidents in {period} ({contract})"),
    "trend_count": ("规则“{rule}”：同一{by}在一个{window}内达到 {count} 起", "rule '{rule}': {count} or more of one "
                    "{by} within one {window}"),
    "trend_rise": ("规则“{rule}”：本周 {n} 起，较上周 {previous} 起增长达 {rise}（至少 {count} 起）",
                   "rule '{rule}': {n} this week against {previous} the week before, a rise of {rise} or more "
                   "(at least {count})"),
    "trend_body": ("依据§6.1.3，事件类型或数量的趋势分析发现问题，建立问题记录。\n{rule}。\n事件：\n{incidents}\n"
                   "请在问题管理流程中分析其共同原因。",
                   "Rule §6.1.3: trend analysis of the type or number of incidents shows a possible problem, so a "
                   "problem record is filed.\n{rule}.\nIncidents:\n{incidents}\nAnalyse their common cause in "
                   "problem management."),
    "trend_note": ("本事件属于趋势问题 {problem}（§6.1.3）：{what}，{period} 共 {n} 起。",
                   "This incident is part of the trend problem {problem} (§6.1.3): {what}, {n} in {period}."),
    "by_category": ("分类", "category"),
    "by_configuration_item": ("配置项", "configuration item"),
    "by_all": ("合同", "contract"),
    "window_day": ("天", "day"),
    "window_week": ("周", "week"),
    "window_month": ("月", "month"),
    "all_incidents": ("全部事件", "all incidents"),
})


def _t(key: str, lang: str) -> str:
    return _TEXT.text(key, lang)


#: the daemon's careful read of one ticket: None when it is gone or refused (logged)
ReadOne = Callable[[str], Incident | Unreadable | None]


class DutyRunner:
    """Carries out the duties and problem records for one daemon (one tracker).

    `ctx` is the daemon's context, `watched` what it knows of the tickets, `read_one` its
    careful read of one ticket (a ticket gone is dropped from its schedule), `outcomes` how
    a refused write is settled (`plugin.outcomes`).
    """

    def __init__(self, ctx: DaemonContext, watched: Watched, read_one: ReadOne, outcomes: Outcomes):
        self.d = ctx
        self.watched = watched
        self.read_one = read_one
        self.outcomes = outcomes
        self.settings = ctx.config.duties
        self._dry_done: dict[str, str] = {}  # a dry run remembers in memory only
        self._next: datetime | None = None
        self._failed: set[str] = set()  # duties whose last attempt failed: retried at the poll

    # -- when ------------------------------------------------------------------------------
    def next_time(self, now: datetime) -> datetime | None:
        """The next time a duty falls due (a wake-up for the loop), cached until it passes.

        A duty that fell due while the last pass ran (the digest done at 17:00 took until
        after 17:30, when the customer update fell due) is due *now*: waiting for the
        next scheduled time would leave it late by a poll interval. One whose last
        attempt failed waits for the poll instead, so a refusing tracker is no busy loop.
        """
        if any(d.duty_key not in self._failed for d in self.due(now)):
            self._next = now
            return now
        if self._next is None or self._next <= now:
            times = [next_due_time(self.d.procedure, c, now) for c in self.d.procedure.contracts]
            self._next = min((t for t in times if t is not None), default=None)
        return self._next

    def time_has_come(self, now: datetime) -> bool:
        """Has the wake-up last announced by `next_time` passed? (Never asked yet: yes.)"""
        return self._next is None or self._next <= now

    def last_done(self) -> dict[str, str]:
        done = self.d.journal.duties_done(self.d.tracker)
        for key, period in self._dry_done.items():
            if period > done.get(key, ""):
                done[key] = period
        return done

    def due(self, now: datetime) -> list[DutyDue]:
        last = self.last_done()
        out: list[DutyDue] = []
        for contract in self.d.procedure.contracts:
            out += due_duties(self.d.procedure, contract, last, now)
        return sorted(out, key=lambda d: (d.scheduled_at, d.contract, d.duty))

    # -- the duties -------------------------------------------------------------------------
    def run(self, now: datetime, stats: PassStats) -> None:
        failed: set[str] = set()
        for due in self.due(now):
            if self.d.stopping:
                return
            if due.duty_key in failed:
                continue  # a later week recorded done would skip the failed one for good
            if self.d.watch_from is not None and due.scheduled_at < self.d.watch_from:
                # recorded done, not left due: `next_time` would otherwise wake at once for ever
                self._mark_done(due)
                self.d.log(logging.INFO, "daemon.duty-skipped", duty=due.duty, contract=due.contract,
                           period=due.period_key, reason="before the escalator watched",
                           watch_from=self.d.watch_from.isoformat())
                continue
            self.ensure_snapshots()
            if not self._carry_out(due, now, stats):
                failed.add(due.duty_key)
                self._failed.add(due.duty_key)
            else:
                self._mark_done(due)
                self._failed.discard(due.duty_key)
                # a dry run delivered nothing: it only remembers (in memory) not to "deliver" it again
                self.d.log(logging.INFO, "daemon.would-mark-duty-done" if self.d.dry_run else "daemon.duty-done",
                           duty=due.duty, contract=due.contract, period=due.period_key,
                           late_seconds=round(due.late_by(now).total_seconds(), 3))
        self._prune(now)

    def _mark_done(self, due: DutyDue) -> None:
        if self.d.dry_run:
            self._dry_done[due.duty_key] = due.period_key
        else:
            self.d.journal.duty_done(self.d.tracker, due.duty_key, due.period_key, self.d.clock.now())

    def _prune(self, now: datetime) -> None:
        """Forget incidents resolved (and untouched) longer ago than any duty looks back: no list
        names them again, and the cache would otherwise grow with every incident ever archived.
        One that changes again comes back with the next read."""
        horizon = now - timedelta(weeks=MAX_CATCH_UP_WEEKS + 2)
        p = self.d.procedure
        for ticket_id, incident in list(self.watched.snapshots.items()):
            if incident.updated_at < horizon and is_resolved(incident, p) \
                    and max(resolutions(incident, p), default=incident.updated_at) < horizon:
                self.watched.forget(ticket_id)

    def ensure_snapshots(self) -> None:
        """One full read when this process has not seen every watched ticket yet."""
        if self.watched.complete:
            return
        for item in self.d.connector.read_changed(Cursor()):
            self.watched.remember(item)
        self.watched.complete = True

    def _fresh_deliveries(self, due: DutyDue, now: datetime) -> tuple[list[Incident], list[Delivery]]:
        """The duty's deliveries, from a fresh read of every ticket they list (see the module docstring).

        Selected from the cache, re-read, then selected again: a ticket resolved meanwhile
        drops out, and each listed one shows what the tracker says now.
        """
        def select() -> tuple[list[Incident], list[Delivery]]:
            incidents = list(self.watched.snapshots.values())
            return incidents, duty_deliveries(due, incidents, self.d.procedure, now,
                                              lambda incident, role: self.d.people(role, incident))

        _, deliveries = select()
        listed = dict.fromkeys(i.id for delivery in deliveries for i in delivery.incidents)
        for ticket_id in listed:
            if self.d.stopping:
                break
            item = self.read_one(ticket_id)  # gone: forgotten; refused: logged, the cached copy stays
            if item is not None:
                self.watched.remember(item)
        return select()

    def _carry_out(self, due: DutyDue, now: datetime, stats: PassStats) -> bool:
        incidents, deliveries = self._fresh_deliveries(due, now)
        ok = True
        for delivery in deliveries:
            if self.d.stopping:
                return False
            try:
                ok = self._deliver(delivery, stats) and ok
            except (TrackerError, MailError, RetryLater) as exc:
                if isinstance(exc, _DOWN):
                    raise
                # not now (the period stays open, tried again at the poll) or a bug of the tracker's
                ok = False
                self.d.log(logging.ERROR, "daemon.duty-failed", duty=due.duty, period=due.period_key,
                           marker=delivery.marker, error=str(exc))
        if due.duty == "callbacks" and self.settings.callbacks_task.enabled:
            try:
                self._callbacks_task(due, incidents, stats)
            except (TrackerError, RetryLater) as exc:
                if isinstance(exc, _DOWN):
                    raise
                ok = False
                self.d.log(logging.ERROR, "daemon.duty-failed", duty=due.duty, period=due.period_key,
                           error=str(exc))
        return ok

    def _deliver(self, delivery: Delivery, stats: PassStats) -> bool:
        """Send one delivery; False when stopped half-way or a listed ticket must wait out a back-off
        (the next run writes the rest)."""
        d = self.d
        refs = [i.ref for i in delivery.incidents]
        by_mail = self.settings.delivery == "email" and not delivery.public
        how = "email" if by_mail else "tracker"
        if d.dry_run:
            d.log(logging.INFO, "daemon.would-deliver-duty", duty=delivery.duty, period=delivery.period_key,
                  recipients=",".join(delivery.recipients), tickets=",".join(refs), via=how, marker=delivery.marker)
            d.event(refs[0] if refs else delivery.duty, "duty-delivered", delivery.subject, stats, dry_run=True)
            return True
        if d.journal.done(d.tracker, DUTY_TICKET, delivery.marker):
            return True  # the journal knows it went out: spare the tracker a search per ticket
        written = 0
        refused: list[str] = []  # tickets whose note the tracker refused for good
        if by_mail:
            smtp = d.config.smtp
            assert smtp is not None  # the config refuses email delivery without an smtp: section
            send_digest(smtp, d.config.base_dir, delivery.recipients, delivery.subject, delivery.body,
                        now=d.clock.now())
        else:
            notified = False
            # a digest's note opens with its subject (the e-mail's would) and whom it is for, by name; an
            # update is its own text
            text = delivery.note([p.shown for p in d.persons(delivery.recipients)])
            for incident in delivery.incidents:
                if d.stopping:
                    return False
                if self.outcomes.backoff.waiting_until(incident.id, d.clock.now()) is not None:
                    return False  # the tracker asked to wait on this ticket: the rest at a later poll
                if self.outcomes.refused(incident, delivery.marker, "note") is not None:
                    refused.append(incident.ref)  # given up before, the ticket unchanged: not asked again
                    continue
                try:
                    wrote = d.writes.note(incident, text, marker=delivery.marker, public=delivery.public)
                except Refused as exc:
                    # given up (reported once): the other tickets of the list still get it;
                    # not now (RetryLater): the period stays open, the notes written stay single
                    refused.append(incident.ref)
                    self.outcomes.settle(incident, delivery.marker, f"duty-{delivery.duty}", exc)
                    continue
                written += wrote
                # one notification per delivery (a digest of ten tickets is one message, not ten),
                # and only with a note actually written (or one whose notification failed for now):
                # a second run notifies nobody again
                if delivery.recipients and not notified and (
                        wrote or self.outcomes.is_pending(incident, delivery.marker, "notify")):
                    self._notify(incident, delivery)
                    notified = True
        d.journal.record(d.tracker, DUTY_TICKET, ",".join(refs), delivery.marker, f"duty-{delivery.duty}", "done",
                         d.clock.now(), {"period": delivery.period_key, "recipients": list(delivery.recipients),
                                         "via": how, "notes_written": written, "tickets": refs,
                                         **({"refused": refused} if refused else {})})
        d.log(logging.INFO, "daemon.duty-delivered", duty=delivery.duty, period=delivery.period_key,
              recipients=",".join(delivery.recipients), tickets=",".join(refs), via=how,
              notes_written=written, marker=delivery.marker)
        d.event(refs[0] if refs else delivery.duty, "duty-delivered", delivery.subject, stats)
        return True

    def _notify(self, incident: Incident, delivery: Delivery) -> None:
        """The delivery's one notification, through the ticket whose note it follows."""
        kind = f"duty-{delivery.duty}"
        if self.outcomes.step(incident, delivery.marker, "notify") is not None:
            return  # sent, or given up, by an earlier attempt
        try:
            self.d.writes.notify(incident, list(delivery.recipients), delivery.subject, delivery.body)
        except Refused as exc:
            try:
                self.outcomes.settle(incident, delivery.marker, kind, exc)  # given up: reported once
            except RetryLater:
                if self.outcomes.step(incident, delivery.marker, "notify") is None:
                    # not given up yet, and the notes are written: without this the next attempt,
                    # finding them, would tell nobody
                    self.outcomes.pending(incident, delivery.marker, "notify")
                raise
            return
        if self.outcomes.is_pending(incident, delivery.marker, "notify"):
            self.outcomes.done(incident, delivery.marker, kind, "notify", {"recipients": list(delivery.recipients)})

    def _callbacks_task(self, due: DutyDue, incidents: list[Incident], stats: PassStats) -> None:
        """The week's call-back list as one task for the service desk (§4.6.3), once per week."""
        d, p = self.d, self.d.procedure
        contract = p.contract(due.contract)
        lang = contract.language
        resolved = [i for i in resolved_in_week(incidents, p, due.period_start, due.period_end)
                    if (i.contract or p.default_contract) == due.contract]
        if not resolved:
            return
        week = due.period_key.rsplit(":", 1)[1]
        label = record_label("callbacks", f"{due.contract}-{week}")
        if d.dry_run:
            d.log(logging.INFO, "daemon.would-create-callbacks-task", period=due.period_key, label=label,
                  incidents=len(resolved))
            return
        if self.outcomes.refused_on(DUTY_TICKET, label, "task", due.period_key) is not None:
            return  # given up (reported once): the week goes without its task
        existing = d.connector.find_task(label)
        if existing is not None:
            d.log(logging.DEBUG, "daemon.already-done", ticket=existing, marker=label)
            return
        items = [CallBack(i, max(r for r in resolutions(i, p) if due.period_start <= r < due.period_end))
                 for i in resolved]
        body = render_callbacks(items, p, week, "table", lang) + f"\n{signature(lang)}\n"
        title = _t("callbacks_task", lang).format(week=week, n=len(items),
                                                   contract=contract.name.in_(lang) if contract.name else due.contract)
        desk = d.config.roles.people("service_desk", contract=due.contract)
        spec = RecordSpec(container=getattr(self.settings.callbacks_task, d.connector.container_key),
                          issue_type=self.settings.callbacks_task.issue_type)
        try:
            ref = d.writes.task(label, title, body, spec, desk[0] if desk else None)
        except Refused as exc:
            # given up: reported once, the week is done without its task (RetryLater: tried at the poll)
            self.outcomes.settle_on(DUTY_TICKET, label, due.period_key, label, "callbacks-task", exc)
            return
        d.journal.record(d.tracker, DUTY_TICKET, ref, label, "callbacks-task", "done", d.clock.now(),
                         {"period": due.period_key, "incidents": [i.ref for i in resolved]})
        d.log(logging.INFO, "daemon.callbacks-task-created", ticket=ref, period=due.period_key,
              incidents=len(resolved), assignee=desk[0] if desk else "")
        d.event(ref, "callbacks-task", title, stats)

    # -- trend problems (§6.1.3) --------------------------------------------------------------
    def trends(self, now: datetime, stats: PassStats) -> None:
        """File one linked problem per pattern the trend rules see, once (`mapping.trends`)."""
        rules = self.settings.problems.trends
        if not (self.settings.problems.enabled and rules) or self.d.stopping:
            return
        self.ensure_snapshots()
        # asked at every poll: only the incidents the rules can count are rebuilt from their compact copies
        recent = list(self.watched.snapshots.reported_since(counted_since(rules, now)))
        for due in detect_trends(recent, self.d.procedure, rules, now):
            if self.d.stopping:
                return
            try:
                self._trend_problem(due, stats)
            except (TrackerError, RetryLater) as exc:
                if isinstance(exc, _DOWN):
                    raise
                # not now: not recorded done, so the next poll files or links the rest
                self.d.log(logging.ERROR, "daemon.trend-problem-failed", key=due.key, error=str(exc))

    def _trend_problem(self, due: TrendDue, stats: PassStats) -> None:
        d, p = self.d, self.d.procedure
        # the key holds the CI's own text: the label takes a digest of it (labels refuse spaces and length)
        label = record_label("trend", f"{due.rule.name}-{due.contract}-{due.period}-"
                                      f"{hashlib.sha1(due.key.encode()).hexdigest()[:10]}")
        if d.journal.done(d.tracker, DUTY_TICKET, label):
            return  # filed and linked before
        contract = p.contract(due.contract)
        lang = contract.language
        what = self._trend_what(due, lang)
        refs = [i.ref for i in due.incidents]
        if d.dry_run:
            d.log(logging.INFO, "daemon.would-create-trend-problem", key=due.key, label=label, tickets=",".join(refs))
            d.event(refs[0], "trend-problem", due.key, stats, dry_run=True)
            return
        if any(self.outcomes.refused_on(DUTY_TICKET, label, write, due.key) for write in ("task", "link", "note")):
            return  # given up before on this very pattern: reported once, not asked again
        settings = self.settings.problems
        spec = RecordSpec(container=getattr(settings, d.connector.container_key) or due.incidents[0].project,
                          issue_type=settings.issue_type, link_type=settings.link_type)
        contract_name = contract.name.in_(lang) if contract.name else due.contract
        try:
            ref = d.connector.find_task(label)
            created = ref is None
            if ref is None:
                title = _t("trend_title", lang).format(what=what, period=due.period, n=len(due.incidents),
                                                       contract=contract_name)
                listed = "\n".join(f"- {i.ref} {i.title}" for i in due.incidents)
                body = _t("trend_body", lang).format(rule=self._trend_rule(due, lang), incidents=listed) \
                    + f"\n{signature(lang)}"
                ref = d.writes.task(label, title, body, spec, None)
            note = _t("trend_note", lang).format(problem=ref, what=what, period=due.period, n=len(due.incidents)) \
                + f"\n{signature(lang)}"
            for incident in due.incidents:
                if d.stopping:
                    return  # the rest is linked on the next pass: the journal has not recorded it done
                d.writes.link(incident, label, spec)
                d.writes.note(incident, note, marker=label)
        except Refused as exc:
            self.outcomes.settle_on(DUTY_TICKET, label, due.key, label, "trend-problem", exc)
            return
        d.journal.record(d.tracker, DUTY_TICKET, ref, label, "trend-problem", "done" if created else "already-done",
                         d.clock.now(), {"key": due.key, "incidents": refs})
        d.log(logging.INFO, "daemon.trend-problem-created" if created else "daemon.trend-problem-linked",
              ticket=ref, key=due.key, tickets=",".join(refs))
        d.event(ref, "trend-problem", f"{due.key}: {len(refs)} incidents", stats)

    def _trend_what(self, due: TrendDue, lang: str) -> str:
        if due.value is None:
            return _t("all_incidents", lang)
        if due.rule.by == "category":
            node = self.d.procedure.category(due.value)
            name = node.name.in_(lang) if node else due.value  # type: ignore[arg-type]
            return f"{_t('by_category', lang)} {name} ({due.value})"
        return f"{_t('by_configuration_item', lang)} {due.value}"

    def _trend_rule(self, due: TrendDue, lang: str) -> str:
        rule = due.rule
        if rule.kind == "rise":
            return _t("trend_rise", lang).format(rule=rule.name, n=len(due.incidents), previous=due.previous,
                                                 rise=f"{rule.rise:.0%}", count=rule.count)
        return _t("trend_count", lang).format(rule=rule.name, by=_t(f"by_{rule.by}", lang),
                                              window=_t(f"window_{rule.window}", lang), count=rule.count)

    # -- problem records ---------------------------------------------------------------------
    def problem_due(self, incident: Incident) -> bool:
        """Whether `problem` has something to do on the incident: the daemon keeps such an incident
        (and lets any other go) until its pass's escalations are done."""
        d = self.d
        return self.settings.problems.enabled and bool(
            needs_problem([incident], d.procedure, lambda i: d.journal.done(d.tracker, i.id, "problem-record")))

    def problem(self, incident: Incident, stats: PassStats) -> None:
        """File the incident's problem record when it needs one (§4.3.6, §6.1.3) and has none."""
        d = self.d
        if not self.settings.problems.enabled:
            return
        for due in needs_problem([incident], d.procedure,
                                 lambda i: d.journal.done(d.tracker, i.id, "problem-record")):
            lang = d.procedure.contract(incident.contract).language
            reasons = "；".join(_t(r, lang) for r in due.reasons) if lang == "zh" \
                else "; ".join(_t(r, lang) for r in due.reasons)
            if d.dry_run:
                found = d.connector.find_problem(incident)
                if found is None:
                    d.log(logging.INFO, "daemon.would-create-problem", ticket=incident.ref,
                          reasons=",".join(due.reasons))
                    d.event(incident.ref, "problem-created", reasons, stats, dry_run=True)
                continue
            if self.outcomes.refused(incident, due.marker, "problem") or self.outcomes.refused(
                    incident, due.marker, "note"):
                continue  # given up before, and the ticket is as it was: not asked again
            ref = d.connector.find_problem(incident)
            created = ref is None
            try:
                if ref is None:
                    settings = self.settings.problems
                    spec = RecordSpec(container=getattr(settings, d.connector.container_key),
                                      issue_type=settings.issue_type, link_type=settings.link_type)
                    title = _t("problem_title", lang).format(ref=incident.ref, title=incident.title)
                    body = _t("problem_body", lang).format(ref=incident.ref, title=incident.title,
                                                           reasons=reasons) + f"\n{signature(lang)}"
                    ref = d.writes.problem(incident, title, body, spec)
                note = _t("problem_note", lang).format(problem=ref, reasons=reasons) + f"\n{signature(lang)}"
                d.writes.note(incident, note, marker=due.marker)
            except Refused as exc:
                # given up (reported once); or RetryLater: the daemon looks at the ticket again after its back-off
                self.outcomes.settle(incident, due.marker, "problem-record", exc)
                continue
            d.journal.record(d.tracker, incident.id, incident.ref, due.marker, "problem-record",
                             "done" if created else "already-done", d.clock.now(),
                             {"problem": ref, "reasons": list(due.reasons)})
            if created:
                d.log(logging.INFO, "daemon.problem-created", ticket=incident.ref, problem=ref,
                      reasons=",".join(due.reasons))
                d.event(incident.ref, "problem-created", f"problem {ref}: {reasons}", stats)
            else:
                d.log(logging.DEBUG, "daemon.already-done", ticket=incident.ref, marker=due.marker, problem=ref)
