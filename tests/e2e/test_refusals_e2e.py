"""End to end on sandboxes that refuse like the real trackers: what the daemon puts back, and
what its notes say, match what the ticket shows.

The daemon runs in this process, pass by pass on a manual clock, against the sandbox over
loopback (`in_process_daemon`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mapping.loader import load_procedure
from plugin.clock import ManualClock
from sandbox.demo import DEMO_START, Seeded, ZammadSite
from tests.e2e.test_late_answers import in_process_daemon

pytestmark = pytest.mark.e2e

FLAG = "【状态变更不合规】"


def strict_procedure(tmp_path):
    """The default procedure with its 24x7 contract (the sites' NOC project) putting illegal changes back."""
    override = tmp_path / "procedure.yaml"
    override.write_text("contracts:\n  \"24x7\": {calendar: 24x7, enforce_transitions: true}\n", encoding="utf-8")
    return load_procedure(override)


def _state(site: ZammadSite, s: Seeded) -> str:
    with site.sandbox.lock:
        ticket = site.sandbox.store.tickets[int(s.ticket_id)]
        return site.sandbox.store.states[ticket["state_id"]]["name"]


def _flags(site: ZammadSite, s: Seeded) -> list[str]:
    return [n for n in site.notes(s) if FLAG in n]


def test_zammad_core_workflow_illegal_changes_are_put_back_and_the_notes_say_only_what_happened(tmp_path) -> None:
    """Core Workflow (sandbox/zammad/core_workflow.py) checks every PUT /tickets/:id from the API:
    the way back into 挂起 needs a pending_time, the edit screen offers no state of type new."""
    clock = ManualClock(DEMO_START)
    site = ZammadSite.build(tmp_path / "zammad", clock)
    try:
        archived = site.create("archived straight from 处理中", 3, "24x7")
        suspended = site.create("moved out of 挂起", 3, "24x7")
        with in_process_daemon(site, clock, procedure=strict_procedure(tmp_path)) as daemon:
            daemon.run_pass(poll=True)
            clock.advance(timedelta(minutes=5))
            # a person suspends legally, with the reminder the edit screen asks for
            reminder = (clock.now() + timedelta(hours=4)).isoformat()
            site.sandbox.update_ticket(int(suspended.ticket_id), by="eng-liu", state=site._state_name(4),
                                       pending_time=reminder)
            daemon.run_pass(poll=True)
            assert _flags(site, suspended) == []
            clock.advance(timedelta(minutes=5))
            site.archive(archived)  # 处理中 -> 已归档: illegal (§4.5.2)
            site.archive(suspended)  # 挂起 -> 已归档: illegal; Zammad clears the pending_time on the way out
            for _ in range(3):
                daemon.run_pass(poll=True)
                clock.advance(timedelta(minutes=5))
        names = {code: site.procedure.state(code).name.in_("zh") for code in (3, 4)}
        for s, code in ((archived, 3), (suspended, 4)):
            [flag] = _flags(site, s)
            source = names[code]
            state = _state(site, s)
            put_back = f"本助手将状态改回{source}" in flag
            # never a claim the ticket does not show: either it is back and the note says so,
            # or it is not and the note says it could not be put back
            assert put_back == (state == site._state_name(code)), (s.ref, state, flag)
            assert put_back or f"未能将状态改回{source}" in flag, flag
            assert put_back, f"{s.ref}: expected the put-back to succeed on {state}: {flag}"
        with site.sandbox.lock:
            ticket = site.sandbox.store.tickets[int(suspended.ticket_id)]
        assert ticket["pending_time"], "back in 挂起 with a reminder, as Core Workflow demands"
        # both put-backs went through the API's edit screen, and Core Workflow took them at once
        puts = [c for c in site.sandbox.calls if c.method == "PUT" and c.path.startswith("/api/v1/tickets/")]
        assert {c.path for c in puts} >= {f"/api/v1/tickets/{s.ticket_id}" for s in (archived, suspended)}
        assert [c.status for c in puts if c.status >= 400] == []
    finally:
        site.stop()


def test_jira_bot_without_manage_watchers_and_outgoing_mail_off_still_escalates_and_says_who_was_not_told(
        tmp_path) -> None:
    """Jira answers 403 to POST /issue/{key}/notify while outgoing mail is off (sandbox/jira/permissions.py);
    the escalator adds no watchers, so a bot without *Manage Watchers* lacks nothing it uses."""
    from click.testing import CliRunner

    from plugin.cli.mapping import mapping as mapping_cli
    from sandbox.demo import JiraSite
    from sandbox.jira.permissions import BotProfile

    clock = ManualClock(DEMO_START)
    site = JiraSite.build(tmp_path / "jira", clock, bot=BotProfile(lacks={"MANAGE_WATCHERS"}, outgoing_mail=False))
    try:
        # beforehand, `escalator mapping check` names the missing permission and what it breaks
        check = CliRunner().invoke(mapping_cli, ["check", "--config", str(site.config_path)])
        assert "MANAGE_WATCHERS" not in check.output and "every permission" in check.output, check.output
        seeded = [site.create(f"core switch {n} down", 1, "24x7") for n in range(3)]
        with in_process_daemon(site, clock) as daemon:
            for _ in range(4):
                daemon.run_pass(poll=True)
                clock.advance(timedelta(minutes=10))
        roles = {1: "项目经理", 2: "事业部总监", 3: "公司管理层"}
        people = {1: "Li PM", 2: "Wang Director", 3: "Zhao Management"}  # their display names, mentioned
        for s in seeded:
            assert site.read(s.ticket_id).escalation_level == 3  # the level was written
            notes = site.notes(s)
            assert site.markers(s) == ["escalation-L1", "escalation-L2", "escalation-L3"]
            for level, note in enumerate(notes, start=1):
                assert f"无法通知{roles[level]}（@{people[level]}）：Jira 拒绝（HTTP 403）" in note, note
            # each notification asked for once, refused once, never again
            assert site.sandbox.calls_to(rf"/issue/{s.ref}/notify$", "POST") == 3
            assert site.sandbox.calls_to(rf"/issue/{s.ref}/watchers$") == 0
        assert site.sandbox.notifications == []
    finally:
        site.stop()
