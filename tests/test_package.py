"""The package's shape: the default profile loads; mapping/ stays pure."""

import ast
from pathlib import Path

from mapping.loader import load_procedure

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"requests", "responses", "urllib", "urllib3", "httpx", "aiohttp", "http", "socket", "connectors",
             "plugin"}


def test_default_profile_loads() -> None:
    proc = load_procedure()
    assert [s.level for s in proc.severities] == [1, 2, 3, 4]
    assert len(proc.states) == 7


def test_mapping_imports_no_http_library_and_no_connector() -> None:
    offenders = []
    for path in (ROOT / "mapping").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
