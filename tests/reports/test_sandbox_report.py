"""`escalator report kpi` against the sandbox Jira Data Center, through the real Jira connector.

Everything but the tracker is real: the config and mapping files, the connector's search
and changelog reads over loopback HTTP, the KPIs and the rendering.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from mapping.fieldmap import TrackerMapping
from plugin.cli.report import report
from sandbox.jira import JiraSandbox

STATES = {1: ["Open"], 3: ["In Progress"], 4: ["Waiting for vendor"], 5: ["Waiting for customer"],
          6: ["Resolved"], 7: ["Closed"]}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sandbox():
    clock = [utc("2026-10-20 01:00")]
    sb = JiraSandbox("datacenter", token="report-token", clock=lambda: clock[0])
    with sb:
        yield sb, clock


def test_kpis_of_a_sandbox_month(sandbox, tmp_path, monkeypatch):
    sb, clock = sandbox
    sev = sb.create_custom_field("Incident severity 事件级别", "select", searcher="multiselectsearcher")
    cat = sb.create_custom_field("Incident category 事件分类", "cascadingselect")
    lvl = sb.create_custom_field("Escalation level 升级级别", "select", searcher="multiselectsearcher")
    sev_ids, lvl_ids = sb.add_options(sev, ["1", "2", "3", "4"]), sb.add_options(lvl, ["0", "1", "2", "3"])
    cat_ids = sb.add_options(cat, ["1"])
    statuses = {s.name: s.id for s in sb.model.statuses.values()}

    def issue(when: str, severity: int, moves: list[tuple[str, str]]) -> str:
        clock[0] = utc(when)
        key = sb.create_issue("SD", "Incident", f"incident at {when}", fields={sev: {"id": sev_ids[severity - 1]}})
        for at, status in moves:
            clock[0] = utc(at)
            sb.move_issue(key, status)
        return key

    # times in UTC; the calendar is Asia/Shanghai (UTC+8), working 09-12 and 13-18
    issue("2026-10-20 01:00", 3, [("2026-10-20 02:00", "In Progress"), ("2026-11-04 02:00", "Resolved")])
    # Mon 11-02 09:00 CST, resolved 13:00 CST: 3 h of SLA time
    issue("2026-11-02 01:00", 3, [("2026-11-02 02:00", "In Progress"), ("2026-11-02 05:00", "Resolved")])
    issue("2026-11-03 01:00", 2, [("2026-11-03 01:30", "In Progress")])
    # Thu 11-05 09:00 CST, resolved 11:00 CST (2 h), closed
    s4 = issue("2026-11-05 01:00", 1, [("2026-11-05 01:10", "In Progress"), ("2026-11-05 03:00", "Resolved"),
                                       ("2026-11-06 01:00", "Closed")])
    clock[0] = utc("2026-12-10 04:00")

    TrackerMapping(tracker="jira", base_url=sb.base_url, flavour="datacenter", projects=["SD"],
                   issue_types=["10001"], severity={"field": sev, "values": dict(enumerate(sev_ids, start=1))},
                   category={"field": cat, "values": {"1": cat_ids[0]}},
                   escalation_level={"field": lvl, "values": dict(enumerate(lvl_ids))},
                   states={k: [statuses[n] for n in v] for k, v in STATES.items()}).save(tmp_path / "mapping.yaml")
    (tmp_path / "escalator.yaml").write_text(json.dumps({"tracker": {
        "kind": "jira", "flavour": "datacenter", "url": sb.base_url, "token": {"env": "REPORT_JIRA_TOKEN"},
        "projects": ["SD"], "issue_types": ["Incident"], "states": STATES}}))
    monkeypatch.setenv("REPORT_JIRA_TOKEN", "report-token")

    result = CliRunner().invoke(report, ["kpi", "--from", "2026-11-01", "--to", "2026-12-01", "--format", "json",
                                         "--as-of", "2026-12-10T12:00", "--config", str(tmp_path / "escalator.yaml")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 3
    assert data["by_severity"] == {"1": 1, "2": 1, "3": 1}
    # W45 (11-02..11-08): opened the three; resolved two of them (October's incident, resolved
    # 11-04, is not of the period's incidents)
    assert data["weekly_trend"][1] == {"week": "2026-W45", "opened": 3, "resolved": 2}
    assert [m["ref"] for m in data["major_incidents"]] == [s4]
    # no category mapped on these issues: (3 h + 2 h) / 2
    assert data["mean_time_spent"] == [{"category": "unset", "resolved": 2, "total_hours": 5.0,
                                             "mean_hours": 2.5}]
