"""The sandbox Jira's screens: which fields a project's issues can be set through.

Jira only lets `PUT /issue/{key}` (and `POST /issue`) set a field that is on the issue's
edit (create) screen; any other answers 400 with
`errors: {"<id>": "Field '<id>' cannot be set. It is not on the appropriate screen, or unknown."}`
(the text as live Cloud sites answer it, quoted in
github.com/tenable/integration-jira-cloud/issues/37 and #147). `GET /issue/{key}/editmeta`
lists only the fields on that screen.

The way from a project to its screens (classic projects): the project uses one issue
type screen scheme, which maps each issue type (or `default`) to a screen scheme, which
names a screen per operation (`default`, `create`, `edit`, `view`; an operation with no
screen of its own uses `default`). See the v3 spec: `GET /rest/api/3/issuetypescreenscheme/project`,
`.../issuetypescreenscheme/mapping`, `GET /rest/api/3/screenscheme` (`ScreenTypes`).

A fresh site has "Default Screen" (id 1, "Provides for the update of all system fields.",
as in the v3 spec's example of `GET /rest/api/3/screens`), "Default Screen Scheme" and
"Default Issue Type Screen Scheme". `POST /screens/addToDefault/{fieldId}` puts a field on
the Default Screen only. A project made here gets its own screen, screen scheme and issue
type screen scheme, named after the project ("VULN: Task Management Edit/View Issue Screen"
is how Cloud names one, github.com/tenable/integration-jira-cloud/issues/175), so a field
on the Default Screen is not yet on a project's screen - as on a real site.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sandbox.jira.exceptions import JiraError
from sandbox.jira.types import EDITABLE_SYSTEM, SYSTEM_FIELDS

#: the project type's template name, as Jira prefixes a project's own screens
_TEMPLATE = {"service_desk": "Jira Service Management", "software": "Scrum", "business": "Task Management"}


@dataclass
class ScreenTab:
    id: int
    name: str
    fields: list[str] = field(default_factory=list)


@dataclass
class Screen:
    id: int
    name: str
    description: str
    tabs: list[ScreenTab] = field(default_factory=list)

    def fields(self) -> list[str]:
        return [f for t in self.tabs for f in t.fields]


@dataclass
class ScreenScheme:
    id: int
    name: str
    description: str
    screens: dict[str, int]  # default / create / edit / view -> screen id ("default" always)


@dataclass
class IssueTypeScreenScheme:
    id: str
    name: str
    description: str
    mapping: dict[str, str]  # issue type id or "default" -> screen scheme id
    project_ids: list[str] = field(default_factory=list)


class JiraScreens:
    """Screens, screen schemes and issue type screen schemes; mixed into `JiraModel`."""

    custom_fields: dict[str, Any]  # JiraModel's

    def _init_screens(self) -> None:
        self.screens: dict[int, Screen] = {}
        self.screen_schemes: dict[int, ScreenScheme] = {}
        self.issue_type_screen_schemes: dict[str, IssueTypeScreenScheme] = {}
        self._screen_ids = itertools.count(10000)
        self._tab_ids = itertools.count(10000)
        system = [f for f in SYSTEM_FIELDS if f in EDITABLE_SYSTEM]
        default = Screen(1, "Default Screen", "Provides for the update of all system fields.",
                         [ScreenTab(next(self._tab_ids), "Field Tab", list(system))])
        self.screens[1] = default
        self.screen_schemes[1] = ScreenScheme(1, "Default Screen Scheme", "Default Screen Scheme", {"default": 1})
        self.issue_type_screen_schemes["1"] = IssueTypeScreenScheme(
            "1", "Default Issue Type Screen Scheme", "The default issue type screen scheme", {"default": "1"})

    def add_project_screens(self, project_id: str, key: str, type_key: str) -> Screen:
        """A new project's own screen (for every operation), screen scheme and issue type screen scheme."""
        prefix = f"{key}: {_TEMPLATE.get(type_key, 'Task Management')}"
        system = [f for f in SYSTEM_FIELDS if f in EDITABLE_SYSTEM]
        screen = Screen(next(self._screen_ids), f"{prefix} Edit/View Issue Screen", "",
                        [ScreenTab(next(self._tab_ids), "Field Tab", list(system))])
        self.screens[screen.id] = screen
        scheme_id = next(self._screen_ids)
        self.screen_schemes[scheme_id] = ScreenScheme(scheme_id, f"{prefix} Screen Scheme", "",
                                                      {"default": screen.id, "edit": screen.id})
        itss_id = str(next(self._screen_ids))
        self.issue_type_screen_schemes[itss_id] = IssueTypeScreenScheme(
            itss_id, f"{prefix} Issue Type Screen Scheme", "", {"default": str(scheme_id)}, [project_id])
        return screen

    # -- the way from a project to a screen -----------------------------------------------------
    def issue_type_screen_scheme_of(self, project_id: str) -> IssueTypeScreenScheme:
        for itss in self.issue_type_screen_schemes.values():
            if project_id in itss.project_ids:
                return itss
        return self.issue_type_screen_schemes["1"]  # a project with none of its own uses the default

    def screen_for(self, project_id: str, issue_type_id: str, operation: str = "edit") -> Screen:
        itss = self.issue_type_screen_scheme_of(project_id)
        scheme = self.screen_schemes[int(itss.mapping.get(issue_type_id) or itss.mapping["default"])]
        return self.screens[scheme.screens.get(operation) or scheme.screens["default"]]

    def on_screen(self, project_id: str, issue_type_id: str, field_id: str, operation: str = "edit") -> bool:
        return field_id in self.screen_for(project_id, issue_type_id, operation).fields()

    # -- screens and tabs -----------------------------------------------------------------------
    def screen(self, screen_id: Any) -> Screen:
        try:
            return self.screens[int(screen_id)]
        except (KeyError, ValueError):
            # 404 "if the screen is not found" (v3 spec, GET .../tabs and .../tabs/{tabId}/fields);
            # the text as Cloud words it, github.com/estuary/connectors/pull/2933
            raise JiraError(404, [f"Screen with id {screen_id} does not exist"]) from None

    def screen_tab(self, screen: Screen, tab_id: Any) -> ScreenTab:
        for tab in screen.tabs:
            if str(tab.id) == str(tab_id):
                return tab
        raise JiraError(404, [f"Tab with id {tab_id} does not exist"])

    def _known_field(self, field_id: str) -> bool:
        return field_id in SYSTEM_FIELDS or field_id in self.custom_fields

    def add_field_to_tab(self, screen: Screen, tab: ScreenTab, field_id: str) -> None:
        if not self._known_field(field_id):
            raise JiraError(404, [f"The field with id '{field_id}' does not exist."])
        if field_id in screen.fields():
            raise JiraError(400, [f"Field '{field_id}' is already present on the screen."])
        tab.fields.append(field_id)

    def remove_field_from_tab(self, screen: Screen, tab: ScreenTab, field_id: str) -> None:
        if field_id not in tab.fields:
            raise JiraError(404, [f"The field '{field_id}' is not on the tab."])
        tab.fields.remove(field_id)

    def add_to_default_screen(self, field_id: str) -> None:
        """POST /screens/addToDefault/{fieldId}: the Default Screen's first tab; 404 "if the field
        it not found or the field is already present" (v3 spec)."""
        default = self.screens[1]
        if field_id in default.fields():
            raise JiraError(404, [f"Field '{field_id}' is already present on the screen."])
        self.add_field_to_tab(default, default.tabs[0], field_id)
