"""What both trackers' admin mappings share: the admin's choices and the option labels.

The Jira and Zammad provisioners differ in everything they send, but they create the
same options with the same labels (a severity, level or category reads alike on both
trackers) from the same config keys.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mapping.fieldmap import WebhookRecord, recorded_webhook
from mapping.procedure import Procedure

if TYPE_CHECKING:
    from plugin.config import Config


#: the name of the webhook (and, on Zammad, of its trigger) that `mapping apply` registers
WEBHOOK_NAME = "incident-escalator"


def secret_fingerprint(secret: str) -> str:
    """An HMAC of a fixed text keyed with the secret: shows that a secret changed, never what it is."""
    return hmac.new(secret.encode("utf-8"), b"incident-escalator webhook secret", hashlib.sha256).hexdigest()[:16]


@dataclass
class WebhookSettings:
    """The tracker side of the webhooks (`webhooks.public_url` in the config): where the tracker
    posts, the shared secret it signs with, and what the mapping file recorded at the last apply."""

    endpoint: str
    secret: str = field(repr=False)
    secret_source: str = "webhooks.secret"  # where a person finds the secret (never the secret itself)
    recorded: WebhookRecord | None = None

    @property
    def fingerprint(self) -> str:
        return secret_fingerprint(self.secret)


@dataclass
class ProvisionSettings:
    """What the admin chose in the config's `tracker` section."""

    projects: list[str] = field(default_factory=list)  # Jira project keys / Zammad group names
    issue_types: list[str] = field(default_factory=list)  # Jira issue type names
    severity_source: str = "field"
    severity_priorities: dict[int, str] = field(default_factory=dict)
    state_aliases: dict[int, list[str]] = field(default_factory=dict)
    webhook: WebhookSettings | None = None  # None: webhooks.public_url not set, the tracker side is not managed

    @classmethod
    def from_config(cls, config: Config) -> ProvisionSettings:
        tracker = config.tracker
        return cls(projects=list(tracker.projects), issue_types=list(tracker.issue_types),
                   severity_source=tracker.severity_source, severity_priorities=dict(tracker.severity_priorities),
                   state_aliases={k: list(v) for k, v in tracker.states.items()},
                   webhook=_webhook_settings(config))


def _webhook_settings(config: Config) -> WebhookSettings | None:
    hooks = config.webhooks
    endpoint = hooks.endpoint(config.tracker.kind)
    if endpoint is None or hooks.secret is None:  # the config refuses a public_url without a secret
        return None
    where = f"{config.source}: webhooks.secret" if config.source else "webhooks.secret"
    secret = hooks.secret.resolve(where, config.base_dir)
    source = (f"the value of the environment variable {hooks.secret.env}" if hooks.secret.env
              else f"the content of the file {config.path(hooks.secret.file)}" if hooks.secret.file
              else "webhooks.secret")
    return WebhookSettings(endpoint=endpoint, secret=secret, secret_source=source,
                           recorded=recorded_webhook(config.path(config.mapping_file)))


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
