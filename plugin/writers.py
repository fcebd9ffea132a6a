"""The writes of one action: an escalation, a severity restore, a flagged state change, a flagged record.

`ActionWriter.act` carries out one `mapping.actions.Action` on one incident, through
the context's write gate, in the order the crash matrix of `plugin.daemon` relies on,
and records it in the journal once the tracker accepted it. A dry run writes nothing:
it logs what it would write (`daemon.would-...`) and says whether the note is already
on the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from connectors.base import Change, Person
from mapping.actions import (
    Action,
    Escalate,
    FlagIncompleteRecord,
    FlagTransition,
    RepeatEscalation,
    RestoreLevel,
    RestoreSeverity,
    WarnBeforeBreach,
)
from mapping.downgrade import check_downgrade
from mapping.incident import Incident, Unreadable
from mapping.level import LevelMemory, lost_level
from mapping.text import format_duration
from mapping.transitions import illegal_changes
from plugin import notes, refusals
from plugin.context import DaemonContext, PassStats
from plugin.outcomes import Outcomes
from plugin.refusals import Refusal, Refused
from plugin.watched import Watched


class NotNow(Exception):
    """An action half done that cannot be finished in this pass (logged): look again soon."""


class ActionWriter:
    """Carries out the procedure's actions on one tracker."""

    def __init__(self, ctx: DaemonContext, watched: Watched, outcomes: Outcomes):
        self.ctx = ctx
        self.watched = watched
        self.outcomes = outcomes

    def act(self, action: Action, incident: Incident, stats: PassStats) -> None:
        """Carry out `action`. Raises `NotNow` when it is half done, `RetryLater` when a write must wait
        (`plugin.outcomes`); a write given up is reported and the rest of the action goes on."""
        ctx = self.ctx
        if isinstance(action, FlagIncompleteRecord | FlagTransition) and not getattr(action, "revert", False) \
                and ctx.journal.done(ctx.tracker, incident.id, action.marker):
            return  # a note-only action the journal knows is on the ticket: spare the tracker a search
        kept = ctx.take_markers(incident.id)  # the pass's read: for the first action on the ticket only
        if isinstance(action, Escalate):
            self._escalate(action, incident, stats, kept)
        elif isinstance(action, RestoreSeverity):
            self._restore(action, incident, stats)
        elif isinstance(action, FlagTransition):
            self._flag_transition(action, incident, stats)
        elif isinstance(action, FlagIncompleteRecord):
            self._flag_incomplete(action, incident, stats)
        elif isinstance(action, WarnBeforeBreach):
            self._warn(action, incident, stats, kept)
        elif isinstance(action, RepeatEscalation):
            self._repeat(action, incident, stats, kept)
        elif isinstance(action, RestoreLevel):
            self._restore_level(action, incident, stats)
        else:  # pragma: no cover - the Action union is closed
            raise TypeError(f"unknown action {action!r}")

    # -- the actions ------------------------------------------------------------------------
    def _escalate(self, action: Escalate, incident: Incident, stats: PassStats,
                  kept: frozenset[str] | None) -> None:
        ctx = self.ctx
        now = ctx.clock.now()
        people = ctx.people(action.role, incident)
        grace = self._grace()
        role = ctx.procedure.role(action.role).name.en
        late = max(action.elapsed - action.allowed, timedelta(0))  # SLA time, as the note says it
        if action.reason == "manual":
            why = "on request"
        elif action.allowed <= timedelta(0):
            why = "due immediately"
        else:
            why = f"allowed {format_duration(action.allowed, 'en')} of SLA time, " + (
                f"deadline missed by {format_duration(late, 'en', elapsed=True)}" if late > grace
                else "deadline met")
        summary = f"level {action.level} ({role}): severity {action.severity}, {why} (contract {action.contract})"
        if ctx.dry_run:
            self._would("daemon.would-escalate", action, incident, stats, summary, level=action.level,
                        role=action.role, people=",".join(people))
            return
        named = ctx.persons(people)  # as the notes name and mention them
        asker = self._asker(action, incident)
        # read -> notify -> read -> note + level in ONE write (the crash matrix is in plugin.daemon's
        # docstring). A note already there means an earlier run notified, and its level landed with
        # it: do not notify again. The marker check before notifying may use the markers the pass
        # knows of this ticket (its read of a due ticket, with the notes this pass wrote on it since:
        # one daemon writes, so nothing else adds a marker); the read the write is made from is always
        # made right before it
        markers = kept
        fresh = incident
        if markers is None:
            read = self.fresh_read(incident)
            if read is None:
                raise NotNow
            fresh, markers = read
        current = kept is None  # nothing sent since the read `fresh` and `markers` come from
        failed: dict[str, Refusal] = {}
        wrote = notified = raised = False
        unreached = None
        if action.marker not in markers and people:
            text = notes.escalation_note(action, fresh, ctx.procedure, now, named, mapping=ctx.mapping, grace=grace,
                                         asker=asker)
            notified, unreached = self._notify(action, fresh, people, text)
            if unreached is not None:
                failed["notify"] = unreached  # the escalation goes on without them; its note says so
            current = False
        if not current:
            read = self.fresh_read(incident)
            if read is None:
                raise NotNow
            fresh, markers = read
        # the level only goes up: a person (or a run) that set it as high or higher meanwhile keeps it
        level = action.level if fresh.escalation_level < action.level else None
        if action.marker not in markers:
            text = notes.escalation_note(action, fresh, ctx.procedure, now, named, unreached, mapping=ctx.mapping,
                                         grace=grace, asker=asker)
            wrote, refused, value_refused = self._write(action, fresh, Change(text, action.marker, level=level),
                                                        alone=lambda _: text)
            raised = wrote and level is not None and value_refused is None
            if refused is not None:
                failed["note"] = refused
            if value_refused is not None:
                failed["level"] = value_refused
        elif level is not None:
            # a note without its level: written alone by an escalator before one write carried both
            raised, refused = self._value("level", action, fresh, lambda: ctx.writes.level(fresh, action.level))
            if refused is not None:
                failed["level"] = refused
        # the next level due on this ticket in this pass (a severity 1: all three at once) checks its
        # marker here, without a read of its own before its notification
        ctx.keep_markers(incident.id, markers | {action.marker} if wrote else markers)
        noted_at = ctx.clock.now()
        if not wrote and not raised:
            if failed:
                return  # nothing of it is on the ticket: the refusals are reported and recorded
            if fresh.escalation_level < action.level:
                # note on the ticket, level refused before and the ticket unchanged since: not asked again
                ctx.log(logging.DEBUG, "daemon.refused-before", ticket=incident.ref, marker=action.marker,
                        write="level")
            else:
                self._already(action, incident)
            return
        lag = max((noted_at - action.deadline).total_seconds(), 0.0)
        ctx.metrics.escalations.labels(ctx.tracker, str(action.level)).inc()
        if action.reason == "timetable" and wrote:
            ctx.metrics.lag.labels(ctx.tracker).observe(lag)
        self._record(action, incident, {"level": action.level, "role": action.role, "people": people,
                                        "deadline": action.deadline.isoformat(), "lag_seconds": lag,
                                        "note_written": wrote, "notified": notified,
                                        "level_written": raised, "level_found": fresh.escalation_level,
                                        **self._failures(failed)})
        ctx.log(logging.INFO, "daemon.escalated", ticket=incident.ref, level=action.level, role=action.role,
                people=",".join(people), reason=action.reason, contract=action.contract,
                deadline=action.deadline.isoformat(), lag_seconds=round(lag, 3), note_written=wrote,
                level_written=raised, notified=notified, failed=",".join(failed))
        if failed:
            summary += "; not done: " + ", ".join(failed)
        ctx.event(incident.ref, "escalated", summary, stats)

    def _warn(self, action: WarnBeforeBreach, incident: Incident, stats: PassStats,
              kept: frozenset[str] | None = None) -> None:
        """A deadline comes soon (§5.2.1): tell the people working the incident, then note it, once."""
        ctx = self.ctx
        if ctx.clock.now() >= action.deadline:
            return  # the deadline passed while the pass ran: it escalates instead, a warning would mislead
        people = self._warned(action, incident)
        text = notes.warning_note(action, incident, ctx.procedure, ctx.persons(people))
        subject = notes.warning_subject(action, incident, ctx.procedure)
        summary = f"level {action.level} ({action.role}) due {action.deadline.isoformat()}, contract {action.contract}"
        self._tell(action, incident, stats, people, subject, text, summary, "warned", kept, level=action.level,
                   deadline=action.deadline.isoformat())

    def _warned(self, action: WarnBeforeBreach, incident: Incident) -> list[str]:
        """Who a warning goes to, as the contract says: the assignee, the role escalated to, other roles."""
        people: list[str] = []
        for who in action.notify:
            if who == "assignee":
                people += [incident.assignee] if incident.assignee else []
            else:
                people += self.ctx.people(action.role if who == "target" else who, incident)
        return list(dict.fromkeys(people))

    def _repeat(self, action: RepeatEscalation, incident: Incident, stats: PassStats,
                kept: frozenset[str] | None = None) -> None:
        """An escalation nobody acknowledged: tell its role again, and note it, once per repeat."""
        ctx = self.ctx
        contract = incident.contract or ""
        people = ctx.people(action.role, incident)
        text = notes.repeat_note(action, incident, ctx.procedure, contract, ctx.mapping, ctx.persons(people))
        subject = notes.repeat_subject(action, incident, ctx.procedure, contract)
        summary = f"level {action.level} ({action.role}): reminder {action.repeat} of {action.of}"
        self._tell(action, incident, stats, people, subject, text, summary, "escalation-repeated", kept,
                   level=action.level, repeat=action.repeat)

    def _tell(self, action: WarnBeforeBreach | RepeatEscalation, incident: Incident, stats: PassStats,
              people: list[str], subject: str, text: str, summary: str, kind: str, kept: frozenset[str] | None,
              **fields: Any) -> None:
        """Notify, then write the note (its marker keeps it single): the order and the guarantees of an
        escalation's first two writes (plugin.daemon's crash matrix), without a value to set. The marker
        is looked for in the markers the pass knows of the ticket (`kept`), else on the ticket."""
        ctx = self.ctx
        if ctx.dry_run:
            self._would(f"daemon.would-{'warn' if kind == 'warned' else 'repeat-escalation'}", action, incident,
                        stats, summary, people=",".join(people), **fields)
            return
        if action.marker in kept if kept is not None else ctx.connector.has_marker(incident, action.marker):
            if kept is not None:
                ctx.keep_markers(incident.id, kept)  # for the next action on it
            self._already(action, incident)
            return
        failed: dict[str, Refusal] = {}
        notified = False
        if people:
            notified, unreached = self._notify(action, incident, people, text, subject)
            if unreached is not None:
                failed["notify"] = unreached
        wrote, refused = self._note(action, incident, text)
        if refused is not None:
            failed["note"] = refused
        if kept is not None:
            ctx.keep_markers(incident.id, kept | {action.marker} if wrote else kept)
        if not wrote:
            if not failed:
                self._already(action, incident)
            return
        self._record(action, incident, {"people": people, "notified": notified, **fields, **self._failures(failed)})
        ctx.log(logging.INFO, f"daemon.{kind}", ticket=incident.ref, people=",".join(people), notified=notified,
                marker=action.marker, failed=",".join(failed), **fields)
        ctx.event(incident.ref, kind, summary + ("; not done: " + ", ".join(failed) if failed else ""), stats)

    def _notify(self, action: Escalate | WarnBeforeBreach | RepeatEscalation, incident: Incident, people: list[str],
                text: str, subject: str | None = None) -> tuple[bool, Refusal | None]:
        """Tell the people, once per action: (told, why not). An earlier attempt's outcome stands."""
        ctx = self.ctx
        earlier = self.outcomes.step(incident, action.marker, "notify")
        if earlier is not None:
            return earlier
        if subject is None:
            assert isinstance(action, Escalate)
            subject = notes.escalation_subject(action, incident, ctx.procedure)
        try:
            ctx.writes.notify(incident, people, subject, text)
        except Refused as exc:
            return False, self.outcomes.settle(incident, action.marker, action.kind, exc)
        # recorded at once: a retry of this escalation (its note refused for now) tells nobody twice
        self.outcomes.done(incident, action.marker, action.kind, "notify", {"people": people})
        return True, None

    def _note(self, action: Action, incident: Incident, text: str) -> tuple[bool, Refusal | None]:
        """Write the action's note: (written, why not). A note refused before, the ticket unchanged, is not
        asked for again."""
        if self.outcomes.refused(incident, action.marker, "note") is not None:
            return False, None
        try:
            return self.ctx.writes.note(incident, text, marker=action.marker), None
        except Refused as exc:
            return False, self.outcomes.settle(incident, action.marker, action.kind, exc)

    def _write(self, action: Action, fresh: Incident, change: Change, alone: Callable[[Refusal], str] | None = None
               ) -> tuple[bool, Refusal | None, Refusal | None]:
        """The note and its values in one write: (written, why the note was not, why the values were
        not). A value given up (refused for good, or busy beyond its attempts) is reported and the
        note goes alone in the words `alone` gives it for that refusal (None: no note, the caller
        says it): a field off the screen must not keep the note (and the people) from the ticket."""
        if self.outcomes.refused(fresh, action.marker, "note") is not None:
            return False, None, None  # refused before, the ticket unchanged since: not asked again
        values = change.values()
        # a value given up before on the ticket as it is now is not asked again: the note goes alone
        value_refusal = next((r for w in values if (r := self.outcomes.refused(fresh, action.marker, w))), None)
        if value_refusal is None:
            try:
                return self.ctx.writes.write(fresh, change), None, None
            except Refused as exc:
                refusal = self.outcomes.settle(fresh, action.marker, action.kind, exc)  # RetryLater: wait
                if refusal.write not in values:
                    return False, refusal, None
                value_refusal = refusal
        if alone is None:
            return False, None, value_refusal
        wrote, refused = self._note(action, fresh, alone(value_refusal))
        return wrote, refused, value_refusal

    def _value(self, write: str, action: Action, fresh: Incident, send: Callable[[], object]
               ) -> tuple[bool, Refusal | None]:
        """Write a value (level, severity): (written, why not); a value refused before on the ticket as
        it is now is not asked for again."""
        if self.outcomes.refused(fresh, action.marker, write) is not None:
            return False, None
        try:
            send()
        except Refused as exc:
            return False, self.outcomes.settle(fresh, action.marker, action.kind, exc)
        return True, None

    def _restore(self, action: RestoreSeverity, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        who = action.lowered_by_name or action.lowered_by or "unknown"
        summary = f"severity {action.current} -> {action.to}: lowered by {who} without an approved exception"
        if ctx.dry_run:
            self._would("daemon.would-restore-severity", action, incident, stats, summary,
                        to=action.to, current=action.current)
            return
        # no-downgrade overwrites a person's edit: only the one it judged. Asked again on a fresh
        # read before the note (a note must not claim a restore that will not happen) and again
        # right before the write (someone may have edited while the note was written)
        still = self._still_lowered(action, incident)
        if still is None:
            return
        fresh, markers = still
        earlier = self.outcomes.refused(fresh, action.marker, "severity")
        if earlier is not None:
            self._say_not_restored(action, fresh, earlier)  # written once: its marker
            return
        # no note, no restore: the note and the severity land in one write, or neither (a person's edit
        # is overwritten only where the ticket says why). The fresh read above is the one before it
        text = notes.restore_note(action, fresh, ctx.procedure, fresh.contract or "", ctx.mapping,
                                  by=ctx.person(action.lowered_by, action.lowered_by_name))
        wrote, refused, value_refused = self._write(action, fresh, Change(text, action.marker, severity=action.to))
        # the escalations counted on the restored severity come next: they know the markers
        ctx.keep_markers(incident.id, markers | {action.marker} if wrote else markers)
        if value_refused is not None:
            # the severity refused, so the note claiming it was not written: a note says it could not be
            self._say_not_restored(action, fresh, value_refused)
            self._record(action, incident, {"to": action.to, "from": action.current, "note_written": wrote,
                                            **self._failures({"severity": value_refused})}, outcome="failed")
            return
        if not wrote:
            return  # refused (reported and recorded), or refused before and nothing changed since
        ctx.metrics.restored.labels(ctx.tracker).inc()
        self._record(action, incident, {"to": action.to, "from": action.current, "lowered_by": action.lowered_by,
                                        "note_written": wrote})
        ctx.log(logging.INFO, "daemon.severity-restored", ticket=incident.ref, to=action.to,
                current=action.current, lowered_by=action.lowered_by)
        ctx.event(incident.ref, "severity-restored", summary, stats)

    def _say_not_restored(self, action: RestoreSeverity, fresh: Incident, refusal: Refusal) -> None:
        ctx = self.ctx
        text = notes.not_restored_note(action, ctx.procedure, fresh.contract or "", refusal)
        marker = f"{action.marker}-failed"
        if self.outcomes.refused(fresh, marker, "note") is not None:
            return
        try:
            ctx.writes.note(fresh, text, marker=marker)
        except Refused as exc:
            self.outcomes.settle(fresh, marker, action.kind, exc)

    def _still_lowered(self, action: RestoreSeverity, incident: Incident) -> tuple[Incident, frozenset[str]] | None:
        """The fresh ticket and its markers when it still holds `action.current` and the rule still asks
        for this very restore; otherwise None (logged): a person's later edit — raising it, putting it
        back, approving the lowering — or an earlier run's restore is left as it is."""
        read = self.fresh_read(incident)
        if read is None:
            return None
        fresh, markers = read
        again = check_downgrade(fresh, self.ctx.approvers(fresh))
        if fresh.severity == action.current and again == action:
            return fresh, markers
        self.ctx.log(logging.INFO, "daemon.restore-skipped", ticket=incident.ref, marker=action.marker,
                     judged=action.current, now=fresh.severity, to=action.to,
                     reason="already restored" if fresh.severity == action.to else "changed since it was read")
        return None

    def _flag_transition(self, action: FlagTransition, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        p = ctx.procedure
        summary = (f"state {p.state(action.source).name.zh} -> {p.state(action.target).name.zh} breaks "
                   f"'{action.rule}' ({action.section})")
        if ctx.dry_run:
            self._would("daemon.would-flag-transition", action, incident, stats, summary + (
                "; put back" if action.revert else ""), source=action.source, target=action.target,
                revert=action.revert)
            return
        if self.outcomes.refused(incident, action.marker, "note") is not None:
            return  # its note was refused before and nothing changed since
        read = self.fresh_read(incident)  # the state, and the markers: the note is the put-back's proof
        if read is None:
            return
        fresh, markers = read
        if action.marker in markers:
            self._already(action, incident)  # the note carries its put-back: nothing is left to do
            return
        # put back + note in ONE write (a transition with its comment, a Zammad update with its
        # article): the note says "put back" and lands only with the state; refused, the state is
        # reported and a note alone says it could not be put back, and why. Only what is still in
        # the illegal state is put back: a later human move is theirs
        earlier = self.outcomes.step(fresh, action.marker, "state")  # a put-back written alone before
        reverted, failure, refused, wrote = False, None, None, False
        attempted = earlier is None and self._still_to_put_back(action, fresh)
        by = ctx.person(action.by, action.by_name)
        if earlier is not None:
            reverted, failure = earlier
        elif attempted:
            def alone(why: Refusal) -> str:
                return notes.transition_note(action, fresh, p, fresh.contract or "", reverted=False, failure=why,
                                             by=by)
            text = notes.transition_note(action, fresh, p, fresh.contract or "", reverted=True, by=by)
            wrote, refused, failure = self._write(action, fresh, Change(text, action.marker, state=action.source),
                                                  alone=alone)
            reverted = wrote and failure is None
            if not wrote and refused is None and failure is None:
                # the tracker answered, but offers no way from here to the state: flagged only
                ctx.log(logging.ERROR, "daemon.revert-impossible", ticket=incident.ref, source=action.source,
                        target=action.target)
                failure = refusals.no_way(ctx.tracker)
                self.outcomes.given_up(fresh, action.marker, action.kind, failure)
                wrote, refused = self._note(action, fresh, alone(failure))
        if not attempted:  # flagged only, or a put-back written alone by an earlier version
            text = notes.transition_note(action, fresh, p, fresh.contract or "", reverted=reverted, failure=failure,
                                         by=by)
            wrote, refused = self._note(action, fresh, text)
        failed = {"state": failure} if failure is not None else {}
        if refused is not None:
            failed["note"] = refused
        if not wrote and not reverted:
            if not failed:
                self._already(action, incident)
            return  # else nothing of it is on the ticket: the refusals are reported and recorded
        ctx.metrics.flagged.labels(ctx.tracker).inc()
        self._record(action, incident, {"source": action.source, "target": action.target, "rule": action.rule,
                                        "reverted": reverted, "note_written": wrote, **self._failures(failed)})
        ctx.log(logging.INFO, "daemon.transition-flagged", ticket=incident.ref, source=action.source,
                target=action.target, rule=action.rule, reverted=reverted, note_written=wrote)
        ctx.event(incident.ref, "transition-flagged", summary + ("; put back" if reverted else "")
                  + ("; could not be put back" if failure is not None else ""), stats)

    def _still_to_put_back(self, action: FlagTransition, fresh: Incident) -> bool:
        """Whether the rule, asked again on the fresh read, puts this change back: it is the latest and
        the ticket is still in it. Asked again as a restore is (`_still_lowered`), both ways: the pass's
        read may be older than a person's move, and on Jira Cloud it is two requests (the search, then
        the changelog) between which a move shows in the history but not yet in the state."""
        again = next((f for f in illegal_changes(fresh, self.ctx.procedure, fresh.contract)
                      if f.marker == action.marker), None)
        return again is not None and again.revert and fresh.state == action.target

    def _flag_incomplete(self, action: FlagIncompleteRecord, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        summary = "record lacks " + ", ".join(action.missing)
        if ctx.dry_run:
            self._would("daemon.would-flag-record", action, incident, stats, summary, missing=",".join(action.missing))
            return
        text = notes.incomplete_note(action, incident, ctx.procedure, incident.contract or "")
        wrote, refused = self._note(action, incident, text)
        if refused is not None:
            return  # reported and recorded (`plugin.outcomes`)
        if not wrote:
            if self.outcomes.refused(incident, action.marker, "note") is None:
                self._already(action, incident)
            return
        ctx.metrics.incomplete.labels(ctx.tracker).inc()
        self._record(action, incident, {"missing": list(action.missing)})
        ctx.log(logging.INFO, "daemon.record-incomplete", ticket=incident.ref, missing=",".join(action.missing))
        ctx.event(incident.ref, "record-incomplete", summary, stats)

    def _restore_level(self, action: RestoreLevel, incident: Incident, stats: PassStats) -> None:
        """Write back a level the level field lost while nobody changed it (`mapping.level`): one write, the
        level with a note saying why, decided again on a fresh read; once per ticket and level (its marker,
        and the journal's row)."""
        ctx = self.ctx
        summary = f"escalation level {action.found} -> {action.level}: the field lost the level reached"
        if ctx.dry_run:
            self._would("daemon.would-restore-level", action, incident, stats, summary, level=action.level,
                        found=action.found)
            return
        read = self.fresh_read(incident)
        if read is None:
            return
        fresh, markers = read
        if action.marker in markers:
            self._already(action, incident)  # written back before: not again, whatever the field reads
            return
        if lost_level(fresh, LevelMemory(action.level, action.reached_at)) != action.model_copy(
                update={"found": fresh.escalation_level}):
            ctx.log(logging.INFO, "daemon.level-restore-skipped", ticket=incident.ref, level=action.level,
                    now=fresh.escalation_level, reason="changed since it was read")
            return
        text = notes.level_note(action.model_copy(update={"found": fresh.escalation_level}), fresh, ctx.procedure,
                                fresh.contract or "")
        wrote, refused, value_refused = self._write(action, fresh, Change(text, action.marker, level=action.level))
        if value_refused is not None:  # the level refused, so its note is not written either: reported
            self._record(action, incident, {"level": action.level, "found": fresh.escalation_level,
                                            **self._failures({"level": value_refused})}, outcome="failed")
            return
        if not wrote:
            return  # refused (reported and recorded), or refused before and nothing changed since
        self._record(action, incident, {"level": action.level, "found": fresh.escalation_level})
        ctx.log(logging.INFO, "daemon.level-restored", ticket=incident.ref, level=action.level,
                found=fresh.escalation_level)
        ctx.event(incident.ref, "level-restored", summary, stats)

    # -- helpers ----------------------------------------------------------------------------
    def _grace(self) -> timedelta:
        """Lateness not announced as a missed deadline: the daemon's reading, up to a poll interval
        (`plugin.notes.ON_TIME_WITHIN`)."""
        # the poll interval is real seconds (a clock running faster, the demo's or a test's, covers more),
        # and the pass that reads a ticket takes a moment of its own
        poll = timedelta(seconds=self.ctx.config.daemon.poll_interval * self.ctx.clock.rate)
        return poll + notes.ON_TIME_WITHIN

    def _asker(self, action: Escalate, incident: Incident) -> Person | None:
        """Who asked for a manual escalation, as the note mentions them."""
        if action.reason != "manual":
            return None
        request = next((r for r in incident.manual_requests if r.at == action.deadline), None)
        return self.ctx.person(request.by, request.by_name) if request is not None else None

    def fresh_read(self, incident: Incident) -> tuple[Incident, frozenset[str]] | None:
        """The ticket as it is now and the markers of its notes, read right before a write (one call on
        either tracker; remembered); None, logged, when it no longer reads as a watched incident:
        then nothing is written over it."""
        read = self.ctx.connector.read_fresh(incident.id)
        fresh = self.watched.remember(read.item)
        if isinstance(fresh, Incident):
            return fresh, read.markers
        self.ctx.log(logging.WARNING, "daemon.write-skipped", ticket=incident.ref,
                     reason=fresh.reason if isinstance(fresh, Unreadable) else "no longer in a watched project")
        return None

    def fresh(self, incident: Incident) -> Incident | None:
        """`fresh_read` without the markers."""
        read = self.fresh_read(incident)
        return read[0] if read is not None else None

    @staticmethod
    def _failures(failed: dict[str, Refusal]) -> dict:
        return {"failed": {write: refusal.summary() for write, refusal in failed.items()}} if failed else {}

    def _record(self, action: Action, incident: Incident, detail: dict, outcome: str = "done") -> None:
        self.ctx.record(incident.id, incident.ref, action.marker, action.kind, outcome, detail)

    def _already(self, action: Action, incident: Incident) -> None:
        self._record(action, incident, {}, outcome="already-done")
        self.ctx.log(logging.DEBUG, "daemon.already-done", ticket=incident.ref, marker=action.marker)

    def _would(self, event: str, action: Action, incident: Incident, stats: PassStats, summary: str,
               **fields: Any) -> None:
        already = self.ctx.connector.has_marker(incident, action.marker)
        self.ctx.log(logging.INFO, event, ticket=incident.ref, marker=action.marker, already_on_ticket=already,
                     **fields)
        kind = event.removeprefix("daemon.would-")
        self.ctx.event(incident.ref, kind, summary, stats, dry_run=True)

