"""Deploying: the systemd unit passes `systemd-analyze verify` and carries the usual hardening; the
container image's build steps install a working `escalator` into a virtual environment of its own.

Where an image builder (docker or podman with a running engine) is present, the image is
built too; elsewhere the build stage's COPY and RUN steps are carried out here, on a temporary
folder standing for the image's file system.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "escalator.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
INSTALLED = "/opt/incident-escalator/bin/escalator"


def unit_settings() -> dict[str, list[str]]:
    """`Key=value` lines of the unit, every value of a key given more than once."""
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_the_unit_runs_the_daemon_hardened():
    s = unit_settings()
    assert s["ExecStart"] == [f"{INSTALLED} --log-format json run --config /etc/incident-escalator/escalator.yaml"]
    for key, value in {"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
                       "StateDirectory": "incident-escalator", "CapabilityBoundingSet": "",
                       "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes", "KillSignal": "SIGTERM",
                       "Restart": "on-failure"}.items():
        assert s.get(key) == [value], key
    assert s["LoadCredential"] == ["tracker-token:/etc/incident-escalator/tracker-token"]
    assert "~@privileged @resources" in s["SystemCallFilter"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    # verify checks that ExecStart's program exists: stand a real one in for the installed escalator
    program = tmp_path / "escalator"
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / "escalator.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(program)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # an unknown key is only a warning (exit 0): any line about the unit fails the test
    assert done.returncode == 0 and str(unit) not in done.stdout + done.stderr \
        and unit.name not in done.stdout + done.stderr, done.stdout + done.stderr


# -- the container image -------------------------------------------------------------------------

def instructions() -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) of the Containerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    out, stage = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stage = rest.split(" AS ")[-1].strip() if " AS " in rest else rest.strip()
        out.append((stage, word.upper(), rest.strip()))
    return out


def test_the_image_runs_the_daemon_as_a_user_of_its_own():
    steps = instructions()
    final = [(i, a) for s, i, a in steps if s == steps[-1][0]]
    assert ("USER", "escalator") in final
    assert ("ENTRYPOINT", f'["{INSTALLED}", "--log-format", "json"]') in final
    assert any(i == "HEALTHCHECK" and "/healthz" in a for i, a in final)


def _engine() -> str | None:
    for tool in ("docker", "podman"):
        path = shutil.which(tool)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30).returncode == 0:
            return path
    return None


@pytest.mark.e2e
def test_the_build_stage_installs_a_working_escalator(tmp_path):
    """The build stage's COPY and RUN steps, on a temporary folder standing for the image's root."""
    image_root = tmp_path / "image"
    steps = [(i, a) for s, i, a in instructions() if s == "build"]
    workdir = None
    bin_dir = tmp_path / "bin"  # the image's `python`: this interpreter
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    ran = 0
    for instruction, args in steps:
        if instruction == "ENV":
            words = shlex.split(args)
            env.update(w.split("=", 1) for w in words if "=" in w)
        elif instruction == "WORKDIR":
            workdir = image_root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, dest = shlex.split(args)
            target = (workdir or image_root) / dest if not dest.startswith("/") else image_root / dest.lstrip("/")
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"COPY {source}: not in the repository"
                if path.is_dir():
                    shutil.copytree(path, target if len(sources) == 1 and not dest.endswith("/")
                                    else target / path.name, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / path.name)
        elif instruction == "RUN":
            command = re.sub(r"(?<![\w.])/(opt|src)\b", lambda m: f"{image_root}/{m.group(1)}", args)
            done = subprocess.run(["sh", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
                                  timeout=900)
            assert done.returncode == 0, f"RUN {args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            ran += 1
    assert ran >= 1
    escalator = image_root / INSTALLED.lstrip("/")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    version = subprocess.run([str(escalator), "--version"], capture_output=True, text=True, env=clean, timeout=60)
    assert version.returncode == 0 and "version" in version.stdout, version.stderr
    commands = subprocess.run([str(escalator), "--help"], capture_output=True, text=True, env=clean, timeout=60)
    for name in ("run", "status", "sandbox", "mapping", "report"):
        assert re.search(rf"^\s+{name}\s", commands.stdout, re.M), commands.stdout
    # the package data came along: the default procedure and the page templates
    shown = subprocess.run([str(escalator), "procedure", "show", "--lang", "en"], capture_output=True, text=True,
                           env=clean, timeout=60)
    assert shown.returncode == 0 and "project manager" in shown.stdout, shown.stderr
    check = subprocess.run([str(escalator.parent / "python"), "-c",
                            "import plugin, importlib.resources as r; print(plugin.__file__); "
                            "print(r.files('plugin').joinpath('templates/status.html.j2').is_file())"],
                           capture_output=True, text=True, env=clean, timeout=60, cwd=tmp_path)
    where, found = check.stdout.split()
    assert where.startswith(str(image_root / "opt")) and found == "True", check.stdout + check.stderr


@pytest.mark.e2e
@pytest.mark.skipif(_engine() is None, reason="no image builder here (docker or podman with a running engine)")
def test_the_image_builds():
    engine = _engine()
    done = subprocess.run([engine, "build", "-f", str(CONTAINERFILE), "-t", "incident-escalator:test", str(ROOT)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = subprocess.run([engine, "run", "--rm", "incident-escalator:test", "--version"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and "version" in run.stdout, run.stderr
