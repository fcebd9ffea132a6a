"""`ZammadProvisioner`: the admin's one-time mapping of the procedure onto a Zammad system.

`plan()` reads the ticket object attributes, ticket states, priorities and groups and
says, per procedure need, what is there and what is missing. `apply()` creates it:

- object-manager attributes on Ticket — `incident_severity` (select 1–4, unless the
  admin maps severity onto priorities), `incident_category` (tree_select, the
  procedure's two-level tree), `incident_escalation_level` (select 0–3) and
  `incident_reported_at` (datetime) — then POSTs
  object_manager_attributes_execute_migrations: in Zammad an attribute is not a
  ticket column, so not usable, until the migrations ran;
- the seven procedure states, matched to existing ticket states by name (the Chinese
  and English names, `tracker.states` aliases, and Zammad's own `new`, `open` and
  `closed` for 待处理, 处理中 and 待审核), creating the missing ones.

State types, and why: Zammad's SLA (Ticket::Escalation) stops counting in states whose
`ignore_escalation` is set, and Zammad's pending types are the ones made for "waiting
on someone else". So 挂起 (waiting on a vendor) and 暂停 (waiting on the customer)
are `pending reminder` states, whose `ignore_escalation` follows the default contract's
clock for that state (the default profile keeps the clock running in 挂起 and pauses
it in 暂停); 待审核 and 已归档 are `closed` states (resolved: the clock stops); 待处理, 已派单 and 处理中 are `open`.
待处理 is not Zammad's `new` type although it means the same: the agent edit screen, which
Core Workflow applies to every API update, offers only states of type open, pending
reminder, pending action and closed (db/seeds/object_manager_attributes.rb, `state_id`
screens `edit`: `viewable_agent_edit`; app/models/concerns/checks_core_workflow.rb), so a
`new` state cannot be set on an existing ticket and an illegal move out of 待处理 could not
be put back. The escalator's own open-type 待处理 is written; Zammad's `new` stays an
alias, so a ticket that arrives in `new` still reads as 待处理. A state the escalator created and whose type
or flag drifted is put back ("update"); states that only match by alias are left alone.

Tree values are the category codes ('1', '1.2'), not Zammad's UI default of the
name path, so that renaming a category never changes what tickets hold.

Attribute payloads follow docs.zammad.org, API → Object (POST
/api/v1/object_manager_attributes) and the admin documentation on attribute types.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.preflight import Missing
from connectors.provisioning import Provisioner
from connectors.zammad.client import ZammadClient
from connectors.zammad.webhook_setup import HOOK, TRIGGER, ZammadWebhookSetup, make_setup
from mapping.fieldmap import (
    CategoryMap,
    LevelMap,
    OptionalField,
    Plan,
    PlanStep,
    SeverityMap,
    TrackerMapping,
)
from mapping.procedure import Procedure

log = logging.getLogger("escalator.zammad")

ATTRIBUTES = {
    "severity": "incident_severity",
    "category": "incident_category",
    "escalation_level": "incident_escalation_level",
    "report_time": "incident_reported_at",
}
DISPLAY = {
    "severity": "事件级别 Incident severity",
    "category": "事件分类 Incident category",
    "escalation_level": "升级级别 Escalation level",
    "report_time": "报告时间 Reported at",
}
DATA_TYPES = {"severity": "select", "category": "tree_select", "escalation_level": "select",
              "report_time": "datetime"}

#: procedure state code -> Zammad state type (see the module docstring)
STATE_TYPES = {1: "open", 2: "open", 3: "open", 4: "pending reminder", 5: "pending reminder", 6: "closed",
               7: "closed"}
#: Zammad's own states that mean a procedure state (a ticket reopened by a customer's
#: reply goes back to `open`; a new ticket starts in `new`)
ZAMMAD_ALIASES = {1: ["new"], 3: ["open"], 6: ["closed"]}
#: The state types the agent edit screen offers (Ticket::State `viewable_agent_edit`): only
#: such a state can be written to an existing ticket through the API
EDITABLE_TYPES = frozenset({"open", "pending reminder", "pending action", "closed"})

#: Agents see and edit the attributes; customers don't (docs.zammad.org, API → Object: screens)
_SCREENS = {screen: {"ticket.agent": {"shown": True, "required": False},
                     "ticket.customer": {"shown": False, "required": False}}
            for screen in ("create_middle", "edit")}


@dataclass
class _System:
    """What plan() read from Zammad."""

    attributes: dict[str, dict]  # Ticket attributes by name
    states: list[dict]
    priorities: list[dict]
    groups: list[dict]


def category_tree(procedure: Procedure) -> list[dict]:
    """The two-level category tree as tree_select options: value = category code."""
    return [{"name": f"{p.code} {p.name.zh}", "value": p.code,
             "children": [{"name": f"{c.code} {c.name.zh}", "value": c.code} for c in p.children]}
            for p in procedure.categories]


def tree_values(options: Any) -> set[str]:
    out: set[str] = set()
    for node in options or []:
        if isinstance(node, dict):
            out.add(str(node.get("value")))
            out |= tree_values(node.get("children"))
    return out


def _select_keys(options: Any) -> set[str]:
    if isinstance(options, dict):
        return {str(k) for k in options}
    if isinstance(options, list):  # Zammad also stores selects as [{value:, name:}]
        return {str(o.get("value")) for o in options if isinstance(o, dict)}
    return set()


def _pending(attribute: dict) -> bool:
    return bool(attribute.get("to_create") or attribute.get("to_migrate") or attribute.get("to_config"))


class ZammadProvisioner(Provisioner):
    tracker = "zammad"
    client: ZammadClient

    def hooks(self, groups: list[dict] | None = None) -> ZammadWebhookSetup | None:
        """The webhook and its trigger (connectors.zammad.webhook_setup); None without webhooks.public_url."""
        if self.settings.webhook is None:
            return None
        if groups is None:
            groups = self.client.groups() if self.settings.projects else []
        watched = {g["name"]: g["id"] for g in groups if g.get("name") in self.settings.projects}
        return make_setup(self.client, self.settings.webhook, watched)

    # -- reading ------------------------------------------------------------------------------------
    def _read(self) -> _System:
        attributes = {a["name"]: a for a in self.client.attributes() if a.get("object") in (None, "Ticket")}
        return _System(attributes=attributes, states=self.client.states(), priorities=self.client.priorities(),
                       groups=self.client.groups() if self.settings.projects else [])

    def _specs(self) -> dict[str, dict]:
        """The attributes the procedure needs, as POST /object_manager_attributes payloads."""
        select = {"default": "", "null": True, "nulloption": True, "maxlength": 255, "multiple": False,
                  "translate": False}
        options = {
            "severity": {**select, "options": {str(k): v for k, v in self.names["severity"].items()}},
            "escalation_level": {**select, "options": {str(k): v for k, v in self.names["escalation_level"].items()}},
            "category": {**select, "options": category_tree(self.procedure)},
            # diff null: no default. With a number Zammad fills the attribute on every new ticket
            # with now + diff hours (ObjectManager::Attribute::SetDefaults#build_value_datetime,
            # app/models/object_manager/attribute/set_defaults.rb), so a missing report time
            # would never show as missing
            "report_time": {"future": True, "past": True, "diff": None, "null": True},
        }
        del options["category"]["multiple"]
        specs = {}
        for n, (term, name) in enumerate(ATTRIBUTES.items()):
            specs[term] = {"name": name, "object": "Ticket", "display": DISPLAY[term], "active": True,
                           "position": 1500 + 10 * n, "data_type": DATA_TYPES[term],
                           "data_option": options[term], "screens": _SCREENS}
        return specs

    # -- plan -----------------------------------------------------------------------------------------
    def plan(self) -> Plan:
        system = self._read()
        steps: list[PlanStep] = []
        steps += self._group_steps(system)
        specs = self._specs()
        terms = [t for t in ATTRIBUTES if not (t == "severity" and self.settings.severity_source == "priority")]
        attribute_steps = [self._attribute_step(term, specs[term], system) for term in terms]
        steps += attribute_steps
        waiting = [a for t in terms if (a := system.attributes.get(ATTRIBUTES[t])) and _pending(a)]
        needed = any(s.status in ("create", "update") for s in attribute_steps) or bool(waiting)
        steps.append(PlanStep(term="migrations", status="update" if needed else "ok",
                              detail="run the object manager migrations (makes the attributes usable on tickets)"
                              if needed else "object manager migrations done"))
        if self.settings.severity_source == "priority":
            steps += self._priority_steps(system)
        steps += self._state_steps(system)
        hooks = self.hooks(system.groups)
        if hooks is not None:
            steps += hooks.plan_steps()
        return Plan(tracker="zammad", base_url=self.base_url, steps=steps)

    def _group_steps(self, system: _System) -> list[PlanStep]:
        if not self.settings.projects:
            return []
        names = {g.get("name") for g in system.groups}
        missing = [p for p in self.settings.projects if p not in names]
        return [PlanStep(term="projects", status="manual" if missing else "ok",
                         detail=(f"group(s) {', '.join(missing)} not found: create them or fix tracker.projects"
                                 if missing else f"groups {', '.join(self.settings.projects)}"))]

    def _attribute_step(self, term: str, spec: dict, system: _System) -> PlanStep:
        name, kind = spec["name"], spec["data_type"]
        found = system.attributes.get(name)
        if found is None:
            return PlanStep(term=term, status="create", detail=f"{kind} attribute {name!r}", payload=spec)
        if found.get("data_type") != kind:
            return PlanStep(term=term, status="manual",
                            detail=f"attribute {name!r} is a {found.get('data_type')}, the procedure needs a {kind}: "
                                   "Zammad cannot change a type, remove or rename it", payload={})
        option = found.get("data_option") or {}
        if kind == "select":
            missing = sorted(_select_keys(spec["data_option"]["options"]) - _select_keys(option.get("options")))
        elif kind == "tree_select":
            missing = sorted(tree_values(spec["data_option"]["options"]) - tree_values(option.get("options")))
        else:
            missing = []
        if kind == "datetime" and option.get("diff") is not None:
            # an earlier version created it with diff 0: every new ticket got "now" as its value
            return PlanStep(term=term, status="update",
                            detail=f"{kind} attribute {name!r}: no default value (diff {option.get('diff')} "
                                   "fills every new ticket with the time it was created)",
                            payload={"id": found["id"], **spec, "data_option": {**option, "diff": None}})
        if missing:
            merged = dict(spec)
            merged["data_option"] = self._merged_options(kind, spec["data_option"], option)
            return PlanStep(term=term, status="update",
                            detail=f"{kind} attribute {name!r}: add option(s) {', '.join(missing)}",
                            payload={"id": found["id"], **merged})
        suffix = " (waiting for the migrations)" if _pending(found) else ""
        return PlanStep(term=term, status="ok", detail=f"{kind} attribute {name!r}{suffix}",
                        payload={"id": found["id"]})

    @staticmethod
    def _merged_options(kind: str, wanted: dict, current: dict) -> dict:
        """Keep the admin's extra options; add the procedure's."""
        merged = {**current, **{k: v for k, v in wanted.items() if k != "options"}}
        if kind == "select":
            have = current.get("options") or {}
            if isinstance(have, list):
                have = {str(o.get("value")): o.get("name") for o in have if isinstance(o, dict)}
            merged["options"] = {**wanted["options"], **{str(k): v for k, v in have.items()}}
        else:
            merged["options"] = _merge_tree(current.get("options") or [], wanted["options"])
        return merged

    def _priority_steps(self, system: _System) -> list[PlanStep]:
        by_name = {p.get("name"): p for p in system.priorities}
        steps = []
        for sev, name in sorted(self.settings.severity_priorities.items()):
            if name in by_name:
                steps.append(PlanStep(term=f"severity:{sev}", status="ok",
                                      detail=f"priority {name!r} ({by_name[name]['id']})",
                                      payload={"id": by_name[name]["id"]}))
            else:
                steps.append(PlanStep(term=f"severity:{sev}", status="create", detail=f"priority {name!r}",
                                      payload={"name": name}))
        return steps

    def _state_steps(self, system: _System) -> list[PlanStep]:
        type_ids = {s.get("state_type"): s.get("state_type_id") for s in system.states if s.get("state_type")}
        by_name: dict[str, dict] = {}
        for s in system.states:
            by_name.setdefault(str(s.get("name", "")).strip().lower(), s)
        contract = self.procedure.contract(None)
        steps = []
        for state in sorted(self.procedure.states, key=lambda s: s.code):
            names = [state.name.zh, state.name.en, *self.settings.state_aliases.get(state.code, []),
                     *ZAMMAD_ALIASES.get(state.code, [])]
            matches: list[dict] = []
            for n in names:
                found = by_name.get(n.strip().lower())
                if found and found not in matches:
                    matches.append(found)
            wanted_type = STATE_TYPES[state.code]
            ignore = self.procedure.clock_mode(contract, state.code) != "running"
            spec: dict[str, Any] = {"name": state.name.zh, "state_type": wanted_type, "ignore_escalation": ignore,
                                    "active": True, "default_create": False, "default_follow_up": False,
                                    "note": f"incident-escalator: {state.name.zh} {state.name.en} (§1.3)"}
            if type_ids.get(wanted_type) is not None:
                spec["state_type_id"] = type_ids[wanted_type]
            term = f"state:{state.code}"
            if not matches:
                steps.append(PlanStep(term=term, status="create",
                                      detail=f"{state.name.zh} {state.name.en}: new {wanted_type!r} state", payload=spec))
                continue
            own = by_name.get(state.name.zh.strip().lower())
            ids = [str(m["id"]) for m in matches]
            if own is None and not any(m.get("state_type") in EDITABLE_TYPES for m in matches):
                # only states the edit screen refuses (Zammad's `new`): they stay aliases to read,
                # and the escalator's own state is the one it writes
                steps.append(PlanStep(term=term, status="create",
                                      detail=f"{state.name.zh} {state.name.en}: new {wanted_type!r} state "
                                             f"({', '.join(repr(m.get('name')) for m in matches)} cannot be set "
                                             "on an existing ticket)", payload=spec))
                continue
            if own is not None and (own.get("state_type", wanted_type) != wanted_type
                                    or bool(own.get("ignore_escalation", ignore)) != ignore):
                fix = {k: v for k, v in spec.items() if k in ("state_type", "state_type_id", "ignore_escalation")}
                steps.append(PlanStep(term=term, status="update",
                                      detail=f"{state.name.zh}: make it a {wanted_type!r} state, "
                                             f"ignore_escalation {str(ignore).lower()}",
                                      payload={"id": own["id"], "ids": ids, **fix}))
                continue
            steps.append(PlanStep(term=term, status="ok",
                                  detail=f"{state.name.zh} {state.name.en} → "
                                         + ", ".join(repr(m.get("name")) for m in matches),
                                  payload={"ids": ids}))
        return steps

    # -- apply ------------------------------------------------------------------------------------------
    def apply(self, plan: Plan, progress: Callable[[PlanStep], None] | None = None) -> tuple[TrackerMapping, list[str]]:
        lines: list[str] = []
        hooks, made = self.hooks(), {}  # made: the id of a webhook created now, for its trigger
        for step in plan.changes:
            line = hooks.apply(step, made) if step.term in (HOOK, TRIGGER) and hooks is not None else self._do(step)
            lines.append(line)
            log.info("zammad.provisioned", extra={"event": "zammad.provisioned", "term": step.term, "change": line})
            if progress:
                progress(step)
        after = self.plan()
        return self._mapping(after), lines

    def _do(self, step: PlanStep) -> str:
        payload = dict(step.payload)
        if step.term == "migrations":
            self.client.execute_migrations()
            return "ran the object manager migrations"
        if step.term in ATTRIBUTES:
            if step.status == "create":
                self.client.create_attribute(payload)
                return f"created {payload['data_type']} attribute {payload['name']!r}"
            attribute_id = payload.pop("id")
            self.client.update_attribute(attribute_id, payload)
            if payload["data_type"] == "datetime":
                return f"removed the default value of attribute {payload['name']!r}"
            return f"updated the options of attribute {payload['name']!r}"
        if step.term.startswith("severity:"):
            created = self.client.create_priority(payload["name"])
            return f"created priority {payload['name']!r} ({created.get('id')})"
        if step.term.startswith("state:"):
            if step.status == "create":
                created = self.client.create_state(payload)
                return f"created {payload['state_type']!r} state {payload['name']!r} ({created.get('id')})"
            state_id = payload.pop("id")
            payload.pop("ids", None)
            self.client.update_state(state_id, payload)
            return f"set state {state_id} to type {payload['state_type']!r}, ignore_escalation " \
                   f"{str(payload['ignore_escalation']).lower()}"
        raise ValueError(f"zammad: no way to apply plan step {step.term!r}")  # a plan from another tracker

    def _mapping(self, plan: Plan) -> TrackerMapping:
        """The mapping file's content, from a plan read after the changes."""
        steps = {s.term: s for s in plan.steps}
        if self.settings.severity_source == "priority":
            values = {sev: str(step.payload["id"]) for sev in sorted(self.settings.severity_priorities)
                      if (step := steps.get(f"severity:{sev}")) and step.payload.get("id") is not None}
            severity = SeverityMap(source="priority", field=None, values=values)
        else:
            severity = SeverityMap(source="field", field=ATTRIBUTES["severity"],
                                   values={s: str(s) for s in self.names["severity"]})
        codes = [c.code for c in self.procedure.all_categories()]
        states = {int(t.split(":")[1]): list(s.payload.get("ids") or []) for t, s in steps.items()
                  if t.startswith("state:") and s.payload.get("ids")}
        return TrackerMapping(
            tracker="zammad", base_url=self.base_url, projects=list(self.settings.projects), severity=severity,
            category=CategoryMap(field=ATTRIBUTES["category"], values={c: c for c in codes}),
            escalation_level=LevelMap(field=ATTRIBUTES["escalation_level"],
                                      values={n: str(n) for n in self.names["escalation_level"]}),
            report_time=OptionalField(field=ATTRIBUTES["report_time"]),
            states=states,
            webhook=hooks.record(plan.steps) if (hooks := self.hooks()) is not None else None,
        )

    # -- preflight ------------------------------------------------------------------------------------
    def preflight(self, mapping: TrackerMapping) -> list[Missing]:
        """The token user's access to each mapped group, from GET /users/me (`group_ids`: group
        id -> access list). Zammad's TicketPolicy asks `read` to show a ticket and `change` to
        update it or add an article (app/policies/ticket_policy.rb); `full` holds both."""
        me = self.client.me()
        access = {str(k): set(v or []) for k, v in (me.get("group_ids") or {}).items()}
        groups = {g.get("name"): str(g.get("id")) for g in self.client.groups()}
        missing: list[Missing] = []
        for name in mapping.projects or list(self.settings.projects):
            held = access.get(groups.get(name, ""), set())
            if "full" in held:
                continue
            if "read" not in held:
                missing.append(Missing("group access 'read'", f"group {name}",
                                       "the escalator cannot read the group's tickets: none of them is watched",
                                       True))
            if "change" not in held:
                missing.append(Missing("group access 'change'", f"group {name}",
                                       "no note, level or state can be written on the group's tickets", True))
        return missing

    # -- check ------------------------------------------------------------------------------------------
    def check(self, mapping: TrackerMapping) -> list[str]:
        system = self._read()
        drift: list[str] = []
        attributes = system.attributes
        checks: list[tuple[str, str | None, str, set[str]]] = []
        if mapping.severity.source == "field":
            checks.append(("severity", mapping.severity.field, "select",
                           {str(v) for v in mapping.severity.values.values()}))
        checks.append(("category", mapping.category.field, "tree_select",
                       {str(v) for v in mapping.category.values.values()}))
        checks.append(("escalation_level", mapping.escalation_level.field, "select",
                       {str(v) for v in mapping.escalation_level.values.values()}))
        for term, name, kind, values in checks:
            found = attributes.get(name or "")
            if found is None:
                drift.append(f"{term}: attribute {name!r} is gone")
                continue
            if found.get("data_type") != kind:
                drift.append(f"{term}: attribute {name!r} is a {found.get('data_type')}, not a {kind}")
                continue
            options = (found.get("data_option") or {}).get("options")
            have = tree_values(options) if kind == "tree_select" else _select_keys(options)
            for value in sorted(values - have):
                drift.append(f"{term}: option {value!r} of attribute {name!r} is gone")
            if _pending(found):
                drift.append(f"{term}: attribute {name!r} waits for the object manager migrations")
            if found.get("active") is False:
                drift.append(f"{term}: attribute {name!r} is inactive")
        for term, opt in (("report_time", mapping.report_time), ("occurred_at", mapping.occurred_at),
                          ("affected_ci", mapping.affected_ci), ("root_cause_unknown", mapping.root_cause_unknown),
                          ("contract", mapping.contract)):
            if opt.field and opt.field not in attributes:
                drift.append(f"{term}: attribute {opt.field!r} is gone")
        if mapping.severity.source == "priority":
            ids = {str(p["id"]): p for p in system.priorities}
            for sev, pid in sorted(mapping.severity.values.items()):
                if str(pid) not in ids:
                    drift.append(f"severity {sev}: priority id {pid} is gone")
        states = {str(s["id"]): s for s in system.states}
        for code in sorted(self.procedure.states, key=lambda s: s.code):
            ids = mapping.states.get(code.code) or []
            if not ids:
                drift.append(f"state {code.code} ({code.name.zh}): mapped to no ticket state")
            for sid in ids:
                if str(sid) not in states:
                    drift.append(f"state {code.code} ({code.name.zh}): ticket state id {sid} is gone")
                elif states[str(sid)].get("active") is False:
                    drift.append(f"state {code.code} ({code.name.zh}): ticket state "
                                 f"{states[str(sid)].get('name')!r} is inactive")
        if mapping.projects:
            groups = {g.get("name") for g in self.client.groups()}
            drift += [f"projects: group {p!r} is gone" for p in mapping.projects if p not in groups]
        hooks = self.hooks(system.groups)
        if hooks is not None:
            drift += hooks.check(mapping.webhook)
        return drift


def _merge_tree(have: list[dict], wanted: list[dict]) -> list[dict]:
    out = [dict(n) for n in have]
    index = {str(n.get("value")): n for n in out}
    for node in wanted:
        existing = index.get(str(node["value"]))
        if existing is None:
            out.append(node)
        else:
            existing["children"] = _merge_tree(existing.get("children") or [], node.get("children") or [])
    return out
