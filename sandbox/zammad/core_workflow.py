"""Zammad's Core Workflow as a ticket write from a screen meets it.

When a controller names the screen a write comes from (tickets_controller.rb sets
`create_middle` on POST /tickets and `edit` on PUT /tickets/:id),
app/models/concerns/checks_core_workflow.rb runs `CoreWorkflow.perform` before the
ticket is saved and then:

- `check_restrict_values`: every *changed* attribute must hold one of the values the
  screen offers, else "Invalid value '<value>' for field '<attribute>'!";
- `check_mandatory`: every attribute the workflow makes mandatory must be filled (a
  column default counts), else "Missing required value for field '<attribute>'!".

Both raise `Exceptions::ApplicationModel` (an `UnprocessableEntity`): 422. Issue
zammad/zammad#6057 quotes the second as users get it.

What the sandbox's screens restrict and require:

- `state_id`: the states the `state_id` attribute's screen offers
  (db/seeds/object_manager_attributes.rb: `create_middle` agent `viewable_agent_new`,
  customer `viewable_customer_new`; `edit` agent `viewable_agent_edit`, customer
  `viewable_customer_edit`; active states only). The categories are Ticket::State's
  TYPES (app/models/ticket/state.rb): the agent's edit screen offers open, pending
  reminder, pending action and closed - not new, merged or removed.
- `pending_time` is mandatory while the selected state is of type pending reminder or
  pending action (app/models/core_workflow/custom/pending_time.rb).

A write with no screen (Zammad's console, triggers and schedulers; the sandbox's seed
API) skips all of this.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.models import STATE_TYPES, Store

SCREENS = ("create_middle", "edit")
PENDING = frozenset({"pending reminder", "pending action"})
#: (screen, agent?) -> the state types its `state_id` field offers
SCREEN_STATE_TYPES: dict[tuple[str, bool], frozenset[str]] = {
    ("create_middle", True): frozenset({"new", "open", "pending reminder", "pending action", "closed"}),
    ("create_middle", False): frozenset({"new", "closed"}),
    ("edit", True): frozenset({"open", "pending reminder", "pending action", "closed"}),
    ("edit", False): frozenset({"open", "closed"}),
}


def validate(store: Store, record: dict, changed: Iterable[str], *, user: dict, screen: str) -> None:
    """Refuse (422) what the screen would not let `user` save; `record` is the ticket as it
    would be saved, `changed` the attributes the write changes."""
    if screen not in SCREENS:
        raise ValueError(f"unknown screen {screen!r}")
    agent = store.has_permission(user, "ticket.agent")
    state_id = record.get("state_id")
    if "state_id" in set(changed) and state_id not in (None, ""):
        state = store.states.get(state_id)
        offered = SCREEN_STATE_TYPES[(screen, agent)]
        if state is None or not state["active"] or STATE_TYPES.get(state["state_type_id"]) not in offered:
            raise ZammadError(422, f"Invalid value '{state_id}' for field 'state_id'!")
    if store.state_type(state_id) in PENDING and record.get("pending_time") in (None, ""):
        raise ZammadError(422, "Missing required value for field 'pending_time'!")
