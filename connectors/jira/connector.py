"""`JiraConnector`: the daemon's `connectors.base.Connector` for Jira Cloud and Data Center.

Reads are incremental: JQL `updated >= <cursor - overlap>` ordered by `updated, key` (the
cursor: the newest change seen, or when the last complete read reached Jira by its `Date`,
whichever is later: `connectors.base.Cursor`),
pages de-duplicated with the cursor *before* any history is fetched, so a read with
nothing new costs one search call. History comes in bulk on Cloud
(`POST /changelog/bulkfetch` for a page's new issues) and inline on Data Center
(`expand=changelog` on the search, one more call only for an issue whose inline
changelog is incomplete).

Writes are idempotent where Jira allows: notes carry a marker and are searched for
first; a status change is skipped when the issue is already in the wanted state and
logged as `jira.transition-missing` when the workflow offers no way (nothing forced).
Every write is logged with a stable event name and structured fields, never a token.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import (
    Change,
    Cursor,
    Fresh,
    Person,
    ReadResult,
    RecordSpec,
    marker_text,
    markers_in,
    plain,
    record_label,
)
from connectors.http import NotFound, RateLimited, ServerError, TrackerError, Unreachable
from connectors.jira.adf import adf_doc, adf_note, body_text, wiki_body, wiki_note
from connectors.jira.client import RECONCILE_MAX, JiraClient, JiraCloudClient
from connectors.jira.translate import Translator, history_field_ids, needed_fields, parse_time
from connectors.writes import write_once
from mapping.fieldmap import TrackerMapping
from mapping.incident import Incident

log = logging.getLogger("escalator.jira")

#: JQL date literal format, minute precision, read in the searching user's time zone
#: (https://support.atlassian.com/jira-software-cloud/docs/jql-fields/#Updated).
JQL_DATE = "%Y/%m/%d %H:%M"
SERVICE_DESK = "service_desk"
#: `issueIdsOrKeys` of POST /changelog/bulkfetch takes at most 1000 (BulkChangelogRequestBean)
BULK_CHANGELOG_MAX = 1000
#: The incident's entity property naming its problem record (strongly consistent, unlike search)
PROBLEM_PROPERTY = "incident-escalator-problem"
#: Link types to use when none is configured, best first: Jira Service Management's own, then
#: the one every Jira site has (GET /issueLinkType says which exist)
LINK_TYPE_PREFERENCE = ("Problem/Incident", "Relates")


def jql_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jql_id(value: str) -> str:
    """An id unquoted (JQL reads a quoted value as a name first), anything else quoted."""
    return value if value.isdigit() else jql_quote(value)


class JiraConnector:
    """One Jira site, one mapping file."""

    tracker = "jira"
    #: Where a Jira issue lives; the duty settings name where the escalator files its own
    #: issues under this key (duties.problems.project, duties.callbacks_task.project)
    container_key = "project"
    #: What Jira calls a label, in each note language (a note tells people what to add)
    label_term = {"zh": "标签", "en": "label"}

    def __init__(self, client: JiraClient, mapping: TrackerMapping, *, page_size: int = 100):
        self.client = client
        self.mapping = mapping
        self.page_size = page_size
        self.translator = Translator(mapping, self._user_seen)
        #: user id -> display name (None: Jira does not know the user), learnt from every user object
        #: a read brings (authors, assignees) and asked for only for the others (`person`)
        self._names: dict[str, str | None] = {}
        self._zone: ZoneInfo | None = None
        self._read_started: datetime | None = None  # the running read's first page, on Jira's clock
        self._project_types: dict[str, str] = {}
        self._link_type_name: str | None = None
        #: ids of the issues this connector filed lately, newest last: a search for them asks
        #: Jira Cloud to reconcile these, so one filed a moment ago is not missed
        self._filed: deque[int] = deque(maxlen=RECONCILE_MAX)

    @property
    def cloud(self) -> bool:
        return isinstance(self.client, JiraCloudClient)

    # -- reads ----------------------------------------------------------------------------
    def timezone(self) -> ZoneInfo:
        """The API user's time zone, in which Jira reads JQL dates (asked once)."""
        if self._zone is None:
            name = (self.client.myself() or {}).get("timeZone") or "UTC"
            try:
                self._zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("jira.timezone-unknown", extra={"event": "jira.timezone-unknown", "zone": name})
                self._zone = ZoneInfo("UTC")
        return self._zone

    def jql(self, since: datetime | None) -> str:
        clauses = []
        if self.mapping.projects:
            clauses.append(f"project in ({', '.join(jql_quote(p) for p in self.mapping.projects)})")
        if self.mapping.issue_types:
            clauses.append(f"issuetype in ({', '.join(jql_id(t) for t in self.mapping.issue_types)})")
        if since is not None:
            # JQL compares minutes: flooring to the minute only widens the window, and the
            # cursor's overlap plus `is_new` absorb what comes back twice
            local = since.astimezone(self.timezone())
            clauses.append(f'updated >= "{local.strftime(JQL_DATE)}"')
        return " AND ".join(clauses) + " ORDER BY updated ASC, key ASC"

    def read_changed(self, cursor: Cursor) -> Iterator[ReadResult]:
        # the time zone is asked on the first read, even a full one, so that every later
        # incremental read costs a single search call
        self.timezone()
        jql = self.jql(cursor.query_from())
        # Paging is by offset (`startAt`, or a `nextPageToken` that stands for one) over
        # `ORDER BY updated`: an issue updated while we page moves to the end and shifts the
        # later pages left by one, so an issue may slip between two pages. Seeing an id twice
        # in one read betrays it: one more pass from the same query, the cursor dropping what
        # the first pass already yielded (as the Zammad connector does).
        self._read_started = None
        for attempt in range(2):
            drifted = yield from self._read_pass(jql, cursor)
            if not drifted:
                break
            log.info("jira.read-drift", extra={"event": "jira.read-drift", "attempt": attempt + 1})
        # complete: what was updated `overlap` before the first page was asked for has been shown
        # (`Cursor.read_at`); a read given up half-way never gets here
        cursor.read_at = self._read_started

    def _read_pass(self, jql: str, cursor: Cursor) -> Generator[ReadResult, None, bool]:
        """One paging of `jql`; returns whether an issue came back twice (the pages drifted).

        Streams: an issue is translated, yielded and let go as soon as its history is in hand — at
        once on Data Center (inline) and for an issue never changed (no history); on Cloud an
        issue with a history waits for the bulk changelog, asked for up to `BULK_CHANGELOG_MAX` of
        them over as many pages as that takes. So a read holds at most a page and that many
        issues, whatever the number read."""
        drifted = False
        seen_here: set[str] = set()
        # id -> (issue, field names), in page order; a newer version replaces one not yet translated
        pending: dict[str, tuple[dict, dict[str, str]]] = {}  # Cloud: waiting for their changelog
        for issues, inline, names in self._pages(jql):
            ready: list[tuple[dict, dict[str, str]]] = []
            for issue in issues:
                issue_id = str(issue["id"])
                if issue_id in seen_here:
                    drifted = True
                seen_here.add(issue_id)
                if not cursor.is_new(issue_id, _updated(issue)):
                    continue
                pending.pop(issue_id, None)
                # every change bumps `updated`: an issue never updated since it was created has no
                # changelog, and costs no history call
                if inline or _updated(issue) == _created(issue):
                    ready.append((issue, names))
                    continue
                pending[issue_id] = (issue, names)
                if len(pending) >= BULK_CHANGELOG_MAX:  # one changelog call per bulk request's worth
                    batch, pending = list(pending.values()), {}
                    yield from self._translate(batch, False, cursor)
            yield from self._translate(ready, inline, cursor)
        batch, pending = list(pending.values()), {}
        yield from self._translate(batch, False, cursor)
        return drifted

    def _translate(self, batch: list[tuple[dict, dict[str, str]]], inline: bool,
                   cursor: Cursor) -> Iterator[ReadResult]:
        """Translate and yield `batch` in order, emptying it: each raw issue and its history are let go
        once translated."""
        histories = self._histories([i for i, _ in batch], inline)
        batch.reverse()
        while batch:
            issue, names = batch.pop()
            self._remember_project(issue)
            result = self.translator.translate(issue, histories.pop(str(issue["id"]), []), names)
            if not isinstance(result, Incident):
                log.warning("jira.unreadable", extra={"event": "jira.unreadable", "key": result.ref,
                                                      "reason": result.reason})
            yield result
            cursor.advance(str(issue["id"]), _updated(issue))

    def read_one(self, ticket_id: str) -> ReadResult:
        fields = needed_fields(self.mapping)
        if self.cloud:
            issue = self.client.get_issue(ticket_id, fields)
            histories = self._cloud_histories([str(issue["id"])])
            names: dict[str, str] = {}
        else:
            issue = self.client.get_issue(ticket_id, fields, expand="changelog,names")
            histories = {str(issue["id"]): (issue.get("changelog") or {}).get("histories") or []}
            names = issue.get("names") or {}
        self._remember_project(issue)
        return self.translator.translate(issue, histories.get(str(issue["id"]), []), names)

    def read_fresh(self, ticket_id: str) -> Fresh:
        """The issue, its comments and its changelog in ONE call: GET /issue/{key} with the
        `comment` field and `expand=changelog` (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-get).
        Only when Jira cut either short (Cloud returns the 100 newest histories; the comment
        field says `total`) is the rest asked for: the bulk changelog (Cloud), the issue's whole
        changelog (DC), the comment pages."""
        fields = [*needed_fields(self.mapping), "comment"]
        issue = self.client.get_issue(ticket_id, fields, expand="changelog" if self.cloud else "changelog,names")
        key, issue_id = str(issue["key"]), str(issue["id"])
        log_ = issue.get("changelog") or {}
        histories = log_.get("histories") or []
        if int(log_.get("total") or len(histories)) > len(histories):
            histories = self._cloud_histories([issue_id]).get(issue_id, []) if self.cloud else \
                (self.client.get_issue(key, ["updated"], expand="changelog").get("changelog") or {}).get(
                    "histories") or histories
        block = (issue.get("fields") or {}).get("comment") or {}
        comments = block.get("comments") or []
        if int(block.get("total") or len(comments)) > len(comments):
            comments = list(self.client.comments(key))
        found: set[str] = set()
        for comment in comments:
            found |= markers_in(body_text(comment.get("body")))
        self._remember_project(issue)
        item = self.translator.translate(issue, histories, issue.get("names") or {})
        return Fresh(item, frozenset(found))

    def _pages(self, jql: str) -> Iterator[tuple[list[dict], bool, dict[str, str]]]:
        """(issues, changelog inline?, field names) per search page, until the last."""
        inline = not self.cloud
        for page in self.client.search_pages(jql, needed_fields(self.mapping), self.page_size):
            if self._read_started is None:  # the read's first page: when it reached the tracker
                self._read_started = self.client.http.answered_at
            yield page.get("issues") or [], inline, page.get("names") or {}

    def _histories(self, issues: list[dict], inline: bool) -> dict[str, list[dict]]:
        if not issues:
            return {}
        if not inline:
            # every change bumps `updated`: an issue never updated since it was created has
            # no changelog, and costs no history call
            changed = [str(i["id"]) for i in issues if _updated(i) != _created(i)]
            return self._cloud_histories(changed) if changed else {}
        out: dict[str, list[dict]] = {}
        for issue in issues:
            log_ = issue.get("changelog") or {}
            histories = log_.get("histories") or []
            if int(log_.get("total") or len(histories)) > len(histories):
                # the inline changelog was cut short: ask for the issue's whole history
                full = self.client.get_issue(str(issue["key"]), ["updated"], expand="changelog")
                histories = (full.get("changelog") or {}).get("histories") or histories
            out[str(issue["id"])] = histories
        return out

    def _cloud_histories(self, ids: list[str]) -> dict[str, list[dict]]:
        client = self.client
        if not isinstance(client, JiraCloudClient):  # DC has no bulk changelog; callers check
            raise TypeError("the bulk changelog is a Jira Cloud resource")
        out: dict[str, list[dict]] = {i: [] for i in ids}
        for entry in client.all_changelogs(ids, history_field_ids(self.mapping)):
            out.setdefault(str(entry.get("issueId")), []).extend(entry.get("changeHistories") or [])
        return out

    def _remember_project(self, issue: dict) -> None:
        project = (issue.get("fields") or {}).get("project") or {}
        if project.get("key") and project.get("projectTypeKey"):
            self._project_types[project["key"]] = project["projectTypeKey"]

    # -- people ---------------------------------------------------------------------------------
    def _user_seen(self, user: dict | None) -> str | None:
        """The id of a user object of an answer, its display name remembered for the notes."""
        user_id = self.client.user_id(user)
        if user_id and (user or {}).get("displayName"):
            self._names[user_id] = str(user["displayName"])
        return user_id

    def person(self, user: str) -> Person:
        """The user behind an id of the role directory: GET /user (Cloud `accountId=`, Data Center
        `username=`; https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-users/#api-rest-api-3-user-get),
        once per user; a user seen in a read costs nothing. One Jira does not know (404) is named by
        the id; one whose profile the token may not see (403) too, and is asked again later."""
        if user not in self._names:
            try:
                self._names[user] = self.client.user_name(user)
            except (Unreachable, ServerError, RateLimited):
                raise
            except NotFound:
                log.warning("jira.user-missing", extra={"event": "jira.user-missing", "user": user})
                self._names[user] = None
            except TrackerError as err:
                log.warning("jira.user-unreadable", extra={"event": "jira.user-unreadable", "user": user,
                                                           "status": err.status})
                return Person(user)
        return Person(user, self._names[user])

    # -- writes ---------------------------------------------------------------------------
    def _set_fields(self, incident: Incident, fields: dict, term: str, value: object) -> None:
        try:
            self.client.edit_issue(incident.ref, fields)
        except TrackerError as err:
            self._field_error(incident, err, fields, term)
        log.info("jira.field-set", extra={"event": "jira.field-set", "key": incident.ref, "term": term,
                                          "value": value, "fields": sorted(fields)})

    def _field_error(self, incident: Incident, err: TrackerError, fields: dict, term: str) -> None:
        """Raise `err`, reworded on one line when Jira refused a field that is not on the screen."""
        # Jira refuses a field that is not on the issue's edit screen with 400 and
        # errors {"<id>": "Field '<id>' cannot be set. It is not on the appropriate screen,
        # or unknown."}: say which procedure field and what fixes it, on one line
        off = [f for f in fields if "appropriate screen" in err.field_errors.get(f, "")]
        if err.status != 400 or not off:
            raise err
        log.warning("jira.field-not-on-screen", extra={"event": "jira.field-not-on-screen",
                                                       "key": incident.ref, "term": term, "fields": off})
        raise TrackerError(
            f"jira: {incident.ref}: cannot set the {term} field {', '.join(off)}: it is not on the edit screen "
            "of the issue's project (or unknown) - run `escalator mapping check`, then `escalator mapping "
            "apply` or add it to the screen by hand", status=err.status, method=err.method, path=err.path,
            messages=err.messages, field_errors=err.field_errors) from None

    def set_severity(self, incident: Incident, severity: int) -> None:
        sev = self.mapping.severity
        option = sev.values[severity]
        if sev.source == "priority":
            self._set_fields(incident, {"priority": {"id": option}}, "severity", severity)
        else:
            self._set_fields(incident, {str(sev.field): {"id": option}}, "severity", severity)

    def set_escalation_level(self, incident: Incident, level: int) -> None:
        lvl = self.mapping.escalation_level
        self._set_fields(incident, {lvl.field: {"id": lvl.values[level]}}, "escalation_level", level)

    def set_state(self, incident: Incident, state: int) -> bool:
        if incident.state == state:
            return True  # already there: nothing to do
        wanted = set(self.mapping.states.get(state, []))
        for transition in self.client.get_transitions(incident.ref):
            target = str((transition.get("to") or {}).get("id"))
            if target in wanted:
                self.client.do_transition(incident.ref, str(transition["id"]))
                log.info("jira.transitioned", extra={"event": "jira.transitioned", "key": incident.ref,
                                                     "state": state, "transition": transition.get("id"),
                                                     "status": target})
                return True
        log.warning("jira.transition-missing", extra={"event": "jira.transition-missing", "key": incident.ref,
                                                      "state": state, "statuses": sorted(wanted)})
        return False

    def write(self, incident: Incident, change: Change) -> bool:
        """The note and its values in one request: a put-back is the transition with the comment,
        anything else PUT /issue with the comment and the fields (`JiraClient.edit_with_comment`).
        Jira applies such a request whole or refuses it whole (a field off the screen: 400, nothing
        stored)."""
        internal = self._is_service_desk(incident.project)
        body = adf_note(change.text, change.marker) if self.cloud else wiki_note(change.text, change.marker)
        comment = self.client.comment_bean(body, internal=internal)
        fields: dict = {}
        part_of: dict[str, str] = {}  # field id -> the value it carries, to name a refused one
        if change.severity is not None:
            sev = self.mapping.severity
            key = "priority" if sev.source == "priority" else str(sev.field)
            fields[key], part_of[key] = {"id": sev.values[change.severity]}, "severity"
        if change.level is not None:
            lvl = self.mapping.escalation_level
            fields[lvl.field], part_of[lvl.field] = {"id": lvl.values[change.level]}, "level"
        landed = lambda: change.marker in self.read_fresh(incident.id).markers  # noqa: E731
        if change.state is not None and incident.state != change.state:
            wanted = set(self.mapping.states.get(change.state, []))
            transition = next((t for t in self.client.get_transitions(incident.ref)
                               if str((t.get("to") or {}).get("id")) in wanted), None)
            if transition is None:
                log.warning("jira.transition-missing", extra={"event": "jira.transition-missing",
                                                              "key": incident.ref, "state": change.state,
                                                              "statuses": sorted(wanted)})
                return False
            try:
                write_once(lambda: self.client.transition_with_comment(incident.ref, str(transition["id"]), comment),
                           landed, tracker="jira", key=incident.ref, marker=change.marker)
            except TrackerError as err:
                # a transition refused as invalid (a validator, a field its screen requires) names the
                # fields or says so in errorMessages; only errors keyed "comment" are the note's
                # (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-transitions-post)
                if err.status in (400, 409, 422) and "comment" not in err.field_errors:
                    err.part = "state"
                raise
        else:
            try:
                write_once(lambda: self.client.edit_with_comment(incident.ref, fields, comment), landed,
                           tracker="jira", key=incident.ref, marker=change.marker)
            except TrackerError as err:
                # a 400 names the fields it refused in `errors` (keyed by field id); the comment's own
                # refusals are keyed "comment" or come as errorMessages: the request as a whole
                # (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-put)
                named = {part_of[f] for f in err.field_errors if f in part_of}
                try:
                    self._field_error(incident, err, fields, "+".join(change.values()) or "note")
                except TrackerError as reworded:
                    reworded.part = named.pop() if len(named) == 1 and "comment" not in err.field_errors else None
                    raise
        log.info("jira.written", extra={"event": "jira.written", "key": incident.ref, "marker": change.marker,
                                        "internal": internal, **change.values()})
        return True

    def has_marker(self, incident: Incident, marker: str) -> bool:
        needle = marker_text(marker)
        return any(needle in body_text(c.get("body")) for c in self.client.comments(incident.ref))

    def add_note(self, incident: Incident, text: str, *, marker: str, public: bool = False) -> bool:
        if self.has_marker(incident, marker):
            return False
        body = adf_note(text, marker) if self.cloud else wiki_note(text, marker)
        internal = not public and self._is_service_desk(incident.project)
        # the comment may have been stored before a failure: its marker tells
        comment = write_once(lambda: self.client.add_comment(incident.ref, body, internal=internal),
                             lambda: self.has_marker(incident, marker), tracker="jira", key=incident.ref,
                             marker=marker)
        log.info("jira.comment-added", extra={"event": "jira.comment-added", "key": incident.ref,
                                              "marker": marker, "internal": internal,
                                              "comment": (comment or {}).get("id")})
        return True

    def _is_service_desk(self, project: str | None) -> bool:
        """Only Jira Service Management projects know internal comments."""
        if not project:
            return False
        if project not in self._project_types:
            self._project_types[project] = str(self.client.get_project(project).get("projectTypeKey") or "")
        return self._project_types[project] == SERVICE_DESK

    def notify(self, incident: Incident, people: list[str], subject: str, text: str) -> None:
        """One call, POST /issue/{key}/notify: Jira queues an e-mail to the people, and its answer is
        the notification's outcome — 204 queued; 400 an invalid recipient (the calling user, say); 403
        outgoing mail off or no SMTP server
        (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-notify-post),
        so a note never claims an e-mail Jira would not send.

        The people are not added as watchers: POST /issue/{key}/watchers would subscribe them to the
        issue's later events, which is not what an escalation promises (the role is told, §5.2.2), and
        cost a second write per escalation whose refusal (403 without *Manage watcher list*) came after
        the e-mail had gone. The mention in the note's body is no substitute for this call either: Jira
        stores it whatever the recipient may see or the mail settings are, and answers nothing about
        whether anyone was told."""
        if not people:
            return
        # an e-mail: each person mentioned in the note by name (a mention is the comment's)
        text = plain(text)
        html = "<p>" + escape(text).replace("\n", "<br>") + "</p>"
        self.client.notify(incident.ref, plain(subject), text, html, people)
        log.info("jira.notified", extra={"event": "jira.notified", "key": incident.ref, "people": list(people),
                                         "subject": subject})

    # -- records the escalator files: problems (§4.3.6) and the weekly call-back task (§4.6.3) ----------
    def find_problem(self, incident: Incident) -> str | None:
        # the property is written last (after the link): where it is, the problem is complete
        value = self.client.get_property(incident.ref, PROBLEM_PROPERTY)
        return str(value["key"]) if isinstance(value, dict) and value.get("key") else None

    def create_problem(self, incident: Incident, title: str, text: str, spec: RecordSpec) -> str:
        label = record_label("problem", incident.ref)
        # a run that crashed after POST /issue left the problem labelled: finish that one
        key = self.find_task(label)
        if key is None:
            key = self._create(label, title, text, spec.container or incident.project, spec.issue_type, None)
            log.info("jira.problem-created", extra={"event": "jira.problem-created", "key": incident.ref,
                                                    "problem": key, "label": label})
        self._link(incident, key, spec)
        self.client.put_property(incident.ref, {"key": key}, PROBLEM_PROPERTY)
        return key

    def link_record(self, incident: Incident, label: str, spec: RecordSpec) -> str:
        key = self.find_task(label)
        if key is None:
            raise TrackerError(f"jira: no issue labelled {label!r} to link {incident.ref} to")
        self._link(incident, key, spec)
        return key

    def _link(self, incident: Incident, ref: str, spec: RecordSpec) -> None:
        link_type = self._link_type(spec.link_type)
        # "<problem> causes <incident>" with Problem/Incident; symmetric with Relates
        self.client.link_issues(link_type, incident.ref, ref)
        log.info("jira.linked", extra={"event": "jira.linked", "key": incident.ref, "other": ref,
                                       "link_type": link_type})

    def find_task(self, label: str) -> str | None:
        jql = f"labels = {jql_quote(label)} ORDER BY created ASC"
        # Cloud's search index lags behind a create: name what we filed lately (a problem whose
        # link failed a moment ago must be found, not filed twice). DC searches its own index,
        # updated with the create.
        page = self.client.search(jql, ["summary"], 1, reconcile=list(self._filed)) \
            if isinstance(self.client, JiraCloudClient) else self.client.search(jql, ["summary"], 1, 0)
        issues = page.get("issues") or []
        return str(issues[0]["key"]) if issues else None

    def create_task(self, label: str, title: str, text: str, spec: RecordSpec, assignee: str | None) -> str:
        project = spec.container or (self.mapping.projects[0] if self.mapping.projects else None)
        if not project:
            raise TrackerError("jira: no project to file the task in (set duties.callbacks_task.project)")
        key = self._create(label, title, text, project, spec.issue_type, assignee)
        log.info("jira.task-created", extra={"event": "jira.task-created", "key": key, "label": label,
                                             "assignee": assignee})
        return key

    def _create(self, label: str, title: str, text: str, project: str | None, issue_type: str,
                assignee: str | None) -> str:
        if not project:
            raise TrackerError("jira: the incident has no project to file its problem in "
                               "(set duties.problems.project)")
        fields: dict = {"project": {"key": project}, "issuetype": {"name": issue_type}, "summary": title[:255],
                        "labels": [label],
                        "description": adf_doc(text) if self.cloud else wiki_body(text)}
        if assignee:
            fields["assignee"] = self.client.user_ref(assignee)
        created = self.client.create_issue(fields)
        if str(created.get("id") or "").isdigit():
            self._filed.append(int(created["id"]))
        return str(created["key"])

    def _link_type(self, wanted: str | None) -> str:
        if wanted:
            return wanted
        if self._link_type_name is None:
            names = {str(t.get("name")) for t in self.client.issue_link_types()}
            found = next((n for n in LINK_TYPE_PREFERENCE if n in names), None)
            if found is None:
                raise TrackerError(f"jira: none of the link types {', '.join(LINK_TYPE_PREFERENCE)} exists "
                                   "(set duties.problems.link_type)")
            self._link_type_name = found
        return self._link_type_name

    def close(self) -> None:
        self.client.http.close()


def _updated(issue: dict) -> datetime:
    return parse_time((issue.get("fields") or {}).get("updated")) or datetime.min.replace(tzinfo=UTC)


def _created(issue: dict) -> datetime | None:
    return parse_time((issue.get("fields") or {}).get("created"))

