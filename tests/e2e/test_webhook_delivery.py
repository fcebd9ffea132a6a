"""The tracker calls the daemon: after `mapping apply --yes`, a person's change reaches it by webhook.

The daemon runs as a process on the stepped clock, which stands still after its first
pass, so no poll and no deadline comes while the test runs: a lowered severity that is
restored was brought to the daemon by the sandbox's own webhook delivery, signed with the
secret apply registered. Not timed: the reaction time is `bench/bench_reaction.py`'s.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from click.testing import CliRunner

from plugin.cli.main import main
from tests.e2e.conftest import HANG, free_port, pause, wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_a_lowered_severity_is_restored_by_webhook_alone(site, clock, start_daemon):
    os.environ["ESCALATOR_E2E_HOOK_SECRET"] = "e2e-delivered-secret"
    port = free_port()
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["daemon"]["poll_interval"] = 3600.0
    config["webhooks"] = {"enabled": True, "listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}",
                          "secret": {"env": "ESCALATOR_E2E_HOOK_SECRET"}}
    site.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    applied = CliRunner().invoke(main, ["mapping", "apply", "--yes", "--config", str(site.config_path)],
                                 catch_exceptions=False)
    assert applied.exit_code == 0, applied.output
    daemon = start_daemon()
    daemon.wait_ready()
    # filed after the daemon's only poll: the tracker's deliveries are all that tell it
    ticket = site.create("24x7 severity 2", 2, "24x7")
    pause(clock, daemon)  # a minute later (the daemon's next poll is 240 clock hours away)
    site.lower_severity(ticket, 4)
    wait_for(lambda: site.read(ticket.ticket_id).severity == 2, "the severity restored after the delivery")
    assert [m for m in site.markers(ticket) if m.startswith("severity-restore-")]
    answered = [a.status for a in site.sandbox.deliveries.attempts]
    assert answered and set(answered) == {202}  # every call signed as the receiver expects

    # someone takes the secret off the tracker's webhook: its calls come unsigned, and change nothing
    # (a ticket filed from now on: calls signed earlier may still be on their way, and any of them
    # makes the daemon re-read its ticket)
    unsign(site)
    unseen = site.create("24x7 severity 2, filed after", 2, "24x7")
    pause(clock, daemon)
    site.lower_severity(unseen, 4)
    assert site.sandbox.deliveries.wait_for(lambda a: any(x.status == 401 and lowered(site, unseen, x) for x in a),
                                            timeout=HANG)
    assert site.read(unseen.ticket_id).severity == 4  # not restored: the daemon was never told
    assert site.markers(unseen) == []
    assert daemon.stop() == 0
    output = daemon.output()
    assert "webhooks.accepted" in output and "webhooks.rejected reason=unsigned" in output
    assert "e2e-delivered-secret" not in output


def lowered(site, ticket, attempt) -> bool:
    """The call tells of `ticket` at severity 4."""
    body = json.loads(attempt.body or b"{}")
    if site.kind == "zammad":
        return str(body["ticket"]["id"]) == ticket.ticket_id \
            and body["ticket"][site.mapping.severity.field] == site.mapping.severity.values[4]
    issue = body.get("issue") or {}
    chosen = (issue.get("fields") or {}).get(site.mapping.severity.field) or {}
    return issue.get("id") == ticket.ticket_id and chosen.get("id") == site.mapping.severity.values[4]


def unsign(site) -> None:
    """What an administrator does in the tracker's UI: clear the webhook's secret."""
    with site.sandbox.lock:
        if site.kind == "zammad":
            for hook in site.sandbox.responses.webhooks.webhooks.values():
                hook["signature_token"] = ""
        else:
            for hook in site.sandbox.model.webhooks.hooks.values():
                hook.secret = None
