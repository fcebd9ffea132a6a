"""Sandbox Zammad (REST API v1), laid out as moto lays out a service.

- `server.py`: `ZammadSandbox`, the loopback server with its hooks and the seed API;
- `models.py`: the state (`Store`: records, the fresh-install seed, JSON shapes, history),
  with `objects.py` (the object manager and its migration step) and `search.py`
  (`/tickets/search` queries and conditions);
- `responses.py`: the REST operations (`ZammadResponses`), authentication and Rails-style
  parameters;
- `urls.py`: the routing table, path pattern -> operation and permission;
- `exceptions.py`: refusals in Zammad's `{"error": ..., "error_human": ...}` shape;
- `core_workflow.py`: the checks of a ticket write from a screen (422s);
- `bot.py`: the `BotProfile` that limits the token's user;
- `webhooks.py`: webhooks, the triggers that fire them, and their delivery on the thread of a
  `sandbox.deliveries.Courier`.

Callers import from here: `from sandbox.zammad import ZammadSandbox`.
"""

from sandbox.server import Fault
from sandbox.zammad.bot import BotProfile
from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.server import RestartWindow, ZammadSandbox

__all__ = ["BotProfile", "Fault", "RestartWindow", "ZammadError", "ZammadSandbox"]
