"""Where each key of a YAML file is written, so a problem can be reported as `file:line: key: ...`.

PyYAML's `safe_load` keeps no positions; composing the node tree does. Each key (and
each list item) is mapped to the 1-based line it starts on; a problem about a key
that is not written in the file (a default, a missing key) is placed at its nearest
written parent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Loc = tuple[Any, ...]  # dict keys and list indexes, from the top


def key_lines(text: str) -> dict[Loc, int]:
    """The line of every key and list item in `text` (empty when it is not valid YAML)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return lines


def _walk(node: yaml.Node, at: Loc, lines: dict[Loc, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            lines.setdefault(at + (key,), key_node.start_mark.line + 1)
            _walk(value_node, at + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.setdefault(at + (i,), item.start_mark.line + 1)
            _walk(item, at + (i,), lines)


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of `loc`, else of its nearest parent written in the file; None for none."""
    # compared as text: the node tree holds keys as written (`24x7`, `1`), pydantic's
    # locations hold them as parsed (a dict[int, ...] key is an int)
    written = {tuple(map(str, k)): v for k, v in lines.items()}
    wanted = tuple(map(str, loc))
    for end in range(len(wanted), 0, -1):
        if wanted[:end] in written:
            return written[wanted[:end]]
    return None


def where(path: Path | str, lines: dict[Loc, int], loc: Loc) -> str:
    """`path:line` when the key (or a parent) is written in the file, else `path`."""
    line = line_of(lines, loc)
    return f"{path}:{line}" if line is not None else str(path)
