"""The daemon's start-up preflight: what its token may not do, said once as events, then on it goes.

The same question `escalator mapping check` asks (connectors/preflight.py: Jira's
mypermissions per mapped project, Zammad's group access of the token's user), asked once
when `escalator run` or `escalator once` starts (`plugin.cli.daemon.open_daemon`). Each gap is one `daemon.permission-missing`
event naming the permission, where, and the feature it breaks; the daemon keeps running
and degrades as the event says (a refused write is handled as plugin/refusals.py says). A
preflight that cannot be asked (the tracker down, an old server without the resource) is one
`daemon.preflight-failed` event: the passes find out the rest.
"""

from __future__ import annotations

import logging

from connectors.factory import make_provisioner
from connectors.http import TrackerError
from connectors.preflight import Missing
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure
from plugin.config import Config

log = logging.getLogger("escalator.daemon")


def _event(severity: int, event: str, **fields: object) -> None:
    log.log(severity, "%s %s", event, " ".join(f"{k}={v}" for k, v in fields.items()),
            extra={"event": event, "fields": fields})


def log_missing_permissions(config: Config, procedure: Procedure, mapping: TrackerMapping,
                            **transport: object) -> list[Missing]:
    """Ask the tracker what the bot may not do; log each gap; return them (empty when it could not ask)."""
    tracker = config.tracker.kind
    provisioner = make_provisioner(config.tracker_settings(), procedure, **transport)
    try:
        missing = provisioner.preflight(mapping)
    except TrackerError as exc:
        _event(logging.WARNING, "daemon.preflight-failed", tracker=tracker, error=str(exc))
        return []
    finally:
        provisioner.client.http.close()
    for gap in missing:
        _event(logging.ERROR if gap.blocking else logging.WARNING, "daemon.permission-missing", tracker=tracker,
               permission=gap.permission, where=gap.where, breaks=gap.breaks, blocking=gap.blocking)
    return missing
