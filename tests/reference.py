"""Where the shared reference data is: `../shared/reference/`, or $ESCALATOR_REFERENCE_DIR.

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
