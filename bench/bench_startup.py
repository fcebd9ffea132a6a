"""How fast `escalator deadlines` and `escalator procedure show` start, and what they import.

    python3 bench/bench_startup.py [--runs 9]

Each command runs `--runs` times as a fresh process (the installed `escalator` script next
to this interpreter, else `python -c 'from plugin.cli.main import main; main()'`) and its
median wall time is taken, from the spawn to the exit, output included — twice: with the
procedure cache warm (`mapping.procedure_cache`: the validated procedure, and the holiday
years it needed, kept between runs; the usual case, and the one the target is for) and
without it (`ESCALATOR_NO_CACHE=1`: the procedure parsed and validated, as on the first
run after a change of the procedure file, the package or `holidays`). The cache lives in a
temporary `XDG_CACHE_HOME` of this run, filled by each command's first, unmeasured run.
Baseline, same run, interleaved with the commands so that a busy machine slows all alike:
`python -c pass` — the interpreter's own start, the floor no command can go below. Printed:
each median, its ratio to the floor, and the time above the floor; and the same for the CPU
time the process used (user + system), which a machine shared with other work inflates less
than wall time.

Also interleaved: the libraries the commands use, imported alone as the commands import
them, one more at each step — click (all a warm run imports of them); + PyYAML; + pydantic,
with one model validated (its schema builder and the plugin look-up it does through
importlib.metadata at the first model); + `holidays` with the one country the default
calendars name (CN, through `mapping.public_holidays`) — what a run without the cache
imports. Each command's own part is the time above click (warm) or above them all (no cache).

Then each command runs once more, warm, under `python -X importtime`, and the heavy modules
it imports are listed: the packages a command might pull in without using them (the HTTP
client, the tracker connectors, prometheus_client, jinja2, psycopg, the incident and
config models) and, warm, the validation (pydantic, PyYAML, `holidays`, the loader) — none
should appear — and the ten largest imports by cumulative time.
`tests/test_cli_imports.py` holds the list of what these commands must not import.

**Target** (issue 14): each command starts in ≤ 0.2 s (median, cache warm). The figure
depends on the machine and its load; the floor and the ratio say how much of it is the
command's own.

Not collected by pytest. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.2
COMMANDS = {
    "escalator deadlines": ["deadlines", "--severity", "2", "--reported", "2026-11-20T09:00"],
    "escalator procedure show": ["procedure", "show"],
}
#: modules neither command uses: the tracker side, the daemon's services, the models of what they do not read
UNUSED = ("requests", "urllib3", "prometheus_client", "jinja2", "psycopg", "connectors", "plugin.config",
          "plugin.daemon", "mapping.incident", "mapping.actions", "mapping.fieldmap", "holidays.countries.germany",
          "wcwidth")
#: what a run with the cache warm does without: validating the procedure
VALIDATION = ("pydantic", "pydantic_core", "yaml", "holidays", "mapping.loader", "mapping.procedure_schema")
NO_CACHE = " (no cache)"
#: (step, the code it adds): each step runs the code of the steps before it too
LIBRARIES = (
    ("click", "import click"),
    ("PyYAML", "import yaml"),
    ("pydantic", "from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator\n"
                 "class M(BaseModel):\n    x: int\nM.model_validate({'x': 1})"),
    ("holidays (CN)", "from mapping.public_holidays import country_holidays\ncountry_holidays('CN')"),
)


def _escalator() -> list[str]:
    script = Path(sys.executable).parent / "escalator"
    if script.is_file():
        return [sys.executable, str(script)]
    found = shutil.which("escalator")
    if found:
        return [sys.executable, found]
    return [sys.executable, "-c", "import sys; from plugin.cli.main import main; sys.exit(main())"]


def _time(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run: the CPU time (user + system, from the kernel's account of
    the finished child) moves less than the wall time when other work shares the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _imports(argv: list[str], env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """module -> (cumulative µs, depth) from `python -X importtime`."""
    run = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True, env=env)
    out = {}
    for line in run.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            out[match.group(4)] = (int(match.group(2)), len(match.group(3)) // 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-cache-") as cache:
        return _bench(args.runs, cache)


def _bench(n_runs: int, cache: str) -> int:
    escalator = _escalator()
    warm_env = {**os.environ, "XDG_CACHE_HOME": cache}
    warm_env.pop("ESCALATOR_NO_CACHE", None)
    cold_env = {**warm_env, "ESCALATOR_NO_CACHE": "1"}
    libraries = {name: [sys.executable, "-c", "\n".join(code for _, code in LIBRARIES[:i + 1])]
                 for i, (name, _) in enumerate(LIBRARIES)}
    argv = {"python -c pass": [sys.executable, "-c", "pass"], **libraries,
            **{n: escalator + a for n, a in COMMANDS.items()}, **{n + NO_CACHE: escalator + a for n, a in COMMANDS.items()}}
    env = {name: cold_env if name.endswith(NO_CACHE) else warm_env for name in argv}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in argv}
    for name in runs:  # once each, unmeasured: the file cache warm for all, and the procedure cache filled
        _time(argv[name], env[name])
    for _ in range(n_runs):
        for name in runs:
            runs[name].append(_time(argv[name], env[name]))

    def medians(name: str) -> tuple[float, float]:
        return statistics.median(w for w, _ in runs[name]), statistics.median(c for _, c in runs[name])

    floor, floor_cpu = medians("python -c pass")
    entries = sorted(p.name for p in (Path(cache) / "incident-escalator").glob("procedure-*.pickle"))
    print(f"median of {n_runs} runs each (interleaved); floor `python -c pass` {floor * 1000:.0f} ms "
          f"(CPU {floor_cpu * 1000:.0f} ms)")
    print(f"procedure cache in use: {len(entries)} entry(ies) in a temporary XDG_CACHE_HOME ({cache}), written by "
          f"each command's first run; '{NO_CACHE.strip()}' = ESCALATOR_NO_CACHE=1, validated at every run")
    ok = bool(entries)
    for name in [*COMMANDS, *(n + NO_CACHE for n in COMMANDS)]:
        median, cpu = medians(name)
        target = "" if name.endswith(NO_CACHE) else \
            f"; target ≤ {TARGET_SECONDS * 1000:.0f} ms: {'met' if median <= TARGET_SECONDS else 'MISSED'}"
        if not name.endswith(NO_CACHE):
            ok &= median <= TARGET_SECONDS
        print(f"  {name}: {median * 1000:.0f} ms — {median / floor:.1f}× the floor, {(median - floor) * 1000:.0f} ms "
              f"above it (CPU {cpu * 1000:.0f} ms, {cpu / floor_cpu:.1f}× the floor's){target}")
    steps, before = [], floor
    for i, name in enumerate(libraries):
        median, cpu = medians(name)
        steps.append(f"{'+ ' if i else ''}{name} {median * 1000:.0f} ms ({(median - before) * 1000:+.0f}, "
                     f"CPU {cpu * 1000:.0f})")
        before = median
    print("  the libraries they use, imported alone, one more at each step: " + ", ".join(steps))
    click_alone = medians(next(iter(libraries)))[0]
    own = ", ".join(f"{name} {(medians(name)[0] - click_alone) * 1000:.0f} ms" for name in COMMANDS)
    print(f"  the commands' own part, cache warm (above click): {own}")
    own = ", ".join(f"{name} {(medians(name + NO_CACHE)[0] - before) * 1000:.0f} ms" for name in COMMANDS)
    print(f"  the commands' own part, no cache (above all the libraries): {own}")
    for name, arguments in COMMANDS.items():
        imported = _imports(escalator + arguments, warm_env)
        unused = [m for m in imported if any(m == u or m.startswith(u + ".") for u in UNUSED)]
        validation = [m for m in imported if any(m == u or m.startswith(u + ".") for u in VALIDATION)]
        top = sorted(((us, m) for m, (us, depth) in imported.items() if depth == 0), reverse=True)[:10]
        print(f"{name} (cache warm): {len(imported)} modules imported")
        print(f"  not used, imported: {', '.join(unused) if unused else 'none'}")
        print(f"  validation imported: {', '.join(sorted(validation)[:8]) + (' ...' if len(validation) > 8 else '') if validation else 'none'}")
        print("  largest imports (cumulative, under -X importtime): "
              + ", ".join(f"{m} {us / 1000:.0f} ms" for us, m in top))
        ok &= not unused and not validation
    print("all targets met" if ok else "a target was MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
