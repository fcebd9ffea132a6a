"""What the sandbox Zammad's bot (the user who owns the API token) may do: its profile.

Zammad grants permissions through roles and ticket access through group access
(`User#permissions?` and `#group_access?`): the seeded Admin role holds
`admin.*`, Agent `ticket.agent` (db/seeds/roles.rb), and an agent works in a group with
the access its `group_ids` entry lists (read, create, change, overview or full;
app/policies/ticket_policy.rb asks read to show, create to create, change to update).

A `BotProfile` takes some of that away: `lacks` removes permissions (the bot then holds
one role of its own, "Escalator bot", with the rest of Admin's and Agent's), `groups`
replaces its group access. Zammad then refuses as it would: no `admin.user` and the
`From` header is 403 (application_controller/has_user.rb), no `ticket.agent` and the
ticket routes are 403, no group access and that group's tickets are 403.
`GET /api/v1/users/me` shows the role ids and group access the profile leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sandbox.zammad.models import ADMIN_PERMISSIONS, ROLE_PERMISSIONS, Store

#: the permissions a profile may take away
KNOWN = frozenset({"admin", *ADMIN_PERMISSIONS, "ticket.agent"})
#: Zammad's group access names (the recorded admin's `group_ids` is {"1": ["full"]})
ACCESS = frozenset({"read", "create", "change", "overview", "full"})
ROLE_NAME = "Escalator bot"


@dataclass(frozen=True)
class BotProfile:
    """`lacks`: permissions the bot does not hold (`admin` takes every `admin.*`);
    `groups`: group name -> access list, the bot's only group access (None: full access
    to every group, as the sandbox gives agents)."""

    lacks: frozenset[str] = field(default_factory=frozenset)
    groups: Mapping[str, Sequence[str]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lacks", frozenset(self.lacks))
        unknown = sorted(self.lacks - KNOWN)
        if unknown:
            raise ValueError(f"BotProfile.lacks: {unknown} are not permissions the sandbox checks "
                             f"(one of {sorted(KNOWN)})")
        for name, access in (self.groups or {}).items():
            bad = sorted(set(access) - ACCESS)
            if bad:
                raise ValueError(f"BotProfile.groups[{name!r}]: {bad} is no group access (one of {sorted(ACCESS)})")


def apply(store: Store, user: dict, profile: BotProfile) -> None:
    """Give `user` (the bot) the roles and group access `profile` leaves it."""
    if profile.lacks:
        granted = ROLE_PERMISSIONS["Admin"] | ROLE_PERMISSIONS["Agent"]
        if any(p == "admin" or p.startswith("admin.") for p in profile.lacks):
            granted -= {"admin"}  # the parent grants every child: the role keeps the other children only
        if "admin" in profile.lacks:
            granted -= ADMIN_PERMISSIONS
        granted -= profile.lacks
        role = next((r for r in store.roles.values() if r["name"] == ROLE_NAME), None) \
            or store.add_role(ROLE_NAME, granted)
        role["permissions"] = granted
        user["role_ids"] = [role["id"]]
    if profile.groups is not None:
        access = {}
        for name, levels in profile.groups.items():
            group = store.by_name("groups", name)
            if group is None:
                raise KeyError(f"BotProfile.groups: no group {name!r} (add it first)")
            access[str(group["id"])] = list(levels)
        user["group_ids"] = access
