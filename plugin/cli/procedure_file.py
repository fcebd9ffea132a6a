"""Which procedure YAML a command's file argument names: the file itself, or an escalator config's `procedure:`.

Apart from `plugin.cli.procedure` so that `escalator deadlines` does not load the tables of
`procedure show` to learn it (issue 14: a command starts in ≤ 0.2 s).
"""

from __future__ import annotations

from pathlib import Path


def procedure_path(path: Path | None) -> Path | None:
    """The procedure YAML `path` names: itself, or an escalator config's `procedure:`."""
    if path is None:
        return None
    import yaml  # here: without a file named, neither command reads YAML (a cached procedure needs none)

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return path  # the loader says what is wrong with it, with the line
    if isinstance(data, dict) and "tracker" in data:
        # here, not at the top: `procedure show` and `deadlines` without a config never load its models
        from plugin.config import load_config

        config = load_config(path)
        return config.path(config.procedure) if config.procedure else None
    return path
