"""Notes people read, end to end: the daemon process on the stepped clock against each sandbox tracker.

- a severity-1 escalation says "immediately" (立即), never a miss of the seconds the daemon took
  to read it, and mentions the project manager the tracker's way, shown by their display name:
  a Jira Cloud ADF mention node, Jira Data Center `[~username]`, a Zammad mention link that
  subscribes them — each rendered by the sandbox as the real tracker renders it;
- an escalation level field deleted and created again by an admin gets the level the escalator
  reached written back: once, in one write with a note saying why, and never again after.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import yaml

from connectors.base import plain
from connectors.jira.adf import body_text
from tests.e2e.conftest import HOUR, pause, reported_at, run_to, run_until

pytestmark = pytest.mark.e2e

PM = "Li PM"  # pm-li's display name on every sandbox (sandbox.demo.PEOPLE)


def _jira_session(site) -> requests.Session:
    session = requests.Session()
    if site.sandbox.flavour == "cloud":
        session.auth = ("bot@example.com", "sandbox-token")
    else:
        session.headers["Authorization"] = "Bearer sandbox-token"
    return session


def _rendered(site, s) -> list[str]:
    """The issue's comments as Jira shows them (expand=renderedBody), through its REST API."""
    api = "/rest/api/3" if site.sandbox.flavour == "cloud" else "/rest/api/2"
    answer = _jira_session(site).get(f"{site.sandbox.base_url}{api}/issue/{s.ref}/comment",
                                     params={"expand": "renderedBody"})
    assert answer.status_code == 200, answer.text
    return [c["renderedBody"] for c in answer.json()["comments"]]


@pytest.mark.parametrize("site", ["jira", "jira-dc", "zammad"], indirect=True)
def test_an_immediate_escalation_says_immediately_and_mentions_the_project_manager(site, clock, start_daemon):
    daemon = start_daemon()
    daemon.wait_ready()
    s = site.create("core switch down", 1, "24x7")
    run_until(clock, daemon, lambda: "escalation-L1" in site.markers(s), "the level-1 escalation",
              by=reported_at(site, s.ticket_id) + 4 * HOUR)
    assert daemon.stop() == 0
    [note] = [n for n in site.notes(s) if "escalation-L1" in n]
    pm = site.people["pm-li"]
    if site.kind == "jira" and site.sandbox.flavour == "cloud":
        [comment] = [c for c in site.sandbox.issue(s.ref).comments if "escalation-L1" in body_text(c.body)]
        nodes = [n for p in comment.body["content"] for n in p.get("content") or []]
        assert {"type": "mention", "attrs": {"id": pm, "text": f"@{PM}"}} in nodes
    elif site.kind == "jira":
        [comment] = [c for c in site.sandbox.issue(s.ref).comments if "escalation-L1" in c.body]
        assert f"上报项目经理（[~{pm}]）" in comment.body
    else:
        with site.sandbox.lock:
            store = site.sandbox.store
            [article] = [a for a in store.articles.values()
                         if a["ticket_id"] == int(s.ticket_id) and "escalation-L1" in a["body"]]
            user_id = store.user_by("pm-li")["id"]
            subscribed = {m["user_id"] for m in store.mentions.values() if m["mentionable_id"] == int(s.ticket_id)}
        assert article["content_type"] == "text/html"
        assert f'<a data-mention-user-id="{user_id}" rel="nofollow">{PM}</a>' in article["body"]
        assert user_id in subscribed
    if site.kind == "jira":  # as the issue view shows it: the person's display name
        [shown] = [html for html in _rendered(site, s) if "escalation-L1" in html]
        assert f">{PM}</a>" in shown
    text = plain(note)
    assert "须立即上报项目经理（报告时间" in text  # the deadline is the report time: "immediately"
    assert "超时" not in text and "秒" not in text  # the daemon's reading is no missed deadline
    assert "—— 事件升级助手 incident-escalator" in text


def _recreate_jira_level_field(site) -> None:
    """An admin deletes the escalation level field (DELETE /field/{id}), then runs `escalator mapping
    apply`, which creates it again (a new id) with its options and writes the mapping file."""
    from connectors.jira.factory import make_provisioner
    old = site.mapping.escalation_level.field
    gone = _jira_session(site).delete(f"{site.sandbox.base_url}/rest/api/3/field/{old}", allow_redirects=False)
    assert gone.status_code == 303, gone.text
    provisioner = make_provisioner(site.config.tracker_settings(), site.procedure)
    remapped, _ = provisioner.apply(provisioner.plan())
    assert remapped.escalation_level.field != old
    # the mapping file as `apply` leaves it (the record facts the demo mapped by hand kept)
    site.mapping = site.mapping.model_copy(update={"escalation_level": remapped.escalation_level})
    site.mapping.save(site.folder / "mapping.yaml")
    if site._reader is not None:  # the test's own reader reads under the new mapping too
        site._reader.close()
        site._reader = None


def _recreate_zammad_level_attribute(site) -> None:
    """An admin deletes the escalation level attribute in the object manager and migrates, then runs
    `escalator mapping apply`, which creates it again (same name, empty on every ticket)."""
    from connectors.zammad.factory import make_provisioner
    api = requests.Session()
    api.headers["Authorization"] = "Token token=sandbox-token"
    base = f"{site.sandbox.base_url}/api/v1"
    name = site.mapping.escalation_level.field
    [attribute] = [a for a in api.get(f"{base}/object_manager_attributes").json() if a["name"] == name]
    assert api.delete(f"{base}/object_manager_attributes/{attribute['id']}").status_code == 200
    assert api.post(f"{base}/object_manager_attributes_execute_migrations").status_code == 200
    provisioner = make_provisioner(site.config.tracker_settings(), site.procedure)
    provisioner.apply(provisioner.plan())


def _level(site, s) -> int:
    return site.read(s.ticket_id).escalation_level


@pytest.mark.parametrize("site", ["jira", "zammad"], indirect=True)
def test_a_recreated_level_field_gets_the_level_written_back_once(site, clock, start_daemon):
    # severity 2 on 24x7: the project manager at 4 h, the division director at 6 h
    daemon = start_daemon()
    daemon.wait_ready()
    s = site.create("link flapping", 2, "24x7")
    start = reported_at(site, s.ticket_id)
    run_until(clock, daemon, lambda: "escalation-L1" in site.markers(s), "the level-1 escalation",
              by=start + 4 * HOUR + timedelta(minutes=5))
    assert daemon.stop() == 0 and _level(site, s) == 1

    if site.kind == "jira":
        _recreate_jira_level_field(site)
    else:
        _recreate_zammad_level_attribute(site)
    assert _level(site, s) == 0
    again = start_daemon(log="daemon-2.log")
    if site.kind == "zammad":
        # the same attribute name: the mapping is unchanged, so the ticket is read when it next changes
        # (or its next deadline comes): a person works on it
        pause(clock, again)
        site.sandbox.update_ticket(int(s.ticket_id), by="eng-liu", title="link flapping (vendor called)")
    # Jira: the mapping names a new field, so the daemon's first pass reads every ticket again
    run_until(clock, again, lambda: "level-restore-L1" in site.markers(s), "the level written back",
              by=start + 5 * HOUR)
    assert _level(site, s) == 1
    # never again, whatever comes: the passes up to the next deadline write nothing more
    run_to(clock, again, start + 6 * HOUR - timedelta(minutes=1))
    assert again.stop() == 0
    markers = site.markers(s)
    assert markers.count("level-restore-L1") == 1 and markers.count("escalation-L1") == 1
    assert "escalation-L2" not in markers
    [note] = [plain(n) for n in site.notes(s) if "level-restore-L1" in n]
    assert f"【升级级别已恢复】{s.ref} 的“升级级别”字段现为空，但本助手已于" in note and "仅此一次" in note
    assert "daemon.level-restored" in again.output() and "Traceback" not in again.output()


@pytest.mark.parametrize("site", ["zammad"], indirect=True)
def test_with_language_en_the_note_is_english_throughout_and_signed_in_english(site, clock, start_daemon):
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["language"] = "en"  # the config's one language: notes, reports, tables
    site.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    daemon = start_daemon()
    daemon.wait_ready()
    s = site.create("core switch down", 2, "24x7")  # the project manager after 4 h, round the clock
    run_until(clock, daemon, lambda: "escalation-L1" in site.markers(s), "the level-1 escalation",
              by=reported_at(site, s.ticket_id) + 5 * HOUR)
    assert daemon.stop() == 0
    [html] = [n for n in site.notes(s) if "escalation-L1" in n]
    text = plain(html)
    assert f'rel="nofollow">{PM}</a>' in html and "事件升级助手" not in text and "— incident-escalator" in text
    assert "must be reported to the project manager within 4 h (24x7); the deadline was" in text
    assert "missed" not in text  # escalated at its deadline
