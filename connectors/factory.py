"""Build the connector and provisioner a config names, so callers need not know the tracker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import Connector, Provisioner
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure

if TYPE_CHECKING:
    from plugin.config import Config


def make_connector(config: Config, procedure: Procedure, mapping: TrackerMapping, **transport) -> Connector:
    """`transport` passes test hooks through (sleep=, rng=, retry=, on_call=)."""
    if config.tracker.kind == "jira":
        from connectors.jira.factory import connector_from_config
    else:
        from connectors.zammad.factory import connector_from_config
    return connector_from_config(config, procedure, mapping, **transport)


def make_provisioner(config: Config, procedure: Procedure, **transport) -> Provisioner:
    if config.tracker.kind == "jira":
        from connectors.jira.factory import provisioner_from_config
    else:
        from connectors.zammad.factory import provisioner_from_config
    return provisioner_from_config(config, procedure, **transport)
