"""The sandbox Jira's vocabulary: constants, the records it stores, Jira's time format.

Shared by `models` (state and writes), `render` (JSON shapes), `screens`,
`responses` (HTTP shaping) and `server` (the seed API). Values here are the sandbox's internal form: ids and aware
datetimes, never rendered JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

Flavour = Literal["cloud", "datacenter"]
#: the REST root per flavour: Cloud serves v3 (ADF bodies), Data Center v2 (wiki markup)
API_ROOT: dict[str, str] = {"cloud": "/rest/api/3", "datacenter": "/rest/api/2"}
CF_PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"

#: Jira's four status categories (GET /rest/api/3/statuscategory).
CATEGORIES: dict[str, dict[str, Any]] = {
    "undefined": {"id": 1, "key": "undefined", "colorName": "medium-gray", "name": "No Category"},
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
}

#: custom field type -> (schema type, schema items, valid searchers). The type/searcher
#: pairs are the ones listed in the v3 spec for `CustomFieldDefinitionJsonBean.searcherKey`.
FIELD_TYPES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "select": ("option", None, ("multiselectsearcher",)),
    "radiobuttons": ("option", None, ("multiselectsearcher",)),
    "multiselect": ("array", "option", ("multiselectsearcher",)),
    "multicheckboxes": ("array", "option", ("multiselectsearcher",)),
    "cascadingselect": ("option-with-child", None, ("cascadingselectsearcher",)),
    "datetime": ("datetime", None, ("datetimerange",)),
    "datepicker": ("date", None, ("daterange",)),
    "float": ("number", None, ("exactnumber", "numberrange")),
    "textfield": ("string", None, ("textsearcher",)),
    "textarea": ("string", None, ("textsearcher",)),
    "url": ("string", None, ("exacttextsearcher",)),
    "labels": ("array", "string", ("labelsearcher",)),
    "userpicker": ("user", None, ("userpickergroupsearcher",)),
}
OPTION_TYPES = ("select", "radiobuttons", "multiselect", "multicheckboxes", "cascadingselect")

#: system fields: id -> (name, schema type, items)
SYSTEM_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "summary": ("Summary", "string", None),
    "description": ("Description", "string", None),
    "status": ("Status", "status", None),
    "priority": ("Priority", "priority", None),
    "issuetype": ("Issue Type", "issuetype", None),
    "project": ("Project", "project", None),
    "reporter": ("Reporter", "user", None),
    "assignee": ("Assignee", "user", None),
    "creator": ("Creator", "user", None),
    "created": ("Created", "datetime", None),
    "updated": ("Updated", "datetime", None),
    "labels": ("Labels", "array", "string"),
    "resolution": ("Resolution", "resolution", None),
    "resolutiondate": ("Resolved", "datetime", None),
    "statuscategorychangedate": ("Status Category Changed", "datetime", None),
    "comment": ("Comment", "comments-page", "comment"),
    "watches": ("Watchers", "watches", None),
}
#: fields `*navigable` leaves out (the comment page and watchers are fetched on demand)
NOT_NAVIGABLE = {"comment", "watches"}
#: fields PUT /issue may set
EDITABLE_SYSTEM = {"summary", "description", "priority", "assignee", "labels", "issuetype", "reporter"}


def jira_time(value: datetime, tz: ZoneInfo) -> str:
    """Jira's timestamp format, e.g. 2026-11-20T09:00:00.000+0000, in the reader's zone."""
    local = value.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_jira_time(text: str) -> datetime:
    """Accepts Jira's format and ISO 8601 (Z or ±hh:mm); the result is aware."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit() and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return parsed


@dataclass
class User:
    key: str  # accountId on Cloud, username on DC
    display_name: str
    email: str
    account_id: str
    name: str
    dc_key: str
    time_zone: str = "UTC"
    active: bool = True
    token: str | None = None


@dataclass
class Status:
    id: str
    name: str
    category: str
    description: str = ""


@dataclass
class Priority:
    id: str
    name: str
    color: str
    rank: int


@dataclass
class IssueType:
    id: str
    name: str
    description: str = ""
    subtask: bool = False


@dataclass
class WorkflowTransition:
    """A transition to status `to` (a name); `sources` None means global (from any status)."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...] | None = None


@dataclass
class Workflow:
    initial: str
    transitions: list[WorkflowTransition]

    def status_names(self) -> list[str]:
        names = [self.initial]
        for t in self.transitions:
            for n in (*(t.sources or ()), t.to):
                if n not in names:
                    names.append(n)
        return names


def default_workflow() -> Workflow:
    """A plain support workflow; it lacks several of the procedure's seven states on purpose."""
    return Workflow("Open", [
        WorkflowTransition("11", "Start progress", "In Progress", ("Open",)),
        WorkflowTransition("21", "Wait for customer", "Waiting for customer", ("In Progress",)),
        WorkflowTransition("31", "Wait for vendor", "Waiting for vendor", ("In Progress",)),
        WorkflowTransition("41", "Resume", "In Progress", ("Waiting for customer", "Waiting for vendor")),
        WorkflowTransition("51", "Resolve", "Resolved",
                           ("Open", "In Progress", "Waiting for customer", "Waiting for vendor")),
        WorkflowTransition("61", "Close", "Closed", ("Resolved",)),
        WorkflowTransition("71", "Reopen", "Open", ("Resolved", "Closed")),
    ])


@dataclass
class Project:
    id: str
    key: str
    name: str
    type_key: str
    lead: str
    issue_type_ids: list[str]
    workflow: Workflow
    counter: int = 0


@dataclass
class Option:
    id: str
    value: str
    parent_id: str | None = None
    disabled: bool = False


@dataclass
class Context:
    id: str
    name: str
    description: str
    project_ids: list[str]
    issue_type_ids: list[str]
    options: list[Option] = field(default_factory=list)

    def applies(self, project_id: str, issue_type_id: str) -> bool:
        return (not self.project_ids or project_id in self.project_ids) and \
            (not self.issue_type_ids or issue_type_id in self.issue_type_ids)


@dataclass
class CustomField:
    id: str
    number: int
    name: str
    description: str
    type: str  # short name, e.g. "select"
    searcher: str | None
    contexts: list[Context] = field(default_factory=list)


@dataclass
class ChangeItem:
    field: str
    fieldtype: str
    field_id: str
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None


@dataclass
class History:
    id: int
    author: str
    created: datetime
    items: list[ChangeItem]


@dataclass
class Comment:
    id: int
    author: str
    body: Any
    created: datetime
    updated: datetime
    internal: bool
    visibility: dict | None
    properties: list[dict]


@dataclass
class IssueLinkType:
    """A link type: `name` with its outward ("relates to") and inward ("is caused by") phrases."""

    id: str
    name: str
    inward: str
    outward: str


@dataclass
class IssueLink:
    """POST /issueLink: `outward` issue --type.outward--> `inward` issue (both issue ids)."""

    id: str
    type_id: str
    inward: int
    outward: int


@dataclass
class Notification:
    """What POST /issue/{key}/notify was asked to send, and to whom it resolved."""

    issue_key: str
    sender: str
    subject: str
    text_body: str
    html_body: str
    recipients: list[str]  # user keys
    request: dict


@dataclass
class Issue:
    id: int
    key: str
    fields: dict[str, Any]
    histories: list[History] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    watchers: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


def plain_text(value: Any) -> str:
    """The text of an ADF document (or a wiki string), for change-item display strings."""
    if isinstance(value, str):
        return value
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(str(node.get("text", "")))
            for child in node.get("content", []) or []:
                walk(child)

    walk(value)
    return "".join(parts)
