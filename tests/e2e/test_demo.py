"""`escalator demo` runs on its own, shows each kind of action, and leaves nothing behind.

The demo runs on an accelerated clock for a person to watch; its test gives it a stepped
clock instead (the hidden `--clock`), moved only when every one of the demo's threads -
the two daemons, the scripted team, the demo itself - is waiting on it, so the story told
does not depend on how fast the machine runs.
"""

from __future__ import annotations

import tempfile
import threading

import pytest
from click.testing import CliRunner

from plugin.cli.main import main
from plugin.clock import SteppedClock
from sandbox.demo import DEMO_RATE, DEMO_SPAN, DEMO_START
from tests.e2e.conftest import InProcessStepper

pytestmark = pytest.mark.e2e

#: the demo's threads that wait on its clock (besides the one running the demo)
PARTICIPANTS = ("daemon-jira", "daemon-zammad", "team")


def test_demo_shows_escalations_restores_and_flags_then_cleans_up(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    clock = SteppedClock.create(tmp_path / "clock", DEMO_START, DEMO_RATE)
    me = threading.current_thread()
    before = {t.name for t in threading.enumerate()}
    with InProcessStepper(clock, lambda: [me, *(t for t in threading.enumerate() if t.name in PARTICIPANTS)]) \
            as stepper:
        result = CliRunner().invoke(main, ["demo", "--clock", clock.spec()], catch_exceptions=False)
    assert not stepper.stuck, result.output
    assert result.exit_code == 0, result.output
    out = result.output
    for kind in ("escalated", "severity-restored", "transition-flagged", "on request (contract 24x7)"):
        assert kind in out, kind
    # each of the team's edits is answered at the instant it is made (a webhook wakes the daemon)
    for when, tracker, what in (("Mon 10:00", "jira", "severity-restored"), ("Mon 10:30", "zammad", "severity-restored"),
                                ("Mon 11:00", "zammad", "transition-flagged"),
                                ("Mon 11:30", "jira", "transition-flagged"), ("Mon 12:00", "jira", "escalated")):
        assert any(line.split()[:3] == [*when.split(), tracker] and what in line for line in out.splitlines()), \
            (when, tracker, what)
    assert "Summary (read back from the trackers):" in out
    assert out.count("\n  jira ") + out.count("\n  zammad ") >= 16
    assert clock.now() == DEMO_START + DEMO_SPAN and stepper.steps > 0
    assert list(scratch.iterdir()) == []  # the temporary folder is gone
    left = {t.name for t in threading.enumerate()} - before
    assert not {n for n in left if n.startswith(("daemon-", "team", "sandbox", "webhooks"))}
