"""Build the Zammad client, connector and provisioner a config names (see connectors/factory.py).

Zammad takes an API token as `Authorization: Token token=…` or an OAuth2 access
token as `Authorization: Bearer …`, and acts on behalf of another user when the
`From` header names them (docs.zammad.org, API → Introduction). The token is handed
to the transport as a secret, so it is scrubbed from any error.
`transport` carries test hooks through to `HttpClient` (sleep=, rng=, retry=, on_call=).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.http import HttpClient
from connectors.provisioning import ProvisionSettings
from connectors.zammad.client import AUTH_HINT, MAX_SEARCH_PAGE, ZammadClient, auth_headers
from connectors.zammad.connector import ZammadConnector
from connectors.zammad.provision import ZammadProvisioner
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure

if TYPE_CHECKING:
    from plugin.config import Config


def client_from_config(config: Config, **transport: Any) -> ZammadClient:
    tracker = config.tracker
    token = config.token()
    options: dict[str, Any] = dict(tracker="zammad", secrets=[token], auth_hint=AUTH_HINT,
                                   headers=auth_headers(token, tracker.auth, tracker.on_behalf_of),
                                   timeout=(min(5.0, tracker.timeout), tracker.timeout))
    options.update(transport)
    return ZammadClient(HttpClient(tracker.url, **options))


def connector_from_config(config: Config, procedure: Procedure, mapping: TrackerMapping,
                          **transport: Any) -> ZammadConnector:
    tracker = config.tracker
    # Zammad serves up to 200 tickets a page; take them all unless the admin chose a size
    page_size = tracker.page_size if "page_size" in tracker.model_fields_set else MAX_SEARCH_PAGE
    return ZammadConnector(client_from_config(config, **transport), mapping,
                           projects=list(tracker.projects) or list(mapping.projects),
                           page_size=page_size, contract_for=config.contract_for)


def provisioner_from_config(config: Config, procedure: Procedure, **transport: Any) -> ZammadProvisioner:
    return ZammadProvisioner(client_from_config(config, **transport), procedure,
                             ProvisionSettings.from_config(config), base_url=config.tracker.url)
