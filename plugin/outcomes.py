"""What became of each write the tracker refused: asked again later, or given up and reported once.

The writers (`plugin.writers`, `plugin.duty_runner`) hand every `Refused` write to
`Outcomes.settle`:

- a retryable refusal (429, 5xx) or an unanswered write (timeout, reset) that can be
  checked before it is sent again, with attempts left: `RetryLater` is raised; the
  daemon leaves the ticket alone until the back-off (`plugin.refusals.Backoff`) has
  passed — that ticket only, the others go on;
- otherwise the write is given up: one log event (`daemon.write-refused`), one count
  (`escalator_writes_refused`), one journal row (outcome `refused`, the refusal in its
  detail), and the caller degrades truthfully (the note says who could not be told,
  that a state could not be put back, that a severity could not be restored). A write
  given up on a busy tracker (its attempts spent) still makes the ticket wait once more:
  `RetryLater` again, and the next attempt of the action finds the journal row and
  goes on without that write.

A given-up write is not sent again for the same action while the ticket stays as it was:
its journal row is keyed by the action's marker, the write and a fingerprint of the
ticket (`fingerprint`); a later change to the ticket — a person fixing a field, moving
the state — gives another fingerprint and re-arms it, once. The fingerprint leaves out
the escalation level and its records, which the escalator writes itself, so its own
later escalations do not re-arm what was refused.

Steps: a notification and a put-back are each sent at most once per action, whatever
happens after (the note is refused, the process dies): their outcome — done, refused,
unconfirmed — is in the journal (`step`) the moment it is known, so a retry of the
action neither tells the people twice nor moves the state twice, and its note says
what happened. Only a lost journal, or a crash between the write and its row, forgets it.

Journal rows: a step's or a refusal's `kind` is the action's and the write's
("escalate:notify", "restore-severity:severity"), its marker the action's marker with
the write ("escalation-L2|notify", "escalation-L2|level-refused|<fingerprint>"), so an
audit tells them from the actions' own rows.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from mapping.incident import Incident
from plugin.context import DaemonContext
from plugin.journal import JournalEntry
from plugin.refusals import UNANSWERED, Backoff, Refusal, Refused

#: writes sent at most once per action, whatever follows: their outcome is a step in the journal
ONCE = frozenset({"notify", "state"})
#: writes that cannot be checked after an unanswered attempt: nothing on the ticket says a notification
#: went out, so it is never sent again (a state is read back instead, see `ActionWriter._put_back`)
UNCHECKABLE = frozenset({"notify"})


class RetryLater(Exception):
    """A write the tracker did not take now: the ticket waits until `until`, then the action is tried again."""

    def __init__(self, until: datetime, refusal: Refusal):
        self.until = until
        self.refusal = refusal
        super().__init__(refusal.summary())


def fingerprint(incident: Incident) -> str:
    """What a person may have changed on the ticket (not `updated`, not the escalator's own level)."""
    data = incident.model_dump_json(exclude={"updated_at", "escalation_level", "escalations", "level_changes"})
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:12]


def step_key(marker: str, write: str) -> str:
    return f"{marker}|{write}"


def refusal_key(marker: str, write: str, incident: Incident) -> str:
    return _refusal_key(marker, write, fingerprint(incident))


def _refusal_key(marker: str, write: str, print_: str) -> str:
    return f"{marker}|{write}-refused|{print_}"


class Outcomes:
    """Settles refused writes for one daemon: back off, or give up and report once."""

    def __init__(self, ctx: DaemonContext, backoff: Backoff):
        self.ctx = ctx
        self.backoff = backoff

    def settle(self, incident: Incident, marker: str, kind: str, refused: Refused) -> Refusal:
        """Raise `RetryLater` while the write may be sent again; else give it up (reported once) and
        return the refusal, for the caller to say on the ticket what could not be done."""
        return self.settle_on(incident.id, incident.ref, fingerprint(incident), marker, kind, refused)

    def settle_on(self, ticket_id: str, ref: str, print_: str, marker: str, kind: str, refused: Refused) -> Refusal:
        """`settle` for a write about something else than one incident (a task): `print_` stands for
        its fingerprint."""
        refusal = refused.refusal
        retry = refusal.kind == "retryable" or (refusal.kind == UNANSWERED and refusal.write not in UNCHECKABLE)
        if retry:
            until = self.backoff.failed(ticket_id, marker, refusal)
            attempts = self.backoff.attempts(ticket_id, marker, refusal.write)
            if until is not None:
                self.ctx.log(logging.WARNING, "daemon.write-deferred", ticket=ref, marker=marker,
                             write=refusal.write, status=refusal.status, attempt=attempts, until=until.isoformat(),
                             error=str(refused.error))
                raise RetryLater(until, refusal)
            refusal = refusal.given_up(attempts)
        self.backoff.settled(ticket_id, marker, refusal.write)
        self.ctx.metrics.writes_refused.labels(self.ctx.tracker, refusal.write).inc()
        self.ctx.log(logging.ERROR, "daemon.write-refused", ticket=ref, action=kind, marker=marker,
                     write=refusal.write, refusal=refusal.kind, status=refusal.status, attempts=refusal.attempts,
                     error=str(refused.error))
        key = step_key(marker, refusal.write) if refusal.write in ONCE else _refusal_key(marker, refusal.write, print_)
        outcome = "unconfirmed" if refusal.kind == UNANSWERED else "refused"
        self.ctx.record(ticket_id, ref, key, f"{kind}:{refusal.write}", outcome, {"refusal": refusal.to_json()})
        if retry:
            # given up on a busy tracker: the rest waits all the same (a 429 is about the ticket, not the
            # write); the next attempt finds this row and goes on without the write
            raise RetryLater(self.backoff.hold(ticket_id, refusal), refusal)
        return refusal

    def given_up(self, incident: Incident, marker: str, kind: str, refusal: Refusal) -> None:
        """Record a write given up without an error (the tracker answered, but offers no way)."""
        self.ctx.metrics.writes_refused.labels(self.ctx.tracker, refusal.write).inc()
        key = step_key(marker, refusal.write) if refusal.write in ONCE else refusal_key(marker, refusal.write, incident)
        self.ctx.record(incident.id, incident.ref, key, f"{kind}:{refusal.write}", "refused",
                        {"refusal": refusal.to_json()})

    def refused(self, incident: Incident, marker: str, write: str) -> Refusal | None:
        """The refusal of `write` for this action, given up while the ticket was as it is now."""
        return self.refused_on(incident.id, marker, write, fingerprint(incident))

    def refused_on(self, ticket_id: str, marker: str, write: str, print_: str) -> Refusal | None:
        """`refused` for a write about something else than one incident (see `settle_on`)."""
        entry = self._entry(ticket_id, _refusal_key(marker, write, print_))
        return Refusal.from_json(entry.detail["refusal"]) if entry is not None else None

    def pending(self, incident: Incident, marker: str, write: str) -> None:
        """A send-once write that must still be sent (it failed for now, and what came before it
        will not ask for it again): see `step`."""
        self.ctx.record(incident.id, incident.ref, step_key(marker, write), write, "pending", {})

    def step(self, incident: Incident, marker: str, write: str) -> tuple[bool, Refusal | None] | None:
        """How a send-once write of this action ended: (done, refusal), or None when not yet sent
        (or pending)."""
        entry = self._entry(incident.id, step_key(marker, write))
        if entry is None or entry.outcome == "pending":
            return None
        refusal = entry.detail.get("refusal")
        return entry.outcome == "done", Refusal.from_json(refusal) if refusal else None

    def is_pending(self, incident: Incident, marker: str, write: str) -> bool:
        entry = self._entry(incident.id, step_key(marker, write))
        return entry is not None and entry.outcome == "pending"

    def done(self, incident: Incident, marker: str, kind: str, write: str, detail: dict) -> None:
        """A send-once write accepted: never sent again for this action."""
        self.backoff.settled(incident.id, marker, write)
        self.ctx.record(incident.id, incident.ref, step_key(marker, write), f"{kind}:{write}", "done", detail)

    def _entry(self, ticket_id: str, key: str) -> JournalEntry | None:
        journal, tracker = self.ctx.journal, self.ctx.tracker
        if not journal.done(tracker, ticket_id, key):  # the indexed question first: almost always no
            return None
        return next((e for e in reversed(journal.entries(tracker, ticket_id)) if e.marker == key), None)
