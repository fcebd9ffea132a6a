"""`escalator sandbox jira|jira-dc|zammad`: a seeded sandbox tracker to try the escalator on.

Starts one sandbox tracker on loopback (the same emulators the demo and the end-to-end
tests use, built by `sandbox.demo`'s harness), mapped and seeded with incidents of
every severity under two contracts, on the real clock. It writes a ready config — the
token in a file beside it, a journal, the status page on a free loopback port — prints
its path, the tracker's URL and the commands to try, and runs until Ctrl-C (or
SIGTERM). So steps 2-5 of the README's "Use it on your tracker" can be tried, and
shown, without a tracker of one's own.

Without `--dir` everything lives in a temporary folder, removed at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path

import click
import yaml

from plugin.clock import SystemClock
from sandbox.demo import TOKEN, JiraSite, Site, ZammadSite

KINDS = {"jira": "Jira Cloud", "jira-dc": "Jira Data Center", "zammad": "Zammad"}
TOKEN_FILE = "tracker-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(kind: str, folder: Path, *, port: int = 0) -> Site:
    """The mapped, seeded sandbox of `kind`, and its config rewritten for a person to use."""
    clock = SystemClock()
    env = "ESCALATOR_SANDBOX_TOKEN"
    if kind == "zammad":
        site: Site = ZammadSite.build(folder, clock, poll_interval=10.0, env=env, port=port)
    else:
        site = JiraSite.build(folder, clock, flavour="datacenter" if kind == "jira-dc" else "cloud",
                              poll_interval=10.0, env=env, port=port)
    for contract in ("default", "24x7"):
        for severity in (1, 2, 3, 4):
            site.create(f"{contract} contract, severity {severity}", severity, contract)
    # the token from a file (a person's shell has not the harness's variable), the status page on
    token = folder / TOKEN_FILE
    token.write_text(TOKEN + "\n", encoding="utf-8")
    token.chmod(0o600)
    data = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    data["tracker"]["token"] = {"file": TOKEN_FILE}
    data["status_page"] = {"enabled": True, "listen": f"127.0.0.1:{_free_port()}"}
    site.config_path.write_text("# Written by `escalator sandbox`: a ready config for the sandbox tracker.\n"
                                + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return site


@click.command()
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where to write the config, mapping and journal (kept). Default: a temporary folder, removed "
                   "at the end.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="The tracker's port on 127.0.0.1 (0: any free one).")
def sandbox(kind: str, folder: Path | None, port: int) -> None:
    """Run a seeded sandbox tracker (jira, jira-dc or zammad) on 127.0.0.1, with a ready config, until Ctrl-C."""
    temporary = folder is None
    root = Path(tempfile.mkdtemp(prefix=f"escalator-sandbox-{kind}-")) if temporary else folder.resolve()
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    site = None
    try:
        click.echo(f"Starting a sandbox {KINDS[kind]} on 127.0.0.1 ...")
        site = build(kind, root, port=port)
        config = site.config_path
        page = yaml.safe_load(config.read_text(encoding="utf-8"))["status_page"]["listen"]
        where = "groups" if kind == "zammad" else "projects"
        click.echo(f"Tracker:  {site.sandbox.base_url}  ({len(site.seeded)} open incidents in {where} "
                   f"{', '.join(site.config.tracker.projects)}; token in {root / TOKEN_FILE})")
        click.echo(f"Config:   {config}")
        click.echo("Try, in another terminal:")
        for command in ("mapping plan", "mapping check", "once --dry-run", "status", "run"):
            click.echo(f"  escalator {command} --config {config}")
        click.echo(f"While `run` runs, its status page: http://{page}/")
        click.echo("Press Ctrl-C to stop" + (" (the folder is removed)." if temporary else "."))
        while not stop.wait(0.5):
            pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if site is not None:
            site.stop()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
        os.environ.pop("ESCALATOR_SANDBOX_TOKEN", None)
    click.echo("Sandbox stopped.")
