"""What both trackers' admin mappings share: the admin's choices and the option labels.

The Jira and Zammad provisioners differ in everything they send, but they create the
same options with the same labels (a severity, level or category reads alike on both
trackers) from the same config keys.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from connectors.settings import TrackerSettings
from mapping.fieldmap import WebhookRecord
from mapping.procedure import Procedure

#: the name of the webhook (and, on Zammad, of its trigger) that `mapping apply` registers
WEBHOOK_NAME = "incident-escalator"


def secret_fingerprint(secret: str) -> str:
    """An HMAC of a fixed text keyed with the secret: shows that a secret changed, never what it is."""
    return hmac.new(secret.encode("utf-8"), b"incident-escalator webhook secret", hashlib.sha256).hexdigest()[:16]


@dataclass
class WebhookSettings:
    """The tracker side of the webhooks (`webhooks.public_url` in the escalator's config): where the
    tracker posts, the shared secret it signs with, and what the mapping file recorded at the last apply."""

    endpoint: str
    secret: str = field(repr=False)
    secret_source: str = "webhooks.secret"  # where a person finds the secret (never the secret itself)
    recorded: WebhookRecord | None = None

    @property
    def fingerprint(self) -> str:
        return secret_fingerprint(self.secret)


@dataclass
class ProvisionSettings:
    """What the admin chose about the tracker (`connectors.settings.TrackerSettings`)."""

    projects: list[str] = field(default_factory=list)  # Jira project keys / Zammad group names
    issue_types: list[str] = field(default_factory=list)  # Jira issue type names
    severity_source: str = "field"
    severity_priorities: dict[int, str] = field(default_factory=dict)
    state_aliases: dict[int, list[str]] = field(default_factory=dict)
    webhook: WebhookSettings | None = None  # None: webhooks.public_url not set, the tracker side is not managed

    @classmethod
    def of(cls, settings: TrackerSettings, webhook: WebhookSettings | None = None) -> ProvisionSettings:
        return cls(projects=list(settings.projects), issue_types=list(settings.issue_types),
                   severity_source=settings.severity_source, severity_priorities=dict(settings.severity_priorities),
                   state_aliases={k: list(v) for k, v in settings.state_aliases.items()}, webhook=webhook)


def option_names(procedure: Procedure) -> dict[str, dict[Any, str]]:
    """The option labels the escalator creates, per term: severity, escalation level, category code."""
    severity = {s.level: f"{s.level} {s.name.zh} {s.name.en}" for s in procedure.severities}
    level = {0: "0 未升级 not escalated"}
    for n, role in enumerate(procedure.escalation.targets, start=1):
        r = procedure.role(role)
        level[n] = f"{n} {r.name.zh} {r.name.en}"
    category: dict[Any, str] = {}
    for parent in procedure.categories:
        category[parent.code] = f"{parent.code} {parent.name.zh}"
        for child in parent.children:
            category[child.code] = f"{child.code} {child.name.zh}"
    return {"severity": severity, "escalation_level": level, "category": category}


class Provisioner:
    """The state both provisioners keep: client, procedure, the admin's choices, the labels."""

    def __init__(self, client: Any, procedure: Procedure, settings: ProvisionSettings, *, base_url: str):
        self.client = client
        self.procedure = procedure
        self.settings = settings
        self.base_url = base_url
        self.names = option_names(procedure)
