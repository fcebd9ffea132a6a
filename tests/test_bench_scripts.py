"""The benchmark scripts are not run by the suite at full size (they take minutes), but they must
not rot: each one imports cleanly and has a `main`, and the scale and start-up benches run in a
small mode."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.name)
def test_a_bench_script_imports(script: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          timeout=600, cwd=BENCH.parent)


def test_the_scale_bench_runs_in_a_small_mode() -> None:
    # two small sizes: the daemon in its own process reads them all, and an idle pass costs one call
    done = _run("bench_scale.py", "--sizes", "20,40")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "idle pass: one call at every size" in done.stdout
    assert [line.split()[0] for line in done.stdout.splitlines() if line.strip().startswith(("20 ", "40 "))] \
        == ["20", "40"]


def test_the_startup_bench_runs_in_a_small_mode() -> None:
    # one run each (the wall-time target depends on the machine: only the import check is asserted)
    done = _run("bench_startup.py", "--runs", "1")
    assert "escalator deadlines:" in done.stdout and "escalator procedure show:" in done.stdout, done.stderr
    assert done.stdout.count("not used, imported: none") == 2
    assert done.stdout.count("validation imported: none") == 2  # the cache warm: no pydantic, YAML, holidays
    assert "procedure cache in use: 1 entry" in done.stdout


def test_the_reaction_bench_runs_in_a_small_mode() -> None:
    # four changes per tracker: with webhooks and with polling every second, each change is reacted to
    # (its timings depend on the machine: only that every change got its note is asserted)
    done = _run("bench_reaction.py", "--changes", "4", "--poll-interval", "1")
    for kind in ("jira", "zammad"):
        assert f"{kind}: poll interval measured" in done.stdout, done.stdout + done.stderr
    assert done.stdout.count("over 4 changes") == 4, done.stdout + done.stderr
    assert "MISSING" not in done.stdout and "no reaction at all" not in done.stdout
