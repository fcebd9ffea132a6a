"""The sandbox Zammad's object manager: ticket attributes and their migration step, as state.

What app/models/object_manager/attribute.rb does behind
`/api/v1/object_manager_attributes[/:id]`, `..._execute_migrations` and
`..._discard_changes` (the HTTP side is in `sandbox.zammad.responses`):

- a new attribute is stored with `to_create: true, to_migrate: true, editable: true`; it
  has no ticket column yet, so a ticket update naming it is silently ignored (as any
  unknown attribute is, Ticket.param_cleanup);
- a change to an existing one waits in `data_option_new` with `to_config: true`;
- `execute_migrations` creates the columns (null on every ticket; a boolean gets its
  default), applies pending config and records `historical_options` for selects.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.zammad.exceptions import ZammadError
from sandbox.zammad.models import OBJECT_LOOKUP, TICKET_COLUMNS, Store

# ObjectManager::Attribute::DATA_TYPES
DATA_TYPES = {"input", "user_autocompletion", "checkbox", "select", "multiselect", "tree_select",
              "multi_tree_select", "datetime", "date", "tag", "richtext", "textarea", "integer",
              "autocompletion_ajax", "boolean", "user_permission", "active"}
_NAME_OK = re.compile(r"^[a-z][a-z0-9_]*$")


class ObjectManager:
    """ObjectManager::Attribute over one sandbox's `Store`."""

    def __init__(self, store: Store):
        self.store = store

    def listed(self) -> list[dict]:
        return sorted(self.store.attributes.values(), key=lambda a: (a["position"], a["name"]))

    def attribute(self, obj: str, name: str) -> dict | None:
        lookup = OBJECT_LOOKUP[obj]
        return next((a for a in self.store.attributes.values()
                     if a["object_lookup_id"] == lookup and a["name"] == name), None)

    def create(self, params: dict, *, by: int) -> dict:
        values = self.validate(params)
        if self.attribute(values["object"], values["name"]) is not None:
            raise ZammadError(422, "already exists")
        store = self.store
        aid = store.next_id("attributes")
        stamp = store.now()
        rec = {"id": aid, "object_lookup_id": OBJECT_LOOKUP[values["object"]], "name": values["name"],
               "display": values["display"], "data_type": values["data_type"],
               "data_option": values["data_option"], "data_option_new": {}, "editable": True,
               "active": values["active"], "screens": values["screens"], "to_create": True,
               "to_migrate": True, "to_delete": False, "to_config": False,
               # the controller creates every attribute at position 1550, whatever was sent
               # (object_manager_attributes_controller.rb: permitted_params.merge(position: 1550))
               "position": 1550, "created_by_id": by,
               "updated_by_id": by, "created_at": stamp, "updated_at": stamp}
        store.attributes[aid] = rec
        return rec

    def update(self, params: dict, *, by: int) -> dict:
        values = self.validate(params)
        rec = self.attribute(values["object"], values["name"])
        if rec is None:
            raise ZammadError(422, "does not exist")
        if not rec["editable"]:
            raise ZammadError(422, f"#{values['name']} can't be updated/removed!")
        if rec["data_type"] != values["data_type"]:
            raise ZammadError(422, "Data type can't be changed after creation (delete the attribute and create "
                                   "another one instead)")
        # Attribute.add on an existing record: changes wait in data_option_new for the migration
        if any(rec[k] != values[k] for k in ("display", "active")) or \
                (values.get("position") and values["position"] != rec["position"]):
            rec["data_option_new"] = values["data_option"]
            rec["to_config"] = True
        if rec["data_option"] != values["data_option"]:
            rec["data_option_new"] = values["data_option"]
            rec["to_config"] = True
        rec.update(display=values["display"], active=values["active"], screens=values["screens"],
                   updated_at=self.store.now(), updated_by_id=by)
        if values.get("position"):
            rec["position"] = values["position"]
        return rec

    def delete(self, rec: dict) -> None:
        if not rec["editable"]:
            raise ZammadError(422, f"Ticket.{rec['name']} can't be removed!")
        if rec["to_create"]:
            del self.store.attributes[rec["id"]]
        else:
            rec["to_delete"] = True

    def discard_changes(self) -> None:
        for rec in list(self.store.attributes.values()):
            if rec["to_create"]:
                del self.store.attributes[rec["id"]]
            elif rec["to_delete"] or rec["to_config"]:
                rec.update(to_migrate=False, to_delete=False, to_config=False, data_option_new={})

    def execute_migrations(self) -> int:
        """ObjectManager::Attribute.migration_execute: columns appear, pending config applies.
        Returns how many attributes changed the database (a config-only change does not)."""
        store = self.store
        db_changes = 0
        for rec in sorted(store.attributes.values(), key=lambda a: a["id"]):
            if not (rec["to_create"] or rec["to_migrate"] or rec["to_delete"] or rec["to_config"]):
                continue
            is_ticket = rec["object_lookup_id"] == OBJECT_LOOKUP["Ticket"]
            if rec["to_delete"]:
                if is_ticket and rec["name"] in store.ticket_columns:
                    del store.ticket_columns[rec["name"]]
                    for ticket in store.tickets.values():
                        ticket.pop(rec["name"], None)
                del store.attributes[rec["id"]]
                db_changes += 1
                continue
            if rec["to_config"]:
                if rec["data_type"] == "select" and rec["data_option"].get("options"):
                    historical = dict(rec["data_option"].get("historical_options") or {})
                    historical.update(rec["data_option"]["options"])
                    historical.update(rec["data_option_new"].get("options") or {})
                    rec["data_option_new"]["historical_options"] = historical
                rec["data_option"] = rec["data_option_new"]
                rec["data_option_new"] = {}
                rec["to_config"] = False
                if not (rec["to_create"] or rec["to_migrate"]):
                    continue
            if rec["data_type"] == "select" and rec["data_option"].get("options"):
                rec["data_option"]["historical_options"] = dict(rec["data_option"]["options"])
            if rec["to_create"] and is_ticket:
                store.ticket_columns[rec["name"]] = rec["data_type"]
                # a boolean column gets its default; other columns start empty
                default = rec["data_option"].get("default") if rec["data_type"] == "boolean" else None
                for ticket in store.tickets.values():
                    ticket[rec["name"]] = default
            rec.update(to_create=False, to_migrate=False)
            db_changes += 1
        return db_changes

    @staticmethod
    def validate(params: dict) -> dict:
        """The controller's permitted_params plus the model's validations."""
        obj = params.get("object")
        if obj not in OBJECT_LOOKUP:
            raise ZammadError(422, f"Invalid object {obj!r}")
        name = str(params.get("name") or "").lower()
        if not _NAME_OK.match(name):
            raise ZammadError(422, "Name is invalid (allowed are a-z, 0-9 and _, starting with a letter)")
        if name.endswith(("_id", "_ids")) or (obj == "Ticket" and name in TICKET_COLUMNS):
            raise ZammadError(422, f"{name} is a reserved word")
        data_type = params.get("data_type")
        if data_type not in DATA_TYPES:
            raise ZammadError(422, f"Data type {data_type!r} is not a valid data type")
        option: dict[str, Any] = dict(params.get("data_option") or {})
        if "default" not in option:
            option["default"] = "" if data_type in ("input", "select", "tree_select") else None
        if option.get("null") is None:
            option["null"] = True
        if data_type in ("select", "multiselect", "checkbox") and not isinstance(option.get("options"), dict):
            raise ZammadError(422, "Data option must have options hash for select")
        if data_type in ("tree_select", "multi_tree_select") and not isinstance(option.get("options"), list):
            raise ZammadError(422, "Data option must have options array for tree_select")
        if data_type == "datetime":
            for key in ("future", "past"):
                if not isinstance(option.get(key), bool):
                    raise ZammadError(422, f"Data option must have boolean value for :{key}")
            if "diff" not in option:
                raise ZammadError(422, "Data option must have integer for :diff or nil")
        if data_type == "boolean":
            if not isinstance(option.get("options"), dict):
                raise ZammadError(422, "Data option must have options hash for boolean")
            if not isinstance(option.get("default"), bool):
                raise ZammadError(422, "Data option must have boolean value for :default")
        return {"object": obj, "name": name, "display": params.get("display") or name, "data_type": data_type,
                "data_option": option, "active": bool(params.get("active", True)),
                "screens": params.get("screens") or {}, "position": params.get("position")}
