"""The Zammad side of the webhooks: a webhook and the trigger that fires it, set up by `mapping apply`.

Zammad calls a webhook only from a trigger (admin-docs.zammad.org, "Webhook"; the job is
app/jobs/trigger_webhook_job.rb), so the plan has two steps:

- `webhook`: `POST /api/v1/webhooks` `{name, endpoint, signature_token, ssl_verify, active}`
  (app/models/webhook.rb; permission `admin.webhook`). With a signature token Zammad signs
  the body with HMAC-SHA1 and sends `X-Hub-Signature: sha1=<hex>` (lib/user_agent.rb,
  `set_signature`), which the receiver checks against `webhooks.secret`. The default payload
  (`customized_payload` false) carries `ticket.id`, all the receiver reads. Zammad answers
  with the token, so `check` compares it with the config's secret.
- `webhook-trigger`: `POST /api/v1/triggers` (permission `admin.trigger`), `activator` `action`
  and `execution_condition_mode` `always`, condition: the ticket's group is one of the watched
  groups, and `ticket.updated_by_id` is not the escalator's own user; perform:
  `{"notification.webhook": {"webhook_id": …}}`.

Why `always`: a `selective` trigger runs on an update only when an attribute its condition
names changed (or an article was added; admin-docs "How do triggers work"). Ours names the
group and the last updater: a person lowering a severity twice in a row changes neither, and
would not be told.

Telling the escalator's own updates apart: Ticket.perform_triggers evaluates the condition
with the user who made the change (app/models/ticket.rb: `ticket.updated_by_id`, or the
new article's `updated_by_id`), and the escalator writes as one user — the token's owner,
or the `tracker.on_behalf_of` user it acts as (`GET /users/me` answers whichever it is).
A condition `ticket.updated_by_id is not <that user>` therefore skips its own notes and
restores, and fires for everyone else's change. A tag added on its own runs no trigger in
Zammad (Tag.tag_add only touches the ticket; zammad/zammad#2438): a manual escalation
request made by tag alone reaches the daemon at its next poll.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from connectors.http import AuthError
from connectors.provisioning import WEBHOOK_NAME, WebhookSettings
from mapping.fieldmap import PlanStep, WebhookRecord

log = logging.getLogger("escalator.zammad")

WEBHOOKS = "/api/v1/webhooks"
TRIGGERS = "/api/v1/triggers"
HOOK, TRIGGER = "webhook", "webhook-trigger"
NOTE = "incident-escalator: tells the escalator's daemon that a ticket changed (managed by `mapping apply`)"


def _same_token(have: Any, want: str) -> bool:
    return isinstance(have, str) and hmac.compare_digest(have.encode("utf-8"), want.encode("utf-8"))


def _values(rule: Any) -> list[str]:
    value = rule.get("value") if isinstance(rule, dict) else None
    return sorted(str(v) for v in (value if isinstance(value, list) else [value]) if v not in (None, ""))


class ZammadWebhookSetup:
    """Plan, apply and check of the webhook and its trigger, over the client's transport."""

    def __init__(self, http: Any, settings: WebhookSettings, groups: dict[str, int]):
        self.http = http
        self.settings = settings
        self.groups = groups  # watched group name -> id ({}: every group)
        self._me: dict | None = None

    @property
    def me(self) -> dict:
        """The user the escalator writes as (the `From` user when it acts on behalf of one)."""
        if self._me is None:
            self._me = self.http.get("/api/v1/users/me") or {}
        return self._me

    def wanted_webhook(self) -> dict:
        return {"name": WEBHOOK_NAME, "endpoint": self.settings.endpoint, "signature_token": self.settings.secret,
                "ssl_verify": True, "customized_payload": False, "active": True, "note": NOTE}

    def wanted_condition(self) -> dict:
        condition: dict[str, dict] = {}
        if self.groups:
            condition["ticket.group_id"] = {"operator": "is", "value": [str(g) for g in sorted(self.groups.values())]}
        condition["ticket.updated_by_id"] = {"operator": "is not", "pre_condition": "specific",
                                             "value": [str(self.me.get("id"))]}
        return condition

    def wanted_trigger(self, webhook_id: Any) -> dict:
        return {"name": WEBHOOK_NAME, "condition": self.wanted_condition(),
                "perform": {"notification.webhook": {"webhook_id": str(webhook_id)}}, "activator": "action",
                "execution_condition_mode": "always", "active": True, "note": NOTE}

    # -- reading --------------------------------------------------------------------------------------
    def _find(self, records: list[dict], recorded_id: str | None, by_endpoint: bool = False) -> dict | None:
        for match in ((lambda r: recorded_id is not None and str(r.get("id")) == recorded_id),
                      (lambda r: r.get("name") == WEBHOOK_NAME),
                      (lambda r: by_endpoint and r.get("endpoint") == self.settings.endpoint)):
            found = next((r for r in records if match(r)), None)
            if found is not None:
                return found
        return None

    def _hook_problems(self, hook: dict) -> list[str]:
        out = []
        if hook.get("endpoint") != self.settings.endpoint:
            out.append(f"points to {hook.get('endpoint')!r}, not {self.settings.endpoint!r} (webhooks.public_url)")
        if not hook.get("active"):
            out.append("is inactive: Zammad sends nothing")
        if not hook.get("signature_token"):
            out.append("has no signature token: Zammad sends it unsigned and the receiver refuses every delivery")
        elif not _same_token(hook.get("signature_token"), self.settings.secret):
            out.append("has a signature token other than webhooks.secret: the receiver refuses every delivery")
        if hook.get("customized_payload") or hook.get("pre_defined_webhook_type"):
            out.append("sends a custom payload: the receiver needs Zammad's default one (ticket.id)")
        return out

    def _trigger_problems(self, trigger: dict, webhook_id: Any) -> list[str]:
        out = []
        if not trigger.get("active"):
            out.append("is inactive: no change fires the webhook")
        perform = trigger.get("perform") if isinstance(trigger.get("perform"), dict) else {}
        fired = (perform.get("notification.webhook") or {}).get("webhook_id") if isinstance(perform, dict) else None
        if webhook_id is not None and str(fired) != str(webhook_id):
            out.append(f"fires webhook {fired!r}, not {WEBHOOK_NAME!r} ({webhook_id})")
        if trigger.get("activator") != "action" or trigger.get("execution_condition_mode") != "always":
            out.append(f"runs on {trigger.get('activator')!r}/{trigger.get('execution_condition_mode')!r}, not on "
                       "every ticket change ('action'/'always')")
        condition = trigger.get("condition") if isinstance(trigger.get("condition"), dict) else {}
        want = self.wanted_condition()
        have = _values(condition.get("ticket.group_id"))
        if have != _values(want.get("ticket.group_id")):
            names = ", ".join(f"{n} ({i})" for n, i in sorted(self.groups.items())) or "every group"
            out.append(f"watches {'group id(s) ' + ', '.join(have) if have else 'every group'}, not {names}")
        mine = condition.get("ticket.updated_by_id") or {}
        if (mine.get("operator"), _values(mine)) != ("is not", _values(want["ticket.updated_by_id"])):
            out.append(f"does not skip the escalator's own changes (ticket.updated_by_id is not "
                       f"{self.me.get('login') or self.me.get('id')})")
        extra = sorted(set(condition) - set(want))
        if extra:
            out.append(f"has conditions of its own ({', '.join(extra)}) that may keep people's changes from it")
        return out

    # -- plan -----------------------------------------------------------------------------------------
    def plan_steps(self) -> list[PlanStep]:
        recorded = self.settings.recorded
        try:
            hooks = self.http.get(WEBHOOKS) or []
            triggers = self.http.get(TRIGGERS) or []
        except AuthError as exc:
            if exc.status != 403:
                raise
            return [PlanStep(term=HOOK, status="manual", payload={}, detail=self.by_hand())]
        hook = self._find(hooks, recorded.id if recorded else None, by_endpoint=True)
        steps = []
        if hook is None:
            steps.append(PlanStep(term=HOOK, status="create", payload={},
                                  detail=f"webhook {WEBHOOK_NAME!r} -> {self.settings.endpoint}, signed with "
                                         "webhooks.secret (HMAC-SHA1)"))
        else:
            problems = self._hook_problems(hook)
            if hook.get("name") != WEBHOOK_NAME:
                problems.insert(0, f"is named {hook.get('name')!r}, not {WEBHOOK_NAME!r}")
            steps.append(PlanStep(
                term=HOOK, status="update" if problems else "ok", payload={"id": str(hook["id"])},
                detail=f"webhook {hook.get('name')!r} ({hook['id']}) {'; '.join(problems)}" if problems
                else f"webhook {WEBHOOK_NAME!r} ({hook['id']}) -> {self.settings.endpoint}, signed"))
        trigger = self._find(triggers, recorded.trigger if recorded else None)
        groups = ", ".join(sorted(self.groups)) or "every group"
        who = self.me.get("login") or self.me.get("id")
        if trigger is None:
            steps.append(PlanStep(term=TRIGGER, status="create", payload={},
                                  detail=f"trigger {WEBHOOK_NAME!r}: on every change of a ticket in {groups} not "
                                         f"made by {who}, call the webhook"))
        else:
            problems = self._trigger_problems(trigger, hook["id"] if hook else None)
            if hook is None:
                problems.append("will fire the new webhook")
            steps.append(PlanStep(
                term=TRIGGER, status="update" if problems else "ok", payload={"id": str(trigger["id"])},
                detail=f"trigger {trigger.get('name')!r} ({trigger['id']}) {'; '.join(problems)}" if problems
                else f"trigger {WEBHOOK_NAME!r} ({trigger['id']}): changes in {groups} not made by {who}"))
        return steps

    def by_hand(self) -> str:
        groups = ", ".join(sorted(self.groups)) or "(no condition: every group)"
        return (f"the account may not manage webhooks and triggers (Zammad answered 403: they need the "
                f"admin.webhook and admin.trigger permissions). A Zammad admin: Settings → Manage → Webhook → New "
                f"Webhook: Name {WEBHOOK_NAME!r}; Endpoint {self.settings.endpoint}; HMAC SHA1 Signature Token: "
                f"{self.settings.secret_source}; SSL Verification yes; Active. Then Manage → Trigger → New Trigger: "
                f"Name {WEBHOOK_NAME!r}; Activated by Action, Action execution Always; Conditions: Group is "
                f"{groups}, Updated by is not {self.me.get('login') or 'the escalator’s user'}; Action: Webhook "
                f"{WEBHOOK_NAME!r}; Active. Then run `escalator mapping check`")

    # -- apply ----------------------------------------------------------------------------------------
    def apply(self, step: PlanStep, made: dict[str, str]) -> str:
        """Carry out one step; `made` carries the id of a webhook created in this run to its trigger."""
        if step.term == HOOK:
            if step.status == "create":
                created = self.http.post(WEBHOOKS, json=self.wanted_webhook(), idempotent=False) or {}
                made[HOOK] = str(created.get("id"))
                log.info("zammad.webhook-created", extra={"event": "zammad.webhook-created", "webhook": made[HOOK],
                                                          "url": self.settings.endpoint})
                return f"{HOOK}: created webhook {WEBHOOK_NAME!r} ({made[HOOK]}) -> {self.settings.endpoint}"
            made[HOOK] = step.payload["id"]
            self.http.put(f"{WEBHOOKS}/{step.payload['id']}", json=self.wanted_webhook())
            log.info("zammad.webhook-updated", extra={"event": "zammad.webhook-updated", "webhook": made[HOOK],
                                                      "url": self.settings.endpoint})
            return f"{HOOK}: set webhook {WEBHOOK_NAME!r} ({made[HOOK]}) to {self.settings.endpoint}, signed"
        webhook_id = made.get(HOOK) or self._webhook_id()
        body = self.wanted_trigger(webhook_id)
        if step.status == "create":
            created = self.http.post(TRIGGERS, json=body, idempotent=False) or {}  # names are unique
            log.info("zammad.trigger-created", extra={"event": "zammad.trigger-created", "trigger": created.get("id"),
                                                      "webhook": webhook_id})
            return f"{TRIGGER}: created trigger {WEBHOOK_NAME!r} ({created.get('id')}) firing webhook {webhook_id}"
        self.http.put(f"{TRIGGERS}/{step.payload['id']}", json=body)
        log.info("zammad.trigger-updated", extra={"event": "zammad.trigger-updated", "trigger": step.payload["id"],
                                                  "webhook": webhook_id})
        return f"{TRIGGER}: set trigger {WEBHOOK_NAME!r} ({step.payload['id']}) to fire webhook {webhook_id}"

    def _webhook_id(self) -> str:
        recorded = self.settings.recorded
        hook = self._find(self.http.get(WEBHOOKS) or [], recorded.id if recorded else None, by_endpoint=True)
        if hook is None:
            raise ValueError(f"zammad: the webhook {WEBHOOK_NAME!r} is gone; run `escalator mapping apply` again")
        return str(hook["id"])

    def record(self, steps: list[PlanStep]) -> WebhookRecord | None:
        """What the mapping file keeps, from a plan read after the changes."""
        by_term = {s.term: s for s in steps}
        hook, trigger = by_term.get(HOOK), by_term.get(TRIGGER)
        if hook is None or not hook.payload.get("id"):
            return None
        return WebhookRecord(url=self.settings.endpoint, id=hook.payload["id"],
                             trigger=trigger.payload.get("id") if trigger else None)

    # -- check ----------------------------------------------------------------------------------------
    def check(self, recorded: WebhookRecord | None) -> list[str]:
        try:
            hooks = self.http.get(WEBHOOKS) or []
            triggers = self.http.get(TRIGGERS) or []
        except AuthError as exc:
            if exc.status != 403 or recorded is None:
                raise
            return [f"{HOOK}: cannot be checked any more: the account may not read webhooks and triggers (403)"]
        drift = []
        hook = self._find(hooks, recorded.id if recorded else None) if recorded is None \
            else next((h for h in hooks if str(h.get("id")) == recorded.id), None)
        if hook is None:
            what = f"({recorded.id}) is gone from Zammad" if recorded else "is not in Zammad"
            drift.append(f"{HOOK}: webhook {WEBHOOK_NAME!r} {what}: nothing is delivered; run `escalator mapping "
                         "apply`")
        else:
            drift += [f"{HOOK}: webhook {hook.get('name')!r} ({hook['id']}) {p}" for p in self._hook_problems(hook)]
        trigger = self._find(triggers, None) if recorded is None or not recorded.trigger \
            else next((t for t in triggers if str(t.get("id")) == recorded.trigger), None)
        if trigger is None:
            what = f"({recorded.trigger}) is gone from Zammad" if recorded and recorded.trigger else "is not in Zammad"
            drift.append(f"{TRIGGER}: trigger {WEBHOOK_NAME!r} {what}: no change fires the webhook; run "
                         "`escalator mapping apply`")
        else:
            drift += [f"{TRIGGER}: trigger {trigger.get('name')!r} ({trigger['id']}) {p}"
                      for p in self._trigger_problems(trigger, hook["id"] if hook else None)]
        return drift


def make_setup(client: Any, settings: WebhookSettings | None, groups: dict[str, int]) -> ZammadWebhookSetup | None:
    return None if settings is None else ZammadWebhookSetup(client.http, settings, groups)
