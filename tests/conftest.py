"""Every test runs with its own cache directory: nothing is read from or written to the user's
(`mapping.procedure_cache` keeps validated procedures under $XDG_CACHE_HOME)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("ESCALATOR_NO_CACHE", raising=False)
