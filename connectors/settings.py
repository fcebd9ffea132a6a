"""What a connector is built from: plain values, whichever file or command they came from.

The escalator's CLI reads its own config file (`plugin.config`) and hands the connectors
a `TrackerSettings`; nothing here knows that file's shape, its keys or where the token
was kept. The token arrives resolved and is never shown: it is left out of `repr`, and
the transport scrubs it from any error (`connectors.http.redact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Which connector a `TrackerSettings.kind` names.
KINDS = ("jira", "zammad")


@dataclass(frozen=True)
class TrackerSettings:
    """One tracker site and the admin's choices about it.

    `page_size` None lets the connector take its tracker's own best page size (Jira
    100, Zammad the 200 tickets/search serves at most). `severity_source`,
    `severity_priorities` and `state_aliases` are the admin mapping's choices
    (`connectors.provisioning.ProvisionSettings`).
    """

    kind: str
    url: str
    token: str = field(repr=False)
    flavour: str = "cloud"  # Jira: "cloud" or "datacenter"
    email: str | None = None  # Jira Cloud: the account's e-mail address, for basic auth
    auth: str = "token"  # Zammad: "token" (API token) or "oauth2" (bearer)
    on_behalf_of: str | None = None  # Zammad: the `From` header, act as this user
    projects: tuple[str, ...] = ()  # Jira project keys / Zammad group names to watch
    issue_types: tuple[str, ...] = ()  # Jira issue type names
    timeout: float = 30.0  # seconds, read timeout; connecting gets at most 5
    page_size: int | None = None
    severity_source: str = "field"  # "field" or "priority"
    severity_priorities: Mapping[int, str] = field(default_factory=dict)
    state_aliases: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    pending_default_hours: float = 24.0  # Zammad: reminder ahead when none is known (see set_state)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown tracker kind {self.kind!r} (one of: {', '.join(KINDS)})")

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) for `connectors.http.HttpClient`: a site that takes longer than 5 s
        to accept a connection is down, whatever the read timeout allows."""
        return min(5.0, self.timeout), self.timeout
