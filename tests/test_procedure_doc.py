"""docs/PROCEDURE.md accounts for every numbered clause of the procedure, and its tests exist.

The clauses are read from the procedure itself (the Chinese original and SPEC.md, found
through `tests/reference.py`; skipped with the reason when absent). The tests the table
names are looked up in the test files' syntax trees, so a renamed or deleted test fails
here instead of leaving the account pointing at nothing.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.reference import procedure_file

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "PROCEDURE.md"
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
HOW = {"enforced", "reported", "left to people", "—"}


def rows() -> list[list[str]]:
    out = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if re.match(r"\| §\d", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out.append(cells)
    return out


def clause(cell: str) -> str:
    return cell.removeprefix("§")


@cache
def defined_tests(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"))


def numbered_clauses() -> set[str]:
    """Every clause number of the procedure from §1.3 on: the original's dotted numbers (at a line's
    start, or where its extraction ran two clauses together), its top-level sections 2-8, and every
    section SPEC.md refers to."""
    original = procedure_file("incident-procedure.zh.txt").read_text(encoding="utf-8")
    body = original[original.index("1.3"):]
    found = set(re.findall(r"(?:^|(?<=[)）。\s]))(\d+\.\d+(?:\.\d+)*)\s*(?=[^\d.%\s])", body, flags=re.M))
    found |= {str(n) for n in range(2, 9)}
    spec = procedure_file("SPEC.md").read_text(encoding="utf-8")
    found |= set(re.findall(r"§(\d+(?:\.\d+)*)", spec))
    return found


def test_every_named_test_exists():
    missing = []
    for cells in rows():
        for path, name in TEST_REF.findall(cells[-1]):
            if not (ROOT / path).exists() or name not in defined_tests(path):
                missing.append(f"§{clause(cells[0])}: {path}::{name}")
    assert not missing, "docs/PROCEDURE.md names tests that do not exist:\n" + "\n".join(missing)


def test_every_row_says_how_and_a_clause_done_by_the_escalator_names_a_test():
    for cells in rows():
        assert len(cells) == 5, cells
        assert cells[3] in HOW, f"§{clause(cells[0])}: how {cells[3]!r} is not one of {sorted(HOW)}"
        if cells[3] not in ("left to people", "—"):
            assert TEST_REF.search(cells[4]), f"§{clause(cells[0])} is {cells[3]} but names no test"


def test_every_numbered_clause_is_in_the_table_once():
    listed = [clause(cells[0]) for cells in rows()]
    assert len(listed) == len(set(listed)), "a clause is listed twice"
    missing = sorted(numbered_clauses() - set(listed), key=lambda c: [int(p) for p in c.split(".")])
    assert not missing, f"clauses missing from docs/PROCEDURE.md: {', '.join('§' + c for c in missing)}"
    unknown = sorted(set(listed) - numbered_clauses())
    assert not unknown, f"docs/PROCEDURE.md lists clauses the procedure does not have: {unknown}"


def test_the_clause_list_is_read_from_the_procedure():
    clauses = numbered_clauses()
    # run together with §4.1.4.6 on one line of the extracted text, and the last ones
    assert {"4.1.4.7", "6.1.5", "7.1.1.7", "8", "1.3"} <= clauses
    assert "80" not in clauses and not any(c.startswith("0") for c in clauses)
