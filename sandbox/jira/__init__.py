"""Sandbox Jira (Cloud v3 and Data Center v2), laid out as moto lays out a service.

- `server.py`: `JiraSandbox`, the loopback server with auth, rate-limit answers and the
  seed API;
- `models.py`: the state (`JiraModel`), with `types.py` (records), `render.py` (Jira's
  JSON shapes), `screens.py` (which fields a screen lets a write set) and `jql.py`;
- `responses.py`: the REST operations (`JiraResponses`), Jira's payloads in and out;
- `urls.py`: the routing table, path pattern -> operation, per flavour;
- `exceptions.py`: refusals in Jira's `{"errorMessages": [...], "errors": {...}}` shape;
- `permissions.py`: the bot's `BotProfile` and Jira's permission catalogue;
- `webhooks.py`: admin webhooks (`/rest/webhooks/1.0/webhook`) and their delivery, on the
  thread of a `sandbox.deliveries.Courier`.

Callers import from here: `from sandbox.jira import JiraSandbox, Workflow`.
"""

from sandbox.jira.exceptions import JiraError
from sandbox.jira.permissions import BotProfile
from sandbox.jira.server import JiraSandbox, PerIssueWriteLimit
from sandbox.jira.types import Workflow, WorkflowTransition, default_workflow

__all__ = ["BotProfile", "JiraError", "JiraSandbox", "PerIssueWriteLimit", "Workflow", "WorkflowTransition",
           "default_workflow"]
