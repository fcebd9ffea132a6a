"""Jira's JSON shapes for the sandbox's records, per flavour and in the reader's time zone.

`JiraRendering` is mixed into `sandbox.jira.models.JiraModel`: it reads the
model's state and turns it into what Jira Cloud (v3) or Data Center (v2) return.
The shapes follow `../shared/reference/jira-platform-v3.json`; the conformance
tests (`tests/conformance/test_jira_openapi.py`) check them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.jira.types import (
    CATEGORIES,
    CF_PREFIX,
    EDITABLE_SYSTEM,
    FIELD_TYPES,
    NOT_NAVIGABLE,
    OPTION_TYPES,
    SYSTEM_FIELDS,
    Comment,
    CustomField,
    Flavour,
    History,
    Issue,
    IssueType,
    Option,
    Priority,
    Project,
    Status,
    User,
    jira_time,
)


class JiraRendering:
    """Rendering half of the model; the attributes below are the model's."""

    flavour: Flavour
    api: str
    users: dict[str, User]
    statuses: dict[str, Status]
    priorities: dict[str, Priority]
    issue_types: dict[str, IssueType]
    custom_fields: dict[str, CustomField]
    base: str
    project: Callable[[str], Project]
    option: Callable[[CustomField, str], Option | None]
    field_name: Callable[[str], str]
    _settable: Callable[[Issue, str], bool]
    _default_priority: Callable[[], str | None]

    # -- rendering --------------------------------------------------------------------------------
    def render_user(self, key: str | None, *, full: bool = False) -> dict | None:
        if key is None:
            return None
        u = self.users.get(key)
        if u is None:
            return None
        avatars = {s: f"{self.base}/secure/useravatar?size={s}&ownerId={u.name}" for s in
                   ("16x16", "24x24", "32x32", "48x48")}
        if self.flavour == "cloud":
            out = {"self": f"{self.base}{self.api}/user?accountId={u.account_id}", "accountId": u.account_id,
                   "accountType": "atlassian", "emailAddress": u.email, "avatarUrls": avatars,
                   "displayName": u.display_name, "active": u.active, "timeZone": u.time_zone}
        else:
            out = {"self": f"{self.base}{self.api}/user?username={u.name}", "name": u.name, "key": u.dc_key,
                   "emailAddress": u.email, "avatarUrls": avatars, "displayName": u.display_name,
                   "active": u.active, "timeZone": u.time_zone}
        if full:  # GET /myself; groups and application roles only come when expanded
            out["locale"] = "en_US"
            out["expand"] = "groups,applicationRoles"
        return out

    def render_status(self, sid: str) -> dict:
        s = self.statuses[sid]
        cat = CATEGORIES[s.category]
        return {"self": f"{self.base}{self.api}/status/{s.id}", "description": s.description,
                "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": s.name, "id": s.id,
                "statusCategory": {"self": f"{self.base}{self.api}/statuscategory/{cat['id']}", **cat}}

    def render_priority(self, pid: str | None) -> dict | None:
        if pid is None:
            return None
        p = self.priorities[pid]
        return {"self": f"{self.base}{self.api}/priority/{p.id}",
                "iconUrl": f"{self.base}/images/icons/priorities/{p.name.lower()}.svg", "name": p.name, "id": p.id}

    def render_priority_full(self, p: Priority) -> dict:
        return {**self.render_priority(p.id), "statusColor": p.color, "description": p.name,
                "isDefault": p.id == self._default_priority()}

    def render_issue_type(self, tid: str) -> dict:
        t = self.issue_types[tid]
        return {"self": f"{self.base}{self.api}/issuetype/{t.id}", "id": t.id, "description": t.description,
                "iconUrl": f"{self.base}/images/icons/issuetypes/generic.svg", "name": t.name,
                "subtask": t.subtask, "avatarId": 10300, "hierarchyLevel": -1 if t.subtask else 0}

    def render_project(self, p: Project, *, full: bool = False) -> dict:
        avatars = {s: f"{self.base}/secure/projectavatar?size={s}&pid={p.id}" for s in
                   ("16x16", "24x24", "32x32", "48x48")}
        out: dict[str, Any] = {"self": f"{self.base}{self.api}/project/{p.id}", "id": p.id, "key": p.key,
                               "name": p.name, "projectTypeKey": p.type_key, "avatarUrls": avatars}
        if self.flavour == "cloud":
            out.update({"simplified": False, "style": "classic", "isPrivate": False})
        if full:
            out.update({"description": "", "lead": self.render_user(p.lead), "assigneeType": "UNASSIGNED",
                        "issueTypes": [self.render_issue_type(t) for t in p.issue_type_ids],
                        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight"})
        return out

    def render_field(self, fid: str) -> dict:
        cf = self.custom_fields.get(fid)
        if cf is None:
            name, typ, items = SYSTEM_FIELDS[fid]
            schema: dict[str, Any] = {"type": typ, "system": fid}
            if items:
                schema["items"] = items
            return {"id": fid, "key": fid, "name": name, "custom": False, "orderable": fid in EDITABLE_SYSTEM,
                    "navigable": fid not in NOT_NAVIGABLE, "searchable": True,
                    "clauseNames": [fid], "schema": schema}
        typ, items, _ = FIELD_TYPES[cf.type]
        schema = {"type": typ, "custom": CF_PREFIX + cf.type, "customId": cf.number}
        if items:
            schema["items"] = items
        return {"id": cf.id, "key": cf.id, "name": cf.name, "custom": True,
                "orderable": True, "navigable": True, "searchable": cf.searcher is not None,
                "clauseNames": [f"cf[{cf.number}]", cf.name], "schema": schema}

    def render_editmeta(self, issue: Issue) -> dict:
        """GET /issue/{key}/editmeta: the fields this issue can be edited through, with the
        allowed values of option fields (children for cascading selects)."""
        out: dict[str, Any] = {}
        ops_for = {"labels": ["add", "set", "remove"]}
        for fid in [*[f for f in SYSTEM_FIELDS if f in EDITABLE_SYSTEM], *self.custom_fields]:
            if not self._settable(issue, fid):
                continue
            meta = {k: v for k, v in self.render_field(fid).items() if k in ("key", "name", "schema")}
            meta.update({"required": fid == "summary", "operations": ops_for.get(fid, ["set"])})
            cf = self.custom_fields.get(fid)
            if fid == "priority":
                meta["allowedValues"] = [self.render_priority(p) for p in self.priorities]
            elif fid == "issuetype":
                project = self.project(issue.fields["project_key"])
                meta["allowedValues"] = [self.render_issue_type(t) for t in project.issue_type_ids]
            elif cf is not None and cf.type in OPTION_TYPES:
                if FIELD_TYPES[cf.type][0] == "array":
                    meta["operations"] = ["add", "set", "remove"]
                options = [o for c in cf.contexts if c.applies(issue.fields["project"], issue.fields["issuetype"])
                           for o in c.options]
                values = []
                for o in options:
                    if o.parent_id is None:
                        entry = {**self.render_option(cf, o.id), "disabled": o.disabled}
                        kids = [self.render_option(cf, k.id) for k in options if k.parent_id == o.id]
                        if cf.type == "cascadingselect":
                            entry["children"] = kids
                        values.append(entry)
                meta["allowedValues"] = values
            out[fid] = meta
        return {"fields": out}

    def render_option(self, cf: CustomField, option_id: str) -> dict:
        opt = self.option(cf, option_id)
        return {"self": f"{self.base}{self.api}/customFieldOption/{option_id}",
                "value": opt.value if opt else option_id, "id": option_id}

    def render_value(self, fid: str, issue: Issue, tz: ZoneInfo) -> Any:
        value = issue.fields.get(fid)
        if fid == "status":
            return self.render_status(value)
        if fid == "priority":
            return self.render_priority(value)
        if fid == "issuetype":
            return self.render_issue_type(value)
        if fid == "project":
            return self.render_project(self.project(issue.fields["project_key"]))
        if fid in ("reporter", "assignee", "creator"):
            return self.render_user(value)
        if fid == "comment":
            comments = [self.render_comment(issue, c, tz) for c in issue.comments]
            return {"comments": comments, "self": f"{self.base}{self.api}/issue/{issue.id}/comment",
                    "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if fid == "watches":
            return {"self": f"{self.base}{self.api}/issue/{issue.key}/watchers", "watchCount": len(issue.watchers),
                    "isWatching": False}
        if isinstance(value, datetime):
            return jira_time(value, tz)
        cf = self.custom_fields.get(fid)
        if cf is None or value is None:
            return value
        if cf.type in ("select", "radiobuttons"):
            return self.render_option(cf, value)
        if cf.type in ("multiselect", "multicheckboxes"):
            return [self.render_option(cf, v) for v in value]
        if cf.type == "cascadingselect":
            out = self.render_option(cf, value[0])
            if value[1]:
                out["child"] = self.render_option(cf, value[1])
            return out
        if cf.type == "userpicker":
            return self.render_user(value)
        return value

    def field_ids(self, requested: list[str], default: str) -> list[str]:
        """Resolve a `fields` request (`*all`, `*navigable`, names, `-name`) to field ids."""
        tokens = [t.strip() for item in (requested or [default]) for t in str(item).split(",") if t.strip()]
        every = [*SYSTEM_FIELDS, *self.custom_fields]
        chosen: list[str] = []
        excluded: set[str] = set()
        for tok in tokens:
            if tok == "*all":
                chosen.extend(every)
            elif tok == "*navigable":
                chosen.extend(f for f in every if f not in NOT_NAVIGABLE)
            elif tok.startswith("-"):
                excluded.add(tok[1:])
            elif tok in every:
                chosen.append(tok)
            # unknown names (and "id", "key") are ignored, as Jira does
        seen: set[str] = set()
        return [f for f in chosen if f not in excluded and not (f in seen or seen.add(f))]

    def render_issue(self, issue: Issue, field_ids: list[str], tz: ZoneInfo, *, expand: set[str] | None = None,
                     id_only: bool = False) -> dict:
        if id_only:
            return {"id": str(issue.id)}
        out: dict[str, Any] = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                               "versionedRepresentations", "id": str(issue.id),
                               "self": f"{self.base}{self.api}/issue/{issue.id}", "key": issue.key,
                               "fields": {f: self.render_value(f, issue, tz) for f in field_ids}}
        if expand and "changelog" in expand:
            out["changelog"] = self.inline_changelog(issue, tz)
        if expand and "names" in expand:
            out["names"] = {f: self.field_name(f) for f in field_ids}
        return out

    def inline_changelog(self, issue: Issue, tz: ZoneInfo) -> dict:
        """`expand=changelog`. Cloud gives at most the 100 newest histories, newest first (v3 spec,
        search/jql `expand`: "sorted by date, starting from the most recent"); Data Center
        gives them all, oldest first, in one block."""
        histories = issue.histories
        if self.flavour == "cloud":
            histories = list(reversed(histories))[:100]
        return {"startAt": 0, "maxResults": len(histories), "total": len(issue.histories),
                "histories": [self.render_history(h, tz) for h in histories]}

    def render_history(self, h: History, tz: ZoneInfo, field_ids: set[str] | None = None) -> dict:
        items = [i for i in h.items if field_ids is None or i.field_id in field_ids]
        rendered = []
        for i in items:
            item: dict[str, Any] = {"field": i.field, "fieldtype": i.fieldtype}
            if self.flavour == "cloud":
                # `fieldId` is Cloud's: Server/DC items name a field only by `field` (its
                # display name for custom fields); clients fall back to it, see
                # github.com/Jellyfish-AI/jf_agent/pull/110 ("Some changelog history items do
                # not have fieldId, so use 'field'")
                item["fieldId"] = i.field_id
            item.update({"from": i.from_, "fromString": i.from_string, "to": i.to, "toString": i.to_string})
            rendered.append(item)
        return {"id": str(h.id), "author": self.render_user(h.author), "created": jira_time(h.created, tz),
                "items": rendered}

    def render_comment(self, issue: Issue, c: Comment, tz: ZoneInfo, *, with_properties: bool = False,
                       with_html: bool = False) -> dict:
        out: dict[str, Any] = {
            "self": f"{self.base}{self.api}/issue/{issue.id}/comment/{c.id}", "id": str(c.id),
            "author": self.render_user(c.author), "body": c.body, "updateAuthor": self.render_user(c.author),
            "created": jira_time(c.created, tz), "updated": jira_time(c.updated, tz)}
        if c.visibility:
            out["visibility"] = c.visibility
        if with_properties:
            # comment properties come only with `expand=properties` (Jira Server/DC REST docs,
            # "Get comments": expand "renderedBody, properties"); DC has no jsdPublic, so this
            # is how a DC client tells an internal JSM comment
            out["properties"] = c.properties
        if with_html:
            # `expand=renderedBody`: the body as HTML, as the issue view shows it (v3 spec, Comment.renderedBody)
            out["renderedBody"] = self.body_html(c.body)
        if self.flavour == "cloud":
            # jsdPublic: false only for internal comments on service-desk projects (v3 spec, Comment.jsdPublic)
            out["jsdPublic"] = not c.internal
        return out

    # -- bodies as HTML (renderedBody) ------------------------------------------------------------
    def user_link(self, user: User | None, raw: str) -> str:
        """A mentioned user as Jira renders one: their current display name, linked to their profile
        (class "user-hover"); a name no user has stays as written."""
        if user is None:
            return escape(raw)
        who = f"accountId={user.account_id}" if self.flavour == "cloud" else f"name={user.name}"
        rel = user.account_id if self.flavour == "cloud" else user.name
        return (f'<a href="{self.base}/secure/ViewProfile.jspa?{who}" class="user-hover" rel="{escape(rel)}">'
                f"{escape(user.display_name)}</a>")

    def body_html(self, body: Any) -> str:
        """ADF (Cloud) or wiki markup (Data Center) as HTML: paragraphs, line breaks, colour, and each
        mention as the mentioned user's display name (`user_link`)."""
        if isinstance(body, str):
            return _wiki_html(body, lambda name: self.user_link(
                next((u for u in self.users.values() if u.name.casefold() == name.casefold()), None), name))
        return _adf_html(body, lambda account: self.user_link(
            next((u for u in self.users.values() if u.account_id == account), None), account))


#: wiki markup: a user mention `[~name]`, a colour macro, an escaped character
_WIKI_TOKEN = re.compile(r"\[~([^\]]+)\]|\{color(?::[^}]*)?\}|\\(.)")


def _wiki_html(body: str, mention: Callable[[str], str]) -> str:
    """Jira's wiki renderer, for what comments use: `[~name]` as the user, `{color}` dropped, escapes undone."""
    def line(text: str) -> str:
        out, at = [], 0
        for found in _WIKI_TOKEN.finditer(text):
            out.append(escape(text[at:found.start()]))
            if found.group(1) is not None:
                out.append(mention(found.group(1)))
            elif found.group(2) is not None:
                out.append(escape(found.group(2)))
            at = found.end()
        out.append(escape(text[at:]))
        return "".join(out)
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    return "".join("<p>" + "<br/>\n".join(line(x) for x in p.split("\n")) + "</p>" for p in paragraphs)


def _adf_html(node: Any, mention: Callable[[str], str]) -> str:
    """An ADF node as HTML: paragraphs, text, hard breaks, mentions (by their account id, shown as the
    user's current name: Jira renders the user, not the node's `text`)."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return escape(str(node.get("text") or ""))
    if kind == "hardBreak":
        return "<br/>"
    if kind == "mention":
        return mention(str((node.get("attrs") or {}).get("id") or ""))
    inner = "".join(_adf_html(child, mention) for child in node.get("content") or [])
    return f"<p>{inner}</p>" if kind == "paragraph" else inner
