"""The sandbox Zammad's webhooks and triggers: their REST resources, the trigger run, the delivery.

Zammad calls a webhook only from a trigger: a trigger (`/api/v1/triggers`, permission
`admin.trigger`) whose `perform` holds `{"notification.webhook": {"webhook_id": id}}` runs
after a ticket was created or updated, and when its `condition` matches, a
`TriggerWebhookJob` posts to the webhook (`/api/v1/webhooks`, permission `admin.webhook`,
app/policies/controllers/webhooks_controller_policy.rb).

The records, as app/models/webhook.rb and app/models/trigger.rb keep them:
- a webhook: `name` (required), `endpoint` (an http(s) URL with a host, else 422 with the
  model's messages), `signature_token`, `ssl_verify`, `basic_auth_username`/`_password`,
  `customized_payload`/`custom_payload`, `pre_defined_webhook_type`, `note`, `active`.
  Nothing filters the answer: `signature_token` is in it (the controller's plain
  `model_index_render`). A webhook a trigger uses cannot be deleted: 422 "This object is
  referenced by other object(s) and thus cannot be deleted: Trigger / <name> (#<id>)"
  (app/models/concerns/ensures_no_related_objects.rb);
- a trigger: `name` (unique, case-insensitive), `condition`, `perform`, `activator` (`action`
  or `time`), `execution_condition_mode` (`selective` or `always`), `note`, `active`.

The trigger run (Ticket.perform_triggers, app/models/ticket.rb): after each request that
created or changed a ticket — the same moment the sandbox writes its `notification`
history — the active `action` triggers are tried in name order. The conditions this sandbox
evaluates (others are refused when the trigger is saved, 422, rather than ignored):
`ticket.action` (`is`/`is not` create/update) and any ticket column with `is`/`is not` and a
`pre_condition` of `specific` (the value list), `not_set`, or `current_user.id` (the user who
made the change: `ticket.updated_by_id`, or the new article's author). `selective` runs a
trigger on an update only when an attribute its condition names changed, or an article was
added (admin-docs.zammad.org, "How do triggers work"); `always` whenever the condition
matches. A tag added or removed on its own touches the ticket but runs no trigger (Tag.tag_add
only `touch`es it; zammad/zammad#2438 "Adding tags does not trigger 'on update'").

The delivery (app/jobs/trigger_webhook_job.rb, lib/user_agent.rb): POST of `{"ticket": …,
"article": …}` (TriggerWebhookJob::RecordPayload: the ticket's attributes with association
names, sorted, its owner, customer, created_by, updated_by, organization, priority and group
as nested records, users without USER_ATTRIBUTE_BLACKLIST; the article of this change or `{}`)
with `Content-Type: application/json; charset=utf-8`, `User-Agent: Zammad User Agent`,
`X-Zammad-Trigger: <trigger name>`, `X-Zammad-Delivery: <job id>`, and with a signature token
`X-Hub-Signature: sha1=<HMAC-SHA1 of the body, hex>` (UserAgent.set_signature). Any answer
but a 2xx (a redirect included: `do_not_follow_redirects`), or none, fails the job, which
`retry_on … attempts: 5, wait: executions * 10.seconds` runs again after 10, 20, 30 and 40
seconds with the same job id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from sandbox.deliveries import Courier, Delivery
from sandbox.server import Response
from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.models import TICKET_COLUMNS

log = logging.getLogger("sandbox.zammad")

#: TriggerWebhookJob::RecordPayload::Base::USER_ATTRIBUTE_BLACKLIST
USER_ATTRIBUTE_BLACKLIST = {"last_login", "login_failed", "password", "preferences", "group_ids", "groups",
                            "authorization_ids", "authorizations"}
#: TriggerWebhookJob: retry_on RequestError, attempts: 5, wait: executions * 10.seconds
ATTEMPTS = 5
WEBHOOK_FIELDS = ("name", "endpoint", "signature_token", "ssl_verify", "basic_auth_username", "basic_auth_password",
                  "customized_payload", "custom_payload", "pre_defined_webhook_type", "note", "active", "preferences")
TRIGGER_FIELDS = ("name", "condition", "perform", "activator", "execution_condition_mode", "disable_notification",
                  "localization", "timezone", "note", "active")
OPERATORS = ("is", "is not")
PRE_CONDITIONS = ("specific", "not_set", "current_user.id")


class ZammadRetries:
    """TriggerWebhookJob's `retry_on`: every failure, 5 attempts, 10 s × the attempts made so far."""

    def retry_in(self, attempt: int, status: int | None) -> float | None:
        return 10.0 * attempt if attempt < ATTEMPTS else None

    def retry_headers(self, delivery: Delivery) -> dict[str, str]:
        return {}  # the job runs again with the same job id: the same X-Zammad-Delivery


class Webhooks:
    """Webhooks, triggers and their run, over one sandbox Zammad's store (under the server's lock)."""

    def __init__(self, store: Any):
        self.store = store
        self.webhooks: dict[int, dict] = {}
        self.triggers: dict[int, dict] = {}
        self._seen: dict[int, int] = {}  # ticket id -> history entries already run through the triggers
        self.courier = Courier(store.clock, ZammadRetries())

    # -- webhooks ---------------------------------------------------------------------------------
    def _find(self, table: dict[int, dict], rid: Any, model: str) -> dict:
        try:
            rec = table.get(int(rid))
        except (TypeError, ValueError):
            rec = None
        if rec is None:
            raise ZammadError(404, f"Couldn't find {model} with 'id'={rid}")
        return rec

    def list_webhooks(self, ctx: Any) -> list:
        return [dict(self.webhooks[i]) for i in sorted(self.webhooks)]

    def show_webhook(self, ctx: Any) -> dict:
        return dict(self._find(self.webhooks, ctx.params["id"], "Webhook"))

    def create_webhook(self, ctx: Any) -> Response:
        rec = {"id": self.store.next_id("webhooks"), "name": None, "endpoint": None, "signature_token": None,
               "ssl_verify": True, "basic_auth_username": None, "basic_auth_password": None,
               "customized_payload": False, "custom_payload": None, "pre_defined_webhook_type": None, "note": None,
               "active": True, "preferences": {}}
        self._set_webhook(rec, ctx.params, by=ctx.user["id"], creating=True)
        self.webhooks[rec["id"]] = rec
        return Response(201, dict(rec))

    def update_webhook(self, ctx: Any) -> dict:
        rec = self._find(self.webhooks, ctx.params["id"], "Webhook")
        changed = dict(rec)
        self._set_webhook(changed, ctx.params, by=ctx.user["id"], creating=False)
        rec.update(changed)
        return dict(rec)

    def delete_webhook(self, ctx: Any) -> dict:
        rec = self._find(self.webhooks, ctx.params["id"], "Webhook")
        users = [t for t in self.triggers.values() if self._webhook_id(t) == str(rec["id"])]
        if users:
            names = ", ".join(f"{t['name']} (#{t['id']})" for t in users)
            raise ZammadError(422, "This object is referenced by other object(s) and thus cannot be deleted: "
                                   f"Trigger / {names}")
        del self.webhooks[rec["id"]]
        return {}

    def _set_webhook(self, rec: dict, params: dict, *, by: int, creating: bool) -> None:
        for key in WEBHOOK_FIELDS:
            if key in params:
                rec[key] = params[key]
        if not rec.get("name"):
            raise ZammadError(422, "Name can't be blank")
        endpoint = str(rec.get("endpoint") or "")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https"):
            raise ZammadError(422, "The provided endpoint is invalid, no http or https protocol was specified.")
        if not parts.hostname:
            raise ZammadError(422, "The provided endpoint is invalid, no hostname was specified.")
        if not rec.get("customized_payload"):
            rec["custom_payload"] = None  # Webhook#reset_custom_payload
        stamp = self.store.now()
        if creating:
            rec.update(created_by_id=by, created_at=stamp)
        rec.update(updated_by_id=by, updated_at=stamp)

    # -- triggers ---------------------------------------------------------------------------------
    def list_triggers(self, ctx: Any) -> list:
        return [dict(self.triggers[i]) for i in sorted(self.triggers)]

    def show_trigger(self, ctx: Any) -> dict:
        return dict(self._find(self.triggers, ctx.params["id"], "Trigger"))

    def create_trigger(self, ctx: Any) -> Response:
        rec = {"id": self.store.next_id("triggers"), "name": None, "condition": {}, "perform": {},
               "activator": "action", "execution_condition_mode": "selective", "disable_notification": True,
               "localization": "system", "timezone": "system", "note": None, "active": True}
        self._set_trigger(rec, ctx.params, by=ctx.user["id"], creating=True)
        self.triggers[rec["id"]] = rec
        return Response(201, dict(rec))

    def update_trigger(self, ctx: Any) -> dict:
        rec = self._find(self.triggers, ctx.params["id"], "Trigger")
        changed = dict(rec)
        self._set_trigger(changed, ctx.params, by=ctx.user["id"], creating=False)
        rec.update(changed)
        return dict(rec)

    def delete_trigger(self, ctx: Any) -> dict:
        del self.triggers[self._find(self.triggers, ctx.params["id"], "Trigger")["id"]]
        return {}

    def _set_trigger(self, rec: dict, params: dict, *, by: int, creating: bool) -> None:
        for key in TRIGGER_FIELDS:
            if key in params:
                rec[key] = params[key]
        name = str(rec.get("name") or "")
        if not name:
            raise ZammadError(422, "Name can't be blank")
        if any(t["name"].lower() == name.lower() and t["id"] != rec["id"] for t in self.triggers.values()):
            raise ZammadError(422, "Name has already been taken")
        if rec.get("activator") not in ("action", "time"):
            raise ZammadError(422, "Activator is not included in the list")
        if rec.get("execution_condition_mode") not in ("selective", "always"):
            raise ZammadError(422, "Execution condition mode is not included in the list")
        self._check_condition(rec.get("condition"))
        perform = rec.get("perform")
        if not isinstance(perform, dict) or not perform:
            raise ZammadError(422, "At least one valid action needs to be selected.")
        unknown = [k for k in perform if k != "notification.webhook"]
        if unknown:
            raise ZammadError(422, f"the sandbox runs only the notification.webhook action, not {unknown}")
        if not self._webhook_id(rec):
            raise ZammadError(422, "Invalid perform notification.webhook, webhook_id is missing!")
        stamp = self.store.now()
        if creating:
            rec.update(created_by_id=by, created_at=stamp)
        rec.update(updated_by_id=by, updated_at=stamp)

    def _check_condition(self, condition: Any) -> None:
        if not isinstance(condition, dict):
            raise ZammadError(422, "condition must be an object")
        for key, rule in condition.items():
            attribute = key.removeprefix("ticket.")
            if not key.startswith("ticket.") or not isinstance(rule, dict) \
                    or (attribute != "action" and attribute not in self._columns()):
                raise ZammadError(422, f"the sandbox evaluates ticket.action and ticket columns, not {key!r}")
            if rule.get("operator") not in OPERATORS or rule.get("pre_condition", "specific") not in PRE_CONDITIONS:
                raise ZammadError(422, f"{key}: the sandbox evaluates the operators {OPERATORS} with the "
                                       f"pre-conditions {PRE_CONDITIONS}, not {rule.get('operator')!r}/"
                                       f"{rule.get('pre_condition')!r}")

    def _columns(self) -> set[str]:
        return set(TICKET_COLUMNS) | set(self.store.ticket_columns)

    @staticmethod
    def _webhook_id(trigger: dict) -> str:
        perform = trigger.get("perform") if isinstance(trigger.get("perform"), dict) else {}
        action = perform.get("notification.webhook") if isinstance(perform, dict) else None
        value = action.get("webhook_id") if isinstance(action, dict) else None
        return str(value) if value not in (None, "") else ""

    # -- the trigger run (Ticket.perform_triggers) --------------------------------------------------
    def transaction(self, ticket: dict, kind: str, by: int) -> None:
        """A request created (`create`) or changed (`update`) `ticket` as user `by`."""
        # the history written since the last run for this ticket is what this request did
        history = self.store.history.get(ticket["id"], [])
        entries = history[self._seen.get(ticket["id"], 0):]
        self._seen[ticket["id"]] = len(history)
        if not self.triggers:
            return
        changed = {h.attribute for h in entries if h.object == "Ticket" and h.type == "updated" and h.attribute}
        articles = [h.o_id for h in entries if h.object == "Ticket::Article" and h.type == "created"]
        article = self.store.articles.get(articles[-1]) if articles else None
        actor = article["updated_by_id"] if article else ticket["updated_by_id"]
        for trigger in sorted(self.triggers.values(), key=lambda t: t["name"]):
            if not trigger.get("active") or trigger.get("activator") != "action":
                continue
            if not self._matches(trigger, ticket, kind, actor, changed, article is not None):
                continue
            self._perform(trigger, ticket, article)

    def _matches(self, trigger: dict, ticket: dict, kind: str, actor: int, changed: set[str],
                 with_article: bool) -> bool:
        condition: dict = trigger.get("condition") or {}
        for key, rule in condition.items():
            attribute = key.removeprefix("ticket.")
            values = rule.get("value")
            values = [str(v) for v in (values if isinstance(values, list) else [values]) if v is not None]
            if attribute == "action":
                hit = kind in values
            else:
                pre = rule.get("pre_condition", "specific")
                current = ticket.get(attribute)
                if pre == "not_set":
                    hit = current in (None, "", 1) if attribute.endswith("_id") else current in (None, "")
                elif pre == "current_user.id":
                    hit = str(current) == str(actor)
                else:
                    hit = str(current) in values
            if (rule.get("operator") == "is") != hit:
                return False
        if trigger.get("execution_condition_mode") == "selective" and kind == "update" and not with_article:
            named = {k.removeprefix("ticket.") for k in condition}
            # history names a `*_id` attribute without the suffix (state, group, owner ...)
            if not any(a in changed or a.removesuffix("_id") in changed for a in named):
                return False
        return True

    def _perform(self, trigger: dict, ticket: dict, article: dict | None) -> None:
        webhook = self.webhooks.get(int(self._webhook_id(trigger) or 0))
        if webhook is None or not webhook.get("active"):
            # TriggerWebhookJob#abort?: "Can't find Webhook for ID … configured in Trigger …"
            log.info("sandbox.zammad.webhook-missing trigger=%s", trigger["name"])
            return
        body = json.dumps({"ticket": self.ticket_payload(ticket),
                           "article": self.article_payload(article) if article else {}},
                          ensure_ascii=False).encode("utf-8")
        job = str(uuid.uuid4())
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Zammad User Agent",
                   "X-Zammad-Trigger": trigger["name"], "X-Zammad-Delivery": job}
        token = webhook.get("signature_token")
        if token:
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(str(token).encode("utf-8"), body, hashlib.sha1).hexdigest()
        self.courier.send(Delivery(str(webhook["endpoint"]), body, headers, "trigger", job))

    # -- payloads (TriggerWebhookJob::RecordPayload) -------------------------------------------------
    def _user(self, uid: Any) -> dict:
        user = self.store.users.get(uid) if uid is not None else None
        if user is None:
            return {}
        data = self.store.user_json(user, expand=True)
        return {k: data[k] for k in sorted(data) if k not in USER_ATTRIBUTE_BLACKLIST}

    def ticket_payload(self, ticket: dict) -> dict:
        s = self.store
        data = s.ticket_json(ticket, expand=True)
        out = {k: data[k] for k in sorted(data)}
        for name, uid in (("owner", ticket["owner_id"]), ("customer", ticket["customer_id"]),
                          ("created_by", ticket["created_by_id"]), ("updated_by", ticket["updated_by_id"])):
            out[name] = self._user(uid)
        org = s.organizations.get(ticket["organization_id"]) if ticket["organization_id"] else None
        out["organization"] = dict(sorted(s.organization_json(org, expand=True).items())) if org else {}
        priority = s.priorities.get(ticket["priority_id"])
        out["priority"] = dict(sorted(s.priority_json(priority, expand=True).items())) if priority else {}
        group = s.groups.get(ticket["group_id"])
        out["group"] = dict(sorted(s.group_json(group, expand=True).items())) if group else {}
        return out

    def article_payload(self, article: dict) -> dict:
        data = self.store.article_json(article)
        out = {k: data[k] for k in sorted(data)}
        out["created_by"] = self._user(article["created_by_id"])
        out["updated_by"] = self._user(article["updated_by_id"])
        out["accounted_time"] = 0  # no time accounting in the sandbox
        return out


# -- the routes (sandbox.zammad.urls): (responses, ctx) -> answer --------------------------------------
def _hooks(r: Any) -> Webhooks:
    return r.webhooks


ROUTES = [
    ("GET", "/webhooks", lambda r, ctx: _hooks(r).list_webhooks(ctx), "admin.webhook"),
    ("POST", "/webhooks", lambda r, ctx: _hooks(r).create_webhook(ctx), "admin.webhook"),
    ("GET", r"/webhooks/(?P<id>\d+)", lambda r, ctx: _hooks(r).show_webhook(ctx), "admin.webhook"),
    ("PUT", r"/webhooks/(?P<id>\d+)", lambda r, ctx: _hooks(r).update_webhook(ctx), "admin.webhook"),
    ("DELETE", r"/webhooks/(?P<id>\d+)", lambda r, ctx: _hooks(r).delete_webhook(ctx), "admin.webhook"),
    ("GET", "/triggers", lambda r, ctx: _hooks(r).list_triggers(ctx), "admin.trigger"),
    ("POST", "/triggers", lambda r, ctx: _hooks(r).create_trigger(ctx), "admin.trigger"),
    ("GET", r"/triggers/(?P<id>\d+)", lambda r, ctx: _hooks(r).show_trigger(ctx), "admin.trigger"),
    ("PUT", r"/triggers/(?P<id>\d+)", lambda r, ctx: _hooks(r).update_trigger(ctx), "admin.trigger"),
    ("DELETE", r"/triggers/(?P<id>\d+)", lambda r, ctx: _hooks(r).delete_trigger(ctx), "admin.trigger"),
]
