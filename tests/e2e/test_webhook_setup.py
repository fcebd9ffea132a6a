"""`mapping plan|apply|check` set up and verify the tracker's side of the webhooks, on each sandbox.

From a mapped tracker without a webhook: apply registers it (Jira: an admin webhook; Zammad: a
webhook and its trigger), a second apply changes nothing, and `check` names each kind of
drift — deleted, disabled, pointed elsewhere, lost its secret — which the next apply repairs.
"""

from __future__ import annotations

import pytest
import requests
import yaml
from click.testing import CliRunner

from mapping.fieldmap import TrackerMapping
from plugin.cli.main import main
from plugin.clock import AcceleratedClock
from sandbox.demo import DEMO_START, JiraSite, ZammadSite
from sandbox.jira import BotProfile
from sandbox.zammad import BotProfile as ZammadBot

pytestmark = pytest.mark.e2e

SECRET = "wh-secret-4711"
PUBLIC = "https://escalator.example.com/hooks"


@pytest.fixture(params=["jira", "jira-dc", "zammad"])
def site(request, tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATOR_HOOK_SECRET", SECRET)
    clock = AcceleratedClock(DEMO_START, 60.0)
    kind = request.param
    env = f"ESCALATOR_HOOKS_{kind.upper().replace('-', '_')}_TOKEN"
    if kind == "zammad":
        built = ZammadSite.build(tmp_path / kind, clock, env=env)
    else:
        built = JiraSite.build(tmp_path / kind, clock, flavour="datacenter" if kind == "jira-dc" else "cloud",
                               env=env)
    config = yaml.safe_load(built.config_path.read_text(encoding="utf-8"))
    config["webhooks"] = {"enabled": True, "listen": "127.0.0.1:0", "public_url": PUBLIC,
                          "secret": {"env": "ESCALATOR_HOOK_SECRET"}}
    built.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    yield built
    built.stop()


def cli(site, *args: str):
    return CliRunner().invoke(main, ["mapping", *args, "--config", str(site.config_path)], catch_exceptions=False)


def drift(site) -> list[str]:
    result = cli(site, "check")
    return [line.strip().removeprefix("drift: ") for line in result.output.splitlines()
            if line.strip().startswith("drift:")]


def endpoint(site) -> str:
    return f"{PUBLIC}/webhooks/{site.kind}"


# -- tampering as an administrator would, in the tracker's UI ----------------------------------------
class Jira:
    def __init__(self, site):
        self.site, self.sb = site, site.sandbox
        self.sb.add_user("Ada Admin", "ada@example.com", token="ada-token", name="ada")  # holds every permission
        self.s = requests.Session()
        if self.sb.flavour == "cloud":
            self.s.auth = ("ada@example.com", "ada-token")
        else:
            self.s.headers["Authorization"] = "Bearer ada-token"

    def hook(self) -> str:
        return TrackerMapping.load(self.site.folder / "mapping.yaml").webhook.id

    def put(self, **body) -> None:
        answer = self.s.put(f"{self.sb.base_url}/rest/webhooks/1.0/webhook/{self.hook()}", json=body)
        assert answer.status_code == 200, answer.text

    def delete(self) -> None:
        assert self.s.delete(f"{self.sb.base_url}/rest/webhooks/1.0/webhook/{self.hook()}").status_code == 204

    def disable(self) -> None:
        self.put(enabled=False)

    def point_elsewhere(self) -> None:
        self.put(url="https://elsewhere.example.com/hook")

    def drop_secret(self) -> None:
        self.put(secret="")


class Zammad:
    def __init__(self, site):
        self.site, self.sb = site, site.sandbox
        self.s = requests.Session()
        self.s.headers["Authorization"] = "Token token=sandbox-token"

    def ids(self) -> tuple[str, str]:
        record = TrackerMapping.load(self.site.folder / "mapping.yaml").webhook
        return record.id, record.trigger

    def put(self, **body) -> None:
        answer = self.s.put(f"{self.sb.base_url}/api/v1/webhooks/{self.ids()[0]}", json=body)
        assert answer.status_code == 200, answer.text

    def delete(self) -> None:  # Zammad keeps a webhook a trigger uses: the trigger goes first
        hook, trigger = self.ids()
        assert self.s.delete(f"{self.sb.base_url}/api/v1/triggers/{trigger}").status_code == 200
        assert self.s.delete(f"{self.sb.base_url}/api/v1/webhooks/{hook}").status_code == 200

    def disable(self) -> None:
        self.put(active=False)

    def point_elsewhere(self) -> None:
        self.put(endpoint="https://elsewhere.example.com/hook")

    def drop_secret(self) -> None:
        self.put(signature_token="")


def admin(site):
    return Zammad(site) if site.kind == "zammad" else Jira(site)


EXPECTED = {
    "delete": {"jira": "is gone from Jira: nothing is delivered", "zammad": "is gone from Zammad: nothing is delivered"},
    "disable": {"jira": "is disabled: Jira sends nothing", "zammad": "is inactive: Zammad sends nothing"},
    "point_elsewhere": {"jira": "points to 'https://elsewhere.example.com/hook', not",
                        "zammad": "points to 'https://elsewhere.example.com/hook', not"},
    "drop_secret": {"jira": "may have lost its secret (or got another)",
                    "zammad": "has no signature token: Zammad sends it unsigned and the receiver refuses every "
                              "delivery"},
}


def test_apply_registers_it_once_and_check_finds_it_clean(site):
    plan = cli(site, "plan")
    assert plan.exit_code == 0 and "create  webhook" in plan.output
    applied = cli(site, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert f"-> {endpoint(site)}" in applied.output and SECRET not in applied.output
    record = TrackerMapping.load(site.folder / "mapping.yaml").webhook
    assert record is not None and record.url == endpoint(site)
    if site.kind == "zammad":
        with site.sandbox.lock:
            hooks = site.sandbox.responses.webhooks
            hook, trigger = hooks.webhooks[int(record.id)], hooks.triggers[int(record.trigger)]
        assert (hook["endpoint"], hook["signature_token"], hook["active"]) == (endpoint(site), SECRET, True)
        bot = site.sandbox.admin_id
        assert trigger["condition"]["ticket.updated_by_id"] == {"operator": "is not", "pre_condition": "specific",
                                                                "value": [str(bot)]}
        assert trigger["execution_condition_mode"] == "always"
        assert trigger["perform"] == {"notification.webhook": {"webhook_id": record.id}}
    else:
        with site.sandbox.lock:
            hook = site.sandbox.model.webhooks.hooks[int(record.id)]
        assert (hook.url, hook.secret, hook.enabled) == (endpoint(site), SECRET, True)
        assert hook.events == ["jira:issue_created", "jira:issue_updated"]
        assert hook.jql == 'project in ("OPS", "NOC")'
    again = cli(site, "apply", "--yes")
    assert again.exit_code == 0, again.output
    assert "0 change(s) to make" in again.output and "0 change(s) made" in again.output
    assert TrackerMapping.load(site.folder / "mapping.yaml").webhook == record
    clean = cli(site, "check")
    assert clean.exit_code == 0, clean.output


@pytest.mark.parametrize("tamper", list(EXPECTED))
def test_check_names_each_drift_and_apply_repairs_it(site, tamper):
    assert cli(site, "apply", "--yes").exit_code == 0
    getattr(admin(site), tamper)()
    found = drift(site)
    flavour = "zammad" if site.kind == "zammad" else "jira"
    assert any(EXPECTED[tamper][flavour] in line for line in found), found
    assert all(line.startswith(("webhook:", "webhook-trigger:")) for line in found), found
    repaired = cli(site, "apply", "--yes")
    assert repaired.exit_code == 0, repaired.output
    assert drift(site) == []
    assert "0 change(s) to make" in cli(site, "apply", "--yes").output


def test_a_secret_changed_in_the_config_after_apply_is_named(site, monkeypatch):
    assert cli(site, "apply", "--yes").exit_code == 0
    monkeypatch.setenv("ESCALATOR_HOOK_SECRET", "a-new-secret-0815")
    found = drift(site)
    expected = "has a signature token other than webhooks.secret" if site.kind == "zammad" \
        else "webhooks.secret has changed since"
    assert any(expected in line for line in found), found
    assert cli(site, "apply", "--yes").exit_code == 0
    assert drift(site) == []


def test_without_the_permission_the_plan_lists_the_steps_by_hand(site):
    if site.kind == "zammad":
        site.sandbox.set_bot_profile(ZammadBot(lacks=frozenset({"admin.webhook", "admin.trigger"})))
    else:
        site.sandbox.set_bot_profile(BotProfile(lacks=frozenset({"ADMINISTER"})))
    result = cli(site, "apply", "--yes")
    assert result.exit_code == 1
    assert "MANUAL  webhook" in result.output
    text = " ".join(result.output.split())
    assert endpoint(site) in text and "ESCALATOR_HOOK_SECRET" in text and SECRET not in text
    if site.kind == "zammad":
        assert "New Webhook" in text and "New Trigger" in text and "Updated by is not admin@example.com" in text
    else:
        assert "'Administer Jira'" in text and 'project in ("OPS", "NOC")' in text
    assert TrackerMapping.load(site.folder / "mapping.yaml").webhook is None


@pytest.mark.parametrize("site", ["zammad"], indirect=True)
def test_on_zammad_the_trigger_skips_the_user_the_escalator_acts_as(site):
    acting = site.sandbox.add_user("escalator", firstname="Incident", lastname="Escalator", roles=["Admin", "Agent"])
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["tracker"]["on_behalf_of"] = "escalator"  # the escalator writes as this user (the `From` header)
    site.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    applied = cli(site, "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    record = TrackerMapping.load(site.folder / "mapping.yaml").webhook
    with site.sandbox.lock:
        trigger = site.sandbox.responses.webhooks.triggers[int(record.trigger)]
    assert trigger["condition"]["ticket.updated_by_id"]["value"] == [str(acting["id"])]
    assert acting["id"] != site.sandbox.admin_id  # not the token's owner


@pytest.mark.parametrize("site", ["jira"], indirect=True)
def test_a_refused_token_is_an_error_not_a_manual_step(site, monkeypatch):
    monkeypatch.setenv("ESCALATOR_HOOKS_JIRA_TOKEN", "not-the-token")
    result = CliRunner().invoke(main, ["mapping", "plan", "--config", str(site.config_path)])
    assert result.exit_code == 2 and "MANUAL" not in result.output and "not authenticated" in result.output
