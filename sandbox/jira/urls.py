"""The sandbox Jira's routing table: which REST path reaches which `JiraResponses` method.

As in Jira, the paths differ by flavour: Cloud serves REST v3 under `/rest/api/3`, Data
Center REST v2 under `/rest/api/2`. Both serve issues, transitions, comments (plus JSM's
`/rest/servicedeskapi/request/{key}/comment`), watchers, notify, entity properties,
editmeta, fields, statuses, priorities, projects, issue links and screens with their tabs
and tab fields (the screens resources are the same on Cloud v3 and DC v2, Jira DC REST
reference, api/2/screens). Cloud only: `/search/jql` (the old `/search` answers 410 Gone,
CHANGE-2046), `/changelog/bulkfetch`, `/issue/{key}/changelog`, custom field contexts and
options, `/priority/search`, `/project/search` and the way from a project to its screens
(DC's REST API has no resource for screen schemes or issue type screen schemes), deleting a custom
field (`DELETE /field/{id}`, answered with a task, `GET /task/{id}`). Data
Center only: `/search` with `startAt` and `/customFields/{id}/options` (DC has no REST
call that creates options). Both: the admin webhooks resource, `/rest/webhooks/1.0/webhook`
(`sandbox.jira.webhooks`).

Each row is (method, path pattern, handler); a pattern is a regex anchored on the whole
path whose named groups reach the handler as `request.params`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.jira.responses import JiraResponses as R
from sandbox.jira.types import API_ROOT, User
from sandbox.jira.webhooks import ROUTES as WEBHOOK_ROUTES
from sandbox.server import Request

Handler = Callable[[R, Request, User], Any]
Route = tuple[str, str, Handler]

ISSUE = r"(?P<issue>[^/]+)"
PROPERTY = r"(?P<prop>[^/]+)"
SCREEN, TAB = r"(?P<screen>\d+)", r"(?P<tab>\d+)"
FIELD = r"(?P<field>customfield_\d+)"
CONTEXT = r"(?P<context>\d+)"


def url_paths(flavour: str) -> list[Route]:
    """The routes of one flavour, in matching order."""
    a = API_ROOT[flavour]
    both: list[Route] = [
        ("GET", f"{a}/myself", R.myself),
        ("GET", f"{a}/user", R.user),
        ("GET", f"{a}/mypermissions", R.my_permissions),
        ("GET", f"{a}/serverInfo", R.server_info),
        ("POST", f"{a}/issue", R.create_issue),
        ("GET", f"{a}/issue/{ISSUE}", R.get_issue),
        ("PUT", f"{a}/issue/{ISSUE}", R.edit_issue),
        ("GET", f"{a}/issue/{ISSUE}/editmeta", R.editmeta),
        ("GET", f"{a}/issue/{ISSUE}/transitions", R.get_transitions),
        ("POST", f"{a}/issue/{ISSUE}/transitions", R.do_transition),
        ("GET", f"{a}/issue/{ISSUE}/comment", R.get_comments),
        ("POST", f"{a}/issue/{ISSUE}/comment", R.add_comment),
        ("GET", f"{a}/issue/{ISSUE}/watchers", R.get_watchers),
        ("POST", f"{a}/issue/{ISSUE}/watchers", R.add_watcher),
        ("DELETE", f"{a}/issue/{ISSUE}/watchers", R.remove_watcher),
        ("POST", f"{a}/issue/{ISSUE}/notify", R.notify),
        ("GET", f"{a}/issue/{ISSUE}/properties", R.property_keys),
        ("GET", f"{a}/issue/{ISSUE}/properties/{PROPERTY}", R.get_property),
        ("PUT", f"{a}/issue/{ISSUE}/properties/{PROPERTY}", R.put_property),
        ("DELETE", f"{a}/issue/{ISSUE}/properties/{PROPERTY}", R.delete_property),
        ("GET", f"{a}/field", R.fields),
        ("POST", f"{a}/field", R.create_field),
        ("GET", f"{a}/status", R.statuses),
        ("GET", f"{a}/statuscategory", R.status_categories),
        ("GET", f"{a}/issuetype", R.issue_types),
        ("GET", f"{a}/priority", R.priorities),
        ("GET", f"{a}/project", R.projects),
        # not "search": GET /rest/api/3/project/search is a route of its own on Cloud
        ("GET", f"{a}/project/(?P<project>(?!search$)[^/]+)", R.project),
        ("GET", f"{a}/project/(?P<project>[^/]+)/statuses", R.project_statuses),
        ("POST", r"/rest/servicedeskapi/request/(?P<issue>[^/]+)/comment", R.sd_comment),
        ("POST", f"{a}/issueLink", R.link_issues),
        ("GET", f"{a}/issueLinkType", R.link_types),
        ("GET", f"{a}/screens", R.get_screens),
        ("GET", f"{a}/screens/{SCREEN}/tabs", R.get_tabs),
        ("GET", f"{a}/screens/{SCREEN}/tabs/{TAB}/fields", R.get_tab_fields),
        ("POST", f"{a}/screens/{SCREEN}/tabs/{TAB}/fields", R.add_tab_field),
        ("DELETE", f"{a}/screens/{SCREEN}/tabs/{TAB}/fields/(?P<field>[^/]+)", R.remove_tab_field),
        ("POST", f"{a}/screens/addToDefault/(?P<field>[^/]+)", R.add_to_default),
        # admin webhooks: the same resource on Cloud and Data Center, outside the API root
        *WEBHOOK_ROUTES,
    ]
    if flavour == "cloud":
        return both + [
            *((method, old, R.gone) for old in ("/rest/api/3/search", "/rest/api/2/search", "/rest/api/latest/search")
              for method in ("GET", "POST")),
            ("GET", f"{a}/search/jql", R.search_jql),
            ("POST", f"{a}/search/jql", R.search_jql),
            ("POST", f"{a}/changelog/bulkfetch", R.bulk_changelog),
            ("GET", f"{a}/issue/{ISSUE}/changelog", R.issue_changelog),
            ("GET", f"{a}/priority/search", R.priority_search),
            ("GET", f"{a}/project/search", R.project_search),
            ("DELETE", f"{a}/field/{FIELD}", R.delete_field),
            ("GET", f"{a}/task/(?P<task>\\d+)", R.get_task),
            ("GET", f"{a}/field/{FIELD}/context", R.get_contexts),
            ("POST", f"{a}/field/{FIELD}/context", R.create_context),
            ("GET", f"{a}/field/{FIELD}/context/{CONTEXT}/option", R.get_options),
            ("POST", f"{a}/field/{FIELD}/context/{CONTEXT}/option", R.create_options),
            ("PUT", f"{a}/field/{FIELD}/context/{CONTEXT}/project", R.context_projects),
            ("PUT", f"{a}/field/{FIELD}/context/{CONTEXT}/issuetype", R.context_issue_types),
            ("GET", f"{a}/issuetypescreenscheme/project", R.itss_projects),
            ("GET", f"{a}/issuetypescreenscheme/mapping", R.itss_mapping),
            ("GET", f"{a}/screenscheme", R.screen_schemes),
        ]
    return both + [
        ("GET", f"{a}/search", R.search_dc),
        ("POST", f"{a}/search", R.search_dc),
        ("GET", f"{a}/customFields/(?P<number>\\d+)/options", R.dc_field_options),
    ]
