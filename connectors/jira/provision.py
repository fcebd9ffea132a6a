"""`JiraProvisioner`: the admin's one-time mapping of the procedure onto a Jira site.

`plan()` reads fields, priorities, statuses, projects and issue types and says, per
procedure need, what is there and what is missing. `apply()` creates what the plan
says is missing - a custom field with its searcher, a context, its options (a
cascading select gets its parents first, then the children with their parent's
`optionId`) - and returns the mapping file's content. A second plan finds everything
and creates nothing. `check()` compares a mapping file with the live site.

The context: Jira gives every new custom field a global default context ("Default
Configuration Scheme for …"), and `apply()` puts the options into that one rather than
adding a second, project-scoped context. A global context is what a field created in
the UI gets too, and it is not what limits the escalator to the mapped projects and
issue types: the connector's JQL does that. Only a field found with no context at all
gets one created, scoped to the mapped projects and issue types.

Nothing in a workflow is changed: a procedure state with no status of that name in a
project's workflow is a "manual" step telling the admin what to add. Data Center's REST
API creates custom fields (POST /rest/api/2/field with `type` and `searcherKey`, which
leaves the field with its global default context) but has no resource that creates
options, so on Data Center `apply()` creates the missing fields and the options are
manual steps naming each option to add.

Screens: Jira sets a field through `PUT /issue/{key}` only when it is on the issue's edit
screen, else 400 "Field 'customfield_10000' cannot be set. It is not on the appropriate
screen, or unknown." (as live Cloud answers it: github.com/tenable/integration-jira-cloud/issues/37),
and `POST /field` puts a new field on no screen. So `plan()` checks, per watched project,
that the severity, category and escalation-level fields are on the edit screen of every
mapped issue type. On Cloud it follows the project's issue type screen scheme to the
screen schemes and their edit screens (`edit`, else `default`) - GET
/rest/api/3/issuetypescreenscheme/project, .../mapping, /screenscheme, /screens/{id}/tabs,
/screens/{id}/tabs/{tabId}/fields in the v3 spec - and `apply()` adds a missing field to
the screen's first tab (POST .../tabs/{tabId}/fields). Data Center's REST API has the
screen, tab and tab-field resources but none from a project to its screen schemes, so
there the plan reads the edit screen off the newest issue's editmeta (what PUT /issue
obeys) and a missing field is a manual step; a project with no issue yet cannot be
checked, which the plan says.

Field types and searchers: "Custom field types and searchers" in the v3 reference
(POST /rest/api/3/field, `CustomFieldDefinitionJsonBean`); the v2 resource takes the
same bean on Data Center (docs.atlassian.com/software/jira/docs/api/REST/, api/2/field
"Creates a custom field using a definition").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.http import TrackerError
from connectors.jira.client import JiraClient, JiraCloudClient
from connectors.jira.webhook_setup import JiraWebhookSetup, make_setup
from connectors.preflight import Missing
from connectors.provisioning import Provisioner
from mapping.fieldmap import (
    CategoryMap,
    LevelMap,
    OptionalField,
    Plan,
    PlanStep,
    SeverityMap,
    TrackerMapping,
)

log = logging.getLogger("escalator.jira")

_CF = "com.atlassian.jira.plugin.system.customfieldtypes:"
SELECT = _CF + "select"
SELECT_SEARCHER = _CF + "multiselectsearcher"
CASCADE = _CF + "cascadingselect"
CASCADE_SEARCHER = _CF + "cascadingselectsearcher"
DATETIME = _CF + "datetime"

FIELD_NAMES = {
    "severity": "Incident severity 事件级别",
    "category": "Incident category 事件分类",
    "escalation_level": "Escalation level 升级级别",
}
#: optional record fields: found by name (and type, where it matters), never created
OPTIONAL_FIELDS: dict[str, tuple[str, str | None, str]] = {
    "report_time": ("Reported at 报告时间", DATETIME, "the issue's `created`"),
    "occurred_at": ("Occurred at 发生时间", DATETIME, "not recorded (§4.1.4 will report it missing)"),
    "affected_ci": ("Affected CI 受影响配置项", None, "not recorded (§4.1.4 will report it missing)"),
    "contract": ("Contract 合同", None, "the config's contract rules by organisation / project"),
    "root_cause_unknown": ("Root cause unknown 根因未知", None, "not recorded"),
    # §1.3, §4.2.2: the support group a category routes to; a select, a team field, any field by
    # this name (or `components`, written into the mapping file by hand). Its history is the
    # first-line KPI's (§7.1.1.5), which without it says it cannot be computed
    "support_group": ("Support group 支持组", None, "not recorded: the first-line share cannot be computed"),
}
CONTEXT_NAME = "Incident escalator"
#: Data Center: POST /rest/api/2/field creates a field, but no REST resource creates options
DC_OPTIONS_BY_HAND = ("Jira Data Center's REST API cannot create options: add them under Administration → "
                      "Issues → Custom fields → Configure → Edit Options")
_CASCADE_HINT = "; each 'n.m' option goes under its parent 'n'"


@dataclass
class _Site:
    """What plan() read from the site."""

    fields: list[dict]
    projects: list[dict]
    issue_types: list[dict]
    statuses_by_project: dict[str, list[dict]]  # project key ('' = all) -> statuses


#: the project permissions the escalator uses -> (what breaks without it, does that stop it)
PERMISSIONS: dict[str, tuple[str, bool]] = {
    "BROWSE_PROJECTS": ("the escalator cannot read the project's issues: none of them is watched", True),
    "ADD_COMMENTS": ("no note can be written: escalations, flags and put-backs are not recorded on the "
                     "issues", True),
    "EDIT_ISSUES": ("the escalation level cannot be set and a lowered severity cannot be put back; the note "
                    "says so", False),
    "TRANSITION_ISSUES": ("an illegal status change cannot be put back; it is flagged in a note instead",
                          False),
}


class JiraProvisioner(Provisioner):
    tracker = "jira"
    client: JiraClient

    @property
    def cloud(self) -> bool:
        return isinstance(self.client, JiraCloudClient)

    @property
    def hooks(self) -> JiraWebhookSetup | None:
        """The admin webhook (connectors.jira.webhook_setup); None when webhooks.public_url is not set."""
        return make_setup(self.client, self.settings.webhook, self.settings.projects, cloud=self.cloud)

    # -- reading the site ---------------------------------------------------------------------
    def _read(self) -> _Site:
        projects = self.client.projects(self.settings.projects) if self.settings.projects else []
        statuses: dict[str, list[dict]] = {}
        for project in projects:
            seen: dict[str, dict] = {}
            for issue_type in self.client.project_statuses(project["key"]):
                if self.settings.issue_types and issue_type.get("name") not in self.settings.issue_types:
                    continue
                for status in issue_type.get("statuses") or []:
                    seen[str(status["id"])] = status
            statuses[project["key"]] = list(seen.values())
        if not projects:
            statuses[""] = self.client.statuses()
        return _Site(fields=self.client.fields(), projects=projects,
                     issue_types=self.client.issue_types() if self.settings.issue_types else [],
                     statuses_by_project=statuses)

    def _options(self, field_id: str) -> tuple[str | None, list[dict]]:
        """(context id, options) of a select field; Cloud reads its first context."""
        if isinstance(self.client, JiraCloudClient):
            contexts = self.client.field_contexts(field_id)
            if not contexts:
                return None, []
            context = str(contexts[0]["id"])
            return context, self.client.context_options(field_id, context)
        return "", self.client.field_options(field_id)  # type: ignore[union-attr]

    # -- plan -----------------------------------------------------------------------------------
    def plan(self) -> Plan:
        site = self._read()
        steps: list[PlanStep] = []
        steps += self._scope_steps(site)
        if self.settings.severity_source == "priority":
            steps.append(self._priority_step())
        else:
            steps.append(self._select_step("severity", site, SELECT, SELECT_SEARCHER))
        steps.append(self._select_step("category", site, CASCADE, CASCADE_SEARCHER))
        steps.append(self._select_step("escalation_level", site, SELECT, SELECT_SEARCHER))
        steps += self._screen_steps(site, {s.term: s.payload for s in steps})
        steps += self._optional_steps(site)
        steps += self._state_steps(site)
        if self.hooks is not None:
            steps += self.hooks.plan_steps()
        return Plan(tracker="jira", base_url=self.base_url, steps=steps)

    # -- screens --------------------------------------------------------------------------------
    def _screen_terms(self) -> list[str]:
        """The fields the daemon writes with PUT /issue (severity only when it is a field)."""
        return [t for t in ("severity", "category", "escalation_level")
                if t != "severity" or self.settings.severity_source != "priority"]

    def _type_ids(self, site: _Site, project: dict) -> list[str]:
        wanted = {str(t["id"]) for t in site.issue_types if t.get("name") in self.settings.issue_types}
        ids = [str(t["id"]) for t in project.get("issueTypes") or []]
        return [t for t in ids if not wanted or t in wanted] or sorted(wanted)

    def _edit_screens(self, project: dict, type_ids: list[str]) -> list[dict]:
        """Cloud: the edit screens of a project's issue types, each {id, name, tabs: [{id, name}],
        fields: set}; [] for a project without an issue type screen scheme (team-managed)."""
        client = self.client
        assert isinstance(client, JiraCloudClient)
        pid = str(project["id"])
        itss = [v["issueTypeScreenScheme"]["id"] for v in client.project_issue_type_screen_schemes([pid])
                if pid in [str(p) for p in v.get("projectIds") or []]]
        if not itss:
            return []
        items = {str(i["issueTypeId"]): str(i["screenSchemeId"])
                 for i in client.issue_type_screen_scheme_items([str(itss[0])])
                 if str(i.get("issueTypeScreenSchemeId")) == str(itss[0])}
        scheme_ids = list(dict.fromkeys(items.get(t) or items.get("default") for t in (type_ids or ["default"])))
        scheme_ids = [i for i in scheme_ids if i]
        screen_ids: list[str] = []
        for scheme in client.screen_schemes(scheme_ids) if scheme_ids else []:
            screens = scheme.get("screens") or {}
            # an operation without a screen of its own uses the scheme's default screen
            sid = str(screens.get("edit") or screens.get("default"))
            if str(scheme.get("id")) in scheme_ids and sid not in screen_ids:
                screen_ids.append(sid)
        names = {str(x["id"]): x.get("name") for x in client.screens(screen_ids)} if screen_ids else {}
        out = []
        for sid in screen_ids:
            tabs = client.screen_tabs(sid)
            fields = {str(f["id"]) for t in tabs for f in client.tab_fields(sid, str(t["id"]))}
            out.append({"id": sid, "name": names.get(sid) or f"screen {sid}", "tabs": tabs, "fields": fields})
        return out

    def _screen_steps(self, site: _Site, by_term: dict[str, dict]) -> list[PlanStep]:
        steps: list[PlanStep] = []
        terms = self._screen_terms()
        for project in site.projects:
            key = project["key"]
            if self.cloud:
                screens = self._edit_screens(project, self._type_ids(site, project))
                if not screens:
                    steps.append(PlanStep(term=f"screen:{key}", status="manual", payload={}, detail=(
                        f"project {key} has no issue type screen scheme (a team-managed project?): add the "
                        f"fields {', '.join(repr(FIELD_NAMES[t]) for t in terms)} to its issue types by hand")))
                    continue
                steps += self._cloud_screen_steps(key, screens, terms, by_term)
            else:
                steps += self._dc_screen_steps(key, terms, by_term)
        return steps

    def _cloud_screen_steps(self, key: str, screens: list[dict], terms: list[str],
                            by_term: dict[str, dict]) -> list[PlanStep]:
        steps = []
        for term in terms:
            fid = (by_term.get(term) or {}).get("field")
            missing = [x for x in screens if fid is None or fid not in x["fields"]]
            if not missing:
                continue
            if any(not x["tabs"] for x in missing):
                names = ", ".join(repr(x["name"]) for x in missing if not x["tabs"])
                steps.append(PlanStep(term=f"screen:{key}:{term}", status="manual", payload={}, detail=(
                    f"screen(s) {names} of project {key} have no tab: add one, then put "
                    f"{FIELD_NAMES[term]!r} on it")))
                continue
            shown = ", ".join(f"{x['name']!r} ({x['id']}), tab {x['tabs'][0].get('name')!r}" for x in missing)
            what = f"field {FIELD_NAMES[term]!r} ({fid})" if fid else f"the new field {FIELD_NAMES[term]!r}"
            steps.append(PlanStep(
                term=f"screen:{key}:{term}", status="update",
                detail=f"put {what} on the edit screen of project {key}: {shown}",
                payload={"project": key, "term": term, "field": fid,
                         "problem": f"{what} is not on the edit screen of project {key}: {shown}",
                         "screens": [{"id": x["id"], "name": x["name"], "tab": str(x["tabs"][0]["id"]),
                                      "tab_name": x["tabs"][0].get("name")} for x in missing]}))
        if not steps:
            names = ", ".join(f"{x['name']!r} ({x['id']})" for x in screens)
            steps.append(PlanStep(term=f"screen:{key}", status="ok", payload={},
                                  detail=f"{', '.join(terms)} on the edit screen of project {key}: {names}"))
        return steps

    def _dc_screen_steps(self, key: str, terms: list[str], by_term: dict[str, dict]) -> list[PlanStep]:
        how = (f"Project settings → Screens of {key}, the screen of the 'Edit issue' operation; Jira Data "
               "Center's REST API cannot add a field to a project's screen (it has no resource from a project "
               "to its screens)")
        fids = {t: (by_term.get(t) or {}).get("field") for t in terms}
        new = [t for t in terms if not fids[t]]
        steps = [PlanStep(term=f"screen:{key}:{t}", status="manual", payload={},
                          detail=f"once created, put {FIELD_NAMES[t]!r} on the edit screen of project {key} ({how})")
                 for t in new]
        known = [t for t in terms if fids[t]]
        if not known:
            return steps
        issues = self.client.search(f'project = "{key}" ORDER BY created DESC', ["summary"], 1).get("issues") or []
        if not issues:
            steps.append(PlanStep(term=f"screen:{key}", status="ok", payload={}, detail=(
                f"not checked: project {key} has no issue yet to read its edit screen from; make sure "
                f"{', '.join(repr(FIELD_NAMES[t]) for t in known)} are on it ({how})")))
            return steps
        sample = issues[0]["key"]
        on_screen = self.client.editmeta(sample)
        for t in known:
            if fids[t] not in on_screen:
                problem = (f"field {FIELD_NAMES[t]!r} ({fids[t]}) is not on the edit screen of project {key} "
                           f"(not in the editmeta of {sample})")
                steps.append(PlanStep(term=f"screen:{key}:{t}", status="manual", payload={"problem": problem},
                                      detail=f"put field {FIELD_NAMES[t]!r} ({fids[t]}) on the edit screen of "
                                             f"project {key} (not in the editmeta of {sample}): {how}"))
        if not steps:
            steps.append(PlanStep(term=f"screen:{key}", status="ok", payload={}, detail=(
                f"{', '.join(known)} on the edit screen of project {key} (editmeta of {sample})")))
        return steps

    def _scope_steps(self, site: _Site) -> list[PlanStep]:
        steps = []
        if self.settings.projects:
            found = {p["key"]: str(p["id"]) for p in site.projects}
            missing = [k for k in self.settings.projects if k not in found]
            steps.append(PlanStep(
                term="projects", status="manual" if missing else "ok",
                detail=(f"project(s) {', '.join(missing)} not found: fix tracker.projects" if missing
                        else f"projects {', '.join(self.settings.projects)}"),
                payload={"keys": [k for k in self.settings.projects if k in found], "ids": list(found.values())}))
        if self.settings.issue_types:
            by_name = {t.get("name"): str(t["id"]) for t in site.issue_types}
            missing = [n for n in self.settings.issue_types if n not in by_name]
            steps.append(PlanStep(
                term="issue_types", status="manual" if missing else "ok",
                detail=(f"issue type(s) {', '.join(missing)} not found: fix tracker.issue_types" if missing
                        else f"issue types {', '.join(self.settings.issue_types)}"),
                payload={"ids": [by_name[n] for n in self.settings.issue_types if n in by_name]}))
        return steps

    def _priority_step(self) -> PlanStep:
        by_name = {p.get("name"): str(p["id"]) for p in self.client.priorities()}
        values = {sev: by_name.get(name) for sev, name in sorted(self.settings.severity_priorities.items())}
        missing = [f"{sev}: {self.settings.severity_priorities[sev]!r}" for sev, pid in values.items() if not pid]
        if missing:
            return PlanStep(term="severity", status="manual",
                            detail=f"priorities not found ({'; '.join(missing)}): create them or fix "
                                   "tracker.severity_priorities", payload={})
        return PlanStep(term="severity", status="ok",
                        detail="on priorities " + ", ".join(f"{s}={n}" for s, n in
                                                           sorted(self.settings.severity_priorities.items())),
                        payload={"source": "priority", "values": values})

    def _select_step(self, term: str, site: _Site, type_: str, searcher: str) -> PlanStep:
        name = FIELD_NAMES[term]
        wanted = self.names[term]
        found = [f for f in site.fields if f.get("name") == name and (f.get("schema") or {}).get("custom") == type_]
        payload: dict[str, Any] = {"name": name, "type": type_, "searcher": searcher, "field": None,
                                   "context": None, "values": {}, "missing": dict(wanted)}
        if found:
            payload["field"] = str(found[0]["id"])
            context, options = self._options(payload["field"])
            payload["context"] = context
            payload["values"], payload["missing"] = _match_options(wanted, options)
        kind = "cascading select" if type_ == CASCADE else "select"
        clashing = [f for f in site.fields if f.get("name") == name and f not in found]
        if clashing and not found:
            other = (clashing[0].get("schema") or {}).get("custom") or (clashing[0].get("schema") or {}).get("type")
            return PlanStep(term=term, status="manual", payload=payload,
                            detail=f"a field named {name!r} ({clashing[0].get('id')}) exists with type {other}, "
                                   f"not a {kind}: rename or remove it, then plan again")
        if not payload["missing"] and payload["context"] is not None:
            return PlanStep(term=term, status="ok", detail=f"{kind} field {name!r} ({payload['field']}) with "
                                                           f"{len(wanted)} options", payload=payload)
        missing_list = ", ".join(repr(v) for v in payload["missing"].values())
        if not self.cloud:
            by_hand = f"{missing_list}{_CASCADE_HINT if type_ == CASCADE else ''} ({DC_OPTIONS_BY_HAND})"
            if found:
                return PlanStep(term=term, status="manual", payload=payload,
                                detail=f"add to {kind} field {name!r} ({payload['field']}) the options: {by_hand}")
            return PlanStep(term=term, status="create", payload=payload,
                            detail=f"create {kind} field {name!r} (searcher {searcher.removeprefix(_CF)}); "
                                   f"then add its {len(payload['missing'])} options by hand: {by_hand}")
        if not found:
            return PlanStep(term=term, status="create", payload=payload,
                            detail=f"create {kind} field {name!r} with its context and {len(wanted)} options")
        parts = []
        if payload["context"] is None:
            parts.append("a context")
        if payload["missing"]:
            parts.append(f"{len(payload['missing'])} option(s): {missing_list}")
        return PlanStep(term=term, status="update", payload=payload,
                        detail=f"add to field {name!r} ({payload['field']}) " + " and ".join(parts))

    def _optional_steps(self, site: _Site) -> list[PlanStep]:
        steps = []
        for term, (name, type_, otherwise) in OPTIONAL_FIELDS.items():
            found = [f for f in site.fields if f.get("name") == name
                     and (type_ is None or (f.get("schema") or {}).get("custom") == type_)]
            if found:
                steps.append(PlanStep(term=term, status="ok", payload={"field": str(found[0]["id"])},
                                      detail=f"field {name!r} ({found[0]['id']})"))
            else:
                kind = "a date-time field" if type_ == DATETIME else "a field"
                steps.append(PlanStep(term=term, status="ok", payload={"field": None},
                                      detail=f"{otherwise} (optional: {kind} named {name!r} takes over)"))
        return steps

    def _aliases(self, code: int) -> list[str]:
        state = self.procedure.state(code)
        names = [state.name.zh, state.name.en, *self.settings.state_aliases.get(code, [])]
        return list(dict.fromkeys(names))

    def _state_steps(self, site: _Site) -> list[PlanStep]:
        steps = []
        taken: dict[str, int] = {}  # status id -> the state it already means
        for state in self.procedure.states:
            aliases = self._aliases(state.code)
            wanted = {a.casefold() for a in aliases}
            ids: list[str] = []
            lacking: list[str] = []
            for project, statuses in site.statuses_by_project.items():
                matched = [str(s["id"]) for s in statuses if str(s.get("name", "")).casefold() in wanted]
                if matched:
                    ids += [i for i in matched if i not in ids]
                else:
                    lacking.append(project or "the site")
            term = f"state:{state.code}"
            label = f"{state.code} {state.name.zh} ({state.name.en})"
            clash = [i for i in ids if i in taken]
            if clash:
                shown = ", ".join(f"{i} (already state {taken[i]})" for i in clash)
                steps.append(PlanStep(
                    term=term, status="manual", payload={"status_ids": [i for i in ids if i not in clash]},
                    detail=f"{label}: status(es) {shown} would mean two states: give each state "
                           "its own status under tracker.states"))
                continue
            taken.update({i: state.code for i in ids})
            if lacking:
                steps.append(PlanStep(
                    term=term, status="manual", payload={"status_ids": ids},
                    detail=f"{label}: no status named {' / '.join(repr(a) for a in aliases)} in the workflow of "
                           f"{', '.join(lacking)}: add one to the workflow (and a transition to it), "
                           "or name an existing status under tracker.states"))
            else:
                steps.append(PlanStep(term=term, status="ok", payload={"status_ids": ids},
                                      detail=f"{label} -> status id(s) {', '.join(ids)}"))
        return steps

    # -- apply ------------------------------------------------------------------------------------
    def apply(self, plan: Plan, progress: Callable[[PlanStep], None] | None = None) -> tuple[TrackerMapping, list[str]]:
        changes: list[str] = []
        scope = {s.term: s.payload for s in plan.steps}
        project_ids = (scope.get("projects") or {}).get("ids", [])
        issue_type_ids = (scope.get("issue_types") or {}).get("ids", [])
        created: dict[str, str] = {}  # term -> id of a field made by this run
        for step in plan.changes:
            if step.term.startswith("screen:"):
                done = self._apply_screen(step, created)
            elif step.term == "webhook" and self.hooks is not None:
                done = [self.hooks.apply(step)]
            else:
                done = self._apply_select(step, project_ids, issue_type_ids, created)
            # one line per step of the plan, whatever it took (a field, its context and its options are
            # one change): the plan's "N change(s)" is what apply reports it made
            prefix = f"{step.term}: "
            changes.append(prefix + "; ".join(line.removeprefix(prefix) for line in done) if done
                           else prefix + "already as the plan wants it")
            if progress:
                progress(step)
        final = self.plan() if changes else plan
        return self._mapping(final), changes

    def _apply_screen(self, step: PlanStep, created: dict[str, str]) -> list[str]:
        """Cloud: put a field on the first tab of each edit screen the plan found it missing from."""
        p = step.payload
        field_id = p["field"] or created.get(p["term"])
        if not field_id:
            raise TrackerError(f"jira: {step.term}: the field {FIELD_NAMES[p['term']]!r} was not created, "
                               "so it cannot be put on a screen")
        lines = []
        for screen in p["screens"]:
            self.client.add_tab_field(screen["id"], screen["tab"], field_id)
            lines.append(f"{step.term}: put {FIELD_NAMES[p['term']]!r} ({field_id}) on screen {screen['name']!r} "
                         f"({screen['id']}), tab {screen['tab_name']!r}")
            log.info("jira.field-on-screen", extra={"event": "jira.field-on-screen", "field": field_id,
                                                    "screen": screen["id"], "project": p["project"]})
        return lines

    def _apply_select(self, step: PlanStep, project_ids: list[str], issue_type_ids: list[str],
                      created: dict[str, str] | None = None) -> list[str]:
        p = step.payload
        lines = []
        field_id = p["field"]
        if field_id is None:
            field_id = str(self.client.create_field(p["name"], "Managed by incident-escalator", p["type"],
                                                    p["searcher"])["id"])
            if created is not None:
                created[step.term] = field_id
            lines.append(f"{step.term}: created field {p['name']!r} ({field_id})")
            log.info("jira.field-created", extra={"event": "jira.field-created", "field": field_id,
                                                  "field_name": p["name"]})
        if not isinstance(self.client, JiraCloudClient):
            # Data Center: the new field has its global default context; its options are the
            # admin's (the plan after apply lists them as manual steps)
            return lines
        client = self.client
        context = p["context"]
        if context is None:
            # a new field may already carry a default context on Cloud: reuse it rather than add a second
            contexts = client.field_contexts(field_id)
            if contexts:
                context = str(contexts[0]["id"])
            else:
                context = str(client.create_field_context(field_id, CONTEXT_NAME, project_ids, issue_type_ids)["id"])
                scope = "global" if not project_ids else f"projects {', '.join(project_ids)}"
                lines.append(f"{step.term}: created context {CONTEXT_NAME!r} ({context}, {scope})")
                log.info("jira.context-created", extra={"event": "jira.context-created", "field": field_id,
                                                        "context": context})
        existing = client.context_options(field_id, context)
        values, missing = _match_options(self.names[step.term], existing)
        parents = {k: v for k, v in missing.items() if "." not in str(k)}
        children = {k: v for k, v in missing.items() if "." in str(k)}
        if parents:
            created = client.create_options(field_id, context, [{"value": v} for v in parents.values()])
            lines.append(f"{step.term}: created {len(created)} option(s) in {p['name']!r}: "
                         + ", ".join(repr(v) for v in parents.values()))
            values, _ = _match_options(self.names[step.term], client.context_options(field_id, context))
        if children:
            batch = []
            for code, value in children.items():
                parent = values.get(str(code).split(".")[0])
                if parent is None:
                    raise TrackerError(f"jira: {step.term}: the parent option of {value!r} is missing "
                                       "right after it was created")
                batch.append({"value": value, "optionId": parent})
            created = client.create_options(field_id, context, batch)
            lines.append(f"{step.term}: created {len(created)} cascading option(s) in {p['name']!r}")
        if parents or children:
            log.info("jira.options-created", extra={"event": "jira.options-created", "field": field_id,
                                                    "count": len(parents) + len(children)})
        return lines

    def _mapping(self, plan: Plan) -> TrackerMapping:
        by_term = {s.term: s.payload for s in plan.steps}
        sev = by_term["severity"]
        if sev.get("source") == "priority":
            severity = SeverityMap(source="priority", values=sev.get("values", {}))
        else:
            severity = SeverityMap(source="field", field=sev.get("field"), values=sev.get("values", {}))
        return TrackerMapping(
            tracker="jira", base_url=self.base_url, flavour="cloud" if self.cloud else "datacenter",
            projects=(by_term.get("projects") or {}).get("keys", []),
            issue_types=(by_term.get("issue_types") or {}).get("ids", []),
            severity=severity,
            category=CategoryMap(field=by_term["category"].get("field") or "",
                                 values=by_term["category"].get("values", {})),
            escalation_level=LevelMap(field=by_term["escalation_level"].get("field") or "",
                                      values=by_term["escalation_level"].get("values", {})),
            **{term: OptionalField(field=by_term[term].get("field")) for term in OPTIONAL_FIELDS},
            states={s.code: list(by_term[f"state:{s.code}"].get("status_ids", [])) for s in self.procedure.states},
            webhook=self.hooks.record(next((s for s in plan.steps if s.term == "webhook"), None))
            if self.hooks is not None else None,
        )

    # -- check ----------------------------------------------------------------------------------
    def preflight(self, mapping: TrackerMapping) -> list[Missing]:
        """GET mypermissions for each mapped project: which of the permissions the escalator
        uses the bot holds there (Cloud: /rest/api/3/mypermissions, `permissions` required;
        DC: /rest/api/2/mypermissions; developer.atlassian.com, "Get my permissions")."""
        missing: list[Missing] = []
        for project in mapping.projects or list(self.settings.projects):
            answer = self.client.http.get(self.client.API + "/mypermissions",
                                          params={"projectKey": project, "permissions": ",".join(PERMISSIONS)})
            held = (answer or {}).get("permissions") or {}
            for key, (breaks, blocking) in PERMISSIONS.items():
                if not (held.get(key) or {}).get("havePermission"):
                    missing.append(Missing(key, project, breaks, blocking))
        return missing

    def check(self, mapping: TrackerMapping) -> list[str]:
        drift: list[str] = []
        fields = {str(f["id"]): f for f in self.client.fields()}
        if mapping.severity.source == "priority":
            priorities = {str(p["id"]): p.get("name") for p in self.client.priorities()}
            for sev, pid in sorted(mapping.severity.values.items()):
                if pid not in priorities:
                    drift.append(f"severity {sev}: priority id {pid} no longer exists")
        else:
            drift += self._check_select("severity", mapping.severity.field, mapping.severity.values, fields)
        drift += self._check_select("category", mapping.category.field, mapping.category.values, fields)
        drift += self._check_select("escalation_level", mapping.escalation_level.field,
                                    mapping.escalation_level.values, fields)
        for term in ("report_time", "occurred_at", "affected_ci", "root_cause_unknown", "contract", "support_group"):
            fid = getattr(mapping, term).field
            if fid and fid not in fields:
                drift.append(f"{term}: field {fid} no longer exists")
        statuses = {str(s["id"]): str(s.get("name")) for s in self.client.statuses()}
        for state, ids in sorted(mapping.states.items()):
            if not ids:
                drift.append(f"state {state}: mapped to no status")
            aliases = self._aliases(state) if 1 <= state <= 7 else []
            for sid in ids:
                if sid not in statuses:
                    drift.append(f"state {state}: status id {sid} no longer exists")
                elif aliases and statuses[sid].casefold() not in {a.casefold() for a in aliases}:
                    drift.append(f"state {state}: status {sid} is named {statuses[sid]!r}, not "
                                 + " / ".join(repr(a) for a in aliases))
        if mapping.projects:
            found = {p.get("key") for p in self.client.projects(mapping.projects)}
            drift += [f"project {k} no longer exists (or the account cannot see it)"
                      for k in mapping.projects if k not in found]
        if mapping.issue_types:
            types = {str(t["id"]) for t in self.client.issue_types()}
            drift += [f"issue type id {t} no longer exists" for t in mapping.issue_types if t not in types]
        drift += self._check_screens(mapping, fields)
        if self.hooks is not None:
            drift += self.hooks.check(mapping.webhook)
        return drift

    def _check_screens(self, mapping: TrackerMapping, fields: dict[str, dict]) -> list[str]:
        """A mapped field someone took off a project's edit screen: the daemon's writes would fail."""
        mapped = {"severity": mapping.severity.field if mapping.severity.source == "field" else None,
                  "category": mapping.category.field, "escalation_level": mapping.escalation_level.field}
        by_term = {t: {"field": f} for t, f in mapped.items() if f and f in fields}
        if not by_term or not mapping.projects:
            return []  # a missing field is drift of its own (above)
        site = _Site(fields=[], projects=self.client.projects(mapping.projects),
                     issue_types=self.client.issue_types() if self.settings.issue_types else [],
                     statuses_by_project={})
        return [f"{s.term}: {s.payload.get('problem') or s.detail}" for s in self._screen_steps(site, by_term)
                if s.status != "ok" and (s.payload.get("problem") or s.term.count(":") == 1)]

    def _check_select(self, term: str, field_id: str | None, values: dict, fields: dict[str, dict]) -> list[str]:
        name = FIELD_NAMES[term]
        if not field_id or field_id not in fields:
            return [f"{term}: field {field_id} no longer exists"]
        drift = []
        if fields[field_id].get("name") != name:
            drift.append(f"{term}: field {field_id} is named {fields[field_id].get('name')!r}, expected {name!r}")
        options: dict[str, str] = {}
        if isinstance(self.client, JiraCloudClient):
            for context in self.client.field_contexts(field_id):
                options.update({str(o["id"]): o.get("value") for o in
                                self.client.context_options(field_id, str(context["id"]))})
        else:
            options = {str(o["id"]): o.get("value") for o in self.client.field_options(field_id)}  # type: ignore[union-attr]
        expected = self.names[term]
        for key, option_id in sorted(values.items(), key=lambda kv: str(kv[0])):
            if option_id not in options:
                drift.append(f"{term} {key}: option id {option_id} no longer exists in field {field_id}")
            elif key in expected and options[option_id] != expected[key]:
                drift.append(f"{term} {key}: option {option_id} is named {options[option_id]!r}, "
                             f"expected {expected[key]!r}")
        return drift


def _match_options(wanted: dict[Any, str], options: list[dict]) -> tuple[dict[Any, str], dict[Any, str]]:
    """(term -> option id for the present ones, term -> value for the missing ones).

    A cascading child only counts under its own parent: '1.2 网络' and '2.3 网络' differ
    by code, but a child's value is matched together with its parent option's id."""
    by_value: dict[tuple[str | None, str], str] = {}
    for option in options:
        if option.get("disabled"):
            continue
        by_value[(option.get("optionId"), str(option.get("value")))] = str(option["id"])
    found: dict[Any, str] = {}
    missing: dict[Any, str] = {}
    for key, value in wanted.items():
        parent = None
        if isinstance(key, str) and "." in key:
            parent = found.get(key.split(".")[0])
            if parent is None:
                missing[key] = value
                continue
        option_id = by_value.get((parent, value))
        if option_id is None:
            missing[key] = value
        else:
            found[key] = option_id
    return found, missing
