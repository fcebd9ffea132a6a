"""connectors/ sits below plugin/: no module of it imports plugin, sandbox or bench, not even lazily
nor for type checking (connectors take `connectors.settings.TrackerSettings`, never the CLI's config)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABOVE = {"plugin", "sandbox", "bench"}


def test_no_connector_module_imports_a_layer_above() -> None:
    offenders = []
    for path in sorted((ROOT / "connectors").rglob("*.py")):
        # ast.walk reaches imports inside functions and `if TYPE_CHECKING:` blocks too
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ABOVE]
    assert offenders == []
