"""The sandbox Zammad's routing table: which REST path reaches which `ZammadResponses` method.

Each row is (method, path under `/api/v1`, handler, permission). A pattern is a regex
anchored on the whole path whose named groups reach the handler as parameters; the
permission is what the controller's `prepend_before_action { authorize! }` (or its
Pundit policy) asks of the acting user: one name, any of several, or None when every
authenticated user may call (the handler then checks access to the record itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.zammad.responses import API, Ctx
from sandbox.zammad.responses import ZammadResponses as R
from sandbox.zammad.webhooks import ROUTES as WEBHOOK_ROUTES

Permission = str | tuple[str, ...] | None
Route = tuple[str, str, Callable[[R, Ctx], Any], Permission]

URL_PATHS: list[Route] = [
    # users (users_controller.rb)
    ("GET", "/users/me", R.me, None),
    ("GET", "/users", R.users, ("admin.user", "ticket.agent")),
    ("GET", "/users/search", R.users_search, ("admin.user", "ticket.agent")),
    ("GET", r"/users/(?P<id>\d+)", R.user_show, None),
    ("POST", "/users", R.user_create, ("admin.user", "ticket.agent")),
    ("PUT", r"/users/(?P<id>\d+)", R.user_update, ("admin.user", "ticket.agent")),
    ("DELETE", r"/users/(?P<id>\d+)", R.user_delete, "admin.user"),
    # organizations (organizations_controller.rb)
    ("GET", "/organizations", R.organizations, None),
    ("GET", r"/organizations/(?P<id>\d+)", R.organization_show, None),
    ("POST", "/organizations", R.organization_create, ("admin.organization", "ticket.agent")),
    # groups (groups_controller.rb)
    ("GET", "/groups", R.groups, None),
    ("GET", r"/groups/(?P<id>\d+)", R.group_show, None),
    ("POST", "/groups", R.group_create, "admin.group"),
    ("PUT", r"/groups/(?P<id>\d+)", R.group_update, "admin.group"),
    ("DELETE", r"/groups/(?P<id>\d+)", R.group_delete, "admin.group"),
    # ticket states and priorities (ticket_states_controller.rb, ticket_priorities_controller.rb);
    # Zammad has no ticket_state_types endpoint: `expand=true` names each state's type
    ("GET", "/ticket_states", R.states, None),
    ("GET", r"/ticket_states/(?P<id>\d+)", R.state_show, None),
    ("POST", "/ticket_states", R.state_create, "admin.object"),
    ("PUT", r"/ticket_states/(?P<id>\d+)", R.state_update, "admin.object"),
    ("GET", "/ticket_priorities", R.priorities, None),
    ("POST", "/ticket_priorities", R.priority_create, "admin.object"),
    ("PUT", r"/ticket_priorities/(?P<id>\d+)", R.priority_update, "admin.object"),
    ("GET", r"/ticket_priorities/(?P<id>\d+)", R.priority_show, None),
    # tickets (tickets_controller.rb)
    ("GET", "/tickets", R.tickets, None),
    ("GET", "/tickets/search", R.ticket_search, None),
    ("POST", "/tickets/search", R.ticket_search, None),
    ("GET", r"/tickets/(?P<id>\d+)", R.ticket_show, None),
    ("POST", "/tickets", R.ticket_create, ("ticket.agent", "ticket.customer")),
    ("PUT", r"/tickets/(?P<id>\d+)", R.ticket_update, ("ticket.agent", "ticket.customer")),
    ("DELETE", r"/tickets/(?P<id>\d+)", R.ticket_delete, "admin"),
    ("GET", r"/ticket_history/(?P<id>\d+)", R.ticket_history, None),
    # articles (ticket_articles_controller.rb)
    ("GET", r"/ticket_articles/by_ticket/(?P<id>\d+)", R.articles_by_ticket, None),
    ("GET", r"/ticket_articles/(?P<id>\d+)", R.article_show, None),
    ("POST", "/ticket_articles", R.article_create, ("ticket.agent", "ticket.customer")),
    # tags (tags_controller.rb)
    ("GET", "/tags", R.tags, None),
    ("POST", "/tags/add", R.tag_add, ("ticket.agent", "admin.tag")),
    ("DELETE", "/tags/remove", R.tag_remove, ("ticket.agent", "admin.tag")),
    # links (links_controller.rb)
    ("GET", "/links", R.links, None),
    ("POST", "/links/add", R.link_add, "ticket.agent"),
    ("DELETE", "/links/remove", R.link_remove, "ticket.agent"),
    # mentions (mentions_controller.rb)
    ("GET", "/mentions", R.mentions, None),
    ("POST", "/mentions", R.mention_create, "ticket.agent"),
    ("DELETE", r"/mentions/(?P<id>\d+)", R.mention_delete, "ticket.agent"),
    # object manager (object_manager_attributes_controller.rb)
    ("GET", "/object_manager_attributes", R.attributes, "admin.object"),
    ("GET", r"/object_manager_attributes/(?P<id>\d+)", R.attribute_show, "admin.object"),
    ("POST", "/object_manager_attributes", R.attribute_create, "admin.object"),
    ("PUT", r"/object_manager_attributes/(?P<id>\d+)", R.attribute_update, "admin.object"),
    ("DELETE", r"/object_manager_attributes/(?P<id>\d+)", R.attribute_delete, "admin.object"),
    ("POST", "/object_manager_attributes_execute_migrations", R.execute_migrations, "admin.object"),
    ("POST", "/object_manager_attributes_discard_changes", R.discard_changes, "admin.object"),
    # webhooks and triggers (webhooks_controller.rb, triggers_controller.rb; sandbox.zammad.webhooks)
    *WEBHOOK_ROUTES,
]


def url_paths() -> list[tuple[str, str, Callable[[R, Ctx], Any], Permission]]:
    """The routes with their full paths, in matching order."""
    return [(method, f"{API}{path}", handler, permission) for method, path, handler, permission in URL_PATHS]
