"""Where the shared reference data is: `../shared/reference/`, or $ESCALATOR_REFERENCE_DIR;
and the procedure's text: `../shared/procedure/` (beside it), or $ESCALATOR_PROCEDURE_DIR.

Tests that need it call `reference_file(...)`, which skips the test with a clear
reason when the file is absent (e.g. a checkout without `shared/` beside it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def reference_dir() -> Path:
    override = os.environ.get("ESCALATOR_REFERENCE_DIR")
    return Path(override) if override else ROOT.parent / "shared" / "reference"


def reference_file(*parts: str) -> Path:
    path = reference_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (set ESCALATOR_REFERENCE_DIR to its folder)")
    return path


def procedure_dir() -> Path:
    """The folder of SPEC.md and the Chinese original (beside the reference data by default)."""
    override = os.environ.get("ESCALATOR_PROCEDURE_DIR")
    return Path(override) if override else reference_dir().parent / "procedure"


def procedure_file(name: str) -> Path:
    path = procedure_dir() / name
    if not path.exists():
        pytest.skip(f"procedure text {path} is absent (set ESCALATOR_PROCEDURE_DIR to its folder)")
    return path
