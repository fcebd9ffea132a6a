"""What the sandbox Jira's bot may do: its profile, and Jira's permission catalogue.

Jira grants project permissions through a project's permission scheme (Atlassian,
"Permissions for company-managed projects",
support.atlassian.com/jira-cloud-administration/docs/permissions-for-company-managed-projects/).
The sandbox does not model schemes: every user holds every permission, except the bot
when it is started with a `BotProfile` that lacks some. Two site settings the bot runs
into are part of the profile too, because a client sees them the same way, as a refusal:
"Allow users to watch issues" (General configuration; the v3 spec of
POST /issue/{key}/watchers requires it ON) and outgoing mail (System > Outgoing mail; the
v3 spec of POST /issue/{key}/notify answers 403 "if outgoing emails are disabled").

Where each lacking permission is refused, and how, is in `sandbox.jira.responses` (and, for
"Administer Jira", `sandbox.jira.webhooks`);
`GET /mypermissions` reports the profile truthfully.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: key -> (id, name, type, description), as GET /rest/api/3/permissions lists them
#: (ids and texts from Jira's built-in permission list; the v3 spec names the keys in
#: the description of GET /rest/api/3/mypermissions).
CATALOGUE: dict[str, tuple[str, str, str, str]] = {
    "ADMINISTER": ("0", "Administer Jira", "GLOBAL",
                   "Create and administer projects, issue types, fields, workflows, and schemes for all "
                   "projects. Users with this permission can perform most administration tasks, except: "
                   "managing users, importing data, and editing system email settings."),
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT",
                        "Ability to browse projects and the issues within them."),
    "CREATE_ISSUES": ("11", "Create Issues", "PROJECT", "Ability to create issues."),
    "EDIT_ISSUES": ("12", "Edit Issues", "PROJECT", "Ability to edit issues."),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "PROJECT", "Ability to assign issues to other people."),
    "RESOLVE_ISSUES": ("14", "Resolve Issues", "PROJECT",
                       "Ability to resolve and reopen issues. This includes the ability to set a fix version."),
    "ADD_COMMENTS": ("15", "Add Comments", "PROJECT", "Ability to comment on issues."),
    "LINK_ISSUES": ("21", "Link Issues", "PROJECT",
                    "Ability to link issues together and create linked issues. Only useful if issue "
                    "linking is turned on."),
    "VIEW_VOTERS_AND_WATCHERS": ("31", "View Voters and Watchers", "PROJECT",
                                 "Ability to view the voters and watchers of an issue."),
    "MANAGE_WATCHERS": ("32", "Manage Watchers", "PROJECT", "Ability to manage the watchers of an issue."),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "PROJECT", "Ability to transition issues."),
}

#: the permissions a profile may take away: the ones the sandbox refuses on (ADMINISTER: the admin
#: webhooks resource, sandbox.jira.webhooks)
ENFORCED = frozenset({"BROWSE_PROJECTS", "EDIT_ISSUES", "ADD_COMMENTS", "TRANSITION_ISSUES", "MANAGE_WATCHERS",
                      "ADMINISTER"})


@dataclass(frozen=True)
class BotProfile:
    """The bot's rights: `lacks` names project permissions it does not hold (any of
    `ENFORCED`); `watching` and `outgoing_mail` are the site's settings."""

    lacks: frozenset[str] = field(default_factory=frozenset)
    watching: bool = True
    outgoing_mail: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "lacks", frozenset(self.lacks))
        unknown = sorted(self.lacks - ENFORCED)
        if unknown:
            raise ValueError(f"BotProfile.lacks: {unknown} are not permissions the sandbox enforces "
                             f"(one of {sorted(ENFORCED)})")


def render(key: str, have: bool) -> dict:
    """One entry of `Permissions.permissions` (v3 spec, UserPermission)."""
    pid, name, type_, description = CATALOGUE[key]
    return {"id": pid, "key": key, "name": name, "type": type_, "description": description,
            "havePermission": have}
