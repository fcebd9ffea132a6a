"""The Jira side of the webhooks: an admin webhook that `mapping plan|apply|check` registers and verifies.

Admin webhooks are registered with `/rest/webhooks/1.0/webhook` on Jira Cloud
(developer.atlassian.com/cloud/jira/platform/webhooks/, "Registering a webhook using the
REST API") and on Data Center (developer.atlassian.com/server/jira/platform/webhooks/):
`{name, url, events, filters: {"issue-related-events-section": jql}, excludeBody, secret}`;
the answer is the webhook with a `self` link ending in its id, `enabled`, and who changed
it last and when (`lastUpdatedUser`, `lastUpdated`). The resource needs the "Administer
Jira" global permission; without it Jira answers 403 and the plan lists the steps for an
administrator instead (System → WebHooks → Create a WebHook, the same fields).

What the escalator registers, and why:
- the URL `<webhooks.public_url>/webhooks/jira`, where the receiver (`plugin.webhooks`) listens;
- the events `jira:issue_created` and `jira:issue_updated`. A comment fires
  `jira:issue_updated` too (`issue_event_type_name` `issue_commented`), and no rule of the
  procedure reads a comment (the escalator's own notes carry its markers, nothing else), so
  `comment_created` would only double the deliveries;
- the JQL `project in (...)`: only the watched projects;
- the secret (`webhooks.secret`): with one, Jira signs the body with HMAC-SHA256 and sends
  `X-Hub-Signature: sha256=<hex>` ("Secure admin webhooks" on Cloud; "Securing your webhook" in
  Data Center's admin guide, confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html);
  the receiver refuses what is unsigned or signed otherwise.

The escalator's own changes are delivered as well: a JQL filter selects issues, not who
changed them, and admin webhooks have no "except this user". The daemon re-reads the
ticket, finds nothing to do, and writes nothing.

A secret cannot be read back ("Once saved, it cannot be accessed or retrieved again"), so
apply records the webhook's `lastUpdated` in the mapping file, with a fingerprint of the
secret it set (`connectors.provisioning.secret_fingerprint`): an edit made in Jira after
apply — the only way the secret could have been taken off — and a secret changed in the
config since are both named by `check`, and the next apply sets the secret again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from connectors.http import AuthError
from connectors.provisioning import WEBHOOK_NAME, WebhookSettings
from mapping.fieldmap import PlanStep, WebhookRecord

log = logging.getLogger("escalator.jira")

PATH = "/rest/webhooks/1.0/webhook"
FILTER_KEY = "issue-related-events-section"
EVENTS = ["jira:issue_created", "jira:issue_updated"]
TERM = "webhook"


def jql_filter(projects: list[str]) -> str:
    return "project in (" + ", ".join(f'"{p}"' for p in projects) + ")" if projects else ""


def _id(hook: dict) -> str:
    return str(hook.get("self") or "").rstrip("/").rsplit("/", 1)[-1]


def _stamp(hook: dict) -> str | None:
    value = hook.get("lastUpdated")
    return None if value is None else str(value)


def _when(stamp: str | None) -> str:
    try:
        return datetime.fromtimestamp(int(stamp or "") / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return "an unknown time"


class JiraWebhookSetup:
    """Plan, apply and check of the one admin webhook, over the client's transport."""

    def __init__(self, http: Any, settings: WebhookSettings, projects: list[str], *, cloud: bool):
        self.http = http
        self.settings = settings
        self.jql = jql_filter(projects)
        self.cloud = cloud

    def wanted(self) -> dict:
        """The webhook as apply sends it (with the secret: never shown, never logged)."""
        return {"name": WEBHOOK_NAME, "url": self.settings.endpoint, "events": list(EVENTS),
                "filters": {FILTER_KEY: self.jql}, "excludeBody": False, "enabled": True,
                "secret": self.settings.secret}

    def _find(self, hooks: list[dict]) -> dict | None:
        recorded = self.settings.recorded
        for match in ((lambda h: recorded is not None and _id(h) == recorded.id),
                      (lambda h: h.get("name") == WEBHOOK_NAME),
                      (lambda h: h.get("url") == self.settings.endpoint)):
            found = next((h for h in hooks if match(h)), None)
            if found is not None:
                return found
        return None

    def _differences(self, hook: dict) -> list[str]:
        out = []
        if hook.get("url") != self.settings.endpoint:
            out.append(f"points to {hook.get('url')!r}, not {self.settings.endpoint!r} (webhooks.public_url)")
        if hook.get("enabled") is False:
            out.append("is disabled: Jira sends nothing")
        missing = [e for e in EVENTS if e not in (hook.get("events") or [])]
        if missing:
            out.append(f"is not sent for {', '.join(missing)}")
        jql = str((hook.get("filters") or {}).get(FILTER_KEY) or "")
        if " ".join(jql.split()) != self.jql:
            out.append(f"filters issues with {jql!r}, not {self.jql!r}")
        if hook.get("excludeBody"):
            out.append("is sent without a body: the receiver cannot tell which issue changed")
        return out

    def _secret_doubts(self, hook: dict, recorded: WebhookRecord | None) -> list[str]:
        """Why the secret on the tracker may not be webhooks.secret (Jira never shows it back)."""
        if recorded is None or recorded.id != _id(hook):
            return ["was not set up by `mapping apply`: its secret is unknown (Jira never shows it back)"]
        out = []
        if recorded.updated != _stamp(hook):
            who = hook.get("lastUpdatedDisplayName") or hook.get("lastUpdatedUser") or "someone"
            out.append(f"was edited in Jira by {who} at {_when(_stamp(hook))}, after `mapping apply`: Jira never "
                       "shows a secret back, so it may have lost its secret (or got another)")
        if recorded.secret_fingerprint != self.settings.fingerprint:
            out.append("is signed with the secret of the last apply, and webhooks.secret has changed since: "
                       "the receiver refuses its deliveries")
        return out

    # -- plan ---------------------------------------------------------------------------------------
    def plan_steps(self) -> list[PlanStep]:
        try:
            hooks = self.http.get(PATH) or []
        except AuthError as exc:
            if exc.status != 403:
                raise
            return [PlanStep(term=TERM, status="manual", payload={}, detail=self.by_hand())]
        hook = self._find(hooks)
        if hook is None:
            return [PlanStep(term=TERM, status="create", payload={},
                             detail=f"admin webhook {WEBHOOK_NAME!r} -> {self.settings.endpoint} for "
                                    f"{', '.join(EVENTS)} on {self.jql or 'every project'}, signed with "
                                    "webhooks.secret")]
        name = f"admin webhook {hook.get('name')!r} ({_id(hook)})"
        why = self._differences(hook) + self._secret_doubts(hook, self.settings.recorded)
        if hook.get("name") != WEBHOOK_NAME:
            why.insert(0, f"is named {hook.get('name')!r}, not {WEBHOOK_NAME!r}")
        payload = {"id": _id(hook), "updated": _stamp(hook)}
        if why:
            return [PlanStep(term=TERM, status="update", payload=payload,
                             detail=f"{name} {'; '.join(why)}: set it as the escalator needs it, with the secret")]
        return [PlanStep(term=TERM, status="ok", payload=payload,
                         detail=f"{name} -> {self.settings.endpoint}, {', '.join(EVENTS)}, signed")]

    def by_hand(self) -> str:
        where = "Settings (⚙) → System → WebHooks" if self.cloud else "Administration (⚙) → System → WebHooks"
        return (f"the account may not manage webhooks (Jira answered 403: admin webhooks need the 'Administer "
                f"Jira' global permission). A Jira administrator: {where} → Create a WebHook: Name "
                f"{WEBHOOK_NAME!r}; URL {self.settings.endpoint}; Secret: {self.settings.secret_source}; Status "
                f"Enabled; Issue related events JQL: {self.jql or '(empty: all issues)'}; events: Issue created, "
                "Issue updated; Exclude body: unticked. Then run `escalator mapping check`")

    # -- apply --------------------------------------------------------------------------------------
    def apply(self, step: PlanStep) -> str:
        body = self.wanted()
        if step.status == "create":
            created = self.http.post(PATH, json=body, idempotent=False) or {}  # never two webhooks
            log.info("jira.webhook-created", extra={"event": "jira.webhook-created", "webhook": _id(created),
                                                    "url": self.settings.endpoint})
            return f"{TERM}: registered admin webhook {WEBHOOK_NAME!r} ({_id(created)}) -> {self.settings.endpoint}"
        hook_id = step.payload["id"]
        self.http.put(f"{PATH}/{hook_id}", json=body)
        log.info("jira.webhook-updated", extra={"event": "jira.webhook-updated", "webhook": hook_id,
                                                "url": self.settings.endpoint})
        return f"{TERM}: set admin webhook {WEBHOOK_NAME!r} ({hook_id}) to {self.settings.endpoint}, with the secret"

    def record(self, step: PlanStep | None) -> WebhookRecord | None:
        """What the mapping file keeps, from a plan read after the changes."""
        if step is None or not step.payload.get("id"):
            return None
        return WebhookRecord(url=self.settings.endpoint, id=step.payload["id"], updated=step.payload.get("updated"),
                             secret_fingerprint=self.settings.fingerprint)

    # -- check --------------------------------------------------------------------------------------
    def check(self, recorded: WebhookRecord | None) -> list[str]:
        try:
            hooks = self.http.get(PATH) or []
        except AuthError as exc:
            if exc.status != 403 or recorded is None:
                raise
            return [f"{TERM}: cannot be checked any more: the account may not read webhooks (403)"]
        if recorded is not None:
            hook = next((h for h in hooks if _id(h) == recorded.id), None)
            if hook is None:
                return [f"{TERM}: admin webhook {WEBHOOK_NAME!r} ({recorded.id}) is gone from Jira: nothing is "
                        "delivered; run `escalator mapping apply`"]
        else:
            hook = self._find(hooks)
            if hook is None:
                return [f"{TERM}: no admin webhook {WEBHOOK_NAME!r} in Jira: run `escalator mapping apply`"]
        name = f"{TERM}: admin webhook {hook.get('name')!r} ({_id(hook)})"
        return [f"{name} {why}" for why in self._differences(hook) + self._secret_doubts(hook, recorded)]


def make_setup(client: Any, settings: WebhookSettings | None, projects: list[str], *,
               cloud: bool) -> JiraWebhookSetup | None:
    return None if settings is None else JiraWebhookSetup(client.http, settings, projects, cloud=cloud)
