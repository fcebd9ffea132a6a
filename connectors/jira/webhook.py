"""The Jira webhook: an admin webhook registered with a secret.

Jira signs the raw body with HMAC-SHA256 and sends `X-Hub-Signature: sha256=<hex>`
(https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks).
An issue event names the issue as `issue.id` (`issue.key` as a fallback) in its JSON
body (same page, "Example callback for an issue-related event").
"""

from __future__ import annotations

from typing import Any

from connectors.webhook import Webhook


def issue_of(payload: Any) -> str | None:
    """The issue a webhook body names, or None (e.g. a project or user event)."""
    issue = payload.get("issue") if isinstance(payload, dict) else None
    if not isinstance(issue, dict):
        return None
    value = issue.get("id") or issue.get("key")
    return str(value) if value else None


WEBHOOK = Webhook(tracker="jira", algorithm="sha256", ticket_of=issue_of)
