"""Ticket search for the sandbox Zammad: `query`, `condition`, sorting and paging.

`GET|POST /api/v1/tickets/search` (app/controllers/tickets_controller.rb#search) passes
`query`, `condition`, `sort_by`, `order_by` and the page to `Ticket.search`. Conditions
come in two forms, both handled here:

- the classic selector hash, all parts ANDed::

    {"ticket.state_id": {"operator": "is", "value": [1, 2]},
     "ticket.updated_at": {"operator": "after (absolute)", "value": "2026-11-20T09:00:00Z"}}

- the "expert" tree: ``{"operator": "AND"|"OR"|"NOT", "conditions": [{"name": "ticket.state_id",
  "operator": "is", "value": [...]}, {...nested...}]}``.

With a condition, Ticket.search skips the search index and runs `selector2sql`
(app/models/ticket/search.rb, app/models/ticket/selector2sql): operators `is`, `is not`,
`contains`, `contains not`, `starts with`, `ends with`, `is any of`, `is none of`, `is set`,
`not set`, `today`, `before|after (absolute)`, `before|after (relative)`, `within
last|next (relative)`, `till|from (relative)`, and for `ticket.tags` `contains all|one
[not]`. Time bounds are inclusive (`>=`, `<=`, BETWEEN) as in that SQL; months and years are
30 and 365 days here. One deviation: Zammad's SQL path ignores the condition when a `query`
is given too; the sandbox applies both. Time conditions on `ticket.updated_at` at the top
level narrow the candidates through the store's sorted updated_at index, so an incremental
read stays cheap with 10,000 tickets. Only `ticket.*` attributes are supported; another object's attribute
(`customer.*`, `article.*`...) is refused with 422 rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.models import TICKET_COLUMNS, Store, fmt_time, parse_time

Predicate = Callable[[dict], bool]

_RANGES = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1),
           "week": timedelta(weeks=1), "month": timedelta(days=30), "year": timedelta(days=365)}
_TIME_OPS = {"before (absolute)", "after (absolute)", "before (relative)", "after (relative)",
             "within last (relative)", "within next (relative)", "till (relative)", "from (relative)", "today"}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str) and "," in value:
        return [v.strip() for v in value.split(",")]
    return [value]


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class Search:
    def __init__(self, store: Store):
        self.store = store

    # -- conditions --------------------------------------------------------------------------
    def _leaf(self, name: str, spec: dict, now: datetime) -> Predicate:
        if not isinstance(spec, dict) or "operator" not in spec:
            raise ZammadError(422, f"Invalid condition for '{name}': need an operator")
        op = str(spec["operator"])
        value = spec.get("value")
        obj, _, attr = name.partition(".")
        if obj != "ticket" or not attr:
            raise ZammadError(422, f"Unsupported condition attribute '{name}' (the sandbox knows ticket.* only)")
        if attr == "tags":
            return self._tags(op, value, name)
        if attr not in TICKET_COLUMNS and attr not in self.store.ticket_columns:
            raise ZammadError(422, f"Unknown attribute '{name}'")

        def get(t: dict) -> Any:
            return t.get(attr)

        if op in ("is", "is not", "is any of", "is none of"):
            wanted = {_norm(v) for v in _as_list(value)}
            if op in ("is", "is any of"):
                return lambda t: _norm(get(t)) in wanted
            return lambda t: _norm(get(t)) not in wanted
        if op in ("contains", "contains not", "starts with", "ends with"):
            needle = _norm(value).lower()
            if op == "contains":
                return lambda t: needle in _norm(get(t)).lower()
            if op == "contains not":
                return lambda t: needle not in _norm(get(t)).lower()
            if op == "starts with":
                return lambda t: _norm(get(t)).lower().startswith(needle)
            return lambda t: _norm(get(t)).lower().endswith(needle)
        if op == "is set":
            return lambda t: get(t) not in (None, "")
        if op == "not set":
            return lambda t: get(t) in (None, "")
        if op in _TIME_OPS:
            low, high, low_inc, high_inc = self.time_bounds(op, spec, now, name)

            def within(t: dict) -> bool:
                v = get(t)
                if v in (None, ""):
                    return False
                if low is not None and (v < low if low_inc else v <= low):
                    return False
                return not (high is not None and (v > high if high_inc else v >= high))

            return within
        raise ZammadError(422, f"Invalid operator '{op}' for '{name}'")

    def _tags(self, op: str, value: Any, name: str) -> Predicate:
        wanted = {str(v).strip() for v in _as_list(value) if str(v).strip()}
        tags = self.store.tags
        if op == "contains all":
            return lambda t: wanted <= set(tags.get(t["id"], []))
        if op == "contains one":
            return lambda t: bool(wanted & set(tags.get(t["id"], [])))
        if op == "contains all not":
            return lambda t: not wanted <= set(tags.get(t["id"], []))
        if op == "contains one not":
            return lambda t: not wanted & set(tags.get(t["id"], []))
        raise ZammadError(422, f"Invalid operator '{op}' for '{name}'")

    @staticmethod
    def time_bounds(op: str, spec: dict, now: datetime,
                    name: str) -> tuple[str | None, str | None, bool, bool]:
        """(low, high, low inclusive, high inclusive) as canonical timestamps."""
        # selector2sql (the path Ticket.search takes when a condition is given) compares
        # with <=, >= and BETWEEN: every bound is inclusive.
        if op in ("before (absolute)", "after (absolute)"):
            try:
                at = fmt_time(parse_time(spec.get("value")))
            except ValueError:
                raise ZammadError(422, f"Invalid time {spec.get('value')!r} for '{name}'") from None
            return (None, at, True, True) if op == "before (absolute)" else (at, None, True, True)
        if op == "today":
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            end = start + timedelta(days=1) - timedelta(milliseconds=1)
            return fmt_time(start), fmt_time(end), True, True
        unit = _RANGES.get(str(spec.get("range", "day")))
        try:
            amount = int(spec.get("value"))
        except (TypeError, ValueError):
            raise ZammadError(422, f"Invalid relative value {spec.get('value')!r} for '{name}'") from None
        if unit is None:
            raise ZammadError(422, f"Invalid range {spec.get('range')!r} for '{name}'")
        delta = unit * amount
        past, future, current = fmt_time(now - delta), fmt_time(now + delta), fmt_time(now)
        return {
            "before (relative)": (None, past, True, True),
            "after (relative)": (future, None, True, True),
            "within last (relative)": (past, current, True, True),
            "within next (relative)": (current, future, True, True),
            "till (relative)": (None, future, True, True),
            "from (relative)": (past, None, True, True),
        }[op]

    def compile(self, condition: Any, now: datetime) -> tuple[Predicate, tuple | None]:
        """A predicate, plus updated_at bounds usable on the index (top-level AND only)."""
        if not condition:
            return (lambda t: True), None
        if not isinstance(condition, dict):
            raise ZammadError(422, "condition must be an object")
        if "conditions" in condition:
            return self._tree(condition, now), self._tree_bounds(condition, now)
        preds = [self._leaf(name, spec, now) for name, spec in condition.items()]
        bounds = self._bounds([(name, spec) for name, spec in condition.items()], now)
        return (lambda t: all(p(t) for p in preds)), bounds

    def _tree(self, node: dict, now: datetime) -> Predicate:
        if "conditions" not in node:
            return self._leaf(str(node.get("name")), node, now)
        op = str(node.get("operator", "AND")).upper()
        parts = [self._tree(child, now) for child in node["conditions"] or []]
        if op == "AND":
            return lambda t: all(p(t) for p in parts)
        if op == "OR":
            return lambda t: any(p(t) for p in parts) if parts else True
        if op == "NOT":
            return lambda t: not all(p(t) for p in parts)
        raise ZammadError(422, f"Invalid condition operator '{op}'")

    def _tree_bounds(self, node: dict, now: datetime) -> tuple | None:
        if str(node.get("operator", "AND")).upper() != "AND":
            return None
        leaves = [(str(c.get("name")), c) for c in node["conditions"] or [] if "conditions" not in c]
        return self._bounds(leaves, now)

    def _bounds(self, leaves: list[tuple[str, Any]], now: datetime) -> tuple | None:
        low = high = None
        low_inc = high_inc = False
        for name, spec in leaves:
            if name != "ticket.updated_at" or not isinstance(spec, dict) or spec.get("operator") not in _TIME_OPS:
                continue
            lo, hi, lo_inc, hi_inc = self.time_bounds(str(spec["operator"]), spec, now, name)
            if lo is not None and (low is None or lo > low):
                low, low_inc = lo, lo_inc
            if hi is not None and (high is None or hi < high):
                high, high_inc = hi, hi_inc
        if low is None and high is None:
            return None
        return low, high, low_inc, high_inc

    # -- query ----------------------------------------------------------------------------------
    def _query(self, query: Any) -> Predicate:
        """A small subset of the search index's query string: words and `field:value` terms."""
        text = "" if query is None else str(query).strip()
        terms = [w for w in text.split() if w.upper() not in ("AND", "*")]
        if not terms:
            return lambda t: True
        store = self.store
        fields: dict[str, Callable[[dict], list[str]]] = {
            "number": lambda t: [t["number"]],
            "title": lambda t: [t["title"] or ""],
            "state": lambda t: [store.states[t["state_id"]]["name"]],
            "state.name": lambda t: [store.states[t["state_id"]]["name"]],
            "group": lambda t: [store.groups[t["group_id"]]["name"]],
            "group.name": lambda t: [store.groups[t["group_id"]]["name"]],
            "tags": lambda t: store.tags.get(t["id"], []),
            "customer.login": lambda t: [store.users[t["customer_id"]]["login"]],
            "owner.login": lambda t: [store.users[t["owner_id"]]["login"]],
        }

        def term_pred(term: str) -> Predicate:
            key, sep, val = term.partition(":")
            if sep and key in fields:
                val = val.strip('"').lower()
                getter = fields[key]
                if val.endswith("*"):
                    prefix = val[:-1]
                    return lambda t: any(v.lower().startswith(prefix) for v in getter(t))
                if key == "title":
                    return lambda t: any(val in v.lower() for v in getter(t))
                return lambda t: any(v.lower() == val for v in getter(t))
            word = term.strip('"*').lower()

            def words(t: dict) -> bool:
                if word in (t["title"] or "").lower() or word == t["number"]:
                    return True
                for aid in t["article_ids"]:
                    art = store.articles[aid]
                    if word in (art["body"] or "").lower() or word in (art["subject"] or "").lower():
                        return True
                return False

            return words

        preds = [term_pred(term) for term in terms]
        return lambda t: all(p(t) for p in preds)

    # -- the search ----------------------------------------------------------------------------------
    def run(self, *, visible: Predicate, query: Any, condition: Any, sort_by: Any, order_by: Any,
            offset: int, limit: int, now: datetime) -> list[dict]:
        cond, bounds = self.compile(condition, now)
        match = self._query(query)
        store = self.store
        if bounds is not None:
            low, high, low_inc, high_inc = bounds
            ids = store.tickets_updated_between(low, high, low_inclusive=low_inc, high_inclusive=high_inc)
        else:
            ids = store.tickets_updated_between(None, None, low_inclusive=True, high_inclusive=True)
        found = [t for t in (store.tickets[i] for i in ids) if visible(t) and cond(t) and match(t)]
        keys = [str(k).strip() for k in _as_list(sort_by) if str(k).strip()] or ["updated_at"]
        orders = [str(o).strip().lower() for o in _as_list(order_by) if str(o).strip()] or ["desc"]
        for key in keys:
            if key not in TICKET_COLUMNS and key not in store.ticket_columns:
                raise ZammadError(422, f"Unknown sort_by attribute '{key}'")
        if keys == ["updated_at"]:
            # candidates come from the updated_at index, already ascending
            if orders[0] == "desc":
                found.reverse()
        else:
            # stable sorts, last key first
            for i in range(len(keys) - 1, -1, -1):
                key = keys[i]
                desc = (orders[i] if i < len(orders) else orders[-1]) == "desc"
                found.sort(key=lambda t, k=key: (t.get(k) is not None, t.get(k) if t.get(k) is not None else 0),
                           reverse=desc)
        return found[offset:offset + limit]
