"""`mapping plan` and `mapping apply` count changes the same way, on every tracker.

On a bare sandbox — nothing of the procedure on it yet, a webhook to register — the plan's
"N change(s) to make" is what `apply` then reports: N lines, "N change(s) made". A change is
one step of the plan, whatever it takes (a Jira field with its context and options is one);
the steps left to the admin (MANUAL) are counted apart and said so, never among the changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from plugin.cli.main import main
from sandbox.jira import JiraSandbox
from sandbox.zammad import ZammadSandbox
from tests.jira.conftest import SANDBOX_TOKEN, procedure_workflow
from tests.jira.conftest import config_file as jira_config

pytestmark = pytest.mark.e2e

PUBLIC = "https://escalator.example.com/hooks"
PLANNED = re.compile(r"(\d+) change\(s\) to make, (\d+) for the admin to do by hand \(MANUAL, not among the changes\)")
MADE = re.compile(r"(\d+) change\(s\) made")


def _with_webhooks(path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("ESCALATOR_COUNT_HOOK_SECRET", "wh-secret-1")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["webhooks"] = {"enabled": True, "listen": "127.0.0.1:0", "public_url": PUBLIC,
                          "secret": {"env": "ESCALATOR_COUNT_HOOK_SECRET"}}
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(params=["jira", "jira-dc", "zammad"])
def bare(request, tmp_path, monkeypatch):
    """(a config on a bare sandbox tracker, with webhooks; how many steps the admin must do)."""
    clock = lambda: datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # noqa: E731
    if request.param == "zammad":
        with ZammadSandbox(token=SANDBOX_TOKEN, clock=clock) as sb:
            monkeypatch.setenv("ESCALATOR_COUNT_ZAMMAD_TOKEN", SANDBOX_TOKEN)
            path = tmp_path / "escalator.yaml"
            path.write_text(yaml.safe_dump({
                "tracker": {"kind": "zammad", "url": sb.base_url, "token": {"env": "ESCALATOR_COUNT_ZAMMAD_TOKEN"},
                            "projects": ["Users"]}, "mapping_file": "mapping.yaml"}), encoding="utf-8")
            yield _with_webhooks(path, monkeypatch), request.param
        return
    flavour = "datacenter" if request.param == "jira-dc" else "cloud"
    with JiraSandbox(flavour, token=SANDBOX_TOKEN, clock=clock, time_zone="Asia/Shanghai") as sb:
        sb.add_status("已派单", "indeterminate", id="10100")
        sb.set_workflow("SD", procedure_workflow())
        yield _with_webhooks(jira_config(tmp_path, sb, monkeypatch), monkeypatch), request.param


def _cli(*args: str):
    return CliRunner().invoke(main, ["mapping", *args], catch_exceptions=False)


def test_plan_says_the_number_of_changes_apply_then_makes(bare):
    config, kind = bare
    plan = _cli("plan", "--config", str(config))
    assert plan.exit_code == 0, plan.output
    planned, manual = map(int, PLANNED.search(plan.output).groups())
    assert planned > 0 and "webhook" in plan.output
    # one table row per step: the changes are the create/update rows, the admin's the MANUAL ones
    rows = [line.split()[0] for line in plan.output.splitlines() if line.startswith("  ") and line.split()]
    assert rows.count("create") + rows.count("update") == planned and rows.count("MANUAL") == manual

    applied = _cli("apply", "--config", str(config), "--yes")
    made_lines = [line for line in applied.output.splitlines() if line.strip().startswith("changed:")]
    assert int(MADE.search(applied.output).group(1)) == planned == len(made_lines), applied.output
    # the plan apply showed before it made them says the same number
    assert PLANNED.search(applied.output).groups() == (str(planned), str(manual))
    if manual:  # Jira DC: the options and screens are the admin's, said apart
        assert applied.exit_code == 1 and f"{manual} item(s) still need the admin" in applied.output
    else:
        assert applied.exit_code == 0, applied.output
        again = _cli("plan", "--config", str(config))
        assert PLANNED.search(again.output).groups() == ("0", "0"), (kind, again.output)
