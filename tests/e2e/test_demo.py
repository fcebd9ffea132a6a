"""`escalator demo` runs on its own, shows each kind of action, and leaves nothing behind."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from plugin.cli.main import main

pytestmark = pytest.mark.e2e


def test_demo_shows_escalations_restores_and_flags_then_cleans_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = {t.name for t in threading.enumerate()}
    # four times the default speed: the same story in a few seconds
    result = CliRunner().invoke(main, ["demo", "--rate", "28800"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    for kind in ("escalated", "severity-restored", "transition-flagged", "on request (contract 24x7)"):
        assert kind in out, kind
    assert "Summary (read back from the trackers):" in out
    assert out.count("\n  jira ") + out.count("\n  zammad ") >= 16
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone
    left = {t.name for t in threading.enumerate()} - before
    assert not {n for n in left if n.startswith(("daemon-", "team", "sandbox", "webhooks"))}
