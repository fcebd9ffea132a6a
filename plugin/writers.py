"""The writes of one action: an escalation, a severity restore, a flagged state change, a flagged record.

`ActionWriter.act` carries out one `mapping.actions.Action` on one incident, through
the context's write gate, in the order the crash matrix of `plugin.daemon` relies on,
and records it in the journal once the tracker accepted it. A dry run writes nothing:
it logs what it would write (`daemon.would-...`) and says whether the note is already
on the ticket.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from mapping.actions import Action, Escalate, FlagIncompleteRecord, FlagTransition, RestoreSeverity
from mapping.downgrade import check_downgrade
from mapping.incident import Incident, Unreadable
from plugin import notes
from plugin.context import DaemonContext, PassStats
from plugin.watched import Watched


class NotNow(Exception):
    """An action half done that cannot be finished in this pass (logged): look again soon."""


class ActionWriter:
    """Carries out the procedure's actions on one tracker."""

    def __init__(self, ctx: DaemonContext, watched: Watched):
        self.ctx = ctx
        self.watched = watched

    def act(self, action: Action, incident: Incident, stats: PassStats) -> None:
        """Carry out `action`; raises `NotNow` when it is half done, a `TrackerError` when refused."""
        ctx = self.ctx
        if isinstance(action, FlagIncompleteRecord | FlagTransition) and not getattr(action, "revert", False) \
                and ctx.journal.done(ctx.tracker, incident.id, action.marker):
            return  # a note-only action the journal knows is on the ticket: spare the tracker a search
        if isinstance(action, Escalate):
            self._escalate(action, incident, stats)
        elif isinstance(action, RestoreSeverity):
            self._restore(action, incident, stats)
        elif isinstance(action, FlagTransition):
            self._flag_transition(action, incident, stats)
        elif isinstance(action, FlagIncompleteRecord):
            self._flag_incomplete(action, incident, stats)
        else:  # pragma: no cover - the Action union is closed
            raise TypeError(f"unknown action {action!r}")

    # -- the actions ------------------------------------------------------------------------
    def _escalate(self, action: Escalate, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        now = ctx.clock.now()
        people = ctx.people(action.role, incident)
        role = ctx.procedure.role(action.role).name.en
        if action.reason == "manual":
            why = "on request"
        elif action.allowed <= timedelta(0):
            why = "due immediately"
        else:
            why = f"allowed {_hours(action.allowed)}, deadline missed by {_hours(action.overdue(now))}"
        summary = f"level {action.level} ({role}): severity {action.severity}, {why} (contract {action.contract})"
        if ctx.dry_run:
            self._would("daemon.would-escalate", action, incident, stats, summary, level=action.level,
                        role=action.role, people=",".join(people))
            return
        text = notes.escalation_note(action, incident, ctx.procedure, now, people)
        # notify -> note -> level (the crash matrix is in plugin.daemon's docstring). A note already
        # there means an earlier run (or another daemon) notified: do not notify again.
        noted = ctx.connector.has_marker(incident, action.marker)
        wrote = False
        if not noted:
            if people:
                ctx.writes.notify(incident, people, notes.escalation_subject(action, incident, ctx.procedure), text)
            # a crash right here notifies again on the next run: nothing on the ticket says it was sent
            wrote = ctx.writes.note(incident, text, marker=action.marker)
        noted_at = ctx.clock.now()
        fresh = self.fresh(incident)
        if fresh is None:
            raise NotNow
        # the level only goes up: a person (or a run) that set it as high or higher meanwhile keeps it
        raised = fresh.escalation_level < action.level
        if raised:
            ctx.writes.level(fresh, action.level)
        if not wrote and not raised:
            self._already(action, incident)
            return
        lag = max((noted_at - action.deadline).total_seconds(), 0.0)
        ctx.metrics.escalations.labels(ctx.tracker, str(action.level)).inc()
        if action.reason == "timetable" and wrote:
            ctx.metrics.lag.labels(ctx.tracker).observe(lag)
        self._record(action, incident, {"level": action.level, "role": action.role, "people": people,
                                        "deadline": action.deadline.isoformat(), "lag_seconds": lag,
                                        "note_written": wrote, "notified": not noted and bool(people),
                                        "level_written": raised, "level_found": fresh.escalation_level})
        ctx.log(logging.INFO, "daemon.escalated", ticket=incident.ref, level=action.level, role=action.role,
                people=",".join(people), reason=action.reason, contract=action.contract,
                deadline=action.deadline.isoformat(), lag_seconds=round(lag, 3), note_written=wrote,
                level_written=raised)
        ctx.event(incident.ref, "escalated", summary, stats)

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
        fresh = self._still_lowered(action, incident)
        if fresh is None:
            return
        text = notes.restore_note(action, fresh, ctx.procedure, fresh.contract or "", ctx.mapping)
        wrote = ctx.writes.note(fresh, text, marker=action.marker)
        fresh = self._still_lowered(action, incident)
        if fresh is None:
            return
        ctx.writes.severity(fresh, action.to)
        ctx.metrics.restored.labels(ctx.tracker).inc()
        self._record(action, incident, {"to": action.to, "from": action.current, "lowered_by": action.lowered_by,
                                        "note_written": wrote})
        ctx.log(logging.INFO, "daemon.severity-restored", ticket=incident.ref, to=action.to,
                current=action.current, lowered_by=action.lowered_by)
        ctx.event(incident.ref, "severity-restored", summary, stats)

    def _still_lowered(self, action: RestoreSeverity, incident: Incident) -> Incident | None:
        """The fresh ticket when it still holds `action.current` and the rule still asks for this very
        restore; otherwise None (logged): a person's later edit — raising it, putting it back,
        approving the lowering — or an earlier run's restore is left as it is."""
        fresh = self.fresh(incident)
        if fresh is None:
            return None
        again = check_downgrade(fresh, self.ctx.approvers(fresh))
        if fresh.severity == action.current and again == action:
            return fresh
        self.ctx.log(logging.INFO, "daemon.restore-skipped", ticket=incident.ref, marker=action.marker,
                     judged=action.current, now=fresh.severity, to=action.to,
                     reason="already restored" if fresh.severity == action.to else "changed since it was read")
        return None

    def _flag_transition(self, action: FlagTransition, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        p = ctx.procedure
        summary = (f"state {p.state(action.source).name.zh} -> {p.state(action.target).name.zh} breaks "
                   f"'{action.rule}' ({action.section})" + ("; put back" if action.revert else ""))
        if ctx.dry_run:
            self._would("daemon.would-flag-transition", action, incident, stats, summary,
                        source=action.source, target=action.target, revert=action.revert)
            return
        contract = incident.contract or ""
        text = notes.transition_note(action, incident, p, contract, reverted=action.revert)
        wrote = ctx.writes.note(incident, text, marker=action.marker)
        reverted = False
        if action.revert:
            fresh = self.fresh(incident)
            # put back only what is still in the illegal state: a later human move is theirs
            if fresh is not None and fresh.state == action.target:
                reverted = ctx.writes.state(fresh, action.source)
                if not reverted:
                    ctx.log(logging.ERROR, "daemon.revert-impossible", ticket=incident.ref,
                            source=action.source, target=action.target)
                    ctx.writes.note(incident, notes.revert_failed_note(action, incident, p, contract),
                                    marker=f"{action.marker}-revert-failed")
        if not wrote and not reverted:
            self._already(action, incident)
            return
        ctx.metrics.flagged.labels(ctx.tracker).inc()
        self._record(action, incident, {"source": action.source, "target": action.target, "rule": action.rule,
                                        "reverted": reverted, "note_written": wrote})
        ctx.log(logging.INFO, "daemon.transition-flagged", ticket=incident.ref, source=action.source,
                target=action.target, rule=action.rule, reverted=reverted)
        ctx.event(incident.ref, "transition-flagged", summary, stats)

    def _flag_incomplete(self, action: FlagIncompleteRecord, incident: Incident, stats: PassStats) -> None:
        ctx = self.ctx
        summary = "record lacks " + ", ".join(action.missing)
        if ctx.dry_run:
            self._would("daemon.would-flag-record", action, incident, stats, summary, missing=",".join(action.missing))
            return
        text = notes.incomplete_note(action, incident, ctx.procedure, incident.contract or "")
        wrote = ctx.writes.note(incident, text, marker=action.marker)
        if not wrote:
            self._already(action, incident)
            return
        ctx.metrics.incomplete.labels(ctx.tracker).inc()
        self._record(action, incident, {"missing": list(action.missing)})
        ctx.log(logging.INFO, "daemon.record-incomplete", ticket=incident.ref, missing=",".join(action.missing))
        ctx.event(incident.ref, "record-incomplete", summary, stats)

    # -- helpers ----------------------------------------------------------------------------
    def fresh(self, incident: Incident) -> Incident | None:
        """The ticket as it is now, read right before a value write (and remembered); None, logged,
        when it no longer reads as a watched incident: then nothing is written over it."""
        fresh = self.watched.remember(self.ctx.connector.read_one(incident.id))
        if isinstance(fresh, Incident):
            return fresh
        self.ctx.log(logging.WARNING, "daemon.write-skipped", ticket=incident.ref,
                     reason=fresh.reason if isinstance(fresh, Unreadable) else "no longer in a watched project")
        return None

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


def _hours(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
