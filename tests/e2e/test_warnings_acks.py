"""Warnings before a breach, and reminders until an escalation is acknowledged, on both sandbox trackers.

The daemon runs as its own process on the stepped clock (`tests/e2e/conftest.py`), so every
note lands at the instant it is due. Checked on the tracker: each deadline's warning
written once, at its warning time, also across a SIGKILL and a restart; an escalation
acknowledged with the label/tag by the project manager gets no reminder, one nobody
acknowledged gets the configured number and no more.
"""

from __future__ import annotations

import textwrap

import pytest
import yaml

from tests.e2e.conftest import HOUR, pause, reported_at, run_to, run_until

pytestmark = pytest.mark.e2e


def use_procedure(site, text: str) -> None:
    """The site's daemon reads this procedure override (its config's `procedure:`)."""
    (site.folder / "procedure.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    config = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    config["procedure"] = "procedure.yaml"
    site.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def acknowledge(site, s, by: str = "pm-li") -> None:
    """A person adds the acknowledgement label (Jira) / tag (Zammad)."""
    site.add_label(s, site.mapping.labels.acknowledge, by)


def test_a_warning_before_each_deadline_once_across_a_restart(site, clock, start_daemon):
    # severity 4 on 24x7: 12 h, 24 h, 48 h; warned of at three quarters: 9 h, 18 h, 36 h
    daemon = start_daemon()
    daemon.wait_ready()
    s = site.create("24x7 severity 4", 4, "24x7")
    start = reported_at(site, s.ticket_id)
    run_until(clock, daemon, lambda: "warning-L1" in site.markers(s), "the warning before level 1",
              by=start + 12 * HOUR)
    daemon.kill()  # between the warning and its deadline
    again = start_daemon(log="daemon-2.log")
    run_until(clock, again, lambda: "warning-L2" in site.markers(s), "the warning before level 2",
              by=start + 24 * HOUR)
    assert again.stop() == 0
    markers = site.markers(s)
    assert markers.count("warning-L1") == 1 and markers.count("warning-L2") == 1
    assert markers.count("escalation-L1") == 1
    # each written at its warning time, to the instant; the escalation between them at its deadline
    times = dict(site.note_times(s))
    assert [times[m] for m in ("warning-L1", "escalation-L1", "warning-L2")] == [
        start + 9 * HOUR, start + 12 * HOUR, start + 18 * HOUR]
    text = next(t for t in site.notes(s) if "warning-L1" in t)
    assert "【即将超时】" in text and "依据§5.2.1" in text
    assert "daemon.warned" in again.output() and "Traceback" not in again.output()


def test_reminders_stop_when_acknowledged_and_stop_at_the_limit_otherwise(site, clock, start_daemon):
    # level 1 after 2 h, reminders every 2 h, at most two; level 2 far away (12 h)
    use_procedure(site, """
        contracts:
          24x7:
            timetable: {2: {project_manager: 2h, division_director: 12h, company_management: 24h}}
            warnings: {enabled: false}
            acknowledge: {repeat_every: 2h, max_repeats: 2}
    """)
    daemon = start_daemon()
    daemon.wait_ready()
    ignored = site.create("nobody answers", 2, "24x7")
    answered = site.create("the project manager answers", 2, "24x7")
    start = reported_at(site, ignored.ticket_id)
    # told, the project manager acknowledges once the escalation shows on the ticket
    run_until(clock, daemon, lambda: site.read(answered.ticket_id).escalation_level >= 1,
              "the escalation to level 1", by=start + 3 * HOUR)
    pause(clock, daemon)
    acknowledge(site, answered)
    # time for two reminders (4 h and 6 h after the report) and a third, had there been one (8 h)
    run_to(clock, daemon, start + 9 * HOUR)
    assert daemon.stop() == 0
    assert sorted(site.markers(ignored)) == ["escalation-L1", "escalation-L1-repeat-1", "escalation-L1-repeat-2"]
    assert site.markers(answered) == ["escalation-L1"]
    times = dict(site.note_times(ignored))
    assert [times[m] for m in ("escalation-L1-repeat-1", "escalation-L1-repeat-2")] == [
        start + 4 * HOUR, start + 6 * HOUR]
    reminder = next(t for t in site.notes(ignored) if "escalation-L1-repeat-2" in t)
    assert "【升级未确认】" in reminder and "第2次提醒，共2次" in reminder
    incident = site.read(answered.ticket_id)
    assert [a.by for a in incident.acknowledgements] == [site.people["pm-li"]]
    assert "daemon.escalation-repeated" in daemon.output() and "Traceback" not in daemon.output()
