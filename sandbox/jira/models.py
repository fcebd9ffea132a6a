"""The sandbox Jira's state: projects, workflows, fields, issues and their history.

The `models` of the moto-shaped package: pure in-memory data with the operations the
REST operations (`sandbox.jira.responses`) and the seed API (`sandbox.jira.server`)
call. Everything here runs under the server's lock; nothing here knows HTTP, and a
refusal is a `sandbox.jira.exceptions.JiraError`. Values are stored in a compact
internal form (`sandbox.jira.types`: ids, aware datetimes) and turned into Jira's JSON
shapes by the `render_*` methods it inherits from `render.JiraRendering`, per flavour
(Cloud v3 / DC v2) and in the caller's time zone; screens come from
`screens.JiraScreens`, queries from `jql`.

Sources for shapes and texts: the Cloud v3 OpenAPI document in
`../shared/reference/jira-platform-v3.json`; where it is silent, the comments cite
Atlassian's documentation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.jira.exceptions import JiraError, JqlError, issue_not_found
from sandbox.jira.jql import Query, order, parse
from sandbox.jira.permissions import BotProfile
from sandbox.jira.render import JiraRendering
from sandbox.jira.screens import JiraScreens
from sandbox.jira.types import (
    API_ROOT,
    CATEGORIES,
    CF_PREFIX,
    EDITABLE_SYSTEM,
    FIELD_TYPES,
    OPTION_TYPES,
    SYSTEM_FIELDS,
    ChangeItem,
    Comment,
    Context,
    CustomField,
    Flavour,
    History,
    Issue,
    IssueLink,
    IssueLinkType,
    IssueType,
    Notification,
    Option,
    Priority,
    Project,
    Status,
    User,
    Workflow,
    WorkflowTransition,
    default_workflow,
    jira_time,
    parse_jira_time,
    plain_text,
)
from sandbox.jira.webhooks import AdminWebhooks


class JiraModel(JiraRendering, JiraScreens):
    """The emulated Jira instance. `base` gives the server's URL for `self` links."""

    def __init__(self, flavour: Flavour, *, clock: Callable[[], datetime], base: Callable[[], str]):
        if flavour not in ("cloud", "datacenter"):
            raise ValueError(f"flavour must be 'cloud' or 'datacenter', not {flavour!r}")
        self.flavour = flavour
        self.clock = clock
        self._base = base
        self.api = API_ROOT[flavour]
        self.users: dict[str, User] = {}
        #: long-running tasks the REST API answered with a `location` (GET /task/{id}): id -> TaskProgressBean
        self.tasks: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, Status] = {}
        self.priorities: dict[str, Priority] = {}
        self.issue_types: dict[str, IssueType] = {}
        self.projects: dict[str, Project] = {}  # by key
        self.custom_fields: dict[str, CustomField] = {}
        self.issues: dict[int, Issue] = {}
        self.keys: dict[str, int] = {}
        self.notifications: list[Notification] = []
        # Jira's built-in link types (every site has them; Jira Service Management adds more)
        self.link_types: dict[str, IssueLinkType] = {
            tid: IssueLinkType(tid, name, inward, outward) for tid, name, inward, outward in (
                ("10000", "Blocks", "is blocked by", "blocks"), ("10001", "Cloners", "is cloned by", "clones"),
                ("10002", "Duplicate", "is duplicated by", "duplicates"),
                ("10003", "Relates", "relates to", "relates to"))}
        self.links: list[IssueLink] = []
        # who may do what (sandbox.jira.permissions): users without a profile hold everything
        self.profiles: dict[str, BotProfile] = {}
        # Cloud's /search/jql reads an eventually consistent index: "The majority of
        # modifications are shown within seconds" (developer.atlassian.com/cloud/jira/platform/
        # search-and-reconcile). An issue created over REST is searchable from this time on.
        self.search_lag = timedelta(0)
        self.searchable_from: dict[int, datetime] = {}
        self._init_screens()
        self.webhooks = AdminWebhooks(self)  # admin webhooks and their delivery (sandbox.jira.webhooks)
        self.version = 0  # bumped by every change; keys the search cache
        self._search_cache: dict[tuple, list[Issue]] = {}
        self._ids = {name: itertools.count(start) for name, start in (
            ("project", 10000), ("status", 10000), ("issuetype", 10000), ("field", 10000),
            ("context", 10100), ("option", 10200), ("issue", 10000), ("history", 10000),
            ("comment", 10000), ("user", 1), ("priority", 10000), ("link", 10000))}

    # -- helpers ---------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self._base()

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the sandbox clock must return aware datetimes")
        return now.astimezone(UTC)

    def _next(self, kind: str) -> int:
        return next(self._ids[kind])

    def _fresh(self, kind: str, taken: dict) -> str:
        """The next id of `kind` not already used (seeds may have taken ids explicitly)."""
        while (candidate := str(self._next(kind))) in taken:
            pass
        return candidate

    def touch(self) -> None:
        self.version += 1
        self._search_cache.clear()

    def text_body(self, text: str) -> Any:
        """A plain text as this flavour stores a comment body (ADF on Cloud, wiki markup on DC)."""
        if self.flavour == "datacenter":
            return text
        return {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]} if line else {"type": "paragraph"}
            for line in text.split("\n")]}

    # -- seed: reference data -------------------------------------------------------------------
    def seed_site(self, *, lead: str, workflow: Workflow, statuses: dict[str, str]) -> None:
        """A Jira Service Management site as the sandbox starts it: the usual statuses
        (plus `statuses`: name -> category), five priorities, JSM's ITSM issue types and
        "Problem/Incident" link type, and the service project SD."""
        for sid, name, cat in (("1", "Open", "new"), ("3", "In Progress", "indeterminate"),
                               ("10000", "Waiting for customer", "indeterminate"),
                               ("10001", "Waiting for vendor", "indeterminate"),
                               ("5", "Resolved", "done"), ("6", "Closed", "done")):
            self.add_status(name, cat, id=sid)
        for name, cat in statuses.items():
            self.add_status(name, cat)
        for pid, name, color in (("1", "Highest", "#d04437"), ("2", "High", "#f15c75"), ("3", "Medium", "#f79232"),
                                 ("4", "Low", "#707070"), ("5", "Lowest", "#999999")):
            self.add_priority(name, id=pid, color=color)
        for tid, name in (("10001", "Incident"), ("10002", "Service Request"), ("10003", "Task"),
                          ("10004", "Problem")):
            self.add_issue_type(name, id=tid)
        self.add_link_type("Problem/Incident", "is caused by", "causes")
        self.add_project("SD", "IT Service Desk", type_key="service_desk", lead=lead, workflow=workflow)

    def add_user(self, display_name: str, email: str, *, account_id: str | None = None,
                 name: str | None = None, time_zone: str = "UTC", token: str | None = None) -> str:
        n = self._next("user")
        account_id = account_id or f"5b10ac8d82e05b22cc7d{n:04x}"
        name = name or email.split("@", 1)[0]
        key = account_id if self.flavour == "cloud" else name
        if key in self.users:
            raise ValueError(f"user {key!r} exists already")
        ZoneInfo(time_zone)  # fail early on a bad zone name
        self.users[key] = User(key, display_name, email, account_id, name, f"JIRAUSER{10000 + n}",
                               time_zone, True, token)
        return key

    def add_status(self, name: str, category: str, *, id: str | None = None, description: str = "") -> str:
        if category not in CATEGORIES:
            raise ValueError(f"status category must be one of {sorted(CATEGORIES)}, not {category!r}")
        if self.status_by_name(name):
            raise ValueError(f"status {name!r} exists already")
        sid = id or self._fresh("status", self.statuses)
        self.statuses[sid] = Status(sid, name, category, description)
        return sid

    def add_priority(self, name: str, *, id: str | None = None, color: str = "#ffab00") -> str:
        pid = id or self._fresh("priority", self.priorities)
        self.priorities[pid] = Priority(pid, name, color, len(self.priorities) + 1)
        return pid

    def add_issue_type(self, name: str, *, id: str | None = None, description: str = "",
                       subtask: bool = False) -> str:
        tid = id or self._fresh("issuetype", self.issue_types)
        self.issue_types[tid] = IssueType(tid, name, description, subtask)
        return tid

    def add_project(self, key: str, name: str, *, type_key: str = "service_desk", lead: str | None = None,
                    issue_types: Iterable[str] | None = None, workflow: Workflow | None = None) -> str:
        if type_key not in ("service_desk", "software", "business"):
            raise ValueError(f"project type must be service_desk, software or business, not {type_key!r}")
        if key in self.projects:
            raise ValueError(f"project {key!r} exists already")
        type_ids = [self.issue_type_id(t) for t in (issue_types or [t.name for t in self.issue_types.values()])]
        project = Project(str(self._next("project")), key, name, type_key, lead or next(iter(self.users)),
                          type_ids, default_workflow())
        self.projects[key] = project
        self.add_project_screens(project.id, key, type_key)
        self.set_workflow(key, workflow or default_workflow())
        return project.id

    def set_workflow(self, project_key: str, workflow: Workflow) -> None:
        """Every status the workflow names must exist (add_status first)."""
        missing = [n for n in workflow.status_names() if not self.status_by_name(n)]
        if missing:
            raise ValueError(f"workflow names unknown statuses {missing}: add them with add_status")
        self.project(project_key).workflow = workflow

    def add_transition(self, project_key: str, transition: WorkflowTransition) -> None:
        wf = self.project(project_key).workflow
        self.set_workflow(project_key, Workflow(wf.initial, [*wf.transitions, transition]))

    # -- seed: fields ---------------------------------------------------------------------------
    def create_custom_field(self, name: str, type_: str, *, searcher: str | None = None,
                            description: str = "") -> CustomField:
        short = type_.removeprefix(CF_PREFIX)
        if short not in FIELD_TYPES or (type_ != short and not type_.startswith(CF_PREFIX)):
            raise JiraError(400, [], {"type": f"The custom field type '{type_}' is not valid."})
        if searcher is not None:
            s_short = searcher.removeprefix(CF_PREFIX)
            if s_short not in FIELD_TYPES[short][2]:
                raise JiraError(400, [], {"searcherKey": f"The searcher '{searcher}' is not valid for the "
                                          f"custom field type '{CF_PREFIX}{short}'."})
        n = self._next("field")
        cf = CustomField(f"customfield_{n}", n, name, description, short,
                         searcher if searcher is None else CF_PREFIX + searcher.removeprefix(CF_PREFIX))
        # Jira creates a global default context with every new custom field.
        cf.contexts.append(Context(str(self._next("context")), f"Default Configuration Scheme for {name}",
                                   "Default configuration scheme generated by Jira", [], []))
        self.custom_fields[cf.id] = cf
        self.touch()
        return cf

    def put_on_project_screens(self, project_key: str, field_id: str) -> None:
        """A field onto the edit screens of a project's issue types (their first tab)."""
        project = self.project(project_key)
        for tid in project.issue_type_ids:
            screen = self.screen_for(project.id, tid)
            if field_id not in screen.fields():
                screen.tabs[0].fields.append(field_id)

    def delete_custom_field(self, field_id: str) -> None:
        """A custom field deleted (DELETE /field/{id}, or the admin UI): gone from the field list, every
        screen and every issue; the issues' changelogs keep the changes made to it, as Jira's do."""
        self.custom_field(field_id)  # 404 when unknown
        del self.custom_fields[field_id]
        for screen in self.screens.values():
            for tab in screen.tabs:
                if field_id in tab.fields:
                    tab.fields.remove(field_id)
        for issue in self.issues.values():
            issue.fields.pop(field_id, None)
        self.touch()

    def take_off_project_screens(self, project_key: str, field_id: str) -> None:
        """A field off every tab of a project's edit screens."""
        project = self.project(project_key)
        for tid in project.issue_type_ids:
            for tab in self.screen_for(project.id, tid).tabs:
                if field_id in tab.fields:
                    tab.fields.remove(field_id)

    def create_context(self, field_id: str, name: str, description: str = "",
                       project_ids: Iterable[str] = (), issue_type_ids: Iterable[str] = ()) -> Context:
        cf = self.custom_field(field_id)
        pids, tids = [str(p) for p in project_ids], [str(t) for t in issue_type_ids]
        known_projects = {p.id for p in self.projects.values()}
        bad = [p for p in pids if p not in known_projects] + [t for t in tids if t not in self.issue_types]
        if bad:
            raise JiraError(404, [f"The ID(s) {', '.join(bad)} could not be found."])
        ctx = Context(str(self._next("context")), name, description, pids, tids)
        cf.contexts.append(ctx)
        self.touch()
        return ctx

    def add_options(self, field_id: str, context_id: str, options: list[dict]) -> list[Option]:
        cf = self.custom_field(field_id)
        ctx = self.context(cf, context_id)
        if cf.type not in OPTION_TYPES:
            raise JiraError(400, [f"The custom field {field_id} does not support options."])
        if len(options) > 1000:
            raise JiraError(400, ["You can create up to 1000 options in one request."])
        created: list[Option] = []
        existing = {(o.parent_id, o.value.casefold()) for o in ctx.options}
        for raw in options:
            value = str(raw.get("value") or "").strip()
            parent = raw.get("optionId")
            if not value:
                raise JiraError(400, [], {"value": "The option value can't be empty."})
            if parent is not None:
                parent = str(parent)
                if cf.type != "cascadingselect":
                    raise JiraError(400, ["Cascading options can only be created for a cascading select field."])
                if not any(o.id == parent and o.parent_id is None for o in ctx.options + created):
                    raise JiraError(404, [f"The option {parent} was not found in the context."])
            if (parent, value.casefold()) in existing:
                raise JiraError(400, [f"The option '{value}' already exists in this context."])
            existing.add((parent, value.casefold()))
            created.append(Option(str(self._next("option")), value, parent, bool(raw.get("disabled", False))))
        ctx.options.extend(created)
        self.touch()
        return created

    def assign_context_projects(self, field_id: str, context_id: str, project_ids: list[str]) -> None:
        """PUT .../context/{id}/project: "If any project in the request is assigned to any
        context of the custom field, the operation fails" (v3 spec)."""
        cf = self.custom_field(field_id)
        ctx = self.context(cf, context_id)
        known = {p.id for p in self.projects.values()}
        pids = [str(p) for p in project_ids]
        if not pids or any(p not in known for p in pids):
            raise JiraError(404 if pids else 400, [f"The projects {', '.join(p for p in pids if p not in known)} "
                                                   f"were not found." if pids else "projectIds can't be empty."])
        taken = [p for c in cf.contexts for p in c.project_ids if p in pids]
        if taken:
            raise JiraError(400, [f"The projects {', '.join(taken)} are already assigned to a context of this field."])
        ctx.project_ids.extend(pids)
        self.touch()

    def add_context_issue_types(self, field_id: str, context_id: str, type_ids: list[str]) -> None:
        """PUT .../context/{id}/issuetype: appends; fails if any is already in the context (v3 spec)."""
        cf = self.custom_field(field_id)
        ctx = self.context(cf, context_id)
        tids = [str(t) for t in type_ids]
        if not tids or any(t not in self.issue_types for t in tids):
            raise JiraError(404 if tids else 400, ["The issue types were not found." if tids
                                                   else "issueTypeIds can't be empty."])
        if any(t in ctx.issue_type_ids for t in tids):
            raise JiraError(400, ["An issue type is already in the context."])
        ctx.issue_type_ids.extend(tids)
        self.touch()

    def custom_field(self, field_id: str) -> CustomField:
        cf = self.custom_fields.get(field_id)
        if cf is None:
            raise JiraError(404, ["The custom field was not found."])
        return cf

    def context(self, cf: CustomField, context_id: str) -> Context:
        for ctx in cf.contexts:
            if ctx.id == str(context_id):
                return ctx
        raise JiraError(404, ["The context was not found."])

    def option(self, cf: CustomField, option_id: str) -> Option | None:
        for ctx in cf.contexts:
            for opt in ctx.options:
                if opt.id == option_id:
                    return opt
        return None

    # -- lookups ----------------------------------------------------------------------------------
    def project(self, key_or_id: str) -> Project:
        p = self.projects.get(key_or_id) or next(
            (p for p in self.projects.values() if p.id == key_or_id or p.key.upper() == key_or_id.upper()), None)
        if p is None:
            raise JiraError(404, [f"No project could be found with key '{key_or_id}'."])
        return p

    def status_by_name(self, name: str) -> Status | None:
        return next((s for s in self.statuses.values() if s.name.casefold() == name.casefold()), None)

    def issue_type_id(self, name_or_id: str) -> str:
        if name_or_id in self.issue_types:
            return name_or_id
        for t in self.issue_types.values():
            if t.name.casefold() == name_or_id.casefold():
                return t.id
        raise ValueError(f"unknown issue type {name_or_id!r}")

    def user(self, key: str) -> User | None:
        return self.users.get(key)

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.casefold() == email.casefold()), None)

    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.token == token), None)

    # -- permissions ----------------------------------------------------------------------------------
    def can(self, user_key: str, permission: str) -> bool:
        profile = self.profiles.get(user_key)
        return profile is None or permission not in profile.lacks

    def profile(self, user_key: str) -> BotProfile:
        return self.profiles.get(user_key) or BotProfile()

    def browsable_issue(self, id_or_key: str, user_key: str) -> Issue:
        """The issue, if `user_key` may browse its project: Jira does not tell a hidden issue
        from a missing one (404 of GET /rest/api/3/issue/{issueIdOrKey}, v3 spec)."""
        issue = self.issue(id_or_key)
        if not self.can(user_key, "BROWSE_PROJECTS"):
            raise issue_not_found()
        return issue

    def browsable_project(self, key_or_id: str, user_key: str) -> Project:
        """A project `user_key` may browse; another is "not found", as GET /project/{key} answers."""
        project = self.project(key_or_id)
        if not self.can(user_key, "BROWSE_PROJECTS"):
            raise JiraError(404, [f"No project could be found with key '{key_or_id}'."])
        return project

    def issue(self, id_or_key: str) -> Issue:
        ref = str(id_or_key)
        iid = int(ref) if ref.isdigit() else self.keys.get(ref.upper())
        if iid is None or iid not in self.issues:
            raise issue_not_found()
        return self.issues[iid]

    def field_name(self, field_id: str) -> str:
        if field_id in self.custom_fields:
            return self.custom_fields[field_id].name
        return SYSTEM_FIELDS.get(field_id, (field_id,))[0]

    # -- JQL resolver (sandbox.jira.jql.Resolver) -------------------------------------------
    def _no_value(self, value: str, field_name: str) -> JqlError:
        return JqlError(f"The value '{value}' does not exist for the field '{field_name}'.")

    def project_ids(self, value: str) -> set[str]:
        for p in self.projects.values():
            if value in (p.id,) or value.upper() == p.key.upper() or value.casefold() == p.name.casefold():
                return {p.id}
        raise self._no_value(value, "project")

    def issue_type_ids(self, value: str) -> set[str]:
        hits = {t.id for t in self.issue_types.values() if value == t.id or value.casefold() == t.name.casefold()}
        if not hits:
            raise self._no_value(value, "issuetype")
        return hits

    def status_ids(self, value: str) -> set[str]:
        hits = {s.id for s in self.statuses.values() if value == s.id or value.casefold() == s.name.casefold()}
        if not hits:
            raise self._no_value(value, "status")
        return hits

    def status_category_keys(self, value: str) -> set[str]:
        for c in CATEGORIES.values():
            if value.casefold() in (c["key"], c["name"].casefold(), str(c["id"])):
                return {c["key"]}
        raise self._no_value(value, "statusCategory")

    def status_category_of(self, status_id: str) -> str:
        return self.statuses[status_id].category

    def priority_ids(self, value: str) -> set[str]:
        hits = {p.id for p in self.priorities.values() if value == p.id or value.casefold() == p.name.casefold()}
        if not hits:
            raise self._no_value(value, "priority")
        return hits

    def priority_rank(self, priority_id: str) -> int:
        p = self.priorities.get(priority_id)
        return p.rank if p else 0

    def issue_id(self, value: str) -> int | None:
        if value.isdigit():
            return int(value)
        iid = self.keys.get(value.upper())
        if iid is None:
            raise JqlError(f"An issue with key '{value}' does not exist for field 'key'.")
        return iid

    def user_key(self, value: str) -> str:
        if value in self.users:
            return value
        for u in self.users.values():
            if value.casefold() in (u.email.casefold(), u.name.casefold()):
                return u.key
        raise JqlError(f"The value '{value}' does not exist for the field 'assignee'.")

    def option_ids(self, field_id: str, value: str) -> set[str]:
        cf = self.custom_fields[field_id]
        hits = {o.id for c in cf.contexts for o in c.options if value in (o.id,) or value.casefold() == o.value.casefold()}
        if not hits:
            raise self._no_value(value, f"cf[{cf.number}]")
        return hits

    def resolve_custom_field(self, field_id: str) -> str:
        if field_id not in self.custom_fields:
            raise JqlError(f"Field '{field_id}' does not exist or you do not have permission to view it.")
        return field_id

    # -- search ---------------------------------------------------------------------------------
    def search(self, jql: str, caller: User) -> tuple[Query, list[Issue]]:
        """Matching issues in order; the sorted list is cached until the next change."""
        tz = ZoneInfo(caller.time_zone)
        browse = self.can(caller.key, "BROWSE_PROJECTS")
        resolver = _Resolver(self, browse=browse)
        query = parse(jql, resolver, now=self.now(), tz=tz)
        cache_key = (jql, caller.time_zone, browse, self.version, self.now().replace(second=0, microsecond=0))
        hit = self._search_cache.get(cache_key)
        if hit is None:
            where = query.where
            # a search lists only the issues of projects the caller may browse (v3 spec,
            # GET /rest/api/3/search/jql: "Issues are included in the response where the user
            # has: Browse projects project permission")
            matched = [i for i in self.issues.values() if browse and (where is None or where(i))]
            hit = order(matched, query, resolver)
            if len(self._search_cache) > 8:
                self._search_cache.clear()
            self._search_cache[cache_key] = hit
        return query, hit

    # -- issue writes -----------------------------------------------------------------------------
    def create_issue(self, project_key: str, issue_type: str, summary: str, *, reporter: str,
                     fields: dict[str, Any] | None = None, created: datetime | None = None,
                     status: str | None = None, assignee: str | None = None) -> Issue:
        """Seed or POST /issue. `fields` uses the REST input shapes (see `_input_value`)."""
        project = self.project(project_key)
        type_id = self.issue_type_id(issue_type)
        try:
            self._summary(summary)
        except ValueError as exc:
            raise JiraError(400, [], {"summary": str(exc)}) from None
        if type_id not in project.issue_type_ids:
            raise JiraError(400, [], {"issuetype": "Specify a valid issue type"})
        when = (created or self.now()).astimezone(UTC)
        status_obj = self.status_by_name(status or project.workflow.initial)
        if status_obj is None:
            raise ValueError(f"unknown status {status!r}")
        project.counter += 1
        iid = self._next("issue")
        issue = Issue(iid, f"{project.key}-{project.counter}", {
            "project": project.id, "project_key": project.key, "number": project.counter,
            "issuetype": type_id, "status": status_obj.id, "summary": summary, "description": None,
            "priority": self._default_priority(), "reporter": reporter, "creator": reporter,
            "assignee": assignee, "labels": [], "created": when, "updated": when,
            "statuscategorychangedate": when, "resolution": None, "resolutiondate": None,
        })
        changes, errors = self._apply_fields(issue, fields or {}, {}, creating=True)
        if errors:
            project.counter -= 1
            raise JiraError(400, [], errors)
        for fid, (_old, new) in changes.items():
            issue.fields[fid] = new
        self.issues[iid] = issue
        self.keys[issue.key] = iid
        self.touch()
        self.webhooks.issue_created(issue, reporter)
        return issue

    def _default_priority(self) -> str | None:
        for p in self.priorities.values():
            if p.name == "Medium":
                return p.id
        return next(iter(self.priorities), None)

    def edit_issue(self, issue: Issue, fields: dict[str, Any], update: dict[str, list[dict]], author: str) -> None:
        changes, errors = self._apply_fields(issue, fields, update, creating=False)
        if errors:
            raise JiraError(400, [], errors)
        items = []
        for fid, (old, new) in changes.items():
            if old == new:
                continue
            items.append(self._change_item(fid, old, new))
            issue.fields[fid] = new
        if items:
            self._record(issue, author, items)

    def transition_issue(self, issue: Issue, transition_id: str, author: str,
                         fields: dict[str, Any] | None = None) -> None:
        available = {t.id: t for t in self.transitions_for(issue)}
        t = available.get(str(transition_id))
        if t is None:
            raise JiraError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        changes, errors = self._apply_fields(issue, fields or {}, {}, creating=False)
        if errors:
            raise JiraError(400, [], errors)
        target = self.status_by_name(t.to)
        assert target is not None
        items = []
        old = self.statuses[issue.fields["status"]]
        if target.id != old.id:
            items.append(self._change_item("status", old.id, target.id))
        for fid, (before, after) in changes.items():
            if before != after:
                items.append(self._change_item(fid, before, after))
                issue.fields[fid] = after
        issue.fields["status"] = target.id
        if target.category != old.category:
            issue.fields["statuscategorychangedate"] = self.now()
        self._record(issue, author, items)

    def transitions_for(self, issue: Issue) -> list[WorkflowTransition]:
        project = self.project(issue.fields["project_key"])
        here = self.statuses[issue.fields["status"]].name
        # a global transition into the status the issue is already in is not offered
        return [t for t in project.workflow.transitions
                if (t.sources is None or here in t.sources) and t.to != here]

    def _record(self, issue: Issue, author: str, items: list[ChangeItem]) -> None:
        now = self.now()
        if items:
            issue.histories.append(History(self._next("history"), author, now, items))
        issue.fields["updated"] = now
        self.touch()
        if items:
            self.webhooks.issue_changed(issue, author, issue.histories[-1])

    def add_comment(self, issue: Issue, author: str, body: Any, *, internal: bool,
                    visibility: dict | None, properties: list[dict]) -> Comment:
        now = self.now()
        c = Comment(self._next("comment"), author, body, now, now, internal, visibility, properties)
        issue.comments.append(c)
        issue.fields["updated"] = now  # a comment makes the issue "updated" in Jira
        self.touch()
        self.webhooks.comment_created(issue, author, c)
        return c

    # -- issue links ----------------------------------------------------------------------------------
    def add_link_type(self, name: str, inward: str, outward: str) -> str:
        tid = self._fresh("link", self.link_types)
        self.link_types[tid] = IssueLinkType(tid, name, inward, outward)
        return tid

    def link_type(self, ref: dict) -> IssueLinkType:
        """By id, else by name (IssueLinkType of LinkIssueRequestJsonBean: `id` or `name`)."""
        for t in self.link_types.values():
            if (ref.get("id") and str(ref["id"]) == t.id) or (ref.get("name") and ref["name"] == t.name):
                return t
        what = f"id '{ref['id']}'" if ref.get("id") else f"name '{ref.get('name')}'"
        raise JiraError(404, [f"No issue link type with {what} found."])

    def link_issues(self, type_: IssueLinkType, inward: Issue, outward: Issue) -> IssueLink:
        """Jira keeps one link per (type, pair): linking again changes nothing and still answers
        201 (DefaultIssueLinkManager.createIssueLink returns early when the link exists)."""
        for link in self.links:
            if (link.type_id, link.inward, link.outward) == (type_.id, inward.id, outward.id):
                return link
        link = IssueLink(str(self._next("link")), type_.id, inward.id, outward.id)
        self.links.append(link)
        now = self.now()
        for issue in (inward, outward):  # a link is a change of both issues ("Link" in their history)
            issue.fields["updated"] = now
        self.touch()
        return link

    def links_of(self, issue: Issue) -> list[tuple[IssueLinkType, str, Issue]]:
        """(type, "inward"|"outward", the other issue) of every link of `issue`."""
        out = []
        for link in self.links:
            if link.inward == issue.id:
                out.append((self.link_types[link.type_id], "outward", self.issues[link.outward]))
            if link.outward == issue.id:
                out.append((self.link_types[link.type_id], "inward", self.issues[link.inward]))
        return out

    # -- field input validation ---------------------------------------------------------------------
    def _apply_fields(self, issue: Issue, fields: dict[str, Any], update: dict[str, list[dict]],
                      *, creating: bool) -> tuple[dict[str, tuple[Any, Any]], dict[str, str]]:
        """Validate and compute {field: (old, new)}; nothing is written here."""
        changes: dict[str, tuple[Any, Any]] = {}
        errors: dict[str, str] = {}
        ops: dict[str, list[tuple[str, Any]]] = {}
        for fid, value in fields.items():
            ops.setdefault(fid, []).append(("set", value))
        for fid, operations in (update or {}).items():
            if not isinstance(operations, list):
                errors[fid] = "Operation value must be an array of operations."
                continue
            for op in operations:
                if not isinstance(op, dict) or len(op) != 1:
                    errors[fid] = "Each operation must name exactly one verb: set, add or remove."
                    continue
                verb, value = next(iter(op.items()))
                ops.setdefault(fid, []).append((verb, value))
        for fid, operations in ops.items():
            if fid in ("project", "issuetype", "summary") and creating:
                continue  # given separately on create
            if not self._settable(issue, fid, "create" if creating else "edit"):
                errors[fid] = (f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown.")
                continue
            current = issue.fields.get(fid)
            new = list(current) if isinstance(current, list) else current
            try:
                for verb, value in operations:
                    new = self._operate(issue, fid, verb, value, new)
            except ValueError as exc:
                errors[fid] = str(exc)
                continue
            changes[fid] = (current, new)
        return changes, errors

    def _settable(self, issue: Issue, fid: str, operation: str = "edit") -> bool:
        """A custom field is settable when a context applies to the issue and the field is on
        the project's screen for the operation (`sandbox.jira.screens`). System fields
        are on every screen the sandbox makes, so they are not looked up."""
        if fid in EDITABLE_SYSTEM:
            return True
        cf = self.custom_fields.get(fid)
        if cf is None:
            return False
        project, issue_type = issue.fields["project"], issue.fields["issuetype"]
        return any(c.applies(project, issue_type) for c in cf.contexts) and \
            self.on_screen(project, issue_type, fid, operation)

    def _operate(self, issue: Issue, fid: str, verb: str, value: Any, current: Any) -> Any:
        cf = self.custom_fields.get(fid)
        multi = fid == "labels" or (cf is not None and FIELD_TYPES[cf.type][0] == "array")
        if verb == "set":
            return self._input_value(issue, fid, value)
        if verb in ("add", "remove") and multi:
            item = self._input_value(issue, fid, [value])[0] if value is not None else None
            items = list(current or [])
            if verb == "add" and item not in items:
                items.append(item)
            if verb == "remove" and item in items:
                items.remove(item)
            return items
        raise ValueError(f"Field '{fid}' does not support the operation '{verb}'.")

    def _summary(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("You must specify a summary of the issue.")
        # the Summary field holds at most 255 characters (a varchar(255) column). Cloud words
        # the refusal "Summary can't exceed 255 characters." (github.com/tenable/
        # integration-jira-cloud/issues/322, prometheus-community/jiralert/issues/123), Data
        # Center "Summary must be less than 255 characters." (github.com/ryanhoskin/pd2jira/issues/13)
        if len(value) > 255:
            raise ValueError("Summary can't exceed 255 characters." if self.flavour == "cloud"
                             else "Summary must be less than 255 characters.")
        return value

    def _input_value(self, issue: Issue, fid: str, value: Any) -> Any:
        """REST input shape -> internal value; ValueError with Jira's message."""
        if fid == "summary":
            return self._summary(value)
        if fid == "description":
            if value is None:
                return None
            if self.flavour == "cloud" and not (isinstance(value, dict) and value.get("type") == "doc"):
                raise ValueError("Operation value must be an Atlassian Document (see the Atlassian Document Format)")
            if self.flavour == "datacenter" and not isinstance(value, str):
                raise ValueError("Operation value must be a string")
            return value
        if fid == "labels":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError("Operation value must be a list of strings.")
            if any(" " in v for v in value):
                raise ValueError("The label must not contain spaces.")
            return list(value)
        if fid == "priority":
            ref = _object(value, "Priority")
            for p in self.priorities.values():
                if ref.get("id") == p.id or ref.get("name") == p.name:
                    return p.id
            raise ValueError("Specify a valid 'id' or 'name' for Priority")
        if fid in ("assignee", "reporter"):
            if value is None:
                if fid == "reporter":
                    raise ValueError("Reporter is required.")
                return None
            ref = _object(value, fid).get("accountId" if self.flavour == "cloud" else "name")
            if ref in self.users:
                return ref
            raise ValueError(f"User '{ref}' does not exist.") if self.flavour == "datacenter" else \
                ValueError("Specify a valid value for assignee" if fid == "assignee" else
                           "Specify a valid value for reporter")
        if fid == "issuetype":
            ref = _object(value, "issuetype")
            project = self.project(issue.fields["project_key"])
            for tid in project.issue_type_ids:
                t = self.issue_types[tid]
                if ref.get("id") == t.id or ref.get("name") == t.name:
                    return t.id
            raise ValueError("The issue type selected is invalid.")
        cf = self.custom_fields[fid]
        return self._custom_value(issue, cf, value)

    def _custom_value(self, issue: Issue, cf: CustomField, value: Any) -> Any:
        if value is None:
            return None
        kind = cf.type
        if kind in ("select", "radiobuttons"):
            return self._pick_option(issue, cf, value, parent=None).id
        if kind in ("multiselect", "multicheckboxes"):
            if not isinstance(value, list):
                raise ValueError("data was not an array")
            return [self._pick_option(issue, cf, v, parent=None).id for v in value]
        if kind == "cascadingselect":
            parent = self._pick_option(issue, cf, value, parent=None)
            child = value.get("child") if isinstance(value, dict) else None
            return (parent.id, self._pick_option(issue, cf, child, parent=parent).id if child else None)
        if kind == "datetime":
            try:
                return parse_jira_time(str(value))
            except ValueError:
                raise ValueError("Invalid date format. Please enter the date in the format "
                                 "\"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".") from None
        if kind == "datepicker":
            try:
                return datetime.strptime(str(value), "%Y-%m-%d").date().isoformat()
            except ValueError:
                raise ValueError("Invalid date format. Please enter the date in the format \"yyyy-MM-dd\".") from None
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("Operation value must be a number")
            return float(value)
        if kind in ("textfield", "textarea", "url"):
            if not isinstance(value, str):
                raise ValueError("Operation value must be a string")
            return value
        if kind == "labels":
            if not isinstance(value, list):
                raise ValueError("data was not an array")
            return list(value)
        if kind == "userpicker":
            ref = _object(value, cf.name).get("accountId" if self.flavour == "cloud" else "name")
            if ref not in self.users:
                raise ValueError(f"Specify a valid value for {cf.name}")
            return ref
        raise ValueError(f"Field '{cf.id}' cannot be set.")

    def _pick_option(self, issue: Issue, cf: CustomField, ref: Any, parent: Option | None) -> Option:
        if not isinstance(ref, dict) or not ({"id", "value"} & ref.keys()):
            raise ValueError("Could not find valid 'id' or 'value' in the Parent Option object.")
        options = [o for c in cf.contexts if c.applies(issue.fields["project"], issue.fields["issuetype"])
                   for o in c.options if not o.disabled
                   and o.parent_id == (parent.id if parent else None)]
        if "id" in ref:
            hit = next((o for o in options if o.id == str(ref["id"])), None)
            if hit is None:
                raise ValueError(f"Option id '{ref['id']}' is not valid")
        else:
            hit = next((o for o in options if o.value == ref["value"]), None)
            if hit is None:
                raise ValueError(f"Option value '{ref['value']}' is not valid")
        return hit

    # -- changelog items ------------------------------------------------------------------------
    def _change_item(self, fid: str, old: Any, new: Any) -> ChangeItem:
        cf = self.custom_fields.get(fid)
        fieldtype = "custom" if cf else "jira"
        name = cf.name if cf else fid
        f, fs = self._history_value(fid, old)
        t, ts = self._history_value(fid, new)
        return ChangeItem(name, fieldtype, fid, f, fs, t, ts)

    def _history_value(self, fid: str, value: Any) -> tuple[str | None, str | None]:
        """(id-ish, display string) as Jira writes them into a change item."""
        if value is None or value == []:
            return None, None
        if fid == "status":
            return value, self.statuses[value].name
        if fid == "priority":
            return value, self.priorities[value].name
        if fid == "issuetype":
            return value, self.issue_types[value].name
        if fid in ("assignee", "reporter"):
            u = self.users[value]
            return (u.account_id if self.flavour == "cloud" else u.name), u.display_name
        if fid == "labels":
            return None, " ".join(value)
        if fid == "description":
            return None, plain_text(value)
        cf = self.custom_fields.get(fid)
        if cf is None:
            return None, str(value)
        if cf.type in ("select", "radiobuttons"):
            return value, self._option_value(cf, value)
        if cf.type in ("multiselect", "multicheckboxes"):
            return "[" + ", ".join(value) + "]", ",".join(self._option_value(cf, v) for v in value)
        if cf.type == "cascadingselect":
            parent, child = value
            text = f"Parent values: {self._option_value(cf, parent)}({parent})"
            if child:
                text += f"Level 1 values: {self._option_value(cf, child)}({child})"
            return None, text
        if cf.type == "datetime":
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z"), jira_time(value, ZoneInfo("UTC"))
        if cf.type == "userpicker":
            u = self.users[value]
            return (u.account_id if self.flavour == "cloud" else u.name), u.display_name
        return None, str(value)

    def _option_value(self, cf: CustomField, option_id: str) -> str:
        opt = self.option(cf, option_id)
        return opt.value if opt else option_id


class _Resolver:
    """Adapts JiraModel to the JQL resolver protocol (custom_field maps to resolve_custom_field).

    A project the searcher may not browse does not exist for JQL: Jira answers the same
    "The value 'X' does not exist for the field 'project'." as for an unknown one."""

    def __init__(self, model: JiraModel, *, browse: bool = True):
        self.m = model
        self.browse = browse

    def project_ids(self, value: str) -> set[str]:
        if not self.browse:
            raise self.m._no_value(value, "project")
        return self.m.project_ids(value)

    def __getattr__(self, name: str) -> Any:
        if name == "custom_field":
            return self.m.resolve_custom_field
        return getattr(self.m, name)


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"Operation value must be an object naming the {what} by 'id' or 'name'.")
    return value
