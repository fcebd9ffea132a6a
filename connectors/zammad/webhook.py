"""The Zammad webhook: a webhook with an "HMAC SHA1 Signature Token".

Zammad sends `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`
(https://admin-docs.zammad.org/en/latest/manage/webhook/add.html). Its default payload
is `{ticket: ..., article: ...}` (app/jobs/trigger_webhook_job.rb, #payload), so the
ticket is `ticket.id`.
"""

from __future__ import annotations

from typing import Any

from connectors.webhook import Webhook


def ticket_of(payload: Any) -> str | None:
    """The ticket a webhook body names, or None."""
    ticket = payload.get("ticket") if isinstance(payload, dict) else None
    if isinstance(ticket, dict) and ticket.get("id") is not None:
        return str(ticket["id"])
    return None


WEBHOOK = Webhook(tracker="zammad", algorithm="sha1", ticket_of=ticket_of)
