"""Build the Zammad client, connector and provisioner from `TrackerSettings` (see connectors/factory.py).

Zammad takes an API token as `Authorization: Token token=…` or an OAuth2 access
token as `Authorization: Bearer …`, and acts on behalf of another user when the
`From` header names them (docs.zammad.org, API → Introduction). The token is handed
to the transport as a secret, so it is scrubbed from any error.
`transport` carries test hooks through to `HttpClient` (sleep=, rng=, retry=, on_call=).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.http import HttpClient
from connectors.provisioning import ProvisionSettings, WebhookSettings
from connectors.settings import TrackerSettings
from connectors.zammad.client import AUTH_HINT, MAX_SEARCH_PAGE, ZammadClient, auth_headers
from connectors.zammad.connector import ZammadConnector
from connectors.zammad.provision import ZammadProvisioner
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure


def make_client(settings: TrackerSettings, **transport: Any) -> ZammadClient:
    token = settings.token
    options: dict[str, Any] = dict(tracker="zammad", secrets=[token], auth_hint=AUTH_HINT,
                                   headers=auth_headers(token, settings.auth, settings.on_behalf_of),
                                   timeout=settings.timeouts)
    options.update(transport)
    return ZammadClient(HttpClient(settings.url, **options))


def make_connector(settings: TrackerSettings, mapping: TrackerMapping, **transport: Any) -> ZammadConnector:
    # Zammad serves up to 200 tickets a page: take them all unless the admin chose a size
    return ZammadConnector(make_client(settings, **transport), mapping,
                           projects=list(settings.projects) or list(mapping.projects),
                           page_size=settings.page_size or MAX_SEARCH_PAGE,
                           pending_default=timedelta(hours=settings.pending_default_hours))


def make_provisioner(settings: TrackerSettings, procedure: Procedure, *, webhook: WebhookSettings | None = None,
                     **transport: Any) -> ZammadProvisioner:
    return ZammadProvisioner(make_client(settings, **transport), procedure, ProvisionSettings.of(settings, webhook),
                             base_url=settings.url)
