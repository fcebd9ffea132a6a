"""Build the Jira client, connector and provisioner from `TrackerSettings` (see connectors/factory.py).

Cloud authenticates with HTTP basic auth, e-mail and API token
(https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/);
Data Center with a personal access token as `Authorization: Bearer`
(https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html).
The token is handed to the transport as a secret, so it is scrubbed from any error.
`transport` carries test hooks through to `HttpClient` (sleep=, rng=, retry=, on_call=).
"""

from __future__ import annotations

from typing import Any

from connectors.http import HttpClient
from connectors.jira.client import JiraClient, JiraCloudClient, JiraDataCenterClient
from connectors.jira.connector import JiraConnector
from connectors.jira.provision import JiraProvisioner
from connectors.provisioning import ProvisionSettings, WebhookSettings
from connectors.settings import TrackerSettings
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure

#: Issues per search page when the admin chose no size
DEFAULT_PAGE = 100


def make_client(settings: TrackerSettings, **transport: Any) -> JiraClient:
    token = settings.token
    common: dict[str, Any] = dict(tracker="jira", secrets=[token], timeout=settings.timeouts)
    common.update(transport)
    if settings.flavour == "cloud":
        http = HttpClient(settings.url, auth=(str(settings.email), token),
                          auth_hint="check tracker.email and the API token (tracker.token)", **common)
        return JiraCloudClient(http)
    http = HttpClient(settings.url, headers={"Authorization": f"Bearer {token}"},
                      auth_hint="check the personal access token (tracker.token)", **common)
    return JiraDataCenterClient(http)


def make_connector(settings: TrackerSettings, mapping: TrackerMapping, **transport: Any) -> JiraConnector:
    return JiraConnector(make_client(settings, **transport), mapping, page_size=settings.page_size or DEFAULT_PAGE)


def make_provisioner(settings: TrackerSettings, procedure: Procedure, *, webhook: WebhookSettings | None = None,
                     **transport: Any) -> JiraProvisioner:
    return JiraProvisioner(make_client(settings, **transport), procedure, ProvisionSettings.of(settings, webhook),
                           base_url=settings.url)
