"""`escalator sandbox jira|jira-dc|zammad` as a person runs it: a child process that prints its
config's path, answers the commands it suggests, and stops on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin.cli.main import main

pytestmark = pytest.mark.e2e


def lines_of(proc: subprocess.Popen) -> queue.Queue:
    """The child's output lines, read on a thread so a silent child cannot hang the test."""
    out: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            out.put(line.rstrip("\n"))
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return out


def read_until(out: queue.Queue, prefix: str, seen: list[str], timeout: float = 60) -> str:
    while True:
        line = out.get(timeout=timeout)
        if line is None:
            raise AssertionError("the sandbox exited early:\n" + "\n".join(seen))
        seen.append(line)
        if line.startswith(prefix):
            return line


@pytest.mark.parametrize("kind", ["jira", "jira-dc", "zammad"])
def test_the_sandbox_starts_writes_a_ready_config_and_stops_on_ctrl_c(kind, tmp_path):
    folder = tmp_path / "try"
    command = [sys.executable, "-c", "from plugin.cli.main import main; main(prog_name='escalator')",
               "sandbox", kind, "--dir", str(folder)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ), cwd=tmp_path)
    seen: list[str] = []
    try:
        out = lines_of(proc)
        config = Path(read_until(out, "Config:", seen).split(":", 1)[1].strip())
        read_until(out, "Press Ctrl-C", seen)
        assert config == folder.resolve() / "escalator.yaml" and config.exists()
        assert any(line.startswith("Tracker:  http://127.0.0.1:") for line in seen)
        assert f"  escalator mapping plan --config {config}" in seen
        assert "ESCALATOR" not in config.read_text(encoding="utf-8")  # the token from its file, not a variable
        plan = CliRunner().invoke(main, ["mapping", "plan", "--config", str(config)])
        assert plan.exit_code == 0, plan.output
        assert "0 change(s) to make" in plan.output
        listed = CliRunner().invoke(main, ["status", "--config", str(config), "--no-cache"])
        assert listed.exit_code == 0 and listed.output.startswith("8 open incident(s)"), listed.output
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        rest = []
        while (line := out.get(timeout=5)) is not None:
            rest.append(line)
        assert rest[-1] == "Sandbox stopped.", rest
        assert config.exists()  # --dir: kept
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
