"""Routing (§1.3) and the incident record (§4.1.4).

- `route`: a category's support group; a sub-category without a group of its own is
  handled by its parent's group.
- `missing_facts`: which of `procedure.record_fields` an incident's record lacks.
  Four facts are the snapshot's own: `number` (the ticket reference), `reported_at`,
  `impact` (the severity) and `state`; the rest are `incident.facts`, where None, an
  empty string or only whitespace counts as missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapping.procedure import Category, Procedure

if TYPE_CHECKING:  # an annotation only: `route` (escalator procedure show) needs no incident model
    from mapping.incident import Incident


def route(procedure: Procedure, category_code: str) -> str | None:
    """The support group for a category code; None when unknown or no group is set."""
    found = _with_parent(procedure.categories, category_code, None)
    if found is None:
        return None
    category, parent = found
    if category.group:
        return category.group
    return parent.group if parent is not None else None


def _with_parent(categories: tuple[Category, ...], code: str,
                 parent: Category | None) -> tuple[Category, Category | None] | None:
    for category in categories:
        if category.code == code:
            return category, parent
        found = _with_parent(category.children, code, category)
        if found is not None:
            return found
    return None


def missing_facts(incident: Incident, procedure: Procedure) -> list[str]:
    """The record_fields keys whose fact is absent, in the procedure's order."""
    derived: dict[str, object] = {
        "number": incident.ref,
        "reported_at": incident.reported_at,
        "impact": incident.severity,
        "state": incident.state,
    }
    missing = []
    for record_field in procedure.record_fields:
        key = record_field.key
        value = derived[key] if key in derived else incident.facts.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(key)
    return missing
