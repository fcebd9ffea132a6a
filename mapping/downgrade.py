"""No-downgrade (§4.3.1.2): a severity, once set, may be raised but not lowered.

"原则上,原有分级不得降低" — in principle the original severity must not be lowered;
the only way down is an explicit, recorded exception by an authorised role (the
project manager by default, `procedure.downgrade_exception.roles`; the daemon turns
those roles into the set of people, `approvers`).

The rule reads `incident.severity_history` (oldest first; the first entry is the
initial severity) and `incident.approvals`, and walks the history keeping a **floor**:
the most severe level (smallest number) ever set, except that an approved lowering
moves the floor down to the level it approved.

- A change to the floor's level or a more severe one is always allowed and becomes
  the floor (raising; also putting back a lowered severity, so the escalator's own
  restore needs no special case: afterwards the current severity equals the floor).
- A change to a less severe level than the floor is a lowering. It is allowed when an
  approval covers it; the floor then becomes the new level.
- An approval covers a lowering when all of these hold:
    * it was recorded by someone in `approvers` (anyone else's label/tag is ignored);
    * it was recorded within `APPROVAL_WINDOW` (15 minutes) before or after the change;
    * it names the change: its `to_severity` (the severity in effect right after the
      approval was recorded) is the level the change set — the approver lowered the
      severity and added the approval label/tag in one edit, or added it just after —
      or, for an approval recorded *before* the change, the level the change left —
      the approver added the label first and lowered the severity in a second edit;
    * it has not already covered an earlier lowering (one approval, one lowering).
  Who made the change itself does not matter: a project manager may approve a lowering
  the service desk carries out.
  Why a window and both orders: in Jira one edit that sets the severity field and adds
  the approval label is one changelog entry, one `created` time for all its `items`
  (Jira Cloud REST v3, "Changelog"); in Zammad a tag is added by its own request
  (`POST /api/v1/tags/add`, docs.zammad.org "API › Ticket › Tags"), so the tag and the
  severity are two history entries, seconds or minutes apart, in either order.
- When the current severity is less severe than the floor, it must be restored to the
  floor. "Who lowered it" is the latest unapproved change that made it less severe
  than before (2 → 4 by A, then 4 → 3 by B: A lowered it; B only raised it a little).
"""

from __future__ import annotations

from datetime import timedelta

from mapping.actions import RestoreSeverity
from mapping.incident import DowngradeApproval, Incident, SeverityChange

#: how far apart a lowering and its approval may be recorded (either order)
APPROVAL_WINDOW = timedelta(minutes=15)


def check_downgrade(incident: Incident, approvers: set[str]) -> RestoreSeverity | None:
    """What to restore the severity to, or None when the current severity is allowed."""
    history = incident.severity_history
    current = incident.severity
    if not history or current is None:
        return None
    floor = history[0].severity
    previous = floor
    culprit: SeverityChange | None = None
    unused = [a for a in incident.approvals if a.by is not None and a.by in approvers]
    for change in history[1:]:
        if change.severity <= floor:
            floor = change.severity
            culprit = None
        else:
            approval = _covering(change, previous, unused)
            if approval is not None:
                unused.remove(approval)
                floor = change.severity
                culprit = None
            elif change.severity > previous:
                culprit = change
        previous = change.severity
    if current <= floor:
        return None
    if culprit is None:
        # the snapshot's severity disagrees with the last history entry: the snapshot
        # is what is on the ticket now; blame the last change, if any
        culprit = history[-1]
    return RestoreSeverity(to=floor, current=current, lowered_by=culprit.by,
                           lowered_by_name=culprit.by_name, lowered_at=culprit.at)


def _covering(change: SeverityChange, before: int,
              approvals: list[DowngradeApproval]) -> DowngradeApproval | None:
    """The first unused approval that covers this lowering, if any."""
    for approval in approvals:
        if abs(approval.at - change.at) > APPROVAL_WINDOW:
            continue
        names_result = approval.to_severity == change.severity
        names_start = approval.at < change.at and approval.to_severity == before
        if names_result or names_start:
            return approval
    return None
