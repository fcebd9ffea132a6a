"""Build the Jira client, connector and provisioner a config names (see connectors/factory.py).

Cloud authenticates with HTTP basic auth, e-mail and API token
(https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/);
Data Center with a personal access token as `Authorization: Bearer`
(https://confluence.atlassian.com/enterprise/using-personal-access-tokens-1026032365.html).
The token is handed to the transport as a secret, so it is scrubbed from any error.
`transport` carries test hooks through to `HttpClient` (sleep=, rng=, retry=, on_call=).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.http import HttpClient
from connectors.jira.client import JiraClient, JiraCloudClient, JiraDataCenterClient
from connectors.jira.connector import JiraConnector
from connectors.jira.provision import JiraProvisioner
from connectors.provisioning import ProvisionSettings
from mapping.fieldmap import TrackerMapping
from mapping.procedure import Procedure

if TYPE_CHECKING:
    from plugin.config import Config


def client_from_config(config: Config, **transport: Any) -> JiraClient:
    tracker = config.tracker
    token = config.token()
    common: dict[str, Any] = dict(tracker="jira", secrets=[token], timeout=(min(5.0, tracker.timeout), tracker.timeout))
    common.update(transport)
    if tracker.flavour == "cloud":
        http = HttpClient(tracker.url, auth=(str(tracker.email), token),
                          auth_hint="check tracker.email and the API token (tracker.token)", **common)
        return JiraCloudClient(http)
    http = HttpClient(tracker.url, headers={"Authorization": f"Bearer {token}"},
                      auth_hint="check the personal access token (tracker.token)", **common)
    return JiraDataCenterClient(http)


def connector_from_config(config: Config, procedure: Procedure, mapping: TrackerMapping,
                          **transport: Any) -> JiraConnector:
    return JiraConnector(client_from_config(config, **transport), mapping, page_size=config.tracker.page_size)


def provisioner_from_config(config: Config, procedure: Procedure, **transport: Any) -> JiraProvisioner:
    return JiraProvisioner(client_from_config(config, **transport), procedure,
                           ProvisionSettings.from_config(config), base_url=config.tracker.url)
