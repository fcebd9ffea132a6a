"""Load the procedure: the default profile, merged with an admin's override YAML.

Merging: mappings merge key by key; lists of keyed items (roles by `key`, severities
by `level`, states by `code`, transitions by `name`, categories by `code`) merge item
by item, so an override restates only what it changes; other lists are replaced.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mapping.procedure import Procedure

DEFAULT_PROFILE = "default_profile.yaml"
_KEYED_LISTS = {"roles": "key", "severities": "level", "states": "code", "transitions": "name",
                "categories": "code", "record_fields": "key"}


class ProcedureError(ValueError):
    """A procedure that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def default_profile_data() -> dict[str, Any]:
    text = resources.files("mapping").joinpath(DEFAULT_PROFILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base[k], v, k) if k in base else v
        return out
    if isinstance(base, list) and isinstance(override, list) and key in _KEYED_LISTS:
        ident = _KEYED_LISTS[key]
        out = list(base)
        index = {item.get(ident): i for i, item in enumerate(out) if isinstance(item, dict)}
        for item in override:
            if isinstance(item, dict) and item.get(ident) in index:
                out[index[item[ident]]] = merge(out[index[item[ident]]], item, None)
            else:
                out.append(item)
        return out
    return override


def load_procedure(path: Path | None = None) -> Procedure:
    """The default profile, with the admin's YAML at `path` merged over it."""
    data = default_profile_data()
    where = "default profile"
    if path is not None:
        where = str(path)
        try:
            override = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ProcedureError([f"{path}: cannot read: {exc.strerror}"]) from None
        except yaml.YAMLError as exc:
            raise ProcedureError([f"{path}: not valid YAML: {exc}"]) from None
        if not isinstance(override, dict):
            raise ProcedureError([f"{path}: expected a mapping of keys at the top level"])
        data = merge(data, override)
    try:
        return Procedure.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            for msg in err["msg"].removeprefix("Value error, ").splitlines():
                lines.append(f"{where}: {loc + ': ' if loc else ''}{msg}")
        raise ProcedureError(lines) from None
