"""The one place that picks a tracker's package by `TrackerSettings.kind`, so callers need not know it.

The packages are imported on first use: a Zammad site never loads the Jira connector.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from connectors.base import Connector, Provisioner
from connectors.provisioning import WebhookSettings
from connectors.settings import KINDS, TrackerSettings
from connectors.webhook import Webhook
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure


def _package(kind: str, module: str) -> ModuleType:
    if kind not in KINDS:
        raise ValueError(f"unknown tracker kind {kind!r} (one of: {', '.join(KINDS)})")
    return import_module(f"connectors.{kind}.{module}")


def make_connector(settings: TrackerSettings, mapping: TrackerMapping, **transport) -> Connector:
    """`transport` passes test hooks through (sleep=, rng=, retry=, on_call=)."""
    return _package(settings.kind, "factory").make_connector(settings, mapping, **transport)


def make_provisioner(settings: TrackerSettings, procedure: Procedure, *, webhook: WebhookSettings | None = None,
                     **transport) -> Provisioner:
    """`webhook`: the tracker's side of the webhooks to plan, apply and check too (None: not managed)."""
    return _package(settings.kind, "factory").make_provisioner(settings, procedure, webhook=webhook, **transport)


def connector_class(kind: str) -> type[Connector]:
    """The connector class of a tracker, for what it says of its tracker without a site
    (`label_term`, `container_key`)."""
    return getattr(_package(kind, "connector"), f"{kind.capitalize()}Connector")


def webhook_for(kind: str) -> Webhook:
    """How the tracker signs its webhooks and where their bodies name the ticket."""
    return _package(kind, "webhook").WEBHOOK
