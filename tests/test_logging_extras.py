"""No `extra={...}` passed to a logger may use a reserved LogRecord attribute.

`logging.Logger.makeRecord` raises `KeyError: Attempt to overwrite 'name' in LogRecord`
for such a key - but only when the record is actually made, i.e. when the level is
enabled (`escalator -v`), so a unit test at the default level never sees it. This
test reads every `extra=` dict literal in the project's source with `ast` instead.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("connectors", "mapping", "plugin", "bench")

#: what `Logger.makeRecord` refuses ("message" and "asctime" are set by formatting), plus
#: every attribute a LogRecord has (so the list follows the running Python)
RESERVED = frozenset({"message", "asctime"}) | frozenset(vars(logging.LogRecord("n", 0, "p", 0, "m", (), None)))


def extra_keys(source: str, filename: str = "<src>") -> list[tuple[int, str]]:
    """(line, key) for each constant string key of each `extra={...}` / `extra=dict(...)`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg != "extra":
                continue
            value = kw.value
            if isinstance(value, ast.Dict):
                found += [(k.lineno, k.value) for k in value.keys
                          if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
                found += [(value.lineno, k.arg) for k in value.keywords if k.arg]
    return found


def _sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


def test_the_scan_sees_the_project_source() -> None:
    files = _sources()
    assert any(p.name == "provision.py" for p in files)
    assert sum(len(extra_keys(p.read_text(encoding="utf-8"))) for p in files) > 20


def test_the_scan_catches_a_reserved_key() -> None:
    src = 'log.info("x", extra={"event": "x", "name": "n"})\nlog.info("y", extra=dict(module="m"))\n'
    assert [k for _, k in extra_keys(src) if k in RESERVED] == ["name", "module"]
    # and the runtime really refuses it, which is why the scan exists
    logger = logging.getLogger("escalator.test-extras")
    with pytest.raises(KeyError, match="overwrite 'name'"):
        logger.makeRecord(logger.name, logging.INFO, "f", 1, "m", (), None, extra={"name": "n"})


def test_no_extra_dict_uses_a_reserved_logrecord_key() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}: {key!r}"
           for path in _sources()
           for line, key in extra_keys(path.read_text(encoding="utf-8"), str(path))
           if key in RESERVED]
    assert not bad, "reserved LogRecord keys in extra=: " + ", ".join(bad)
