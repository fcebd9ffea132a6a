"""The config checked against a live (sandbox) tracker: `mapping check` names a project that is not
there, and a mapping `apply` left MANUAL steps in refuses `run`/`once` until they are done."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from mapping.fieldmap import TrackerMapping
from plugin.cli.main import main
from plugin.clock import AcceleratedClock
from sandbox.demo import DEMO_START, JiraSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def jira(tmp_path):
    site = JiraSite.build(tmp_path / "jira", AcceleratedClock(DEMO_START, 1.0), env="ESCALATOR_PREFLIGHT_TOKEN")
    yield site
    site.stop()


def edit_config(site, change) -> None:
    data = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    change(data)
    site.config_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def cli(site, *args: str):
    return CliRunner().invoke(main, [*args, "--config", str(site.config_path)])


def test_a_typo_in_the_projects_fails_mapping_check_and_once(jira):
    def typo(data):
        data["tracker"]["projects"] = ["OPS", "NCO"]
        data["contracts"]["by_project"] = {}

    edit_config(jira, typo)
    check = cli(jira, "mapping", "check")
    assert check.exit_code == 1, check.output
    assert "tracker.projects: project 'NCO' is not in mapping.yaml (OPS, NOC)" in check.output
    assert "drift: project NCO no longer exists (or the account cannot see it)" in check.output  # asked the tracker
    assert "The mapping matches the tracker." not in check.output

    once = cli(jira, "once", "--dry-run")
    assert once.exit_code == 2, once.output
    assert "tracker.projects: project 'NCO' is not in mapping.yaml" in once.output
    assert "ticket(s) read" not in once.output


def test_manual_steps_left_by_apply_refuse_once_until_allowed(jira):
    jira.sandbox.add_project("NEW", "New incidents")  # its plain workflow lacks the procedure's states

    def add(data):
        data["tracker"]["projects"].append("NEW")

    edit_config(jira, add)
    apply = cli(jira, "mapping", "apply", "--yes")
    assert apply.exit_code == 1, apply.output
    assert "MANUAL " in apply.output and "mapping written to" in apply.output
    written = TrackerMapping.load(jira.folder / "mapping.yaml")
    assert written.projects == ["OPS", "NOC", "NEW"]
    assert written.manual and all("workflow of NEW" in step for step in written.manual), written.manual

    once = cli(jira, "once", "--dry-run")
    assert once.exit_code == 2, once.output
    assert f"step(s) of `mapping apply` are still left to do by hand: {written.manual[0]}" in once.output
    allowed = cli(jira, "once", "--dry-run", "--allow-incomplete")
    assert allowed.exit_code == 0, allowed.output

    check = cli(jira, "mapping", "check")
    assert check.exit_code == 1 and "drift: still to do by hand: state:" in check.output
