"""Load the procedure: the default profile, merged with an admin's override YAML.

Merging: mappings merge key by key; lists of keyed items (roles by `key`, severities
by `level`, states by `code`, transitions by `name`, categories and their children by
`code`, record fields by `key`) merge item by item, so an override restates only what
it changes; other lists (and lists of plain values) are replaced. A key set to null
(`~`) removes that key of the default profile (as in JSON Merge Patch, RFC 7396): e.g.
`contracts: {24x7: ~}` drops the default 24x7 contract.

Errors: every problem is one line, all problems at once, each naming the path in the
procedure (`escalation.timetable.2.division_director`, `categories[code=1.2].group`)
and, where the path (or its nearest parent) is written in the admin's file, the line:
`acme.yaml:14: escalation.timetable.2.division_director: 3h is earlier than ...`.
Problems in parts the file does not touch (the default profile's) name the path only.

To report *all* problems, validation is repeated: pydantic stops before the
cross-field checks of `mapping.procedure_schema.Procedure._consistent` when a field is invalid, so each
invalid value is set aside (an unknown key dropped, a bad value replaced by the
default profile's or removed) and the rest validated again. Problems that setting a
value aside could have caused are not reported.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mapping.errors import ProcedureError
from mapping.procedure import Procedure
from mapping.procedure_schema import Procedure as ProcedureModel
from mapping.procedure_schema import to_dataclass

DEFAULT_PROFILE = "default_profile.yaml"
_KEYED_LISTS = {"roles": "key", "severities": "level", "states": "code", "transitions": "name",
                "categories": "code", "children": "code", "record_fields": "key"}
_MAX_ROUNDS = 12

Path_ = tuple[Any, ...]  # a location in the data: dict keys and list indexes


__all__ = ["ProcedureError", "default_profile_data", "load_procedure", "merge"]


def default_profile_data() -> dict[str, Any]:
    """The default profile as plain data (a fresh copy: callers may change it)."""
    return copy.deepcopy(_default_profile())


@functools.cache
def _default_profile() -> dict[str, Any]:
    # parsed once per process: the daemon and the CLI load the procedure more than once. With
    # libyaml's parser where PyYAML has it (the same safe constructors, in C: ~10x faster; this is
    # most of a command's own start, e.g. `escalator deadlines`), else the pure-Python one
    text = resources.files("mapping").joinpath(DEFAULT_PROFILE).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _keyed(key: Any, base: list) -> str | None:
    """The identity key of a keyed list, when every base item is a mapping holding it."""
    ident = _KEYED_LISTS.get(key) if isinstance(key, str) else None
    if ident and all(isinstance(item, dict) and isinstance(item.get(ident), str | int) for item in base):
        return ident
    return None


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    """`override` merged over `base` (neither is changed); `key` names the list being merged."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(base[k], v, k) if k in base else v
        return out
    if isinstance(base, list) and isinstance(override, list) and (ident := _keyed(key, base)):
        out = list(base)
        index = {item[ident]: i for i, item in enumerate(out)}
        for item in override:
            # an identity that is not a plain value (a list, a mapping) matches nothing
            if isinstance(item, dict) and isinstance(item.get(ident), str | int) and item[ident] in index:
                out[index[item[ident]]] = merge(out[index[item[ident]]], item, None)
            else:
                out.append(item)
        return out
    return override


def load_procedure(path: Path | None = None) -> Procedure:
    """The default profile, with the admin's YAML at `path` merged over it."""
    data = default_profile_data()
    if path is None:
        return _validate(data, _Source("default profile", {}, {}), data)
    source = _read_override(path)
    return _validate(merge(data, source.data), source, data)


# -- the admin's file, with the line of every key and item ---------------------------------

@dataclass
class _Source:
    """The override as written: its data and the (1-based line, column) of each path in it."""

    name: str
    data: Any
    lines: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Path_, int, int]] = field(default_factory=list)  # keys given twice


def _read_override(path: Path) -> _Source:
    """Read the admin's YAML; ProcedureError (one line) when it is unreadable or not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProcedureError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ProcedureError([f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        # constructing flattens merge keys (<<) in the node tree, so walk it afterwards
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ProcedureError([f"{where}: not valid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise ProcedureError([f"{path}: not valid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise ProcedureError([f"{path}:{line}: expected a mapping of keys at the top level"])
    source = _Source(str(path), data)
    if node is not None:
        _record_lines(node, (), source)
    return source


def _record_lines(node: yaml.Node, at: Path_, source: _Source) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            mark = key_node.start_mark
            if key in seen:
                # PyYAML silently keeps the last value; an admin would not notice the first
                source.duplicates.append((at + (key,), mark.line + 1, mark.column))
            seen.add(key)
            source.lines[at + (key,)] = (mark.line + 1, mark.column)
            _record_lines(value_node, at + (key,), source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            source.lines[at + (i,)] = (item.start_mark.line + 1, item.start_mark.column)
            _record_lines(item, at + (i,), source)


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader("").construct_object(node)
    return repr(node.value)  # a complex key: never matches a procedure key


# -- validation, all problems at once -------------------------------------------------------

@dataclass
class _Problem:
    loc: Path_  # in the merged data
    message: str
    line: int | None
    column: int
    text: str


def _validate(merged: dict[str, Any], source: _Source, default: dict[str, Any]) -> Procedure:
    data = copy.deepcopy(merged)
    problems = [_Problem(loc, "key given twice", line, column,
                         f"{source.name}:{line}: {_display(loc, source.data)}: key given twice "
                         "(only the last one counts)")
                for loc, line, column in source.duplicates]
    set_aside: list[tuple[Path_, bool]] = []  # (path, replaced rather than removed)
    for round_ in range(_MAX_ROUNDS):
        try:
            procedure = ProcedureModel.model_validate(data)
        except ValidationError as exc:
            field_errors = [e for e in exc.errors() if e["loc"]]
            if not field_errors:  # only the cross-field checks failed: the last round
                for err in exc.errors():
                    for line in _message(err).splitlines():
                        loc, message = _split_problem(line, data)
                        if not any(_caused(loc, *aside) for aside in set_aside):
                            problems.append(_problem(loc, message, data, source))
                break
            repairs: list[tuple[Path_, str]] = []
            for err in field_errors:
                loc = _data_loc(err["loc"], data)
                if round_ == 0 or not any(_caused(loc, *aside) for aside in set_aside):
                    problems += [_problem(loc, line, data, source) for line in _message(err).splitlines()]
                repairs.append((loc, err["type"]))
            if not _repair(data, repairs, default, set_aside):
                break
        else:
            if not problems:
                return to_dataclass(procedure)
            break
    raise ProcedureError(_format(problems))


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        key = loc[-1]
        known = _known_keys(loc[:-1])
        msg = f"unknown key {key!r}"
        close = difflib.get_close_matches(str(key), known, n=1) if known else []
        if close:
            msg += f" (did you mean {close[0]!r}?)"
        elif known:
            msg += f" (known: {', '.join(known)})"
    elif kind == "missing":
        msg = "required, but missing"
    else:
        # pydantic's wording, without its Python terms
        msg = re.sub(r" or instance of \w+", "", msg)
        for python, plain in _PLAIN.items():
            msg = msg.replace(python, plain)
        if kind != "value_error" and not isinstance(err.get("input"), dict | list | tuple):
            msg += f" (got {err.get('input')!r})"
    return msg


_PLAIN = {"Input should be": "should be", "a valid dictionary": "a mapping", "a valid tuple": "a list",
          "a valid list": "a list", "a valid string": "text"}


def _known_keys(loc: Path_) -> list[str]:
    """The keys the model at `loc` (a path into the Procedure) accepts."""
    tp: Any = ProcedureModel
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or n: f for n, f in tp.model_fields.items()}
            if part not in fields:
                return []
            tp = fields[part].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) in (tuple, list):
            tp = typing.get_args(tp)[0]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(arms[0]) if len(arms) == 1 else tp
    return tp


def _data_loc(loc: tuple, data: Any) -> Path_:
    """A pydantic location as a path into the data (dropping union tags and `[key]`)."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif part == "[key]" or (isinstance(part, str) and "[" in part):
            continue
        else:
            out.append(part)  # a missing key: the path goes on, the data does not
            node = None
    return tuple(out)


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _split_problem(line: str, data: Any) -> tuple[Path_, str]:
    """'escalation.timetable.2.division_director: text' -> (path in data, text)."""
    path_text, sep, message = line.partition(": ")
    if not sep or " " in path_text:
        return (), line
    tokens: list[Any] = [int(index) if index else name for index, name in _TOKEN.findall(path_text)]
    loc: list[Any] = []
    node = data
    i = 0
    while i < len(tokens):
        part, used = tokens[i], 1
        if isinstance(node, dict) and part not in node and isinstance(part, str):
            if part.isdigit():
                part = int(part)  # a timetable row: severities are int keys
            else:
                # a name with dots in it (a contract `acme.cn`): the longest run that is a key
                for j in range(len(tokens), i + 1, -1):
                    run = tokens[i:j]
                    if all(isinstance(t, str) for t in run) and ".".join(run) in node:
                        part, used = ".".join(run), j - i
                        break
        loc.append(part)
        i += used
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(loc), message


def _problem(loc: Path_, message: str, data: Any, source: _Source) -> _Problem:
    line, column = _line_of(loc, data, source) or (None, 0)
    path = _display(loc, data)
    where = f"{source.name}:{line}" if line else source.name
    return _Problem(loc, message, line, column, f"{where}: {path + ': ' if path else ''}{message}")


def _format(problems: list[_Problem]) -> list[str]:
    # in the order of the file; problems of the default profile's part last
    ordered = sorted(enumerate(problems), key=lambda ip: (ip[1].line is None, ip[1].line or 0, ip[1].column, ip[0]))
    out: list[str] = []
    for _, p in ordered:
        if p.text not in out:
            out.append(p.text)
    return out


# -- paths: shown to the admin, found in their file --------------------------------------------

def _display(loc: Path_, data: Any) -> str:
    """A path as the admin reads it: keyed list items by their key, others by index."""
    text = ""
    node = data
    parent_key: Any = None
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            ident = _keyed(parent_key, node) if 0 <= part < len(node) else None
            item = node[part] if 0 <= part < len(node) else None
            if ident and isinstance(item, dict) and ident in item:
                text += f"[{ident}={item[ident]}]"
            else:
                text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        parent_key = part
    return text


def _translate(loc: Path_, merged: Any, other: Any) -> Path_:
    """The longest prefix of `loc` (a path in the merged data) that exists in `other`,
    as a path in `other`: keyed list items are matched by their key, others by index."""
    out: list[Any] = []
    m, o = merged, other
    parent_key: Any = None
    for part in loc:
        if isinstance(o, dict):
            if part not in o:
                break
            out.append(part)  # present in `other` even where the merge removed it (null)
            m, o = m.get(part) if isinstance(m, dict) else None, o[part]
        elif isinstance(m, list) and isinstance(o, list) and isinstance(part, int) and 0 <= part < len(m):
            item = m[part]
            ident = _KEYED_LISTS.get(parent_key) if isinstance(parent_key, str) else None
            if ident and isinstance(item, dict) and ident in item:
                # the k-th item with this key in the merged list <-> the k-th in `other`
                k = sum(1 for x in m[:part] if isinstance(x, dict) and x.get(ident) == item[ident])
                matches = [j for j, x in enumerate(o) if isinstance(x, dict) and x.get(ident) == item[ident]]
                if not matches:
                    break
                j = matches[min(k, len(matches) - 1)]
            elif part < len(o):
                j = part
            else:
                break
            out.append(j)
            m, o = item, o[j]
        else:
            break
        parent_key = part
    return tuple(out)


def _line_of(loc: Path_, data: Any, source: _Source) -> tuple[int, int] | None:
    """(line, column) of `loc`, or of its nearest parent, in the admin's file; None when the
    file does not touch that top-level part (it comes from the default profile)."""
    if not source.lines:
        return None
    found = _translate(loc, data, source.data)
    while found:
        if found in source.lines:
            return source.lines[found]
        found = found[:-1]
    return None


# -- setting invalid values aside -------------------------------------------------------------

def _repair(data: Any, repairs: list[tuple[Path_, str]], default: Any,
            set_aside: list[tuple[Path_, bool]]) -> bool:
    """Drop unknown keys, replace or remove invalid values; False when nothing changed."""
    changed = False
    # deepest and last first, so that removing a list item does not shift the others
    for loc, kind in sorted(repairs, key=lambda r: (len(r[0]), _order(r[0])), reverse=True):
        parent = _get(data, loc[:-1])
        if not loc or parent is None:
            continue
        key = loc[-1]
        if kind == "extra_forbidden":
            if isinstance(parent, dict) and key in parent:
                del parent[key]  # it meant nothing: nothing else depends on it
                changed = True
            continue
        target = _translate(loc, data, default)
        if kind != "missing" and len(target) == len(loc):
            replacement = copy.deepcopy(_get(default, target))
            if _get(data, loc) != replacement:
                parent[key] = replacement
                set_aside.append((loc, True))
                changed = True
                continue
        # a required value that is missing or has no default: remove what holds it
        remove = loc if kind != "missing" else loc[:-1]
        holder = _get(data, remove[:-1]) if remove else None
        if remove and isinstance(holder, dict) and remove[-1] in holder:
            del holder[remove[-1]]
        elif remove and isinstance(holder, list) and isinstance(remove[-1], int) and remove[-1] < len(holder):
            del holder[remove[-1]]
        else:
            continue
        set_aside.append((remove, False))
        changed = True
    return changed


def _order(loc: Path_) -> list[tuple[int, int, str]]:
    """A sort key for paths: list indexes by number (9 before 10), keys by name."""
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in loc]


def _get(data: Any, loc: Path_) -> Any:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _under(loc: Path_, prefix: Path_) -> bool:
    return loc[:len(prefix)] == prefix


def _caused(loc: Path_, aside: Path_, replaced: bool) -> bool:
    """Whether a problem at `loc` may come from setting aside the value at `aside`:
    one at or under it; for a value replaced by the default's, one beside it (a ladder
    row compares its cells); for a value removed, one about what held it."""
    if _under(loc, aside):
        return True
    if replaced:
        return len(loc) >= len(aside) and _under(loc, aside[:-1])
    return _under(aside, loc)
